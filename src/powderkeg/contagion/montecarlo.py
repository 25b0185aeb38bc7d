r"""Monte Carlo stress runs: uncertain parameters and shocks, vectorised across paths, chunked.

A run draws, per path, every scenario figure within its range (triangular, the figure's
value as mode, by inverse CDF so scaled ranges give common random numbers) and the random
numbers of the AI-factor / two-phase BTC block (:mod:`powderkeg.scenarios.two_phase`), then
simulates the system day by day for all paths of a chunk at once. Chunks get their own
children of a :class:`numpy.random.SeedSequence` and run serially, in local processes or on a
Dask cluster through :func:`powderkeg.parallel.map_chunks` — the same seed gives identical
results whichever runs them. Results are cached in the store keyed by the scenario hash, seed,
paths and days.

The system kernel (:func:`simulate_system`) is RNG-free and vectorised across paths. Each day:

1. *Exogenous revaluation* (§7 step 3): asset prices move by the exogenous log returns
   ``P ← P·exp(f)``; illiquid assets by ``I ← I·exp(β_I r_AI)``; capital absorbs the change
   ("direct" losses).
2. *Redemptions* (§3.3.3, §4.3): funds and stablecoin issuers pay a fraction ρ of their balance
   sheet pro rata (marketable part sold into the market; illiquid part = deposits withdrawn).
3. *Fire-sale rounds* (Cont–Schaanning, §1.3; ``rounds_per_day`` sub-rounds): with the leverage
   ``λ = (V + I)/C`` (assets/equity), ``Γ = min(1, (V + I − λ_tgt C)/V)`` when ``λ > λ_max``,
   ``λ_tgt = 0.95 λ_max``; defaulted institutions (``C ≤ 0``) sell everything. Sales
   ``q_k = Σ_i Γ_i Π_ik`` clear at one price per asset, ``Ψ_k = 1 − exp(−q_k / D_k(t))`` with
   depth ``D_k(t) = D_k g_k(t)`` (stress multiplier before policy, facility multiplier after);
   losses ``Σ_k Π_ik Ψ_k (1 − (1 − α)Γ_i)`` ("fire-sale" losses).
4. *Defaults and counterparty losses* (M2, written down once): when a borrower defaults its
   lenders lose ``LGD × claim`` ("credit" losses), possibly cascading within the day.

Because sales are pro rata, holdings keep their composition: ``Π_ik = h_i w_ik P_k`` with a
scalar ``h_i`` per institution, so each round costs three small matrix products
(P×K by K×N) instead of touching a P×N×K array. With a single day, no exogenous moves and
``rounds_per_day`` large the kernel reproduces :func:`powderkeg.contagion.firesale.cont_schaanning`
(tested on T-CS-1). Money in USD billions; leverage is assets/equity.

Engines (``run_stress(..., engine=...)``, ``powderkeg stress run --engine``):

``reduced`` (default)
    the kernel above: leverage-threshold fire sales, fund and stablecoin redemptions paid pro
    rata, counterparty write-downs at LGD, transient impact, the two-phase BTC path and the
    scenario's policy pivot. It has **no** repo margin calls or procyclical haircuts, no
    collateral seizure, no clearing of a contract network, no market calendars (every asset
    trades daily) and no central-bank balance sheet. Fast: 10,000 paths in seconds.
``agent``
    the double-entry agent engine (:mod:`powderkeg.contagion.engine`) with the full
    model-spec §7 daily schedule — margin calls with procyclical haircuts, collateral seizure,
    greatest clearing vector (Rogers–Veraart), redemptions settled on bank days, credit-line
    draws, the stablecoin waterfall, central-bank QE and facility loans, NYSE/crypto calendars
    — fed by the same drawn figures and exogenous paths (mapping in
    :mod:`powderkeg.contagion.agent_scenario`; balance sheets at the scenario's central
    figures). Roughly a thousand times slower per path, so runs are capped
    (:data:`AGENT_MAX_PATHS`, :data:`AGENT_MAX_WORK`); losses are not split into direct,
    fire-sale and credit parts.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import check_int
from powderkeg.contagion.scenario_spec import Scenario, parse_scenario, scenario_hash
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table
from powderkeg.scenarios.two_phase import (
    QUANTILES,
    TwoPhaseDraws,
    TwoPhaseParams,
    qlabel,
    simulate_two_phase,
    triangular_ppf,
)

#: Largest number of paths a run accepts (memory: ~25 floats kept per path).
MAX_PATHS = 1_000_000
#: Longest horizon in days.
MAX_DAYS = 3650
#: Largest paths × institutions × days product (a guard against runs that cannot finish).
MAX_WORK = 5e11
#: Default chunk size (paths per task).
CHUNK = 1000
#: BTC paths kept for the fan chart (the first ones; paths are i.i.d.).
FAN_PATHS = 2000
#: Cache namespace and model version (bump when the kernel's results change).
CACHE_NAMESPACE = "stress-run"
MODEL_VERSION = "reduced-1"
#: Engines of :func:`run_stress` (see the module doc).
ENGINES = ("reduced", "agent")
#: Agent engine: model version, paths per task, largest run (paths; paths x institutions x
#: days, about three minutes serially on one core).
AGENT_MODEL_VERSION = "agent-1"
AGENT_CHUNK = 64
AGENT_PATHS = 256  # default run size of the agent engine
AGENT_MAX_ROUNDS = 20  # engine sub-round limit n_max for scenario runs (model-spec §7)
AGENT_MAX_PATHS = 20_000
AGENT_MAX_WORK = 2e7
#: Impact half-lives (days) at or above this are permanent (Cont–Schaanning).
PERMANENT = 1e12
#: Sales below this (USD bn) end the day's rounds.
TOL = 1e-9


# --------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class Layout:
    """Static structure of a scenario: members, shares, portfolio weights, asset kinds."""

    asset_keys: list[str]
    asset_labels: list[str]
    asset_kinds: list[str]
    group_keys: list[str]
    group_labels: list[str]
    group_types: list[str]
    member_group: np.ndarray  # (N,) group index
    member_share: np.ndarray  # (N,) share of its group's assets
    member_z: np.ndarray  # (N,) leverage position in [-1, 1]
    weights: np.ndarray  # (G, K)
    btc: int
    treasury: np.ndarray  # (K,) bool
    links: list[tuple[int, int]]

    @classmethod
    def from_scenario(cls, scn: Scenario) -> Layout:
        """Derive the layout of ``scn``."""
        keys = [a.key for a in scn.assets]
        groups, shares, zs = [], [], []
        for gi, g in enumerate(scn.groups):
            ranks = np.arange(1, g.count + 1, dtype=np.float64)
            w = ranks ** (-g.size_exponent)
            shares.append(w / w.sum())
            zs.append(np.linspace(1.0, -1.0, g.count) if g.count > 1 else np.zeros(1))
            groups.append(np.full(g.count, gi))
        weights = np.zeros((len(scn.groups), len(keys)))
        for gi, g in enumerate(scn.groups):
            for k, wk in g.portfolio.items():
                weights[gi, keys.index(k)] = wk
        gkeys = [g.key for g in scn.groups]
        return cls(
            asset_keys=keys,
            asset_labels=[a.label for a in scn.assets],
            asset_kinds=[a.kind for a in scn.assets],
            group_keys=gkeys,
            group_labels=[g.label for g in scn.groups],
            group_types=[g.type for g in scn.groups],
            member_group=np.concatenate(groups),
            member_share=np.concatenate(shares),
            member_z=np.concatenate(zs),
            weights=weights,
            btc=keys.index(scn.btc.asset),
            treasury=np.array([a.kind in ("treasury", "bill") for a in scn.assets]),
            links=[(gkeys.index(x.lender), gkeys.index(x.borrower)) for x in scn.lending],
        )

    @property
    def n_institutions(self) -> int:
        """N."""
        return int(self.member_group.shape[0])


def draw_figures(scn: Scenario, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Draw every figure of ``scn`` for ``n`` paths (dotted key → array (n,)).

    One uniform per figure and path is drawn in document order (also for fixed figures, so
    adding a range never shifts the other draws); a figure with a range is triangular with its
    value as mode, a figure without one is constant.
    """
    out = {}
    for key, fig in scn.figures():
        u = rng.random(n)
        if fig.range is None:
            out[key] = np.full(n, fig.value)
        else:
            out[key] = triangular_ppf(u, fig.low, fig.value, fig.high)
    return out


# --------------------------------------------------------------------------- system arrays
@dataclass(frozen=True)
class SystemArrays:
    """Balance sheets and parameters of one chunk (P paths, N institutions, K assets)."""

    group_weights: np.ndarray  # (G, K) portfolio weights of each group's marketable part
    member_group: np.ndarray  # (N,) group of each member (non-decreasing: groups contiguous)
    marketable: np.ndarray  # (P, N) marketable holdings at price 1 (USD bn)
    illiquid: np.ndarray  # (P, N)
    capital: np.ndarray  # (P, N)
    max_leverage: np.ndarray  # (P, N)
    illiquid_beta: np.ndarray  # (P, N)
    red_base: np.ndarray  # (P, N)
    red_nav: np.ndarray
    red_btc: np.ndarray
    red_depeg: np.ndarray
    issuer: np.ndarray  # (N,) bool: stablecoin issuers
    depth: np.ndarray  # (P, K)
    impact_decay: np.ndarray  # (P, K) daily retention of price impact, 2^(-1/half-life)
    execution: np.ndarray  # (P,)
    link_lender: list[np.ndarray]  # member indices per link
    link_borrower: list[np.ndarray]
    link_lender_share: list[np.ndarray]
    link_borrower_share: list[np.ndarray]
    link_amount: np.ndarray  # (P, L)
    link_lgd: np.ndarray  # (P, L)
    treasury: np.ndarray  # (K,) bool
    btc: int


@dataclass(frozen=True)
class ShockPaths:
    """Exogenous inputs of one chunk: returns (P, T, K), AI factor (P, T), depth (P, T, K)."""

    returns: np.ndarray
    ai: np.ndarray
    depth_mult: np.ndarray
    recovery: np.ndarray  # (P, T) bool
    action_day: np.ndarray  # (P,)


def two_phase_params(scn: Scenario) -> TwoPhaseParams:
    """The scenario's central two-phase parameters (forced selling is endogenous here)."""
    b, s, p = scn.btc, scn.shock, scn.policy
    btc_asset = scn.assets[[a.key for a in scn.assets].index(b.asset)]
    return TwoPhaseParams(
        ai_shock=s.ai_drawdown.value,
        shock_days=max(1, round(s.shock_days.value)),
        ai_vol=s.ai_vol.value,
        ai_recovery_drift=p.ai_recovery_drift.value,
        beta_s=b.beta_s.value,
        beta_r=b.beta_r.value,
        eta=b.eta.value,
        delta=b.delta.value,
        chi=b.chi.value,
        gamma_sc=b.gamma_sc.value,
        gamma_f=0.0,
        sigma_s=b.sigma_s.value,
        sigma_r=b.sigma_r.value,
        jump_intensity=b.jump_intensity.value,
        jump_mean=b.jump_mean.value,
        jump_sd=b.jump_sd.value,
        forced_holdings=0.0,
        depth=btc_asset.depth.value,
        stress_depth=btc_asset.stress_depth.value,
        policy=p.enabled,
        trigger_drawdown=p.trigger_drawdown.value,
        trigger_days=p.trigger_days,
        lag_days=max(1, round(p.lag_days.value)),
        qe_size=p.qe_size.value,
        net_liquidity=p.net_liquidity.value,
        qe_ramp_days=p.ramp_days,
        liquidity_drift=s.liquidity_drift.value,
    )


def build_chunk(
    scn: Scenario,
    layout: Layout,
    values: dict[str, np.ndarray],
    draws: TwoPhaseDraws,
    noise: np.ndarray,
) -> tuple[SystemArrays, ShockPaths, np.ndarray]:
    """Turn drawn figures and random numbers into kernel inputs.

    Returns the system, the exogenous shocks and the two-phase BTC log returns (P, T).
    ``noise`` holds standard normals of shape (P, T, K) for the assets' idiosyncratic moves.
    """
    P = draws.shape[0]
    gi = layout.member_group
    G, K = len(scn.groups), len(scn.assets)

    def grp(name: str) -> np.ndarray:
        return np.stack([values[f"groups.{g}.{name}"] for g in range(G)], axis=1)[:, gi]

    def ast(name: str) -> np.ndarray:
        return np.stack([values[f"assets.{k}.{name}"] for k in range(K)], axis=1)

    assets = grp("total_assets") * layout.member_share[None, :]
    lam_max = grp("max_leverage")
    spread = np.array([scn.groups[g].leverage_spread for g in range(G)])[gi]
    lam = grp("leverage") * (1.0 + spread * layout.member_z)[None, :]
    lam = np.clip(lam, 1.0 + 1e-9, np.maximum(0.97 * lam_max, 1.0 + 1e-9))
    share = grp("marketable_share")
    zeros = np.zeros((P, layout.n_institutions))
    red = {}
    for part in ("base", "nav", "btc", "depeg"):
        cols = []
        for g, spec in enumerate(scn.groups):
            key = f"groups.{g}.redemptions.{part}"
            cols.append(values[key] if spec.redemptions is not None else np.zeros(P))
        red[part] = np.stack(cols, axis=1)[:, gi] if cols else zeros
    lenders, borrowers, lshare, bshare = [], [], [], []
    for lg, bg in layout.links:
        li, bi = np.flatnonzero(gi == lg), np.flatnonzero(gi == bg)
        lenders.append(li)
        borrowers.append(bi)
        lshare.append(layout.member_share[li])
        bshare.append(layout.member_share[bi])
    n_links = len(layout.links)
    amount = (
        np.stack([values[f"lending.{i}.amount"] for i in range(n_links)], axis=1)
        if n_links
        else np.zeros((P, 0))
    )
    lgd = (
        np.stack([values[f"lending.{i}.lgd"] for i in range(n_links)], axis=1)
        if n_links
        else np.zeros((P, 0))
    )
    system = SystemArrays(
        group_weights=layout.weights,
        member_group=gi,
        marketable=assets * share,
        illiquid=assets * (1.0 - share),
        capital=assets / lam,
        max_leverage=lam_max,
        illiquid_beta=grp("illiquid_ai_beta"),
        red_base=red["base"],
        red_nav=red["nav"],
        red_btc=red["btc"],
        red_depeg=red["depeg"],
        issuer=np.array([layout.group_types[g] == "stablecoin_issuer" for g in gi]),
        depth=ast("depth"),
        impact_decay=np.where(
            ast("impact_half_life") >= PERMANENT, 1.0, np.exp2(-1.0 / ast("impact_half_life"))
        ),
        execution=values["execution"],
        link_lender=lenders,
        link_borrower=borrowers,
        link_lender_share=lshare,
        link_borrower_share=bshare,
        link_amount=amount,
        link_lgd=lgd,
        treasury=layout.treasury,
        btc=layout.btc,
    )
    # the AI factor, policy and BTC from the two-phase block (per-path parameters)
    tp = two_phase_params(scn)
    overrides = {
        "ai_shock": values["shock.ai_drawdown"],
        "shock_days": values["shock.shock_days"],
        "ai_vol": values["shock.ai_vol"],
        "liquidity_drift": values["shock.liquidity_drift"],
        "trigger_drawdown": values["policy.trigger_drawdown"],
        "lag_days": values["policy.lag_days"],
        "qe_size": values["policy.qe_size"],
        "net_liquidity": values["policy.net_liquidity"],
        "ai_recovery_drift": values["policy.ai_recovery_drift"],
        "depth": values[f"assets.{layout.btc}.depth"],
        "stress_depth": values[f"assets.{layout.btc}.stress_depth"],
    }
    for name in (
        "beta_s", "beta_r", "eta", "delta", "chi", "gamma_sc", "sigma_s", "sigma_r",
        "jump_intensity", "jump_mean", "jump_sd",
    ):  # fmt: skip
        overrides[name] = values[f"btc.{name}"]
    paths = simulate_two_phase(tp, draws, overrides=overrides)
    rec = paths.recovery
    beta = ast("ai_beta")
    vol = ast("vol")
    drift = ast("recovery_drift")
    r_ai = paths.ai_returns
    returns = (
        beta[:, None, :] * r_ai[:, :, None]
        + vol[:, None, :] * noise
        + np.where(rec[:, :, None], drift[:, None, :], 0.0)
    )
    returns[:, :, layout.btc] = paths.exogenous
    theta = values["policy.trigger_drawdown"]
    dd_prev = np.concatenate([np.zeros((P, 1)), paths.ai_drawdown[:, :-1]], axis=1)
    level = np.minimum(1.0, dd_prev / theta[:, None])
    g_stress = ast("stress_depth")
    boost = ast("policy_depth")
    mult = np.where(
        rec[:, :, None],
        boost[:, None, :],
        1.0 - level[:, :, None] * (1.0 - g_stress[:, None, :]),
    )
    shocks = ShockPaths(
        returns=returns, ai=r_ai, depth_mult=mult, recovery=rec, action_day=paths.action_day
    )
    return system, shocks, paths.exogenous


# --------------------------------------------------------------------------- kernel
@dataclass(frozen=True)
class SystemOutcome:
    """Kernel output for one chunk (P paths, N institutions, K assets, T days)."""

    capital0: np.ndarray  # (P, N)
    capital: np.ndarray  # (P, N) unfloored
    direct_loss: np.ndarray  # (P, N)
    fire_loss: np.ndarray  # (P, N)
    credit_loss: np.ndarray  # (P, N)
    default_day: np.ndarray  # (P, N) int, -1 = no default
    sales: np.ndarray  # (P, K) USD bn at pre-trade prices
    prices: np.ndarray  # (P, K) final, relative to 1
    max_drawdown: np.ndarray  # (P, K)
    btc_log_price: np.ndarray  # (P, T+1)
    redemptions: np.ndarray  # (P, T) stablecoin redemptions (USD bn)
    treasury_sales: np.ndarray  # (P, T) sales of Treasuries and bills (USD bn)
    rounds_used: int


def simulate_system(
    system: SystemArrays, shocks: ShockPaths, *, rounds_per_day: int
) -> SystemOutcome:
    """Simulate the system day by day for all paths at once (no RNG; see the module doc).

    Parameters
    ----------
    system : SystemArrays
    shocks : ShockPaths
    rounds_per_day : int
        Maximum fire-sale sub-rounds per day (§7: stop early when no sales remain).

    Returns
    -------
    SystemOutcome
    """
    P, T, K = shocks.returns.shape
    GW = system.group_weights  # (G, K)
    GWT = np.ascontiguousarray(GW.T)
    gi = system.member_group
    if np.any(np.diff(gi) < 0):
        raise InputError("members must be ordered by group")
    starts = np.flatnonzero(np.r_[True, np.diff(gi) > 0])
    groups = gi[starts]

    def member_value(prices: np.ndarray) -> np.ndarray:
        # Σ_k w_{g(i)k} p_k for every member: (P, G) then broadcast to members
        return np.take(prices @ GWT, gi, axis=1)

    def group_sum(x: np.ndarray) -> np.ndarray:
        # Σ_i x_i w_{g(i)k}: sum members per group, then weight by the group's portfolio
        return np.add.reduceat(x, starts, axis=1) @ GW[groups]

    decay = system.impact_decay
    permanent = bool(np.all(decay == 1.0))
    impact = np.zeros((P, K))  # accumulated log price impact (<= 0)
    h = system.marketable.copy()
    I = system.illiquid.copy()
    C = system.capital.copy()
    C0 = C.copy()
    lam_max = system.max_leverage
    lam_tgt = 0.95 * lam_max
    alpha = system.execution[:, None]
    S = np.ones((P, K))
    peak = np.ones((P, K))
    max_dd = np.zeros((P, K))
    alive = np.ones(C.shape, dtype=bool)
    default_day = np.full(C.shape, -1, dtype=np.int64)
    direct = np.zeros(C.shape)
    fire = np.zeros(C.shape)
    credit = np.zeros(C.shape)
    sales = np.zeros((P, K))
    redemptions = np.zeros((P, T))
    tsy = np.zeros((P, T))
    btc_lp = np.zeros((P, T + 1))
    r_btc_prev = np.zeros(P)
    issuer = system.issuer[None, :]
    has_red = bool(
        np.any(system.red_base) or np.any(system.red_nav) or np.any(system.red_btc)
        or np.any(system.red_depeg)
    )  # fmt: skip
    rounds_used = 0
    for t in range(T):
        btc_start = S[:, system.btc].copy()
        # 1. exogenous revaluation, including the decay of past price impact (transient
        #    impact with a half-life per asset; permanent when the decay factor is 1)
        V_old = h * member_value(S)
        A_old = V_old + I
        if not permanent and t > 0:
            kept = impact * decay
            S = S * np.exp(kept - impact)
            impact = kept
        S = S * np.exp(shocks.returns[:, t, :])
        V_new = h * member_value(S)
        dI = I * np.expm1(system.illiquid_beta * shocks.ai[:, t][:, None])
        I = I + dI
        dv = V_new - V_old + dI
        C = C + dv
        direct -= dv
        new = alive & (C <= 0.0)
        default_day[new] = t
        alive &= ~new
        # 2. redemption rates (alive funds and issuers)
        if has_red:
            with np.errstate(divide="ignore", invalid="ignore"):
                nav_ret = np.where(A_old > 0, dv / A_old, 0.0)
            rho = (
                system.red_base
                + system.red_nav * np.maximum(0.0, -nav_ret)
                + system.red_btc * np.maximum(0.0, -r_btc_prev)[:, None]
                + system.red_depeg * (C < 0.5 * C0)
            )
            rho = np.where(alive, np.clip(rho, 0.0, 1.0), 0.0)
        else:
            rho = np.zeros(C.shape)
        depth = system.depth * shocks.depth_mult[:, t, :]
        # 3. fire-sale rounds
        for n in range(rounds_per_day):
            V = h * member_value(S)
            A = V + I
            solvent = alive & (C > 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                lam = np.where(solvent, A / np.where(solvent, C, 1.0), np.inf)
                need = np.where(V > TOL, (A - lam_tgt * C) / V, 0.0)
            gamma = np.where(solvent & (lam > lam_max) & (V > TOL), np.minimum(1.0, need), 0.0)
            gamma = np.where(~alive & (V > TOL), 1.0, gamma)
            if n == 0 and has_red:
                paid = rho * A
                redemptions[:, t] = np.sum(np.where(issuer, paid, 0.0), axis=1)
                gamma = 1.0 - (1.0 - gamma) * (1.0 - rho)
                I = I * (1.0 - rho)
            q = group_sum(gamma * h) * S
            if not np.any(q > TOL):
                break
            rounds_used = max(rounds_used, n + 1)
            psi = -np.expm1(-q / depth)
            loss = h * member_value(S * psi) * (1.0 - (1.0 - alpha) * gamma)
            C = C - loss
            fire += loss
            h = h * (1.0 - gamma)
            S = S * (1.0 - psi)
            impact += np.log1p(-psi)
            sales += q
            tsy[:, t] += q[:, system.treasury].sum(axis=1)
            new = alive & (C <= 0.0)
            default_day[new] = t
            alive &= ~new
        # 4. counterparty losses, written down once per default (cascading within the day)
        if system.link_amount.shape[1]:
            fresh = default_day == t
            while np.any(fresh):
                hit_any = np.zeros(C.shape)
                for li in range(system.link_amount.shape[1]):
                    b_idx = system.link_borrower[li]
                    frac = fresh[:, b_idx] @ system.link_borrower_share[li]
                    if not np.any(frac):
                        continue
                    amount = system.link_amount[:, li] * system.link_lgd[:, li] * frac
                    l_idx = system.link_lender[li]
                    hit_any[:, l_idx] += amount[:, None] * system.link_lender_share[li][None, :]
                C = C - hit_any
                I = np.maximum(I - hit_any, 0.0)
                credit += hit_any
                fresh = alive & (C <= 0.0)
                default_day[fresh] = t
                alive &= ~fresh
        peak = np.maximum(peak, S)
        max_dd = np.maximum(max_dd, 1.0 - S / peak)
        btc_lp[:, t + 1] = np.log(S[:, system.btc])
        r_btc_prev = np.log(S[:, system.btc] / btc_start)
    return SystemOutcome(
        capital0=C0,
        capital=C,
        direct_loss=direct,
        fire_loss=fire,
        credit_loss=credit,
        default_day=default_day,
        sales=sales,
        prices=S,
        max_drawdown=max_dd,
        btc_log_price=btc_lp,
        redemptions=redemptions,
        treasury_sales=tsy,
        rounds_used=rounds_used,
    )


# --------------------------------------------------------------------------- chunks
@dataclass
class ChunkSummary:
    """What one chunk sends back: per-path statistics and sums (mergeable in task order)."""

    n: int
    loss_by_group: np.ndarray  # (P, G)
    loss_parts: np.ndarray  # (G, 3) sums of direct, fire-sale, credit losses
    capital0_by_group: np.ndarray  # (G,) sum over paths
    defaults_by_group: np.ndarray  # (P, G) counts
    default_hist: np.ndarray  # (T, G) counts of new defaults per day
    sales: np.ndarray  # (P, K)
    drawdown: np.ndarray  # (P, K)
    final_price: np.ndarray  # (P, K)
    btc_first_hit: np.ndarray  # (P,)
    btc_paths: np.ndarray  # (≤ keep, T+1)
    redemptions_total: np.ndarray  # (P,)
    treasury_total: np.ndarray  # (P,)
    redemptions_daily: np.ndarray  # (T,) sum over paths
    treasury_daily: np.ndarray  # (T,) sum over paths
    recovery_daily: np.ndarray  # (T,) number of paths in regime R
    pivot: np.ndarray  # (P,) bool: policy acted within the horizon
    rounds_used: int


def chunk_draws(
    scn: Scenario, n: int, days: int, seed: np.random.SeedSequence
) -> tuple[dict[str, np.ndarray], TwoPhaseDraws, np.ndarray]:
    """The random inputs of one chunk of ``n`` paths: drawn figures, two-phase draws, noise.

    ``seed`` spawns three children (figures, two-phase block, asset noise), so both engines
    see the same numbers for the same chunk seed.
    """
    p_seed, d_seed, n_seed = seed.spawn(3)
    values = draw_figures(scn, np.random.default_rng(p_seed), n)
    draws = TwoPhaseDraws.draw(np.random.default_rng(d_seed), n, days)
    noise = np.random.default_rng(n_seed).standard_normal((n, days, len(scn.assets)))
    return values, draws, noise


def run_chunk(
    scenario: dict[str, Any], n: int, days: int, seed: np.random.SeedSequence, keep: int
) -> ChunkSummary:
    """Draw and simulate one chunk of ``n`` paths (module level, so it pickles to workers).

    ``scenario`` is the validated scenario as a JSON dict; ``keep`` is how many BTC paths to
    return for the fan chart.
    """
    scn = parse_scenario(scenario, "<chunk>")
    layout = Layout.from_scenario(scn)
    values, draws, noise = chunk_draws(scn, n, days, seed)
    with _single_blas_thread():
        system, shocks, _ = build_chunk(scn, layout, values, draws, noise)
        out = simulate_system(system, shocks, rounds_per_day=scn.rounds_per_day)
    return summarise_chunk(out, layout, shocks, keep)


def _single_blas_thread() -> Any:
    """Limit BLAS to one thread (uses threadpoolctl when installed).

    The kernel's matrix products are tiny; BLAS threads only contend with other workers.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def summarise_chunk(
    out: SystemOutcome, layout: Layout, shocks: ShockPaths, keep: int
) -> ChunkSummary:
    """Reduce a kernel outcome to the per-path statistics a run reports."""
    gi = layout.member_group
    G = len(layout.group_keys)
    T = out.redemptions.shape[1]
    onehot = np.zeros((layout.n_institutions, G))
    onehot[np.arange(layout.n_institutions), gi] = 1.0
    loss = out.capital0 - out.capital
    defaulted = out.default_day >= 0
    hist = np.zeros((T, G))
    for g in range(G):
        days = out.default_day[:, gi == g]
        days = days[days >= 0]
        if days.size:
            hist[:, g] = np.bincount(days, minlength=T)[:T]
    lp = out.btc_log_price
    end = np.where(shocks.action_day >= 0, np.minimum(shocks.action_day, T), T)
    masked = np.where(np.arange(T + 1)[None, :] <= end[:, None], lp, np.inf)
    return ChunkSummary(
        n=int(loss.shape[0]),
        loss_by_group=loss @ onehot,
        loss_parts=np.stack(
            [
                (out.direct_loss @ onehot).sum(axis=0),
                (out.fire_loss @ onehot).sum(axis=0),
                (out.credit_loss @ onehot).sum(axis=0),
            ],
            axis=1,
        ),
        capital0_by_group=(out.capital0 @ onehot).sum(axis=0),
        defaults_by_group=defaulted.astype(np.float64) @ onehot,
        default_hist=hist,
        sales=out.sales,
        drawdown=out.max_drawdown,
        final_price=out.prices,
        btc_first_hit=np.expm1(masked.min(axis=1)),
        btc_paths=lp[:keep].copy(),
        redemptions_total=out.redemptions.sum(axis=1),
        treasury_total=out.treasury_sales.sum(axis=1),
        redemptions_daily=out.redemptions.sum(axis=0),
        treasury_daily=out.treasury_sales.sum(axis=0),
        recovery_daily=shocks.recovery.sum(axis=0).astype(np.float64),
        pivot=(shocks.action_day >= 0) & (shocks.action_day < T),
        rounds_used=out.rounds_used,
    )


# --------------------------------------------------------------------------- result
def _q(x: np.ndarray) -> dict[str, float]:
    qs = np.quantile(x, QUANTILES) if x.size else np.full(len(QUANTILES), np.nan)
    return {qlabel(q): float(v) for q, v in zip(QUANTILES, qs)}


@dataclass
class StressResult(Result):
    """A stress run: losses and defaults by institution type, fire sales, BTC (DESIGN.md keys).

    The payload is built once from the chunks (or read back from the cache) and holds
    everything the summary, frame and figures need.
    """

    payload: dict[str, Any]
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return self.payload

    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return str(self.payload["scenario"]["name"])

    def losses_frame(self) -> pd.DataFrame:
        """Losses (USD bn, with their decomposition) and defaults by institution group."""
        rows = []
        for key, d in self.payload["losses"]["by_group"].items():
            dd = self.payload["defaults"]["by_group"][key]
            rows.append(
                {
                    "group": key,
                    "label": d["label"],
                    "type": d["type"],
                    "members": dd["members"],
                    "capital": d["capital"],
                    "mean loss": d["mean"],
                    "p95 loss": d["q95"],
                    "direct": d["direct"],
                    "fire sales": d["fire_sales"],
                    "credit": d["credit"],
                    "mean defaults": dd["mean"],
                    "P(default)": dd["p_any"],
                }
            )
        return pd.DataFrame(rows).set_index("group")

    def assets_frame(self) -> pd.DataFrame:
        """Fire sales (USD bn) and drawdowns by asset."""
        rows = []
        for key, d in self.payload["asset_drawdowns"].items():
            fs = self.payload["fire_sales"][key]
            rows.append(
                {
                    "asset": key,
                    "sold mean": fs["mean"],
                    "sold p95": fs["q95"],
                    "max dd q50": d["q50"],
                    "max dd q95": d["q95"],
                    "price T q50": d["price_at_horizon"]["q50"],
                }
            )
        return pd.DataFrame(rows).set_index("asset")

    def to_frame(self) -> pd.DataFrame:
        """Losses and defaults by institution group."""
        return self.losses_frame()

    def summary(self) -> Summary:
        """Headline facts, the group and asset tables."""
        p = self.payload
        btc = p["btc"]
        facts: list[tuple[str, Any]] = [
            ("scenario", f"{p['scenario']['name']} ({p['scenario']['hash']})"),
            ("paths x institutions x assets x days",
             f"{p['paths']} x {p['institutions']} x {len(p['asset_drawdowns'])} x {p['days']}"),
            ("groups", ", ".join(f"{k} = {v['label']}"
                                 for k, v in p["losses"]["by_group"].items())),
            ("expected total loss (USD bn)", p["losses"]["total"]["mean"]),
            ("95% / 99% total loss (USD bn)",
             f"{p['losses']['total']['q95']:,.0f} / {p['losses']['total']['q99']:,.0f}"),
            ("expected defaults", p["defaults"]["total"]["mean"]),
            ("P(at least one default)", p["defaults"]["total"]["p_any"]),
            ("stablecoin redemptions, mean (USD bn)", p["stablecoin_redemptions"]["mean"]),
            ("Treasury and bill sales, mean (USD bn)", p["treasury_sales"]["mean"]),
            ("P(policy acts within horizon)", p["policy"]["p_action"]),
            (f"P(BTC survives first hit: trough > -{btc['survive_threshold']:.0%})",
             btc["p_survive_first_hit"]),
            ("P(BTC above start at horizon)", btc["p_above_start"]),
            ("BTC median max drawdown", btc["drawdown"]["q50"]),
            ("seed", p["seed"]),
            ("runtime (s)", p["runtime_s"]),
        ]  # fmt: skip
        if p.get("cached"):
            facts.append(("cached", f"yes (computed in {p['compute_s']:.2f} s)"))
        lf = self.losses_frame()
        decomposed = lf["direct"].notna().all()
        btc_tab = pd.DataFrame(
            {
                "max drawdown": btc["drawdown"],
                "price at T (start = 1)": btc["price_at_horizon"],
            }
        )
        btc_tab.index.name = "quantile"
        return Summary(
            f"Stress run: {p['scenario']['title']}",
            facts=facts,
            tables=[
                Table.from_frame(
                    "Losses and defaults by institution group (USD bn)",
                    lf[
                        [
                            "members",
                            "capital",
                            "mean loss",
                            "p95 loss",
                            "mean defaults",
                            "P(default)",
                        ]
                    ],
                ),
                *(
                    [
                        Table.from_frame(
                            "Mean loss decomposition (USD bn)",
                            lf[["direct", "fire sales", "credit"]],
                        )
                    ]
                    if decomposed
                    else []
                ),
                Table.from_frame("Fire sales (USD bn) and drawdowns by asset", self.assets_frame()),
                Table.from_frame("BTC", btc_tab),
            ],
            notes=[
                f"Engine: {p['engine']}. "
                + (
                    "Losses are capital losses C0 - C_T (direct revaluation + fire-sale impact "
                    "+ counterparty write-downs); defaults are C <= 0."
                    if decomposed
                    else "Losses are book-equity losses E0 - E_T net of fund distributions; "
                    "defaults are insolvency or failure to pay (margin calls, redemptions)."
                ),
                "Every figure is drawn per path within its scenario range; see provenance "
                "for sources and evidence grades.",
                *(
                    [
                        f"The agent engine's sub-round limit ({p['rounds_used_max']}) bound on "
                        "some day: sales had not stopped within the day (spectral radius >= 1?)."
                    ]
                    if not decomposed and p["rounds_used_max"] >= AGENT_MAX_ROUNDS
                    else []
                ),
            ],
        )

    def plot(self) -> Any:
        """The loss distribution (histogram of total losses across paths)."""
        return loss_histogram(self.payload)


def loss_histogram(payload: dict[str, Any]) -> Any:
    """Plotly bar chart of the stored total-loss histogram."""
    import plotly.graph_objects as go

    h = payload["losses"]["histogram"]
    edges = np.asarray(h["edges"])
    mids = 0.5 * (edges[1:] + edges[:-1])
    fig = go.Figure(go.Bar(x=mids, y=h["counts"], width=np.diff(edges), marker_color="#d9480f"))
    fig.update_layout(
        title=f"{payload['scenario']['title']}: distribution of total losses",
        xaxis_title="total capital loss (USD bn)",
        yaxis_title="paths",
        height=380,
        bargap=0.02,
    )
    return fig


def default_cascade_chart(payload: dict[str, Any]) -> Any:
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


def _assemble(
    scn: Scenario,
    layout: Layout,
    chunks: list[ChunkSummary],
    *,
    paths: int,
    seed: int,
    days: int,
    runtime: float,
    engine: str = "reduced",
) -> dict[str, Any]:
    G = len(layout.group_keys)
    loss_g = np.concatenate([c.loss_by_group for c in chunks])
    defaults_g = np.concatenate([c.defaults_by_group for c in chunks])
    parts = np.sum([c.loss_parts for c in chunks], axis=0)
    cap0 = np.sum([c.capital0_by_group for c in chunks], axis=0)
    hist = np.sum([c.default_hist for c in chunks], axis=0)
    sales = np.concatenate([c.sales for c in chunks])
    dd = np.concatenate([c.drawdown for c in chunks])
    final = np.concatenate([c.final_price for c in chunks])
    first = np.concatenate([c.btc_first_hit for c in chunks])
    fan_paths = np.concatenate([c.btc_paths for c in chunks])[:FAN_PATHS]
    red = np.concatenate([c.redemptions_total for c in chunks])
    tsy = np.concatenate([c.treasury_total for c in chunks])
    red_d = np.sum([c.redemptions_daily for c in chunks], axis=0)
    tsy_d = np.sum([c.treasury_daily for c in chunks], axis=0)
    rec_d = np.sum([c.recovery_daily for c in chunks], axis=0)
    pivot = np.concatenate([c.pivot for c in chunks])
    total = loss_g.sum(axis=1)
    n_def = defaults_g.sum(axis=1)
    members = np.bincount(layout.member_group, minlength=G)
    lo, hi = float(total.min()), float(total.max())
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(total, bins=40, range=(lo, hi))
    by_group = {}
    defaults = {}
    for g, key in enumerate(layout.group_keys):
        by_group[key] = {
            "label": layout.group_labels[g],
            "type": layout.group_types[g],
            "capital": float(cap0[g] / paths),
            "mean": float(loss_g[:, g].mean()),
            **_q(loss_g[:, g]),
            "q99": float(np.quantile(loss_g[:, g], 0.99)),
            # the agent engine does not decompose losses (NaN parts -> None)
            **{
                name: None if np.isnan(parts[g, j]) else float(parts[g, j] / paths)
                for j, name in enumerate(("direct", "fire_sales", "credit"))
            },
        }
        defaults[key] = {
            "label": layout.group_labels[g],
            "type": layout.group_types[g],
            "members": int(members[g]),
            "mean": float(defaults_g[:, g].mean()),
            "p_any": float(np.mean(defaults_g[:, g] > 0)),
            "q95": float(np.quantile(defaults_g[:, g], 0.95)),
            "by_day": (hist[:, g] / paths).tolist(),
        }
    by_type: dict[str, dict[str, float]] = {}
    for g, typ in enumerate(layout.group_types):
        d = by_type.setdefault(typ, {"loss_mean": 0.0, "defaults_mean": 0.0, "members": 0})
        d["loss_mean"] += float(loss_g[:, g].mean())
        d["defaults_mean"] += float(defaults_g[:, g].mean())
        d["members"] += int(members[g])
    assets = {}
    fire_sales = {}
    for k, key in enumerate(layout.asset_keys):
        assets[key] = {
            "label": layout.asset_labels[k],
            "kind": layout.asset_kinds[k],
            "mean": float(dd[:, k].mean()),
            **_q(dd[:, k]),
            "price_at_horizon": _q(final[:, k]),
        }
        fire_sales[key] = {
            "label": layout.asset_labels[k],
            "mean": float(sales[:, k].mean()),
            **_q(sales[:, k]),
        }
    b = layout.btc
    fan = np.quantile(np.exp(fan_paths), QUANTILES, axis=0)
    thr = scn.btc.survive_threshold
    return {
        "scenario": {
            "name": scn.name,
            "title": scn.title,
            "hash": scenario_hash(scn),
            "start_date": scn.start_date,
        },
        "engine": (
            f"powderkeg reduced system kernel ({MODEL_VERSION})"
            if engine == "reduced"
            else f"powderkeg agent engine ({AGENT_MODEL_VERSION}), full model-spec §7 schedule"
        ),
        "paths": paths,
        "seed": seed,
        "days": days,
        "institutions": layout.n_institutions,
        "defaults": {
            "total": {
                "mean": float(n_def.mean()),
                "p_any": float(np.mean(n_def > 0)),
                **_q(n_def),
            },
            "by_group": defaults,
            "by_type": {k: v["defaults_mean"] for k, v in by_type.items()},
        },
        "losses": {
            "total": {
                "mean": float(total.mean()),
                **_q(total),
                "q99": float(np.quantile(total, 0.99)),
            },
            "by_group": by_group,
            "by_type": {k: v["loss_mean"] for k, v in by_type.items()},
            "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        },
        "fire_sales": fire_sales,
        "stablecoin_redemptions": {
            "mean": float(red.mean()),
            **_q(red),
            "daily_mean": (red_d / paths).tolist(),
        },
        "treasury_sales": {
            "mean": float(tsy.mean()),
            **_q(tsy),
            "daily_mean": (tsy_d / paths).tolist(),
        },
        "asset_drawdowns": assets,
        "btc": {
            "asset": layout.asset_keys[b],
            "survive_threshold": thr,
            "p_survive_first_hit": float(np.mean(first > -thr)),
            "p_above_start": float(np.mean(final[:, b] > 1.0)),
            "drawdown": _q(dd[:, b]),
            "first_hit": _q(first),
            "price_at_horizon": _q(final[:, b]),
            "fan": {qlabel(q): fan[i].tolist() for i, q in enumerate(QUANTILES)},
            "fan_paths": int(fan_paths.shape[0]),
        },
        "policy": {
            "enabled": scn.policy.enabled,
            "p_action": float(pivot.mean()),
            "share_in_recovery_by_day": (rec_d / paths).tolist(),
        },
        "rounds_used_max": max(c.rounds_used for c in chunks),
        "runtime_s": round(runtime, 3),
        "compute_s": round(runtime, 3),
        "cached": False,
    }


def cache_key(
    scn: Scenario, *, paths: int, seed: int, days: int, engine: str = "reduced", chunk: int = CHUNK
) -> str:
    """Cache key of a run: scenario hash, engine model version, seed, paths, days, chunk."""
    version = MODEL_VERSION if engine == "reduced" else AGENT_MODEL_VERSION
    return f"{scenario_hash(scn)}:{version}:seed={seed}:paths={paths}:days={days}:chunk={chunk}"


def run_stress(
    scenario: Scenario,
    *,
    paths: int = 10_000,
    seed: int = 1,
    days: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    chunk: int | None = None,
    progress: Any = None,
    store: Any = None,
    use_cache: bool = True,
    engine: str = "reduced",
) -> StressResult:
    """Run the Monte Carlo stress test of ``scenario`` (engines: see the module doc).

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`powderkeg.contagion.scenario_spec.load_scenario`).
    paths : int, default 10000
        Number of Monte Carlo paths (at most :data:`MAX_PATHS`).
    seed : int, default 1
        Root seed; chunk ``i`` uses child ``i`` of ``SeedSequence(seed)``.
    days : int, optional
        Horizon in calendar days (default: the scenario's ``horizon_days``).
    workers : int, default 1
        Local processes (``1`` = serial in this process).
    scheduler : str, optional
        Dask scheduler address, or ``"dask-local"`` for a local cluster of ``workers`` workers.
    chunk : int, optional
        Paths per task (default 1000; 64 for the agent engine). Results depend on it (it
        fixes how seeds map to paths), not on the backend or the number of workers.
    progress : callable, optional
        ``progress(done, total, label)`` after each chunk.
    store : Store, optional
        Cache the result (and read it back) under the scenario hash, seed, paths and days.
    use_cache : bool, default True
        Read the cache (a computed result is still written when ``store`` is given).
    engine : {"reduced", "agent"}, default "reduced"
        The fast reduced kernel or the full agent engine (at most :data:`AGENT_MAX_PATHS`
        paths and :data:`AGENT_MAX_WORK` paths x institutions x days).

    Returns
    -------
    StressResult
    """
    from powderkeg.parallel import chunk_sizes, map_chunks, spawn_seeds

    if engine not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    agent = engine == "agent"
    max_paths, max_work = (AGENT_MAX_PATHS, AGENT_MAX_WORK) if agent else (MAX_PATHS, MAX_WORK)
    paths = check_int(paths, "--paths", minimum=1, maximum=max_paths)
    days = scenario.horizon_days if days is None else days
    days = check_int(days, "--days", minimum=1, maximum=MAX_DAYS)
    workers = check_int(workers, "--workers", minimum=1, maximum=256)
    chunk = (AGENT_CHUNK if agent else CHUNK) if chunk is None else chunk
    chunk = check_int(chunk, "chunk", minimum=1, maximum=MAX_PATHS)
    seed = check_int(seed, "--seed", minimum=0)
    work = float(paths) * scenario.n_institutions * days
    if work > max_work:
        raise InputError(
            f"run too large for the {engine} engine: paths x institutions x days = {work:.3g} "
            f"exceeds {max_work:.0e}; use fewer --paths or --days"
        )
    t0 = time.perf_counter()
    key = cache_key(scenario, paths=paths, seed=seed, days=days, engine=engine, chunk=chunk)
    provenance = Provenance(
        sources=[
            {"name": f"scenario {scenario.name}", "hash": scenario_hash(scenario),
             "references": scenario.references},
            *scenario.sources(),
        ],
        parameters={
            "scenario": scenario.name,
            "scenario_hash": scenario_hash(scenario),
            "paths": paths,
            "days": days,
            "chunk": chunk,
            "workers": workers,
            "scheduler": scheduler,
            "engine": engine,
            "model": AGENT_MODEL_VERSION if agent else MODEL_VERSION,
        },
        seed=seed,
    )  # fmt: skip
    if store is not None and use_cache:
        hit = store.cache_get(CACHE_NAMESPACE, key)
        if hit is not None:
            hit["cached"] = True
            hit["runtime_s"] = round(time.perf_counter() - t0, 4)
            if progress is not None:
                progress(1, 1, "cached")
            return StressResult(hit, provenance)
    layout = Layout.from_scenario(scenario)
    sizes = chunk_sizes(paths, chunk)
    seeds = spawn_seeds(seed, len(sizes))
    data = scenario.model_dump(mode="json")
    kept = np.minimum(np.maximum(FAN_PATHS - np.concatenate([[0], np.cumsum(sizes)[:-1]]), 0),
                      sizes)  # fmt: skip
    tasks = [(data, n, days, s, int(k)) for n, s, k in zip(sizes, seeds, kept)]
    if agent:
        from powderkeg.contagion.agent_scenario import run_agent_chunk

        func: Any = run_agent_chunk
    else:
        func = run_chunk
    chunks = map_chunks(
        func, tasks, workers=workers, scheduler=scheduler, progress=progress, label="chunks"
    )
    payload = _assemble(
        scenario, layout, chunks, paths=paths, seed=seed, days=days,
        runtime=time.perf_counter() - t0, engine=engine,
    )  # fmt: skip
    if store is not None:
        store.cache_put(CACHE_NAMESPACE, key, payload)
    return StressResult(payload, provenance)


def expected_losses(
    scenario: Scenario, *, paths: int, seed: int, days: int | None = None, chunk: int = CHUNK
) -> tuple[float, float]:
    """Mean total loss (USD bn) and mean number of defaults, serially (for sensitivity work)."""
    res = run_stress(scenario, paths=paths, seed=seed, days=days, chunk=chunk)
    return (
        float(res.payload["losses"]["total"]["mean"]),
        float(res.payload["defaults"]["total"]["mean"]),
    )


def describe_size(paths: int, scenario: Scenario, days: int, chunk: int = CHUNK) -> str:
    """A one-line description of a run's size (for progress bars and logs)."""
    chunks = math.ceil(paths / chunk)
    return (
        f"{paths:,} paths x {scenario.n_institutions} institutions x {len(scenario.assets)} "
        f"assets x {days} days in {chunks} chunk(s)"
    )
