"""Calendars, publication lags, units and resampling, on small series and on the real store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from powderkeg.data import calendars, units
from powderkeg.data.store import Store
from powderkeg.data.universe import expand, universe
from powderkeg.exceptions import InputError


def _s(name: str, days: list[str], values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.DatetimeIndex(pd.to_datetime(days)), name=name)


A = _s("A", ["2025-01-03", "2025-01-04", "2025-01-05", "2025-01-06"], [1.0, 2.0, 3.0, 4.0])
B = _s("B", ["2025-01-02", "2025-01-03", "2025-01-06", "2025-01-07"], [10.0, 20.0, 30.0, 40.0])


def test_intersection_keeps_only_common_dates() -> None:
    out = calendars.align([A, B], "intersection")
    assert out.index.strftime("%Y-%m-%d").tolist() == ["2025-01-03", "2025-01-06"]
    assert out["A"].tolist() == [1.0, 4.0]
    assert out["B"].tolist() == [20.0, 30.0]
    assert out.columns.tolist() == ["A", "B"]


@pytest.mark.parametrize("seed", range(5))
def test_fast_intersection_equals_pandas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = pd.date_range("2020-01-01", periods=400, freq="D")
    parts = []
    for k in range(int(rng.integers(2, 6))):
        idx = base[np.sort(rng.choice(len(base), size=int(rng.integers(50, 400)), replace=False))]
        values = rng.normal(size=len(idx))
        values[rng.random(len(idx)) < 0.05] = np.nan  # NaN values stay, as with pandas
        parts.append(pd.Series(values, index=idx, name=f"S{k}"))
    out = calendars.align(parts, "intersection")
    expected = pd.concat(parts, axis=1, join="inner", sort=True)
    pd.testing.assert_frame_equal(out, expected, check_freq=False)
    # indexes that are unsorted take the general path and give the same answer
    shuffled = [p.sample(frac=1.0, random_state=seed) for p in parts]
    pd.testing.assert_frame_equal(calendars.align(shuffled, "intersection"), out, check_freq=False)


def test_union_ffill_starts_when_all_have_started() -> None:
    out = calendars.align([A, B], "union-ffill")
    assert out.index.strftime("%Y-%m-%d").tolist() == [
        "2025-01-03",
        "2025-01-04",
        "2025-01-05",
        "2025-01-06",
        "2025-01-07",
    ]
    assert out["A"].tolist() == [1.0, 2.0, 3.0, 4.0, 4.0]
    assert out["B"].tolist() == [20.0, 20.0, 20.0, 30.0, 40.0]


def test_union_leaves_gaps() -> None:
    out = calendars.align([A, B], "union")
    assert len(out) == 6
    assert np.isnan(out.loc["2025-01-02", "A"])
    assert np.isnan(out.loc["2025-01-04", "B"])


def test_exchange_calendar_samples_the_last_value_on_each_session() -> None:
    out = calendars.align([A, B], "XNYS")
    # 2025-01-04/05 is a weekend; the union runs 01-02..01-07, A starts on 01-03
    assert out.index.strftime("%Y-%m-%d").tolist() == ["2025-01-03", "2025-01-06", "2025-01-07"]
    assert out["A"].tolist() == [1.0, 4.0, 4.0]
    assert out["B"].tolist() == [20.0, 30.0, 40.0]


def test_xnys_sessions() -> None:
    days = calendars.sessions("XNYS", pd.Timestamp("2025-12-20"), pd.Timestamp("2026-01-05"))
    text = days.strftime("%Y-%m-%d").tolist()
    assert "2025-12-25" not in text  # Christmas
    assert "2025-12-27" not in text  # Saturday
    assert "2026-01-01" not in text
    assert {"2025-12-24", "2025-12-26", "2025-12-31", "2026-01-02", "2026-01-05"} <= set(text)
    assert "2025-11-27" not in calendars.sessions(
        "xnys", pd.Timestamp("2025-11-24"), pd.Timestamp("2025-11-28")
    ).strftime("%Y-%m-%d")  # Thanksgiving
    assert all(d.weekday() < 5 for d in days)
    assert days.tz is None


def test_unknown_policy() -> None:
    with pytest.raises(InputError, match="unknown calendar 'NOPE'"):
        calendars.align([A, B], "NOPE")
    with pytest.raises(InputError, match="must be unique"):
        calendars.align([A, A], "union")


def test_publication_lags() -> None:
    walcl = _s("WALCL", ["2025-01-01", "2025-01-08"], [1.0, 2.0])  # Wednesdays
    out = calendars.publish_dates(walcl, "WALCL", "W-WED")
    assert out.index.strftime("%Y-%m-%d").tolist() == ["2025-01-02", "2025-01-09"]
    m2 = calendars.publish_dates(_s("M2SL", ["2025-01-01"], [1.0]), "M2SL", "MS")
    assert m2.index[0] == pd.Timestamp("2025-02-25")
    tga = calendars.publish_dates(_s("TGA", ["2025-01-03"], [1.0]), "TGA", "B")  # a Friday
    assert tga.index[0] == pd.Timestamp("2025-01-06")
    rrp = _s("RRPONTSYD", ["2025-01-03"], [1.0])
    assert calendars.publish_dates(rrp, "RRPONTSYD", "B").index[0] == pd.Timestamp("2025-01-03")
    assert calendars.publication_lag("XYZ", "MS") == pd.DateOffset(months=1)
    assert calendars.publication_lag("XYZ", "QS") == pd.DateOffset(months=3)
    assert calendars.publication_lag("XYZ", "B") == pd.DateOffset(days=1)
    assert calendars.publication_lag("WALCL.OLD", "") == pd.DateOffset(days=1)


def test_resample_last_values() -> None:
    days = pd.date_range("2025-01-01", "2025-03-31", freq="D")
    ser = pd.Series(np.arange(len(days), dtype=float), index=days, name="x")
    weekly = calendars.resample(ser, "W")
    # independent: the Friday ending each week, and the last value up to it
    fridays = days + pd.to_timedelta((4 - days.day_of_week) % 7, unit="D")
    expected = ser.groupby(fridays).last()
    assert (
        weekly.index.strftime("%Y-%m-%d").tolist() == expected.index.strftime("%Y-%m-%d").tolist()
    )
    assert weekly.tolist() == expected.tolist()
    assert all(d.weekday() == 4 for d in weekly.index)
    monthly = calendars.resample(ser, "m")
    assert monthly.index.strftime("%Y-%m-%d").tolist() == ["2025-01-31", "2025-02-28", "2025-03-31"]
    assert monthly.tolist() == [30.0, 58.0, 89.0]
    assert calendars.resample(ser, "D") is ser
    with pytest.raises(InputError, match="freq must be one of"):
        calendars.resample(ser, "H")


def test_units() -> None:
    assert units.factor("USD billions", "USD millions") == 1000.0
    assert units.factor("usd mn", "USD billions") == 1e-3
    assert units.factor("$bn", "USD") == 1e9
    assert units.convertible("USD millions", "USD bn")
    assert not units.convertible("percent", "USD millions")
    with pytest.raises(InputError, match="cannot convert 'percent'"):
        units.factor("percent", "USD")


def test_universes() -> None:
    assert universe("crypto") == ["BTC-USD", "ETH-USD"]
    assert expand(["crypto", "BTC-USD", "NVDA", "AI"])[:4] == ["BTC-USD", "ETH-USD", "NVDA", "AMD"]
    assert len(expand(["ai", "mag7"])) == len(set(universe("ai")) | set(universe("mag7")))
    with pytest.raises(InputError, match="unknown universe"):
        universe("nope")


# ---------------------------------------------------------------------------- store frames


def test_frame_intersection_of_btc_and_nvda(real_store: Store) -> None:
    out = real_store.frame(["BTC-USD", "NVDA"], "2025-01-01", "2025-12-31")
    btc = real_store.history("BTC-USD", "2025-01-01", "2025-12-31")["close"]
    nvda = real_store.history("NVDA", "2025-01-01", "2025-12-31")["close"]
    common = btc.index.intersection(nvda.index)
    assert out.index.equals(common)
    assert (out["BTC-USD"] == btc.loc[common]).all()
    assert (out["NVDA"] == nvda.loc[common]).all()
    assert pd.Timestamp("2025-12-25") not in out.index
    assert pd.Timestamp("2025-12-27") not in out.index
    assert out.attrs["calendar"] == "intersection"
    assert out.attrs["units"] == {"BTC-USD": "USD", "NVDA": "USD"}


def test_frame_on_the_xnys_calendar(real_store: Store) -> None:
    out = real_store.frame(["BTC-USD", "^GSPC"], "2025-12-01", "2025-12-31", calendar="XNYS")
    expected = calendars.sessions("XNYS", pd.Timestamp("2025-12-01"), pd.Timestamp("2025-12-31"))
    assert out.index.equals(expected)
    btc = real_store.history("BTC-USD", "2025-12-01", "2025-12-31")["close"]
    assert (out["BTC-USD"] == btc.loc[out.index]).all()


def test_frame_union_ffill_carries_weekly_values(real_store: Store) -> None:
    out = real_store.frame(["BTC-USD", "WALCL"], "2025-06-01", "2025-06-30", calendar="union-ffill")
    assert len(out) == 30  # BTC trades every day
    walcl = real_store.history("WALCL", "2025-05-01", "2025-06-30")["value"]
    for day, value in out["WALCL"].items():
        known = walcl[walcl.index + pd.Timedelta(days=1) <= day]  # published the next day
        assert value == known.iloc[-1]


def test_as_of_publication_shifts_walcl_and_m2(real_store: Store) -> None:
    walcl = real_store.history("WALCL", "2025-01-01", "2025-03-31")["value"]
    shifted = real_store.frame(["WALCL"], "2025-01-02", "2025-04-01")["WALCL"]
    assert (shifted.index == walcl.index + pd.Timedelta(days=1)).all()
    assert shifted.tolist() == walcl.tolist()
    assert all(d.weekday() == 3 for d in shifted.index)  # Wednesday levels known on Thursday
    raw = real_store.frame(["WALCL"], "2025-01-01", "2025-03-31", asof_publication=False)
    assert raw["WALCL"].index.equals(walcl.index)
    m2 = real_store.history("M2SL", "2024-01-01", "2024-12-31")["value"]
    pub = real_store.frame(["M2SL"], "2024-02-25", "2025-01-25")["M2SL"]
    lagged = m2.index + pd.DateOffset(months=1, days=24)
    assert pub.index.equals(lagged)
    assert pub.tolist() == m2.tolist()


def test_frame_end_excludes_values_published_after_it(real_store: Store) -> None:
    # 2025-06-04 is a Wednesday: its WALCL level is published on Thursday the 5th
    out = real_store.frame(["WALCL"], "2025-05-01", "2025-06-04", calendar="union")
    assert out.index.max() <= pd.Timestamp("2025-06-04")
    assert pd.Timestamp("2025-06-05") not in out.index
    out = real_store.frame(["WALCL"], "2025-05-01", "2025-06-05", calendar="union")
    assert out.index.max() == pd.Timestamp("2025-06-05")


def test_unit_conversion(real_store: Store) -> None:
    rrp = real_store.history("RRPONTSYD", "2025-01-01", "2025-03-31")["value"]
    out = real_store.frame(
        ["RRPONTSYD", "WALCL", "DGS10"],
        "2025-01-01",
        "2025-03-31",
        calendar="union",
        asof_publication=False,
        unit="USD millions",
    )
    assert out.attrs["units"] == {
        "RRPONTSYD": "USD millions",
        "WALCL": "USD millions",
        "DGS10": "percent",
    }
    assert (out["RRPONTSYD"].dropna() == rrp * 1000.0).all()
    walcl = real_store.history("WALCL", "2025-01-01", "2025-03-31")["value"]
    assert (out["WALCL"].dropna() == walcl).all()
    dgs = real_store.history("DGS10", "2025-01-01", "2025-03-31")["value"]
    assert (out["DGS10"].dropna() == dgs).all()


@pytest.mark.parametrize("policy", ["intersection", "union-ffill", "union", "XNYS"])
@pytest.mark.parametrize(
    ("start", "end"), [("2020-03-01", "2023-06-30"), ("2024-01-01", None), ("2022-03-05", None)]
)
def test_frame_bounds_equal_slicing_the_whole_frame(
    real_store: Store, policy: str, start: str, end: str | None
) -> None:
    syms = ["NVDA", "BTC-USD", "M2SL", "RRPONTSYD", "TGA"]
    out = real_store.frame(syms, start, end, calendar=policy)
    whole = real_store.frame(syms, calendar=policy)
    keep = whole.index >= pd.Timestamp(start)
    if end is not None:
        keep &= whole.index <= pd.Timestamp(end)
    pd.testing.assert_frame_equal(out, whole.loc[keep], check_freq=False)
    assert out.index.min() >= pd.Timestamp(start)
    assert out.columns.tolist() == syms


def test_frame_of_a_universe_and_bad_field(real_store: Store) -> None:
    out = real_store.frame("crypto", "2025-01-01", "2025-01-31")
    assert out.columns.tolist() == ["BTC-USD", "ETH-USD"]
    assert len(out) == 31
    with pytest.raises(InputError, match="field must be one of"):
        real_store.frame(["BTC-USD"], field="adj")
    highs = real_store.frame(["BTC-USD", "ETH-USD"], "2025-01-01", "2025-01-31", field="high")
    assert (highs >= out).all().all()
