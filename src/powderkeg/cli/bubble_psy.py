"""``powderkeg bubble psy``: PSY GSADF test and BSADF date-stamping of one stored series."""

from __future__ import annotations

from typing import Annotated

import typer

from powderkeg.cli.console import CliState, emit, progress
from powderkeg.cli.options import Asof, Scheduler, Seed, Start, Workers


def add_commands(bubble_app: typer.Typer) -> None:
    """Attach ``psy`` to the ``bubble`` group."""

    @bubble_app.command("psy")
    def psy(
        ctx: typer.Context,
        symbol: Annotated[str, typer.Argument(help="Stored symbol, e.g. BTC-USD or NVDA.")],
        freq: Annotated[
            str, typer.Option("--freq", help="D (as stored), W (Friday) or M (month end).")
        ] = "D",
        min_window: Annotated[
            int | None,
            typer.Option(
                "--min-window",
                help="Minimum window in observations (default floor((0.01+1.8/sqrt T) T)).",
            ),
        ] = None,
        lags: Annotated[int, typer.Option("--lags", help="ADF lags (the maximum with --ic).")] = 0,
        ic: Annotated[
            str | None, typer.Option("--ic", help="Choose lags per window: aic or bic.")
        ] = None,
        trend: Annotated[str, typer.Option("--trend", help="c or ct.")] = "c",
        cv: Annotated[
            str,
            typer.Option("--cv", help="mc (Monte Carlo), wild (Phillips-Shi) or none."),
        ] = "mc",
        reps: Annotated[int, typer.Option("--reps", help="Replications.")] = 2000,
        seed: Seed = 1,
        level: Annotated[
            str, typer.Option("--level", help="Date-stamping level: 90%, 95% or 99%.")
        ] = "95%",
        min_duration: Annotated[
            int | None,
            typer.Option("--min-duration", help="Minimum episode length (default log T)."),
        ] = None,
        workers: Workers = 1,
        scheduler: Scheduler = None,
        start: Start = None,
        asof: Asof = None,
        log: Annotated[
            bool, typer.Option("--log/--no-log", help="Test log prices (default) or levels.")
        ] = True,
    ) -> None:
        """PSY GSADF test with BSADF date-stamping of explosive episodes.

        Example: [bold]powderkeg bubble psy BTC-USD --freq W --reps 2000 --seed 1[/bold]
        """
        from powderkeg.service import bubble

        state: CliState = ctx.obj
        label = "Monte Carlo" if cv == "mc" else "wild bootstrap"
        with (
            state.open_store() as store,
            progress(state, f"{label} critical values") as update,
        ):
            result = bubble.psy(
                store,
                symbol,
                freq=freq,
                min_window=min_window,
                lags=lags,
                ic=ic,
                trend=trend,
                cv=cv,
                reps=reps,
                seed=seed,
                level=level,
                min_duration=min_duration,
                start=start,
                asof=asof,
                log=log,
                workers=workers,
                scheduler=scheduler,
                progress=update,
            )
        emit(result, state)
