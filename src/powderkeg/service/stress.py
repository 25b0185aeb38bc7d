"""Stress commands (``powderkeg stress list | run``) as functions, for the CLI and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from powderkeg.contagion.scenario_spec import Scenario
    from powderkeg.data.store import Store
    from powderkeg.parallel import ProgressCallback
    from powderkeg.results import Result

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
