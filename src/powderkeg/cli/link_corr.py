"""``powderkeg link corr | spurious | claims``: quotable correlations and their guards."""

from __future__ import annotations

from typing import Annotated

import typer

from powderkeg.cli.console import emit_read
from powderkeg.cli.options import Calendar


def corr(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="First symbol, e.g. BTC-USD.")],
    b: Annotated[str, typer.Argument(help="Second symbol, e.g. ^IXIC.")],
    window: Annotated[
        str,
        typer.Option(help="Observations (30) or a calendar span (90D, 13W, 3M, 1Y)."),
    ] = "30",
    method: Annotated[str, typer.Option(help="pearson, spearman or kendall.")] = "pearson",
    on: Annotated[str, typer.Option(help="returns or levels.")] = "returns",
    returns_kind: Annotated[str, typer.Option("--returns", help="log or simple returns.")] = "log",
    calendar: Calendar = "intersection",
    asof: Annotated[
        str | None, typer.Option(help="Value at the last aligned date on or before this date.")
    ] = None,
    ewma_halflife: Annotated[
        float | None,
        typer.Option("--ewma-halflife", help="EWMA Pearson correlation with this half-life."),
    ] = None,
) -> None:
    """Rolling correlation of two series, with method, calendar and sample stated.

    Example: [bold]powderkeg link corr BTC-USD ^IXIC --window 30 --asof 2025-12-10[/bold]
    """
    from powderkeg.service import link

    emit_read(
        ctx.obj,
        link.corr,
        a,
        b,
        window=window,
        method=method,
        on=on,
        returns_kind=returns_kind,
        calendar=calendar,
        asof=asof,
        ewma_halflife=ewma_halflife,
    )


def spurious(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="First symbol, e.g. BTC-USD.")],
    b: Annotated[str, typer.Argument(help="Second symbol, e.g. NVDA.")],
    window: Annotated[int, typer.Option(help="Price observations in the window.")] = 63,
    asof: Annotated[str | None, typer.Option(help="Window ends on or before this date.")] = None,
    max_lag: Annotated[int, typer.Option("--max-lag", help="Lead/lag scan up to this lag.")] = 5,
    calendar: Calendar = "intersection",
) -> None:
    """Is a level correlation spurious? Levels vs returns, ADF/KPSS, Engle-Granger, lead/lag.

    Example: [bold]powderkeg link spurious BTC-USD NVDA --window 63 --asof 2025-11-18[/bold]
    """
    from powderkeg.service import link

    emit_read(
        ctx.obj, link.spurious, a, b, window=window, asof=asof, max_lag=max_lag, calendar=calendar
    )


def claims(
    ctx: typer.Context,
    file: Annotated[
        str, typer.Argument(help="A claims YAML file, or a shipped name such as press-2025.")
    ],
    asof: Annotated[str | None, typer.Option(help="Use no data after this date.")] = None,
) -> None:
    """Check quantitative claims (correlation, % change, beta, drawdown) against the store.

    Example: [bold]powderkeg link claims press-2025[/bold]  (the shipped press claims), or
    [bold]powderkeg link claims my-claims.yaml[/bold]
    """
    from powderkeg.service import link

    emit_read(ctx.obj, link.claims, file, asof=asof)


def add_commands(link_app: typer.Typer) -> None:
    """Register ``corr``, ``spurious`` and ``claims`` on the ``link`` group."""
    link_app.command("corr")(corr)
    link_app.command("spurious")(spurious)
    link_app.command("claims")(claims)
