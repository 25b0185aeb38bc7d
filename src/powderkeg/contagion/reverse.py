"""``stress reverse``: the smallest AI-equity shock at which a target event becomes likely.

Reverse stress testing asks the question backwards: not "what happens if AI equities fall
35 %" but "how far must they fall before X happens in at least half of the paths". The
scenario's AI-equity shock (``shock.ai_drawdown``, value and range) is multiplied by a scale
``s`` (capped at a 95 % fall) and the scenario is run through the agent engine on the same
seeded paths for every ``s`` (common random numbers). ``P(s)``, the share of paths on which
the target occurs within the horizon, is found at ``s = 0`` and at the largest scale; if the
target is already likely without a shock the answer is 0, if it is not likely at the largest
scale the answer is "not reached up to scale X"; otherwise bisection narrows the bracket
``P(lo) < 1/2 ≤ P(hi)`` to the tolerance. The Monte Carlo error is stated: the binomial
standard error of ``P`` at the bracket ends, and the range of evaluated scales whose ``P`` is
within two standard errors of one half (scales the run cannot tell apart from the threshold).

Targets (:data:`TARGETS`): a stablecoin issuer forced to sell Treasuries, a bank default,
BTC more than 50 % below its start, a hedge-fund default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg.contagion.agent_scenario import AgentMapping, chunk_inputs, run_engine
from powderkeg.contagion.chunks import single_blas_thread
from powderkeg.contagion.institutions import AgentType
from powderkeg.contagion.replay import FIRED_THRESHOLD
from powderkeg.contagion.scenario_spec import Scenario, parse_scenario, scenario_hash
from powderkeg.contagion.simulation_result import SimulationResult
from powderkeg.exceptions import InputError
from powderkeg.figures import TEMPLATE
from powderkeg.parallel import chunk_sizes, map_chunks, spawn_seeds
from powderkeg.results import Provenance, Result, Summary, Table

#: Target events: name -> description.
TARGETS = {
    "stablecoin-treasury-sales": "a stablecoin issuer is forced to sell Treasury bills or notes",
    "bank-default": "a bank defaults",
    "btc-below-50": "BTC falls more than 50% below its start",
    "hedge-fund-default": "a hedge fund defaults",
}
#: The probability the search looks for.
LEVEL = 0.5
#: Largest AI-equity fall a scaled shock may reach.
MAX_DRAWDOWN = 0.95
#: Paths per task.
REVERSE_CHUNK = 32


def check_target(target: str) -> str:
    """``target`` if known, else an error listing the targets."""
    if target not in TARGETS:
        listed = "; ".join(f"{k} ({v})" for k, v in TARGETS.items())
        raise InputError(f"unknown --target {target!r}; choose one of: {listed}")
    return target


def scaled_scenario(scn: Scenario, scale: float) -> Scenario:
    """The scenario with its AI-equity shock (value and range) times ``scale``, capped at 95 %."""
    new = scn.shock.ai_drawdown.scaled(scale).clipped(0.0, MAX_DRAWDOWN)
    return scn.model_copy(update={"shock": scn.shock.model_copy(update={"ai_drawdown": new})})


def target_hits(target: str, res: SimulationResult, mapping: AgentMapping) -> np.ndarray:
    """Per path (P,): whether ``target`` occurred within the horizon."""
    gi = mapping.layout.member_group
    N = len(gi)
    types = res.agent_types[:N]
    defaulted = res.default_day[:, :N] >= 0
    if target == "bank-default":
        banks = np.array([mapping.layout.group_types[g] == "bank" for g in gi])
        return np.asarray(defaulted[:, banks].any(axis=1))
    if target == "hedge-fund-default":
        return np.asarray(defaulted[:, types == int(AgentType.HEDGE_FUND)].any(axis=1))
    if target == "btc-below-50":
        k = int(mapping.asset_index[mapping.layout.btc])
        return res.prices[:, :, k].min(axis=1) <= 0.5
    issuers = res.agent_types == int(AgentType.STABLECOIN)
    tsy = [res.asset_names.index(a) for a in ("tbills", "tnotes") if a in res.asset_names]
    sold = res.agent_sales[:, issuers][:, :, tsy].sum(axis=(1, 2))
    return sold > FIRED_THRESHOLD


def reverse_chunk(
    scenario: dict[str, Any], target: str, n: int, days: int, seed: np.random.SeedSequence
) -> np.ndarray:
    """Target hits (n,) of one seeded chunk (module level: pickles to workers)."""
    scn = parse_scenario(scenario, "<reverse>")
    with single_blas_thread():
        system, mapping, shocks = chunk_inputs(scn, n, days, seed)
        res = run_engine(scn, system, shocks, days)
    return target_hits(target, res, mapping)


def _probability(
    scn: Scenario, target: str, scale: float, *, paths: int, seed: int, days: int,
    workers: int, scheduler: str | None, progress: Any,
) -> tuple[float, int]:  # fmt: skip
    data = scaled_scenario(scn, scale).model_dump(mode="json")
    sizes = chunk_sizes(paths, REVERSE_CHUNK)
    tasks = [(data, target, n, days, s) for n, s in zip(sizes, spawn_seeds(seed, len(sizes)))]
    hits = np.concatenate(
        map_chunks(reverse_chunk, tasks, workers=workers, scheduler=scheduler,
                   progress=progress, label=f"scale {scale:.3f}")
    )  # fmt: skip
    return float(hits.mean()), int(hits.sum())


def reverse_stress(
    scenario: Scenario,
    target: str,
    *,
    paths: int = 128,
    seed: int = 1,
    days: int | None = None,
    tolerance: float = 0.02,
    max_scale: float | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Any = None,
) -> ReverseResult:
    """Smallest scale of the AI-equity shock with ``P(target) >= 1/2`` (see the module doc).

    Parameters
    ----------
    scenario : Scenario
    target : str
        One of :data:`TARGETS`.
    paths : int, default 128
        Monte Carlo paths per evaluated scale (the same seeded paths at every scale).
    seed : int, default 1
    days : int, optional
        Horizon (default: the scenario's).
    tolerance : float, default 0.02
        Width of the final bracket on the scale.
    max_scale : float, optional
        Largest scale tried (default: the scale at which the central shock reaches a 95 % fall).
    workers, scheduler, progress
        Backend of :func:`powderkeg.parallel.map_chunks` (same answer on every backend).

    Returns
    -------
    ReverseResult
    """
    from powderkeg._validation import check_float, check_int

    check_target(target)
    paths = check_int(paths, "--paths", minimum=8, maximum=20_000)
    seed = check_int(seed, "--seed", minimum=0)
    days = scenario.horizon_days if days is None else check_int(days, "--days", minimum=1)
    tolerance = check_float(tolerance, "--tolerance", minimum=1e-4, maximum=1.0)
    base = scenario.shock.ai_drawdown.value
    if base <= 0:
        raise InputError(f"{scenario.name}: the AI-equity shock is 0; there is nothing to scale")
    top = MAX_DRAWDOWN / base
    if max_scale is not None:
        top = min(check_float(max_scale, "--max-scale", minimum=tolerance), top)
    evals: dict[float, tuple[float, int]] = {}

    def p_at(s: float) -> float:
        s = round(s, 6)
        if s not in evals:
            evals[s] = _probability(
                scenario, target, s, paths=paths, seed=seed, days=days, workers=workers,
                scheduler=scheduler, progress=progress,
            )  # fmt: skip
        return evals[s][0]

    if p_at(0.0) >= LEVEL:
        lo, hi, reached = 0.0, 0.0, True
    elif p_at(top) < LEVEL:
        lo, hi, reached = top, top, False
    else:
        lo, hi, reached = 0.0, top, True
        while hi - lo > tolerance:
            mid = 0.5 * (lo + hi)
            if p_at(mid) >= LEVEL:
                hi = mid
            else:
                lo = mid
    rows = []
    for s in sorted(evals):
        p, k = evals[s]
        se = float(np.sqrt(p * (1 - p) / paths))
        rows.append({"scale": s, "ai_drawdown": min(s * base, MAX_DRAWDOWN), "probability": p,
                     "hits": k, "se": se})  # fmt: skip
    # scales the run cannot tell apart from the threshold (P within 2 s.e. of 1/2)
    halfway = 0.5 / np.sqrt(paths)
    unsure = [
        r["scale"] for r in rows if abs(r["probability"] - LEVEL) <= 2 * max(r["se"], halfway)
    ]
    p_hi = evals[round(hi, 6)][0] if round(hi, 6) in evals else None
    payload = {
        "scenario": {
            "name": scenario.name,
            "title": scenario.title,
            "hash": scenario_hash(scenario),
        },
        "target": target,
        "description": TARGETS[target],
        "engine": "agent",
        "paths": paths,
        "seed": seed,
        "days": days,
        "level": LEVEL,
        "base_ai_drawdown": base,
        "max_scale": top,
        "reached": reached,
        "scale": hi if reached else None,
        "ai_drawdown": min(hi * base, MAX_DRAWDOWN) if reached else None,
        "bracket": [lo, hi],
        "probability_at_scale": p_hi,
        "se_at_scale": None if p_hi is None else float(np.sqrt(p_hi * (1 - p_hi) / paths)),
        "uncertain_scales": [min(unsure), max(unsure)] if unsure else None,
        "tolerance": tolerance,
        "evaluations": rows,
        "message": _message(target, reached, hi, lo, base, top, evals, paths),
    }
    provenance = Provenance(
        sources=[{"name": f"scenario {scenario.name}", "hash": scenario_hash(scenario)},
                 *scenario.sources()],
        parameters={"target": target, "paths": paths, "days": days, "tolerance": tolerance,
                    "engine": "agent"},
        seed=seed,
    )  # fmt: skip
    return ReverseResult(payload, provenance)


def _message(target: str, reached: bool, hi: float, lo: float, base: float, top: float,
             evals: dict[float, tuple[float, int]], paths: int) -> str:  # fmt: skip
    what = TARGETS[target]
    if not reached:
        p = evals[round(top, 6)][0]
        return (
            f"not reached up to scale {top:.3f} (AI equities -{min(top * base, MAX_DRAWDOWN):.0%}):"
            f" {what} on {p:.0%} of {paths} paths there"
        )
    if hi == 0.0:
        return f"{what} on at least half the paths even without an AI-equity shock"
    return (
        f"{what} on at least half the paths from scale {hi:.3f} (AI equities -{hi * base:.0%}); "
        f"below {lo:.3f} (-{lo * base:.0%}) it does not"
    )


@dataclass
class ReverseResult(Result):
    """The answer of a reverse stress test (``stress reverse``)."""

    payload: dict[str, Any]
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return self.payload

    def to_frame(self) -> pd.DataFrame:
        """Every evaluated scale with the target's probability and its standard error."""
        return pd.DataFrame(self.payload["evaluations"]).set_index("scale")

    def summary(self) -> Summary:
        """The threshold scale, its bracket and Monte Carlo error, and the evaluations."""
        p = self.payload
        facts: list[tuple[str, Any]] = [
            ("scenario", f"{p['scenario']['name']} ({p['scenario']['hash']})"),
            ("target", f"{p['target']}: {p['description']}"),
            ("answer", p["message"]),
            (
                "threshold scale",
                p["scale"] if p["reached"] else f"not reached (<= {p['max_scale']:.3f})",
            ),
            ("AI-equity fall at the threshold", p["ai_drawdown"]),
            ("bracket (scale)", f"{p['bracket'][0]:.3f} – {p['bracket'][1]:.3f}"),
            ("P(target) at the threshold", p["probability_at_scale"]),
            ("its standard error", p["se_at_scale"]),
            ("scales within 2 s.e. of P = 1/2", p["uncertain_scales"]),
            ("paths per scale / seed", f"{p['paths']} / {p['seed']}"),
        ]  # fmt: skip
        table = Table(
            "Evaluated scales (common random numbers)",
            ["scale", "AI-equity fall", "P(target)", "paths hit", "standard error"],
            [[r["scale"], r["ai_drawdown"], r["probability"], r["hits"], r["se"]]
             for r in p["evaluations"]],
        )  # fmt: skip
        return Summary(
            f"Reverse stress test: {p['scenario']['title']}",
            facts=facts,
            tables=[table],
            notes=[
                "The scenario's AI-equity shock (value and range) is multiplied by the scale and "
                "run through the agent engine on the same seeded paths at every scale; the "
                "threshold is the smallest scale with P(target) >= 1/2 (bisection).",
                "P(target) need not be monotone in the scale path by path; the bracket is "
                "where the evaluated P crosses one half.",
            ],
        )

    def plot(self) -> Any:
        """P(target) against the scale, with two-standard-error bars and the 1/2 line."""
        import plotly.graph_objects as go

        p = self.payload
        rows = p["evaluations"]
        fig = go.Figure(
            go.Scatter(
                x=[r["ai_drawdown"] for r in rows],
                y=[r["probability"] for r in rows],
                mode="markers+lines",
                error_y={"type": "data", "array": [2 * r["se"] for r in rows]},
                name="P(target)",
                line={"color": "#d9480f"},
            )
        )
        fig.add_hline(y=p["level"], line_dash="dot", annotation_text="P = 1/2")
        fig.update_layout(
            title=f"{p['scenario']['name']}: {p['description']} (reverse stress test)",
            xaxis_title="AI-equity fall (scaled shock)",
            yaxis_title="share of paths",
            template=TEMPLATE,
            height=360,
        )
        return fig
