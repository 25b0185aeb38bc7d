"""DCC-GARCH(1,1) fit, N = 5 and N = 20 assets, T = 2000: powderkeg vs pymgarch, same run.

Data: simulated with pymgarch's own ``simulate_dcc`` (seeded) as in perf-anchors W4 — GARCH(1,1)
marginals in percent (omega 0.045, alpha 0.08, beta 0.90), DCC a = 0.04, b = 0.93, one-factor
correlation target. Both fits without standard errors: ``pymgarch.DCC().fit(R, compute_se=False)``
vs ``powderkeg.linkage.dcc.DCC(R).fit(compute_se=False)`` (numba replica of arch's marginal fit)
and, for a like-for-like check of the correlation stage alone, ``marginals="arch"``.
Timing: perf_counter around the whole call, one untimed warm-up each, tools interleaved round by
round, min / median over the rounds. Prints times, the ratio, and the parameter and
log-likelihood differences.

Run: ``python benchmarks/bench_dcc.py [--rounds 5]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import pymgarch

from powderkeg.linkage.dcc import DCC


def simulate(n_assets: int, n_obs: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    load = rng.uniform(0.45, 0.75, n_assets)
    sbar = np.outer(load, load)
    np.fill_diagonal(sbar, 1.0)
    vol = [{"omega": 0.045, "alpha": [0.08], "beta": [0.90]} for _ in range(n_assets)]
    out = pymgarch.simulate_dcc(vol, 0.04, 0.93, sbar, nobs=n_obs, seed=seed)
    return pd.DataFrame(out["returns"], columns=[f"x{i}" for i in range(n_assets)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tools = {
        "pymgarch": lambda r: pymgarch.DCC().fit(r, compute_se=False),
        "powderkeg": lambda r: DCC(r).fit(compute_se=False),
        "powderkeg[arch marginals]": lambda r: DCC(r, marginals="arch").fit(compute_se=False),
    }
    print(f"pymgarch {pymgarch.__version__}; {args.rounds} rounds after one warm-up each")
    for n_assets in (5, 20):
        r = simulate(n_assets)
        results = {name: fn(r) for name, fn in tools.items()}  # warm-up (numba compile)
        times: dict[str, list[float]] = {name: [] for name in tools}
        for _ in range(args.rounds):
            for name, fn in tools.items():
                t0 = time.perf_counter()
                results[name] = fn(r)
                times[name].append(time.perf_counter() - t0)
        peer = results["pymgarch"]
        peer_p = np.array(list(peer.params.values()))
        base = float(np.median(times["pymgarch"]))
        print(f"\nN = {n_assets}, T = {len(r)}")
        for name in tools:
            t = np.array(times[name])
            line = f"  {name:<27} min {t.min():7.3f} s  median {np.median(t):7.3f} s"
            if name != "pymgarch":
                res = results[name]
                dp = np.max(np.abs(res.params.to_numpy() - peer_p))
                dl = res.loglikelihood - peer.loglikelihood
                line += f"  speed-up x{base / np.median(t):5.1f}  |d params| {dp:.1e}"
                line += f"  d loglik {dl:+.1e}"
            else:
                line += f"  a {peer_p[0]:.4f}  b {peer_p[1]:.4f}  loglik {peer.loglikelihood:.3f}"
            print(line)


if __name__ == "__main__":
    main()
