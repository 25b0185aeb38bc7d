"""The state of one chunk of paths in the agent engine (leading axis: path).

:class:`RunState` holds the static structure derived from the system (agent-type indices,
contract masks, dealer capacity, initial ratios), the double-entry :class:`Ledger`, every
per-path state variable the daily schedule reads and writes (obligations due, defaults,
queues, prices' peaks, policy), and the output arrays being recorded. The step functions of
:mod:`.engine`, :mod:`.engine_rounds`, :mod:`.engine_behaviour` and
:mod:`.engine_resolution` take it as their first argument.

The sub-round kernels (:mod:`._engine_kernels`) read the static structure as an
:class:`~._engine_kernels.EngineStructure` (built once) and the chunk's arrays as a
:class:`~._engine_kernels.RoundState` (:meth:`RunState.round_state`); they write the rows of
the paths still active in place and leave the others frozen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from powderkeg.contagion._engine_kernels import (
    AGENT_PARAMS,
    ASSET_PARAMS,
    MASK_ALL,
    MASK_CREDIT_LINE,
    MASK_DEPOSIT,
    MASK_NOT_CB_LOAN,
    MASK_PRIVATE_CREDIT,
    MASK_REPO,
    MASK_STABLECOIN,
    N_MASKS,
    STABLECOIN_PARAMS,
    EngineStructure,
    Net,
    Params,
    RoundBuffers,
    RoundState,
)
from powderkeg.contagion.balance_sheet import (
    Contract,
    Ledger,
    Network,
    check_invariants,
    totals,
)
from powderkeg.contagion.institutions import OUTSIDE_SECTORS, AgentType
from powderkeg.contagion.policy import PolicyState
from powderkeg.contagion.shocks import Shocks
from powderkeg.contagion.system import System

#: Ledger arrays with a leading path axis.
_LEDGER_ARRAYS = ("price", "units", "cash", "face", "mark", "equity", "cb_money")
#: The other per-path arrays the sub-round kernels read and write (attributes of
#: :class:`RunState` named as the :class:`~._engine_kernels.RoundState` fields).
_ROUND_ARRAYS = tuple(
    name for name in RoundState._fields if name not in ("net_liquidity", *_LEDGER_ARRAYS)
)


class RunState:
    """State of one chunk of paths: structure, ledger, per-path state and outputs.

    Parameters
    ----------
    system : System
        The system simulated.
    shocks : Shocks
        The chunk's validated shocks.
    days : int
        Horizon in calendar days.
    dates : DatetimeIndex
        Calendar day of each day.
    market_open, bank_open : ndarray of bool
        Open markets (days, K) and bank business days (days,).
    record : bool
        Keep the event log.
    check : bool
        Check the invariants at the end of every day.
    debug : bool
        Also check them after every sub-step.
    path_offset : int
        Index of the chunk's first path in the whole run (for the event log).
    """

    def __init__(
        self,
        system: System,
        shocks: Shocks,
        days: int,
        dates: pd.DatetimeIndex,
        market_open: np.ndarray,
        bank_open: np.ndarray,
        record: bool,
        check: bool,
        debug: bool,
        path_offset: int,
    ) -> None:
        s = system
        self.s = s
        self.sh = shocks
        self.days = days
        self.dates = dates
        self.market_open = market_open
        self.bank_open = bank_open
        self.record = record
        self.check = check
        self.debug = debug
        self.offset = path_offset
        self.p = s.params
        P, N, K = shocks.n_paths, s.n_agents, s.n_assets
        self.P, self.N, self.K = P, N, K
        self.net: Network = s.network
        E = len(s.face0)
        types = s.agent_types
        self.idx = {t: np.flatnonzero(types == int(t)) for t in AgentType}
        self.outside = int(self.idx[AgentType.OUTSIDE][0])
        self.households = int(self.idx[AgentType.HOUSEHOLDS][0])
        self.cb = int(self.idx[AgentType.CENTRAL_BANK][0])
        self.defaultable = ~np.isin(types, [int(t) for t in OUTSIDE_SECTORS])
        self.tradable = np.array([x != "marked" for x in s.assets["schedule"]])
        self.names = list(s.agent_names)
        self.anames = list(s.asset_names)
        e0 = s.initial_equity()
        self.ledger = Ledger(
            price=np.ones((P, K)),
            units=np.broadcast_to(s.units0, (P, N, K)).copy(),
            cash=np.broadcast_to(s.cash0, (P, N)).copy(),
            face=np.broadcast_to(s.face0, (P, E)).copy(),
            mark=np.ones((P, E)),
            equity=np.broadcast_to(e0, (P, N)).copy(),
            cb_money=np.zeros(P),
            cb_index=self.cb,
        )
        self.start_totals = totals(self.ledger)
        self.e0 = e0
        assets0 = s.cash0 + s.units0.sum(axis=1) + self.net.by_lender(s.face0[None])[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio0 = np.where(assets0 > 0, s.cash0 / assets0, 0.0)
        ct = s.agent_params["cash_target"]
        self.cash_target = np.where(np.isnan(ct), ratio0, ct)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.equity_ratio0 = np.where(assets0 > 0, e0 / assets0, 1.0)
        debt0 = self.net.by_borrower(s.face0[None])[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            self.debt_ratio0 = np.where(assets0 > 0, debt0 / assets0, 0.0)
        # edge masks
        kind = s.kind
        self.m_repo = (kind == Contract.REPO) | (kind == Contract.MARGIN_LOAN)
        self.m_deposit = kind == Contract.DEPOSIT
        self.m_line = kind == Contract.CREDIT_LINE
        self.m_pc = kind == Contract.PRIVATE_CREDIT
        self.m_token = kind == Contract.STABLECOIN
        self.m_cbloan = kind == Contract.CB_LOAN
        self.cb_edge = np.full(N, -1)
        for e in np.flatnonzero(self.m_cbloan):
            self.cb_edge[s.borrower[e]] = e
        # dealers
        self.dealers = self.idx[AgentType.DEALER]
        nd = len(self.dealers)
        cap = np.zeros((nd, K))
        if nd:
            w = np.maximum(s.units0[self.dealers].sum(axis=1) + s.cash0[self.dealers], 1e-12)
            cap = (w / w.sum())[:, None] * s.assets["dealer_capacity"][None, :]
        self.dealer_cap = cap
        self.dealer_units0 = self.ledger.units[:, self.dealers, :].copy()
        # sell orders: priority (low first); liquidity sellers use open markets first
        self.priority = s.assets["priority"]
        # state
        self.pending = np.zeros((P, N, K))
        self.edge_due = np.zeros((P, E))
        self.redeem_due = np.zeros((P, N))
        self.commit_due = np.zeros((P, N))
        self.default_day = np.full((P, N), -1, dtype=np.int64)
        self.failed = np.zeros((P, N), dtype=bool)
        self.illiquid = np.zeros((P, N), dtype=bool)
        self.max_loss = np.zeros((P, N))
        self.distributed = np.zeros((P, N))
        self.deferred = np.zeros((P, K))
        self.peak = np.ones((P, K))
        self.endo = np.zeros((P, K))
        self.btc = s.asset_names.index("btc") if "btc" in s.asset_names else -1
        self.btc_hist = np.ones((P, 6))
        self.btc_return = np.zeros(P)
        ai = self.idx[AgentType.AI_BORROWER]
        self.spread = np.broadcast_to(s.agent_params["spread0"][ai], (P, len(ai))).copy()
        J = len(self.idx[AgentType.STABLECOIN])
        self.queue = np.zeros((P, J))
        self.sc_price = np.ones((P, J))
        self.pressure = np.zeros((P, J))
        self.supply_prev = self.supply()
        self.policy = PolicyState.start(P, s.policy)
        lag = s.policy.lag_days * shocks.multiplier("policy_lag")
        self.lag = np.rint(lag).astype(np.int64)
        self.si = np.zeros(P)
        self.bank_e0 = e0[self.idx[AgentType.BANK]].sum()
        self.events: list[dict[str, Any]] = []
        self.haircut_multiplier = shocks.multiplier("haircut").copy()
        self.redemption_multiplier = shocks.multiplier("redemption").copy()
        self.run_multiplier = shocks.multiplier("stablecoin_run").copy()
        imp = shocks.impairment
        self.impairment = np.zeros((P, days)) if imp is None else np.array(imp, dtype=float)
        self.structure = self._structure()
        self.buffers = RoundBuffers(
            sold=np.zeros((P, N, K)),
            pre_price=np.zeros((P, K)),
            psi=np.zeros((P, K)),
            sold_value=np.zeros(P),
            margin_call=np.zeros((P, N)),
            redemption=np.zeros((P, N)),
            liquidation=np.zeros((P, N)),
            stablecoin_paid=np.zeros((P, N)),
        )
        # outputs
        self.out_prices = np.ones((P, days + 1, K))
        self.out_equity = np.zeros((P, days + 1, N))
        self.out_equity[:, 0] = self.ledger.equity
        self.fire_sales = np.zeros((P, K))
        self.units_sold = np.zeros((P, K))
        self.sc_paid = np.zeros((P, days))
        self.sc_req = np.zeros((P, days))
        self.sc_min = np.ones((P, days))
        self.tsy_sales = np.zeros((P, days))
        self.actions = np.zeros((P, days), dtype=np.int64)
        self.out_si = np.zeros((P, days))
        self.out_nl = np.zeros((P, days + 1))
        self.out_nl[:, 0] = self.policy.net_liquidity
        self.out_supply = np.zeros((P, days + 1))
        self.out_supply[:, 0] = self.supply().sum(axis=1)
        self.agent_sales = np.zeros((P, N, K))
        self.liquidations = np.zeros((P, days))
        self.margin_calls = np.zeros(P)
        self.redemption_requests = np.zeros(P)
        self.rounds = np.zeros(days, dtype=np.int64)

    # ------------------------------------------------------------------ utilities
    def verify(self, where: str) -> None:
        """Check the model-spec §9 invariants; raise ``InvariantError`` naming ``where``."""
        check_invariants(
            self.ledger,
            self.net,
            self.start_totals,
            where=where,
            names=self.names,
            asset_names=self.anames,
            short_allowed=~self.defaultable,
        )

    def log_event(self, day: int, event: str, **info: Any) -> None:
        """Append an event of ``day`` to the event log."""
        self.events.append(
            {"day": day, "date": self.dates[day].strftime("%Y-%m-%d"), "event": event, **info}
        )

    def supply(self) -> np.ndarray:
        """Stablecoin supply per issuer (P, J)."""
        tok = self.net.by_borrower(self.ledger.face * self.m_token)
        return tok[:, self.idx[AgentType.STABLECOIN]]

    @property
    def alive(self) -> np.ndarray:
        """(P, N) not defaulted."""
        return self.default_day < 0

    # ------------------------------------------------------------------ kernels
    def _structure(self) -> EngineStructure:
        """The static structure as the sub-round kernels read it."""
        s, net = self.s, self.net
        masks = np.zeros((N_MASKS, len(s.lender)), dtype=bool)
        masks[MASK_ALL] = True
        masks[MASK_NOT_CB_LOAN] = ~self.m_cbloan
        masks[MASK_REPO] = self.m_repo
        masks[MASK_CREDIT_LINE] = self.m_line
        masks[MASK_PRIVATE_CREDIT] = self.m_pc
        masks[MASK_STABLECOIN] = self.m_token
        masks[MASK_DEPOSIT] = self.m_deposit
        agent_values = {
            **s.agent_params,
            "defaultable": self.defaultable,
            "cash_target": self.cash_target,  # NaN parameters resolved
            "equity_ratio0": self.equity_ratio0,
            "e0": self.e0,
        }
        cap_total = self.dealer_cap.sum(axis=0)
        asset_values = {
            "tradable": self.tradable,
            "exponential": s.assets["exponential"],
            "haircut0": s.assets["haircut"],
            "floor": s.assets["floor"],
            "dealer_capacity": cap_total,
        }
        share = np.zeros_like(self.dealer_cap)
        np.divide(self.dealer_cap, cap_total[None, :], out=share, where=cap_total[None, :] > 0)
        waterfall = [self.anames.index(a) for a in ("tbills", "tnotes", "btc", "other_crypto")
                     if a in self.anames]  # fmt: skip
        waterfall += [int(k) for k in np.flatnonzero(self.tradable) if k not in waterfall]
        sp = s.stablecoin
        return EngineStructure(
            net=Net(
                lender=net.lender,
                borrower=net.borrower,
                limit=np.asarray(s.limit, dtype=np.float64),
                lend_ptr=net.lend_ptr,
                lend_edges=net.lend_edges,
                borrow_ptr=net.borrow_ptr,
                borrow_edges=net.borrow_edges,
                edge_mask=masks,
                mask_ptr=np.concatenate([[0], np.cumsum(masks.sum(axis=1))]),
                mask_edges=np.concatenate([np.flatnonzero(m) for m in masks]),
            ),
            type_ptr=np.searchsorted(np.sort(s.agent_types), np.arange(len(AgentType) + 1)),
            type_members=np.argsort(s.agent_types, kind="stable"),
            agent_par=np.array([agent_values[k] for k in AGENT_PARAMS], dtype=np.float64),
            asset_par=np.array([asset_values[k] for k in ASSET_PARAMS], dtype=np.float64),
            dealers=self.dealers,
            dealer_share=share,
            treasuries=np.array(
                [self.anames.index(a) for a in ("tbills", "tnotes") if a in self.anames],
                dtype=np.int64,
            ),
            waterfall=np.array(waterfall, dtype=np.int64),
            params=Params(
                cb=self.cb,
                outside=self.outside,
                btc=self.btc,
                tol=float(self.p.tol),
                execution=float(self.p.execution),
                dealer_kink=float(self.p.dealer_kink),
                haircut_slope=float(self.p.haircut_slope),
                capex_scale=float(self.p.capex_scale),
                **{name: float(getattr(sp, name)) for name in STABLECOIN_PARAMS},
            ),
        )

    def round_state(self) -> RoundState:
        """The chunk's current arrays for the sub-round kernels (written in place).

        Arrays that other steps may have replaced by views are made C-contiguous first (and
        kept), so the kernels always write the live arrays.
        """
        L = self.ledger
        for name in _LEDGER_ARRAYS:
            value = getattr(L, name)
            if not value.flags.c_contiguous:
                setattr(L, name, np.ascontiguousarray(value))
        if not self.policy.net_liquidity.flags.c_contiguous:
            self.policy.net_liquidity = np.ascontiguousarray(self.policy.net_liquidity)
        for name in _ROUND_ARRAYS:
            value = getattr(self, name)
            if not value.flags.c_contiguous:
                setattr(self, name, np.ascontiguousarray(value))
        return RoundState(
            **{name: getattr(L, name) for name in _LEDGER_ARRAYS},
            net_liquidity=self.policy.net_liquidity,
            **{name: getattr(self, name) for name in _ROUND_ARRAYS},
        )
