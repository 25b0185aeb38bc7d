"""The report's Liquidity section: net liquidity vs BTC, the liquidity beta, capital scarcity."""

from __future__ import annotations

import html

from powderkeg.exceptions import InputError
from powderkeg.report.context import Headline, ReportContext, Section

BTC = "BTC-USD"
CAPITAL_INPUTS = ("DGS10", "DTWEXBGS")


def _has_net_liquidity_inputs(ctx: ReportContext) -> bool:
    return ctx.available("WALCL", "RRPONTSYD") and (
        ctx.available("TGA") or ctx.available("WTREGEN")
    )


def _signed(value: float, unit: str) -> str:
    return f"{value:+,.1f} {unit}"


def section(ctx: ReportContext) -> Section | None:
    """Build the Liquidity section, or ``None`` when the store lacks net-liquidity inputs.

    Parts whose own inputs are missing (BTC, yields/spreads) are left out with a note.
    """
    from powderkeg.liquidity.beta import liquidity_beta
    from powderkeg.liquidity.capital import capital_scarcity
    from powderkeg.liquidity.net_liquidity import SYMBOLS, net_liquidity

    if not _has_net_liquidity_inputs(ctx):
        return None
    store = ctx.store
    ctx.used_symbols.update(s for s in SYMBOLS if ctx.available(s))
    nl = net_liquidity(store, asof=ctx.asof)
    last = nl.latest
    ch4 = {str(k): float(v) for k, v in nl.changes.to_dict(orient="index")["4w"].items()}
    sec = Section(
        "liquidity",
        "Liquidity",
        intro=(
            "Fed net liquidity (WALCL − TGA − RRP, USD billions) aligned as of publication, "
            "Bitcoin's weekly liquidity beta across lags with HAC errors and Holm-corrected "
            "p-values, and the capital-scarcity ('reverse QE') monitor."
        ),
        parameters={"asof": nl.asof.strftime("%Y-%m-%d")},
    )
    sec.headlines.append(
        Headline(
            "Fed net liquidity",
            f"${last['net_liquidity'] / 1000:.2f}tn",
            f"4w change {_signed(ch4['net_liquidity'], 'USD bn')} "
            f"({ch4['net_liquidity_pct']:+.2f}%), as of {nl.asof:%Y-%m-%d}",
        )
    )
    sec.blocks.append(nl.summary().as_html())

    if ctx.available(BTC):
        ctx.used_symbols.add(BTC)
        try:
            beta = liquidity_beta(store, BTC, 12, asof=ctx.asof)
        except InputError as exc:
            sec.blocks.append(f"<p>Liquidity beta not computed: {html.escape(str(exc))}</p>")
        else:
            best = beta.nl_table.loc[beta.best_lag]
            surv = beta.surviving_lags
            sec.headlines.append(
                Headline(
                    "BTC liquidity beta (weekly)",
                    f"{best['beta']:.2f} at lag {beta.best_lag}w",
                    (
                        f"lags {surv} survive Holm"
                        if surv
                        else f"no lag of 0–{beta.max_lag} survives Holm "
                        f"(best raw p {best['pvalue']:.3f})"
                    ),
                )
            )
            sec.blocks.append(beta.plot())
            sec.blocks.append(beta.summary().as_html())
            sec.blocks.append(beta.plot_lags())
    else:
        sec.blocks.append(f"<p>{BTC} is not stored: no BTC comparison.</p>")

    if ctx.available(*CAPITAL_INPUTS) and (
        ctx.available("BAMLH0A0HYM2") or ctx.available("BAMLH0A0HYM2.RECENT")
    ):
        try:
            cap = capital_scarcity(store, 63, asof=ctx.asof)
        except InputError as exc:
            sec.blocks.append(
                f"<p>Capital-scarcity monitor not computed: {html.escape(str(exc))}</p>"
            )
        else:
            ctx.used_symbols.update(
                s
                for s in (
                    *CAPITAL_INPUTS,
                    "BAMLH0A0HYM2",
                    "BAMLH0A0HYM2.RECENT",
                    *cap.members.index,
                )
                if ctx.available(s)
            )
            sec.headlines.append(
                Headline(
                    "Capital scarcity ('reverse QE')",
                    f"{'shown' if cap.regime else 'not shown'} ({cap.score:g}/5)",
                    f"63 sessions to {cap.asof:%Y-%m-%d}; rule: spread < 0 and score ≥ "
                    f"{cap.min_score:g}",
                )
            )
            sec.blocks.append(cap.summary().as_html())
            sec.blocks.append(cap.plot())
    return sec
