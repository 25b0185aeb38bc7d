"""Monte Carlo GSADF critical values, 2000 replications at T = 1000: powderkeg vs pyexuber.

pyexuber's ``radf_mc_cv`` is timed on a subset of replications and scaled to the full count
when ``--exuber-reps`` is smaller than ``--reps`` (it runs one replication after another, so
its cost is linear in replications); the script says which. powderkeg runs all replications
in this process with every numba thread (``--workers 1``) or in a process pool.

Run: ``python benchmarks/bench_mc_cv.py [--reps 2000] [--exuber-reps 2000] [--workers 1]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    import numba
    from exuber import radf_mc_cv

    from powderkeg.bubbles.bsadf import PsySettings
    from powderkeg.bubbles.critical_values import MonteCarloCV

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--exuber-reps", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    settings = PsySettings.build(args.n)
    MonteCarloCV(PsySettings.build(100), reps=25, seed=0).compute()  # JIT warm-up

    t0 = time.perf_counter()
    ours = MonteCarloCV(settings, reps=args.reps, seed=1, workers=args.workers).compute()
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    ref = radf_mc_cv(args.n, minw=settings.min_rows, nrep=args.exuber_reps, seed=1)
    t_ex = (time.perf_counter() - t0) * args.reps / args.exuber_reps
    scaled = f" (scaled from {args.exuber_reps} reps)" if args.exuber_reps != args.reps else ""

    print(
        f"T={args.n} minw={settings.min_window} reps={args.reps} "
        f"numba threads={numba.get_num_threads()} workers={args.workers}"
    )
    print(f"powderkeg MonteCarloCV: {t_ours:.2f} s")
    print(f"pyexuber radf_mc_cv:    {t_ex:.2f} s{scaled}")
    print(f"ratio exuber/ours:      {t_ex / t_ours:.2f}x")
    print(
        "GSADF CV 90/95/99  ours:",
        np.round(list(ours.gsadf_cv.values()), 3),
        " exuber:",
        np.round(ref.gsadf_cv, 3),
    )


if __name__ == "__main__":
    main()
