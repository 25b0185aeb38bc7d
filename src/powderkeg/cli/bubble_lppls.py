"""``powderkeg bubble lppls | gauge | signals``: LPPLS fits and confidence, the gauge, backtests."""

from __future__ import annotations

from typing import Annotated

import typer

from powderkeg.cli.console import CliState, emit, progress
from powderkeg.cli.options import Asof, Scheduler, Seed, Start, Workers


def add_commands(bubble_app: typer.Typer) -> None:
    """Attach ``lppls``, ``gauge`` and ``signals`` to the ``bubble`` group."""

    @bubble_app.command("lppls")
    def lppls(
        ctx: typer.Context,
        symbol: Annotated[str, typer.Argument(help="Stored symbol, e.g. NVDA or BTC-USD.")],
        end: Annotated[str | None, typer.Option("--end", help="Last date used.")] = None,
        confidence: Annotated[
            bool, typer.Option("--confidence", help="Confidence indicator over nested windows.")
        ] = False,
        window: Annotated[int, typer.Option("--window", help="Largest window (obs).")] = 120,
        smallest: Annotated[
            int, typer.Option("--smallest", help="Nested windows stay above this length.")
        ] = 30,
        step: Annotated[int, typer.Option("--step", help="Nested window step (obs).")] = 5,
        days: Annotated[
            int, typer.Option("--days", help="End dates: the last N observations.")
        ] = 60,
        outer_step: Annotated[
            int, typer.Option("--outer-step", help="Spacing of end dates (obs).")
        ] = 1,
        n_starts: Annotated[int, typer.Option("--starts", help="Nelder-Mead starts per fit.")] = 4,
        workers: Workers = 1,
        scheduler: Scheduler = None,
        seed: Seed = 1,
    ) -> None:
        """LPPLS fit of the last --window prices, or the confidence indicator (--confidence).

        Example: [bold]powderkeg bubble lppls NVDA --confidence --days 120 --workers 2[/bold]
        """
        from contextlib import nullcontext

        from powderkeg.service import bubble

        state: CliState = ctx.obj
        bar = progress(state, f"LPPLS confidence {symbol}") if confidence else nullcontext()
        with state.open_store(read_only=True) as store, bar as update:
            result = bubble.lppls(
                store,
                symbol,
                end=end,
                confidence=confidence,
                window=window,
                smallest=smallest,
                step=step,
                days=days,
                outer_step=outer_step,
                n_starts=n_starts,
                seed=seed,
                workers=workers,
                scheduler=scheduler,
                progress=update,
            )
        emit(result, state)

    @bubble_app.command("gauge")
    def gauge(
        ctx: typer.Context,
        asof: Asof = None,
        fundamentals: Annotated[
            str | None,
            typer.Option(
                "--fundamentals",
                help="Capex/revenue/debt figures (.yaml or .csv); "
                "'example' for the shipped ai-2025.yaml.",
            ),
        ] = None,
        weights: Annotated[
            str | None, typer.Option("--weights", help="Override weights: psy=2,vix=0,...")
        ] = None,
        psy: Annotated[bool, typer.Option("--psy/--no-psy", help="Run PSY per series.")] = True,
        reps: Annotated[int, typer.Option("--reps", help="PSY Monte Carlo replications.")] = 499,
        lppls_days: Annotated[
            int, typer.Option("--lppls-days", help="End dates averaged for LPPLS confidence.")
        ] = 5,
        workers: Workers = 1,
        seed: Seed = 1,
    ) -> None:
        """Bubble-pressure gauge: every component, normalisation, weight and contribution.

        Example: [bold]powderkeg bubble gauge --fundamentals example[/bold]
        """
        from powderkeg.service import bubble

        state: CliState = ctx.obj
        with state.open_store(read_only=True) as store, progress(state, "bubble gauge") as update:
            result = bubble.gauge(
                store,
                asof=asof,
                fundamentals=fundamentals,
                weights=weights,
                psy=psy,
                reps=reps,
                lppls_days=lppls_days,
                seed=seed,
                workers=workers,
                progress=update,
            )
        emit(result, state)

    @bubble_app.command("signals")
    def signals(
        ctx: typer.Context,
        symbol: Annotated[str, typer.Argument(help="Stored symbol, e.g. ^IXIC or SP500.SHILLER.")],
        freq: Annotated[str, typer.Option("--freq", help="D, W or M.")] = "M",
        drawdown: Annotated[float, typer.Option("--drawdown", help="Event: fall >= this.")] = 0.2,
        horizon: Annotated[
            int, typer.Option("--horizon", help="... within this many calendar days.")
        ] = 60,
        psy: Annotated[bool, typer.Option("--psy/--no-psy", help="Score PSY.")] = True,
        lppls: Annotated[bool, typer.Option("--lppls/--no-lppls", help="Score LPPLS.")] = True,
        threshold: Annotated[
            float, typer.Option("--threshold", help="LPPLS flag: confidence >= this.")
        ] = 0.1,
        reps: Annotated[int, typer.Option("--reps", help="PSY Monte Carlo replications.")] = 499,
        start: Start = None,
        end: Annotated[str | None, typer.Option("--end", help="Last date.")] = None,
        workers: Workers = 1,
        seed: Seed = 1,
    ) -> None:
        """Precision/recall of PSY and LPPLS flags against later drawdowns, with the base rate.

        Example: [bold]powderkeg bubble signals ^IXIC --freq M --drawdown 0.2 --horizon 60[/bold]
        """
        from powderkeg.service import bubble

        state: CliState = ctx.obj
        with (
            state.open_store(read_only=True) as store,
            progress(state, f"signals {symbol}") as update,
        ):
            result = bubble.signals(
                store,
                symbol,
                freq=freq,
                drawdown=drawdown,
                horizon=horizon,
                psy=psy,
                lppls=lppls,
                threshold=threshold,
                reps=reps,
                start=start,
                end=end,
                seed=seed,
                workers=workers,
                progress=update,
            )
        emit(result, state)
