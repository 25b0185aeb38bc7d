"""Data-quality checks: planted problems are found exactly; the real store's quirks are flagged."""

from __future__ import annotations

import json
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from powderkeg.cli.main import run
from powderkeg.data.quality import CHECKS, check, check_file, check_frame, infer_frequency
from powderkeg.data.store import Store
from powderkeg.exceptions import InputError, UnknownSymbolError
from powderkeg.synthetic import market


def _walk(index: pd.DatetimeIndex, seed: int = 0, vol: float = 0.01, level: float = 100.0):  # type: ignore[no-untyped-def]
    """A Gaussian random walk in logs: no stale runs, no 10-sigma moves."""
    rng = np.random.default_rng(seed)
    return level * np.exp(np.cumsum(rng.normal(0.0, vol, len(index))))


def _price_frame(index: pd.DatetimeIndex, seed: int = 0) -> pd.DataFrame:
    close = _walk(index, seed)
    return pd.DataFrame(
        {"open": close, "high": close * 1.01, "low": close * 0.99, "close": close}, index=index
    )


def _flags(report, check_name: str) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    f = report.to_frame()
    return f[f["check"] == check_name].reset_index(drop=True)


def test_clean_daily_series_has_no_flags() -> None:
    idx = pd.date_range("2024-01-01", "2024-06-30", freq="D")
    rep = check_frame(_price_frame(idx), "BTC-USD", unit="USD", frequency="D", calendar="24/7")
    assert rep.to_frame().empty
    assert rep.ok and sum(rep.counts.values()) == 0


def test_gap_on_a_247_calendar_is_one_run() -> None:
    idx = pd.date_range("2024-01-01", "2024-03-31", freq="D")
    frame = _price_frame(idx).drop(pd.date_range("2024-02-10", "2024-02-12"))
    rep = check_frame(frame, "BTC-USD", unit="USD", frequency="D", calendar="24/7 UTC day")
    gaps = _flags(rep, "gap")
    assert len(rep.to_frame()) == 1 and len(gaps) == 1
    assert gaps.loc[0, "date"] == pd.Timestamp("2024-02-10")
    assert gaps.loc[0, "end"] == pd.Timestamp("2024-02-12")
    assert gaps.loc[0, "n"] == 3 and gaps.loc[0, "severity"] == "warning"


def test_exchange_sessions_gap_and_off_calendar_rows() -> None:
    sess = xcals.get_calendar("XNYS").sessions_in_range("2023-01-03", "2023-12-29")
    sess = pd.DatetimeIndex(sess).tz_localize(None)
    frame = _price_frame(sess, seed=1)
    frame = frame.drop(pd.Timestamp("2023-03-15"))
    saturday = frame.iloc[[100]].set_axis([pd.Timestamp("2023-03-18")])
    holiday = frame.iloc[[101]].set_axis([pd.Timestamp("2023-07-04")])
    frame = pd.concat([frame, saturday, holiday]).sort_index()
    rep = check_frame(frame, "NVDA", unit="USD", frequency="B", calendar="XNYS/XNAS sessions")
    gaps, extra = _flags(rep, "gap"), _flags(rep, "off_calendar")
    assert len(gaps) == 1 and gaps.loc[0, "date"] == pd.Timestamp("2023-03-15")
    assert gaps.loc[0, "severity"] == "info" and gaps.loc[0, "n"] == 1
    assert list(extra["date"]) == [pd.Timestamp("2023-03-18"), pd.Timestamp("2023-07-04")]
    assert set(extra["severity"]) == {"warning"}
    # holidays (Good Friday, Thanksgiving...) are not gaps
    assert len(rep.to_frame()) == 3


def test_weekly_monthly_and_federal_calendars() -> None:
    weds = pd.date_range("2022-01-05", "2023-12-27", freq="W-WED")
    frame = pd.DataFrame({"value": _walk(weds, 2, level=8e6)}, index=weds)
    frame = frame.drop(pd.Timestamp("2022-06-15"))
    frame.loc[pd.Timestamp("2022-06-16"), "value"] = 8e6
    rep = check_frame(
        frame.sort_index(), "WALCL", unit="USD millions", frequency="W-WED", calendar="weekly"
    )
    assert list(_flags(rep, "gap")["date"]) == [pd.Timestamp("2022-06-15")]
    assert list(_flags(rep, "off_calendar")["date"]) == [pd.Timestamp("2022-06-16")]

    months = pd.date_range("2020-01-01", "2023-12-01", freq="MS")
    m2 = pd.DataFrame({"value": _walk(months, 3, level=2e4)}, index=months)
    rep = check_frame(
        m2.drop(pd.Timestamp("2021-05-01")), "M2SL", unit="USD billions", frequency="MS"
    )
    assert list(_flags(rep, "gap")["date"]) == [pd.Timestamp("2021-05-01")]

    # US federal business days: Columbus Day (a NYSE session) is a holiday; the bond-market
    # calendar also tolerates Good Friday present or absent
    days = pd.bdate_range("2023-01-03", "2023-12-29")
    fed = days[~days.isin(pd.to_datetime(["2023-01-16", "2023-02-20", "2023-05-29",
                                          "2023-06-19", "2023-07-04", "2023-09-04",
                                          "2023-10-09", "2023-11-10", "2023-11-23",
                                          "2023-12-25"]))]  # fmt: skip
    tga = pd.DataFrame({"value": _walk(fed, 4, level=7e5)}, index=fed)
    rep = check_frame(
        tga, "TGA", unit="USD millions", frequency="B", calendar="US federal business days"
    )
    assert rep.to_frame().empty
    for frame in (tga, tga.drop(pd.Timestamp("2023-04-07"))):
        rep = check_frame(
            frame, "DGS10", unit="percent", frequency="B", calendar="US bond market days"
        )
        assert _flags(rep, "gap").empty and _flags(rep, "off_calendar").empty
    rep = check_frame(
        tga.drop(pd.Timestamp("2023-04-07")), "TGA", unit="USD millions", frequency="B",
        calendar="US federal business days",
    )  # fmt: skip
    assert list(_flags(rep, "gap")["date"]) == [pd.Timestamp("2023-04-07")]


def test_approximate_calendar_tolerates_short_holiday_runs() -> None:
    days = pd.bdate_range("2023-01-02", "2023-12-29")
    frame = pd.DataFrame({"close": _walk(days, 5)}, index=days)
    frame = frame.drop(pd.to_datetime(["2023-04-07", "2023-04-10", "2023-12-25", "2023-12-26"]))
    frame = frame.drop(pd.bdate_range("2023-08-07", "2023-08-11"))
    rep = check_frame(frame, "GOLD", unit="USD/oz", frequency="B", calendar="London business days")
    gaps = _flags(rep, "gap")
    assert len(gaps) == 1 and gaps.loc[0, "n"] == 5
    assert gaps.loc[0, "date"] == pd.Timestamp("2023-08-07")


def test_stale_runs_exact_and_threshold() -> None:
    idx = pd.date_range("2024-01-01", periods=200, freq="D")
    v = _walk(idx, 6)
    v[50:57] = v[50]  # 7 identical values
    v[120:124] = v[120]  # 4 identical values: below the default threshold
    frame = pd.DataFrame({"close": v}, index=idx)
    rep = check_frame(frame, "X", unit="USD", frequency="D")
    stale = _flags(rep, "stale")
    assert len(stale) == 1
    assert stale.loc[0, "date"] == idx[50] and stale.loc[0, "end"] == idx[56]
    assert stale.loc[0, "n"] == 7 and stale.loc[0, "severity"] == "warning"
    rep = check_frame(frame, "X", unit="USD", frequency="D", stale_run=4)
    assert list(_flags(rep, "stale")["n"]) == [7, 4]
    macro = check_frame(frame.rename(columns={"close": "value"}), "X", unit="USD", frequency="D")
    assert set(_flags(macro, "stale")["severity"]) == {"info"}


def test_outlier_exact_and_threshold() -> None:
    idx = pd.date_range("2024-01-01", periods=300, freq="D")
    v = _walk(idx, 7)
    v[150:] *= 1.25  # a 22 % log jump in a 1 %-volatility series
    frame = pd.DataFrame({"close": v}, index=idx)
    rep = check_frame(frame, "X", unit="USD", frequency="D")
    out = _flags(rep, "outlier")
    assert list(out["date"]) == [idx[150]]
    z = float(out.loc[0, "detail"].split("robust z ")[1].rstrip(")"))
    assert 15 < z < 30  # 0.223 / 0.01
    assert _flags(check_frame(frame, "X", unit="USD", frequency="D", outlier_z=40), "outlier").empty
    # a series with zeros is checked on changes, not log returns
    vals = np.round(_walk(idx, 8), 2) - 100
    vals[200] += 50
    rep = check_frame(pd.DataFrame({"value": vals}, index=idx), "Y", unit="x", frequency="D")
    assert {idx[200], idx[201]} == set(_flags(rep, "outlier")["date"])
    assert "change" in _flags(rep, "outlier").loc[0, "detail"]


def test_unit_jump_millions_to_billions() -> None:
    days = pd.bdate_range("2023-01-02", "2023-12-29")
    v = _walk(days, 9, vol=0.005, level=7e5)
    v[100:] = np.round(v[100:] / 1000.0, 3)  # the tail is in billions
    frame = pd.DataFrame({"value": v}, index=days)
    rep = check_frame(frame, "TGA2", unit="USD millions", frequency="B", calendar="weekdays")
    units_ = _flags(rep, "unit")
    assert list(units_["date"]) == [days[100]]
    assert units_.loc[0, "severity"] == "error" and "1e-3" in units_.loc[0, "detail"]
    assert _flags(rep, "outlier").empty  # the jump is reported once, as a unit problem
    assert not rep.ok


def test_noisy_small_values_are_not_unit_jumps() -> None:
    days = pd.bdate_range("2018-01-02", "2019-12-31")
    rng = np.random.default_rng(10)
    v = np.round(0.3 * np.exp(1.5 * rng.standard_normal(len(days))), 3)
    v[v == 0] = 0.001
    rep = check_frame(pd.DataFrame({"value": v}, index=days), "RRP2", unit="USD billions")
    assert _flags(rep, "unit").empty


def test_unit_metadata_checks() -> None:
    days = pd.bdate_range("2023-01-02", "2023-03-31")
    rrp = pd.DataFrame({"value": _walk(days, 11, level=2000.0)}, index=days)
    kw = {"frequency": "B", "calendar": "weekdays"}
    assert _flags(check_frame(rrp, "RRPONTSYD", unit="USD billions", **kw), "unit").empty
    wrong = _flags(check_frame(rrp, "RRPONTSYD", unit="USD millions", **kw), "unit")
    assert len(wrong) == 1 and "USD billions" in wrong.loc[0, "detail"]
    assert wrong.loc[0, "severity"] == "error"
    scaled = _flags(check_frame(rrp * 1000, "RRPONTSYD", unit="USD billions", **kw), "unit")
    assert len(scaled) == 1 and "implausible" in scaled.loc[0, "detail"]
    missing = _flags(check_frame(rrp, "FOO", unit="", **kw), "unit")
    assert len(missing) == 1 and missing.loc[0, "severity"] == "warning"
    walcl = rrp * 3000
    alias = check_frame(walcl, "WALCL", unit="Millions of Dollars", **kw)
    assert _flags(alias, "unit").empty


def test_dates_checks_before_import() -> None:
    idx = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-03", "2024-01-04"])
    frame = pd.DataFrame({"value": [1.0, 2.0, 3.0, 4.0, 5.0]}, index=idx)
    dates = _flags(check_frame(frame, "X", unit="USD", frequency="D"), "dates")
    assert set(dates["detail"].str.split(" ").str[0:2].str.join(" ")) == {
        "date goes",
        "date appears",
    }
    back = dates[dates["detail"].str.startswith("date goes")]
    assert list(back["date"]) == [pd.Timestamp("2024-01-03")]
    dup = dates[dates["detail"].str.startswith("date appears")]
    assert list(dup["date"]) == [pd.Timestamp("2024-01-04")] and dup.iloc[0]["n"] == 2
    withtime = pd.DataFrame(
        {"date": ["2024-01-01 00:00", "2024-01-02 13:30", None], "value": [1.0, 2.0, 3.0]}
    )
    dates = _flags(check_frame(withtime, "X", unit="USD"), "dates")
    assert len(dates) == 2
    assert dates["detail"].str.contains("time of day").any()
    assert dates["detail"].str.contains("missing or bad").any()


def test_ohlc_checks() -> None:
    idx = pd.date_range("2024-01-01", periods=60, freq="D")
    frame = _price_frame(idx, 12)
    frame.loc[idx[10], "high"] = frame.loc[idx[10], "close"] * 0.98
    frame.loc[idx[20], "low"] = frame.loc[idx[20], "open"] * 1.02
    frame.loc[idx[30], "open"] = -1.0
    rep = check_frame(frame, "X", unit="USD", frequency="D")
    ohlc = _flags(rep, "ohlc")
    assert sorted(ohlc["date"]) == [idx[10], idx[20], idx[30]]
    assert ohlc.set_index("date").loc[idx[30], "severity"] == "error"
    assert ohlc.set_index("date").loc[idx[10], "severity"] == "warning"


def test_check_file(tmp_path: Path) -> None:
    path = tmp_path / "btc.csv"
    path.write_text(
        "date,close,status\n"
        "2024-01-01,100,ok\n2024-01-02,101,ok\n2024-01-02,101,ok\n"
        "2024-01-05,103,ok\n2024-01-04,102,ok\n2024-01-06,,ok\n2024-01-07,104,ok\n"
    )
    rep = check_file(path, unit="USD", frequency="D", calendar="24/7")
    f = rep.to_frame()
    assert set(f["symbol"]) == {"btc"}
    dates = _flags(rep, "dates")
    assert list(dates["date"]) == [pd.Timestamp("2024-01-04"), pd.Timestamp("2024-01-02")]
    gaps = _flags(rep, "gap")  # 01-03 and the blank 01-06 are missing
    assert list(gaps["date"]) == [pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-06")]
    with pytest.raises(InputError):
        check_file(tmp_path / "missing.csv")


def test_report_protocol_and_caps() -> None:
    idx = pd.date_range("2024-01-01", "2024-12-31", freq="D")
    frame = _price_frame(idx).iloc[::2]  # 2024-01-01 to 12-30, every other day missing
    rep = check_frame(frame, "X", unit="USD", frequency="D", max_flags=10)
    gaps = _flags(rep, "gap")
    assert len(gaps) == 11  # ten listed, one counting the rest
    assert gaps.iloc[-1]["detail"] == "172 more gap flags not listed"
    assert rep.counts["gap"] == 182 and sum(rep.counts.values()) == 182
    d = rep.to_dict()
    assert {"flags", "counts", "symbols_checked", "provenance"} <= set(d)
    assert d["symbols_checked"] == 1 and set(d["counts"]) == set(CHECKS)
    json.dumps(d, allow_nan=False)
    assert d["flags"][0]["date"] == "2024-01-02"
    text = str(rep)
    assert "Data quality" in text and "Flags per series" in text and "more gap flags" in text
    assert {"symbol", "check", "severity", "date", "end", "n", "detail"} <= set(rep.to_frame())
    with pytest.raises(InputError):
        check_frame(frame, "X", stale_run=1)


def test_infer_frequency() -> None:
    assert infer_frequency(pd.date_range("2024-01-01", periods=30, freq="D")) == "D"
    assert infer_frequency(pd.bdate_range("2024-01-01", periods=30)) == "B"
    assert infer_frequency(pd.date_range("2024-01-03", periods=30, freq="W-WED")) == "W-WED"
    assert infer_frequency(pd.date_range("2020-01-01", periods=30, freq="MS")) == "MS"
    # with no frequency in the metadata the gap check uses the inferred one
    idx = pd.date_range("2024-01-01", periods=60, freq="D").delete([20, 21])
    rep = check_frame(pd.DataFrame({"value": _walk(idx, 13)}, index=idx), "X", unit="USD")
    assert list(_flags(rep, "gap")["n"]) == [2]


def test_synthetic_market_is_clean() -> None:
    m = market(seed=3)
    with Store(":memory:") as store:
        store.ingest(m.series, source="synthetic", target="synthetic(seed=3)")
        rep = check(store, None)
        assert rep.to_dict()["symbols_checked"] == len(m.series)
        f = rep.to_frame()
        assert f[f["check"].isin(["gap", "off_calendar", "unit", "dates", "ohlc"])].empty
        assert rep.ok
        sub = check(store, ["crypto"])
        assert sub.symbols == ["BTC-USD", "ETH-USD"]
        with pytest.raises(UnknownSymbolError):
            check(store, ["NOPE"])


def test_real_store_quirks(real_store: Store) -> None:
    rep = check(real_store, None)
    f = rep.to_frame()
    assert rep.to_dict()["symbols_checked"] == len(real_store.symbols())
    assert rep.runtime_s < 30
    by = f.groupby(["symbol", "check"]).size()
    # BTC-USD: 4,357 rows with no gaps or duplicates; equities follow the exchange calendar
    for sym in ("BTC-USD", "ETH-USD", "NVDA", "MSFT", "ORCL", "^IXIC", "WALCL", "TGA"):
        assert by.get((sym, "gap"), 0) == 0, sym
    assert by.get(("NVDA", "off_calendar"), 0) == 0
    # ICE BofA HY OAS: 93 blank rows -> gaps; DTWEXBGS has missing business days
    assert by.get(("BAMLH0A0HYM2", "gap"), 0) > 10
    assert by.get(("DTWEXBGS", "gap"), 0) > 0
    # DXY (ICE futures sessions, approximate calendar): closed 2001-09-11 to 09-14
    dxy = f[(f["symbol"] == "DXY") & (f["check"] == "gap")]
    assert pd.Timestamp("2001-09-11") in set(dxy["date"])
    # ^VIX has rows on NYSE holidays (Memorial Day 2026)
    vix = f[(f["symbol"] == "^VIX") & (f["check"] == "off_calendar")]
    assert pd.Timestamp("2026-05-25") in set(vix["date"])
    # RRPONTSYD is correctly labelled USD billions: no unit error despite its tiny values
    assert by.get(("RRPONTSYD", "unit"), 0) == 0
    # pinned policy rates give stale runs, as information only
    effr = f[(f["symbol"] == "EFFR") & (f["check"] == "stale")]
    assert len(effr) > 0 and set(effr["severity"]) == {"info"}
    # the BTC crash of 2020-03-12 is a robust outlier
    btc = f[(f["symbol"] == "BTC-USD") & (f["check"] == "outlier")]
    assert pd.Timestamp("2020-03-12") in set(btc["date"])


def test_cli_data_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "synthetic.duckdb"
    with Store(db) as store:
        store.ingest(market(seed=4).series, source="synthetic", target="synthetic(seed=4)")
    capsys.readouterr()
    assert run(["--db", str(db), "data", "check", "BTC-USD"]) == 0
    assert "Data quality" in capsys.readouterr().out
    assert run(["--db", str(db), "--json", "data", "check", "BTC-USD", "TGA"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["symbols_checked"] == 2 and set(payload["counts"]) == set(CHECKS)
    assert run(["--db", str(db), "data", "check", "NOPE"]) == 2
