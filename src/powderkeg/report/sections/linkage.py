"""Report section "Linkage": BTC against NVDA and the Nasdaq, on returns and on levels."""

from __future__ import annotations

import html

import pandas as pd

from powderkeg.exceptions import InputError
from powderkeg.figures import line_chart
from powderkeg.linkage.claims import evaluate_claims, load_claims
from powderkeg.linkage.correlation import RollingCorrelationResult, correlate
from powderkeg.linkage.spurious import spurious_check
from powderkeg.report.context import Headline, ReportContext, Section
from powderkeg.report.sections.linkage_risk import add_risk_blocks

BTC = "BTC-USD"
PEERS = ("NVDA", "^IXIC")
LABELS = {"NVDA": "NVDA", "^IXIC": "Nasdaq"}
WINDOW = 30
SPURIOUS_WINDOW = 63
#: Years of rolling history shown in the chart.
CHART_YEARS = 2


def _pair(ctx: ReportContext, peer: str) -> dict[str, RollingCorrelationResult]:
    prices = ctx.frame([BTC, peer])
    return {
        on: correlate(prices, BTC, peer, window=WINDOW, on=on, calendar="intersection")
        for on in ("returns", "levels")
    }


def section(ctx: ReportContext) -> Section | None:
    """Build the linkage section (``None`` when BTC-USD, NVDA or ^IXIC is missing).

    Rolling BTC correlations on returns and on levels, the spurious-correlation verdict for
    BTC-NVDA and the press claims evaluated as of the report date.
    """
    if not ctx.available(BTC, *PEERS):
        return None
    sec = Section(
        "linkage",
        "Linkage: BTC and the AI trade",
        intro=(
            f"Rolling {WINDOW}-observation Pearson correlations of BTC with NVDA and the Nasdaq "
            "Composite, on daily log returns and on price levels, over dates on which both "
            "have a close (intersection calendar). Level correlations of trending prices swing "
            "between -1 and 1 without any link; returns measure co-movement."
        ),
        parameters={
            "window": WINDOW,
            "spurious_window": SPURIOUS_WINDOW,
            "calendar": "intersection",
        },
    )
    results = {peer: _pair(ctx, peer) for peer in PEERS}
    end = min(r["returns"].end for r in results.values())
    cut = end - pd.DateOffset(years=CHART_YEARS)
    lines = {}
    for peer, res in results.items():
        for on, r in res.items():
            s = r.series.dropna()
            lines[f"BTC-{LABELS[peer]}, {on}"] = s.loc[s.index >= cut]
    fig = line_chart(
        lines,
        f"BTC rolling {WINDOW}-observation correlation: returns vs levels (intersection calendar)",
        "Pearson correlation",
    )
    fig.add_hline(y=0.0, line_dash="dot", line_color="grey")
    for peer, res in results.items():
        r = res["returns"]
        lv = res["levels"]
        sec.headlines.append(
            Headline(
                f"BTC–{LABELS[peer]} {WINDOW}d corr on returns",
                f"{r.value:.2f}",
                f"{r.method_label} of log returns, n = {r.n}, {r.start:%Y-%m-%d} to "
                f"{r.end:%Y-%m-%d}, 95% CI [{r.ci_low:.2f}, {r.ci_high:.2f}]; on levels "
                f"{lv.value:.2f}.",
            )
        )
    sec.blocks.append(fig)
    sec.blocks += [f"<p>{html.escape(res['returns'].statement())}</p>" for res in results.values()]
    prices = ctx.frame([BTC, "NVDA"])
    try:
        check = spurious_check(prices, BTC, "NVDA", window=SPURIOUS_WINDOW, calendar="intersection")
    except InputError as exc:
        sec.blocks.append(f"<p>Spurious-correlation check skipped: {html.escape(str(exc))}</p>")
    else:
        sec.headlines.append(
            Headline(
                f"BTC–NVDA {SPURIOUS_WINDOW}d: levels vs returns",
                f"{check.level_corr:.2f} vs {check.return_corr:.2f}",
                check.verdict.split(". ")[0] + ".",
            )
        )
        sec.blocks.append(check.summary().as_html())
    add_risk_blocks(ctx, sec)
    claims = load_claims("press-2025")
    for c in claims.claims:
        ctx.used_symbols.update(
            [getattr(c, k) for k in ("a", "b", "symbol", "market") if hasattr(c, k)]
        )
    verdicts = evaluate_claims(claims, ctx.store, asof=ctx.asof)
    sec.blocks.append(verdicts.summary().as_html())
    return sec
