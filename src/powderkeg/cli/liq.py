"""``powderkeg liq``: Fed net liquidity, money growth, liquidity betas, capital scarcity."""

from __future__ import annotations

from typing import Annotated

import typer

from powderkeg.cli.console import JsonOut, emit_read, json_state
from powderkeg.cli.options import Start

liq_app = typer.Typer(
    help="Liquidity: Fed net liquidity, M2 and stablecoins, BTC's liquidity beta, "
    "capital scarcity.",
    no_args_is_help=True,
)

#: ``--asof`` of the liquidity commands: macro series count from their publication day.
Published = Annotated[
    str | None,
    typer.Option(help="Use only data published by this day (default: latest common)."),
]


def register(app: typer.Typer) -> None:
    """Attach the ``liq`` group to the main app."""
    app.add_typer(liq_app, name="liq")


@liq_app.command("net")
def net(
    ctx: typer.Context,
    start: Annotated[
        str | None, typer.Option(help="First day of the printed/JSON series (default: all).")
    ] = None,
    asof: Published = None,
    json_out: JsonOut = False,
) -> None:
    """Fed net liquidity = WALCL − TGA − RRP in USD billions, as of publication.

    Each day carries the latest published value of each component (WALCL Thursday, TGA next
    business day, RRP same day); carried-forward values are flagged. TGA: Daily Treasury
    Statement from 2022-04-18, WTREGEN weekly average before.

    Examples: [bold]powderkeg liq net[/bold] ·
    [bold]powderkeg liq net --asof 2025-12-10 --start 2025-01-01 --json[/bold]
    """
    from powderkeg.service import liq

    emit_read(json_state(ctx, json_out), liq.net, start=start, asof=asof)


@liq_app.command("beta")
def beta(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="The asset, e.g. BTC-USD.")] = "BTC-USD",
    max_lag_weeks: Annotated[
        int, typer.Option("--max-lag-weeks", help="Lags 0..N weeks of Δln net liquidity.")
    ] = 12,
    start: Start = None,
    asof: Published = None,
    extra: Annotated[
        list[str] | None,
        typer.Option("--extra", help="Extra regressor: m2 or stablecoin (repeatable)."),
    ] = None,
    hac_lags: Annotated[
        int | None, typer.Option("--hac-lags", help="Newey–West lags (default: rule of thumb).")
    ] = None,
    alpha: Annotated[float, typer.Option(help="Level of the Holm / BH decisions.")] = 0.05,
    measure: Annotated[
        str, typer.Option(help="log (Δln NL, elasticity) or level (ΔNL in USD tn).")
    ] = "log",
    sample_on: Annotated[
        str,
        typer.Option("--sample-on", help="publication (no look-ahead) or wednesday (level dates)."),
    ] = "publication",
    json_out: JsonOut = False,
) -> None:
    """Weekly liquidity beta at lags 0..N: OLS with HAC errors, Holm (headline) and BH.

    Weekly log returns of SYMBOL (close to close on H.4.1 publication days) on the weekly log
    change of Wednesday-aligned net liquidity k weeks earlier.

    Examples: [bold]powderkeg liq beta BTC-USD[/bold] ·
    [bold]powderkeg liq beta BTC-USD --max-lag-weeks 8 --extra m2 --json[/bold]
    """
    from powderkeg.service import liq

    emit_read(
        json_state(ctx, json_out),
        liq.beta,
        symbol,
        max_lag_weeks=max_lag_weeks,
        start=start,
        asof=asof,
        extras=extra or (),
        hac_lags=hac_lags,
        alpha=alpha,
        measure=measure,
        sample_on=sample_on,
    )


@liq_app.command("money")
def money_cmd(
    ctx: typer.Context,
    asof: Published = None,
    json_out: JsonOut = False,
) -> None:
    """M2 growth (YoY, 3m and 6m annualised, as published) and stablecoin supply growth.

    Examples: [bold]powderkeg liq money[/bold] ·
    [bold]powderkeg liq money --asof 2025-12-10 --json[/bold]
    """
    from powderkeg.service import liq

    emit_read(json_state(ctx, json_out), liq.money, asof=asof)


@liq_app.command("capital")
def capital(
    ctx: typer.Context,
    window: Annotated[int, typer.Option(help="Window in NYSE sessions.")] = 63,
    asof: Annotated[
        str | None,
        typer.Option(help="End of the window (default: last day all macro inputs are public)."),
    ] = None,
    min_score: Annotated[
        float, typer.Option("--min-score", help="Score (of 5) needed with a negative spread.")
    ] = 4.0,
    json_out: JsonOut = False,
) -> None:
    """Capital-scarcity ('reverse QE') monitor with printed thresholds and contributions.

    Scores the 10y yield, HY OAS, broad dollar and net-liquidity changes and the
    long-duration (BTC, NVDA, AMD, TSLA) minus cash-flow (MU, SNDK) return spread over the
    window, each against a printed threshold (weight 1 each).

    Examples: [bold]powderkeg liq capital[/bold] ·
    [bold]powderkeg liq capital --window 126 --asof 2026-04-24 --json[/bold]
    """
    from powderkeg.service import liq

    emit_read(json_state(ctx, json_out), liq.capital, window=window, asof=asof, min_score=min_score)
