"""Sub-round clearing of one day in the agent engine (model-spec §7 step 3).

:func:`clear_rounds` runs the day's sub-rounds ``n = 1..n_max``: (a) clear all queued orders
of open markets simultaneously (central-bank purchases in round 1); (b) in round 1 of a bank
day settle obligations due (margin calls, redemptions, withdrawals, commitments) from cash —
or from the central-bank facility — else mark the payer as failed; (c) let every agent act
on the same state (:func:`~.engine_behaviour.behave`), which only *posts* orders and
obligations. A path stops when no new open-market order or payment exceeds ``tol``; later
sub-rounds run only the active paths (the others are frozen). Steps (a) and (c) are the
per-path kernels of :mod:`._engine_kernels`, the engine's hot loop.
"""

from __future__ import annotations

import warnings

import numpy as np

from powderkeg.contagion import _engine_kernels as kernels
from powderkeg.contagion import markets
from powderkeg.contagion.engine_behaviour import behave
from powderkeg.contagion.engine_state import RunState
from powderkeg.contagion.institutions import AgentType, haircuts
from powderkeg.contagion.policy import FACILITY_LOAN, QE_PURCHASE
from powderkeg.exceptions import ConvergenceWarning


def clear_rounds(run: RunState, t: int) -> float:
    """Run the sub-rounds of day ``t`` on every path (see the module doc).

    Parameters
    ----------
    run : RunState
        The chunk's state, updated in place.
    t : int
        Day index.

    Returns
    -------
    float
        Value sold by private sellers over the day, summed over paths (USD bn).
    """
    open_k = run.tradable & run.market_open[t]
    depth = _depth(run, t)
    bank = bool(run.bank_open[t])
    # liquidity sellers: open markets first, then by priority
    order = np.array(
        sorted(np.flatnonzero(run.tradable), key=lambda k: (not open_k[k], run.priority[k], k)),
        dtype=np.int64,
    )
    active = np.ones(run.P, dtype=bool)
    sold_total = 0.0
    n_used = 0
    qe = _qe_orders(run, t, open_k, bank)
    # the kernels write the chunk's arrays in place; only settlement rebinds some of them
    st = run.round_state()
    for n in range(run.p.max_rounds):
        n_used = n + 1
        rows = np.flatnonzero(active)  # later sub-rounds run only the paths still active
        kernels.clear_paths(run.structure, st, run.buffers, rows, t, n, open_k, depth, qe)
        sold_total += float(run.buffers.sold_value[rows].sum())
        if run.record:
            _log_sales(run, t, n, rows)
        if run.debug:
            run.verify(f"day {t} round {n + 1} clearing")
        if n == 0 and bank:
            _settle(run, t)
            st = run.round_state()
            if run.debug:
                run.verify(f"day {t} settlement")
        behave(run, st, t, n, bank, open_k, order, rows, active)
        if run.debug:
            run.verify(f"day {t} round {n + 1} behaviour")
        if not active.any():
            break
    else:
        warnings.warn(
            f"day {t}: sub-round limit n_max={run.p.max_rounds} reached on "
            f"{int(active.sum())} path(s); sales had not stopped (spectral radius >= 1?)",
            ConvergenceWarning,
            stacklevel=4,
        )
    run.rounds[t] = n_used
    return sold_total


def _log_sales(run: RunState, t: int, n: int, rows: np.ndarray) -> None:
    """Log the sales of round ``n`` on the paths ``rows`` (private sellers, pre-trade value)."""
    buf = run.buffers
    sold = buf.sold[rows]
    if not np.any(sold > 0):
        return
    pre = buf.pre_price[rows]
    for q, i, k in np.argwhere(sold * pre[:, None, :] > run.p.tol):
        p = rows[q]
        run.log_event(
            t,
            "sale",
            path=int(p),
            round=n + 1,
            agent=run.names[i],
            asset=run.anames[k],
            amount=float(buf.sold[p, i, k] * buf.pre_price[p, k]),
            impact=float(buf.psi[p, k]),
        )


def _depth(run: RunState, t: int) -> np.ndarray:
    """Market depth (P, K) of day ``t``: stressed, scaled per path, facility-boosted."""
    s = run.s
    fac = np.ones((run.P, run.K))
    on = run.policy.active(t)
    fac = np.where(on[:, None] & s.assets["facility"][None, :], s.policy.facility_depth, fac)
    return markets.stressed_depth(
        s.assets["depth"],
        s.assets["min_depth"],
        run.si,
        run.p.stress_scale,
        run.sh.multiplier("depth"),
        fac,
    )


def _qe_orders(run: RunState, t: int, open_k: np.ndarray, bank: bool) -> np.ndarray:
    """Central-bank Treasury purchases (P, K) as negative units (round 1 of bank days)."""
    out = np.zeros((run.P, run.K))
    pol = run.s.policy
    if "tnotes" not in run.anames or not bank or not pol.enabled:
        return out
    k = run.anames.index("tnotes")
    if not open_k[k]:
        return out
    on = run.policy.active(t) & (run.policy.qe_done < pol.qe_days)
    if not on.any():
        return out
    out[:, k] = -np.where(on, pol.qe_per_day / run.ledger.price[:, k], 0.0)
    run.policy.qe_done += on
    run.actions[:, t] |= np.where(on, QE_PURCHASE, 0)
    return out


def _settle(run: RunState, t: int) -> None:
    """Pay obligations due (model-spec §7 step 5) on a bank business day."""
    L, net, s = run.ledger, run.net, run.s
    owed = net.by_borrower(run.edge_due) + run.redeem_due + run.commit_due
    # central-bank facility: discount-window loans to banks and dealers against HQLA
    on = run.policy.active(t)
    borrowers = np.flatnonzero(run.cb_edge >= 0)
    if on.any() and len(borrowers):
        h = haircuts(s.assets["haircut"], L.price, np.ones_like(L.price), 0.0, np.ones(run.P))
        elig = s.assets["facility"][None, None, :]
        coll = np.einsum("pnk,pk->pn", L.units[:, borrowers] * elig, L.price * (1 - h))
        edges = run.cb_edge[borrowers]
        room = np.maximum(coll - L.face[:, edges], 0.0)
        need = np.maximum(owed[:, borrowers] - L.cash[:, borrowers], 0.0)
        loan = np.where(on[:, None] & run.alive[:, borrowers], np.minimum(need, room), 0.0)
        if np.any(loan > run.p.tol):
            amount = np.zeros_like(L.face)
            amount[:, edges] = loan
            L.draw_edges(net, amount)
            created = -L.cash[:, run.cb].copy()
            L.cash[:, run.cb] = 0.0
            L.cb_money += created
            run.policy.net_liquidity = run.policy.net_liquidity + created
            run.actions[:, t] |= np.where(loan.sum(axis=1) > run.p.tol, FACILITY_LOAN, 0)
    if not (np.any(owed > 0)):
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(
            owed > 0, np.clip(np.maximum(L.cash, 0) / np.where(owed > 0, owed, 1), 0, 1), 1.0
        )
    pay_e = run.edge_due * frac[:, s.borrower]
    L.repay_edges(net, pay_e)
    run.edge_due = run.edge_due - pay_e
    red = run.redeem_due * frac
    if np.any(red > 0):
        L.cash -= red
        L.equity -= red
        L.cash[:, run.households] += red.sum(axis=1)
        L.equity[:, run.households] += red.sum(axis=1)
        run.distributed += red
        run.distributed[:, run.households] -= red.sum(axis=1)
        run.redeem_due = run.redeem_due - red
    com = run.commit_due * frac
    if np.any(com > 0) and "data_centres" in run.anames:
        k = run.anames.index("data_centres")
        u = com / L.price[:, k : k + 1]
        L.cash -= com
        L.cash[:, run.outside] += com.sum(axis=1)
        L.units[:, :, k] += u
        L.units[:, run.outside, k] -= u.sum(axis=1)
    # commitments not funded today are cut (AI borrowers) or carried (allocators)
    ai = run.idx[AgentType.AI_BORROWER]
    run.commit_due = run.commit_due - com
    run.commit_due[:, ai] = 0.0
    unpaid = net.by_borrower(run.edge_due) + run.redeem_due
    fails = (unpaid > run.p.tol) & run.defaultable[None, :] & run.alive
    run.failed |= fails
