"""``powderkeg link dcc | regimes``: dynamic conditional correlation and Markov regimes."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from powderkeg.cli.console import CliState, emit


def _log_returns(
    store: Any, symbols: list[str], start: str | None, asof: str | None, calendar: str
) -> Any:
    """Aligned log returns (the first aligned date is dropped), cut at ``start``/``asof``."""
    from powderkeg._validation import optional_date
    from powderkeg.exceptions import InputError
    from powderkeg.transforms import returns

    if len(set(symbols)) != len(symbols):
        raise InputError(f"symbols must be distinct, got {', '.join(symbols)}")
    s, e = optional_date(start, "--start"), optional_date(asof, "--asof")
    prices = store.frame(symbols, end=e, calendar=calendar).dropna()
    out = returns(prices, "log")
    if s is not None:
        out = out.loc[out.index >= s]
    return out


def dcc(
    ctx: typer.Context,
    symbols: Annotated[list[str], typer.Argument(help="Two or more symbols, e.g. BTC-USD NVDA.")],
    asymmetric: Annotated[
        bool, typer.Option("--asymmetric", help="ADCC: joint negative shocks raise correlation.")
    ] = False,
    dist: Annotated[str, typer.Option(help="normal or t (Student-t).")] = "normal",
    mean: Annotated[str, typer.Option(help="constant or zero mean of each GARCH.")] = "constant",
    start: Annotated[str | None, typer.Option(help="First return date (default: all).")] = None,
    asof: Annotated[str | None, typer.Option(help="Last date used (default: latest).")] = None,
    forecast: Annotated[
        int | None, typer.Option(help="Also forecast the correlations H steps ahead.")
    ] = None,
    calendar: Annotated[
        str, typer.Option(help="intersection (default), union-ffill, or an exchange code.")
    ] = "intersection",
) -> None:
    """DCC/ADCC-GARCH(1,1) conditional correlations on daily log returns x 100.

    Example: [bold]powderkeg link dcc BTC-USD NVDA ^IXIC --asymmetric --start 2020-01-01
    --forecast 10[/bold]
    """
    from powderkeg._validation import check_int, check_option
    from powderkeg.exceptions import InputError
    from powderkeg.linkage.dcc import DCC, DISTS, MEANS
    from powderkeg.results import Provenance

    check_option(dist, "--dist", DISTS)
    check_option(mean, "--mean", MEANS)
    if forecast is not None:
        check_int(forecast, "--forecast", minimum=1, maximum=1000)
    if len(symbols) < 2:
        raise InputError(f"link dcc needs at least two symbols, got {len(symbols)}")
    state: CliState = ctx.obj
    with state.open_store(read_only=True) as store:
        rets = _log_returns(store, symbols, start, asof, calendar)
        sources = store.provenance(symbols)
    prov = Provenance(
        sources=sources,
        parameters={
            "model": "ADCC" if asymmetric else "DCC",
            "dist": dist,
            "mean": mean,
            "calendar": calendar,
            "start": start,
            "asof": asof,
            "forecast": forecast,
            "returns": "log x 100",
        },
    )
    result = DCC(100.0 * rets, asymmetric=asymmetric, mean=mean, dist=dist).fit(provenance=prov)
    emit(result, state)


def regimes(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="First symbol, e.g. BTC-USD.")],
    b: Annotated[str, typer.Argument(help="Second symbol, e.g. NVDA.")],
    window: Annotated[int, typer.Option(help="Rolling-correlation window (--on corr).")] = 60,
    on: Annotated[
        str, typer.Option(help="corr (rolling correlation) or vol (A's return volatility).")
    ] = "corr",
    start: Annotated[str | None, typer.Option(help="First return date (default: all).")] = None,
    asof: Annotated[str | None, typer.Option(help="Last date used (default: latest).")] = None,
    calendar: Annotated[
        str, typer.Option(help="intersection (default), union-ffill, or an exchange code.")
    ] = "intersection",
) -> None:
    """Two-state Markov regimes of the link: high/low correlation or high/low volatility.

    Example: [bold]powderkeg link regimes BTC-USD NVDA --window 60 --on corr[/bold]
    """
    from powderkeg._validation import check_int, check_option
    from powderkeg.linkage.regimes import ON
    from powderkeg.linkage.regimes import regimes as fit_regimes
    from powderkeg.results import Provenance

    check_option(on, "--on", ON)
    check_int(window, "--window", minimum=5)
    state: CliState = ctx.obj
    with state.open_store(read_only=True) as store:
        rets = _log_returns(store, [a, b], start, asof, calendar)
        sources = store.provenance([a, b])
    prov = Provenance(
        sources=sources,
        parameters={"on": on, "window": window, "calendar": calendar, "start": start, "asof": asof},
    )
    result = fit_regimes(rets, a, b, window=window, on=on, provenance=prov)
    emit(result.with_extras(calendar=calendar), state)


def add_commands(link_app: typer.Typer) -> None:
    """Register ``dcc`` and ``regimes`` on the ``link`` group."""
    link_app.command("dcc")(dcc)
    link_app.command("regimes")(regimes)
