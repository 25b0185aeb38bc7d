"""Agent behaviour within a sub-round of the agent engine (model-spec §7 step 6, §4.3).

:func:`behave` lets every agent act on the same state: defaulted agents liquidate, banks
follow the Cont–Schaanning threshold rule, hedge funds meet margin calls and keep their
equity-ratio buffer, funds post redemptions and sell, crypto-leverage buckets are
liquidated, allocators and AI borrowers fund commitments (drawing credit lines), and
stablecoin issuers run the liquidity waterfall (cash → deposits → T-bills → notes → risky
assets). Agents only *post* sale orders and obligations, and repay contracts; markets clear
in the next sub-round (:mod:`.engine_rounds`). The rules run per path in the kernel
:func:`~._engine_kernels.behave_paths_python` (their vectorised forms are in
:mod:`.institutions` and :mod:`.stablecoins`); this module runs it and logs its events.
"""

from __future__ import annotations

import numpy as np

from powderkeg.contagion import _engine_kernels as kernels
from powderkeg.contagion._engine_kernels import RoundState
from powderkeg.contagion.engine_state import RunState
from powderkeg.contagion.institutions import AgentType


def behave(
    run: RunState,
    st: RoundState,
    t: int,
    n: int,
    bank: bool,
    open_k: np.ndarray,
    order: np.ndarray,
    rows: np.ndarray,
    active: np.ndarray,
) -> None:
    """Every agent acts on the same state on the paths ``rows`` (model-spec §7 step 6).

    Parameters
    ----------
    run : RunState
        The chunk's state, updated in place.
    st : RoundState
        Its arrays (:meth:`~.engine_state.RunState.round_state`).
    t, n : int
        Day and sub-round (0 = first).
    bank : bool
        Bank business day.
    open_k : ndarray of bool (K,)
        Open markets.
    order : ndarray of int
        Liquidity sellers' asset order (open markets first, then by priority).
    rows : ndarray of int
        Paths still active (the others are frozen).
    active : ndarray of bool (P,)
        Set for ``rows``: new open-market orders or payments above ``tol``.
    """
    kernels.behave_paths(run.structure, st, run.buffers, rows, t, n, bank, open_k, order, active)
    if run.record:
        _log_events(run, t, n, rows)


def _log_events(run: RunState, t: int, n: int, rows: np.ndarray) -> None:
    """Log the round's margin calls, redemptions, liquidations and stablecoin payments.

    In that order and path by path, as the rules post them.
    """
    buf = run.buffers
    tol = run.p.tol
    logs = [
        (buf.margin_call, AgentType.HEDGE_FUND, "margin_call", tol, True),
        (buf.redemption, AgentType.ASSET_MANAGER, "redemption_request", tol, False),
        (buf.redemption, AgentType.BTC_ETF, "redemption_request", tol, False),
        (buf.redemption, AgentType.PRIVATE_CREDIT, "redemption_request", tol, False),
        (buf.liquidation, AgentType.CRYPTO_LEVERAGE, "liquidation", 0.0, True),
        (buf.stablecoin_paid, AgentType.STABLECOIN, "stablecoin_redemption", tol, False),
    ]
    for values, typ, event, threshold, with_round in logs:
        ix = run.idx[typ]
        if not len(ix):
            continue
        for q, m in np.argwhere(values[np.ix_(rows, ix)] > threshold):
            p = int(rows[q])
            info = {"round": n + 1} if with_round else {}
            run.log_event(
                t,
                event,
                path=p,
                **info,
                agent=run.names[ix[m]],
                amount=float(values[p, ix[m]]),
            )
