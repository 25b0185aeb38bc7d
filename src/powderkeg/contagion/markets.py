"""Asset markets of the stress engine: calendars, stressed depth and simultaneous clearing.

Model-spec §1.3–1.4 (impact and depth), §1.7 pitfalls 1–2 (simultaneous clearing, mid-point
execution), §3.3.4 (dealer capacity), §7 steps 1 and 3 (calendar, clearing). All sales of a
round are aggregated per asset and cleared together at one price, so the order in which agents
posted them never matters. Money in USD billions; leverage is not used here.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from powderkeg.contagion.balance_sheet import Ledger
from powderkeg.contagion.firesale import price_impact
from powderkeg.exceptions import InputError

#: Market schedules: ``daily`` trades every calendar day (crypto); ``exchange`` trades on
#: NYSE sessions (equities, credit, Treasuries); ``marked`` never trades (non-tradable books
#: revalued daily).
SCHEDULES = ("daily", "exchange", "marked")

#: Largest fractional price fall in one clearing round (keeps prices strictly positive).
MAX_IMPACT = 1.0 - 1e-6


@lru_cache(maxsize=32)
def _exchange_days(start: str, days: int) -> np.ndarray:
    begin = pd.Timestamp(start)
    dates = pd.date_range(begin, periods=days, freq="D")
    try:
        from powderkeg.data.calendars import sessions

        open_days = sessions("XNYS", dates[0], dates[-1])
        if len(open_days) == 0 and dates[-1] > pd.Timestamp("2030-01-01"):
            raise InputError("outside exchange calendar range")
        return np.asarray(dates.isin(open_days))
    except InputError:
        return _bank_days(start, days)


@lru_cache(maxsize=32)
def _bank_days(start: str, days: int) -> np.ndarray:
    from pandas.tseries.holiday import USFederalHolidayCalendar

    dates = pd.date_range(pd.Timestamp(start), periods=days, freq="D")
    hols = USFederalHolidayCalendar().holidays(dates[0], dates[-1])
    return np.asarray((dates.day_of_week < 5) & ~dates.isin(hols))


def trading_calendar(
    start: str | pd.Timestamp, days: int, schedules: list[str]
) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Open-market masks for ``days`` calendar days from ``start`` (model-spec §0.3, §7 step 1).

    Returns
    -------
    dates : DatetimeIndex (days,)
    market_open : ndarray of bool (days, K)
        ``exchange`` assets follow NYSE sessions (weekends and NYSE holidays closed),
        ``daily`` assets are always open, ``marked`` assets never trade.
    bank_open : ndarray of bool (days,)
        US bank business days (weekdays that are not Federal Reserve holidays): settlement
        of bank-type obligations and the stablecoin primary market.
    """
    start_s = pd.Timestamp(start).strftime("%Y-%m-%d")
    dates = pd.date_range(pd.Timestamp(start_s), periods=days, freq="D")
    exch = _exchange_days(start_s, days)
    bank = _bank_days(start_s, days)
    cols = []
    for s in schedules:
        if s == "daily":
            cols.append(np.ones(days, dtype=bool))
        elif s == "exchange":
            cols.append(exch)
        elif s == "marked":
            cols.append(np.zeros(days, dtype=bool))
        else:
            raise InputError(f"market schedule must be one of {SCHEDULES}, got {s!r}")
    return dates, np.stack(cols, axis=1), bank.copy()


def stressed_depth(
    depth: np.ndarray,
    min_multiplier: np.ndarray,
    stress: np.ndarray,
    stress_scale: float,
    path_multiplier: np.ndarray,
    facility: np.ndarray,
) -> np.ndarray:
    """Market depth ``D_k(t) = D_k⁰ · g_k(SI_{t−1}) · m_p · φ_k`` (model-spec §1.4, §5.4) [A].

    ``g_k(SI) = g_min,k + (1 − g_min,k) exp(−max(SI, 0) / s)`` falls from 1 (calm) towards
    ``g_min,k`` (peak stress; 0.05–0.3 for BTC); ``m_p`` is the per-path depth multiplier and
    ``φ`` the central-bank facility multiplier (>= 1 for targeted assets once active).

    Parameters
    ----------
    depth : (K,) baseline depth ``D⁰`` (USD bn).
    min_multiplier : (K,) ``g_min``.
    stress : (P,) stress index of the previous day.
    stress_scale : float ``s``.
    path_multiplier : (P,)
    facility : (P, K)
    """
    g = min_multiplier + (1.0 - min_multiplier) * np.exp(
        -np.maximum(stress, 0.0)[:, None] / stress_scale
    )
    return depth[None, :] * g * path_multiplier[:, None] * facility


def impact(
    dollar_sales: np.ndarray, depth: np.ndarray, exponential: np.ndarray, floor_ratio: np.ndarray
) -> np.ndarray:
    """Per-asset price fall Ψ (P, K), exponential or floored-linear per asset.

    Reuses :func:`powderkeg.contagion.firesale.price_impact` (model-spec §1.3 step 4). Ψ is
    capped at ``MAX_IMPACT`` (a price cannot lose more than 1 − 1e-6 of its value in one
    round), which floors the linear form strictly above zero (model-spec §1.7 pitfall 5).
    """
    exp_part = price_impact(dollar_sales, depth, kind="exponential", floor_ratio=floor_ratio)
    lin_part = price_impact(dollar_sales, depth, kind="linear")
    return np.minimum(np.where(exponential[None, :], exp_part, lin_part), MAX_IMPACT)


def clear(
    ledger: Ledger,
    sell_units: np.ndarray,
    depth: np.ndarray,
    *,
    exponential: np.ndarray,
    floor: np.ndarray,
    execution: float,
    outside: int,
    dealers: np.ndarray,
    dealer_capacity: np.ndarray,
    dealer_units0: np.ndarray,
    dealer_kink: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Clear one round of sale orders simultaneously; update cash, units, prices and equity.

    Steps (model-spec §1.3, §3.3.4, §7 step 3):

    1. aggregate sales ``q_k = Σ_i u_ik P_k`` (USD bn at the pre-trade price);
    2. dealers buy up to their remaining capacity ``C_k = max(0, Σ_d cap_dk − Σ_d
       (Q_dk − Q⁰_dk) P_k)`` (limited by their cash), the outside market buys the rest;
    3. impact on the kinked flow ``q̃ = min(q, C) + (q − C)⁺ / g_dealer``: ``Ψ = ψ(q̃; D)``;
    4. every unit sold or bought executes at ``x = P (1 − α Ψ)`` and all holdings are marked at
       ``P (1 − Ψ)`` — one common mark.

    Equity is posted from the economic loss formula
    ``ΔE_i = −Σ_k P_k Ψ_k (Q_ik + (1 − α) ΔQ_ik)`` (retained units lose Ψ, sold units αΨ,
    bought units (1 − α)Ψ), independently of the cash and unit movements, so the ledger
    identity checks the clearing.

    Parameters
    ----------
    ledger : Ledger
    sell_units : (P, N, K)
        Units to sell; only assets whose market is open may be non-zero. A negative entry is
        a purchase (central-bank QE): net purchases raise the price (``Ψ < 0``) and the
        outside market supplies the units.
    depth : (P, K)
    exponential : (K,) bool
        Exponential (True) or floored-linear impact per asset.
    floor : (K,)
        Floor prices as a fraction of the initial price.
    execution : float
        ``α`` in [0, 1] (0.5 = mid-point).
    outside : int
        Index of the outside market (residual buyer).
    dealers : (nd,) int
        Dealer agent indices.
    dealer_capacity : (nd, K)
        Balance-sheet capacity per dealer and asset (USD bn).
    dealer_units0 : (P, nd, K)
        Dealers' initial inventories (capacity use is measured from them).
    dealer_kink : float
        ``g_dealer`` in (0, 1]: depth multiplier beyond dealer capacity.

    Returns
    -------
    dollar_sales : (P, K)
        ``q_k`` (USD bn at pre-trade prices).
    psi : (P, K)
        Fractional price impact.
    """
    price = ledger.price
    q_units = sell_units.sum(axis=1)
    q = q_units * price
    if not np.any(q != 0):
        return np.zeros_like(q), np.zeros_like(q)
    delta = -sell_units
    if len(dealers):
        used = np.maximum(0.0, (ledger.units[:, dealers, :] - dealer_units0).sum(axis=1)) * price
        remaining = np.maximum(0.0, dealer_capacity.sum(axis=0)[None, :] - used)
        dealer_buy = np.clip(q, 0.0, remaining)
        cash_d = np.maximum(ledger.cash[:, dealers], 0.0).sum(axis=1)
        spend = dealer_buy.sum(axis=1)
        scale = np.where(spend > cash_d, cash_d / np.where(spend > 0, spend, 1.0), 1.0)
        dealer_buy = dealer_buy * scale[:, None]
        cap_total = dealer_capacity.sum(axis=0)
        share = np.where(cap_total > 0, dealer_capacity / np.where(cap_total > 0, cap_total, 1), 0)
        dealer_units = (dealer_buy / price)[:, None, :] * share[None, :, :]
        delta[:, dealers, :] += dealer_units
        out_units = q_units - dealer_units.sum(axis=1)
        kinked = np.where(q > 0, dealer_buy + (q - dealer_buy) / dealer_kink, q)
    else:
        out_units = q_units
        kinked = q
    delta[:, outside, :] += out_units
    psi = impact(kinked, depth, exponential, floor[None, :] / price)
    exec_price = price * (1.0 - execution * psi)
    drop = price * psi
    ledger.equity -= np.einsum("pnk,pk->pn", ledger.units + (1.0 - execution) * delta, drop)
    ledger.cash -= np.einsum("pnk,pk->pn", delta, exec_price)
    ledger.units += delta
    ledger.price = price * (1.0 - psi)
    return q, psi
