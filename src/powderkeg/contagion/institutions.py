"""Institution types, their parameters and the array forms of their sale rules (model-spec §3).

The sale rules below act on arrays of agents and paths; they are the reference forms of the
rules the agent engine runs per path in :mod:`._engine_kernels` (tested equal there). Rules
only *post* sale orders (units) and obligations; markets clear them simultaneously afterwards
(model-spec §3.7 pitfall 2).

Leverage conventions (model-spec §0.3):

* banks use ``λ = A / E`` (assets/equity, Cont–Schaanning) against ``λ_max`` (33.3 = the 3 %
  Basel leverage ratio) with target ``λ_tgt = 0.95 λ_max``;
* hedge funds use the equity ratio ``ℓ = E / A`` (Basel convention) against the
  haircut-implied minimum ``ℓ_eml = Σ_k h_k V_k / A`` with buffer ``ℓ_eml + (ℓ₀ − ℓ_eml)/3``
  and target ``ℓ_eml + 2(ℓ₀ − ℓ_eml)/3`` (resilience ``HFLeverageConstraint``);
* crypto leverage buckets use the margin ratio ``E / V`` against a maintenance margin.

Money in USD billions.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class AgentType(IntEnum):
    """Institution types (model-spec §3.3–3.4); the first three are outside sectors."""

    OUTSIDE = 0
    HOUSEHOLDS = 1
    CENTRAL_BANK = 2
    BANK = 3
    HEDGE_FUND = 4
    ASSET_MANAGER = 5
    BTC_ETF = 6
    PRIVATE_CREDIT = 7
    CRYPTO_LEVERAGE = 8
    STABLECOIN = 9
    ALLOCATOR = 10
    DEALER = 11
    AI_BORROWER = 12


TYPE_NAMES: dict[str, AgentType] = {t.name.lower(): t for t in AgentType}

#: Sectors that never default and never act on their own (they close the accounts).
OUTSIDE_SECTORS = (AgentType.OUTSIDE, AgentType.HOUSEHOLDS, AgentType.CENTRAL_BANK)

#: Per-agent parameters with their defaults by type; unspecified types get ``"default"``.
#: Sources: model-spec §1 table (λ_max, λ_tgt), §3.3.2–3.3.3 (HF buffers, AM 2.5 redemption
#: factor), §3.4 [A] (ETF flow sensitivity, PC gate 5 %/quarter, AI spreads), §4.3 (issuers).
AGENT_PARAMS: dict[str, dict[str | AgentType, float]] = {
    # bank leverage (A/E): threshold λ_max and post-deleveraging target λ_tgt
    "max_leverage": {AgentType.BANK: 1 / 0.03, AgentType.DEALER: 1 / 0.03, "default": np.inf},
    "target_leverage": {
        AgentType.BANK: 0.95 / 0.03,
        AgentType.DEALER: 0.95 / 0.03,
        "default": np.inf,
    },
    # cash kept as a share of assets; below 90 % of it the agent raises cash, above it repays
    # debt (banks, hedge funds, crypto buckets) — NaN = use the initial cash/assets ratio
    "cash_target": {"default": np.nan},
    # crypto buckets: liquidation when E/V < maintenance margin
    "maintenance_margin": {AgentType.CRYPTO_LEVERAGE: 0.05, "default": 0.0},
    # funds: new redemptions = sensitivity × NAV × increase in the running max NAV loss
    # (ETF: sensitivity × max(0, −5-day BTC return) × NAV per business day). The resilience
    # reference value 2.5 applies per model step; with daily steps 0.5 is the default [A]
    "redemption_sensitivity": {
        AgentType.ASSET_MANAGER: 0.5,
        AgentType.BTC_ETF: 0.2,
        AgentType.PRIVATE_CREDIT: 1.0,
        "default": 0.0,
    },
    # share of NAV that may leave per business day (PC: 5 % per quarter of 63 days)
    "redemption_gate": {AgentType.PRIVATE_CREDIT: 0.05 / 63, "default": np.inf},
    # AI borrowers: capex per business day; allocators: AI commitments per business day
    "capex": {"default": 0.0},
    # AI borrowers: base spread, market-closure spread (decimal)
    "spread0": {AgentType.AI_BORROWER: 0.012, "default": 0.0},
    "spread_max": {AgentType.AI_BORROWER: 0.06, "default": np.inf},
}


def default_param(name: str, kind: AgentType) -> float:
    """Default value of per-agent parameter ``name`` for an agent of type ``kind``."""
    table = AGENT_PARAMS[name]
    return float(table.get(kind, table["default"]))


# ------------------------------------------------------------ sale rules (reference forms)
def pecking_sales(
    need: np.ndarray,
    available: np.ndarray,
    price: np.ndarray,
    order: np.ndarray,
) -> np.ndarray:
    """Units to sell raising ``need`` (P, m) by selling assets in the given ``order``.

    ``order`` lists asset indices, first sold first (e.g. BTC before equities before credit:
    the "first sold" hypothesis of model-spec §6.1). Each asset is sold only after the previous
    ones are exhausted.
    """
    out = np.zeros_like(available)
    remaining = np.maximum(need, 0.0)
    for k in order:
        val = available[:, :, k] * price[:, None, k]
        take = np.minimum(remaining, val)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(val > 0, take / np.where(val > 0, val, 1.0), 0.0)
        out[:, :, k] = frac * available[:, :, k]
        remaining = remaining - take
    return out


def bank_deleveraging_fraction(
    assets: np.ndarray,
    equity: np.ndarray,
    marketable: np.ndarray,
    max_leverage: np.ndarray,
    target_leverage: np.ndarray,
) -> np.ndarray:
    """Cont–Schaanning threshold rule ``Γ_i`` (model-spec §1.3 step 2), leverage ``λ = A/E``.

    ``Γ_i = min(1, (A_i − λ_tgt E_i) / Π_i)`` if ``E_i > 0``, ``λ_i > λ_max`` and ``Π_i > 0``;
    else 0. ``assets`` and ``marketable`` exclude sales already queued.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        lev = np.where(equity > 0, assets / np.where(equity > 0, equity, 1.0), np.inf)
        need = (assets - target_leverage * equity) / np.where(marketable > 0, marketable, 1.0)
    act = (equity > 0) & (lev > max_leverage) & (marketable > 0)
    return np.where(act, np.minimum(1.0, need), 0.0)


def haircuts(
    base: np.ndarray, price: np.ndarray, peak: np.ndarray, slope: float, multiplier: np.ndarray
) -> np.ndarray:
    """Procyclical repo haircuts ``h = min(1, m·h₀ + s·max(0, 1 − P/P₀))`` (model-spec §3.3.2).

    Parameters
    ----------
    base : (K,) initial haircuts ``h₀``.
    price, peak : (P, K) current and reference (initial) prices.
    slope : float ``s`` (sensitivity knob [A]; the reference default 100 is extreme).
    multiplier : (P,) per-path haircut multiplier ``m``.
    """
    h = multiplier[:, None] * base[None, :] + slope * np.maximum(0.0, 1.0 - price / peak)
    return np.clip(h, 0.0, 1.0)


def hedge_fund_sales(
    assets: np.ndarray,
    equity: np.ndarray,
    collateral_haircut_value: np.ndarray,
    equity_ratio0: np.ndarray,
) -> np.ndarray:
    """Sales (USD bn) restoring a hedge fund's equity-ratio target (model-spec §3.3.2).

    With ``ℓ = E/A`` and ``ℓ_eml = Σ_k h_k V_k / A``: if ``ℓ < ℓ_eml + (ℓ₀ − ℓ_eml)/3`` sell
    ``A − E / ℓ_tgt`` with ``ℓ_tgt = ℓ_eml + 2(ℓ₀ − ℓ_eml)/3`` (proceeds repay repo, so assets
    fall one-for-one and equity is unchanged).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ell = np.where(assets > 0, equity / assets, np.inf)
        eml = np.where(assets > 0, collateral_haircut_value / assets, 0.0)
        buffer = eml + (equity_ratio0 - eml) / 3.0
        target = np.maximum(eml + 2.0 * (equity_ratio0 - eml) / 3.0, 1e-12)
        sale = assets - np.maximum(equity, 0.0) / target
    return np.where((equity > 0) & (ell < buffer), np.maximum(sale, 0.0), 0.0)


def ai_spreads(
    spread0: np.ndarray,
    leverage: np.ndarray,
    leverage0: np.ndarray,
    ai_drawdown: np.ndarray,
    theta_leverage: float,
    theta_drawdown: float,
) -> np.ndarray:
    """AI-borrower credit spreads ``s = s₀ exp(θ_L (lev − lev₀) + θ_dd dd_AI)`` [A].

    ``lev = L / A`` (debt/assets) and ``dd_AI`` the AI-equity drawdown from its peak; the
    Merton-style form of model-spec §3.4 with the equity drawdown standing in for volatility.
    """
    return spread0 * np.exp(theta_leverage * (leverage - leverage0) + theta_drawdown * ai_drawdown)
