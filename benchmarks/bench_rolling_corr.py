"""All-pairs rolling 30-day Pearson correlation: powderkeg vs pandas, same run.

Workload W1 of perf-anchors.md: T = 2500 daily returns (one-factor model, Student-t(5)
shocks, 1.5 % daily vol) for N = 100 and N = 500 series; ``rolling_corr_matrix(frame, 30)``
against ``DataFrame.rolling(30).corr()``. Prints the median time of each, the ratio and the
maximum absolute difference.

pandas at N = 500 needs about 50 s and 12 GiB; by default it is timed on a fixed random
subset of columns and scaled by the number of column pairs (its cost is per pair), which the
output says. ``--full-pandas`` times it on all 500 columns instead.

Usage: python benchmarks/bench_rolling_corr.py [--sizes 100 500] [--repeat 3] [--full-pandas]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from powderkeg.linkage.correlation import rolling_corr_matrix

T = 2500
WINDOW = 30
SUBSET = 60


def returns(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    loadings = rng.uniform(0.4, 0.8, n)
    factor = rng.standard_t(5, (T, 1))
    idio = rng.standard_t(5, (T, n))
    x = factor * loadings + idio * np.sqrt(1 - loadings**2)
    x *= 0.015 / x.std(axis=0)
    return pd.DataFrame(x, index=pd.bdate_range("2015-01-01", periods=T))


def timed(fn, repeat: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """First-call and median-of-the-rest wall times (the first includes first-touch faults)."""
    times, out = [], None
    for _ in range(repeat):
        out = None  # free the previous result before the next run
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    rest = times[1:] or times
    return times[0], statistics.median(rest), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full-pandas", action="store_true")
    args = parser.parse_args()
    repeat = max(2, args.repeat)
    rolling_corr_matrix(returns(4), WINDOW)  # compile (or load the cached) kernel
    print(f"rolling {WINDOW}-obs Pearson correlation, all pairs, T = {T}; wall times in s")
    print("ours/fresh: a new (T, N, N) result per call (first call, then median of the rest);")
    print("ours/reused: median over calls writing into one preallocated `out` buffer.")
    print(
        f"{'N':>5} {'ours/fresh':>16} {'ours/reused':>12} {'pandas':>16} "
        f"{'ratio fresh':>12} {'ratio reused':>13} {'max |diff|':>11}"
    )
    notes = []
    for n in args.sizes:
        frame = returns(n)
        first, fresh, ours = timed(lambda f=frame: rolling_corr_matrix(f, WINDOW), repeat)
        assert isinstance(ours, np.ndarray)
        _, reused, _ = timed(lambda f=frame, b=ours: rolling_corr_matrix(f, WINDOW, out=b), repeat)
        if n <= 100 or args.full_pandas:
            cols = np.arange(n)
        else:
            cols = np.sort(np.random.default_rng(0).choice(n, SUBSET, replace=False))
            notes.append(
                f"N={n}: pandas timed on {SUBSET} random columns and scaled by the number of "
                f"pairs, x{(n / SUBSET) ** 2:.1f} (its cost is per column pair)"
            )
        sub = frame.iloc[:, cols]
        pd_first, pd_med, ref = timed(lambda s=sub: s.rolling(WINDOW).corr(), repeat)
        assert isinstance(ref, pd.DataFrame)
        ref_arr = ref.to_numpy().reshape(T, len(cols), len(cols))
        mine = ours[:, cols][:, :, cols]
        diff = float(np.nanmax(np.abs(mine - ref_arr)))
        if not np.array_equal(np.isnan(mine), np.isnan(ref_arr)):
            notes.append(f"N={n}: NaN patterns differ")
        scale = (n / len(cols)) ** 2
        pd_t = pd_med * scale
        print(
            f"{n:>5} {first:>7.3f} / {fresh:>6.3f} {reused:>12.3f} "
            f"{pd_first * scale:>7.2f} / {pd_t:>6.2f} {pd_t / fresh:>11.0f}x "
            f"{pd_t / reused:>12.0f}x {diff:>11.1e}"
        )
        del ours, ref, ref_arr, mine
    for note in notes:
        print(f"* {note}")


if __name__ == "__main__":
    main()
