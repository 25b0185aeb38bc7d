r"""The reduced stress kernel: the system day by day for all paths of a chunk at once.

:func:`simulate_system` is RNG-free and vectorised across paths. Each day:

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powderkeg.contagion.draws import ShockPaths, SystemArrays
from powderkeg.exceptions import InputError

#: Model version of the reduced kernel (bump when its results change: it keys the cache).
MODEL_VERSION = "reduced-2"
#: Sales below this (USD bn) end the day's rounds.
TOL = 1e-9


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
