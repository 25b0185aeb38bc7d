"""``powderkeg link corr | spurious | claims``: quotable correlations and their guards."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from powderkeg.cli.console import CliState, emit


def _prices(store: Any, symbols: list[str], calendar: str, asof: str | None) -> Any:
    from powderkeg._validation import optional_date

    end = optional_date(asof, "--asof")
    return store.frame(symbols, end=end, calendar=calendar)


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
    calendar: Annotated[
        str,
        typer.Option(help="intersection (default), union-ffill, or an exchange code (XNYS)."),
    ] = "intersection",
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
    from powderkeg._validation import check_option
    from powderkeg.linkage.correlation import METHODS, ON, correlate
    from powderkeg.results import Provenance
    from powderkeg.transforms import RETURN_KINDS

    check_option(method, "--method", METHODS)
    check_option(on, "--on", ON)
    check_option(returns_kind, "--returns", RETURN_KINDS)
    state: CliState = ctx.obj
    with state.open_store(read_only=True) as store:
        prices = _prices(store, [a, b], calendar, asof)
        prov = Provenance(sources=store.provenance([a, b]))
    result = correlate(
        prices,
        a,
        b,
        window=window,
        method=method,
        on=on,
        returns_kind=returns_kind,
        asof=asof,
        ewma_halflife=ewma_halflife,
        calendar=calendar,
        provenance=prov,
    )
    emit(result, state)


def spurious(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="First symbol, e.g. BTC-USD.")],
    b: Annotated[str, typer.Argument(help="Second symbol, e.g. NVDA.")],
    window: Annotated[int, typer.Option(help="Price observations in the window.")] = 63,
    asof: Annotated[str | None, typer.Option(help="Window ends on or before this date.")] = None,
    max_lag: Annotated[int, typer.Option("--max-lag", help="Lead/lag scan up to this lag.")] = 5,
    calendar: Annotated[str, typer.Option(help="Alignment policy.")] = "intersection",
) -> None:
    """Is a level correlation spurious? Levels vs returns, ADF/KPSS, Engle-Granger, lead/lag.

    Example: [bold]powderkeg link spurious BTC-USD NVDA --window 63 --asof 2025-11-18[/bold]
    """
    from powderkeg.linkage.spurious import spurious_check
    from powderkeg.results import Provenance

    state: CliState = ctx.obj
    with state.open_store(read_only=True) as store:
        prices = _prices(store, [a, b], calendar, asof)
        prov = Provenance(sources=store.provenance([a, b]))
    result = spurious_check(
        prices,
        a,
        b,
        window=window,
        asof=asof,
        max_lag=max_lag,
        calendar=calendar,
        provenance=prov,
    )
    emit(result, state)


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
    from powderkeg._validation import optional_date
    from powderkeg.linkage.claims import evaluate_claims, load_claims

    state: CliState = ctx.obj
    parsed = load_claims(file)
    cutoff = optional_date(asof, "--asof")
    with state.open_store(read_only=True) as store:
        result = evaluate_claims(parsed, store, asof=cutoff)
    emit(result, state)


def add_commands(link_app: typer.Typer) -> None:
    """Register ``corr``, ``spurious`` and ``claims`` on the ``link`` group."""
    link_app.command("corr")(corr)
    link_app.command("spurious")(spurious)
    link_app.command("claims")(claims)
