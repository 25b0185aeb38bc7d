"""Stress Monte Carlo throughput: 10,000 paths x 200 institutions x 10 assets x 60 days.

Prints, in one run:

1. the full Monte Carlo (``run_stress``, serial, chunks of 1,000 paths) — target < 60 s on
   2 cores;
2. vectorised-across-paths vs one path at a time: the kernel (input build + daily
   simulation) for a 1,000-path chunk against a loop of single-path calls on a sample of
   ``--single-sample`` paths, scaled to the same number of paths;
3. scaling on a local Dask cluster with 1 and 2 workers (``--scaling-paths`` paths), and
   a check that both give the same numbers.

The scenario is ``ai-correction`` widened to 200 institutions and 10 assets (two extra
asset classes, more members per group).

Run: ``python benchmarks/bench_stress_mc.py [--paths 10000] [--single-sample 20]
[--scaling-paths 4000]``
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import yaml


def bench_scenario():  # type: ignore[no-untyped-def]
    from powderkeg.contagion.scenario_spec import builtin_dir, parse_scenario

    data = yaml.safe_load((builtin_dir() / "ai-correction.yaml").read_text(encoding="utf-8"))
    data["name"] = "bench-200x10"
    template = next(a for a in data["assets"] if a["key"] == "ig_credit")
    mbs = copy.deepcopy(template)
    mbs.update(key="mbs", label="Agency MBS", kind="credit")
    em = copy.deepcopy(next(a for a in data["assets"] if a["key"] == "other_equity"))
    em.update(key="em_equity", label="EM equities")
    data["assets"] += [mbs, em]
    counts = {
        "banks": 30,
        "broker_dealers": 10,
        "hedge_funds": 60,
        "private_credit": 20,
        "asset_managers": 30,
        "crypto_funds": 10,
        "crypto_leverage": 25,
        "stablecoins": 3,
        "ai_issuers": 12,
    }
    for g in data["groups"]:
        g["count"] = counts[g["key"]]
    banks = next(g for g in data["groups"] if g["key"] == "banks")
    banks["portfolio"] = {
        "treasuries": 0.45,
        "mbs": 0.15,
        "tbills": 0.15,
        "ig_credit": 0.2,
        "hy_credit": 0.05,
    }
    am = next(g for g in data["groups"] if g["key"] == "asset_managers")
    am["portfolio"] = {
        "ai_equity": 0.25,
        "other_equity": 0.35,
        "em_equity": 0.1,
        "ig_credit": 0.15,
        "hy_credit": 0.05,
        "treasuries": 0.1,
    }
    scn = parse_scenario(data, "bench")
    assert scn.n_institutions == 200 and len(scn.assets) == 10
    return scn


def kernel_time(scn, n: int, seed: int) -> float:  # type: ignore[no-untyped-def]
    """Seconds to build inputs and simulate ``n`` paths in one vectorised call."""
    from powderkeg.contagion.draws import Layout, build_chunk, draw_figures
    from powderkeg.contagion.reduced_kernel import simulate_system
    from powderkeg.scenarios.two_phase import TwoPhaseDraws

    layout = Layout.from_scenario(scn)
    rng = np.random.default_rng(seed)
    days = scn.horizon_days
    t0 = time.perf_counter()
    values = draw_figures(scn, rng, n)
    draws = TwoPhaseDraws.draw(rng, n, days)
    noise = rng.standard_normal((n, days, len(scn.assets)))
    system, shocks, _ = build_chunk(scn, layout, values, draws, noise)
    simulate_system(system, shocks, rounds_per_day=scn.rounds_per_day)
    return time.perf_counter() - t0


def main() -> None:
    from powderkeg.contagion.montecarlo import run_stress

    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--single-sample", type=int, default=20)
    ap.add_argument("--scaling-paths", type=int, default=4000)
    args = ap.parse_args()
    scn = bench_scenario()
    days = scn.horizon_days
    run_stress(scn, paths=50, seed=0, chunk=50)  # warm-up (imports, caches)

    t0 = time.perf_counter()
    res = run_stress(scn, paths=args.paths, seed=1)
    t_full = time.perf_counter() - t0
    cells = args.paths * scn.n_institutions * days
    print(
        f"scenario {scn.name}: {scn.n_institutions} institutions x {len(scn.assets)} assets "
        f"x {days} days"
    )
    print(
        f"[1] run_stress {args.paths:,} paths, serial:     {t_full:7.2f} s  "
        f"({args.paths / t_full:,.0f} paths/s, {cells / t_full / 1e6:,.1f} M "
        f"institution-path-days/s; target < 60 s)"
    )
    print(
        f"    expected loss {res.payload['losses']['total']['mean']:,.0f} bn, "
        f"defaults {res.payload['defaults']['total']['mean']:.2f}"
    )

    chunk = 1000
    t_vec = kernel_time(scn, chunk, seed=2)
    t_one = sum(kernel_time(scn, 1, seed=3 + i) for i in range(args.single_sample))
    per_path_loop = t_one / args.single_sample
    print(
        f"[2] kernel, {chunk} paths vectorised:           {t_vec:7.2f} s "
        f"({t_vec / chunk * 1e3:.2f} ms/path)"
    )
    print(
        f"    kernel, one path at a time (sample {args.single_sample}): "
        f"{per_path_loop * 1e3:7.2f} ms/path -> {per_path_loop * chunk:.2f} s per {chunk} "
        f"paths, {per_path_loop * args.paths:.1f} s for {args.paths:,}"
    )
    print(f"    ratio loop / vectorised:                {per_path_loop * chunk / t_vec:7.1f}x")

    out = {}
    for workers in (1, 2):
        t0 = time.perf_counter()
        r = run_stress(
            scn, paths=args.scaling_paths, seed=5, workers=workers, scheduler="dask-local"
        )
        out[workers] = (time.perf_counter() - t0, r.payload["losses"]["total"]["mean"])
    same = out[1][1] == out[2][1]
    print(f"[3] Dask LocalCluster, {args.scaling_paths:,} paths (incl. cluster start-up):")
    print(
        f"    1 worker: {out[1][0]:7.2f} s   2 workers: {out[2][0]:7.2f} s   "
        f"speed-up {out[1][0] / out[2][0]:.2f}x   identical results: {same}"
    )


if __name__ == "__main__":
    main()
