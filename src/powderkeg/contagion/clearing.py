"""Counterparty clearing: Eisenberg–Noe, Rogers–Veraart default costs, and DebtRank.

Conventions (model-spec §2): ``liabilities[i, j]`` is what node *i* owes node *j* (USD bn);
external creditors are an explicit sink (``external_liabilities``), so relative liabilities
``Π[i, j] = L̄[i, j] / p̄[i]`` may have rows summing to less than one. Node *i* receives
``(Π' p)_i``. DebtRank works on *claims* (``exposures[i, j]`` = claim of *i* on *j*), the
transpose of liabilities.

References
----------
Eisenberg, L. and Noe, T. (2001), "Systemic risk in financial systems", Management Science 47(2).
Rogers, L. C. G. and Veraart, L. A. M. (2013), "Failure and rescue in an interbank network",
Management Science 59(4).
Battiston, S. et al. (2012), "DebtRank: too central to fail?", Scientific Reports 2:541.
Bardoscia, M. et al. (2015), "DebtRank: a microscopic foundation for shock propagation", PLoS ONE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import as_float_array, check_float
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table

_TOL = 1e-12


def _names(names: Sequence[str] | None, n: int) -> list[str]:
    if names is None:
        return [f"node{i}" for i in range(n)]
    if len(names) != n:
        raise InputError(f"names must have {n} entries, got {len(names)}")
    return [str(x) for x in names]


def _network(
    liabilities: Any, external_assets: Any, external_liabilities: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    L = as_float_array(liabilities, "liabilities", ndim=2)
    n = L.shape[0]
    if L.shape != (n, n):
        raise InputError(f"liabilities must be square, got shape {L.shape}")
    if np.any(L < 0):
        raise InputError("liabilities must be non-negative")
    e = as_float_array(external_assets, "external_assets")
    if e.shape != (n,) or np.any(e < 0):
        raise InputError(f"external_assets must be {n} non-negative values")
    ext = (
        np.zeros(n)
        if external_liabilities is None
        else as_float_array(external_liabilities, "external_liabilities")
    )
    if ext.shape != (n,) or np.any(ext < 0):
        raise InputError(f"external_liabilities must be {n} non-negative values")
    pbar = L.sum(axis=1) + ext
    with np.errstate(invalid="ignore", divide="ignore"):
        Pi = np.where(pbar[:, None] > 0, L / pbar[:, None], 0.0)
    return L, e, ext, pbar, Pi


@dataclass(frozen=True)
class ClearingResult(Result):
    """Clearing payments, equities, defaults and default waves of a payment network.

    Attributes
    ----------
    payments : ndarray
        The (greatest) clearing vector p.
    least_payments : ndarray
        The least clearing vector (Picard iteration from zero), a multiplicity diagnostic.
    equity : ndarray
        Equity after clearing, ``max(0, e + Π'p − p̄)`` (zero for defaulted nodes).
    defaults : ndarray of bool
        Nodes that pay less than they owe.
    waves : list of list of str
        Nodes in the order they entered default (wave 1 = fundamental defaults).
    external_paid : float
        Total paid to external creditors.
    """

    names: list[str]
    nominal: np.ndarray
    payments: np.ndarray
    least_payments: np.ndarray
    equity: np.ndarray
    defaults: np.ndarray
    waves: list[list[str]]
    external_paid: float
    method: str
    iterations: int
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def unique(self) -> bool:
        """True when the greatest and least clearing vectors coincide."""
        return bool(np.allclose(self.payments, self.least_payments, atol=1e-9))

    def _payload(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "nodes": self.names,
            "payments": self.payments,
            "nominal": self.nominal,
            "least_payments": self.least_payments,
            "unique": self.unique,
            "equity": self.equity,
            "defaults": [n for n, d in zip(self.names, self.defaults) if d],
            "waves": self.waves,
            "external_paid": self.external_paid,
            "iterations": self.iterations,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per node: nominal liabilities, payment, equity, default flag and wave."""
        wave_of = {n: w + 1 for w, ns in enumerate(self.waves) for n in ns}
        return pd.DataFrame(
            {
                "nominal": self.nominal,
                "payment": self.payments,
                "equity": self.equity,
                "default": self.defaults,
                "wave": [wave_of.get(n) for n in self.names],
            },
            index=pd.Index(self.names, name="node"),
        )

    def summary(self) -> Summary:
        """Defaults by wave and the per-node table."""
        notes = [] if self.unique else ["clearing vector not unique; the greatest is reported"]
        return Summary(
            f"Clearing ({self.method})",
            facts=[
                ("defaults", int(self.defaults.sum())),
                ("default waves", len(self.waves)),
                ("paid to external creditors", self.external_paid),
            ],
            tables=[Table.from_frame("Nodes", self.to_frame())],
            notes=notes,
        )


def _picard(
    pbar: np.ndarray, Pi: np.ndarray, e: np.ndarray, start: np.ndarray, alpha: float, beta: float
) -> np.ndarray:
    p = start.copy()
    for _ in range(100_000):
        inflow = Pi.T @ p
        solvent = e + inflow >= pbar - _TOL
        new = np.where(solvent, pbar, np.minimum(pbar, alpha * e + beta * inflow))
        if np.max(np.abs(new - p), initial=0.0) < _TOL:
            return new
        p = new
    return p


def rogers_veraart(
    liabilities: Any,
    external_assets: Any,
    external_liabilities: Any = None,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    names: Sequence[str] | None = None,
) -> ClearingResult:
    """Greatest clearing vector with default costs (Rogers–Veraart GCVA).

    A defaulting node realises ``alpha`` of its external assets and ``beta`` of its interbank
    receivables: ``p_i = p̄_i`` if ``e_i + (Π'p)_i >= p̄_i`` else ``alpha e_i + beta (Π'p)_i``.
    With ``alpha = beta = 1`` this is the Eisenberg–Noe fictitious default algorithm.

    Parameters
    ----------
    liabilities : array-like of shape (n, n)
        ``liabilities[i, j]`` = nominal amount node *i* owes node *j*.
    external_assets : array-like of shape (n,)
    external_liabilities : array-like of shape (n,), optional
        Amounts owed to creditors outside the network.
    alpha, beta : float in (0, 1]
        Recovery rates on external assets and on interbank receivables in default.
    names : sequence of str, optional

    Returns
    -------
    ClearingResult

    Examples
    --------
    >>> L = [[0, 1.0, 0], [0, 0, 1.5], [1.0, 0, 0]]
    >>> res = rogers_veraart(L, [0.5, 0.5, 0.2], [1.0, 0, 0])
    >>> [round(x, 6) for x in res.payments]
    [1.5, 1.25, 1.0]
    """
    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0, exclusive_minimum=True)
    beta = check_float(beta, "beta", minimum=0.0, maximum=1.0, exclusive_minimum=True)
    _, e, ext, pbar, Pi = _network(liabilities, external_assets, external_liabilities)
    labels = _names(names, len(e))
    n = len(e)
    lam = pbar.copy()
    insolvent = np.zeros(n, dtype=bool)
    waves: list[list[str]] = []
    iterations = 0
    for iterations in range(1, n + 2):
        v = e + Pi.T @ lam - pbar
        new_insolvent = insolvent | (v < -_TOL)
        if np.array_equal(new_insolvent, insolvent) and iterations > 1:
            break
        entered = new_insolvent & ~insolvent
        if entered.any():
            waves.append([labels[i] for i in np.flatnonzero(entered)])
        insolvent = new_insolvent
        idx_i = np.flatnonzero(insolvent)
        idx_s = np.flatnonzero(~insolvent)
        lam = pbar.copy()
        if len(idx_i):
            A = np.eye(len(idx_i)) - beta * Pi[np.ix_(idx_i, idx_i)].T
            rhs = alpha * e[idx_i] + beta * Pi[np.ix_(idx_s, idx_i)].T @ pbar[idx_s]
            lam[idx_i] = np.minimum(np.linalg.solve(A, rhs), pbar[idx_i])
    inflow = Pi.T @ lam
    equity = np.maximum(0.0, e + inflow - pbar)
    equity[insolvent] = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ext_share = np.where(pbar > 0, ext / pbar, 0.0)
    least = _picard(pbar, Pi, e, np.zeros(n), alpha, beta)
    method = (
        "Eisenberg–Noe" if alpha == 1.0 and beta == 1.0 else f"Rogers–Veraart (α={alpha}, β={beta})"
    )
    return ClearingResult(
        names=labels,
        nominal=pbar,
        payments=lam,
        least_payments=least,
        equity=equity,
        defaults=insolvent,
        waves=waves,
        external_paid=float(ext_share @ lam),
        method=method,
        iterations=iterations,
        provenance=Provenance(parameters={"alpha": alpha, "beta": beta, "method": method}),
    )


def eisenberg_noe(
    liabilities: Any,
    external_assets: Any,
    external_liabilities: Any = None,
    *,
    names: Sequence[str] | None = None,
) -> ClearingResult:
    """Greatest Eisenberg–Noe clearing vector by the fictitious default algorithm.

    ``p_i = min(p̄_i, e_i + Σ_j Π_ji p_j)``; at most *n* iterations; the order in which nodes
    enter the default set gives the default waves.

    Parameters
    ----------
    liabilities : array-like of shape (n, n)
        ``liabilities[i, j]`` = nominal amount node *i* owes node *j*.
    external_assets : array-like of shape (n,)
    external_liabilities : array-like of shape (n,), optional
    names : sequence of str, optional

    Returns
    -------
    ClearingResult
    """
    return rogers_veraart(
        liabilities, external_assets, external_liabilities, alpha=1.0, beta=1.0, names=names
    )


def picard_clearing(
    liabilities: Any,
    external_assets: Any,
    external_liabilities: Any = None,
    *,
    start: str = "nominal",
) -> np.ndarray:
    """Eisenberg–Noe clearing by Picard iteration from the nominal vector or from zero.

    From ``"nominal"`` the iteration is monotonically non-increasing and converges to the
    greatest clearing vector; from ``"zero"`` to the least.
    """
    _, e, _, pbar, Pi = _network(liabilities, external_assets, external_liabilities)
    if start not in ("nominal", "zero"):
        raise InputError(f"start must be 'nominal' or 'zero', got {start!r}")
    x0 = pbar.copy() if start == "nominal" else np.zeros_like(pbar)
    return _picard(pbar, Pi, e, x0, 1.0, 1.0)


@dataclass(frozen=True)
class DebtRankResult(Result):
    """Final relative distress per node and the DebtRank of a shock."""

    names: list[str]
    initial: np.ndarray
    final: np.ndarray
    weights: np.ndarray
    debtrank: float
    spectral_radius: float
    variant: str
    steps: int
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "nodes": self.names,
            "initial_distress": self.initial,
            "final_distress": self.final,
            "debtrank": self.debtrank,
            "spectral_radius": self.spectral_radius,
            "stable": self.spectral_radius < 1.0,
            "steps": self.steps,
        }

    def to_frame(self) -> pd.DataFrame:
        """Initial and final distress and economic weight per node."""
        return pd.DataFrame(
            {"initial": self.initial, "final": self.final, "weight": self.weights},
            index=pd.Index(self.names, name="node"),
        )

    def summary(self) -> Summary:
        """DebtRank, stability and per-node distress."""
        return Summary(
            f"DebtRank ({self.variant})",
            facts=[
                ("DebtRank R", self.debtrank),
                ("spectral radius of W", self.spectral_radius),
                ("steps", self.steps),
            ],
            tables=[Table.from_frame("Distress", self.to_frame())],
        )


def debtrank(
    exposures: Any,
    equity: Any,
    shock: Any,
    *,
    weights: Any = None,
    linear: bool = False,
    names: Sequence[str] | None = None,
    max_steps: int = 10_000,
) -> DebtRankResult:
    """DebtRank (original, each node propagates once) or linear DebtRank.

    Impact matrix ``W_ij = min(1, A_ij / E_i)``: relative equity loss of *i* when *j* defaults
    (``exposures[i, j]`` = claim of *i* on *j*). DebtRank
    ``R = Σ_j v_j h_j(T) − Σ_j v_j h_j(1)`` with economic weights ``v`` (default: each
    node's share of total equity).

    Parameters
    ----------
    exposures : array-like of shape (n, n)
    equity : array-like of shape (n,)
        Positive equities.
    shock : array-like of shape (n,)
        Initial relative distress in [0, 1] (1 = default).
    weights : array-like of shape (n,), optional
        Economic weights summing to one (default: proportional to equity).
    linear : bool, default False
        Linear DebtRank (propagate increments; nodes may propagate repeatedly).
    names : sequence of str, optional
    """
    A = as_float_array(exposures, "exposures", ndim=2)
    E = as_float_array(equity, "equity")
    h0 = as_float_array(shock, "shock")
    n = len(E)
    if A.shape != (n, n) or h0.shape != (n,):
        raise InputError(f"exposures must be ({n}, {n}) and shock ({n},)")
    if np.any(E <= 0):
        raise InputError("equity must be positive")
    if np.any((h0 < 0) | (h0 > 1)):
        raise InputError("shock must lie in [0, 1]")
    v = E / E.sum() if weights is None else as_float_array(weights, "weights")
    if v.shape != (n,) or abs(v.sum() - 1.0) > 1e-9:
        raise InputError("weights must be n values summing to 1")
    W = np.minimum(1.0, A / E[:, None])
    rho = float(np.max(np.abs(np.linalg.eigvals(W)))) if n else 0.0
    h = h0.copy()
    steps = 0
    if linear:
        dh = h0.copy()
        while steps < max_steps:
            steps += 1
            new = np.minimum(1.0, h + W @ dh)
            dh = new - h
            h = new
            if np.max(np.abs(dh), initial=0.0) < 1e-15:
                break
    else:
        distressed = h > 0
        inactive = np.zeros(n, dtype=bool)
        while distressed.any() and steps < max_steps:
            steps += 1
            new = np.minimum(1.0, h + W[:, distressed] @ h[distressed])
            inactive |= distressed
            h = new
            distressed = (h > 0) & ~inactive
    labels = _names(names, n)
    return DebtRankResult(
        names=labels,
        initial=h0,
        final=h,
        weights=v,
        debtrank=float(v @ h - v @ h0),
        spectral_radius=rho,
        variant="linear" if linear else "original",
        steps=steps,
        provenance=Provenance(parameters={"linear": linear}),
    )
