"""System-wide daily stress engine over many Monte Carlo paths at once (model-spec §3, §7).

:func:`simulate` runs the integrated daily schedule of model-spec §7 for ``P`` paths in
parallel (arrays with a leading path axis); ``P = 1`` is a single path with a full event log.
The engine is deterministic given its inputs: all randomness lives in
:class:`~.shocks.Shocks`; the outcome is a :class:`~.simulation_result.SimulationResult`.

Day ``t``:

1. **calendar** — open markets (equities/credit/Treasuries on NYSE sessions, crypto daily),
   bank business days (settlement, stablecoin primary market);
2. **exogenous inputs** — scenario returns plus yesterday's endogenous drivers (policy rate
   cut on the activation day, ``β^liq Δln NL``, ``γ_SC Δln S``, AI-spread changes) move
   fundamental prices ``P ← P·exp(f)``; returns of closed markets accumulate until they
   reopen; private-credit marks catch up with fair value at speed ``θ_mark``;
3. **sub-rounds** ``n = 1..n_max``: (a) clear all queued orders of open markets
   simultaneously (central-bank purchases in round 1); (b) in round 1 of a bank day settle
   obligations due (margin calls, redemptions, withdrawals, commitments) from cash — or
   from the central-bank facility — else default for liquidity; (c) every agent acts on the
   same state and only *posts* orders and obligations; a path stops when no new open-market
   order or payment exceeds ``tol`` (inactive paths are frozen, so batching never changes a
   path); ``n_max`` binding issues a :class:`ConvergenceWarning`;
4. **default resolution** — collateral seizure by secured lenders, then the greatest
   Rogers–Veraart clearing vector (Eisenberg–Noe without default costs) on the contract
   network, write-downs posted once; defaulted agents liquidate in later rounds;
5. **policy** — stress index, pivot decision, lagged actions (:mod:`.policy`);
6. **invariants** (:func:`~.balance_sheet.check_invariants`, every day or every sub-step
   with ``debug=True``) and recording.

Stopping: the horizon ``days``; or 10 consecutive quiet days on every path (no sales, no
defaults, ``|ΔP| < 1e-6``, nothing pending) when no later input is non-zero — remaining days
then repeat the final state.

This module runs the schedule (steps 1, 2, 5, 6 and the stopping rule); step 3 is in
:mod:`.engine_rounds` (the sub-round loop, clearing, settlement) and :mod:`.engine_behaviour`
(the agents' rules, the per-round hot code together with the clearing), step 4 in
:mod:`.engine_resolution`; the chunk's state is a :class:`~.engine_state.RunState`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from powderkeg._validation import check_date, check_int
from powderkeg.contagion import markets
from powderkeg.contagion.engine_resolution import resolve_defaults
from powderkeg.contagion.engine_rounds import clear_rounds
from powderkeg.contagion.engine_state import RunState
from powderkeg.contagion.institutions import AgentType, ai_spreads
from powderkeg.contagion.policy import (
    ACTION_NAMES,
    FACILITY_ACTIVE,
    PIVOT_DECIDED,
    RATE_CUT,
    stress_index,
)
from powderkeg.contagion.shocks import Shocks
from powderkeg.contagion.simulation_result import SimulationResult
from powderkeg.contagion.system import System
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance

__all__ = ["simulate"]


def simulate(
    system: System,
    shocks: Shocks,
    *,
    days: int,
    start_date: str | pd.Timestamp = "2025-12-01",
    record_events: bool | None = None,
    check_invariants: bool = True,
    debug: bool = False,
    chunk_size: int = 128,
) -> SimulationResult:
    """Run the daily multi-round stress engine for every path of ``shocks``.

    Parameters
    ----------
    system : System
    shocks : Shocks
        ``returns`` of shape (P, days, K) and per-path multipliers.
    days : int
        Horizon in calendar days.
    start_date : date, default "2025-12-01"
        Calendar day 0 (market calendars follow it).
    record_events : bool, optional
        Keep the event log (default: only for a single path).
    check_invariants : bool, default True
        Check model-spec §9 invariants at the end of every day; raise
        :class:`~powderkeg.contagion.balance_sheet.InvariantError` on a breach.
    debug : bool, default False
        Also check after every sub-step (clearing, settlement, behaviour, resolution).
    chunk_size : int, default 128
        Paths simulated together (memory ~ chunk · N · K · 8 bytes per state array). Each
        sub-round runs only the paths still active, so the cost follows the paths' own
        sub-rounds. Results do not depend on it: each path's trajectory is the same in any
        batch (tested bit for bit).

    Returns
    -------
    SimulationResult
    """
    days = check_int(days, "days", minimum=1)
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    start = check_date(start_date, "start_date")
    shocks = shocks.validated(days, system.n_assets)
    P = shocks.n_paths
    if P < 1:
        raise InputError("shocks must contain at least one path")
    record = (P == 1) if record_events is None else bool(record_events)
    dates, market_open, bank_open = markets.trading_calendar(
        start, days, list(system.assets["schedule"])
    )
    t0 = time.perf_counter()
    parts = []
    for lo in range(0, P, chunk_size):
        hi = min(P, lo + chunk_size)
        run = RunState(
            system,
            shocks.take(slice(lo, hi)),
            days,
            dates,
            market_open,
            bank_open,
            record,
            check_invariants or debug,
            debug,
            path_offset=lo,
        )
        parts.append(_run_days(run))
    res = SimulationResult.concat(parts) if len(parts) > 1 else parts[0]
    all_dates = pd.DatetimeIndex([dates[0], *(dates + pd.Timedelta(days=1))])
    return SimulationResult(
        **{
            **res.__dict__,
            "dates": all_dates,
            "runtime_s": time.perf_counter() - t0,
            "provenance": Provenance(
                parameters={
                    "days": days,
                    "paths": P,
                    "start_date": start.strftime("%Y-%m-%d"),
                    "max_rounds": system.params.max_rounds,
                    "engine": system.params.__dict__,
                    "policy": {k: v for k, v in system.policy.__dict__.items()},
                    "stablecoin": system.stablecoin.__dict__,
                }
            ),
        }
    )


# --------------------------------------------------------------------------- schedule
def _run_days(run: RunState) -> SimulationResult:
    """Run the daily schedule of one chunk until the horizon or a quiet stop; record it."""
    quiet = 0
    last = run.days
    for t in range(run.days):
        _exogenous(run, t)
        sold_today = clear_rounds(run, t)
        new_defaults = resolve_defaults(run, t)
        _policy(run, t)
        if run.check:
            run.verify(f"day {t} ({run.dates[t]:%Y-%m-%d})")
        run.out_prices[:, t + 1] = run.ledger.price
        run.out_equity[:, t + 1] = run.ledger.equity
        run.out_nl[:, t + 1] = run.policy.net_liquidity
        run.out_supply[:, t + 1] = run.supply().sum(axis=1)
        moved = np.max(np.abs(run.out_prices[:, t + 1] - run.out_prices[:, t]), initial=0)
        busy = (
            sold_today > run.p.tol
            or new_defaults
            or moved >= 1e-6
            or np.any(np.abs(run.edge_due) > run.p.tol)
            or np.any(run.redeem_due > 0)
            or np.any(run.commit_due > 0)
            or np.any(run.pending > 0)
            or np.any(run.queue > run.p.tol)
            or np.any(run.policy.active_from > t)
            or np.any(run.policy.active(t) & (run.policy.qe_done < run.s.policy.qe_days))
            or np.any(run.s.agent_params["capex"] * run.p.capex_scale > 0)
        )
        quiet = 0 if busy else quiet + 1
        if quiet >= run.p.quiet_days and not np.any(run.sh.returns[:, t + 1 :]):
            last = t + 1
            break
    if last < run.days:
        run.out_prices[:, last + 1 :] = run.ledger.price[:, None]
        run.out_equity[:, last + 1 :] = run.ledger.equity[:, None]
        run.out_nl[:, last + 1 :] = run.policy.net_liquidity[:, None]
        run.out_supply[:, last + 1 :] = run.out_supply[:, last : last + 1]
        run.sc_min[:, last:] = run.sc_min[:, last - 1 : last]
        run.out_si[:, last:] = run.out_si[:, last - 1 : last]
    losses = run.e0[None, :] - run.ledger.equity - run.distributed
    return SimulationResult(
        agent_names=run.names,
        agent_types=run.s.agent_types.copy(),
        asset_names=run.anames,
        dates=run.dates,
        prices=run.out_prices,
        equity=run.out_equity,
        default_day=run.default_day,
        illiquid=run.illiquid & run.alive,
        losses=losses,
        fire_sales=run.fire_sales,
        units_sold=run.units_sold,
        stablecoin_redemptions=run.sc_paid,
        stablecoin_requests=run.sc_req,
        stablecoin_price=run.sc_min,
        treasury_sales=run.tsy_sales,
        policy_actions=run.actions,
        stress_index=run.out_si,
        net_liquidity=run.out_nl,
        money_created=run.ledger.cb_money.copy(),
        stablecoin_supply=run.out_supply,
        agent_sales=run.agent_sales,
        liquidations=run.liquidations,
        margin_calls=run.margin_calls,
        redemption_requests=run.redemption_requests,
        rounds=run.rounds,
        events=[{**e, "path": e.get("path", 0) + run.offset} for e in run.events],
        runtime_s=0.0,
    )


# --------------------------------------------------------------------------- step 2
def _exogenous(run: RunState, t: int) -> None:
    """Move fundamental prices and private-credit marks by day ``t``'s inputs (step 2)."""
    L = run.ledger
    s = run.s
    f = run.sh.returns[:, t, :] + run.endo
    act = run.policy.activating(t)
    if act.any():
        f = f + np.where(
            act[:, None], s.assets["rate_sensitivity"][None, :] * s.policy.rate_cut, 0.0
        )
        run.actions[:, t] |= np.where(act, RATE_CUT, 0)
        if run.record:
            for p in np.flatnonzero(act):
                run.log_event(t, "policy", path=int(p), action="rate cut", amount=s.policy.rate_cut)
    closed = run.tradable & ~run.market_open[t]
    total = run.deferred + f
    new_price = np.where(closed[None, :], L.price, L.price * np.exp(total))
    run.deferred = np.where(closed[None, :], total, 0.0)
    if np.any(new_price != L.price):
        L.revalue(new_price)
    run.peak = np.maximum(run.peak, L.price)
    # private-credit marks catch up with fair value implied by borrower spreads
    if run.m_pc.any():
        ai = run.idx[AgentType.AI_BORROWER]
        ds = np.zeros((run.P, run.N))
        ds[:, ai] = run.spread - s.agent_params["spread0"][ai]
        fair = np.exp(-run.p.private_credit_duration * np.maximum(ds, 0.0))[:, s.borrower]
        new_mark = np.where(run.m_pc, L.mark + run.p.mark_speed * (fair - L.mark), L.mark)
        if np.any(new_mark != L.mark):
            L.set_marks(run.net, new_mark)
    if run.btc >= 0:
        btc_now = L.price[:, run.btc : run.btc + 1]
        run.btc_hist = np.concatenate([run.btc_hist[:, 1:], btc_now], axis=1)
    if run.debug:
        run.verify(f"day {t} exogenous")


# --------------------------------------------------------------------------- step 5
def _policy(run: RunState, t: int) -> None:
    """Stress index, pivot decision, policy actions and tomorrow's endogenous drivers."""
    L, s = run.ledger, run.s
    price = L.price
    ind: dict[str, np.ndarray] = {}
    eq = [run.anames.index(a) for a in ("ai_equity", "other_equity") if a in run.anames]
    if eq:
        ind["equity_drawdown"] = np.mean(1.0 - price[:, eq] / run.peak[:, eq], axis=1)
    if "hy_credit" in run.anames:
        k = run.anames.index("hy_credit")
        ind["credit_drawdown"] = 1.0 - price[:, k] / run.peak[:, k]
    if "tnotes" in run.anames and len(run.dealers):
        k = run.anames.index("tnotes")
        cap = run.dealer_cap[:, k].sum()
        used = (
            np.maximum(0.0, (L.units[:, run.dealers, k] - run.dealer_units0[:, :, k]).sum(axis=1))
            * price[:, k]
        )
        ind["treasury_dysfunction"] = used / cap if cap > 0 else np.zeros(run.P)
    if len(run.idx[AgentType.STABLECOIN]):
        ind["stablecoin_depeg"] = np.max(1.0 - run.sc_price, axis=1)
    banks = run.idx[AgentType.BANK]
    if len(banks) and run.bank_e0 > 0:
        ind["bank_equity_loss"] = np.maximum(
            0.0, 1.0 - np.maximum(L.equity[:, banks], 0).sum(axis=1) / run.bank_e0
        )
    run.si = stress_index(ind, s.policy) if ind else np.zeros(run.P)
    run.out_si[:, t] = run.si
    decided = run.policy.update(t, run.si, run.lag, s.policy)
    run.actions[:, t] |= np.where(decided, PIVOT_DECIDED, 0)
    run.actions[:, t] |= np.where(run.policy.active(t), FACILITY_ACTIVE, 0)
    if run.record:
        for p in np.flatnonzero(decided):
            run.log_event(
                t,
                "policy",
                path=int(p),
                action=ACTION_NAMES[PIVOT_DECIDED],
                stress_index=float(run.si[p]),
                effective_day=int(run.policy.active_from[p]),
            )
    # endogenous fundamental drivers for tomorrow
    nl_prev = run.out_nl[:, t]
    dln_nl = np.log(run.policy.net_liquidity / nl_prev)
    supply = run.supply().sum(axis=1)
    prev = run.supply_prev.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (supply > 0) & (prev > 0)
        dln_s = np.where(ok, np.log(supply / np.where(ok, prev, 1.0)), 0.0)
    run.supply_prev = run.supply()
    endo = s.assets["liquidity_beta"][None, :] * dln_nl[:, None]
    endo = endo + s.assets["stablecoin_beta"][None, :] * dln_s[:, None]
    ai = run.idx[AgentType.AI_BORROWER]
    if len(ai):
        A = L.assets(run.net)[:, ai]
        D = run.net.by_borrower(L.face)[:, ai]
        with np.errstate(divide="ignore", invalid="ignore"):
            lev = np.where(A > 0, D / np.where(A > 0, A, 1), 1.0)
        dd = ind.get("equity_drawdown", np.zeros(run.P))
        if "ai_equity" in run.anames:
            k = run.anames.index("ai_equity")
            dd = 1.0 - price[:, k] / run.peak[:, k]
        new_spread = ai_spreads(
            s.agent_params["spread0"][ai][None, :],
            lev,
            run.debt_ratio0[ai][None, :],
            dd[:, None],
            run.p.theta_leverage,
            run.p.theta_drawdown,
        )
        w = np.maximum(D, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ds = np.where(
                w.sum(axis=1) > 0,
                ((new_spread - run.spread) * w).sum(axis=1)
                / np.where(w.sum(axis=1) > 0, w.sum(axis=1), 1),
                0.0,
            )
        run.spread = new_spread
        endo = endo - (s.assets["spread_beta"] * s.assets["spread_duration"])[None, :] * ds[:, None]
    run.endo = np.where(run.tradable[None, :], endo, 0.0)
    if run.btc >= 0:
        run.btc_return = run.btc_hist[:, -1] / run.btc_hist[:, -2] - 1.0
