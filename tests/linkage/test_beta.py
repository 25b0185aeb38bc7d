"""Asymmetric beta: split-sample HAC fits, equality test, captures, bootstrap, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from powderkeg.exceptions import InsufficientDataError
from powderkeg.linkage.beta import asymmetric_beta


@pytest.fixture(scope="module")
def asym() -> tuple[pd.Series, pd.Series]:
    """Known truth: beta_down = 1.5, beta_up = 0.5."""
    rng = np.random.default_rng(7)
    n = 1500
    idx = pd.bdate_range("2015-01-01", periods=n)
    m = 0.01 * rng.standard_t(5, n)
    a = 0.5 * m + 1.0 * m * (m < 0) + 0.01 * rng.standard_normal(n)
    return pd.Series(a, idx, name="A"), pd.Series(m, idx, name="M")


class TestAgainstStatsmodels:
    def test_split_fits_equal_hac_ols(self, asym: tuple[pd.Series, pd.Series]) -> None:
        a, m = asym
        res = asymmetric_beta(a, m, hac_lags=5)
        for half, mask in (("down", m < 0), ("up", m >= 0)):
            ref = sm.OLS(a[mask].to_numpy(), sm.add_constant(m[mask].to_numpy())).fit(
                cov_type="HAC", cov_kwds={"maxlags": 5}
            )
            assert res.table.loc[half, "beta"] == pytest.approx(ref.params[1], rel=1e-10)
            assert res.table.loc[half, "alpha"] == pytest.approx(ref.params[0], rel=1e-8)
            assert res.table.loc[half, "se"] == pytest.approx(ref.bse[1], rel=1e-10)
            lo, hi = ref.conf_int(0.05)[1]
            assert res.table.loc[half, "ci_low"] == pytest.approx(lo, rel=1e-8)
            assert res.table.loc[half, "ci_high"] == pytest.approx(hi, rel=1e-8)

    def test_equality_test_is_pooled_interaction_hac_z(
        self, asym: tuple[pd.Series, pd.Series]
    ) -> None:
        a, m = asym
        res = asymmetric_beta(a, m, hac_lags=4)
        d = (m < 0).astype(float).to_numpy()
        x = np.column_stack([np.ones(len(m)), m, d, d * m])
        ref = sm.OLS(a.to_numpy(), x).fit(cov_type="HAC", cov_kwds={"maxlags": 4})
        assert res.stat == pytest.approx(ref.tvalues[3], rel=1e-10)
        assert res.pvalue == pytest.approx(ref.pvalues[3], rel=1e-8)
        assert ref.params[3] == pytest.approx(res.beta_down - res.beta_up, rel=1e-10)


def test_recovers_known_asymmetry(asym: tuple[pd.Series, pd.Series]) -> None:
    a, m = asym
    res = asymmetric_beta(a, m)
    assert res.beta_down == pytest.approx(1.5, abs=0.1)
    assert res.beta_up == pytest.approx(0.5, abs=0.1)
    assert res.pvalue < 1e-6
    assert res.beta_ratio == pytest.approx(res.beta_down / res.beta_up)


def test_captures_by_hand(asym: tuple[pd.Series, pd.Series]) -> None:
    a, m = asym
    res = asymmetric_beta(a, m, threshold=0.0)
    down, up = m < 0, m >= 0
    dc = a[down].mean() / m[down].mean()
    uc = a[up].mean() / m[up].mean()
    assert res.table.loc["down", "capture"] == pytest.approx(dc, rel=1e-12)
    assert res.table.loc["up", "capture"] == pytest.approx(uc, rel=1e-12)
    assert res.capture_ratio == pytest.approx(dc / uc, rel=1e-12)
    assert res.table.loc["down", "corr"] == pytest.approx(np.corrcoef(a[down], m[down])[0, 1])


def test_symmetric_null_not_rejected() -> None:
    rng = np.random.default_rng(3)
    m = rng.standard_normal(2000)
    a = 0.8 * m + rng.standard_normal(2000)
    res = asymmetric_beta(pd.Series(a, name="A"), pd.Series(m, name="M"))
    assert res.pvalue > 0.01
    assert abs(res.beta_ratio - 1) < 0.25


def test_bootstrap_seeded_and_covers_truth(asym: tuple[pd.Series, pd.Series]) -> None:
    a, m = asym
    r1 = asymmetric_beta(a, m, bootstrap=300, seed=11)
    r2 = asymmetric_beta(a, m, bootstrap=300, seed=11)
    assert r1.bootstrap == r2.bootstrap
    assert r1.bootstrap["beta_down"]["low"] < 1.5 < r1.bootstrap["beta_down"]["high"]
    assert r1.bootstrap["beta_up"]["low"] < 0.5 < r1.bootstrap["beta_up"]["high"]
    assert r1.bootstrap["beta_diff"]["low"] > 0


def test_too_few_down_periods() -> None:
    m = pd.Series(np.abs(np.random.default_rng(0).standard_normal(100)) + 0.01, name="M")
    with pytest.raises(InsufficientDataError):
        asymmetric_beta(m.rename("A") * 2, m)


def test_result_protocol(asym: tuple[pd.Series, pd.Series]) -> None:
    res = asymmetric_beta(*asym, bootstrap=50, seed=1)
    d = res.to_dict()
    for key in ("stat", "pvalue", "critical_values", "nobs", "null_hypothesis", "provenance"):
        assert key in d
    assert set(d["critical_values"]) == {"90%", "95%", "99%"}
    json.dumps(d, allow_nan=False)
    assert "Asymmetric beta" in str(res)
    assert list(res.to_frame().index) == ["down", "up", "all"]


def test_cli_beta_on_basket(real_store_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.cli.main import run
    from powderkeg.data.store import Store

    code = run(
        [
            "--db",
            str(real_store_path),
            "link",
            "beta",
            "BTC-USD",
            "ai",
            "--start",
            "2023-01-01",
            "--asof",
            "2025-12-31",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    members = ["NVDA", "AMD", "AVGO", "ORCL", "MU", "MSFT", "GOOGL", "AMZN", "META"]
    with Store(real_store_path, read_only=True) as store:
        px = store.frame(["BTC-USD", *members], start="2023-01-01", end="2025-12-31")
    lr = np.log(px / px.shift(1)).iloc[1:]
    basket = np.log1p(np.expm1(lr[members]).mean(axis=1))
    btc = lr["BTC-USD"]
    down = basket < 0
    beta_down = np.polyfit(basket[down], btc[down], 1)[0]
    assert out["nobs"] == len(lr)
    assert out["beta_down"] == pytest.approx(beta_down, rel=1e-9)
    assert out["calendar"].startswith("intersection")
    assert out["start"] == f"{lr.index[0]:%Y-%m-%d}"


def test_cli_help_has_example(capsys) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.cli.main import run

    assert run(["link", "beta", "--help"]) == 0
    assert "powderkeg link beta" in capsys.readouterr().out
