"""LPPLS confidence indicator: powderkeg vs the ``lppls`` package in the same run (W3).

Workload (perf-anchors W3): the W3 synthetic path over 500 days (m=0.5, omega=9, tc 20 days
after the end, N(0, 0.01^2) noise); nested windows of 120 down to 35 (smallest 30, steps of 5)
at every 5th end date: 77 positions x 18 windows = 1386 fits. lppls runs
``mp_compute_nested_fits(workers=2, window_size=120, smallest_window_size=30,
outer_increment=5, inner_increment=5, max_searches=25)``; powderkeg runs
``confidence_indicator(..., window=120, smallest=30, step=5, outer_step=5, workers=2)``.

Also printed: the share of "absurd" tc (before the window start or more than one window span
after its end, or lppls' all-zero failure) among each tool's fits, and our qualified rate.

Run: ``python benchmarks/bench_lppls.py [--repeats 3] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import random
import time

import numpy as np


def w3_path(T: int = 500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(T, dtype=float)
    tc = T - 1 + 20
    f = (tc - t) ** 0.5
    b = -np.log(2) / (f[0] - f[-1])
    c = 0.05 * abs(b)
    return 1 + b * f + c * f * np.cos(9 * np.log(tc - t) - 1) + rng.normal(0, 0.01, T)


def run_ours(y: np.ndarray, workers: int, seed: int) -> tuple[float, float, float, int]:
    from powderkeg.bubbles.lppls import confidence_indicator

    t0 = time.perf_counter()
    ci = confidence_indicator(
        np.exp(y), window=120, smallest=30, step=5, outer_step=5, seed=seed, workers=workers
    )
    el = time.perf_counter() - t0
    return el, ci.absurd_tc_rate, ci.qualified_rate, len(ci.fits)


def run_lppls(y: np.ndarray, workers: int, seed: int) -> tuple[float, float, int]:
    from lppls import lppls

    random.seed(seed)
    np.random.seed(seed)
    t = np.arange(len(y), dtype=float) + 737000.0
    model = lppls.LPPLS(observations=np.array([t, y]))
    t0 = time.perf_counter()
    res = model.mp_compute_nested_fits(
        workers=workers,
        window_size=120,
        smallest_window_size=30,
        outer_increment=5,
        inner_increment=5,
        max_searches=25,
    )
    el = time.perf_counter() - t0
    fits = [f for r in res for f in r["res"]]
    absurd = 0
    for f in fits:
        t1, t2, tc = f["t1"], f["t2"], f["tc"]
        if tc == 0 or not np.isfinite(tc) or tc < t1 or tc > t2 + (t2 - t1):
            absurd += 1
    return el, absurd / len(fits), len(fits)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    y = w3_path()
    # warm-up of both tools outside the timings: numba compilation (ours is cached on disk and
    # loaded by the spawned workers; lppls' kernel is compiled here and inherited by its
    # forked pool workers)
    run_ours(y[:200], 1, 0)
    from lppls import lppls

    lppls.LPPLS(observations=np.array([np.arange(60.0) + 737000.0, y[:60]])).fit(2)
    ours, theirs = [], []
    for r in range(args.repeats):
        el, absurd_o, qual, n_o = run_ours(y, args.workers, r)
        ours.append(el)
        el2, absurd_l, n_l = run_lppls(y, args.workers, r)
        theirs.append(el2)
        print(
            f"repeat {r}: powderkeg {el:.2f} s ({n_o} fits), lppls {el2:.2f} s ({n_l} fits), "
            f"ratio {el2 / el:.1f}x"
        )
    mo, ml = float(np.median(ours)), float(np.median(theirs))
    print(
        f"powderkeg confidence indicator, {args.workers} workers: median {mo:.2f} s "
        f"(min {min(ours):.2f}, max {max(ours):.2f})"
    )
    print(
        f"lppls mp_compute_nested_fits, {args.workers} workers: median {ml:.2f} s "
        f"(min {min(theirs):.2f}, max {max(theirs):.2f})"
    )
    print(f"ratio (lppls / powderkeg, medians): {ml / mo:.1f}x")
    print(f"absurd tc share: powderkeg {absurd_o:.1%}, lppls {absurd_l:.1%} (last repeat)")
    print(f"powderkeg qualified-fit rate (default filters, clean synthetic): {qual:.1%}")


if __name__ == "__main__":
    main()
