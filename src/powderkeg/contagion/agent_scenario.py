"""Scenarios through the full agent engine: scenario → :class:`System` + per-path :class:`Shocks`.

The reduced Monte Carlo kernel (:mod:`.montecarlo`) and the agent engine (:mod:`.engine`) read
the same validated scenario (:mod:`.scenario_spec`) and the same random numbers: a chunk seed
gives the same drawn figures, two-phase BTC draws and asset noise to both
(:func:`~powderkeg.contagion.montecarlo.chunk_draws`), and the exogenous return paths are
built by the same function (:func:`~powderkeg.contagion.montecarlo.build_chunk`). What the
agent engine adds is the full model-spec §7 schedule: repo margin calls with procyclical
haircuts, collateral seizure, clearing of the contract network (Rogers–Veraart), fund
redemptions settled on bank days, credit-line draws, the stablecoin waterfall, central-bank
purchases and facility loans, market calendars and an event log.

Mapping (USD bn; leverage = assets/equity; ``[A]`` marks a mapping assumption):

* **balance sheets** use the scenario's central figures (``value``): member ``i`` of group
  ``g`` has assets ``A_i = A_g s_i`` (the Zipf shares of :class:`~.montecarlo.Layout`),
  equity ``A_i / λ_i`` with the same leverage spread and cap as the reduced kernel, marketable
  holdings ``A_i m_g w_gk`` and illiquid assets ``A_i (1 − m_g)``. Per-path uncertainty enters
  through the shocks (below), not through the balance sheets, because one engine batch shares
  one system;
* **lending links** become contracts between every lender and borrower member (amount
  ``x s_a d_b``, ``s_a`` the lender's asset share and ``d_b`` the borrower's share of its
  group's debt ``A − E``, so no member owes more than its debt): bank or broker-dealer →
  hedge fund = repo (prime brokerage, margin calls), bank → private credit = credit line
  (undrawn headroom :data:`UNDRAWN_SHARE` [A]), private credit → AI issuer =
  private-credit loan, bank → bank = interbank, otherwise a loan. Claims are part of the
  lender's illiquid assets; the rest of them is a marked book ``book_<group>`` revalued by
  ``illiquid_ai_beta × r_AI`` like the reduced kernel's ``I``;
* **funding**: the debt not covered by links is household deposits (banks, broker-dealers),
  repo from the outside sector (hedge funds), margin loans (crypto leverage), tokens held by
  households (stablecoin issuers, whose illiquid part is deposits at the bank members), or
  loans from the outside sector (everyone else);
* **types**: bank and broker-dealer → engine bank (threshold rule with the group's ``λ_max``);
  hedge fund → hedge fund, except groups holding only crypto → crypto-leverage bucket
  (liquidated when ``E/V < 1/λ_max``); asset manager and insurer → asset manager (redemption
  sensitivity = ``redemptions.nav``); private credit → private-credit fund; stablecoin issuer
  → issuer (``base``/``btc``/``depeg`` rates → ``ρ₀``/``ρ_cr``/``ρ_thr``); AI issuer → AI
  borrower;
* **bills are cash** [A] for every institution except stablecoin issuers: the engine's funds
  and banks settle obligations and lend on credit lines from cash only, and T-bills are
  cash-equivalent; issuers keep them as tradable reserves for the §4 waterfall;
* **assets** keep the scenario's depth ``D_k`` and peak-stress multiplier ``g_k`` (the
  engine's ``min_depth``); haircuts, calendars and liquidation priority come from the
  engine's defaults for the matching asset (:data:`~.system.DEFAULT_ASSETS`). Price impact is
  permanent (the reduced kernel's impact half-life has no engine counterpart);
* **shocks**: per path the exogenous log returns of the reduced kernel (AI factor, loadings,
  noise, two-phase BTC including its policy regime) — so the engine's own endogenous price
  channels (rate sensitivity, liquidity and stablecoin betas, AI-spread pass-through) are off
  to avoid counting the policy effect twice; the engine's central bank (pivot on its stress
  index, lag ``policy.lag_days``, QE ``qe_size / ramp_days`` per bank day for ``ramp_days``
  days, facility loans) acts on balance sheets. Per-path multipliers: ``depth`` (geometric
  mean of drawn / central depths), ``policy_lag`` (drawn / central lag) and ``redemption``
  (geometric mean of drawn / central NAV sensitivities).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg.contagion.engine import Shocks, SimulationResult, simulate
from powderkeg.contagion.montecarlo import (
    AGENT_MAX_ROUNDS,
    ChunkSummary,
    Layout,
    _single_blas_thread,
    build_chunk,
    chunk_draws,
)
from powderkeg.contagion.policy import ACTION_NAMES, FACILITY_ACTIVE, PIVOT_DECIDED, RATE_CUT
from powderkeg.contagion.scenario_spec import Scenario, parse_scenario, scenario_hash
from powderkeg.contagion.system import DEFAULT_ASSETS, System
from powderkeg.exceptions import ConvergenceWarning, InputError
from powderkeg.parallel import spawn_seeds
from powderkeg.results import Provenance, Result, Summary, Table
from powderkeg.scenarios.two_phase import TwoPhaseDraws

#: Undrawn headroom of bank credit lines to private-credit funds, as a share of the drawn
#: amount (subscription / NAV lines are partly drawn) [A].
UNDRAWN_SHARE = 0.5
#: Engine template of an asset by scenario kind (when its key is not an engine asset).
KIND_TEMPLATE = {
    "equity": "other_equity",
    "credit": "ig_credit",
    "treasury": "tnotes",
    "bill": "tbills",
    "crypto": "other_crypto",
    "cash": "tbills",
}
#: Engine fields that feed endogenous price drivers (off: the scenario's exogenous paths
#: already carry the policy and liquidity effects).
ENDOGENOUS_PRICE_FIELDS = ("rate_sensitivity", "liquidity_beta", "stablecoin_beta", "spread_beta")
#: Event-log rows printed by ``stress trace`` (the JSON keeps every event).
TRACE_ROWS = 120


# --------------------------------------------------------------------------- mapping
@dataclass(frozen=True)
class AgentMapping:
    """How a scenario maps onto an engine system.

    Attributes
    ----------
    layout : Layout
        The reduced kernel's layout (members, shares, groups); member ``i`` is agent ``i``.
    asset_index : ndarray of int (K_scn,)
        Engine asset of each scenario asset.
    books : list of (int, int)
        ``(group, engine asset)`` of every marked illiquid book.
    """

    layout: Layout
    asset_index: np.ndarray
    books: list[tuple[int, int]]


def cap_members(scn: Scenario, max_members: int) -> Scenario:
    """The scenario with at most ``max_members`` members per group (group totals unchanged)."""
    groups = [g.model_copy(update={"count": min(g.count, max_members)}) for g in scn.groups]
    return scn.model_copy(update={"groups": groups})


def _engine_type(group: Any, kinds: dict[str, str]) -> str:
    if group.type == "hedge_fund" and all(kinds[k] == "crypto" for k in group.portfolio):
        return "crypto_leverage"
    return {
        "bank": "bank",
        "broker_dealer": "bank",
        "hedge_fund": "hedge_fund",
        "private_credit": "private_credit",
        "asset_manager": "asset_manager",
        "insurer": "asset_manager",
        "stablecoin_issuer": "stablecoin",
        "ai_issuer": "ai_borrower",
    }[group.type]


def _asset_names(scn: Scenario) -> list[str]:
    """Engine names of the scenario assets (the engine keys special roles by name)."""
    names: list[str] = []
    for a in scn.assets:
        if a.key == scn.btc.asset:
            name = "btc"
        elif a.kind in ("treasury", "bill") and KIND_TEMPLATE[a.kind] not in names:
            name = KIND_TEMPLATE[a.kind]
        else:
            name = a.key
        while name in names or (name == "btc" and a.key != scn.btc.asset):
            name = f"{name}_x"
        names.append(name)
    return names


def _link_kind(lender: str, borrower: str) -> str:
    if lender == "bank" and borrower == "bank":
        return "interbank"
    if lender == "bank" and borrower in ("hedge_fund", "crypto_leverage"):
        return "repo"
    if lender == "bank" and borrower == "private_credit":
        return "credit_line"
    if lender == "private_credit" and borrower == "ai_borrower":
        return "private_credit"
    return "loan"


def scenario_system(scn: Scenario) -> tuple[System, AgentMapping]:
    """The engine system of ``scn`` at its central figures, and the mapping (module doc)."""
    layout = Layout.from_scenario(scn)
    kinds: dict[str, str] = {a.key: a.kind for a in scn.assets}
    names = _asset_names(scn)
    assets: dict[str, dict[str, Any]] = {}
    for a, name in zip(scn.assets, names):
        template = DEFAULT_ASSETS.get(name, DEFAULT_ASSETS[KIND_TEMPLATE[a.kind]])
        spec = {**template, "depth": a.depth.value, "min_depth": a.stress_depth.value}
        spec.update({f: 0.0 for f in ENDOGENOUS_PRICE_FIELDS})
        assets[name] = spec
    gi = layout.member_group
    share = layout.member_share
    types = [_engine_type(g, kinds) for g in scn.groups]
    # balance sheets (same formulas as montecarlo.build_chunk, central values)
    total = np.array([g.total_assets.value for g in scn.groups])[gi] * share
    lam_max = np.array([g.max_leverage.value for g in scn.groups])[gi]
    spread = np.array([g.leverage_spread for g in scn.groups])[gi]
    lam = np.array([g.leverage.value for g in scn.groups])[gi] * (1.0 + spread * layout.member_z)
    lam = np.clip(lam, 1.0 + 1e-9, np.maximum(0.97 * lam_max, 1.0 + 1e-9))
    m = np.array([g.marketable_share.value for g in scn.groups])[gi]
    debt = total - total / lam
    illiquid = total * (1.0 - m)
    member_names = [f"{scn.groups[g].key}_{j + 1}" for g, j in _member_ranks(gi)]
    contracts: list[dict[str, Any]] = []
    claims = np.zeros(len(gi))
    owed = np.zeros(len(gi))
    linked = np.zeros(len(scn.groups))
    for link, (_, bg) in zip(scn.lending, layout.links):
        linked[bg] += link.amount.value
    for g, grp in enumerate(scn.groups):
        if linked[g] > debt[gi == g].sum():
            raise InputError(
                f"{scn.name}: loans to group {grp.key!r} ({linked[g]:g} bn) exceed its debt "
                f"({debt[gi == g].sum():g} bn = assets - equity)"
            )
    for link, (lg, bg) in zip(scn.lending, layout.links):
        kind = _link_kind(types[lg], types[bg])
        owers = np.flatnonzero(gi == bg)
        debt_share = debt[owers] / debt[owers].sum()
        for la in np.flatnonzero(gi == lg):
            for lb, wb in zip(owers, debt_share):
                x = link.amount.value * share[la] * wb
                c = {"kind": kind, "lender": member_names[la], "borrower": member_names[lb]}
                c["amount"] = x
                if kind == "credit_line":
                    c["limit"] = x * (1.0 + UNDRAWN_SHARE)
                contracts.append(c)
                claims[la] += x
                owed[lb] += x
    banks = np.flatnonzero(np.isin(gi, [g for g, s in enumerate(scn.groups) if s.type == "bank"]))
    for i, g in enumerate(gi.tolist()):
        if types[g] == "stablecoin" and len(banks):
            # the issuer's illiquid reserves are deposits at the bank members
            w = share[banks] / share[banks].sum()
            for b, wb in zip(banks, w):
                contracts.append(
                    {
                        "kind": "deposit",
                        "lender": member_names[i],
                        "borrower": member_names[b],
                        "amount": illiquid[i] * wb,
                    }
                )
                owed[b] += illiquid[i] * wb
            claims[i] += illiquid[i]
    residual = debt - owed
    lender_of = {"bank": "households", "stablecoin": "households"}
    kind_of = {
        "bank": "deposit",
        "hedge_fund": "repo",
        "crypto_leverage": "margin_loan",
        "stablecoin": "stablecoin",
    }
    for i, g in enumerate(gi.tolist()):
        if residual[i] > 0:
            contracts.append(
                {
                    "kind": kind_of.get(types[g], "loan"),
                    "lender": lender_of.get(types[g], "outside"),
                    "borrower": member_names[i],
                    "amount": float(residual[i]),
                }
            )
    book = illiquid - claims
    book_asset: dict[int, str] = {}
    for g, grp in enumerate(scn.groups):
        if np.any(book[gi == g] > 1e-12):
            book_asset[g] = f"book_{grp.key}"
            assets[book_asset[g]] = {"depth": 1.0, "schedule": "marked", "haircut": 1.0}
    groups: dict[str, Any] = {}
    for g, grp in enumerate(scn.groups):
        agents = {}
        for i in np.flatnonzero(gi == g).tolist():
            holdings: dict[str, float] = {}
            cash = 0.0
            for key, w in grp.portfolio.items():
                k = [a.key for a in scn.assets].index(key)
                value = float(total[i] * m[i] * w)
                if kinds[key] == "bill" and types[g] != "stablecoin":
                    cash += value
                else:
                    holdings[names[k]] = holdings.get(names[k], 0.0) + value
            if g in book_asset:
                holdings[book_asset[g]] = float(max(book[i], 0.0))
            agents[member_names[i]] = {"cash": cash, "holdings": holdings}
        groups[grp.key] = {"type": types[g], "agents": agents, "params": _params(grp, types[g])}
    spec = {
        "assets": assets,
        "groups": groups,
        "contracts": contracts,
        "params": {"execution": scn.execution.value, "max_rounds": AGENT_MAX_ROUNDS},
        "policy": {
            "enabled": scn.policy.enabled,
            "lag_days": scn.policy.lag_days.value,
            "qe_per_day": scn.policy.qe_size.value / scn.policy.ramp_days,
            "qe_days": scn.policy.ramp_days,
            "net_liquidity0": scn.policy.net_liquidity.value,
        },
        "stablecoin": _stablecoin_params(scn, types),
    }
    system = System.from_dict(spec)
    mapping = AgentMapping(
        layout=layout,
        asset_index=np.array([system.asset_index(n) for n in names]),
        books=[(g, system.asset_index(name)) for g, name in book_asset.items()],
    )
    return system, mapping


def _member_ranks(gi: np.ndarray) -> list[tuple[int, int]]:
    starts = {int(g): int(np.flatnonzero(gi == g)[0]) for g in np.unique(gi)}
    return [(int(g), i - starts[int(g)]) for i, g in enumerate(gi)]


def _params(group: Any, engine_type: str) -> dict[str, float]:
    if engine_type == "bank":
        lam = group.max_leverage.value
        return {"max_leverage": lam, "target_leverage": 0.95 * lam}
    if engine_type == "crypto_leverage":
        return {"maintenance_margin": 1.0 / group.max_leverage.value}
    if engine_type in ("asset_manager", "private_credit"):
        nav = group.redemptions.nav.value if group.redemptions is not None else 0.0
        return {"redemption_sensitivity": nav}
    return {}


def _stablecoin_params(scn: Scenario, types: list[str]) -> dict[str, float]:
    for g, t in zip(scn.groups, types):
        if t == "stablecoin" and g.redemptions is not None:
            r = g.redemptions
            return {"rho0": r.base.value, "rho_crypto": r.btc.value, "rho_threshold": r.depeg.value}
    return {}


def scenario_shocks(
    scn: Scenario,
    system: System,
    mapping: AgentMapping,
    values: dict[str, np.ndarray],
    draws: TwoPhaseDraws,
    noise: np.ndarray,
) -> Shocks:
    """Per-path engine shocks from one chunk's random inputs (see the module doc)."""
    _, paths, _ = build_chunk(scn, mapping.layout, values, draws, noise)
    P, T, _ = paths.returns.shape
    returns = np.zeros((P, T, system.n_assets))
    returns[:, :, mapping.asset_index] = paths.returns
    for g, k in mapping.books:
        beta = values[f"groups.{g}.illiquid_ai_beta"]
        returns[:, :, k] = beta[:, None] * paths.ai
    depth = np.stack(
        [values[f"assets.{k}.depth"] / a.depth.value for k, a in enumerate(scn.assets)], axis=1
    )
    mult = {
        "depth": np.exp(np.log(depth).mean(axis=1)),
        "policy_lag": values["policy.lag_days"] / scn.policy.lag_days.value,
    }
    navs = [
        values[f"groups.{g}.redemptions.nav"] / grp.redemptions.nav.value
        for g, grp in enumerate(scn.groups)
        if grp.redemptions is not None and grp.redemptions.nav.value > 0
    ]
    if navs:
        mult["redemption"] = np.exp(np.log(np.maximum(np.stack(navs), 1e-12)).mean(axis=0))
    return Shocks(returns, mult)


# --------------------------------------------------------------------------- runs
def chunk_inputs(
    scn: Scenario, n: int, days: int, seed: np.random.SeedSequence
) -> tuple[System, AgentMapping, Shocks]:
    """The engine system and the shocks of one seeded chunk of ``n`` paths.

    The chunk's random inputs are those of the reduced kernel's chunk with the same seed.
    """
    system, mapping = scenario_system(scn)
    values, draws, noise = chunk_draws(scn, n, days, seed)
    return system, mapping, scenario_shocks(scn, system, mapping, values, draws, noise)


def run_engine(
    scn: Scenario, system: System, shocks: Shocks, days: int, *, trace: bool = False
) -> SimulationResult:
    """:func:`~powderkeg.contagion.engine.simulate` over the scenario's calendar.

    ``trace`` records the event log and checks the invariants after every sub-step. A day
    on which the sub-round limit binds is visible in ``rounds`` (reported as
    ``rounds_used_max``), so its warning is not repeated for every chunk.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "day .*sub-round limit", ConvergenceWarning)
        return simulate(
            system,
            shocks,
            days=days,
            start_date=scn.start_date,
            record_events=trace,
            debug=trace,
            chunk_size=shocks.n_paths,
        )


def run_agent_chunk(
    scenario: dict[str, Any], n: int, days: int, seed: np.random.SeedSequence, keep: int
) -> ChunkSummary:
    """Agent-engine counterpart of :func:`~powderkeg.contagion.montecarlo.run_chunk`."""
    scn = parse_scenario(scenario, "<chunk>")
    with _single_blas_thread():
        system, mapping, shocks = chunk_inputs(scn, n, days, seed)
        res = run_engine(scn, system, shocks, days)
    return summarise_agent_chunk(res, mapping, keep)


def _policy_days(res: SimulationResult) -> tuple[np.ndarray, np.ndarray]:
    """Activation day of the engine's policy per path (−1: none) and the in-force mask."""
    cut = (res.policy_actions & RATE_CUT) > 0
    day = np.where(cut.any(axis=1), cut.argmax(axis=1), -1)
    return day, (res.policy_actions & FACILITY_ACTIVE) > 0


def summarise_agent_chunk(res: SimulationResult, mapping: AgentMapping, keep: int) -> ChunkSummary:
    """Reduce an engine result to the per-path statistics of a stress run (by scenario group).

    Losses are ``E⁰ − E_T`` net of fund distributions; the engine does not split them into
    direct, fire-sale and credit parts (``loss_parts`` is NaN).
    """
    layout = mapping.layout
    gi = layout.member_group
    N, G = len(gi), len(layout.group_keys)
    T = res.stablecoin_redemptions.shape[1]
    onehot = np.zeros((N, G))
    onehot[np.arange(N), gi] = 1.0
    loss = res.losses[:, :N]
    default_day = res.default_day[:, :N]
    hist = np.zeros((T, G))
    for g in range(G):
        d = default_day[:, gi == g]
        d = d[d >= 0]
        if d.size:
            hist[:, g] = np.bincount(d, minlength=T)[:T]
    k = mapping.asset_index
    b = int(k[layout.btc])
    lp = np.log(res.prices[:, :, b])
    action, in_force = _policy_days(res)
    end = np.where(action >= 0, np.minimum(action, T), T)
    masked = np.where(np.arange(T + 1)[None, :] <= end[:, None], lp, np.inf)
    e0 = res.equity[:, 0, :N]
    return ChunkSummary(
        n=res.n_paths,
        loss_by_group=loss @ onehot,
        loss_parts=np.full((G, 3), np.nan),
        capital0_by_group=(e0 @ onehot).sum(axis=0),
        defaults_by_group=(default_day >= 0).astype(np.float64) @ onehot,
        default_hist=hist,
        sales=res.fire_sales[:, k],
        drawdown=res.asset_drawdowns()[:, k],
        final_price=res.prices[:, -1, k],
        btc_first_hit=np.expm1(masked.min(axis=1)),
        btc_paths=lp[:keep].copy(),
        redemptions_total=res.stablecoin_redemptions.sum(axis=1),
        treasury_total=res.treasury_sales.sum(axis=1),
        redemptions_daily=res.stablecoin_redemptions.sum(axis=0),
        treasury_daily=res.treasury_sales.sum(axis=0),
        recovery_daily=in_force.sum(axis=0).astype(np.float64),
        pivot=action >= 0,
        rounds_used=int(res.rounds.max()),
    )


# --------------------------------------------------------------------------- trace
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


def cascade_summary(result: AgentTrace) -> Summary:
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
