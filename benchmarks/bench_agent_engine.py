"""Agent-engine benchmarks: today's engine (commit 7be6a7a) against the current one.

Default: ``ai-correction`` through ``run_stress(..., engine="agent")`` with ``--paths``
(512) paths on ``--workers`` (2) local processes, for the engine of :data:`BASELINE_COMMIT`
(the state before issue 11 part 4, run from a temporary ``git worktree`` in a subprocess
whose ``PYTHONPATH`` is the worktree's ``src``; the worktree is removed afterwards) and for
the current engine (this checkout's ``src``), interleaved ``--repeat`` times. Prints the
wall times (min / median), their ratio and the cost per path. Each subprocess first makes
an untimed two-path run (imports, numba's on-disk cache), then times ``run_stress`` alone.

``--full`` then runs the current engine on 10,000 paths of ``ai-correction`` with
``--workers`` processes and prints its wall time against the goal of issue 11 (under 10
minutes on 2 cores) beside today's engine extrapolated from the first part (its cost is
proportional to the number of paths: chunks of 64 paths run independently).

``--micro`` (implied by ``--days`` or ``--save``) is the engine microbenchmark:
``System.default`` split to 203 institutions, a one-day AI / crypto shock scaled per path
plus daily noise, ``simulate`` on one chunk of ``--paths`` (128) paths x ``--days`` (60)
days in this process; ``--save FILE`` stores the result arrays so that two versions can be
compared bit for bit.

Run: ``python benchmarks/bench_agent_engine.py [--paths 512] [--workers 2] [--repeat 3]
[--full]`` or ``python benchmarks/bench_agent_engine.py --micro [--paths 128] [--days 60]
[--save out.npz]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

#: The agent engine before this work (issue 11 part 4): the baseline of every comparison.
BASELINE_COMMIT = "7be6a7a"
#: The goal of issue 11: 10,000 paths of ai-correction on 2 cores in under 10 minutes.
FULL_PATHS = 10_000
TARGET_S = 600.0
SCENARIO = "ai-correction"
SEED = 11
REPO = Path(__file__).resolve().parents[1]

#: Executed in a subprocess with ``PYTHONPATH`` set to one engine's ``src``: an untimed
#: two-path run, then the timed run; prints one JSON line.
RUNNER = """
import json, sys, time
import powderkeg
from powderkeg.contagion.montecarlo import run_stress
from powderkeg.contagion.scenario_spec import load_scenario

name, paths, workers, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
scn = load_scenario(name)
t0 = time.perf_counter()
run_stress(scn, paths=2, seed=seed, workers=1, engine="agent")
warm = time.perf_counter() - t0
t0 = time.perf_counter()
res = run_stress(scn, paths=paths, seed=seed, workers=workers, engine="agent")
wall = time.perf_counter() - t0
p = res.payload
print(json.dumps({
    "wall": wall, "warm_up": warm, "package": powderkeg.__file__,
    "scenario_hash": p["scenario"]["hash"], "mean_loss": p["losses"]["total"]["mean"],
    "mean_defaults": p["defaults"]["total"]["mean"], "rounds_used_max": p["rounds_used_max"],
}))
"""

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


# --------------------------------------------------------------------------- stress runs
def _run(src: Path, paths: int, workers: int) -> dict[str, float | str]:
    """One timed ``run_stress`` of :data:`SCENARIO` with the engine in ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", RUNNER, SCENARIO, str(paths), str(workers), str(SEED)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"run with {src} failed:\n{out.stderr[-3000:]}")
    result: dict[str, float | str] = json.loads(out.stdout.strip().splitlines()[-1])
    if not str(result["package"]).startswith(str(src)):
        raise RuntimeError(f"imported {result['package']}, expected a package under {src}")
    return result


class BaselineTree:
    """A temporary ``git worktree`` of :data:`BASELINE_COMMIT` (removed on exit)."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.reason = ""

    def __enter__(self) -> BaselineTree:
        tmp = Path(tempfile.mkdtemp(prefix="powderkeg-baseline-"))
        cmd = ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tmp), BASELINE_COMMIT]
        try:
            subprocess.run(cmd, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            self.reason = f"cannot check out {BASELINE_COMMIT}: {detail.strip()}"
            shutil.rmtree(tmp, ignore_errors=True)
            return self
        self.path = tmp
        return self

    def __exit__(self, *exc: object) -> None:
        if self.path is None:
            return
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(self.path)],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.path, ignore_errors=True)
        subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], capture_output=True)


def _summary(label: str, walls: list[float], paths: int) -> None:
    lo, med = min(walls), statistics.median(walls)
    print(
        f"  {label:<9} min {lo:7.2f} s  median {med:7.2f} s  "
        f"({', '.join(f'{w:.2f}' for w in walls)})  "
        f"{1e3 * lo / paths:6.1f} ms per path (wall)"
    )


def compare(paths: int, workers: int, repeat: int) -> float | None:
    """Today's engine against the current one; returns today's seconds per path (min)."""
    print(
        f"{SCENARIO}, engine=agent, {paths} paths, --workers {workers}, seed {SEED}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    current = REPO / "src"
    with BaselineTree() as base:
        if base.path is None:
            print(f"  baseline skipped: {base.reason}")
        new: list[dict[str, float | str]] = []
        old: list[dict[str, float | str]] = []
        for _ in range(repeat):  # interleaved: both engines see the same machine load
            if base.path is not None:
                old.append(_run(base.path / "src", paths, workers))
            new.append(_run(current, paths, workers))
    print(f"  warm-up (2 paths, 1 process, incl. numba cache): current {new[0]['warm_up']:.1f} s")
    new_walls = [float(r["wall"]) for r in new]
    _summary("current", new_walls, paths)
    if not old:
        return None
    old_walls = [float(r["wall"]) for r in old]
    _summary(BASELINE_COMMIT, old_walls, paths)
    print(
        f"  speed-up: {min(old_walls) / min(new_walls):.2f}x (min / min), "
        f"{statistics.median(old_walls) / statistics.median(new_walls):.2f}x (median / median)"
    )
    a, b = old[0], new[0]
    if a["scenario_hash"] == b["scenario_hash"]:
        print(
            f"  results: mean total loss {a['mean_loss']:.6f} ({BASELINE_COMMIT}) vs "
            f"{b['mean_loss']:.6f} (current); mean defaults {a['mean_defaults']:.6f} vs "
            f"{b['mean_defaults']:.6f}"
        )
    else:
        print(
            f"  results not compared: the scenario changed since {BASELINE_COMMIT} "
            f"(hash {a['scenario_hash']} -> {b['scenario_hash']})"
        )
    return min(old_walls) / paths


def full(workers: int, old_per_path: float | None) -> None:
    """The goal of issue 11: the current engine on 10,000 paths."""
    print(f"{SCENARIO}, engine=agent, {FULL_PATHS:,} paths, --workers {workers}")
    r = _run(REPO / "src", FULL_PATHS, workers)
    wall = float(r["wall"])
    verdict = "meets" if wall < TARGET_S else "MISSES"
    print(
        f"  current: {wall:.1f} s = {wall / 60:.2f} min ({1e3 * wall / FULL_PATHS:.1f} ms per "
        f"path); {verdict} the {TARGET_S / 60:.0f}-minute goal"
    )
    if old_per_path is None:
        print(f"  {BASELINE_COMMIT}: no baseline measured")
    else:
        est = old_per_path * FULL_PATHS
        print(
            f"  {BASELINE_COMMIT} (extrapolated from the comparison): {est:.0f} s = "
            f"{est / 60:.1f} min; speed-up {est / wall:.2f}x"
        )


# --------------------------------------------------------------------------- micro
def micro(paths: int, days: int, save: str | None) -> None:
    """The engine alone on one chunk of a 203-institution system (this process)."""
    from powderkeg.contagion.engine import simulate
    from powderkeg.contagion.shocks import Shocks
    from powderkeg.contagion.system import AI_CRYPTO_SHOCK, System
    from powderkeg.exceptions import ConvergenceWarning

    system = System.default({"scale": SCALE})
    rng = np.random.default_rng(5)
    ret = rng.normal(0.0, 0.02, (paths, days, system.n_assets))
    for name, r in AI_CRYPTO_SHOCK.items():
        ret[:, 0, system.asset_index(name)] += r * rng.uniform(0.3, 1.5, paths)
    warnings.simplefilter("ignore", ConvergenceWarning)
    t0 = time.perf_counter()
    res = simulate(system, Shocks(ret), days=days)
    elapsed = time.perf_counter() - t0
    print(
        f"{system.n_agents} agents x {paths} paths x {days} days "
        f"({len(system.face0)} contracts): {elapsed:.2f} s, {int(res.rounds.sum())} sub-rounds"
    )
    if save:
        np.savez(
            save,
            prices=res.prices,
            equity=res.equity,
            default_day=res.default_day,
            losses=res.losses,
            fire_sales=res.fire_sales,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--paths", type=int, default=None, help="paths (512; micro: 128)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each engine")
    parser.add_argument("--full", action="store_true", help="also 10,000 paths (current)")
    parser.add_argument("--micro", action="store_true", help="the engine microbenchmark only")
    parser.add_argument("--days", type=int, default=None, help="days of the microbenchmark")
    parser.add_argument("--save", default=None, help="microbenchmark result arrays (.npz)")
    args = parser.parse_args()
    if args.micro or args.days is not None or args.save is not None:
        micro(args.paths or 128, args.days or 60, args.save)
        return
    old_per_path = compare(args.paths or 512, args.workers, args.repeat)
    if args.full:
        full(args.workers, old_per_path)


if __name__ == "__main__":
    main()
