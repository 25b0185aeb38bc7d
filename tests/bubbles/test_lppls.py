"""LPPLS: kernels (jitted == Python), recovery of tc, failures, filters, confidence indicator."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from powderkeg.bubbles import _lppls_kernels as kern
from powderkeg.bubbles.lppls import (
    LPPLS,
    LPPLSFilter,
    SearchBounds,
    confidence_indicator,
    latin_hypercube,
    nested_sizes,
)
from powderkeg.exceptions import ConvergenceError, InputError


def w3_path(T: int, seed: int, noise: float = 0.01, ahead: int = 20) -> np.ndarray:
    """The perf-anchors W3 path: m=0.5, omega=9, phi=1, tc=T-1+ahead, log p rises ln 2."""
    rng = np.random.default_rng(seed)
    t = np.arange(T, dtype=float)
    tc = T - 1 + ahead
    f = (tc - t) ** 0.5
    b = -np.log(2) / (f[0] - f[-1])
    c = 0.05 * abs(b)
    return 1 + b * f + c * f * np.cos(9 * np.log(tc - t) - 1) + rng.normal(0, noise, T)


def test_objective_python_equals_jit_and_lstsq() -> None:
    y = w3_path(150, 0)
    t = np.arange(150.0)
    c1, c2 = np.empty(4), np.empty(4)
    for tc, m, om in [(170.0, 0.5, 9.0), (140.0, 0.3, 4.0), (300.0, 0.9, 20.0)]:
        s1 = kern.lppls_objective_python(t, y, tc, m, om, c1)
        s2 = kern.lppls_objective(t, y, tc, m, om, c2)
        assert s1 == pytest.approx(s2, rel=1e-12)
        np.testing.assert_allclose(c1, c2, rtol=1e-10)
        d = np.maximum(np.abs(tc - t), 1e-8)
        X = np.column_stack(
            [np.ones_like(t), d**m, d**m * np.cos(om * np.log(d)), d**m * np.sin(om * np.log(d))]
        )
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        np.testing.assert_allclose(c1, beta, rtol=1e-6, atol=1e-9)
        assert s1 == pytest.approx(float(np.sum((y - X @ beta) ** 2)), rel=1e-8)


def test_fit_window_python_equals_jit() -> None:
    y = w3_path(40, 1)
    t = np.arange(40.0)
    lo, hi = np.array([t[-1] - 8, 0.001, 1.0]), np.array([t[-1] + 20, 1.0, 30.0])
    design = latin_hypercube(12, 3)
    a, b = np.empty(kern.N_OUT), np.empty(kern.N_OUT)
    kern.fit_window_python(t, y, lo, hi, design, 2, 80, 1e-4, 1e-10, a)
    kern.fit_window(t, y, lo, hi, design, 2, 80, 1e-4, 1e-10, b)
    np.testing.assert_allclose(a, b, rtol=1e-9)
    assert a[8] > 12  # evaluations beyond the design: Nelder-Mead ran


def test_singular_objective_is_inf_not_zero() -> None:
    t = np.arange(50.0)
    y = np.ones(50)
    coef = np.empty(4)
    # m tiny: f is constant, collinear with the intercept
    assert kern.lppls_objective(t, y, 60.0, 1e-12, 5.0, coef) == np.inf
    assert np.isnan(coef).all()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_recovers_tc_on_simulated_paths(seed: int) -> None:
    y = w3_path(250, seed)
    fit = LPPLS(np.exp(y)).fit(seed=seed)
    assert fit.status != "failed"
    assert abs(fit.tc_ahead - 20.0) < 5.0
    assert fit.params["m"] == pytest.approx(0.5, abs=0.15)
    assert fit.params["omega"] == pytest.approx(9.0, abs=1.0)
    assert fit.params["B"] < 0 and fit.regime == "bubble"


def test_same_seed_same_fit_and_result_protocol() -> None:
    idx = pd.bdate_range("2024-01-01", periods=200)
    p = pd.Series(np.exp(w3_path(200, 5)), index=idx, name="SYN")
    a = LPPLS(p).fit(seed=7)
    b = LPPLS(p).fit(seed=7)
    assert a.params == b.params and a.sse == b.sse
    d = a.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["status"] in ("qualified", "unqualified")
    assert d["provenance"]["seed"] == 7
    assert isinstance(a.tc_date, pd.Timestamp) and a.tc_date > idx[-1]
    assert "LPPLS fit" in str(a)
    assert len(a.plot().data) == 2
    assert a.to_frame()["fitted"].notna().all()


def test_failed_fit_is_explicit() -> None:
    p = np.ones(40)  # constant prices: every design point gives a singular system or inf
    fit = LPPLS(p, bounds=SearchBounds(m=(1e-13, 2e-13))).fit(seed=1)
    assert fit.status == "failed"
    assert np.isnan(fit.params["tc"]) and np.isnan(fit.params["B"])
    assert fit.reasons and fit.reasons[0].startswith("failed")
    assert fit.to_dict()["params"]["B"] is None
    with pytest.raises(ConvergenceError):
        LPPLS(p, bounds=SearchBounds(m=(1e-13, 2e-13))).fit(seed=1, raise_on_failure=True)


def test_filters_are_honoured() -> None:
    y = w3_path(250, 0)
    good = LPPLS(np.exp(y), filters={"min_oscillations": 0.0}).fit(seed=1)
    assert good.qualified, good.reasons
    strict = LPPLS(np.exp(y), filters={"min_oscillations": 0.0, "omega": (2.0, 8.0)}).fit(seed=1)
    assert not strict.qualified
    assert any("omega" in r for r in strict.reasons)
    assert strict.params == good.params  # the filter changes the verdict, not the fit
    with pytest.raises(InputError, match="supported"):
        LPPLSFilter.from_dict({"omega_max": 3})
    with pytest.raises(InputError):
        LPPLS(np.exp(y), filters={"m": (0.9, 0.1)})


def test_nested_sizes_lppls_convention() -> None:
    sizes = nested_sizes(120, 30, 5)
    assert len(sizes) == 18 and sizes[0] == 120 and sizes[-1] == 35
    with pytest.raises(InputError):
        nested_sizes(30, 30, 5)


def test_confidence_indicator_counts_and_backends_agree() -> None:
    idx = pd.bdate_range("2023-01-02", periods=260)
    p = pd.Series(np.exp(w3_path(260, 2)), index=idx, name="SYN")
    filt = {"min_oscillations": 1.0, "tc_after": 0.5}
    ci = confidence_indicator(
        p, window=80, smallest=40, step=10, days=20, outer_step=5, seed=3, n_starts=2, filters=filt
    )
    ind = ci.indicator
    assert len(ind) == 4 and ind["n_fits"].eq(4).all()
    assert len(ci.fits) == 16
    # confidence = qualified with B<0 / valid fits; failed never counted
    for date, row in ind.iterrows():
        grp = ci.fits[ci.fits["end"] == date]
        valid = grp[~grp["failed"]]
        assert row["bubble"] == pytest.approx(
            ((valid["B"] < 0) & valid["qualified"]).sum() / len(valid)
        )
        assert row["n_failed"] == grp["failed"].sum()
    assert ind["bubble"].iloc[-1] > 0  # the last end dates sit right before tc
    ci2 = confidence_indicator(
        p,
        window=80,
        smallest=40,
        step=10,
        days=20,
        outer_step=5,
        seed=3,
        n_starts=2,
        filters=filt,
        workers=2,
    )
    np.testing.assert_array_equal(
        ci.fits[["tc", "m", "omega", "sse"]].to_numpy(),
        ci2.fits[["tc", "m", "omega", "sse"]].to_numpy(),
    )
    d = ci.to_dict()
    json.dumps(d, allow_nan=False)
    assert 0 <= d["qualified_rate"] <= 1 and d["absurd_tc_rate"] == 0.0
    assert "Why fits were not qualified" in str(ci)


def test_failed_fits_excluded_from_confidence() -> None:
    p = pd.Series(np.ones(60), index=pd.bdate_range("2024-01-01", periods=60))
    ci = confidence_indicator(
        p,
        window=30,
        smallest=20,
        step=5,
        days=2,
        seed=1,
        n_starts=1,
        n_screen=4,
        bounds=SearchBounds(m=(1e-13, 2e-13)),
    )
    assert ci.fits["failed"].all()
    assert ci.indicator["bubble"].isna().all() and ci.indicator["n_valid"].eq(0).all()
    assert not ci.fits["qualified"].any()


def test_bad_input() -> None:
    with pytest.raises(InputError):
        LPPLS([1.0, -2.0] * 10)
    with pytest.raises(InputError):
        LPPLS(np.ones(5))
