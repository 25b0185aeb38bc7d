"""``powderkeg stress`` (Monte Carlo stress scenarios) and ``powderkeg scenario`` (BTC path)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from powderkeg.cli.console import CliState, JsonOut, emit, json_state, progress
from powderkeg.cli.options import Seed, Workers

stress_app = typer.Typer(
    help=(
        "Stress scenarios: Monte Carlo contagion runs over uncertain parameters, with the fast "
        "reduced kernel or the full agent engine, and single-path traces of the agent engine."
    ),
    no_args_is_help=True,
)

ENGINE_HELP = (
    "'reduced' (default, fast: fire sales, redemptions, credit write-downs, two-phase BTC, "
    "policy pivot; no margin calls, repo haircuts or clearing) or 'agent' (full daily "
    "schedule: margin calls, haircuts, collateral seizure, network clearing, stablecoin "
    "waterfall, central-bank QE and facilities; slow, capped run size)."
)
scenario_app = typer.Typer(
    help="Scenario paths: the two-phase BTC path (shock, policy pivot, recovery).",
    no_args_is_help=True,
)


@stress_app.command("list")
def list_cmd(ctx: typer.Context) -> None:
    """List the built-in scenarios with their descriptions.

    Example: [bold]powderkeg stress list[/bold]
    """
    from powderkeg.service import stress

    state: CliState = ctx.obj
    emit(stress.scenarios(), state)


@stress_app.command("run")
def run_cmd(
    ctx: typer.Context,
    scenario: Annotated[
        str, typer.Argument(help="Built-in scenario name (see 'stress list') or a YAML file.")
    ],
    paths: Annotated[
        int | None,
        typer.Option(
            "--paths",
            help="Monte Carlo paths (default 10,000 reduced / 256 agent; max 1,000,000 / 20,000).",
        ),
    ] = None,
    seed: Seed = 1,
    days: Annotated[
        int | None, typer.Option("--days", help="Horizon in days (default: the scenario's).")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Local processes (or dask-local workers).")
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address, or 'dask-local'."),
    ] = None,
    chunk: Annotated[
        int | None,
        typer.Option("--chunk", help="Paths per task (default 1000 reduced / 64 agent)."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Recompute even if this run is cached.")
    ] = False,
    engine: Annotated[str, typer.Option("--engine", help=ENGINE_HELP)] = "reduced",
) -> None:
    """Run a stress scenario: losses, defaults, fire sales, BTC quantiles.

    Every scenario figure is drawn per path within its range; chunks of paths are seeded
    with SeedSequence.spawn, so the same seed gives the same numbers serially, on local
    processes or on a Dask cluster. Results are cached in the store.

    Engines: 'reduced' (default) is the vectorised kernel — leverage-threshold fire sales,
    fund and stablecoin redemptions, counterparty write-downs, two-phase BTC and the policy
    pivot, but no repo margin calls, haircuts or network clearing. 'agent' runs the
    double-entry agent engine with the full daily schedule (margin calls with procyclical
    haircuts, collateral seizure, Rogers–Veraart clearing, stablecoin waterfall, central-bank
    QE and facility loans, market calendars) on the same seeded draws; it is slower (10,000
    paths of ai-correction take about a minute on 2 workers), so runs are capped at 20,000
    paths and 2e8 paths x institutions x days.

    Examples
    --------
      [bold]powderkeg stress run ai-correction --paths 10000[/bold]

      [bold]powderkeg stress run ai-correction --engine agent --paths 10000 --workers 2[/bold]

      [bold]powderkeg stress run covid-2020 --paths 50000 --workers 2 --seed 7[/bold]

      [bold]powderkeg stress run my-scenario.yaml --scheduler tcp://10.0.0.5:8786[/bold]

      [bold]powderkeg --json stress run oracle-shock --paths 2000 --days 30[/bold]
    """
    from powderkeg.service import stress

    state: CliState = ctx.obj
    run_plan = stress.plan(
        scenario, engine=engine, paths=paths, chunk=chunk, days=days, workers=workers,
        scheduler=scheduler,
    )  # fmt: skip
    with state.open_store() as store, progress(state, run_plan.describe()) as update:
        result = stress.run(
            store, run_plan, seed=seed, workers=workers, scheduler=scheduler,
            use_cache=not no_cache, progress=update,
        )  # fmt: skip
    emit(result, state)


@stress_app.command("trace")
def trace_cmd(
    ctx: typer.Context,
    scenario: Annotated[
        str, typer.Argument(help="Built-in scenario name (see 'stress list') or a YAML file.")
    ],
    seed: Annotated[
        int, typer.Option("--seed", help="Seed (the path is path 0 of 'run --engine agent').")
    ] = 1,
    days: Annotated[
        int | None, typer.Option("--days", help="Horizon in days (default: the scenario's).")
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """Trace one path through the full agent engine: who sold what, who defaulted, policy.

    Prints the event log (sales per day, agent and asset; margin calls, liquidations,
    redemptions, defaults, policy decisions), losses and defaults by institution type and
    the central bank's actions. Invariants (ledger identity, cash and units conservation,
    bounds) are checked after every sub-step. The path is the first path of
    'stress run SCENARIO --engine agent --seed S' (same draws); --json gives every event.

    Examples
    --------
      [bold]powderkeg stress trace ai-correction[/bold]

      [bold]powderkeg stress trace covid-2020 --seed 7 --days 30 --json[/bold]
    """
    from powderkeg._validation import check_int
    from powderkeg.contagion.agent_trace import trace
    from powderkeg.contagion.montecarlo import AGENT_CHUNK, MAX_DAYS
    from powderkeg.contagion.scenario_spec import load_scenario

    state = json_state(ctx, json_out)
    scn = load_scenario(scenario)
    check_int(seed, "--seed", minimum=0)
    horizon = scn.horizon_days if days is None else days
    horizon = check_int(horizon, "--days", minimum=1, maximum=MAX_DAYS)
    with progress(state, f"{scn.name}: one agent-engine path x {horizon} days"):
        result = trace(scn, seed=seed, days=horizon, chunk=AGENT_CHUNK)
    emit(result, state)


Episodes = Annotated[
    list[str] | None,
    typer.Option(
        "--episode",
        help="An episode to replay (repeat the option; default: all built-in episodes: "
        "march-2020, terra-2022, svb-2023, oct-2025).",
    ),
]


@stress_app.command("validate")
def validate_cmd(
    ctx: typer.Context,
    episode: Episodes = None,
    paths: Annotated[int, typer.Option("--paths", help="Agent-engine paths per episode.")] = 128,
    seed: Seed = 1,
    calibration: Annotated[
        str,
        typer.Option(
            "--calibration",
            help="'shipped' (the fitted parameters, with held-out replays), 'none' (sourced "
            "priors) or a calibration file from 'stress calibrate --write'.",
        ),
    ] = "shipped",
    workers: Workers = 1,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address or 'dask-local'.")
    ] = None,
) -> None:
    """Replay historical episodes through the agent engine and score the model against history.

    Episodes (March 2020 dash for cash, Terra/UST May 2022, SVB and USDC March 2023, the
    10-11 Oct 2025 liquidation cascade) give only shock inputs; the observed outcomes come
    from the store (BTC-USD, ETH-USD, HYG, TLT, ^VIX, DGS10, STABLECOIN_SUPPLY: import
    ../shared/data/datapackage.json first) and from published figures recorded with their
    sources. Per episode the scorecard shows, for every target, direction right or wrong,
    size error, timing error and the held-out error (parameters fitted without the episode),
    and which mechanisms fired (margin calls, fire sales, redemptions, stablecoin reserve
    sales, policy) against what history says.

    Examples
    --------
      [bold]powderkeg stress validate[/bold]

      [bold]powderkeg stress validate --episode svb-2023 --paths 256 --workers 2[/bold]

      [bold]powderkeg --json stress validate --calibration none[/bold]
    """
    from powderkeg.service import stress

    state: CliState = ctx.obj
    with state.open_store() as store, progress(state, "episode replays (agent engine)") as bar:
        result = stress.validate(
            store, episodes=episode, paths=paths, seed=seed, calibration=calibration,
            workers=workers, scheduler=scheduler, progress=bar,
        )  # fmt: skip
    emit(result, state)


@stress_app.command("calibrate")
def calibrate_cmd(
    ctx: typer.Context,
    episode: Episodes = None,
    paths: Annotated[int, typer.Option("--paths", help="Paths per replay.")] = 128,
    seed: Seed = 1,
    workers: Workers = 1,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address or 'dask-local'.")
    ] = None,
    write: Annotated[
        str | None,
        typer.Option("--write", help="Write the calibration YAML here (for --calibration)."),
    ] = None,
) -> None:
    """Fit price impact, redemption and withdrawal sensitivities and the liquidity response.

    A coordinate search on a grid of multipliers of the scenarios' sourced priors, with
    common random numbers, fitted on all episodes and once per episode without it: the
    scorecard shows in-sample and leave-one-episode-out (held-out) errors side by side and
    the jackknife uncertainty of each parameter. Several hundred agent-engine replays: use
    --workers 2.

    Example: [bold]powderkeg stress calibrate --workers 2 --write my-calibration.yaml[/bold]
    """
    from pathlib import Path

    from powderkeg.service import stress

    state: CliState = ctx.obj
    with state.open_store(read_only=True) as store, progress(state, "calibration") as bar:
        result = stress.calibrate(
            store, episodes=episode, paths=paths, seed=seed, workers=workers,
            scheduler=scheduler, progress=bar,
        )  # fmt: skip
    if write is not None:
        result.write(Path(write))
    emit(result, state)


@stress_app.command("reverse")
def reverse_cmd(
    ctx: typer.Context,
    scenario: Annotated[
        str, typer.Argument(help="Built-in scenario name (see 'stress list') or a YAML file.")
    ],
    target: Annotated[
        str,
        typer.Option(
            "--target",
            help="stablecoin-treasury-sales, bank-default, btc-below-50 or hedge-fund-default.",
        ),
    ],
    paths: Annotated[int, typer.Option("--paths", help="Agent-engine paths per scale.")] = 128,
    seed: Seed = 1,
    days: Annotated[
        int | None, typer.Option("--days", help="Horizon in days (default: the scenario's).")
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Width of the final bracket on the scale.")
    ] = 0.02,
    max_scale: Annotated[
        float | None,
        typer.Option("--max-scale", help="Largest scale tried (default: a 95% AI-equity fall)."),
    ] = None,
    workers: Workers = 1,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address or 'dask-local'.")
    ] = None,
) -> None:
    """Reverse stress test: the smallest AI-equity shock at which TARGET happens on half the paths.

    The scenario's AI-equity shock is scaled and run through the agent engine on the same
    seeded paths at every scale; bisection finds the smallest scale with P(target) >= 1/2.
    The answer states the bracket and the Monte Carlo error, or "not reached up to scale X".
    Serial, --workers and --scheduler runs give the same answer.

    Examples
    --------
      [bold]powderkeg stress reverse ai-correction --target bank-default[/bold]

      [bold]powderkeg stress reverse ai-correction --target btc-below-50 --workers 2[/bold]
    """
    from powderkeg.service import stress

    state: CliState = ctx.obj
    with state.open_store() as store, progress(state, f"reverse stress: {target}") as bar:
        result = stress.reverse(
            scenario, target=target, paths=paths, seed=seed, days=days, tolerance=tolerance,
            max_scale=max_scale, workers=workers, scheduler=scheduler, progress=bar, store=store,
        )  # fmt: skip
    emit(result, state)


@scenario_app.command("btc")
def btc_cmd(
    ctx: typer.Context,
    ai_shock: Annotated[
        float, typer.Option("--ai-shock", help="AI-equity correction in percent (e.g. 30).")
    ] = 30.0,
    policy_lag_weeks: Annotated[
        float, typer.Option("--policy-lag-weeks", help="Policy lag L_p in weeks.")
    ] = 3.0,
    paths: Annotated[int, typer.Option("--paths", help="Monte Carlo paths.")] = 5000,
    seed: Seed = 1,
    days: Annotated[int, typer.Option("--days", help="Horizon in days.")] = 365,
    survive: Annotated[
        float,
        typer.Option("--survive", help="Drawdown (percent) that counts as not surviving."),
    ] = 50.0,
    no_policy: Annotated[
        bool, typer.Option("--no-policy", help="No pivot at all (2022 counterfactual).")
    ] = False,
    grid_paths: Annotated[
        int, typer.Option("--grid-paths", help="Paths per sensitivity-grid cell.")
    ] = 1000,
    workers: Workers = 1,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address or 'dask-local'.")
    ] = None,
) -> None:
    """Two-phase BTC path: shock, lagged policy pivot, liquidity-driven recovery (spec §6).

    Prints P(BTC survives the first hit), P(BTC gains from the second wave) and how both
    move with the size of the AI correction and the policy lag; --json adds the fan chart.

    Examples
    --------
      [bold]powderkeg scenario btc[/bold]

      [bold]powderkeg scenario btc --ai-shock 40 --policy-lag-weeks 6 --paths 20000[/bold]

      [bold]powderkeg scenario btc --no-policy --days 300[/bold]
    """
    from powderkeg._validation import check_float, check_int
    from powderkeg.parallel import check_backend
    from powderkeg.scenarios.two_phase import MAX_PATHS, TwoPhaseParams, run_btc_scenario

    state: CliState = ctx.obj
    check_backend(workers, scheduler)
    shock = check_float(ai_shock, "--ai-shock", minimum=0.0, maximum=95.0) / 100.0
    weeks = check_float(policy_lag_weeks, "--policy-lag-weeks", minimum=1 / 7, maximum=520.0)
    check_int(paths, "--paths", minimum=1, maximum=MAX_PATHS)
    check_int(seed, "--seed", minimum=0)
    thr = check_float(survive, "--survive", minimum=1.0, maximum=99.0) / 100.0
    params = TwoPhaseParams(ai_shock=shock, lag_days=max(1, round(weeks * 7)), policy=not no_policy)
    start_price, sources = _btc_start(state)
    with progress(state, f"two-phase BTC path: {paths:,} paths x {days} days") as update:
        result = run_btc_scenario(
            params,
            paths=paths,
            days=days,
            seed=seed,
            survive_threshold=thr,
            start_price=start_price,
            grid_paths=grid_paths,
            workers=workers,
            scheduler=scheduler,
            progress=update,
        )
    result.provenance.sources.extend(sources)
    emit(result, state)


def _btc_start(state: CliState) -> tuple[float, list[dict[str, Any]]]:
    """The latest stored BTC-USD close (and its provenance), or 100 as an index."""
    with state.open_store() as store:
        if "BTC-USD" not in store.symbols():
            return 100.0, []
        close = store.frame(["BTC-USD"])["BTC-USD"].dropna()
        if close.empty:
            return 100.0, []
        return float(close.iloc[-1]), store.provenance(["BTC-USD"])


@scenario_app.command("drain")
def drain_cmd(
    ctx: typer.Context,
    need: Annotated[
        float, typer.Option("--need", help="External financing need of AI capex, USD bn.")
    ] = 1_500.0,
    quarters: Annotated[int, typer.Option("--quarters", help="Quarters to spread it over.")] = 12,
    idle_buffer: Annotated[
        float, typer.Option("--idle-buffer", help="Idle capital (RRP, excess cash), USD bn.")
    ] = 400.0,
    kappa_tp: Annotated[
        float, typer.Option("--kappa-tp", help="Term premium bp per 1% of GDP un-absorbed.")
    ] = 5.0,
    zeta: Annotated[
        float, typer.Option("--zeta", help="Share of the idle pool absorbable per quarter.")
    ] = 0.5,
    start: Annotated[str, typer.Option("--start", help="First day of the first quarter.")] = (
        "2026-01-01"
    ),
    json_out: JsonOut = False,
) -> None:
    """The "reverse QE" drain: AI capex financing absorbed by idle capital, then crowding out.

    Prints absorption, crowding-out sales by asset, the term-premium change and price changes
    (model-spec §5.5; Morgan Stanley's ~$1.5tn funding gap over three years by default).

    Example: [bold]powderkeg scenario drain --need 1500 --quarters 12 --idle-buffer 100[/bold]
    """
    from powderkeg.service import stress

    state = json_state(ctx, json_out)
    emit(
        stress.drain(
            need=need, quarters=quarters, start=start, idle_buffer=idle_buffer,
            kappa_tp=kappa_tp, zeta=zeta,
        ),
        state,
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Attach the ``stress`` and ``scenario`` groups to the main app."""
    app.add_typer(stress_app, name="stress")
    app.add_typer(scenario_app, name="scenario")
