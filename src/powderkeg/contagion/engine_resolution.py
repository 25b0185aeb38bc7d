"""Default resolution at the end of a day in the agent engine (model-spec §7 step 4).

:func:`resolve_defaults` finds new defaulters (insolvent, or failed to pay in settlement),
lets secured lenders seize their collateral (§3.2), computes the greatest Rogers–Veraart
clearing vector on the contract network (§2.2; Eisenberg–Noe without default costs) and
posts the write-downs once; defaulted agents liquidate in later sub-rounds.
"""

from __future__ import annotations

import warnings

import numpy as np

from powderkeg.contagion.engine_state import RunState
from powderkeg.exceptions import ConvergenceWarning


def resolve_defaults(run: RunState, t: int) -> bool:
    """Default resolution: collateral seizure, greatest clearing vector, write-downs."""
    L, net, s = run.ledger, run.net, run.s
    tol = run.p.tol
    A = L.assets(net)
    insolvent = (L.equity < -tol * np.maximum(1.0, np.abs(A))) & run.defaultable[None, :]
    new = (insolvent | run.failed) & run.alive
    run.failed[:] = False
    pbar = net.by_borrower(L.face)
    pending_def = (~run.alive) & (pbar > tol) & run.defaultable[None, :]
    if not (new.any() or np.any(pending_def & insolvent)):
        return False
    if new.any():
        _seize(run, new)
    paths = np.flatnonzero(new.any(axis=1) | (pending_def & insolvent).any(axis=1))
    ratio, cleared_insolvent, waves = _clear_network(run, paths, new)
    edge_ratio = ratio[:, s.borrower]
    if np.any(edge_ratio < 1.0):
        L.write_down_edges(net, edge_ratio, rows=paths)
    newly = np.zeros_like(new)
    newly[paths] = cleared_insolvent
    newly |= new
    newly &= run.alive & run.defaultable[None, :]
    if newly.any():
        run.default_day = np.where(newly, t, run.default_day)
        run.edge_due = np.where(newly[:, s.borrower], 0.0, run.edge_due)
        run.redeem_due = np.where(newly, 0.0, run.redeem_due)
        run.commit_due = np.where(newly, 0.0, run.commit_due)
        if run.record:
            for p, i in np.argwhere(newly):
                wave = waves.get((int(p), int(i)))
                run.log_event(
                    t,
                    "default",
                    path=int(p),
                    agent=run.names[i],
                    reason="insolvent" if insolvent[p, i] or wave else "illiquid",
                    wave=wave,
                    equity=float(L.equity[p, i]),
                )
    if run.debug:
        run.verify(f"day {t} default resolution")
    return bool(newly.any())


def _seize(run: RunState, new: np.ndarray) -> None:
    """Secured lenders seize the collateral of new defaulters (model-spec §3.2).

    Repo and margin-loan lenders take units at market value, up to the secured face;
    seized units are queued for sale.
    """
    L, s = run.ledger, run.s
    if not run.m_repo.any():
        return
    # paths with new defaulters and their secured edges: the others have nothing to move
    rows = np.flatnonzero(new.any(axis=1))
    new = new[rows]
    edges = np.flatnonzero(run.m_repo & np.any(new, axis=0)[s.borrower])
    b = s.borrower[edges]
    lend = s.lender[edges]
    trad = run.tradable[None, None, :]
    units, face, price, pending = L.units[rows], L.face[rows], L.price[rows], run.pending[rows]
    V = np.einsum("pnk,pk->pn", units * trad, price)
    F = run.net.by_borrower(face * run.m_repo)
    hit = new[:, b] & (F[:, b] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        seized_val = np.minimum(V, F)
        frac = np.where(V > 0, seized_val / np.where(V > 0, V, 1), 0.0)
        share = np.where(F[:, b] > 0, face[:, edges] / np.where(F[:, b] > 0, F[:, b], 1), 0)
    share = np.where(hit, share, 0.0)
    moved = (frac[:, b] * share)[:, :, None] * units[:, b, :] * trad
    base_units = units.copy()
    for j, (bi, li) in enumerate(zip(b, lend)):
        u = moved[:, j, :] * (base_units[:, bi, :] > 0)
        units[:, bi, :] -= u
        units[:, li, :] += u
        pending[:, li, :] += u
        face[:, edges[j]] -= np.einsum("pk,pk->p", u, price)
    L.units[rows] = units
    L.face[rows] = face
    # queued sales never exceed what is held (seizure moved units away); only on these
    # paths, and never below zero (the outside sector is short after central-bank purchases)
    run.pending[rows] = np.minimum(pending, np.maximum(units, 0.0))


def _clear_network(
    run: RunState, paths: np.ndarray, new: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], int]]:
    """Greatest Rogers–Veraart clearing vector by Picard iteration from ``p̄``.

    ``p_i = p̄_i`` if ``e_i + Σ_j Π_ji p_j >= p̄_i`` else ``α e_i + β Σ_j Π_ji p_j``
    (model-spec §2.2), vectorised over paths; each path stops at its own convergence
    (so batching never changes a path). ``e_i`` = cash + holdings at market; default
    costs apply only to agents defaulting now (earlier defaulters' assets are already net
    of them). With ``α = β = 1`` this is Eisenberg–Noe and equals
    :func:`powderkeg.contagion.clearing.eisenberg_noe` (tested).
    Returns the per-agent payment ratio ``p/p̄``, the clearing-insolvent set and the
    default waves (iteration at which each agent first became insolvent).
    """
    L, net, s = run.ledger, run.net, run.s
    face = L.face[paths]
    e = (L.cash + L.holdings_value())[paths]
    pbar = net.by_borrower(face)
    canfail = np.broadcast_to(run.defaultable, pbar.shape)
    fresh = run.alive[paths]
    a = np.where(fresh, run.p.recovery_external, 1.0)
    b = np.where(fresh, run.p.recovery_interbank, 1.0)
    p = pbar.copy()
    done = np.zeros(len(paths), dtype=bool)
    first = np.full(pbar.shape, -1)
    for it in range(10_000):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(pbar > 0, p / np.where(pbar > 0, pbar, 1), 1.0)
        inflow = net.by_lender(face * r[:, s.borrower])
        v = e + inflow - pbar
        ins = (v < -1e-12 * np.maximum(1.0, pbar)) & canfail
        first = np.where(ins & (first < 0), it + 1, first)
        new_p = np.where(ins, np.clip(a * e + b * inflow, 0.0, pbar), pbar)
        delta = np.max(np.abs(new_p - p), axis=1, initial=0.0)
        p = np.where(done[:, None], p, new_p)
        done |= delta < 1e-14
        if done.all():
            break
    else:
        warnings.warn(
            "clearing (Picard) did not converge in 10,000 iterations",
            ConvergenceWarning,
            stacklevel=4,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pbar > 0, p / np.where(pbar > 0, pbar, 1), 1.0)
    r_full = ratio[:, s.borrower]
    inflow = net.by_lender(face * r_full)
    insolvent = ((e + inflow - pbar) < -1e-12 * np.maximum(1.0, pbar)) & canfail
    ratio = np.where(insolvent, ratio, 1.0)
    # default costs (α, β < 1): deadweight transfers to the outside sector, logged
    if run.p.recovery_external < 1.0 or run.p.recovery_interbank < 1.0:
        _default_costs(run, paths, insolvent & fresh)
    waves = {(int(paths[q]), int(i)): int(first[q, i]) for q, i in np.argwhere(insolvent & fresh)}
    return ratio, insolvent & fresh, waves


def _default_costs(run: RunState, paths: np.ndarray, hit: np.ndarray) -> None:
    """Realise only α of a new defaulter's external assets and β of its receivables."""
    L, net, s = run.ledger, run.net, run.s
    full = np.zeros((run.P, run.N), dtype=bool)
    full[paths] = hit
    lost = 1.0 - run.p.recovery_external
    if lost > 0:
        cash_lost = np.where(full, L.cash * lost, 0.0)
        units_lost = np.where(full[:, :, None], L.units * lost, 0.0)
        value_lost = cash_lost + np.einsum("pnk,pk->pn", units_lost, L.price)
        L.cash -= cash_lost
        L.cash[:, run.outside] += cash_lost.sum(axis=1)
        L.units -= units_lost
        L.units[:, run.outside] += units_lost.sum(axis=1)
        L.equity -= value_lost
        L.equity[:, run.outside] += value_lost.sum(axis=1)
    if run.p.recovery_interbank < 1.0:
        m = np.where(full[:, s.lender], L.mark * run.p.recovery_interbank, L.mark)
        L.set_marks(net, m)
