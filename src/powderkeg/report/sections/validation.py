"""The report's Model validation section: episode replays, calibration, reverse stress tests.

Blocks:

* the calibration shipped with powderkeg (fitted multipliers with their leave-one-episode-out
  range, and each episode's error under the priors, in-sample and held-out);
* episode scorecards (``stress validate`` with the shipped calibration; 64 agent-engine paths
  per episode, 16 with ``ctx.quick``) and one chart per episode of the model's band against
  the observed series — only when the store holds the real reference data (a synthetic
  store has no history to score against, and the section says so);
* reverse stress tests of ``ai-correction``: the smallest AI-equity fall at which each target
  happens on half the paths, with the bracket and the Monte Carlo error (cached in the store).
"""

from __future__ import annotations

import html
from typing import Any

from powderkeg.report.context import Headline, ReportContext, Section
from powderkeg.results import Summary, Table

#: Paths per episode (full report, quick report).
EPISODE_PATHS = (128, 16)
#: Reverse stress tests: scenario, paths per scale and bracket tolerance (full, quick).
REVERSE_SCENARIO = "ai-correction"
REVERSE_PATHS = (64, 8)
REVERSE_TOLERANCE = (0.05, 0.25)


def _real_data(ctx: ReportContext, symbols: set[str]) -> str | None:
    """None when every symbol is stored from a real source, else why not."""
    have = set(ctx.store.symbols())
    missing = sorted(symbols - have)
    if missing:
        return f"{', '.join(missing)} not in the store"
    synthetic = sorted(
        s for s in symbols if ctx.store.series_info(s)["source"].startswith("synthetic")
    )
    if synthetic:
        return f"{', '.join(synthetic)} come from the synthetic demo market"
    return None


def section(ctx: ReportContext) -> Section | None:
    """Build the Model validation section (calibration and reverse tests need no series)."""
    from powderkeg.contagion.calibration import CalibrationResult, load_calibration
    from powderkeg.contagion.episode_spec import load_episodes
    from powderkeg.service import stress

    i = 1 if ctx.quick else 0
    sec = Section(
        "validation",
        "Model validation",
        intro=(
            "A stress model is believed only once it has been held against history. Four "
            "episodes are replayed through the full agent engine from their shock inputs alone "
            "(March 2020, Terra/UST 2022, SVB/USDC 2023, the 10-11 Oct 2025 liquidation "
            "cascade) and scored against what happened; the free parameters are calibrated on "
            "them with leave-one-episode-out checks, and reverse stress tests ask how large an "
            "AI-equity fall must be before each break point is reached."
        ),
    )
    cal = load_calibration()
    fitted = CalibrationResult(cal.payload).summary()
    sec.blocks.append("<h3>Calibration against the episodes</h3>")
    sec.blocks.append(Summary("", facts=fitted.facts, tables=fitted.tables).as_html())
    total = cal.payload["total"]
    sec.headlines.append(
        Headline(
            "Stress model error vs history (held-out)",
            f"{total['held_out']:.2f}",
            f"RMSE in log points when each episode is predicted by parameters fitted without "
            f"it; {total['in_sample']:.2f} in-sample, {total['prior']:.2f} with the priors.",
        )
    )
    episodes = load_episodes()
    symbols = {t.observed.series for e in episodes for t in e.outcomes.targets} - {None}
    why_not = _real_data(ctx, {s for s in symbols if s is not None})
    validated = None
    if why_not is None:
        ctx.used_symbols.update(s for s in symbols if s is not None)
        res = stress.validate(ctx.store, paths=EPISODE_PATHS[i], seed=ctx.seed)
        p = validated = res.payload
        summary = res.summary()
        sec.blocks.append("<h3>Episode scorecards</h3>")
        sec.blocks.append(Summary("", tables=summary.tables[:1], notes=summary.notes).as_html())
        for e in p["episodes"]:
            sec.blocks.append(f"<h4>{html.escape(e['title'])}</h4>")
            sec.blocks.append(res.plot(e["episode"]))
            tables = [t for t in summary.tables if t.title.startswith((e["title"], e["episode"]))]
            sec.blocks.append(Summary("", tables=tables).as_html())
        right = sum(e["direction_right"] for e in p["episodes"])
        scored = sum(e["direction_scored"] for e in p["episodes"])
        sec.headlines.append(
            Headline(
                "Episode replays: direction right",
                f"{right}/{scored}",
                "targets whose model median moved the way history did (BTC, ETH, credit, "
                "Treasuries, VIX, stablecoins) over four episodes",
            )
        )
        sec.parameters.update(episode_paths=EPISODE_PATHS[i])
    else:
        sec.blocks.append(
            "<p><b>Episode scorecards are not shown:</b> "
            f"{html.escape(why_not)}. Import the reference data "
            "(<code>powderkeg data import-package ../shared/data/datapackage.json</code>) and "
            "run <code>powderkeg stress validate</code>.</p>"
        )
    sec.blocks.append(_questioned(ctx, cal, validated))
    sec.blocks.append("<h3>Reverse stress tests (" + html.escape(REVERSE_SCENARIO) + ")</h3>")
    rows, answers = _reverse(ctx, i)
    sec.blocks.append(
        Summary(
            "",
            tables=[
                Table(
                    "Smallest AI-equity fall at which the target happens on half the paths",
                    ["target", "answer", "AI-equity fall", "bracket (scale)", "P at threshold",
                     "standard error"],
                    rows,
                )
            ],
            notes=[
                f"Agent engine, {REVERSE_PATHS[i]} paths per scale on common random numbers, "
                f"bisection to a scale tolerance of {REVERSE_TOLERANCE[i]}; the scenario's "
                "own AI-equity fall is scale 1."
            ],
        ).as_html()
    )  # fmt: skip
    if answers:
        sec.headlines.append(
            Headline(
                "Reverse stress: first break point",
                answers[0][1],
                answers[0][0],
            )
        )
    sec.parameters.update(
        reverse_paths=REVERSE_PATHS[i],
        reverse_tolerance=REVERSE_TOLERANCE[i],
        calibration=cal.label,
    )
    return sec


def _reverse(ctx: ReportContext, i: int) -> tuple[list[list[Any]], list[tuple[str, str]]]:
    from powderkeg.contagion.reverse import TARGETS
    from powderkeg.service import stress

    rows, answers = [], []
    for target in TARGETS:
        res = stress.reverse(
            REVERSE_SCENARIO, target=target, paths=REVERSE_PATHS[i], seed=ctx.seed,
            tolerance=REVERSE_TOLERANCE[i], store=ctx.store,
        )  # fmt: skip
        p = res.payload
        fall = "-" if p["ai_drawdown"] is None else f"-{p['ai_drawdown']:.0%}"
        rows.append(
            [target, p["message"], fall, f"{p['bracket'][0]:.2f} – {p['bracket'][1]:.2f}",
             p["probability_at_scale"], p["se_at_scale"]]
        )  # fmt: skip
        if p["reached"]:
            answers.append((p["description"], fall, p["ai_drawdown"]))
    answers.sort(key=lambda a: a[2])
    return rows, [(d, f) for d, f, _ in answers]


def _questioned(ctx: ReportContext, cal: Any, validated: dict[str, Any] | None) -> str:
    """The stress results an analyst questions, each with the evidence that settles it."""
    import numpy as np

    from powderkeg.contagion.draws import Layout, member_leverage
    from powderkeg.contagion.montecarlo import run_stress
    from powderkeg.contagion.scenario_spec import load_scenario
    from powderkeg.report.sections.contagion import SCENARIO, STRESS_PATHS

    scn = load_scenario(SCENARIO)
    stress = run_stress(scn, paths=STRESS_PATHS[1 if ctx.quick else 0], seed=ctx.seed,
                        store=ctx.store).payload  # fmt: skip
    lay = Layout.from_scenario(scn)
    gi = lay.member_group
    hf = [g.key for g in scn.groups].index("hedge_funds")
    grp = scn.groups[hf]
    lam = member_leverage(
        np.array([g.leverage.value for g in scn.groups])[gi],
        np.array([g.max_leverage.value for g in scn.groups])[gi],
        np.array([g.leverage_spread for g in scn.groups])[gi],
        lay.member_z, lay.member_share, gi,
    )  # fmt: skip
    assets = grp.total_assets.value * lay.member_share[gi == hf]
    borrowing = float((assets * (1 - 1 / lam[gi == hf])).sum())
    liq = stress["defaults"]["liquidated_positions"]
    inst = stress["defaults"]["total"]
    m = cal.multipliers
    eta = scn.btc.eta
    rows = [
        [
            "Defaults: P(any) 97%, 21.6 of 148 institutions",
            f"Leveraged crypto positions are liquidated, not failed institutions: they are now "
            f"counted apart ({liq['mean']:.1f} of {liq['members']} liquidated per path). "
            f"Institution defaults: {inst['mean']:.2f} expected, P(any) {inst['p_any']:.0%}. "
            "On 10-11 Oct 2025 about $19 bn of positions were liquidated with no institution "
            "failing (oct-2025 replay).",
        ],
        [
            "Hedge-fund borrowing 7.0 tn vs the 6.2 tn source",
            f"Member leverage now keeps each group's aggregate: borrowing "
            f"{borrowing:,.0f} bn = {grp.total_assets.value:,.0f} x (1 - 1/{grp.leverage.value:g})"
            " (the spread across members had loaded leverage on the largest funds).",
        ],
        [
            "covid-2020 BTC recovery (eta = 3 on 3 tn of QE)",
            f"QE is now the net-liquidity injection that followed (1.8 tn: the TGA absorbed "
            f"~0.8 tn of the 2.9 tn of Fed purchases) and BTC's response to liquidity is "
            f"calibrated on the March 2020 and SVB replays: multiplier "
            f"{m.liquidity_response:g}, eta {eta.value:g} in the scenarios (prior "
            f"{eta.prior if eta.prior is not None else eta.value:g}).",
        ],
    ]
    if validated is not None:
        ep = next((e for e in validated["episodes"] if e["episode"] == "march-2020"), None)
        btc = None if ep is None else next(r for r in ep["targets"] if r["key"] == "btc")
        if btc is not None and btc.get("observed") is not None:
            rows.append(
                [
                    "P(BTC stays above -50% in the first hit) ~6%",
                    f"A 35% AI-equity fall with BTC's stress beta of about 2 means a BTC fall "
                    f"of about 58% before any fire sale. History agrees: in March 2020 (S&P "
                    f"-34%) BTC's largest move was {np.expm1(btc['observed']):+.0%} "
                    f"(model median {np.expm1(btc['model']):+.0%}, band "
                    f"{np.expm1(btc['model_low']):+.0%} to {np.expm1(btc['model_high']):+.0%}).",
                ]
            )
    return Summary(
        "",
        tables=[Table("Questioned results and the evidence", ["result", "evidence"], rows)],
    ).as_html()
