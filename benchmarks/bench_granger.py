"""Granger causality, 10 lags on T = 2500: powderkeg vs statsmodels ``grangercausalitytests``.

Workload W5 of perf-anchors.md: y_t = 0.2 y_{t-1} + 0.15 x_{t-1} + e_t, x white noise,
seed 0. Both sides test "x Granger-causes y" at every lag 1..10; powderkeg's timing includes
the AIC/BIC lag selection and the result table. The script checks that the SSR F statistics
and p-values agree (relative 1e-8) before printing the timings and the speed ratio.

BLAS threads are pinned to one (unless already set) so that both sides are timed alike and a
shared machine's oversubscription does not distort the comparison.

Run: ``.venv/bin/python benchmarks/bench_granger.py [--repeats 30]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from statsmodels.tsa.stattools import grangercausalitytests  # noqa: E402

from powderkeg.linkage.granger import granger_direction, granger_lags_fast  # noqa: E402


def simulate(nobs: int = 2500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The W5 data: x → y at lag 1 with coefficient 0.15."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(nobs)
    e = rng.standard_normal(nobs)
    y = np.zeros(nobs)
    for t in range(1, nobs):
        y[t] = 0.2 * y[t - 1] + 0.15 * x[t - 1] + e[t]
    return y, x


def timed(func: Callable[[], Any], repeats: int) -> tuple[float, float, float]:
    """(min, median, max) wall time in milliseconds over ``repeats`` calls after one warm-up."""
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    arr = np.asarray(times) * 1e3
    return float(arr.min()), float(np.median(arr)), float(arr.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--nobs", type=int, default=2500)
    parser.add_argument("--max-lag", type=int, default=10)
    args = parser.parse_args()
    y, x = simulate(args.nobs)
    lags = range(1, args.max_lag + 1)
    data = np.column_stack([y, x])

    ref = grangercausalitytests(data, args.max_lag)
    ours = granger_direction(y, x, lags)
    ref_f = np.array([ref[p][0]["ssr_ftest"][0] for p in lags])
    ref_p = np.array([ref[p][0]["ssr_ftest"][1] for p in lags])
    np.testing.assert_allclose(ours.table["stat"].to_numpy(), ref_f, rtol=1e-8)
    np.testing.assert_allclose(ours.table["pvalue"].to_numpy(), ref_p, rtol=1e-8)
    max_rel = float(np.max(np.abs(ours.table["stat"].to_numpy() / ref_f - 1)))

    t_ref = timed(lambda: grangercausalitytests(data, args.max_lag), args.repeats)
    t_dir = timed(lambda: granger_direction(y, x, lags), args.repeats)
    t_core = timed(lambda: granger_lags_fast(y, x, lags), args.repeats)

    print(f"Granger x -> y, lags 1..{args.max_lag}, T = {args.nobs}, {args.repeats} repeats")
    print(f"statistics agree: max relative difference of F = {max_rel:.2e}")
    print(f"p(x->y) lag 1 = {ref_p[0]:.3g}, lag {args.max_lag} = {ref_p[-1]:.3g}")
    print(f"{'implementation':<44} {'min ms':>8} {'median':>8} {'max':>8} {'ratio':>7}")
    rows = [
        ("statsmodels grangercausalitytests", t_ref),
        ("powderkeg granger_direction (+AIC/BIC, table)", t_dir),
        ("powderkeg granger_lags_fast (arrays)", t_core),
    ]
    for name, (lo, med, hi) in rows:
        print(f"{name:<44} {lo:>8.2f} {med:>8.2f} {hi:>8.2f} {t_ref[1] / med:>6.1f}x")


if __name__ == "__main__":
    main()
