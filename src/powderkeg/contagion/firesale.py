"""Fire-sale contagion through overlapping portfolios (model-spec §1).

Two families behind one module, because they answer different questions:

* **GLT leverage targeting** (Greenwood, Landier & Thesmar 2015; Duarte & Eisenbach 2021):
  linear, closed form, one round; aggregate vulnerability, systemicness, indirect
  vulnerability, and the stability of iterated targeting (spectral radius of
  ``J = M L M' B A``).
* **Cont–Schaanning threshold dynamics** (Cont & Schaanning 2017, 2019): nonlinear, multi-round,
  one-sided leverage constraints, exponential (or floored linear) price impact cleared at one
  price per round, and the insolvent vs illiquid distinction.

Money is in USD billions throughout; leverage is assets/equity (``λ = A / E``) unless a
function says otherwise (GLT uses debt/equity ``b = λ − 1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import as_float_array, check_float, check_int, check_option
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table


# --------------------------------------------------------------------------- GLT / DE
@dataclass(frozen=True)
class GLTResult(Result):
    """One round of GLT leverage targeting and its vulnerability indicators.

    Attributes
    ----------
    direct_returns : ndarray (N,)
        ``r = M F``.
    net_sales : ndarray (N,)
        ``B A M F`` (negative = net selling, USD bn).
    asset_flows : ndarray (K,)
        ``M' B A M F``.
    second_round_returns : ndarray (K,)
        ``F2 = L M' B A M F``.
    second_round_losses : ndarray (N,)
        ``A M F2`` (USD bn).
    aggregate_vulnerability : float
        ``AV = 1' A M F2 / E`` (fraction of system equity; negative = loss).
    systemicness : ndarray (N,)
        ``S_i = (1' A M L m_i) b_i a_i r_i / E``; sums to AV.
    indirect_vulnerability : ndarray (N,)
        ``IV_i = (A M F2)_i / e_i``.
    spectral_radius : float
        ``ρ(J)``, ``J = M L M' B A``; ``>= 1`` means iterated targeting diverges.
    """

    names: list[str]
    assets: list[str]
    direct_returns: np.ndarray
    net_sales: np.ndarray
    asset_flows: np.ndarray
    second_round_returns: np.ndarray
    second_round_losses: np.ndarray
    aggregate_vulnerability: float
    systemicness: np.ndarray
    indirect_vulnerability: np.ndarray
    spectral_radius: float
    jacobian: np.ndarray
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def stable(self) -> bool:
        """True when iterated leverage targeting converges (``ρ(J) < 1``)."""
        return self.spectral_radius < 1.0

    def cumulative_indirect_returns(self) -> np.ndarray:
        """``Σ_{n>=1} J^n r = (I − J)^{-1} J r``; raises when the iteration diverges."""
        if not self.stable:
            raise InputError(
                "iterated leverage targeting is unstable (spectral radius "
                f"{self.spectral_radius:.4f} >= 1): the cumulative sum diverges"
            )
        J, r = self.jacobian, self.direct_returns
        return np.linalg.solve(np.eye(len(r)) - J, J @ r)

    def _payload(self) -> dict[str, Any]:
        return {
            "aggregate_vulnerability": self.aggregate_vulnerability,
            "systemicness": dict(zip(self.names, self.systemicness)),
            "indirect_vulnerability": dict(zip(self.names, self.indirect_vulnerability)),
            "second_round_losses": dict(zip(self.names, self.second_round_losses)),
            "asset_flows": dict(zip(self.assets, self.asset_flows)),
            "spectral_radius": self.spectral_radius,
            "stable": self.stable,
        }

    def to_frame(self) -> pd.DataFrame:
        """Per-institution indicators."""
        return pd.DataFrame(
            {
                "direct_return": self.direct_returns,
                "net_sales": self.net_sales,
                "second_round_loss": self.second_round_losses,
                "systemicness": self.systemicness,
                "indirect_vulnerability": self.indirect_vulnerability,
            },
            index=pd.Index(self.names, name="institution"),
        )

    def summary(self) -> Summary:
        """AV, stability and the per-institution table."""
        return Summary(
            "GLT fire-sale vulnerability",
            facts=[
                ("aggregate vulnerability (share of equity)", self.aggregate_vulnerability),
                ("spectral radius ρ(J)", self.spectral_radius),
                ("iterated targeting", "stable" if self.stable else "UNSTABLE"),
            ],
            tables=[Table.from_frame("Institutions", self.to_frame())],
        )


def glt(
    assets: Any,
    equity: Any,
    weights: Any,
    impact: Any,
    shock: Any,
    *,
    names: list[str] | None = None,
    asset_names: list[str] | None = None,
) -> GLTResult:
    """Greenwood–Landier–Thesmar vulnerability of a banking system to an asset shock.

    Parameters
    ----------
    assets : array-like (N,)
        Total assets ``a_i`` (USD bn).
    equity : array-like (N,)
        Equity ``e_i`` (USD bn), positive.
    weights : array-like (N, K)
        Portfolio weights ``m_ik``; each row sums to one over all asset classes.
    impact : array-like (K,)
        Price impact ``l_k`` (return per USD bn sold; zero for cash).
    shock : array-like (K,)
        Exogenous asset returns ``F``.

    Returns
    -------
    GLTResult

    References
    ----------
    Greenwood, R., Landier, A. and Thesmar, D. (2015), "Vulnerable banks", JFE 115(3).
    """
    a = as_float_array(assets, "assets")
    e = as_float_array(equity, "equity")
    M = as_float_array(weights, "weights", ndim=2)
    ell = as_float_array(impact, "impact")
    F = as_float_array(shock, "shock")
    n, k = M.shape
    if a.shape != (n,) or e.shape != (n,) or ell.shape != (k,) or F.shape != (k,):
        raise InputError(f"shapes: assets/equity ({n},), weights ({n}, {k}), impact/shock ({k},)")
    if np.any(e <= 0):
        raise InputError("equity must be positive")
    if not np.allclose(M.sum(axis=1), 1.0, atol=1e-9):
        raise InputError("each row of weights must sum to 1 (include cash as an asset class)")
    b = (a - e) / e
    total_equity = e.sum()
    r = M @ F
    net_sales = b * a * r
    flows = M.T @ net_sales
    F2 = ell * flows
    losses = a * (M @ F2)
    av = float(losses.sum() / total_equity)
    exposure = (a @ M) * ell  # 1' A M L
    systemicness = (M @ exposure) * net_sales / total_equity
    J = M @ np.diag(ell) @ M.T @ np.diag(b * a)
    rho = float(np.max(np.abs(np.linalg.eigvals(J))))
    return GLTResult(
        names=names or [f"bank{i}" for i in range(n)],
        assets=asset_names or [f"asset{j}" for j in range(k)],
        direct_returns=r,
        net_sales=net_sales,
        asset_flows=flows,
        second_round_returns=F2,
        second_round_losses=losses,
        aggregate_vulnerability=av,
        systemicness=systemicness,
        indirect_vulnerability=losses / e,
        spectral_radius=rho,
        jacobian=J,
        provenance=Provenance(parameters={"model": "GLT leverage targeting"}),
    )


def duarte_eisenbach_av(assets: Any, equity: Any, weights: Any, impact: Any, shock: float) -> float:
    """Duarte–Eisenbach closed form of AV for a uniform shock ``F = f·1``.

    ``AV = (f / E) Σ_k l_k (Σ_i a_i m_ik)(Σ_j b_j a_j m_jk)``.
    """
    a = as_float_array(assets, "assets")
    e = as_float_array(equity, "equity")
    M = as_float_array(weights, "weights", ndim=2)
    ell = as_float_array(impact, "impact")
    f = check_float(shock, "shock")
    b = (a - e) / e
    return float(f / e.sum() * np.sum(ell * (a @ M) * ((b * a) @ M)))


# --------------------------------------------------------------------------- Cont–Schaanning
@dataclass(frozen=True)
class FireSaleRound:
    """State recorded after one round of the threshold dynamics."""

    leverage: np.ndarray
    gamma: np.ndarray
    sales: np.ndarray
    impact: np.ndarray
    losses: np.ndarray
    capital: np.ndarray


@dataclass(frozen=True)
class ContSchaanningResult(Result):
    """Outcome of Cont–Schaanning fire-sale dynamics.

    ``insolvent`` institutions have non-positive capital; ``illiquid`` ones sold every
    marketable asset and still breach the leverage limit while solvent.
    """

    names: list[str]
    assets: list[str]
    rounds: list[FireSaleRound]
    initial_capital: np.ndarray
    capital: np.ndarray
    capital_unfloored: np.ndarray
    holdings: np.ndarray
    prices: np.ndarray
    units_sold: np.ndarray
    insolvent: np.ndarray
    illiquid: np.ndarray
    hit_round_limit: bool
    mode: str
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def total_losses(self) -> np.ndarray:
        """Fire-sale losses per institution over all rounds (USD bn)."""
        return (
            np.sum([r.losses for r in self.rounds], axis=0)
            if self.rounds
            else np.zeros(len(self.names))
        )

    @property
    def total_sales(self) -> np.ndarray:
        """USD bn sold per asset over all rounds (at pre-trade prices)."""
        return (
            np.sum([r.sales for r in self.rounds], axis=0)
            if self.rounds
            else np.zeros(len(self.assets))
        )

    def _payload(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "rounds": len(self.rounds),
            "hit_round_limit": self.hit_round_limit,
            "losses": dict(zip(self.names, self.total_losses)),
            "sales": dict(zip(self.assets, self.total_sales)),
            "price_drawdowns": dict(zip(self.assets, self.prices - 1.0)),
            "insolvent": [n for n, x in zip(self.names, self.insolvent) if x],
            "illiquid": [n for n, x in zip(self.names, self.illiquid) if x],
        }

    def to_frame(self) -> pd.DataFrame:
        """Per-institution losses, capital and status."""
        return pd.DataFrame(
            {
                "initial_capital": self.initial_capital,
                "fire_sale_loss": self.total_losses,
                "capital": self.capital_unfloored,
                "insolvent": self.insolvent,
                "illiquid": self.illiquid,
            },
            index=pd.Index(self.names, name="institution"),
        )

    def summary(self) -> Summary:
        """Rounds, defaults and losses."""
        notes = (
            ["round limit reached: sales had not stopped (ρ(J) >= 1?)"]
            if self.hit_round_limit
            else []
        )
        return Summary(
            f"Cont–Schaanning fire sales ({self.mode})",
            facts=[
                ("rounds", len(self.rounds)),
                ("insolvent", int(self.insolvent.sum())),
                ("illiquid", int(self.illiquid.sum())),
                ("total losses (USD bn)", float(self.total_losses.sum())),
            ],
            tables=[Table.from_frame("Institutions", self.to_frame())],
            notes=notes,
        )


def price_impact(
    sales: np.ndarray,
    depth: np.ndarray,
    *,
    kind: str = "exponential",
    floor_ratio: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Fractional price fall from selling ``sales`` (USD bn) into markets of depth ``depth``.

    Exponential: ``Ψ = (1 − B/S)(1 − exp(−q / δ))`` with ``δ = (1 − B/S) D`` (cannot cross
    the floor); linear: ``Ψ = min(1, q / D)`` (floored at zero price). Negative sales (net
    buying) raise prices.
    """
    q = np.asarray(sales, dtype=np.float64)
    D = np.asarray(depth, dtype=np.float64)
    room = 1.0 - np.asarray(floor_ratio, dtype=np.float64)
    if kind == "exponential":
        return room * (1.0 - np.exp(-q / (room * D)))
    if kind == "linear":
        return np.minimum(1.0, q / D)
    raise InputError(f"impact must be 'exponential' or 'linear', got {kind!r}")


def cont_schaanning(
    holdings: Any,
    illiquid: Any,
    capital: Any,
    depth: Any,
    *,
    max_leverage: float = 1 / 0.03,
    target_leverage: float | None = None,
    execution: float = 0.5,
    mode: str = "threshold",
    impact: str = "exponential",
    floor: Any = None,
    max_rounds: int = 50,
    tol: float = 1e-9,
    initial_leverage: Any = None,
    liquidate_insolvent: bool = True,
    names: list[str] | None = None,
    asset_names: list[str] | None = None,
) -> ContSchaanningResult:
    """Cont–Schaanning fire-sale dynamics after a shock already applied to the inputs.

    Each round, every institution computes its deleveraging fraction from the same state
    (``Γ_i = min(1, (A_i − λ_tgt C_i) / Σ_k Π_ik)`` when ``λ_i > λ_max``), sales are
    aggregated per asset and cleared at one price (so agent order never matters), losses
    ``Σ_k Π_ik Ψ_k (1 − (1 − α) Γ_i)`` reduce capital, and proceeds repay debt.

    Parameters
    ----------
    holdings : array-like (N, K)
        Marketable holdings ``Π_ik`` in USD bn at current prices (prices normalised to 1).
    illiquid : array-like (N,)
        Non-marketable assets ``I_i``.
    capital : array-like (N,)
        Capital ``C_i`` after the exogenous shock.
    depth : array-like (K,)
        Market depth ``D_k`` (USD bn).
    max_leverage : float, default 1/0.03
        ``λ_max`` (assets/equity).
    target_leverage : float, optional
        ``λ_tgt``; default ``0.95 λ_max``. In ``mode="targeting"`` each institution instead
        targets its initial leverage and trades in both directions.
    execution : float, default 0.5
        ``α``: share of the round's impact borne by the units sold (0.5 = mid-point).
    mode : {"threshold", "targeting"}
    impact : {"exponential", "linear"}
    floor : array-like (K,), optional
        Floor prices ``B_k`` as a fraction of the initial price.
    max_rounds : int, default 50
    tol : float, default 1e-9
        Stop when total sales fall below this (USD bn).
    initial_leverage : array-like (N,), optional
        Targets for ``mode="targeting"`` (default: each institution's leverage on entry).
    liquidate_insolvent : bool, default True
        Institutions whose capital reaches zero sell all marketable holdings.

    Returns
    -------
    ContSchaanningResult

    References
    ----------
    Cont, R. and Schaanning, E. (2017), "Fire sales, indirect contagion and systemic stress
    testing", Norges Bank WP 2/2017.
    """
    P = as_float_array(holdings, "holdings", ndim=2).copy()
    n, k = P.shape
    I = as_float_array(illiquid, "illiquid")
    C = as_float_array(capital, "capital").copy()
    D = as_float_array(depth, "depth")
    if I.shape != (n,) or C.shape != (n,) or D.shape != (k,):
        raise InputError(f"shapes: holdings ({n}, {k}), illiquid/capital ({n},), depth ({k},)")
    if np.any(P < 0) or np.any(I < 0) or np.any(D <= 0):
        raise InputError("holdings and illiquid assets must be >= 0 and depth > 0")
    check_option(mode, "mode", ("threshold", "targeting"))
    check_option(impact, "impact", ("exponential", "linear"))
    alpha = check_float(execution, "execution", minimum=0.0, maximum=1.0)
    lam_max = check_float(max_leverage, "max_leverage", minimum=1.0)
    lam_tgt = (
        0.95 * lam_max
        if target_leverage is None
        else check_float(target_leverage, "target_leverage", minimum=1.0)
    )
    max_rounds = check_int(max_rounds, "max_rounds", minimum=1)
    B = np.zeros(k) if floor is None else as_float_array(floor, "floor")
    prices = np.ones(k)
    units = P.copy()  # units held (prices start at 1)
    units_sold = np.zeros(k)
    C0 = C.copy()
    C_unfloored = C.copy()
    if initial_leverage is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            lam0 = (P.sum(axis=1) + I) / np.where(C > 0, C, np.nan)
    else:
        lam0 = as_float_array(initial_leverage, "initial_leverage")
    rounds: list[FireSaleRound] = []
    hit_limit = True
    for _ in range(max_rounds):
        marketable = P.sum(axis=1)
        total = marketable + I
        solvent = C > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = np.where(solvent, total / np.where(solvent, C, 1.0), np.inf)
            if mode == "threshold":
                need = np.where(marketable > 0, (total - lam_tgt * C) / marketable, 1.0)
                gamma = np.where(solvent & (lam > lam_max), np.minimum(1.0, need), 0.0)
            else:
                need = (total - lam0 * C) / marketable
                gamma = np.where(
                    solvent & (marketable > 0) & np.isfinite(lam0), np.minimum(1.0, need), 0.0
                )
        gamma = np.nan_to_num(gamma)
        if liquidate_insolvent:
            gamma = np.where(~solvent & (marketable > 0), 1.0, gamma)
        q = gamma @ P
        if np.sum(np.abs(q)) < tol:
            hit_limit = False
            break
        psi = price_impact(q, D, kind=impact, floor_ratio=B / prices)
        losses = (P * psi).sum(axis=1) * (1.0 - (1.0 - alpha) * gamma)
        sold_units = (gamma[:, None] * units).sum(axis=0)
        units_sold += sold_units
        units = (1.0 - gamma)[:, None] * units
        P = (1.0 - gamma)[:, None] * P * (1.0 - psi)
        prices = prices * (1.0 - psi)
        C_unfloored = C_unfloored - losses
        C = np.maximum(C_unfloored, 0.0)
        rounds.append(FireSaleRound(lam, gamma, q, psi, losses, C_unfloored.copy()))
    marketable = P.sum(axis=1)
    insolvent = C_unfloored <= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        lev = (marketable + I) / C
    illiquid_flag = ~insolvent & (marketable <= tol) & (lev > lam_max)
    return ContSchaanningResult(
        names=names or [f"bank{i}" for i in range(n)],
        assets=asset_names or [f"asset{j}" for j in range(k)],
        rounds=rounds,
        initial_capital=C0,
        capital=C,
        capital_unfloored=C_unfloored,
        holdings=P,
        prices=prices,
        units_sold=units_sold,
        insolvent=insolvent,
        illiquid=illiquid_flag,
        hit_round_limit=hit_limit,
        mode=mode,
        provenance=Provenance(
            parameters={
                "max_leverage": lam_max,
                "target_leverage": lam_tgt,
                "execution": alpha,
                "mode": mode,
                "impact": impact,
                "max_rounds": max_rounds,
            }
        ),
    )


def overlap_matrix(holdings: Any, depth: Any) -> np.ndarray:
    """Liquidity-weighted portfolio overlap ``Ω_ij = Σ_k Π_ik Π_jk / D_k`` (symmetric)."""
    P = as_float_array(holdings, "holdings", ndim=2)
    D = as_float_array(depth, "depth")
    return (P / D) @ P.T


def indirect_contagion_index(holdings: Any, depth: Any) -> pd.DataFrame:
    """Indirect contagion index: Perron eigenvector of Ω (sums to 1) and its row sums."""
    omega = overlap_matrix(holdings, depth)
    vals, vecs = np.linalg.eigh(omega)
    perron = np.abs(vecs[:, np.argmax(vals)])
    return pd.DataFrame({"perron": perron / perron.sum(), "row_sum": omega.sum(axis=1)})
