"""Stress commands (``powderkeg stress list | run``) as functions, as the API serves them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from powderkeg.data.store import Store
    from powderkeg.parallel import ProgressCallback
    from powderkeg.results import Result


def scenarios() -> Result:
    """The built-in stress scenarios (``stress list``)."""
    from powderkeg.contagion.scenario_spec import ScenarioCatalog, list_scenarios

    return ScenarioCatalog(list_scenarios())


def run(
    store: Store,
    scenario: str,
    *,
    paths: int = 10_000,
    seed: int = 1,
    days: int | None = None,
    chunk: int = 1000,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
) -> Result:
    """Monte Carlo stress run of a scenario, by name or file (``stress run``).

    The run is cached in ``store`` by scenario hash, paths, days and seed.
    """
    from powderkeg.contagion.montecarlo import run_stress
    from powderkeg.contagion.scenario_spec import load_scenario

    return run_stress(
        load_scenario(scenario),
        paths=paths,
        seed=seed,
        days=days,
        workers=workers,
        scheduler=scheduler,
        chunk=chunk,
        progress=progress,
        store=store,
        use_cache=True,
    )
