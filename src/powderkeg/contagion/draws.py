"""The inputs of one chunk of stress-run paths: scenario layout, drawn figures, exogenous paths.

A chunk draws, per path, every scenario figure within its range (triangular, the figure's
value as mode, by inverse CDF so scaled ranges give common random numbers) and the random
numbers of the AI-factor / two-phase BTC block (:mod:`powderkeg.scenarios.two_phase`), then
turns them into balance-sheet arrays (:class:`SystemArrays`, read by the reduced kernel of
:mod:`.reduced_kernel`) and exogenous paths (:class:`ShockPaths`, read by both engines).
The same chunk seed gives both engines the same numbers (:func:`chunk_draws`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powderkeg.contagion.scenario_spec import Scenario
from powderkeg.scenarios.two_phase import (
    TwoPhaseDraws,
    TwoPhaseParams,
    simulate_two_phase,
    triangular_ppf,
)

#: Impact half-lives (days) at or above this are permanent (Cont–Schaanning).
PERMANENT = 1e12


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
    positions: np.ndarray  # (G,) bool: groups of leveraged positions, not institutions

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
            positions=np.array([g.positions for g in scn.groups], dtype=bool),
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
    """Exogenous inputs of one chunk: returns (P, T, K), AI factor (P, T), depth (P, T, K).

    ``impairment`` (P, T) is the share of stablecoin issuers' bank deposits locked at a failed
    bank each day (scenario ``shock.impairments``); only the agent engine, which has issuers'
    deposits, uses it.
    """

    returns: np.ndarray
    ai: np.ndarray
    depth_mult: np.ndarray
    recovery: np.ndarray  # (P, T) bool
    action_day: np.ndarray  # (P,)
    impairment: np.ndarray  # (P, T)


def member_leverage(
    leverage: np.ndarray,
    max_leverage: np.ndarray,
    spread: np.ndarray,
    z: np.ndarray,
    share: np.ndarray,
    member_group: np.ndarray,
) -> np.ndarray:
    """Members' leverage (A/E) spread around their group's, keeping the group's aggregate.

    Member ``i`` starts from ``λ_g (1 + spread_g z_i)`` capped at ``0.97 λ_max`` (nobody
    starts in breach); the equities of the uncapped members are then rescaled so that the
    group's total equity is ``A_g / λ_g`` — its aggregate leverage, hence its debt
    ``A_g (1 − 1/λ_g)``, is the figure's (a spread that favours the largest members would
    otherwise inflate the group's borrowing). Arrays are (P, N) or (N,); ``share`` is each
    member's share of its group's assets.
    """
    lo = 1.0 + 1e-9
    cap = np.maximum(0.97 * max_leverage, lo)
    groups = np.unique(member_group)
    onehot = (member_group[:, None] == groups[None, :]).astype(np.float64)  # (N, G)
    target = (share / leverage) @ onehot  # group equity per unit of group assets: 1/λ_g
    lam = np.clip(leverage * (1.0 + spread * z), lo, cap)
    for _ in range(len(z)):
        free = lam < cap
        eq = share / lam
        fixed = (eq * ~free) @ onehot
        movable = (eq * free) @ onehot
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(movable > 0, (target - fixed) / np.where(movable > 0, movable, 1), 1)
        new = np.clip(lam / np.maximum(scale @ onehot.T, 1e-12), lo, cap)
        new = np.where(free, new, lam)
        if np.allclose(new, lam, rtol=1e-13, atol=0.0):
            break
        lam = new
    return lam


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
        action_day=None if p.action_date is None else scn.day_of(p.action_date),
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
    lam = member_leverage(
        grp("leverage"), lam_max, spread, layout.member_z, layout.member_share, gi
    )
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
    keys = layout.asset_keys
    for i, move in enumerate(scn.shock.asset_paths):
        first = scn.day_of(move.start)
        last = min(first + move.days, returns.shape[1])
        total = values[f"shock.asset_paths.{i}.total_return"]
        returns[:, first:last, keys.index(move.asset)] += (np.log1p(total) / move.days)[:, None]
    impairment = np.zeros((P, returns.shape[1]))
    for i, imp in enumerate(scn.shock.impairments):
        days = slice(scn.day_of(imp.start), scn.day_of(imp.end) + 1)
        share_locked = values[f"shock.impairments.{i}.share"][:, None]
        impairment[:, days] = np.maximum(impairment[:, days], share_locked)
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
        returns=returns,
        ai=r_ai,
        depth_mult=mult,
        recovery=rec,
        action_day=paths.action_day,
        impairment=impairment,
    )
    return system, shocks, paths.exogenous
