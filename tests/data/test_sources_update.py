"""``update()`` and ``powderkeg data update``: incremental, cache-first, one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
import respx

from powderkeg.cli.main import run
from powderkeg.data.records import SeriesData, SeriesMeta
from powderkeg.data.sources.fred import API_URL
from powderkeg.data.sources.update import _resolve, infer_source, update
from powderkeg.data.store import Store
from powderkeg.exceptions import InputError, ProviderError
from tests.data.test_sources_base import RECORDINGS, FakeTime, make_client
from tests.data.test_sources_crypto import CANDLES, candle_window, fast_exchange, register_markets

KEY = "feedface0123456789abcdeffeedface"
NVDA_URL = "https://query2.finance.yahoo.com/v8/finance/chart/NVDA"
WALCL = json.loads((RECORDINGS / "fred" / "walcl_api.json").read_text())


def fred_server(revise: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A respx side effect answering like FRED: observations from ``observation_start`` on."""

    def answer(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params["series_id"] != "WALCL":
            body = (RECORDINGS / "fred" / "error_series_missing.json").read_text()
            return httpx.Response(400, text=body)
        start = params.get("observation_start", "1600-01-01")
        obs = [dict(o) for o in WALCL["observations"] if o["date"] >= start]
        for o in obs:
            o["value"] = (revise or {}).get(o["date"], o["value"])
        doc = dict(WALCL, observation_start=start, count=len(obs), observations=obs)
        return httpx.Response(200, json=doc)

    return answer


def walcl_batch(n: int) -> SeriesData:
    obs = WALCL["observations"][:n]
    frame = pd.DataFrame(
        {"value": [float(o["value"]) for o in obs]},
        index=pd.DatetimeIndex([o["date"] for o in obs], name="date"),
    )
    meta = SeriesMeta(
        "WALCL", kind="macro", unit="USD millions", frequency="W-WED", source="package"
    )
    return SeriesData(meta, frame)


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """WALCL through 2025-11-26 and NVDA for two days, both imported from a package."""
    monkeypatch.setenv("FRED_API_KEY", KEY)
    nvda = SeriesData(
        SeriesMeta("NVDA", kind="price", unit="USD", source="package"),
        pd.DataFrame(
            {"close": [183.0, 180.0]}, index=pd.DatetimeIndex(["2025-12-10", "2025-12-11"])
        ),
    )
    with Store(tmp_path / "s.duckdb") as st:
        st.ingest([walcl_batch(4), nvda], source="test", target="seed")
        yield st


def test_incremental_update_fetches_from_revision_window(store: Store, shared_data: Path) -> None:
    with respx.mock() as router:
        route = router.get(API_URL).mock(side_effect=fred_server())
        report = update(store, ["WALCL"], client=make_client(FakeTime()), today="2025-12-12")
    # last stored 2025-11-26, re-fetched from 7 days before it
    assert route.call_count == 1
    assert route.calls.last.request.url.params["observation_start"] == "2025-11-19"
    assert (report.inserted, report.updated, report.unchanged) == (2, 0, 2)
    assert report.source == "fred" and report.target == "WALCL"
    hist = store.history("WALCL")
    ref = pd.read_csv(shared_data / "raw" / "jonsflow__risk-model" / "WALCL.csv", index_col=0)
    assert len(hist) == 6
    assert hist["value"].tolist() == ref.loc[hist.index.strftime("%Y-%m-%d"), "Value"].tolist()
    info = store.series_info("WALCL")
    assert info["source"] == "fred" and info["unit"] == "USD millions"
    assert report.provenance.sources[0]["requested_from"] == "2025-11-19"


def test_second_update_today_is_cache_first_and_changes_nothing(store: Store) -> None:
    today = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
    with respx.mock() as router:
        route = router.get(API_URL).mock(side_effect=fred_server())
        update(store, ["WALCL"], client=make_client(FakeTime()), today=today)
        assert route.call_count == 1
        again = update(store, ["WALCL"], client=make_client(FakeTime()), today=today)
        assert route.call_count == 1  # no request: updated today from the same source
    assert (again.inserted, again.updated) == (0, 0)
    assert again.provenance.parameters["up_to_date"] == ["WALCL"]


def test_refetch_is_idempotent_and_counts_only_revisions(store: Store) -> None:
    client = make_client(FakeTime())
    with respx.mock() as router:
        router.get(API_URL).mock(side_effect=fred_server())
        update(store, ["WALCL"], client=client, today="2025-12-12")
        same = update(store, ["WALCL"], since="2025-11-01", client=client, today="2025-12-12")
    assert (same.inserted, same.updated, same.unchanged) == (0, 0, 6)
    with respx.mock() as router:
        router.get(API_URL).mock(side_effect=fred_server(revise={"2025-11-26": "6552500"}))
        revised = update(store, ["WALCL"], since="2025-11-01", client=client, today="2025-12-12")
    assert (revised.inserted, revised.updated) == (0, 1)
    assert store.history("WALCL").loc["2025-11-26", "value"] == 6552500.0


def test_failure_midway_writes_nothing(store: Store) -> None:
    before = store.content_digest()
    ft = FakeTime()
    with respx.mock() as router:
        fred = router.get(API_URL).mock(side_effect=fred_server())
        yahoo = router.get(NVDA_URL).mock(return_value=httpx.Response(503))
        with pytest.raises(ProviderError, match=r"yahoo.*'NVDA'.*after 4 attempt.*HTTP 503"):
            update(store, ["WALCL", "NVDA"], client=make_client(ft), today="2025-12-24")
    assert fred.call_count == 1 and yahoo.call_count == 4 and len(ft.sleeps) >= 3
    assert store.content_digest() == before


def test_mixed_sources_in_one_transaction(store: Store) -> None:
    import responses

    n_ingests = len(store.ingests())
    with respx.mock() as router, responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        router.get(API_URL).mock(side_effect=fred_server())
        router.get(NVDA_URL).mock(
            return_value=httpx.Response(
                200, text=(RECORDINGS / "yahoo" / "nvda_chart.json").read_text()
            )
        )
        register_markets(rs)
        rs.add_callback(responses.GET, CANDLES, callback=candle_window)
        steps: list[tuple[int, int, str]] = []
        report = update(
            store,
            ["WALCL", "NVDA", "BTC-USD"],
            client=make_client(FakeTime()),
            today="2025-12-29",
            since="2025-12-01",
            crypto_client=fast_exchange(),
            progress=lambda done, total, label: steps.append((done, total, label)),
        )
    assert steps == [(1, 3, "WALCL"), (2, 3, "NVDA"), (3, 3, "BTC-USD")]
    assert report.source == "ccxt:coinbase+fred+yahoo"
    assert len(store.ingests()) == n_ingests + 1
    sources = store.list_series()["source"].to_dict()
    assert sources == {"BTC-USD": "ccxt:coinbase", "NVDA": "yahoo", "WALCL": "fred"}
    per = report.per_series
    assert per.loc["BTC-USD", "inserted"] == 29  # 2025-12-01..29, UTC days
    # NVDA 12-10 and 12-11 were stored with other values (package): updated, not inserted
    assert per.loc["NVDA", "updated"] == 2 and per.loc["NVDA", "inserted"] == 8


def test_empty_list_updates_series_of_the_source(store: Store) -> None:
    client = make_client(FakeTime())
    with pytest.raises(InputError, match="no stored series from source 'fred'"):
        update(store, [], source="fred", client=client)
    with respx.mock() as router:
        route = router.get(API_URL).mock(side_effect=fred_server())
        update(store, ["WALCL"], client=client, today="2025-12-12")
        report = update(store, [], source="fred", client=client, since="2025-12-01")
        assert route.call_count == 2 and list(report.per_series.index) == ["WALCL"]
        everything = update(store, [], client=client, since="2025-12-01")  # any live source
        assert list(everything.per_series.index) == ["WALCL"]
    with pytest.raises(InputError, match="no stored series from source 'yahoo'"):
        update(store, [], source="yahoo", client=client)


def test_source_inference_and_universes(store: Store) -> None:
    assert infer_source("WALCL") == "fred" and infer_source("TGA") == "fred"
    assert infer_source("ETH-USD") == "crypto" and infer_source("AMD") == "yahoo"
    assert infer_source("MYFREDID", stored_label="fred") == "fred"
    assert infer_source("BTC-USD", stored_label="yahoo") == "yahoo"
    plan, skipped = _resolve(["liquidity", "btc-usd", "WALCL"], None, store.list_series())
    assert ("TGA", "fred") not in plan and skipped[0]["symbol"] == "TGA"
    assert "WDTGAL" in skipped[0]["reason"]
    assert plan[0] == ("WALCL", "fred") and ("BTC-USD", "crypto") in plan
    assert [s for s, _ in plan].count("WALCL") == 1
    with pytest.raises(InputError, match="--source"):
        update(store, ["WALCL"], source="bloomberg")
    with pytest.raises(InputError, match="--since"):
        update(store, ["WALCL"], since="not-a-date")


def test_units_are_converted_to_the_stored_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRED_API_KEY", KEY)
    rrp = SeriesData(
        SeriesMeta("RRPONTSYD", kind="macro", unit="USD millions", source="package"),
        pd.DataFrame({"value": [1523.0]}, index=pd.DatetimeIndex(["2025-12-22"])),
    )
    body = (RECORDINGS / "fred" / "rrpontsyd_api.json").read_text()
    with Store(tmp_path / "u.duckdb") as st:
        st.ingest([rrp], source="test", target="seed")
        with respx.mock() as router:
            router.get(API_URL).mock(return_value=httpx.Response(200, text=body))
            report = update(st, ["RRPONTSYD"], client=make_client(FakeTime()), since="2025-12-22")
        hist = st.history("RRPONTSYD")
        assert st.series_info("RRPONTSYD")["unit"] == "USD millions"
        # 1.523 USD billions == 1523 USD millions: the seeded row is unchanged
        assert hist.loc["2025-12-22", "value"] == pytest.approx(1523.0)
        assert hist.loc["2025-12-31", "value"] == pytest.approx(105993.0)
        assert report.updated == 0 and report.inserted == 7


# ---------------------------------------------------------------------------- CLI
def test_cli_update_success_and_exit_codes(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    path = store.path
    store.close()
    with respx.mock() as router:
        router.get(API_URL).mock(side_effect=fred_server())
        code = run(["--db", path, "--json", "data", "update", "WALCL", "--source", "fred"])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc = json.loads(out.out)
    assert doc["rows_inserted"] == 2 and doc["source"] == "fred"

    assert run(["--db", path, "data", "update", "WALCL", "--source", "bloomberg"]) == 2
    assert "--source" in capsys.readouterr().err

    with respx.mock() as router:
        router.get(API_URL).mock(side_effect=fred_server())
        code = run(["--db", path, "data", "update", "NOSUCHID", "--source", "fred"])
    err = capsys.readouterr().err
    assert code == 2 and "NOSUCHID" in err and KEY not in err

    with respx.mock() as router:
        router.get(API_URL).mock(return_value=httpx.Response(200, text="<html>down</html>"))
        code = run(["--db", path, "data", "update", "WALCL", "--since", "2025-01-01"])
    err = capsys.readouterr().err
    assert code == 1 and "malformed response for 'WALCL'" in err and KEY not in err


def test_incompatible_units_refuse_to_mix(store: Store) -> None:
    eur = SeriesData(
        SeriesMeta("SAP", kind="price", unit="EUR", source="package"),
        pd.DataFrame({"close": [250.0]}, index=pd.DatetimeIndex(["2025-12-09"])),
    )
    store.ingest([eur], source="test", target="seed")
    before = store.content_digest()
    body = (RECORDINGS / "yahoo" / "nvda_chart.json").read_text()  # a USD-quoted chart
    with respx.mock() as router:
        router.get("https://query2.finance.yahoo.com/v8/finance/chart/SAP").mock(
            return_value=httpx.Response(200, text=body)
        )
        with pytest.raises(ProviderError, match="'SAP' comes in 'USD' but is stored in 'EUR'"):
            update(store, ["SAP"], client=make_client(FakeTime()), today="2025-12-24")
    assert store.content_digest() == before
