"""Liquidity beta: OLS HAC and multiple-testing corrections against statsmodels."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import example, given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from powderkeg.liquidity.beta import lag_regressions, liquidity_beta, weekly_panel
from powderkeg.stats import benjamini_hochberg, holm, newey_west_lags, ols


@pytest.fixture(scope="module")
def btc(real_store_path):  # type: ignore[no-untyped-def]
    from powderkeg.data.store import Store

    with Store(real_store_path, read_only=True) as store:
        return liquidity_beta(store, "BTC-USD", 12)


@pytest.mark.parametrize("maxlags", [0, 1, 5, 12])
def test_ols_hac_equals_statsmodels(maxlags: int) -> None:
    rng = np.random.default_rng(maxlags)
    n = 400
    x = np.cumsum(rng.normal(size=n)) * 0.01 + rng.normal(size=n)
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = 0.5 * e[t - 1] + rng.normal() * (1 + 0.5 * abs(x[t]))
    y = 0.3 + 1.5 * x + e
    X = sm.add_constant(x)
    ours = ols(y, X, hac_lags=maxlags)
    ref = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags})
    np.testing.assert_allclose(ours.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(ours.bse, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(ours.pvalues, ref.pvalues, rtol=1e-8, atol=1e-300)
    assert ours.rsquared == pytest.approx(ref.rsquared, rel=1e-10)


def test_real_lags_equal_statsmodels(btc) -> None:
    p, K, L = btc.panel, btc.max_lag, btc.hac_lags
    assert newey_west_lags(len(p) - K) == L
    y = p["r_asset"].to_numpy()[K:]
    for k in (0, 3, 12):
        x = p["d_nl"].to_numpy()[K - k : len(p) - k]
        ref = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HAC", cov_kwds={"maxlags": L})
        row = btc.nl_table.loc[k]
        assert row["beta"] == pytest.approx(ref.params[1], rel=1e-9)
        assert row["se"] == pytest.approx(ref.bse[1], rel=1e-9)
        assert row["pvalue"] == pytest.approx(ref.pvalues[1], rel=1e-8)
        assert row["nobs"] == len(y)


def test_real_corrections_equal_statsmodels(btc) -> None:
    t = btc.nl_table
    for method, col in (("holm", "p_holm"), ("fdr_bh", "p_bh")):
        reject, adj, _, _ = multipletests(t["pvalue"].to_numpy(), alpha=0.05, method=method)
        np.testing.assert_allclose(t[col].to_numpy(), adj, rtol=1e-12)
        key = "survives_holm" if method == "holm" else "survives_bh"
        np.testing.assert_array_equal(t[key].to_numpy(), reject)
    assert btc.surviving_lags == [int(k) for k in t.index[t["survives_holm"]]]
    assert "Holm" in btc.verdict()


@settings(max_examples=8, deadline=None)  # statsmodels' holm takes ~0.2 s per call
@example([0.01, 0.01, 0.04, 0.5, 1.0, 0.0])
@example([0.2])
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30))
def test_corrections_equal_multipletests(pvals: list[float]) -> None:
    p = np.array(pvals)
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], atol=1e-12)
    np.testing.assert_allclose(
        benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1], atol=1e-12
    )


def _synthetic_panel(true_lag: int, beta: float, n: int = 520, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    known = pd.date_range("2012-01-05", periods=n, freq="7D")
    d_nl = rng.normal(0, 0.01, n)
    r = np.full(n, np.nan)
    r[true_lag:] = beta * d_nl[: n - true_lag] + rng.normal(0, 0.02, n - true_lag)
    r[:true_lag] = rng.normal(0, 0.02, true_lag)
    nl = pd.DataFrame(
        {"known_on": known, "net_liquidity": 5000 * np.exp(np.cumsum(d_nl))},
        index=known - pd.Timedelta(days=1),
    )
    close = pd.Series(100 * np.exp(np.cumsum(r)), index=known)
    return weekly_panel(nl, close)


def test_recovers_planted_lag() -> None:
    panel = _synthetic_panel(true_lag=3, beta=2.0)
    table, _ = lag_regressions(panel, max_lag=8)
    t = table.set_index("lag")
    assert list(t.index[t["survives_holm"]]) == [3]
    assert t.loc[3, "beta"] == pytest.approx(2.0, abs=0.3)


def test_no_planted_effect_rarely_survives() -> None:
    hits = 0
    for seed in range(20):
        table, _ = lag_regressions(_synthetic_panel(0, 0.0, seed=seed), max_lag=12)
        hits += int(table["survives_holm"].any())
    assert hits <= 3  # family-wise 5%: expect about 1 in 20


def test_weekly_panel_alignment(btc, real_store) -> None:
    p = btc.panel
    close = real_store.frame(["BTC-USD"])["BTC-USD"]
    day = pd.Timestamp("2025-09-18")
    row = p.loc[day]
    assert row["wednesday"] == pd.Timestamp("2025-09-17")
    assert row["asset"] == pytest.approx(close.loc[day])
    prev = p.index[p.index.get_loc(day) - 1]
    assert row["r_asset"] == pytest.approx(np.log(close.loc[day] / close.loc[prev]))
    assert (p["asset_date"] <= p.index).all()


def test_extras_and_json(real_store) -> None:
    res = liquidity_beta(real_store, "BTC-USD", 4, extras=("m2", "stablecoin"))
    assert set(res.table["regressor"]) == {"net_liquidity", "m2", "stablecoin"}
    # stablecoin coverage below USD 10bn (before mid-2020) is not used
    assert res.panel["stablecoin"].min() >= 10e9
    assert res.panel.index[0] > pd.Timestamp("2020-01-01")
    for reg in res.regressors:
        sub = res.table.loc[res.table["regressor"] == reg]
        np.testing.assert_allclose(
            sub["p_holm"], multipletests(sub["pvalue"], method="holm")[1], atol=1e-12
        )
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["headline_correction"] == "holm"
    assert len(d["lags"]) == 15
    fig = res.plot()
    assert len(fig.data) == 3
    assert len(res.plot_lags().data) == 1


def test_bad_inputs(real_store) -> None:
    from powderkeg.exceptions import InputError

    with pytest.raises(InputError, match="max_lag_weeks"):
        liquidity_beta(real_store, "BTC-USD", -1)
    with pytest.raises(InputError, match="extras"):
        liquidity_beta(real_store, "BTC-USD", 2, extras=("gold",))


@pytest.fixture(scope="module")
def synthetic_store(tmp_path_factory):  # type: ignore[no-untyped-def]
    from powderkeg.data.store import Store
    from powderkeg.synthetic import market

    m = market(seed=11, years=6)
    store = Store(":memory:")
    store.ingest(m.series, source="synthetic", target="market(seed=11)")
    yield m, store
    store.close()


def test_recovers_synthetic_ground_truth(synthetic_store) -> None:
    # synthetic.market plants BTC's Wednesday-to-Wednesday log return = liquidity_beta x the
    # weekly change of Wednesday-aligned net liquidity in USD trillions (+ independent noise)
    m, store = synthetic_store
    truth = m.truth.liquidity_beta
    res = liquidity_beta(store, "BTC-USD", 4, measure="level", sample_on="wednesday")
    lag0 = res.nl_table.loc[0]
    assert abs(lag0["beta"] - truth) < 3 * lag0["se"]
    assert abs(lag0["beta"] - truth) < 0.25 * truth
    # weekly NL changes are autocorrelated in the synthetic market, so lag 1 may also load;
    # the planted contemporaneous effect must be the strongest
    assert res.best_lag == 0 and 0 in res.surviving_lags
    # the look-ahead-free default (publication-day weeks, log changes) still finds lag 0
    default = liquidity_beta(store, "BTC-USD", 4)
    assert 0 in default.surviving_lags
    assert default.nl_table.loc[0, "beta"] > 0
