"""One scenario path through the agent engine with its event log (``powderkeg stress trace``).

:func:`trace` runs path 0 of chunk 0 of an agent-engine stress run (the mapping of
:mod:`.agent_scenario`) with the event log and the invariants checked after every sub-step;
:class:`AgentTrace` presents it: the event log, defaults and losses by institution type,
defaults by day and the central bank's actions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg.contagion.agent_scenario import (
    AGENT_MAX_ROUNDS,
    AgentMapping,
    chunk_inputs,
    run_engine,
)
from powderkeg.contagion.policy import ACTION_NAMES, PIVOT_DECIDED
from powderkeg.contagion.scenario_spec import Scenario, scenario_hash
from powderkeg.contagion.simulation_result import SimulationResult
from powderkeg.parallel import spawn_seeds
from powderkeg.results import Provenance, Result, Summary, Table

#: Event-log rows printed by ``stress trace`` (the JSON keeps every event).
TRACE_ROWS = 120


@dataclass
class AgentTrace(Result):
    """One scenario path through the agent engine with its event log (``stress trace``)."""

    payload: dict[str, Any]
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return self.payload

    def to_frame(self) -> pd.DataFrame:
        """The event log, one row per event."""
        return pd.DataFrame(self.payload["events"])

    def event_rows(self) -> list[list[Any]]:
        """Event-log rows in time order.

        Defaults and policy decisions one by one; sales, margin calls, liquidations and
        redemption requests summed per day, event, group and asset.
        """
        rows: list[list[Any]] = []
        totals: dict[tuple[Any, ...], list[Any]] = {}
        for e in self.payload["events"]:
            if e["event"] in ("default", "policy"):
                what = e.get("action") or e.get("reason", "")
                who = e.get("agent", "central bank")
                rows.append([e["day"], e["date"], e["event"], who, what, e.get("equity")])
                continue
            key = (e["day"], e["event"], e.get("group") or e.get("agent"), e.get("asset", ""))
            if key not in totals:
                totals[key] = [e["day"], e["date"], e["event"], set(), key[3], 0.0]
                rows.append(totals[key])
            totals[key][3].add(e.get("agent"))
            totals[key][5] += e.get("amount", 0.0)
        for key, row in totals.items():
            row[3] = f"{key[2]} ({len(row[3])})"
        return rows

    def summary(self) -> Summary:
        """Facts, the event log, defaults and losses by type, policy actions."""
        p = self.payload
        rows = self.event_rows()
        by_type = [
            [t, d["members"], d["defaults"], d["loss"], d["capital"]]
            for t, d in p["by_type"].items()
        ]
        policy = [[a["action"], a["first_day"], a["first_date"], a["days"]] for a in p["policy"]]
        notes = [
            "Agent engine, full model-spec §7 schedule; invariants (ledger identity, cash and "
            "units conservation, bounds) checked after every sub-step.",
            "Sales, margin calls, liquidations and redemption requests are summed per day, "
            "group and asset (number of agents in brackets); defaults show the equity at "
            f"default. The JSON output (--json) has all {len(p['events'])} events, round by "
            "round and agent by agent.",
        ]
        if p["rounds_max"] >= AGENT_MAX_ROUNDS:
            notes.append(
                f"The sub-round limit ({AGENT_MAX_ROUNDS}) bound on some day: sales had not "
                "stopped within the day (spectral radius >= 1?)."
            )
        if len(rows) > TRACE_ROWS:
            notes.append(f"Event log: first {TRACE_ROWS} of {len(rows)} rows shown.")
        return Summary(
            f"Stress trace: {p['scenario']['title']} (seed {p['seed']}, path 0)",
            facts=[
                ("scenario", f"{p['scenario']['name']} ({p['scenario']['hash']})"),
                ("institutions x days", f"{p['institutions']} x {p['days']}"),
                ("defaults", p["defaults"]["total"]),
                ("total loss (USD bn)", p["losses"]["total"]),
                ("policy pivot day", p["pivot_day"]),
                ("BTC max drawdown", p["asset_drawdowns"][p["btc_asset"]]),
                ("sub-rounds (max per day)", p["rounds_max"]),
                ("runtime (s)", p["runtime_s"]),
            ],
            tables=[
                Table(
                    "Event log",
                    ["day", "date", "event", "who (agents)", "asset / action", "USD bn"],
                    rows[:TRACE_ROWS],
                ),
                Table(
                    "Defaults and losses by institution type",
                    ["type", "members", "defaults", "loss (USD bn)", "capital (USD bn)"],
                    by_type,
                ),
                Table(
                    "Defaults by day",
                    ["day", "date", "agent", "type"],
                    [[d["day"], d["date"], d["agent"], d["type"]] for d in p["defaults"]["by_day"]],
                ),
                Table("Policy actions", ["action", "first day", "date", "days"], policy),
            ],
            notes=notes,
        )


def trace(scn: Scenario, *, seed: int = 1, days: int | None = None, chunk: int = 1) -> AgentTrace:
    """Path 0 of chunk 0 of an agent run with ``seed``, with events and per-step invariants.

    With ``chunk`` equal to the run's chunk size the path is the first path of
    ``run_stress(scn, engine="agent", seed=seed, chunk=chunk)``.
    """
    days = scn.horizon_days if days is None else days
    t0 = time.perf_counter()
    system, mapping, shocks = chunk_inputs(scn, chunk, days, spawn_seeds(seed, 1)[0])
    res = run_engine(scn, system, shocks.take(slice(0, 1)), days, trace=True)
    payload = trace_payload(scn, res, mapping)
    payload.update(seed=seed, runtime_s=round(time.perf_counter() - t0, 3))
    provenance = Provenance(
        sources=[{"name": f"scenario {scn.name}", "hash": scenario_hash(scn)}, *scn.sources()],
        parameters={"scenario": scn.name, "days": days, "chunk": chunk, "engine": "agent"},
        seed=seed,
    )
    return AgentTrace(payload, provenance)


def trace_payload(scn: Scenario, res: SimulationResult, mapping: AgentMapping) -> dict[str, Any]:
    """JSON keys of a single-path engine result: events, defaults, losses, policy actions."""
    layout = mapping.layout
    gi = layout.member_group
    N = len(gi)
    group_of = {res.agent_names[i]: layout.group_keys[g] for i, g in enumerate(gi)}
    type_of = {res.agent_names[i]: layout.group_types[g] for i, g in enumerate(gi)}
    events = [
        {
            **e,
            "group": group_of.get(e.get("agent", "")),
            "type": type_of.get(e.get("agent", "")),
        }
        for e in res.events
    ]
    e0 = res.equity[0, 0, :N]
    by_type: dict[str, dict[str, Any]] = {}
    for g, t in enumerate(layout.group_types):
        d = by_type.setdefault(t, {"members": 0, "defaults": 0, "loss": 0.0, "capital": 0.0})
        members = gi == g
        d["members"] += int(members.sum())
        d["defaults"] += int((res.default_day[0, :N][members] >= 0).sum())
        d["loss"] += float(res.losses[0, :N][members].sum())
        d["capital"] += float(e0[members].sum())
    T = res.policy_actions.shape[1]
    dates = [d.strftime("%Y-%m-%d") for d in res.dates[:T]]
    defaults_by_day = [
        {
            "day": int(d),
            "date": dates[d],
            "agent": res.agent_names[i],
            "type": type_of[res.agent_names[i]],
        }
        for i, d in sorted(
            ((i, int(res.default_day[0, i])) for i in range(N) if res.default_day[0, i] >= 0),
            key=lambda x: (x[1], x[0]),
        )
    ]
    policy = []
    for flag, name in ACTION_NAMES.items():
        days_on = np.flatnonzero(res.policy_actions[0] & flag)
        if len(days_on):
            first = int(days_on[0])
            policy.append(
                {
                    "action": name,
                    "first_day": first,
                    "first_date": dates[first],
                    "days": len(days_on),
                }
            )
    pivot = np.flatnonzero(res.policy_actions[0] & PIVOT_DECIDED)
    dd = res.asset_drawdowns()[0]
    keys = layout.asset_keys
    return {
        "scenario": {"name": scn.name, "title": scn.title, "hash": scenario_hash(scn)},
        "engine": "agent",
        "path": 0,
        "days": int(T),
        "institutions": N,
        "events": events,
        "defaults": {"total": int((res.default_day[0, :N] >= 0).sum()), "by_day": defaults_by_day},
        "losses": {"total": float(res.losses[0, :N].sum())},
        "by_type": by_type,
        "policy": policy,
        "pivot_day": int(pivot[0]) if len(pivot) else None,
        "asset_drawdowns": {a: float(dd[mapping.asset_index[k]]) for k, a in enumerate(keys)},
        "btc_asset": keys[layout.btc],
        "rounds_max": int(res.rounds.max()),
    }
