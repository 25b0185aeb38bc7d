"""Report section "Energy": hashprice history, mining vs AI per MWh, dispatch, lease stress."""

from __future__ import annotations

import html
from importlib import resources

import pandas as pd

from powderkeg.energy.compute import mining_vs_ai
from powderkeg.energy.dispatch import dispatch, read_site
from powderkeg.energy.leases import read_lease, value_with_stress
from powderkeg.energy.mining import hashprice_history
from powderkeg.energy.params import default_params
from powderkeg.figures import line_chart
from powderkeg.report.context import Headline, ReportContext, Section

BTC = "BTC-USD"
#: Hashprice history starts at the first published difficulty anchor.
HISTORY_START = "2023-01-02"


def section(ctx: ReportContext) -> Section | None:
    """Build the energy section (``None`` when BTC-USD is not stored).

    Hashprice history from stored BTC closes and the published difficulty anchors, mining vs
    AI hosting per MWh as of the report date, the example site's dispatch and the example
    GPU lease valued at base terms and under the ai-correction stress.
    """
    if not ctx.available(BTC):
        return None
    params = default_params()
    close = ctx.frame([BTC], start=HISTORY_START)[BTC].dropna()
    if close.empty:
        return None
    fees = params.get("mining", "fees_btc_per_block")
    hist = hashprice_history(close, params.difficulty_anchors, fees)
    asof = close.index[-1]
    price = float(close.iloc[-1])
    last_anchor = params.difficulty_anchors[-1]
    sec = Section(
        "energy",
        "Energy: mining vs AI compute",
        intro=(
            "Hashprice (USD per PH/s per day) from stored BTC-USD closes, the halving schedule, "
            f"a fee assumption of {fees:g} BTC per block and a network hashrate interpolated "
            "between published difficulty readings (D*2^32/600), held flat after "
            f"{last_anchor.date:%Y-%m-%d}. Mining and AI hosting are compared per MWh of site "
            "power with the documented defaults of powderkeg/energy/defaults.yaml."
        ),
        parameters={
            "asof": asof.strftime("%Y-%m-%d"),
            "fees_btc_per_block": fees,
            "hashrate_path": "difficulty anchors, linear, flat after last",
        },
    )
    fig = line_chart(
        {"hashprice (USD/PH/s/day)": hist["hashprice_usd_ph_day"]},
        "Bitcoin hashprice (USD per PH/s per day)",
        "USD/PH/s/day",
    )
    sec.blocks.append(fig)

    comp = mining_vs_ai(params, btc_price=price, asof=asof)
    sec.blocks.append(comp.summary().as_html())
    sec.blocks.append(comp.plot())
    m, a, t = comp.mining, comp.ai, comp.thresholds
    sec.headlines.append(
        Headline(
            "Hashprice",
            f"${m.hashprice_usd_ph_day:,.1f}/PH/day",
            f"BTC ${price:,.0f} on {asof:%Y-%m-%d}, hashrate {m.hashrate_eh:,.0f} EH/s "
            "(assumed path).",
        )
    )
    better = "AI hosting" if comp.winner == "ai" else "Mining"
    sec.headlines.append(
        Headline(
            "Mining vs AI per MWh (all-in)",
            f"{_usd(m.all_in_margin_usd_mwh)} vs {_usd(a.all_in_margin_usd_mwh)}",
            f"{better} earns more per MWh; AI matches mining at "
            f"${t['gpu_hour_price_all_in']:.2f}/GPU-h, mining wins back above BTC "
            f"${t['btc_price_all_in']:,.0f}.",
        )
    )

    examples = resources.files("powderkeg.energy").joinpath("examples")
    with resources.as_file(examples.joinpath("site.yaml")) as site_path:
        spec, profile = read_site(site_path)
    site_params = params.override(spec.params, "site.yaml (params)") if spec.params else params
    site_econ = mining_vs_ai(site_params, btc_price=price, asof=asof)
    disp = dispatch(spec, profile, site_econ.mining.revenue_usd_mwh, site_econ.ai.revenue_usd_mwh)
    sec.blocks.append(disp.plot())
    sec.blocks.append(
        "<p>"
        + html.escape(
            f"Example site ({spec.name}, illustrative 48-hour price profile): optimal net "
            f"${disp.revenue['net']:,.0f} vs ${disp.mine_only_net:,.0f} for mining whenever "
            f"profitable; {disp.allocation['sell_mw'].sum():,.0f} MWh sold back."
        )
        + "</p>"
    )

    with resources.as_file(examples.joinpath("lease.yaml")) as lease_path:
        lease = read_lease(lease_path)
    lres = value_with_stress(lease, params, "ai-correction")
    stressed = lres.stressed
    if stressed is not None:
        sec.headlines.append(
            Headline(
                "GPU lease NPV, base vs ai-correction",
                f"{_usd_m(lres.base.npv)} vs {_usd_m(stressed.npv)}",
                f"Example {lease.name}: IRR {lres.base.irr:.1%} -> {stressed.irr:.1%} under "
                "the rent, utilisation and default stress.",
            )
        )
    sec.blocks.append(lres.summary().as_html())
    sec.blocks.append(lres.plot())
    table = pd.DataFrame(
        [
            {"parameter": f"{s}.{k}", "value": p.value, "unit": p.unit, "source": p.source}
            for s, ps in params.sections.items()
            for k, p in ps.items()
        ]
    )
    sec.blocks.append(
        "<h4>Parameters and sources</h4>"
        + table.to_html(classes="pk-table", border=0, index=False, escape=True)
    )
    return sec


def _usd(value: float) -> str:
    """Dollars with the sign before the symbol: ``-$36``."""
    return f"{'-' if value < 0 else ''}${abs(value):,.0f}"


def _usd_m(value: float) -> str:
    """Dollar millions with the sign before the symbol: ``-$1.8m``."""
    return f"{'-' if value < 0 else ''}${abs(value) / 1e6:,.1f}m"
