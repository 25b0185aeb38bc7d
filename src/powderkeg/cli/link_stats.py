"""``powderkeg link beta|tail|leadlag|granger|partial|event``: linkage statistics on stored data.

Each command calls its function in :mod:`powderkeg.service.link`, which loads aligned returns
through :func:`powderkeg.linkage._inputs.load_panel` (prices → log returns, rates and spreads →
first differences, universes → equal-weight baskets) and runs one estimator, and prints the
result (``--json`` for one JSON document).
"""

from __future__ import annotations

from typing import Annotated

import typer

from powderkeg.cli.console import JsonOut, emit_read, json_state
from powderkeg.cli.options import Asof, Calendar, Start

Controls = Annotated[
    list[str] | None,
    typer.Option(
        "--control",
        help="Control series (repeatable): any stored symbol (rates/spreads are differenced, "
        "prices and indices log-differenced) or NETLIQ (WALCL - TGA - RRPONTSYD).",
    ),
]

Dating = Annotated[
    str | None,
    typer.Option(
        "--control-dating",
        help="Date macro controls by 'publication' (no look-ahead) or 'observation' (the day "
        "they describe). Default: observation for partial, publication for granger.",
    ),
]


def add_commands(link_app: typer.Typer) -> None:
    """Register the statistics commands on the ``link`` group."""
    link_app.command("beta")(beta)
    link_app.command("tail")(tail)
    link_app.command("leadlag")(leadlag)
    link_app.command("granger")(granger)
    link_app.command("partial")(partial)
    link_app.command("event")(event)


def beta(
    ctx: typer.Context,
    asset: Annotated[str, typer.Argument(help="Asset symbol, e.g. BTC-USD.")],
    market: Annotated[
        str, typer.Argument(help="Market symbol (NVDA, ^IXIC) or a universe name (ai).")
    ],
    threshold: Annotated[
        float, typer.Option(help="Market return below which a period is 'down'.")
    ] = 0.0,
    hac_lags: Annotated[
        int | None, typer.Option("--hac-lags", help="Newey-West lags (default: NW rule).")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option(help="Block-bootstrap resamples for percentile CIs (0 = none).")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    start: Start = None,
    asof: Asof = None,
    calendar: Calendar = "intersection",
    json_out: JsonOut = False,
) -> None:
    """Up- and down-market betas, capture ratios and the test of equal betas.

    Example: [bold]powderkeg link beta BTC-USD ai --start 2023-01-01 --bootstrap 500[/bold]
    """
    from powderkeg.service import link

    emit_read(
        json_state(ctx, json_out),
        link.beta,
        asset,
        market,
        threshold=threshold,
        hac_lags=hac_lags,
        bootstrap=bootstrap,
        seed=seed,
        start=start,
        asof=asof,
        calendar=calendar,
    )


def tail(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="First asset, e.g. BTC-USD.")],
    b: Annotated[str, typer.Argument(help="Second asset (the conditioning one), e.g. NVDA.")],
    q: Annotated[
        float, typer.Option("--q", help="Tail level: a crash is below this quantile.")
    ] = 0.05,
    window: Annotated[
        int, typer.Option(help="Rolling window (returns) for the lambda path; 0 = none.")
    ] = 250,
    bootstrap: Annotated[int, typer.Option(help="Block-bootstrap resamples (0 = none).")] = 200,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    start: Start = None,
    asof: Asof = None,
    calendar: Calendar = "intersection",
    json_out: JsonOut = False,
) -> None:
    """Lower-tail dependence and co-crash probabilities, e.g. P(BTC crash | NVDA crash).

    Example: [bold]powderkeg link tail BTC-USD NVDA --q 0.05 --start 2020-01-01[/bold]
    """
    from powderkeg.service import link

    emit_read(
        json_state(ctx, json_out),
        link.tail,
        a,
        b,
        q=q,
        window=window,
        bootstrap=bootstrap,
        seed=seed,
        start=start,
        asof=asof,
        calendar=calendar,
    )


def leadlag(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="First asset (lag k > 0: A leads B).")],
    b: Annotated[str, typer.Argument(help="Second asset.")],
    max_lag: Annotated[int, typer.Option("--max-lag", help="Largest lead/lag examined.")] = 10,
    start: Start = None,
    asof: Asof = None,
    calendar: Calendar = "intersection",
    json_out: JsonOut = False,
) -> None:
    """Cross-correlations over ±k lags with Bartlett bands and the best lead/lag.

    Example: [bold]powderkeg link leadlag BTC-USD ^IXIC --max-lag 5 --start 2022-01-01[/bold]
    """
    from powderkeg.service import link

    emit_read(
        json_state(ctx, json_out),
        link.leadlag,
        a,
        b,
        max_lag=max_lag,
        start=start,
        asof=asof,
        calendar=calendar,
    )


def granger(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="First series (headline: does A cause B?).")],
    b: Annotated[str, typer.Argument(help="Second series.")],
    control: Controls = None,
    max_lag: Annotated[int, typer.Option("--max-lag", help="Test lags 1..max-lag.")] = 10,
    lag: Annotated[
        list[int] | None, typer.Option("--lag", help="Test only these lags (repeatable).")
    ] = None,
    select: Annotated[str, typer.Option(help="Headline lag: aic, bic or max.")] = "aic",
    hac: Annotated[bool, typer.Option("--hac", help="Newey-West HAC Wald test.")] = False,
    hac_lags: Annotated[int | None, typer.Option("--hac-lags", help="HAC lags.")] = None,
    control_dating: Dating = None,
    start: Start = None,
    asof: Asof = None,
    calendar: Calendar = "intersection",
    json_out: JsonOut = False,
) -> None:
    """Granger causality in both directions, optionally conditional on controls.

    Example: [bold]powderkeg link granger BTC-USD NVDA --control DGS10 --max-lag 5 --hac[/bold]
    """
    from powderkeg.service import link

    emit_read(
        json_state(ctx, json_out),
        link.granger,
        a,
        b,
        controls=control or (),
        max_lag=max_lag,
        lags=lag,
        select=select,
        hac=hac,
        hac_lags=hac_lags,
        control_dating=control_dating,
        start=start,
        asof=asof,
        calendar=calendar,
    )


def partial(
    ctx: typer.Context,
    a: Annotated[str, typer.Argument(help="First asset.")],
    b: Annotated[str, typer.Argument(help="Second asset.")],
    control: Controls = None,
    control_dating: Dating = None,
    start: Start = None,
    asof: Asof = None,
    calendar: Calendar = "intersection",
    json_out: JsonOut = False,
) -> None:
    """Correlation of A and B returns after regressing out controls, beside the raw one.

    Example: [bold]powderkeg link partial BTC-USD NVDA --control DGS10 --control DTWEXBGS[/bold]
    """
    from powderkeg.service import link

    emit_read(
        json_state(ctx, json_out),
        link.partial,
        a,
        b,
        controls=control or (),
        control_dating=control_dating,
        start=start,
        asof=asof,
        calendar=calendar,
    )


def event(
    ctx: typer.Context,
    symbols: Annotated[list[str], typer.Argument(help="Assets, e.g. ORCL NVDA AMD BTC-USD.")],
    date: Annotated[str, typer.Option("--date", help="Event date (YYYY-MM-DD).")],
    market: Annotated[str, typer.Option("--market", help="Market index.")] = "^GSPC",
    estimation: Annotated[
        int, typer.Option("--estimation", help="Estimation-window length (returns).")
    ] = 120,
    window: Annotated[
        str, typer.Option("--window", help="Event window start,end relative to day 0.")
    ] = "-1,5",
    gap: Annotated[int, typer.Option(help="Dates between estimation and event window.")] = 0,
    start: Start = None,
    asof: Asof = None,
    calendar: Calendar = "intersection",
    json_out: JsonOut = False,
) -> None:
    """Market-model abnormal returns and CARs around a date, for several assets at once.

    Example: [bold]powderkeg link event ORCL NVDA AMD BTC-USD --date 2025-12-11 --market ^GSPC
    --window=-1,5[/bold]
    """
    from powderkeg.service import link

    emit_read(
        json_state(ctx, json_out),
        link.event,
        symbols,
        date=date,
        market=market,
        estimation=estimation,
        window=window,
        gap=gap,
        start=start,
        asof=asof,
        calendar=calendar,
    )
