"""The synthetic market: calendars, units, consistency and recoverable ground truth."""

from __future__ import annotations

import time

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest
from arch import arch_model
from scipy import stats
from statsmodels.tsa.stattools import adfuller

from powderkeg.data import units
from powderkeg.data.store import Store
from powderkeg.data.universe import UNIVERSES
from powderkeg.exceptions import InputError
from powderkeg.synthetic import SyntheticMarket, market

EQUITIES = [*UNIVERSES["ai"], "AAPL", "TSLA", "^IXIC", "^NDX", "^GSPC", "^VIX"]
MACRO = ["WALCL", "TGA", "RRPONTSYD", "M2SL", "DGS10", "BAMLH0A0HYM2", "DTWEXBGS"]


@pytest.fixture(scope="module")
def m() -> SyntheticMarket:
    return market(seed=7)


def _logret(m: SyntheticMarket, symbol: str) -> pd.Series:
    return np.log(m.get(symbol).frame["close"]).diff().dropna()


def test_symbols_match_the_real_store_universe(m: SyntheticMarket) -> None:
    expected = {"BTC-USD", "ETH-USD", *EQUITIES, *MACRO, "STABLECOIN_SUPPLY"}
    assert set(m.symbols) == expected
    assert len(m.symbols) == len(expected)
    assert all(s.meta.source == "synthetic" for s in m.series)


def test_same_seed_is_identical_and_other_seeds_differ(m: SyntheticMarket) -> None:
    again = market(seed=7)
    for a, b in zip(m.series, again.series):
        assert a.meta == b.meta
        pd.testing.assert_frame_equal(a.frame, b.frame)
    pd.testing.assert_frame_equal(m.truth.shocks, again.truth.shocks)
    other = market(seed=8)
    for sym in ("BTC-USD", "NVDA", "TGA", "M2SL"):
        assert not np.allclose(m.get(sym).frame.iloc[:, -1], other.get(sym).frame.iloc[:, -1])


def test_fast() -> None:
    market(seed=1)  # warm the calendar cache
    t0 = time.perf_counter()
    market(seed=2)
    assert time.perf_counter() - t0 < 1.0


def test_calendars(m: SyntheticMarket) -> None:
    btc = m.get("BTC-USD").frame.index
    assert btc[0] == pd.Timestamp("2017-01-02")
    assert (np.diff(btc.to_numpy()) == np.timedelta64(1, "D")).all()
    assert len(btc) == 2922  # 8 years of calendar days incl. 2 leap days
    assert m.get("STABLECOIN_SUPPLY").frame.index.equals(btc)
    xnys = xcals.get_calendar("XNYS").sessions_in_range("2017-01-02", "2025-01-01")
    xnys = pd.DatetimeIndex(xnys).tz_localize(None)
    for sym in EQUITIES:
        idx = m.get(sym).frame.index
        assert len(idx) == len(xnys)
        assert (idx.to_numpy() == xnys.to_numpy()).all(), sym
    walcl = m.get("WALCL").frame.index
    assert (walcl.day_of_week == 2).all()
    assert (np.diff(walcl.to_numpy()) == np.timedelta64(7, "D")).all()
    tga = m.get("TGA").frame.index
    assert (tga.day_of_week < 5).all()
    # federal holidays: closed for TGA; Columbus Day 2017-10-09 is a session for NYSE only
    for day in ("2017-07-04", "2019-12-25", "2017-10-09", "2021-11-11"):
        assert pd.Timestamp(day) not in tga
    assert pd.Timestamp("2017-10-09") in m.get("NVDA").frame.index
    assert pd.Timestamp("2017-10-10") in tga
    m2 = m.get("M2SL").frame.index
    assert (m2.day == 1).all() and len(m2) == 97


def test_units_and_the_rrp_trap(m: SyntheticMarket) -> None:
    meta = {s.meta.symbol: s.meta for s in m.series}
    assert meta["WALCL"].unit == meta["TGA"].unit == "USD millions"
    assert meta["RRPONTSYD"].unit == "USD billions"
    assert meta["M2SL"].unit == "USD billions"
    assert meta["DGS10"].unit == meta["BAMLH0A0HYM2"].unit == "percent"
    assert meta["BTC-USD"].unit == "USD" and meta["^GSPC"].unit == "index points"
    assert meta["WALCL"].frequency == "W-WED" and meta["M2SL"].frequency == "MS"
    assert meta["BTC-USD"].calendar == "24/7 UTC day" and meta["BTC-USD"].frequency == "D"
    assert {meta[s].kind for s in MACRO} == {"macro"}
    rrp = m.get("RRPONTSYD").frame["value"]
    tga = m.get("TGA").frame["value"]
    # RRP peaks above USD 1 trillion, i.e. above 1000 in its billions unit but far below TGA's
    # millions: adding the raw numbers would be off by a factor of 1000.
    assert 1_000 < rrp.max() < 5_000 and rrp.min() > 0
    assert tga.min() > 10_000
    assert units.factor(meta["RRPONTSYD"].unit, meta["TGA"].unit) == 1000.0


def test_ohlc_consistent(m: SyntheticMarket) -> None:
    for s in m.series:
        if s.meta.kind != "price":
            continue
        f = s.frame
        assert list(f.columns) == ["open", "high", "low", "close", "volume"]
        assert (f[["open", "high", "low", "close"]] > 0).all().all(), s.meta.symbol
        assert (f["low"] <= f[["open", "close"]].min(axis=1)).all(), s.meta.symbol
        assert (f["high"] >= f[["open", "close"]].max(axis=1)).all(), s.meta.symbol
        assert (f["high"] > f["low"]).mean() > 0.99
        assert (f["volume"] >= 0).all()
    btc = m.get("BTC-USD").frame
    assert np.allclose(btc["open"].iloc[1:].to_numpy(), btc["close"].iloc[:-1].to_numpy())


def test_fat_tails_and_volatility_clustering(m: SyntheticMarket) -> None:
    for sym in ("BTC-USD", "NVDA", "^GSPC"):
        r = _logret(m, sym)
        assert stats.kurtosis(r, fisher=False) > 4.0, sym
        sq = r**2
        assert np.mean([sq.autocorr(k) for k in range(1, 6)]) > 0.05, sym
    # an independent GARCH(1,1)-t fit recovers the planted persistence and tail index
    r = 100 * _logret(m, "BTC-USD")
    fit = arch_model(r, vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    _, alpha, beta, _ = m.truth.garch["BTC-USD"]
    assert abs(fit.params["alpha[1]"] + fit.params["beta[1]"] - (alpha + beta)) < 0.03
    assert 3.5 < fit.params["nu"] < 9.0


def test_true_shocks_have_the_planted_correlations(m: SyntheticMarket) -> None:
    t = m.truth
    sessions = m.get("NVDA").frame.index
    z = t.shocks.loc[sessions, ["BTC-USD", "NVDA"]]
    before = z[z.index < t.correlation_switch]
    after = z[z.index >= t.correlation_switch]
    se = 1 / np.sqrt(min(len(before), len(after)))
    assert abs(before.corr().iloc[0, 1] - t.correlation_before) < 3 * se
    assert abs(after.corr().iloc[0, 1] - t.correlation_after) < 3 * se
    assert t.correlation_switch in sessions
    # shocks are unit-variance Student-t: kurtosis near 3 + 6 / (nu - 4) = 9 is heavy
    assert abs(t.shocks["BTC-USD"].std() - 1) < 0.05
    assert stats.kurtosis(t.shocks["BTC-USD"], fisher=False) > 4.5


def test_correlation_regime_recovered_by_garch_standardised_returns(m: SyntheticMarket) -> None:
    t = m.truth
    std = {}
    for sym in ("BTC-USD", "NVDA"):
        r = 100 * _logret(m, sym)
        std[sym] = arch_model(r, vol="GARCH", p=1, q=1, dist="t").fit(disp="off").std_resid
    z = pd.DataFrame(std).dropna()  # common days: XNYS sessions
    before = z[z.index < t.correlation_switch].corr().iloc[0, 1]
    after = z[z.index >= t.correlation_switch].corr().iloc[0, 1]
    assert abs(before - t.correlation_before) < 0.1
    assert abs(after - t.correlation_after) < 0.12
    assert after - before > 0.35


def test_liquidity_beta_recovered_by_weekly_ols(m: SyntheticMarket) -> None:
    t = m.truth
    days = m.get("BTC-USD").frame.index
    weds = m.get("WALCL").frame.index
    tga = m.get("TGA").frame["value"].reindex(days).ffill()
    rrp = m.get("RRPONTSYD").frame["value"].reindex(days).ffill()
    rrp_mn = rrp * units.factor("USD billions", "USD millions")
    walcl = m.get("WALCL").frame["value"]
    nl = (walcl - tga.reindex(weds) - rrp_mn.reindex(weds)).dropna()
    # the documented daily net liquidity equals the published components on Wednesdays
    np.testing.assert_allclose(t.net_liquidity.reindex(nl.index), nl, rtol=0, atol=1e-6)
    y = np.log(m.get("BTC-USD").frame["close"].reindex(nl.index)).diff()
    x = nl.diff() / 1e6  # USD trillions
    d = pd.concat([y, x], axis=1).dropna().to_numpy()
    X = np.column_stack([np.ones(len(d)), d[:, 1]])
    coef, *_ = np.linalg.lstsq(X, d[:, 0], rcond=None)
    resid = d[:, 0] - X @ coef
    se = np.sqrt(resid.var(ddof=2) / ((d[:, 1] - d[:, 1].mean()) ** 2).sum())
    assert se < 0.15
    assert abs(coef[1] - t.liquidity_beta) < 4 * se


def test_bubble_is_explosive_then_collapses(m: SyntheticMarket) -> None:
    t = m.truth
    assert t.bubble_symbol == "NVDA"
    assert t.bubble_start < t.bubble_peak < t.bubble_end
    assert t.bubble_delta > 1 > t.bubble_collapse_root
    close = m.get(t.bubble_symbol).frame["close"]
    y = np.log(close)
    up = y.loc[t.bubble_start : t.bubble_peak].to_numpy()
    # right-tailed Dickey-Fuller (constant, no lags): the 5 % critical value is about -0.07
    stat = adfuller(up, maxlag=0, autolag=None, regression="c", result_object=False)[0]
    assert stat > 1.0
    slope = np.polyfit(up[:-1], up[1:], 1)[0]
    assert slope > 1.0
    assert close[t.bubble_peak] / close[t.bubble_start] > 5
    assert close[t.bubble_end] / close[t.bubble_peak] < 0.5
    top = close.loc[t.bubble_start : t.bubble_end].idxmax()
    assert abs(close.index.get_loc(top) - close.index.get_loc(t.bubble_peak)) <= 5
    # the collapse is the steepest fall: worst 20-session log return is inside it
    worst = y.diff(20).idxmin()
    assert t.bubble_peak < worst <= t.bubble_end + pd.Timedelta(days=30)


def test_frame_helper_and_validation(m: SyntheticMarket) -> None:
    wide = m.frame(["crypto", "NVDA", "WALCL"])
    assert list(wide.columns) == ["BTC-USD", "ETH-USD", "NVDA", "WALCL"]
    assert wide["BTC-USD"].notna().all()
    assert wide["NVDA"].count() == len(m.get("NVDA").frame)
    assert wide.index.is_monotonic_increasing
    with pytest.raises(InputError, match="unknown synthetic symbol"):
        m.get("XYZ")
    with pytest.raises(InputError, match="years"):
        market(years=1)
    with pytest.raises(InputError, match="start"):
        market(start="not a date")


def test_ingest_into_store(m: SyntheticMarket) -> None:
    with Store(":memory:") as store:
        report = store.ingest(m.series, source="synthetic", target="synthetic(seed=7)")
        assert report.inserted == sum(len(s) for s in m.series)
        assert set(store.symbols()) == set(m.symbols)
        info = store.series_info("RRPONTSYD")
        assert info["unit"] == "USD billions" and info["kind"] == "macro"
        rrp = store.frame("RRPONTSYD", unit="USD millions", asof_publication=False)
        np.testing.assert_allclose(
            rrp["RRPONTSYD"].to_numpy(), 1000 * m.get("RRPONTSYD").frame["value"].to_numpy()
        )
        pair = store.frame(["BTC-USD", "NVDA"])
        assert len(pair) == len(m.get("NVDA").frame)
        np.testing.assert_allclose(
            store.history("NVDA")["high"].to_numpy(), m.get("NVDA").frame["high"].to_numpy()
        )
