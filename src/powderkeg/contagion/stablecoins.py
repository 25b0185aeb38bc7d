"""Stablecoin issuers: coverage, secondary price, redemption demand (model-spec §4).

The issuer's balance sheet lives in the engine ledger: tokens are ``STABLECOIN`` contracts
(holders lend, the issuer owes USD 1 per token), reserves are cash, deposits at banks
(``DEPOSIT`` contracts), T-bills, notes and risky assets (BTC). Its capital buffer is
``X_j = R_j − S_j`` = its book equity, so ``R − S = X`` is the ledger identity (§4.5).

This module holds the per-day equations (vectorised over paths ``P`` and issuers ``J``);
:mod:`.engine` runs the liquidity waterfall (cash → deposits → T-bills → notes → risky →
gate) and the primary-market calendar. Money in USD billions; no leverage is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StablecoinParams:
    """Model-spec §4.3 parameters (all [A] starting values, to be fitted to the USDC replay).

    Attributes
    ----------
    rho0 : float
        Background redemption rate per open day (0.05 %).
    rho_threshold : float
        Extra daily redemptions while yesterday's price is below ``threshold`` (1.5 %).
    threshold : float
        Break-the-buck level (0.99, Anadu et al. 2023).
    rho_impairment : float
        Daily redemptions per unit of coverage shortfall ``max(0, 1 − κ)`` (0.35).
    rho_crypto : float
        Daily redemptions per unit of BTC fall ``max(0, −r_BTC)`` (0.05).
    rho_flight : float
        Redemptions per unit of peers' stress (share of other issuers below the threshold).
    c_arb : float
        Arbitrage cost when the primary market is open (20 bp).
    phi_arb : float
        Pass-through of coverage shortfall into the open-market price.
    psi_panic : float
        Panic discount per unit of recent redemption pressure while closed.
    pressure_decay : float
        Weight of yesterday's pressure in the EWMA ``ρ̄``.
    """

    rho0: float = 0.0005
    rho_threshold: float = 0.015
    threshold: float = 0.99
    rho_impairment: float = 0.35
    rho_crypto: float = 0.05
    rho_flight: float = 0.0
    c_arb: float = 0.002
    phi_arb: float = 1.0
    psi_panic: float = 1.5
    pressure_decay: float = 0.5


def coverage(accessible_reserves: np.ndarray, supply: np.ndarray) -> np.ndarray:
    """Coverage ``κ_j = R_j^accessible / S_j`` (``inf`` with no supply)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(supply > 0, accessible_reserves / np.where(supply > 0, supply, 1.0), np.inf)


def secondary_price(
    kappa: np.ndarray, primary_open: np.ndarray, pressure: np.ndarray, p: StablecoinParams
) -> np.ndarray:
    """Secondary-market price (model-spec §4.3), clipped to (0, 1].

    Open primary market: ``1 − c_arb − φ_arb max(0, 1 − κ)``; closed:
    ``min(1, κ) − ψ_panic ρ̄``.
    """
    open_price = 1.0 - p.c_arb - p.phi_arb * np.maximum(0.0, 1.0 - kappa)
    closed_price = np.minimum(1.0, kappa) - p.psi_panic * pressure
    price = np.where(primary_open, open_price, closed_price)
    return np.clip(price, 1e-6, 1.0)


def redemption_rate(
    price_prev: np.ndarray,
    kappa: np.ndarray,
    btc_return: np.ndarray,
    p: StablecoinParams,
    run_multiplier: np.ndarray,
) -> np.ndarray:
    """Daily redemption fraction ``ρ_j`` (model-spec §4.3), in [0, 1].

    ``ρ = ρ₀ + m (ρ_thr 1[p_{t−1} < 0.99] + ρ_imp max(0, 1 − κ) + ρ_cr max(0, −r_BTC)
    + ρ_fts · peers)`` where ``peers`` is the share of the *other* issuers below the threshold
    and ``m`` the per-path run multiplier.

    Parameters
    ----------
    price_prev, kappa : (P, J)
    btc_return : (P,)
    run_multiplier : (P,)
    """
    below = (price_prev < p.threshold).astype(np.float64)
    J = below.shape[1]
    peers = (below.sum(axis=1, keepdims=True) - below) / max(J - 1, 1)
    stress = (
        p.rho_threshold * below
        + p.rho_impairment * np.maximum(0.0, 1.0 - np.minimum(kappa, 1.0))
        + p.rho_crypto * np.maximum(0.0, -btc_return)[:, None]
        + p.rho_flight * peers
    )
    return np.clip(p.rho0 + run_multiplier[:, None] * stress, 0.0, 1.0)
