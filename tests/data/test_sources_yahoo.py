"""Yahoo chart endpoint against recorded responses (values checked against reference CSVs)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import httpx
import pandas as pd
import pytest
import respx

from powderkeg.data.sources.base import ProviderSymbolError
from powderkeg.data.sources.yahoo import YahooSource, parse_chart
from powderkeg.exceptions import InputError, ProviderError
from tests.data.test_sources_base import RECORDINGS, FakeTime, make_client

NVDA_URL = "https://query2.finance.yahoo.com/v8/finance/chart/NVDA"
IXIC_URL = "https://query2.finance.yahoo.com/v8/finance/chart/%5EIXIC"


def recording(name: str) -> str:
    return (RECORDINGS / "yahoo" / name).read_text()


def reference(shared_data: Path, name: str) -> dict[str, dict[str, float]]:
    with open(shared_data / "raw" / "guydekowski__market-lab" / name, newline="") as fh:
        return {
            r["date"]: {k: float(v) for k, v in r.items() if k != "date"}
            for r in csv.DictReader(fh)
        }


def test_nvda_bars_are_adjusted_and_dated_by_session(shared_data: Path) -> None:
    src = YahooSource(make_client(FakeTime()))
    with respx.mock() as router:
        route = router.get(NVDA_URL).mock(
            return_value=httpx.Response(200, text=recording("nvda_chart.json"))
        )
        data = src.fetch("NVDA", pd.Timestamp("2025-12-10"), pd.Timestamp("2025-12-23"))
    req = route.calls.last.request
    assert req.url.params["interval"] == "1d"
    assert req.url.params["period1"] == str(int(pd.Timestamp("2025-12-10", tz="UTC").timestamp()))
    assert "Mozilla" in req.headers["User-Agent"]
    ref = reference(shared_data, "NVDA.csv")
    raw = json.loads(recording("nvda_chart.json"))["chart"]["result"][0]
    quote, adj = raw["indicators"]["quote"][0], raw["indicators"]["adjclose"][0]["adjclose"]
    days = list(data.frame.index.strftime("%Y-%m-%d"))
    assert days[0] == "2025-12-10" and days[-1] == "2025-12-23" and len(days) == 10
    for i, day in enumerate(days):
        row = data.frame.loc[day]
        assert row["close"] == pytest.approx(ref[day]["close"], rel=1e-12)  # adjusted close
        ratio = adj[i] / quote["close"][i]
        assert row["open"] == pytest.approx(quote["open"][i] * ratio, rel=1e-12)
        assert row["low"] == pytest.approx(quote["low"][i] * ratio, rel=1e-12)
        assert row["volume"] == ref[day]["volume"]
    assert data.meta.unit == "USD" and data.meta.frequency == "B"
    assert data.meta.calendar == "XNAS sessions" and data.meta.source == "yahoo"


def test_unadjusted_bars_keep_raw_prices() -> None:
    _, frame = parse_chart(json.loads(recording("nvda_chart.json")), "NVDA", adjust=False)
    quote = json.loads(recording("nvda_chart.json"))["chart"]["result"][0]["indicators"]["quote"]
    assert frame["close"].tolist() == quote[0]["close"]


def test_index_symbol_is_url_encoded_and_null_bar_dropped(shared_data: Path) -> None:
    src = YahooSource(make_client(FakeTime()))
    with respx.mock() as router:
        route = router.get(IXIC_URL).mock(
            return_value=httpx.Response(200, text=recording("ixic_chart.json"))
        )
        data = src.fetch("^IXIC", pd.Timestamp("2025-12-15"))
    assert route.called
    ref = reference(shared_data, "IXIC.csv")
    days = list(data.frame.index.strftime("%Y-%m-%d"))
    assert days == ["2025-12-15", "2025-12-16", "2025-12-17", "2025-12-18", "2025-12-19"]
    assert all(
        data.frame.loc[d, "close"] == pytest.approx(ref[d]["close"], rel=1e-12) for d in days
    )
    assert data.meta.unit == "index points"


def test_unknown_symbol_is_input_error() -> None:
    src = YahooSource(make_client(FakeTime()))
    url = "https://query2.finance.yahoo.com/v8/finance/chart/NOSUCH"
    with respx.mock() as router:
        router.get(url).mock(return_value=httpx.Response(404, text=recording("not_found.json")))
        with pytest.raises(ProviderSymbolError, match=r"'NOSUCH'.*No data found") as info:
            src.fetch("NOSUCH", None)
    assert isinstance(info.value, InputError)
    # the same body with HTTP 200 is recognised from the payload
    with pytest.raises(ProviderSymbolError):
        parse_chart(json.loads(recording("not_found.json")), "NOSUCH")


def test_window_without_bars_gives_empty_frame() -> None:
    doc = json.loads(recording("nvda_chart.json"))
    doc["chart"]["result"][0].pop("timestamp")
    doc["chart"]["result"][0]["indicators"] = {"quote": [{}], "adjclose": [{}]}
    meta, frame = parse_chart(doc, "NVDA")
    assert frame.empty and meta["symbol"] == "NVDA"


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.pop("chart"), "no 'chart' object"),
        (lambda d: d["chart"].update(result=[]), "empty 'chart.result'"),
        (
            lambda d: d["chart"]["result"][0]["indicators"]["quote"][0]["close"].pop(),
            "bad 'indicators' block",
        ),
        (lambda d: d["chart"]["result"][0]["indicators"].pop("quote"), "bad 'indicators' block"),
        (
            lambda d: d["chart"]["result"][0]["meta"].update(exchangeTimezoneName="Mars/Olympus"),
            "bad timezone",
        ),
        (
            lambda d: d["chart"].update(error={"code": "Bad Request", "description": "oops"}),
            "error for 'NVDA': Bad Request oops",
        ),
    ],
)
def test_malformed_chart_payloads(mutate, match: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(recording("nvda_chart.json"))
    mutate(doc)
    with pytest.raises(ProviderError, match=match):
        parse_chart(doc, "NVDA")
