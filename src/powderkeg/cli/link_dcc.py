"""``powderkeg link dcc | regimes``: dynamic conditional correlation and Markov regimes."""

from __future__ import annotations

from typing import Annotated

import typer

from powderkeg.cli.console import emit_read
from powderkeg.cli.options import Asof, Calendar, Start


def dcc(
    ctx: typer.Context,
    symbols: Annotated[list[str], typer.Argument(help="Two or more symbols, e.g. BTC-USD NVDA.")],
    asymmetric: Annotated[
        bool, typer.Option("--asymmetric", help="ADCC: joint negative shocks raise correlation.")
    ] = False,
    dist: Annotated[str, typer.Option(help="normal or t (Student-t).")] = "normal",
    mean: Annotated[str, typer.Option(help="constant or zero mean of each GARCH.")] = "constant",
    start: Start = None,
    asof: Asof = None,
    forecast: Annotated[
        int | None, typer.Option(help="Also forecast the correlations H steps ahead.")
    ] = None,
    calendar: Calendar = "intersection",
) -> None:
    """DCC/ADCC-GARCH(1,1) conditional correlations on daily log returns x 100.

    Example: [bold]powderkeg link dcc BTC-USD NVDA ^IXIC --asymmetric --start 2020-01-01
    --forecast 10[/bold]
    """
    from powderkeg.service import link

    emit_read(
        ctx.obj,
        link.dcc,
        symbols,
        asymmetric=asymmetric,
        dist=dist,
        mean=mean,
        start=start,
        asof=asof,
        forecast=forecast,
        calendar=calendar,
    )


def regimes(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="First symbol, e.g. BTC-USD.")],
    b: Annotated[str, typer.Argument(help="Second symbol, e.g. NVDA.")],
    window: Annotated[int, typer.Option(help="Rolling-correlation window (--on corr).")] = 60,
    on: Annotated[
        str, typer.Option(help="corr (rolling correlation) or vol (A's return volatility).")
    ] = "corr",
    start: Start = None,
    asof: Asof = None,
    calendar: Calendar = "intersection",
) -> None:
    """Two-state Markov regimes of the link: high/low correlation or high/low volatility.

    Example: [bold]powderkeg link regimes BTC-USD NVDA --window 60 --on corr[/bold]
    """
    from powderkeg.service import link

    emit_read(
        ctx.obj, link.regimes, a, b, window=window, on=on, start=start, asof=asof, calendar=calendar
    )


def add_commands(link_app: typer.Typer) -> None:
    """Register ``dcc`` and ``regimes`` on the ``link`` group."""
    link_app.command("dcc")(dcc)
    link_app.command("regimes")(regimes)
