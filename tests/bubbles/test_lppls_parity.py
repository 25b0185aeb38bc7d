"""Parity with the ``lppls`` package (dev dependency) on the same windows and tc search box."""

from __future__ import annotations

import random

import numpy as np
import pytest

from powderkeg.bubbles import _lppls_kernels as kern
from powderkeg.bubbles.lppls import LPPLS, SearchBounds, confidence_indicator

from .test_lppls import w3_path

lppls_pkg = pytest.importorskip("lppls.lppls")

OFFSET = 737000.0  # lppls' ordinal-like time axis (as in its README)


def _lppls_fit(t: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float, float]:
    random.seed(seed)
    np.random.seed(seed)
    model = lppls_pkg.LPPLS(observations=np.array([t + OFFSET, y]))
    tc, m, w, *_ = model.fit(25)
    return float(tc) - OFFSET if tc != 0 else np.nan, float(m), float(w)


def test_sse_no_worse_than_lppls_on_same_windows_and_box() -> None:
    # lppls' Nelder-Mead is unbounded and often leaves its start box (perf-anchors W3), so
    # many windows are needed to find enough whose lppls fit lies inside the shared box
    rng = np.random.default_rng(11)
    paths = [w3_path(500, s) for s in range(3)]
    compared, ours_better = 0, 0
    for k in range(30):
        size = int(rng.integers(35, 121))
        end = int(rng.integers(size - 1, 500))
        y_all = paths[k % 3]
        y = y_all[end - size + 1 : end + 1]
        t = np.arange(size, dtype=float)
        span = t[-1] - t[0]
        tc, m, w = _lppls_fit(t, y, k)
        # One box for both: lppls starts in tc = t2 +- 0.2 span, m in [0.1, 1], omega in
        # [6, 13] and then roams unbounded; we search tc in [t2 - 0.2 span, t2 + 0.5 span],
        # m in [0.001, 2], omega in [1, 60] and compare where lppls' answer is in that box.
        bounds = SearchBounds(tc=(-0.2, 0.5), m=(0.001, 2.0), omega=(1.0, 60.0))
        fit = LPPLS(np.exp(y), bounds=bounds).fit(seed=k, n_starts=6)
        assert fit.status != "failed"
        inside = (
            np.isfinite(tc)
            and t[-1] - 0.2 * span <= tc <= t[-1] + 0.5 * span
            and 0.001 <= m <= 2.0
            and 1.0 <= w <= 60.0
        )
        if not inside:
            continue  # lppls left the box: not comparable like with like
        theirs = kern.lppls_objective(t, y, tc, m, w, np.empty(4))
        compared += 1
        ours_better += fit.sse < theirs * (1 - 1e-6)
        assert fit.sse <= theirs * (1 + 1e-6), (end, size, fit.sse, theirs)
    assert compared >= 5


def test_qualified_rate_on_clean_synthetic_is_reported() -> None:
    y = w3_path(300, 4, noise=0.0)
    ci = confidence_indicator(
        np.exp(y), window=120, smallest=30, step=15, days=40, outer_step=20, seed=1, n_starts=3
    )
    # every fit on clean LPPLS data is valid and lands inside the search box
    assert ci.fits["failed"].sum() == 0
    assert ci.absurd_tc_rate == 0.0
    assert 0.0 <= ci.qualified_rate <= 1.0
    assert ci.to_dict()["qualified_rate"] == pytest.approx(ci.qualified_rate)
