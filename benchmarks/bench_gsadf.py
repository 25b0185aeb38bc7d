"""GSADF statistic (lag 0, constant): powderkeg vs pyexuber vs the naive statsmodels loop.

Same process, same series, same windows (pyexuber's ``minw`` = min_window - 1). Prints the
median of repeated timings and the ratios. The naive loop (``statsmodels.adfuller`` on every
window) is timed in full at T = 200 and, for larger T, on a uniform sample of windows whose
mean cost is multiplied by the window count (an extrapolation, labelled as such).

Run: ``python benchmarks/bench_gsadf.py [--sizes 500 1000 2000 4400] [--naive-sample 3000]``
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np


def _median_time(func, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _naive_window(y: np.ndarray, s: int, e: int) -> float:
    from statsmodels.tsa.stattools import adfuller

    return float(
        adfuller(y[s : e + 1], maxlag=0, autolag=None, regression="c", result_object=False)[0]
    )


def naive_gsadf(y: np.ndarray, min_window: int) -> float:
    """What a user would write: one adfuller call per window."""
    n = y.shape[0]
    best = -np.inf
    for e in range(min_window - 1, n):
        for s in range(0, e - min_window + 2):
            best = max(best, _naive_window(y, s, e))
    return best


def main() -> None:
    import exuber

    from powderkeg.bubbles.bsadf import default_min_window
    from powderkeg.bubbles.psy import GSADF

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4400])
    ap.add_argument("--naive-sample", type=int, default=3000)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    GSADF(np.cumsum(rng.normal(size=100))).sequences()  # JIT warm-up (cached on disk)

    # naive loop, full run at T = 200 (checks the extrapolation method too)
    y = np.cumsum(rng.normal(size=200))
    m = default_min_window(200)
    t0 = time.perf_counter()
    naive_stat = naive_gsadf(y, m)
    naive_full = time.perf_counter() - t0
    ours_small = _median_time(lambda: GSADF(y).sequences(), 5)
    ours_stat = float(np.max(GSADF(y).sequences()[0]))
    print(
        f"T=200 naive statsmodels loop, full run: {naive_full:.2f} s; "
        f"ours {ours_small * 1e3:.3f} ms;"
        f" ratio {naive_full / ours_small:,.0f}x; |GSADF diff| {abs(naive_stat - ours_stat):.1e}"
    )

    print(
        f"{'T':>5} {'minw':>5} {'windows':>10} {'ours ms':>9} {'pyexuber ms':>12} "
        f"{'exuber/ours':>11} {'naive s (extrap.)':>18} {'naive/ours':>12} {'|diff|':>8}"
    )
    for n in args.sizes:
        y = np.cumsum(rng.normal(size=n))
        m = default_min_window(n)
        windows = (n - m + 1) * (n - m + 2) // 2

        def ours(y: np.ndarray = y) -> np.ndarray:
            test = GSADF(y)
            return test.sequences()[0]

        rep = 9 if n <= 2000 else 5
        t_ours = _median_time(ours, rep)
        t_ex = _median_time(lambda y=y, m=m: exuber.radf(y, minw=m - 1), rep)
        diff = float(np.max(np.abs(ours() - exuber.radf(y, minw=m - 1).bsadf[:, 0])))
        # naive: uniform sample of windows, mean cost x window count
        pairs = []
        for _ in range(args.naive_sample):
            e = int(rng.integers(m - 1, n))
            s = int(rng.integers(0, e - m + 2))
            pairs.append((s, e))
        t0 = time.perf_counter()
        for s, e in pairs:
            _naive_window(y, s, e)
        per_call = (time.perf_counter() - t0) / len(pairs)
        t_naive = per_call * windows
        print(
            f"{n:>5} {m:>5} {windows:>10,} {t_ours * 1e3:>9.2f} {t_ex * 1e3:>12.2f} "
            f"{t_ex / t_ours:>10.2f}x {t_naive:>17.0f}s {t_naive / t_ours:>11,.0f}x {diff:>8.1e}"
        )
    print(
        "naive times above T=200 are extrapolated: mean cost of "
        f"{args.naive_sample} uniformly sampled windows x number of windows."
    )


if __name__ == "__main__":
    main()
