"""Report blocks for the linkage section: DCC path, up/down betas and co-crash probability."""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from powderkeg.figures import TEMPLATE, line_chart
from powderkeg.linkage.beta import asymmetric_beta
from powderkeg.linkage.dcc import DCC
from powderkeg.linkage.tail import tail_dependence
from powderkeg.report.context import Headline, ReportContext, Section
from powderkeg.transforms import returns

BTC = "BTC-USD"
DCC_SYMBOLS = (BTC, "NVDA", "^IXIC")
MARKETS = ("NVDA", "^IXIC")
TAIL_Q = 0.05
TAIL_WINDOW = 500
HISTORY_YEARS = 6


def add_risk_blocks(ctx: ReportContext, sec: Section) -> None:
    """Append the DCC, asymmetric-beta and co-crash blocks (and headlines) to ``sec``."""
    prices = ctx.frame(list(DCC_SYMBOLS))
    start = prices.index[-1] - pd.DateOffset(years=HISTORY_YEARS)
    rets = pd.DataFrame(returns(prices.loc[prices.index >= start], "log"))
    _dcc_block(sec, rets * 100.0)
    _beta_block(sec, rets)
    _tail_block(sec, rets)
    sec.parameters.update(
        {
            "dcc": "DCC(1,1), GARCH(1,1) normal marginals, returns x100",
            "tail_q": TAIL_Q,
            "tail_window": TAIL_WINDOW,
            "history_years": HISTORY_YEARS,
        }
    )


def _dcc_block(sec: Section, rets: pd.DataFrame) -> None:
    res = DCC(rets).fit(compute_se=False)
    pairs = {f"BTC–{m}": res.correlation(BTC, m) for m in MARKETS}
    fig = line_chart(pairs, "DCC-GARCH(1,1) conditional correlation of BTC", "correlation")
    sec.blocks.append(fig)
    last = {k: float(v.iloc[-1]) for k, v in pairs.items()}
    a, b = float(res.params["a"]), float(res.params["b"])
    sec.headlines.append(
        Headline(
            "BTC–NVDA conditional correlation (DCC)",
            f"{last['BTC–NVDA']:.2f}",
            f"DCC(1,1) a={a:.3f}, b={b:.3f} on {res.nobs} daily returns; "
            f"BTC–Nasdaq {last['BTC–^IXIC']:.2f}.",
        )
    )


def _beta_block(sec: Section, rets: pd.DataFrame) -> None:
    rows = []
    for m in MARKETS:
        r = asymmetric_beta(rets[BTC], rets[m])
        rows.append((m, r.beta_down, r.table.loc["up", "beta"], r.beta_ratio, r.pvalue))
    frame = pd.DataFrame(rows, columns=["market", "down beta", "up beta", "down/up", "p (equal)"])
    fig = go.Figure(
        [
            go.Bar(name="down-market beta", x=frame["market"], y=frame["down beta"]),
            go.Bar(name="up-market beta", x=frame["market"], y=frame["up beta"]),
        ]
    )
    fig.update_layout(
        title="BTC up- vs down-market betas (HAC)",
        template=TEMPLATE,
        height=320,
        barmode="group",
        yaxis_title="beta",
    )
    sec.blocks.append(fig)
    sec.blocks.append(frame.round(3).to_html(classes="pk-table", border=0, index=False))
    nvda = frame.iloc[0]
    reading = "falls more when NVDA falls" if nvda["down/up"] > 1 else "does not fall more"
    sec.headlines.append(
        Headline(
            "BTC down/up beta on NVDA",
            f"{nvda['down/up']:.2f}",
            f"BTC {reading} (down {nvda['down beta']:.2f} vs up {nvda['up beta']:.2f}; "
            f"equality p = {nvda['p (equal)']:.2f}).",
        )
    )


def _tail_block(sec: Section, rets: pd.DataFrame) -> None:
    res = tail_dependence(rets[BTC], rets["NVDA"], q=TAIL_Q, window=TAIL_WINDOW, step=5)
    path = res.series.dropna()
    fig = line_chart(
        {f"λ_L({TAIL_Q:g}) BTC/NVDA, {TAIL_WINDOW}-day window": path},
        "Lower-tail dependence (co-crash) of BTC and NVDA",
        "coefficient",
    )
    fig.add_hline(y=TAIL_Q, line_dash="dot", line_color="grey", annotation_text="independence")
    sec.blocks.append(fig)
    p = res.co_crash["a_given_b"]
    sec.headlines.append(
        Headline(
            "P(BTC crash | NVDA crash)",
            f"{p:.0%}",
            f"Both below their {TAIL_Q:.0%} quantile on the same day, {res.start:%Y-%m-%d} to "
            f"{res.end:%Y-%m-%d}; {TAIL_Q:.0%} under independence.",
        )
    )
    text = (
        f"Lower-tail dependence λ_L({TAIL_Q:g}) = {res.value:.2f} "
        f"(plateau estimate {res.plateau:.2f}), n = {res.nobs} common-date returns."
    )
    sec.blocks.append(f"<p>{html.escape(text)}</p>")
