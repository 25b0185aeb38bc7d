"""Stress commands (``powderkeg stress list | run``) as functions, for the CLI and the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from powderkeg.contagion.calibration import CalibrationResult
    from powderkeg.contagion.reverse import ReverseResult
    from powderkeg.contagion.scenario_spec import Scenario
    from powderkeg.contagion.validation import ValidationResult
    from powderkeg.data.store import Store
    from powderkeg.parallel import ProgressCallback
    from powderkeg.results import Provenance, Result

ENGINES = ("reduced", "agent")


def scenarios() -> Result:
    """The built-in stress scenarios (``stress list``)."""
    from powderkeg.contagion.scenario_spec import ScenarioCatalog, list_scenarios

    return ScenarioCatalog(list_scenarios())


@dataclass(frozen=True)
class RunPlan:
    """A validated stress run: the scenario and the sizes actually used."""

    scenario: Scenario
    engine: str
    paths: int
    chunk: int
    days: int | None

    def describe(self) -> str:
        """One line for a progress bar: scenario, engine and size."""
        from powderkeg.contagion.montecarlo import describe_size

        horizon = self.scenario.horizon_days if self.days is None else self.days
        size = describe_size(self.paths, self.scenario, horizon, self.chunk)
        return f"{self.scenario.name} ({self.engine}): {size}"


def plan(
    scenario: str,
    *,
    engine: str = "reduced",
    paths: int | None = None,
    chunk: int | None = None,
    days: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> RunPlan:
    """Validate a run's options and fill the engine's default sizes.

    Defaults: 10,000 paths in chunks of 1,000 for the reduced kernel, 256 in chunks of 64
    for the agent engine. ``workers`` sizes a local process pool or a ``dask-local``
    cluster; it cannot be combined with a remote ``scheduler``.
    """
    from powderkeg._validation import check_int, check_option
    from powderkeg.contagion.montecarlo import AGENT_CHUNK, AGENT_PATHS, CHUNK, MAX_PATHS
    from powderkeg.contagion.scenario_spec import load_scenario
    from powderkeg.parallel import check_backend

    check_option(engine, "engine", ENGINES)
    check_backend(workers, scheduler)
    if chunk is not None:
        check_int(chunk, "--chunk", minimum=1, maximum=MAX_PATHS)
    agent = engine == "agent"
    return RunPlan(
        scenario=load_scenario(scenario),
        engine=engine,
        paths=(AGENT_PATHS if agent else 10_000) if paths is None else paths,
        chunk=(AGENT_CHUNK if agent else CHUNK) if chunk is None else chunk,
        days=days,
    )


def run(
    store: Store,
    run_plan: RunPlan,
    *,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    use_cache: bool = True,
    progress: ProgressCallback | None = None,
) -> Result:
    """Monte Carlo stress run (``stress run``), cached in ``store`` by scenario hash and seed."""
    from powderkeg.contagion.montecarlo import run_stress

    return run_stress(
        run_plan.scenario,
        paths=run_plan.paths,
        seed=seed,
        days=run_plan.days,
        workers=workers,
        scheduler=scheduler,
        chunk=run_plan.chunk,
        progress=progress,
        store=store,
        use_cache=use_cache,
        engine=run_plan.engine,
    )


def drain(
    *,
    need: float = 1_500.0,
    quarters: int = 12,
    start: str = "2026-01-01",
    idle_buffer: float = 400.0,
    kappa_tp: float = 5.0,
    zeta: float = 0.5,
) -> Result:
    """The reverse-QE liquidity drain of ``need`` USD bn spread evenly over ``quarters``."""
    from powderkeg._validation import check_date, check_float, check_int
    from powderkeg.contagion.drain import DrainParams, simulate_drain

    check_date(start, "--start")
    check_float(need, "need", minimum=0.0)
    check_int(quarters, "quarters", minimum=1, maximum=200)
    params = DrainParams(kappa_tp=kappa_tp, zeta=zeta, idle_buffer=idle_buffer)
    return simulate_drain([need / quarters] * quarters, start=start, params=params)


#: Cache namespaces of validation scorecards and reverse stress tests.
VALIDATION_NAMESPACE = "stress-validate"
REVERSE_NAMESPACE = "stress-reverse"
#: Calibration choices of ``stress validate``: the shipped fit, the sourced priors, or a file.
SHIPPED_CALIBRATION = "shipped"
NO_CALIBRATION = "none"


def validate(
    store: Store,
    *,
    episodes: list[str] | None = None,
    paths: int = 128,
    seed: int = 1,
    calibration: str = SHIPPED_CALIBRATION,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
) -> ValidationResult:
    """Replay historical episodes through the agent engine and score them (``stress validate``).

    ``calibration`` is ``"shipped"`` (the fitted multipliers, with held-out replays from its
    leave-one-episode-out folds), ``"none"`` (the scenarios' sourced priors) or the path of a
    calibration file written by ``stress calibrate --write``. Results are cached in the store
    under the episodes' hashes, the calibration, the seed, the paths and the data version.
    """
    from powderkeg._validation import check_int
    from powderkeg.contagion.agent_scenario import AGENT_MODEL_VERSION
    from powderkeg.contagion.calibration import load_calibration
    from powderkeg.contagion.episode_spec import episodes_digest, load_episodes
    from powderkeg.contagion.multipliers import Multipliers
    from powderkeg.contagion.validation import ValidationResult, run_validation
    from powderkeg.parallel import check_backend

    check_backend(workers, scheduler)
    paths = check_int(paths, "--paths", minimum=8, maximum=5000)
    seed = check_int(seed, "--seed", minimum=0)
    eps = load_episodes(episodes)
    if calibration == NO_CALIBRATION:
        mult, folds, label = Multipliers(), None, "sourced priors (uncalibrated)"
    else:
        cal = load_calibration(None if calibration == SHIPPED_CALIBRATION else calibration)
        mult, folds, label = cal.multipliers, cal.folds, cal.label
    key = ":".join(
        [
            AGENT_MODEL_VERSION,
            episodes_digest(eps),
            json.dumps([mult.to_dict(), {k: v.to_dict() for k, v in (folds or {}).items()}]),
            f"paths={paths}:seed={seed}:data={store.data_version()}",
        ]
    )
    return _cached(
        store, VALIDATION_NAMESPACE, key, ValidationResult, progress,
        lambda: run_validation(
            eps, store, multipliers=mult, folds=folds, calibration_label=label, paths=paths,
            seed=seed, workers=workers, scheduler=scheduler, progress=progress,
        ),
    )  # fmt: skip


def calibrate(
    store: Store,
    *,
    episodes: list[str] | None = None,
    paths: int = 128,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
) -> CalibrationResult:
    """Fit the free parameters to the episodes with leave-one-episode-out errors."""
    from powderkeg._validation import check_int
    from powderkeg.contagion.calibration import calibrate as fit
    from powderkeg.contagion.episode_spec import load_episodes
    from powderkeg.parallel import check_backend

    check_backend(workers, scheduler)
    paths = check_int(paths, "--paths", minimum=4, maximum=2000)
    seed = check_int(seed, "--seed", minimum=0)
    return fit(
        load_episodes(episodes), store, paths=paths, seed=seed, workers=workers,
        scheduler=scheduler, progress=progress,
    )  # fmt: skip


def reverse(
    scenario: str,
    *,
    target: str,
    paths: int = 128,
    seed: int = 1,
    days: int | None = None,
    tolerance: float = 0.02,
    max_scale: float | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    store: Store | None = None,
) -> ReverseResult:
    """Smallest scale of the scenario's AI-equity shock at which ``target`` is likely.

    With a ``store`` the answer is cached under the scenario hash and the search settings
    (the same answer on every backend, so the backend is not part of the key).
    """
    from powderkeg.contagion.agent_scenario import AGENT_MODEL_VERSION
    from powderkeg.contagion.reverse import ReverseResult, check_target, reverse_stress
    from powderkeg.contagion.scenario_spec import load_scenario, scenario_hash
    from powderkeg.parallel import check_backend

    check_backend(workers, scheduler)
    check_target(target)
    scn = load_scenario(scenario)
    key = (
        f"{AGENT_MODEL_VERSION}:{scenario_hash(scn)}:{target}:paths={paths}:seed={seed}:"
        f"days={days}:tol={tolerance}:max={max_scale}"
    )
    return _cached(
        store, REVERSE_NAMESPACE, key, ReverseResult, progress,
        lambda: reverse_stress(
            scn, target, paths=paths, seed=seed, days=days, tolerance=tolerance,
            max_scale=max_scale, workers=workers, scheduler=scheduler, progress=progress,
        ),
    )  # fmt: skip


R = TypeVar("R", bound="Result")


def _cached(
    store: Store | None,
    namespace: str,
    key: str,
    kind: Callable[[dict[str, Any], Provenance], R],
    progress: ProgressCallback | None,
    compute: Callable[[], R],
) -> R:
    """``compute()``, or the result stored under ``key`` (stored afterwards when writable)."""
    from powderkeg.results import Provenance

    hit = None if store is None else store.cache_get(namespace, key)
    if hit is not None:
        if progress is not None:
            progress(1, 1, "cached")
        prov = hit["provenance"]
        return kind(hit["payload"], Provenance(prov["sources"], prov["parameters"], prov["seed"]))
    result = compute()
    if store is not None and not store.read_only:
        payload = result.to_dict()
        store.cache_put(
            namespace, key, {"payload": payload, "provenance": payload.pop("provenance")}
        )
    return result
