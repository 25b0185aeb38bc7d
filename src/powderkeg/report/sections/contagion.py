"""The report's Contagion section: a Monte Carlo stress run and the two-phase BTC path.

Runs the built-in ``ai-correction`` scenario (2,000 paths; 200 with ``ctx.quick``) seeded
from ``ctx.seed`` and cached in the store, and the two-phase BTC scenario with the same
scenario's (calibrated) BTC, shock and policy parameters (5,000 paths; 300 with
``ctx.quick``). Blocks: the loss distribution (histogram of total capital losses), the
default cascade (expected new defaults per day by institution group), the BTC fan chart and
the AI-shock × policy-lag grid. Headlines: expected loss, expected defaults, P(BTC survives
the first hit), P(BTC gains from the second wave). A "default cascade" block traces one path
of the same scenario through the full agent engine (defaults by day and type, central-bank
actions); with ``ctx.quick`` on a 2-member-per-group copy over 15 days.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from powderkeg.report.context import Headline, ReportContext, Section
from powderkeg.results import Summary, Table

if TYPE_CHECKING:
    from powderkeg.contagion.agent_trace import AgentTrace

#: Scenario run in the report.
SCENARIO = "ai-correction"
#: Monte Carlo paths (full report, quick report) for the stress run and the BTC scenario.
STRESS_PATHS = (2000, 200)
BTC_PATHS = (5000, 300)
GRID_PATHS = (1000, 100)
#: Agent-engine trace (days, members per group) for the full and the quick report.
TRACE_DAYS = (60, 15)
TRACE_MEMBERS = (None, 2)


def section(ctx: ReportContext) -> Section | None:
    """Build the Contagion section (always available: it needs no stored series)."""
    from powderkeg.contagion.agent_scenario import cap_members
    from powderkeg.contagion.agent_trace import trace
    from powderkeg.contagion.montecarlo import run_stress
    from powderkeg.contagion.scenario_spec import load_scenario
    from powderkeg.contagion.stress_result import loss_histogram
    from powderkeg.scenarios.two_phase import fan_chart, run_btc_scenario

    i = 1 if ctx.quick else 0
    scn = load_scenario(SCENARIO)
    stress = run_stress(scn, paths=STRESS_PATHS[i], seed=ctx.seed, store=ctx.store)
    p = stress.payload
    start_price = 100.0
    if ctx.available("BTC-USD"):
        close = ctx.frame(["BTC-USD"])["BTC-USD"].dropna()
        if len(close):
            start_price = float(close.iloc[-1])
    btc = run_btc_scenario(
        _btc_params(scn),
        paths=BTC_PATHS[i],
        days=365,
        seed=ctx.seed,
        start_price=start_price,
        grid_paths=GRID_PATHS[i],
    )
    sec = Section(
        "contagion",
        "Contagion: AI-correction stress test and the two-phase BTC path",
        intro=html.escape(
            f"{scn.title}: {scn.description} Monte Carlo over {p['paths']:,} paths "
            f"({p['institutions']} institutions, {len(p['asset_drawdowns'])} assets, "
            f"{p['days']} days); every scenario figure is drawn within its sourced range. "
            "The BTC fan chart uses the reduced-form two-phase model (model-spec §6): shock "
            "phase with β_S on the AI factor, policy pivot after a lag, liquidity-driven "
            "recovery."
        ),
        parameters={
            "scenario": scn.name,
            "scenario_hash": p["scenario"]["hash"],
            "stress_paths": p["paths"],
            "btc_paths": btc.paths,
            "seed": ctx.seed,
        },
    )
    total = p["losses"]["total"]
    liq = p["defaults"]["liquidated_positions"]
    sec.headlines += [
        Headline(
            "Expected system loss (USD bn)",
            f"{total['mean']:,.0f}",
            f"95% quantile {total['q95']:,.0f} bn in the {scn.name} scenario",
        ),
        Headline(
            "Expected institution defaults",
            f"{p['defaults']['total']['mean']:.1f}",
            f"of {p['institutions'] - liq['members']} institutions; P(any) "
            f"{p['defaults']['total']['p_any']:.0%}; besides, {liq['mean']:.1f} of "
            f"{liq['members']} leveraged crypto positions are liquidated",
        ),
        Headline(
            "P(BTC survives first hit)",
            f"{btc.p_survive:.0%}",
            f"trough before the policy regime above -{btc.survive_threshold:.0%} "
            f"(AI correction -{btc.params.ai_shock:.0%}, lag {btc.params.lag_days} d)",
        ),
        Headline(
            "P(BTC gains from the second wave)",
            f"{btc.p_gain:.0%}",
            "BTC above its start one year later",
        ),
    ]
    sec.blocks.append(loss_histogram(p))
    sec.blocks.append(_default_cascade_chart(p))
    sec.blocks.append(stress.summary().as_html())
    members = TRACE_MEMBERS[i]
    traced = trace(
        scn if members is None else cap_members(scn, members), seed=ctx.seed, days=TRACE_DAYS[i]
    )
    sec.blocks.append(_cascade_summary(traced).as_html())
    sec.blocks.append(fan_chart(btc.fan, "BTC two-phase path: quantile fan (price)"))
    sec.blocks.append(btc.summary().as_html())
    _drain_block(sec)
    return sec


def _btc_params(scn: Any) -> Any:
    """The scenario's central two-phase parameters, with reduced-form forced selling.

    The BTC block (calibrated), the shock and the policy come from the scenario; the reduced
    form's own leveraged-holder forced selling is switched back on.
    """
    from powderkeg.contagion.draws import two_phase_params
    from powderkeg.scenarios.two_phase import TwoPhaseParams

    defaults = TwoPhaseParams()
    return two_phase_params(scn).replace(
        gamma_f=defaults.gamma_f, forced_holdings=defaults.forced_holdings
    )


def _drain_block(sec: Section) -> None:
    """The reverse-QE drain of Morgan Stanley's ~$1.5tn funding gap over three years."""
    from powderkeg.contagion.drain import simulate_drain
    from powderkeg.figures import line_chart

    res = simulate_drain([125.0] * 12)
    d = res.daily
    sec.blocks.append(
        line_chart(
            {
                "cumulative crowding-out sales (USD bn)": d["crowding_out"].cumsum(),
                "idle buffer (USD bn)": d["idle_buffer"],
            },
            "Reverse-QE drain: $1.5tn of AI capex financing over three years",
            "USD bn",
        )
    )
    sec.blocks.append(res.summary().as_html())
    sec.headlines.append(
        Headline(
            "Reverse-QE term premium",
            f"+{d['term_premium_bp'].iloc[-1]:.0f} bp",
            f"after ${d['crowding_out'].sum():,.0f}bn of crowding-out sales over three years: "
            "duration supply alone is small; spreads and fire sales carry the risk.",
        )
    )


def _default_cascade_chart(payload: dict[str, Any]) -> Any:
    """Plotly stacked bars: expected new defaults per day by institution group."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for d in payload["defaults"]["by_group"].values():
        fig.add_trace(go.Bar(x=list(range(len(d["by_day"]))), y=d["by_day"], name=d["label"]))
    fig.update_layout(
        barmode="stack",
        title="Default cascade: expected new defaults per day",
        xaxis_title="day",
        yaxis_title="defaults (mean per path)",
        height=380,
    )
    return fig


def _cascade_summary(result: AgentTrace) -> Summary:
    """The report's "default cascade" block: defaults by day and type, policy actions."""
    p = result.payload
    counts: dict[tuple[int, str, str], int] = {}
    for d in p["defaults"]["by_day"]:
        key = (d["day"], d["date"], d["type"])
        counts[key] = counts.get(key, 0) + 1
    rows = [[day, date, typ, n] for (day, date, typ), n in counts.items()]
    policy = [[a["action"], a["first_day"], a["first_date"], a["days"]] for a in p["policy"]]
    return Summary(
        f"Default cascade on one agent-engine path ({p['scenario']['name']}, seed {p['seed']})",
        facts=[
            ("institutions x days", f"{p['institutions']} x {p['days']}"),
            ("defaults", p["defaults"]["total"]),
            ("total loss (USD bn)", p["losses"]["total"]),
            ("policy pivot day", p["pivot_day"]),
        ],
        tables=[
            Table(
                "Defaults by day and institution type", ["day", "date", "type", "defaults"], rows
            ),
            Table("Central-bank actions", ["action", "first day", "date", "days"], policy),
        ],
        notes=[
            "Path 0 of the agent engine (full model-spec §7 schedule: margin calls, haircuts, "
            "clearing, stablecoin waterfall, QE and facilities) on the scenario's central "
            "balance sheets; the Monte Carlo tables above use the reduced kernel."
        ],
    )
