"""Monte Carlo stress runs: seeded chunks of paths, run anywhere, merged and cached.

A run splits its paths into chunks; each chunk draws, per path, every scenario figure within
its range and the random numbers of the AI-factor / two-phase BTC block (:mod:`.draws`),
then simulates the system day by day for all its paths at once. Chunks get their own
children of a :class:`numpy.random.SeedSequence` and run serially, in local processes or on a
Dask cluster through :func:`powderkeg.parallel.map_chunks` — the same seed gives identical
results whichever runs them. Their summaries are merged into one payload
(:func:`~.stress_result.assemble_payload`), cached in the store keyed by the scenario hash,
model version, seed, paths, days and chunk size.

Engines (``run_stress(..., engine=...)``, ``powderkeg stress run --engine``):

``reduced`` (default)
    the reduced kernel (:mod:`.reduced_kernel`): leverage-threshold fire sales, fund and
    stablecoin redemptions paid pro rata, counterparty write-downs at LGD, transient impact,
    the two-phase BTC path and the scenario's policy pivot. It has **no** repo margin calls
    or procyclical haircuts, no collateral seizure, no clearing of a contract network, no
    market calendars (every asset trades daily) and no central-bank balance sheet. Fast:
    10,000 paths in seconds.
``agent``
    the double-entry agent engine (:mod:`powderkeg.contagion.engine`) with the full
    model-spec §7 daily schedule — margin calls with procyclical haircuts, collateral seizure,
    greatest clearing vector (Rogers–Veraart), redemptions settled on bank days, credit-line
    draws, the stablecoin waterfall, central-bank QE and facility loans, NYSE/crypto calendars
    — fed by the same drawn figures and exogenous paths (mapping in
    :mod:`powderkeg.contagion.agent_scenario`; balance sheets at the scenario's central
    figures). About twenty times slower per path (ai-correction: ~16 ms per path on one
    core against ~1 ms), so runs are capped (:data:`AGENT_MAX_PATHS`,
    :data:`AGENT_MAX_WORK`); losses are not split into direct, fire-sale and credit parts.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from powderkeg._validation import check_int
from powderkeg.contagion.agent_scenario import AGENT_MODEL_VERSION, run_agent_chunk
from powderkeg.contagion.chunks import run_chunk
from powderkeg.contagion.draws import Layout
from powderkeg.contagion.reduced_kernel import MODEL_VERSION
from powderkeg.contagion.scenario_spec import Scenario, scenario_hash
from powderkeg.contagion.stress_result import FAN_PATHS, StressResult, assemble_payload
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance

#: Largest number of paths a run accepts (memory: ~25 floats kept per path).
MAX_PATHS = 1_000_000
#: Longest horizon in days.
MAX_DAYS = 3650
#: Largest paths × institutions × days product (a guard against runs that cannot finish).
MAX_WORK = 5e11
#: Default chunk size (paths per task).
CHUNK = 1000
#: Cache namespace of stress runs in the store.
CACHE_NAMESPACE = "stress-run"
#: Engines of :func:`run_stress` (see the module doc).
ENGINES = ("reduced", "agent")
#: Agent engine: paths per task, default run size, largest run (paths; paths x institutions
#: x days: at 2-3 microseconds each, about 6-10 minutes serially on one core; 10,000 paths of
#: ai-correction are 8.9e7, see benchmarks/bench_agent_engine.py).
AGENT_CHUNK = 64
AGENT_PATHS = 256
AGENT_MAX_PATHS = 20_000
AGENT_MAX_WORK = 2e8


def cache_key(
    scn: Scenario, *, paths: int, seed: int, days: int, engine: str = "reduced", chunk: int = CHUNK
) -> str:
    """Cache key of a run: scenario hash, engine model version, seed, paths, days, chunk."""
    version = MODEL_VERSION if engine == "reduced" else AGENT_MODEL_VERSION
    return f"{scenario_hash(scn)}:{version}:seed={seed}:paths={paths}:days={days}:chunk={chunk}"


def run_stress(
    scenario: Scenario,
    *,
    paths: int = 10_000,
    seed: int = 1,
    days: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    chunk: int | None = None,
    progress: Any = None,
    store: Any = None,
    use_cache: bool = True,
    engine: str = "reduced",
) -> StressResult:
    """Run the Monte Carlo stress test of ``scenario`` (engines: see the module doc).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`powderkeg.contagion.scenario_spec.load_scenario`).
    paths : int, default 10000
        Number of Monte Carlo paths (at most :data:`MAX_PATHS`).
    seed : int, default 1
        Root seed; chunk ``i`` uses child ``i`` of ``SeedSequence(seed)``.
    days : int, optional
        Horizon in calendar days (default: the scenario's ``horizon_days``).
    workers : int, default 1
        Local processes (``1`` = serial in this process).
    scheduler : str, optional
        Dask scheduler address, or ``"dask-local"`` for a local cluster of ``workers`` workers.
    chunk : int, optional
        Paths per task (default 1000; 64 for the agent engine). Results depend on it (it
        fixes how seeds map to paths), not on the backend or the number of workers.
    progress : callable, optional
        ``progress(done, total, label)`` after each chunk.
    store : Store, optional
        Cache the result (and read it back) under the scenario hash, seed, paths and days.
    use_cache : bool, default True
        Read the cache (a computed result is still written when ``store`` is given).
    engine : {"reduced", "agent"}, default "reduced"
        The fast reduced kernel or the full agent engine (at most :data:`AGENT_MAX_PATHS`
        paths and :data:`AGENT_MAX_WORK` paths x institutions x days).

    Returns
    -------
    StressResult
    """
    from powderkeg.parallel import chunk_sizes, map_chunks, spawn_seeds

    if engine not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    agent = engine == "agent"
    max_paths, max_work = (AGENT_MAX_PATHS, AGENT_MAX_WORK) if agent else (MAX_PATHS, MAX_WORK)
    paths = check_int(paths, "--paths", minimum=1, maximum=max_paths)
    days = scenario.horizon_days if days is None else days
    days = check_int(days, "--days", minimum=1, maximum=MAX_DAYS)
    workers = check_int(workers, "--workers", minimum=1, maximum=256)
    chunk = (AGENT_CHUNK if agent else CHUNK) if chunk is None else chunk
    chunk = check_int(chunk, "chunk", minimum=1, maximum=MAX_PATHS)
    seed = check_int(seed, "--seed", minimum=0)
    work = float(paths) * scenario.n_institutions * days
    if work > max_work:
        raise InputError(
            f"run too large for the {engine} engine: paths x institutions x days = {work:.3g} "
            f"exceeds {max_work:.0e}; use fewer --paths or --days"
        )
    t0 = time.perf_counter()
    key = cache_key(scenario, paths=paths, seed=seed, days=days, engine=engine, chunk=chunk)
    provenance = Provenance(
        sources=[
            {"name": f"scenario {scenario.name}", "hash": scenario_hash(scenario),
             "references": scenario.references},
            *scenario.sources(),
        ],
        parameters={
            "scenario": scenario.name,
            "scenario_hash": scenario_hash(scenario),
            "paths": paths,
            "days": days,
            "chunk": chunk,
            "workers": workers,
            "scheduler": scheduler,
            "engine": engine,
            "model": AGENT_MODEL_VERSION if agent else MODEL_VERSION,
        },
        seed=seed,
    )  # fmt: skip
    if store is not None and use_cache:
        hit = store.cache_get(CACHE_NAMESPACE, key)
        if hit is not None:
            hit["cached"] = True
            hit["runtime_s"] = round(time.perf_counter() - t0, 4)
            if progress is not None:
                progress(1, 1, "cached")
            return StressResult(hit, provenance)
    layout = Layout.from_scenario(scenario)
    sizes = chunk_sizes(paths, chunk)
    seeds = spawn_seeds(seed, len(sizes))
    data = scenario.model_dump(mode="json")
    kept = np.minimum(np.maximum(FAN_PATHS - np.concatenate([[0], np.cumsum(sizes)[:-1]]), 0),
                      sizes)  # fmt: skip
    tasks = [(data, n, days, s, int(k)) for n, s, k in zip(sizes, seeds, kept)]
    func: Any = run_agent_chunk if agent else run_chunk
    chunks = map_chunks(
        func, tasks, workers=workers, scheduler=scheduler, progress=progress, label="chunks"
    )
    payload = assemble_payload(
        scenario, layout, chunks, paths=paths, seed=seed, days=days,
        runtime=time.perf_counter() - t0, engine=engine,
    )  # fmt: skip
    if store is not None:
        store.cache_put(CACHE_NAMESPACE, key, payload)
    return StressResult(payload, provenance)


def expected_losses(
    scenario: Scenario, *, paths: int, seed: int, days: int | None = None, chunk: int = CHUNK
) -> tuple[float, float]:
    """Mean total loss (USD bn) and mean number of defaults, serially (for sensitivity work)."""
    res = run_stress(scenario, paths=paths, seed=seed, days=days, chunk=chunk)
    return (
        float(res.payload["losses"]["total"]["mean"]),
        float(res.payload["defaults"]["total"]["mean"]),
    )


def describe_size(paths: int, scenario: Scenario, days: int, chunk: int = CHUNK) -> str:
    """A one-line description of a run's size (for progress bars and logs)."""
    chunks = math.ceil(paths / chunk)
    return (
        f"{paths:,} paths x {scenario.n_institutions} institutions x {len(scenario.assets)} "
        f"assets x {days} days in {chunks} chunk(s)"
    )
