"""Tail dependence: simulated copulas with known coefficients, hand counts, bootstrap, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.distributions.copula.api import StudentTCopula

from powderkeg.exceptions import InsufficientDataError
from powderkeg.linkage.tail import (
    empirical_lambda,
    lambda_curve,
    plateau_lambda,
    t_copula_lower_tail,
    tail_dependence,
)

RHO, DOF = 0.5, 3


def _draw(n: int, seed: int, dof: float | None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal([0, 0], [[1, RHO], [RHO, 1]], size=n)
    if dof is None:
        return z
    return z / np.sqrt(rng.chisquare(dof, size=n) / dof)[:, None]


@pytest.fixture(scope="module")
def t_sample() -> np.ndarray:
    return _draw(20_000, 1, DOF)


@pytest.fixture(scope="module")
def g_sample() -> np.ndarray:
    return _draw(20_000, 2, None)


def test_closed_form_matches_statsmodels() -> None:
    for rho, dof in ((0.5, 3), (0.2, 8), (0.8, 4)):
        ref = StudentTCopula(rho, df=dof).dependence_tail()[0]
        assert t_copula_lower_tail(rho, dof) == pytest.approx(float(ref), rel=1e-12)


class TestStudentTCopula:
    def test_lambda_q_matches_exact_copula_diagonal(self, t_sample: np.ndarray) -> None:
        for q in (0.05, 0.01):
            tq = stats.t.ppf(q, DOF)
            exact = stats.multivariate_t([0, 0], [[1, RHO], [RHO, 1]], df=DOF).cdf([tq, tq]) / q
            est = empirical_lambda(t_sample[:, 0], t_sample[:, 1], q)
            assert est == pytest.approx(exact, abs=0.06)

    def test_plateau_recovers_limit(self, t_sample: np.ndarray) -> None:
        est, k = plateau_lambda(t_sample[:, 0], t_sample[:, 1])
        assert 0 < k < len(t_sample)  # a plateau was found inside the sample
        assert est == pytest.approx(t_copula_lower_tail(RHO, DOF), abs=0.06)


class TestGaussianCopula:
    def test_lambda_q_matches_exact_and_shrinks(self, g_sample: np.ndarray) -> None:
        cov = [[1, RHO], [RHO, 1]]
        prev = 1.0
        for q in (0.1, 0.05, 0.01):
            gq = stats.norm.ppf(q)
            exact = stats.multivariate_normal([0, 0], cov).cdf([gq, gq]) / q
            assert empirical_lambda(g_sample[:, 0], g_sample[:, 1], q) == pytest.approx(
                exact, abs=0.05
            )
            assert exact < prev
            prev = exact

    def test_near_zero_deep_in_tail_unlike_t(self) -> None:
        g = _draw(200_000, 5, None)
        t = _draw(200_000, 5, DOF)
        q = 0.0005
        lam_g = empirical_lambda(g[:, 0], g[:, 1], q)
        lam_t = empirical_lambda(t[:, 0], t[:, 1], q)
        assert lam_g < 0.12
        assert lam_t > 0.25


def test_curve_equals_brute_force_counts() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(300), rng.standard_normal(300)
    curve = lambda_curve(a, b)
    ra, rb = stats.rankdata(a), stats.rankdata(b)
    for k in (1, 7, 15, 150, 300):
        assert curve[k - 1] == pytest.approx(np.sum((ra <= k) & (rb <= k)) / k)
        assert empirical_lambda(a, b, k / 300) == pytest.approx(curve[k - 1])


def test_co_crash_by_hand() -> None:
    # A's ten worst days are rows 0-9, B's are rows 5-14: five shared crash days
    a = pd.Series(np.arange(100.0), name="A")
    b = pd.Series((np.arange(100.0) - 5) % 100, name="B")
    res = tail_dependence(a, b, q=0.1)
    assert res.co_crash["joint_count"] == 5
    assert res.co_crash["a_given_b"] == pytest.approx(0.5)
    assert res.co_crash["b_given_a"] == pytest.approx(0.5)
    assert res.co_crash["joint_probability"] == pytest.approx(0.05)
    assert res.value == pytest.approx(0.5)


def test_bootstrap_seeded_and_rolling(t_sample: np.ndarray) -> None:
    idx = pd.bdate_range("2000-01-03", periods=3000)
    a = pd.Series(t_sample[:3000, 0], idx, name="A")
    b = pd.Series(t_sample[:3000, 1], idx, name="B")
    r1 = tail_dependence(a, b, q=0.05, bootstrap=60, seed=4, window=500, step=50)
    r2 = tail_dependence(a, b, q=0.05, bootstrap=60, seed=4, window=500, step=50)
    assert r1.bootstrap == r2.bootstrap
    assert r1.bootstrap["lambda_q"]["low"] <= r1.value <= r1.bootstrap["lambda_q"]["high"]
    last = r1.series.index[-1]
    pos = idx.get_loc(last)
    win = slice(pos - 499, pos + 1)
    direct = empirical_lambda(a.iloc[win].to_numpy(), b.iloc[win].to_numpy(), 0.05)
    assert r1.series.iloc[-1] == pytest.approx(direct)
    d = r1.to_dict()
    for key in ("value", "co_crash", "nobs", "series", "provenance"):
        assert key in d
    json.dumps(d, allow_nan=False)
    fig = r1.plot()
    assert list(fig.data[0].x) == pytest.approx(list(r1.curve["q"]))


def test_too_few_tail_points() -> None:
    x = pd.Series(np.arange(50.0), name="A")
    with pytest.raises(InsufficientDataError):
        tail_dependence(x, x.rename("B"), q=0.05)


def test_cli_tail_real(real_store_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.cli.main import run
    from powderkeg.data.store import Store

    code = run(
        [
            "--db",
            str(real_store_path),
            "link",
            "tail",
            "BTC-USD",
            "NVDA",
            "--start",
            "2020-01-01",
            "--asof",
            "2025-12-31",
            "--bootstrap",
            "20",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    with Store(real_store_path, read_only=True) as store:
        px = store.frame(["BTC-USD", "NVDA"], start="2020-01-01", end="2025-12-31")
    lr = np.log(px / px.shift(1)).iloc[1:]
    btc, nvda = lr["BTC-USD"].to_numpy(), lr["NVDA"].to_numpy()
    low_b = nvda <= np.quantile(nvda, 0.05)
    low_a = btc <= np.quantile(btc, 0.05)
    assert out["co_crash"]["a_given_b"] == pytest.approx((low_a & low_b).sum() / low_b.sum())
    assert out["nobs"] == len(lr)
    assert out["calendar"].startswith("intersection")
    assert out["provenance"]["seed"] == 0
