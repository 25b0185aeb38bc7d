"""Agent-engine throughput: 203 agents x 128 paths x 60 days (one chunk of paths).

``System.default`` split to 200 institutions (plus the outside sectors), a one-day AI / crypto
shock scaled per path plus daily noise. Prints the wall time, the sub-rounds used and, with
``--save FILE``, stores the result arrays so two versions can be compared bit for bit.

Run: ``python benchmarks/bench_agent_engine.py [--paths 128] [--days 60] [--save out.npz]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

SCALE = {
    "bank": 40,
    "hedge_fund": 60,
    "asset_manager": 20,
    "btc_etf": 5,
    "private_credit": 20,
    "crypto_leverage": 20,
    "stablecoin": 4,
    "allocator": 5,
    "dealer": 6,
    "ai_borrower": 20,
}


def main() -> None:
    from powderkeg.contagion.engine import Shocks, System, simulate
    from powderkeg.contagion.system import AI_CRYPTO_SHOCK
    from powderkeg.exceptions import ConvergenceWarning

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--paths", type=int, default=128)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--save", default=None)
    args = parser.parse_args()
    system = System.default({"scale": SCALE})
    rng = np.random.default_rng(5)
    ret = rng.normal(0.0, 0.02, (args.paths, args.days, system.n_assets))
    for name, r in AI_CRYPTO_SHOCK.items():
        ret[:, 0, system.asset_index(name)] += r * rng.uniform(0.3, 1.5, args.paths)
    warnings.simplefilter("ignore", ConvergenceWarning)
    t0 = time.perf_counter()
    res = simulate(system, Shocks(ret), days=args.days)
    elapsed = time.perf_counter() - t0
    print(
        f"{system.n_agents} agents x {args.paths} paths x {args.days} days "
        f"({len(system.face0)} contracts): {elapsed:.2f} s, {int(res.rounds.sum())} sub-rounds"
    )
    if args.save:
        np.savez(
            args.save,
            prices=res.prices,
            equity=res.equity,
            default_day=res.default_day,
            losses=res.losses,
            fire_sales=res.fire_sales,
        )


if __name__ == "__main__":
    main()
