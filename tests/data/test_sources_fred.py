"""FRED source against recorded API and CSV responses (values checked against reference CSVs)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import respx

from powderkeg.data.sources.base import ProviderSymbolError
from powderkeg.data.sources.fred import API_URL, CSV_URL, FredSource, fred_id_for
from powderkeg.exceptions import InputError, ProviderError
from tests.data.test_sources_base import RECORDINGS, FakeTime, make_client

KEY = "0123456789abcdef0123456789abcdef"


def recording(name: str) -> str:
    return (RECORDINGS / "fred" / name).read_text()


def reference(shared_data: Path, rel: str) -> dict[str, float]:
    """Read a reference CSV with the csv module only (independent of powderkeg parsers)."""
    with open(shared_data / "raw" / rel, newline="") as fh:
        return {r["Date"]: float(r["Value"]) for r in csv.DictReader(fh) if r["Value"]}


def test_api_parses_values_dates_and_units(shared_data: Path) -> None:
    client = make_client(FakeTime())
    src = FredSource(client, api_key=KEY)
    with respx.mock() as router:
        route = router.get(API_URL).mock(
            return_value=httpx.Response(200, text=recording("walcl_api.json"))
        )
        data = src.fetch("WALCL", None)
    params = route.calls.last.request.url.params
    assert params["series_id"] == "WALCL" and params["file_type"] == "json"
    assert params["api_key"] == KEY and "observation_start" not in params
    ref = reference(shared_data, "jonsflow__risk-model/WALCL.csv")
    assert list(data.frame.index.strftime("%Y-%m-%d")) == [
        "2025-11-05", "2025-11-12", "2025-11-19", "2025-11-26", "2025-12-03", "2025-12-10",
    ]  # fmt: skip
    for day, value in data.frame["value"].items():
        assert value == ref[day.strftime("%Y-%m-%d")]
    assert data.meta.unit == "USD millions" and data.meta.frequency == "W-WED"
    assert data.meta.kind == "macro" and data.meta.source == "fred"


def test_api_dot_means_missing_and_start_is_sent(shared_data: Path) -> None:
    src = FredSource(make_client(FakeTime()), api_key=KEY)
    with respx.mock() as router:
        route = router.get(API_URL).mock(
            return_value=httpx.Response(200, text=recording("rrpontsyd_api.json"))
        )
        data = src.fetch("RRPONTSYD", pd.Timestamp("2025-12-22"))
    assert route.calls.last.request.url.params["observation_start"] == "2025-12-22"
    days = list(data.frame.index.strftime("%Y-%m-%d"))
    assert "2025-12-25" not in days and "2026-01-01" not in days and len(days) == 8
    ref = reference(shared_data, "jonsflow__risk-model/RRPONTSYD.csv")
    assert all(v == ref[d.strftime("%Y-%m-%d")] for d, v in data.frame["value"].items())
    assert data.meta.unit == "USD billions"


def test_api_follows_offset_pages() -> None:
    src = FredSource(make_client(FakeTime()), api_key=KEY, page_limit=4)
    pages = {"0": recording("walcl_api_offset0.json"), "4": recording("walcl_api_offset4.json")}
    with respx.mock() as router:
        route = router.get(API_URL).mock(
            side_effect=lambda req: httpx.Response(200, text=pages[req.url.params["offset"]])
        )
        data = src.fetch("WALCL", None)
    assert route.call_count == 2
    assert [c.request.url.params["limit"] for c in route.calls] == ["4", "4"]
    assert len(data) == 6 and data.frame.index.is_monotonic_increasing
    full = json.loads(recording("walcl_api.json"))["observations"]
    assert data.frame["value"].tolist() == [float(o["value"]) for o in full]


def test_keyless_csv_parses_dot_and_empty_as_missing(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    src = FredSource(make_client(FakeTime()))
    assert not src.uses_api
    with respx.mock() as router:
        route = router.get(CSV_URL).mock(
            return_value=httpx.Response(200, text=recording("dgs10.csv"))
        )
        data = src.fetch("DGS10", pd.Timestamp("2025-12-22"))
    params = route.calls.last.request.url.params
    assert params["id"] == "DGS10" and params["cosd"] == "2025-12-22"
    days = list(data.frame.index.strftime("%Y-%m-%d"))
    assert len(days) == 9 and "2025-12-25" not in days and "2026-01-01" not in days
    ref = reference(shared_data, "jonsflow__risk-model/DGS10.csv")
    assert np.allclose(data.frame["value"], [ref[d] for d in days], rtol=0, atol=0)
    assert data.meta.unit == "percent"


def test_env_key_selects_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRED_API_KEY", KEY)
    client = make_client(FakeTime())
    src = FredSource(client)
    assert src.uses_api and KEY in client.secrets


def test_unknown_series_is_input_error() -> None:
    src = FredSource(make_client(FakeTime()), api_key=KEY)
    with respx.mock() as router:
        router.get(API_URL).mock(
            return_value=httpx.Response(400, text=recording("error_series_missing.json"))
        )
        with pytest.raises(ProviderSymbolError, match="fred does not know symbol 'NOPE'") as info:
            src.fetch("NOPE", None)
    assert isinstance(info.value, InputError)


def test_bad_api_key_error_never_shows_the_key() -> None:
    src = FredSource(make_client(FakeTime()), api_key=KEY)
    with respx.mock() as router:
        router.get(API_URL).mock(
            return_value=httpx.Response(400, text=recording("error_bad_api_key.json"))
        )
        with pytest.raises(ProviderError) as info:
            src.fetch("WALCL", None)
    msg = str(info.value)
    assert "api_key is not registered" in msg and "api_key=***" in msg and KEY not in msg


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ('{"observations": "none"}', "no 'observations' list"),
        ('{"count": 1, "observations": [{"date": "2025-01-01"}]}', "lacks 'date' or 'value'"),
        ('{"count": 1, "observations": [{"date": "2025-13-45", "value": "1"}]}', "bad date"),
        ('{"count": 1, "observations": [{"date": "2025-01-01", "value": "n/a?"}]}', "bad value"),
    ],
)
def test_malformed_api_payloads(body: str, match: str) -> None:
    src = FredSource(make_client(FakeTime()), api_key=KEY)
    with respx.mock() as router:
        router.get(API_URL).mock(return_value=httpx.Response(200, text=body))
        with pytest.raises(ProviderError, match=f"malformed response for 'WALCL'.*{match}"):
            src.fetch("WALCL", None)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("<!DOCTYPE html><html><body>Error</body></html>", "expected a CSV header"),
        ("observation_date,DGS10\n2025-01-02,4.1,extra\n", "CSV line 2 has 3 fields"),
        ("observation_date,DGS10\n2025-01-02,abc\n", "bad value 'abc' at CSV line 2"),
        ("", "empty CSV"),
    ],
)
def test_malformed_csv_payloads(body: str, match: str) -> None:
    src = FredSource(make_client(FakeTime()), api_key="")
    with respx.mock() as router:
        router.get(CSV_URL).mock(return_value=httpx.Response(200, text=body))
        with pytest.raises(ProviderError, match=match):
            src.fetch("DGS10", None)


def test_tga_is_not_fetched_from_fred() -> None:
    assert fred_id_for("walcl") == "WALCL"
    with pytest.raises(ProviderSymbolError, match="WDTGAL or WTREGEN"):
        fred_id_for("TGA")
    src = FredSource(make_client(FakeTime()), api_key=KEY)
    with respx.mock() as router:  # no route: a request would fail the test
        with pytest.raises(InputError, match="daily Treasury General Account"):
            src.fetch("TGA", None)
        assert not router.calls
