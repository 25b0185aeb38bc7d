r"""Double-entry balance sheets over a leading path axis (model-spec §3.2, §9.1–9.3).

The stress engine keeps the state of ``P`` Monte Carlo paths, ``N`` agents and ``K`` asset
classes in a handful of float64 arrays (money in USD billions; every asset starts at price 1,
so one unit is worth USD 1 bn at the start):

``price`` (P, K)
    price of each asset class (tradable securities and non-tradable marked books).
``units`` (P, N, K)
    units held. Every unit is a claim on an issuer *outside* the modelled system; the
    ``outside`` sector holds the residual float, so ``Σ_i units[:, i, k]`` never changes.
``cash`` (P, N)
    central-bank money. It only changes hands, except that the central bank creates money
    (``cb_money``, logged) when it buys assets or lends through a facility.
``face`` (P, E) and ``mark`` (P, E)
    bilateral contracts (*edges*): deposits, interbank loans, repo, margin loans, credit
    lines, private-credit loans, stablecoin tokens, central-bank loans. ``face`` is the
    nominal amount the borrower owes (its liability); the lender carries it at
    ``face · mark`` (``mark < 1`` only for level-3 private-credit marks). Marks are the one
    logged mark-to-market difference between the two sides (model-spec §9.1).
``equity`` (P, N)
    book equity, changed *only* by explicit postings (revaluation, realised trading results,
    write-downs, distributions). It is never recomputed as ``A − L``, so the identity

    .. math:: A_i − L_i − E_i = 0, \\qquad A_i = c_i + Σ_k Q_{ik} P_k + Σ_{e: lender=i}
              F_e m_e, \\quad L_i = Σ_{e: borrower=i} F_e (+ money issued, for the CB)

    is a genuine check of double entry (model-spec §3.8, tolerance 1e-9 USD bn).

Leverage convention: functions here do not use leverage; see :mod:`.institutions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from powderkeg.contagion._network_kernels import agent_sums
from powderkeg.exceptions import PowderkegError


class InvariantError(PowderkegError):
    """A global invariant of the stress engine (model-spec §9) was violated."""


class Contract(IntEnum):
    """Kinds of bilateral contracts (edges); the lender holds the asset, the borrower owes it."""

    DEPOSIT = 0
    INTERBANK = 1
    REPO = 2
    MARGIN_LOAN = 3
    CREDIT_LINE = 4
    PRIVATE_CREDIT = 5
    STABLECOIN = 6
    CB_LOAN = 7
    LOAN = 8


CONTRACT_NAMES: dict[str, Contract] = {c.name.lower(): c for c in Contract}


def margin_call(
    principal: np.ndarray | float,
    units: np.ndarray | float,
    price: np.ndarray | float,
    haircut: np.ndarray | float,
    cash_collateral: np.ndarray | float = 0.0,
) -> np.ndarray:
    r"""Repo margin call (model-spec §3.2).

    .. math:: MC = \\max\\bigl(0,\\; \\text{principal} − Σ_k (1 − h_k) P_k Q_k −
              \\text{cash collateral}\\bigr)

    Parameters
    ----------
    principal : array-like (...,)
        Repo principal (USD bn).
    units, price, haircut : array-like (..., K)
        Pledged units, prices and haircuts per collateral asset (the last axis is summed).
    cash_collateral : array-like (...,), default 0
        Cash already posted.

    Examples
    --------
    >>> float(margin_call(90.0, [100.0], [1.0], [0.1]))
    0.0
    >>> round(float(margin_call(90.0, [100.0], [0.95], [0.1])), 10)
    4.5
    """
    q = np.atleast_1d(np.asarray(units, dtype=np.float64))
    value = np.sum((1.0 - np.asarray(haircut, dtype=np.float64)) * np.asarray(price) * q, axis=-1)
    return np.maximum(0.0, np.asarray(principal, dtype=np.float64) - value - cash_collateral)


@dataclass(frozen=True)
class Network:
    """The static list of bilateral contracts (edges) and its aggregation operators.

    ``lender[e]`` holds contract *e* as an asset, ``borrower[e]`` owes it. Each agent's
    edges as lender and as borrower are kept in CSR form (``*_ptr``, ``*_edges``: the
    edges of agent ``i`` are ``edges[ptr[i]:ptr[i + 1]]``, ascending). Aggregations
    (:func:`~._network_kernels.agent_sums_python`) cost O(P·E) and sum each agent's edges
    in ascending edge order whatever the number of paths (bit-identical batching).
    """

    lender: np.ndarray
    borrower: np.ndarray
    kind: np.ndarray
    n_agents: int
    lend_ptr: np.ndarray
    lend_edges: np.ndarray
    borrow_ptr: np.ndarray
    borrow_edges: np.ndarray

    @classmethod
    def build(cls, lender: np.ndarray, borrower: np.ndarray, kind: np.ndarray, n: int) -> Network:
        """Build the network from edge arrays for ``n`` agents."""
        lender = np.ascontiguousarray(lender, dtype=np.int64)
        borrower = np.ascontiguousarray(borrower, dtype=np.int64)
        by_lender = np.argsort(lender, kind="stable")
        by_borrower = np.argsort(borrower, kind="stable")
        return cls(
            lender,
            borrower,
            np.asarray(kind, dtype=np.int64),
            n,
            np.searchsorted(lender[by_lender], np.arange(n + 1)),
            by_lender,
            np.searchsorted(borrower[by_borrower], np.arange(n + 1)),
            by_borrower,
        )

    @property
    def n_edges(self) -> int:
        """Number of contracts."""
        return len(self.lender)

    def by_lender(self, values: np.ndarray) -> np.ndarray:
        """Sum edge values ``(P, E)`` per lender, giving ``(P, N)``."""
        return self._sum(values, self.lend_ptr, self.lend_edges)

    def by_borrower(self, values: np.ndarray) -> np.ndarray:
        """Sum edge values ``(P, E)`` per borrower, giving ``(P, N)``."""
        return self._sum(values, self.borrow_ptr, self.borrow_edges)

    def _sum(self, values: np.ndarray, ptr: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """Per-agent sums of edge values (P, E) over the agents' edges ``ptr``/``edges``."""
        out = np.zeros((values.shape[0], self.n_agents))
        if values.shape[-1]:
            agent_sums(np.ascontiguousarray(values, dtype=np.float64), ptr, edges, out)
        return out

    def mask(self, *kinds: Contract) -> np.ndarray:
        """Boolean (E,) mask of edges of the given kinds."""
        return np.isin(self.kind, [int(k) for k in kinds])


@dataclass
class Ledger:
    """Mutable state of one chunk of paths (see the module docstring for the arrays)."""

    price: np.ndarray
    units: np.ndarray
    cash: np.ndarray
    face: np.ndarray
    mark: np.ndarray
    equity: np.ndarray
    cb_money: np.ndarray
    cb_index: int

    @property
    def n_paths(self) -> int:
        """Number of paths ``P``."""
        return self.price.shape[0]

    def copy(self) -> Ledger:
        """Deep copy."""
        return Ledger(
            self.price.copy(),
            self.units.copy(),
            self.cash.copy(),
            self.face.copy(),
            self.mark.copy(),
            self.equity.copy(),
            self.cb_money.copy(),
            self.cb_index,
        )

    # ------------------------------------------------------------------ valuations
    def holdings_value(self) -> np.ndarray:
        """``Σ_k Q_ik P_k`` (P, N)."""
        return np.einsum("pnk,pk->pn", self.units, self.price)

    def assets(self, net: Network) -> np.ndarray:
        """Total assets ``A_i`` (P, N)."""
        return self.cash + self.holdings_value() + net.by_lender(self.face * self.mark)

    def liabilities(self, net: Network) -> np.ndarray:
        """Total liabilities ``L_i`` (P, N), including the money issued by the central bank."""
        out = net.by_borrower(self.face)
        out[:, self.cb_index] += self.cb_money
        return out

    # ------------------------------------------------------------------ postings
    def transfer_cash(self, payer: np.ndarray, payee: np.ndarray, amount: np.ndarray) -> None:
        """Move ``amount`` (P, m) of cash from agents ``payer`` (m,) to ``payee`` (m,).

        Equity does not move: both sides exchange cash for something recorded elsewhere.
        """
        np.subtract.at(self.cash.T, payer, amount.T)
        np.add.at(self.cash.T, payee, amount.T)

    def repay_edges(self, net: Network, amount: np.ndarray) -> None:
        """Borrowers pay ``amount`` (P, E) of principal in cash to lenders (face falls).

        The lender's asset falls by ``amount · mark`` while its cash rises by ``amount``; the
        difference ``amount (1 − mark)`` is a realised gain posted to the lender's equity.
        """
        self.cash -= net.by_borrower(amount)
        self.cash += net.by_lender(amount)
        self.equity += net.by_lender(amount * (1.0 - self.mark))
        self.face -= amount

    def draw_edges(self, net: Network, amount: np.ndarray) -> None:
        """Lenders advance ``amount`` (P, E) of new cash to borrowers at par (face rises).

        The lender's mark becomes the face-weighted average of the old book and the new par
        lending, so neither side's equity moves.
        """
        new_face = self.face + amount
        with np.errstate(invalid="ignore", divide="ignore"):
            blended = (self.face * self.mark + amount) / np.where(new_face > 0, new_face, 1.0)
            self.mark = np.where(new_face > 0, blended, 1.0)
        self.face = new_face
        self.cash += net.by_borrower(amount)
        self.cash -= net.by_lender(amount)

    def write_down_edges(
        self, net: Network, ratio: np.ndarray, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Write each edge's face down to ``face · ratio`` (clearing recovery, ratio in [0, 1]).

        Lenders lose their carrying value minus the written-down face; borrowers gain the
        debt forgiven. Marks reset to par on written-down edges. With ``rows`` (path
        indices), ``ratio`` holds those paths' rows only and the others are untouched.
        Returns the lender losses and the borrower gains per agent (rows, N).
        """
        if rows is None:
            rows = np.arange(self.n_paths)
        face = self.face[rows]
        new_face = face * ratio
        touched = ratio < 1.0
        lender_loss = np.where(touched, face * self.mark[rows] - new_face, 0.0)
        borrower_gain = face - new_face
        loss = net.by_lender(lender_loss)
        gain = net.by_borrower(borrower_gain)
        equity = self.equity[rows]
        equity -= loss
        equity += gain
        self.equity[rows] = equity
        self.mark[rows] = np.where(touched, 1.0, self.mark[rows])
        self.face[rows] = new_face
        return loss, gain

    def set_marks(self, net: Network, new_mark: np.ndarray) -> None:
        """Re-mark edges (lender side only) and post the revaluation to lenders' equity."""
        self.equity += net.by_lender(self.face * (new_mark - self.mark))
        self.mark = new_mark

    def revalue(self, new_price: np.ndarray) -> None:
        """Set prices to ``new_price`` (P, K) and post ``Σ_k Q_ik ΔP_k`` to every holder."""
        dp = new_price - self.price
        self.equity += np.einsum("pnk,pk->pn", self.units, dp)
        self.price = new_price

    def create_money(self, payee: np.ndarray, amount: np.ndarray) -> None:
        """Central-bank money creation: ``amount`` (P, m) of new cash to agents ``payee``."""
        np.add.at(self.cash.T, payee, amount.T)
        self.cb_money += amount.sum(axis=1)


@dataclass(frozen=True)
class Totals:
    """Conserved totals recorded at the start of a run (per path)."""

    cash: np.ndarray
    units: np.ndarray
    cb_money: np.ndarray


def totals(ledger: Ledger) -> Totals:
    """Record the conserved quantities: total cash, total units per asset, money created."""
    return Totals(ledger.cash.sum(axis=1), ledger.units.sum(axis=1), ledger.cb_money.copy())


def check_invariants(
    ledger: Ledger,
    net: Network,
    start: Totals,
    *,
    where: str,
    names: list[str],
    asset_names: list[str],
    short_allowed: np.ndarray | None = None,
    tol: float = 1e-9,
) -> None:
    """Check model-spec §9 invariants; raise :class:`InvariantError` naming the first breach.

    1. per-agent ledger identity ``|A − L − E| <= tol·max(1, |A|)``;
    2. cash conservation ``Σ_i c_i = Σ_i c_i(0) + money created`` (the only logged source);
    3. units conservation per asset (outside buyers and the central bank included);
    4. bounds: prices > 0, units >= −tol for agents not in ``short_allowed`` (the outside
       sector absorbs the residual and may go short), contract faces >= −tol.
    """
    A = ledger.assets(net)
    gap = A - ledger.liabilities(net) - ledger.equity
    scale = np.maximum(1.0, np.abs(A))
    bad = np.abs(gap) > tol * scale
    if bad.any():
        p, i = np.argwhere(bad)[0]
        raise InvariantError(
            f"{where}: ledger identity A - L - E = {gap[p, i]:.3e} for agent {names[i]!r} "
            f"on path {p} (A={A[p, i]:.6g}, E={ledger.equity[p, i]:.6g})"
        )
    cash_gap = ledger.cash.sum(axis=1) - start.cash - (ledger.cb_money - start.cb_money)
    cash_scale = np.maximum(1.0, np.abs(start.cash))
    if np.any(np.abs(cash_gap) > tol * cash_scale):
        p = int(np.argmax(np.abs(cash_gap)))
        raise InvariantError(
            f"{where}: cash not conserved on path {p}: gap {cash_gap[p]:.3e} USD bn "
            "beyond logged central-bank money creation"
        )
    unit_gap = ledger.units.sum(axis=1) - start.units
    if np.any(np.abs(unit_gap) > tol * np.maximum(1.0, np.abs(start.units))):
        p, k = np.argwhere(np.abs(unit_gap) > tol * np.maximum(1.0, np.abs(start.units)))[0]
        raise InvariantError(
            f"{where}: units of {asset_names[k]!r} not conserved on path {p}: "
            f"gap {unit_gap[p, k]:.3e}"
        )
    if np.any(ledger.price <= 0) or not np.all(np.isfinite(ledger.price)):
        raise InvariantError(f"{where}: non-positive or non-finite price")
    long_only = np.ones(len(names), dtype=bool) if short_allowed is None else ~short_allowed
    if np.any(ledger.units[:, long_only, :] < -tol):
        p, i, k = np.argwhere(ledger.units[:, long_only, :] < -tol)[0]
        who = np.flatnonzero(long_only)[i]
        raise InvariantError(
            f"{where}: agent {names[who]!r} holds negative units of {asset_names[k]!r} on path {p}"
        )
    if np.any(ledger.face < -tol):
        raise InvariantError(f"{where}: negative contract face value")
