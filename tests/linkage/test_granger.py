"""Granger: equality with statsmodels (SSR F, HAC Wald, controls), lag selection, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.tsa.stattools import grangercausalitytests

from powderkeg.exceptions import InputError
from powderkeg.linkage.granger import (
    granger,
    granger_direction,
    granger_lag,
    granger_lags_fast,
    lag_block,
)


@pytest.fixture(scope="module")
def var_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x → y at lag 1 (0.15); z a control that also drives y at lag 1."""
    rng = np.random.default_rng(0)
    n = 1200
    x, z, e = rng.standard_normal((3, n))
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = 0.2 * y[t - 1] + 0.15 * x[t - 1] + 0.1 * z[t - 1] + e[t]
    return y, x, z


@pytest.mark.parametrize("solver", ["cholesky", "qr"])
def test_ssr_f_equals_statsmodels(var_data, solver: str) -> None:  # type: ignore[no-untyped-def]
    y, x, _ = var_data
    ref = grangercausalitytests(np.column_stack([y, x]), 8)
    for cause, effect, ref_res in (
        (x, y, ref),
        (y, x, grangercausalitytests(np.column_stack([x, y]), 8)),
    ):
        d = granger_direction(effect, cause, range(1, 9), solver=solver)
        for p in range(1, 9):
            f, pv, dfd, dfn = ref_res[p][0]["ssr_ftest"]
            assert d.table.loc[p, "stat"] == pytest.approx(f, rel=1e-8)
            assert d.table.loc[p, "pvalue"] == pytest.approx(pv, rel=1e-8)
            assert d.table.loc[p, "df_denom"] == dfd
            assert d.table.loc[p, "df_num"] == dfn


def test_hac_wald_equals_statsmodels(var_data) -> None:  # type: ignore[no-untyped-def]
    y, x, _ = var_data
    for p, lags in ((1, 3), (4, 7)):
        ours = granger_lag(y, x, p, hac_lags=lags)
        design = np.hstack(
            [np.ones((len(y) - p, 1)), lag_block(y[:, None], p, p), lag_block(x[:, None], p, p)]
        )
        fit = sm.OLS(y[p:], design).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        r = np.zeros((p, 1 + 2 * p))
        r[:, 1 + p :] = np.eye(p)
        wald = fit.wald_test(r, use_f=False, scalar=True)
        assert ours["stat"] == pytest.approx(float(wald.statistic), rel=1e-8)
        assert ours["pvalue"] == pytest.approx(float(wald.pvalue), rel=1e-8)


def test_controls_equal_statsmodels_f_test(var_data) -> None:  # type: ignore[no-untyped-def]
    y, x, z = var_data
    p = 3
    own = np.column_stack([y, z])
    restricted = np.hstack([np.ones((len(y) - p, 1)), lag_block(own, p, p)])
    full = np.hstack([restricted, lag_block(x[:, None], p, p)])
    fr = sm.OLS(y[p:], restricted).fit()
    fu = sm.OLS(y[p:], full).fit()
    f, pv, _ = fu.compare_f_test(fr)
    fast = granger_lags_fast(y, x, [p], z[:, None])
    assert fast["stat"][0] == pytest.approx(f, rel=1e-8)
    assert fast["pvalue"][0] == pytest.approx(pv, rel=1e-8)
    assert granger_lag(y, x, p, z[:, None])["stat"] == pytest.approx(f, rel=1e-8)


def test_information_criteria_match_statsmodels(var_data) -> None:  # type: ignore[no-untyped-def]
    y, x, _ = var_data
    max_lag = 6
    fast = granger_lags_fast(y, x, range(1, max_lag + 1))
    both = np.column_stack([y, x])
    aic, bic = [], []
    for p in range(1, max_lag + 1):
        design = np.hstack([np.ones((len(y) - max_lag, 1)), lag_block(both, p, max_lag)])
        fit = sm.OLS(y[max_lag:], design).fit()
        aic.append(fit.aic)
        bic.append(fit.bic)
    # statsmodels adds the same constant n(1 + log 2 pi) to every model
    np.testing.assert_allclose(np.diff(fast["aic"]), np.diff(aic), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(np.diff(fast["bic"]), np.diff(bic), rtol=1e-8, atol=1e-8)
    assert int(np.argmin(fast["bic"])) == int(np.argmin(bic))


def test_both_directions_and_selection(var_data) -> None:  # type: ignore[no-untyped-def]
    y, x, _ = var_data
    idx = pd.bdate_range("2015-01-01", periods=len(y))
    res = granger(
        pd.Series(x, idx, name="X"), pd.Series(y, idx, name="Y"), max_lag=6, selection="bic"
    )
    assert res.forward.cause == "X" and res.forward.effect == "Y"
    assert res.forward.lag == res.forward.lag_bic == 1
    assert res.pvalue < 1e-4
    assert res.backward.pvalue > 0.01
    d = res.to_dict()
    for key in ("stat", "pvalue", "df", "critical_values", "nobs", "null_hypothesis"):
        assert key in d
    assert set(d["critical_values"]) == {"90%", "95%", "99%"}
    assert d["b_to_a"]["cause"] == "Y"
    json.dumps(d, allow_nan=False)
    only = granger(pd.Series(x, idx, name="X"), pd.Series(y, idx, name="Y"), lags=[2, 5])
    assert list(only.forward.table.index) == [2, 5]
    assert only.forward.table.loc[5, "stat"] == pytest.approx(res.forward.table.loc[5, "stat"])


def test_constant_series_rejected() -> None:
    y = np.random.default_rng(1).standard_normal(200)
    with pytest.raises(InputError):
        granger_lags_fast(y, np.ones(200), [2])


def test_cli_granger_real(real_store_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.cli.main import run
    from powderkeg.data.store import Store

    code = run(
        [
            "--db",
            str(real_store_path),
            "link",
            "granger",
            "BTC-USD",
            "NVDA",
            "--max-lag",
            "4",
            "--select",
            "max",
            "--start",
            "2022-01-01",
            "--asof",
            "2025-12-31",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    with Store(real_store_path, read_only=True) as store:
        px = store.frame(["BTC-USD", "NVDA"], start="2022-01-01", end="2025-12-31")
    lr = np.log(px / px.shift(1)).iloc[1:]
    ref = grangercausalitytests(lr[["NVDA", "BTC-USD"]].to_numpy(), 4)
    assert out["lag"] == 4
    assert out["stat"] == pytest.approx(ref[4][0]["ssr_ftest"][0], rel=1e-8)
    assert out["pvalue"] == pytest.approx(ref[4][0]["ssr_ftest"][1], rel=1e-8)
    assert out["null_hypothesis"] == "BTC-USD does not Granger-cause NVDA"

    code = run(
        [
            "--db",
            str(real_store_path),
            "link",
            "granger",
            "BTC-USD",
            "NVDA",
            "--control",
            "NETLIQ",
            "--control",
            "DGS10",
            "--lag",
            "2",
            "--hac",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["controls"] == ["NETLIQ", "DGS10"]
    assert out["a_to_b"]["test"] == "HAC Wald chi2"
    assert out["provenance"]["parameters"]["control_dating"] == "publication"
