"""Scenarios through the full agent engine: scenario → :class:`System` + per-path :class:`Shocks`.

The reduced Monte Carlo kernel (:mod:`.reduced_kernel`) and the agent engine (:mod:`.engine`)
read the same validated scenario (:mod:`.scenario_spec`) and the same random numbers: a chunk
seed gives the same drawn figures, two-phase BTC draws and asset noise to both
(:func:`~powderkeg.contagion.draws.chunk_draws`), and the exogenous return paths are built by
the same function (:func:`~powderkeg.contagion.draws.build_chunk`). What the agent engine adds
is the full model-spec §7 schedule: repo margin calls with procyclical haircuts, collateral
seizure, clearing of the contract network (Rogers–Veraart), fund redemptions settled on bank
days, credit-line draws, the stablecoin waterfall, central-bank purchases and facility loans,
market calendars and an event log. :func:`run_agent_chunk` runs one seeded chunk of a stress
run through the engine and reduces it to the same :class:`~.chunks.ChunkSummary` as the
reduced kernel; single traced paths are in :mod:`.agent_trace`.

Mapping (USD bn; leverage = assets/equity; ``[A]`` marks a mapping assumption):

* **balance sheets** use the scenario's central figures (``value``): member ``i`` of group
  ``g`` has assets ``A_i = A_g s_i`` (the Zipf shares of :class:`~.draws.Layout`),
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

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from powderkeg.contagion.chunks import ChunkSummary, single_blas_thread
from powderkeg.contagion.draws import Layout, build_chunk, chunk_draws, member_leverage
from powderkeg.contagion.engine import simulate
from powderkeg.contagion.policy import FACILITY_ACTIVE, RATE_CUT
from powderkeg.contagion.scenario_spec import Scenario, parse_scenario
from powderkeg.contagion.shocks import Shocks
from powderkeg.contagion.simulation_result import SimulationResult
from powderkeg.contagion.system import DEFAULT_ASSETS, System
from powderkeg.exceptions import ConvergenceWarning, InputError
from powderkeg.scenarios.two_phase import TwoPhaseDraws

#: Model version of agent-engine stress runs (bump when their results change: it keys the
#: cache).
AGENT_MODEL_VERSION = "agent-3"
#: Engine sub-round limit ``n_max`` for scenario runs (model-spec §7).
AGENT_MAX_ROUNDS = 20
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
    # balance sheets (same formulas as draws.build_chunk, central values)
    total = np.array([g.total_assets.value for g in scn.groups])[gi] * share
    lam_max = np.array([g.max_leverage.value for g in scn.groups])[gi]
    spread = np.array([g.leverage_spread for g in scn.groups])[gi]
    lev = np.array([g.leverage.value for g in scn.groups])[gi]
    lam = member_leverage(lev, lam_max, spread, layout.member_z, share, gi)
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
            "fixed_day": (
                None if scn.policy.action_date is None else scn.day_of(scn.policy.action_date)
            ),
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
            out = {"rho0": r.base.value, "rho_crypto": r.btc.value, "rho_threshold": r.depeg.value}
            if r.impairment is not None:
                out["rho_impairment"] = r.impairment.value
            return out
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
    impairment = paths.impairment if paths.impairment.any() else None
    return Shocks(returns, mult, impairment)


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
    """Agent-engine counterpart of :func:`~powderkeg.contagion.chunks.run_chunk`."""
    scn = parse_scenario(scenario, "<chunk>")
    with single_blas_thread():
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
