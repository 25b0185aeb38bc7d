"""System-wide daily stress engine over many Monte Carlo paths at once (model-spec §3, §7).

:func:`simulate` runs the integrated daily schedule of model-spec §7 for ``P`` paths in
parallel (arrays with a leading path axis); ``P = 1`` is a single path with a full event log.
The engine is deterministic given its inputs: all randomness lives in :class:`Shocks`.

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
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import as_float_array, check_date, check_int
from powderkeg.contagion import markets
from powderkeg.contagion.balance_sheet import (
    Contract,
    InvariantError,
    Ledger,
    Network,
    Totals,
    check_invariants,
    totals,
)
from powderkeg.contagion.institutions import (
    OUTSIDE_SECTORS,
    AgentType,
    ai_spreads,
    bank_deleveraging_fraction,
    fund_redemptions,
    haircuts,
    hedge_fund_sales,
    pecking_sales,
    pro_rata_sales,
)
from powderkeg.contagion.policy import (
    ACTION_NAMES,
    FACILITY_ACTIVE,
    FACILITY_LOAN,
    PIVOT_DECIDED,
    QE_PURCHASE,
    RATE_CUT,
    PolicyState,
    stress_index,
)
from powderkeg.contagion.stablecoins import coverage, redemption_rate, secondary_price
from powderkeg.contagion.system import System
from powderkeg.exceptions import ConvergenceWarning, InputError
from powderkeg.results import Provenance, Result, Summary, Table

__all__ = ["InvariantError", "Shocks", "SimulationResult", "System", "simulate"]

MULTIPLIERS = ("depth", "haircut", "redemption", "stablecoin_run", "policy_lag")


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Shocks:
    """Per-path inputs of :func:`simulate` (no randomness inside the engine).

    Attributes
    ----------
    returns : ndarray (P, days, K)
        Exogenous daily log returns of every asset's fundamental price (for ``marked``
        books: their fair-value marks). Returns of closed markets are carried to the next
        open day.
    multipliers : dict of ndarray (P,)
        Per-path parameter multipliers (default 1): ``depth`` (market depth), ``haircut``
        (initial repo haircuts), ``redemption`` (fund redemption sensitivities),
        ``stablecoin_run`` (stablecoin stress redemptions), ``policy_lag`` (central-bank lag).
    impairment : ndarray (P, days), optional
        Share of stablecoin issuers' bank deposits that is inaccessible on each day (e.g. a
        reserve bank closed over a weekend); lowers coverage but is not a loss.
    """

    returns: np.ndarray
    multipliers: dict[str, np.ndarray] = field(default_factory=dict)
    impairment: np.ndarray | None = None

    @property
    def n_paths(self) -> int:
        """``P``."""
        return int(self.returns.shape[0])

    @classmethod
    def zeros(cls, paths: int, days: int, n_assets: int) -> Shocks:
        """No exogenous shock (steady-state input)."""
        return cls(np.zeros((paths, days, n_assets)))

    @classmethod
    def one_day(
        cls, system: System, returns: dict[str, float], *, days: int, day: int = 0, paths: int = 1
    ) -> Shocks:
        """A single-day shock ``{asset: log return}`` on ``day``, the same on every path."""
        arr = np.zeros((paths, days, system.n_assets))
        for name, r in returns.items():
            arr[:, day, system.asset_index(name)] = r
        return cls(arr)

    def multiplier(self, name: str) -> np.ndarray:
        """The (P,) multiplier ``name`` (ones when absent)."""
        m = self.multipliers.get(name)
        return np.ones(self.n_paths) if m is None else m

    def take(self, rows: slice | np.ndarray) -> Shocks:
        """The shocks of a subset of paths (a slice or an index array)."""
        return Shocks(
            self.returns[rows],
            {k: v[rows] for k, v in self.multipliers.items()},
            None if self.impairment is None else self.impairment[rows],
        )

    def validated(self, days: int, n_assets: int) -> Shocks:
        """Check shapes and values; return a float64 copy."""
        r = as_float_array(self.returns, "shocks.returns", ndim=3)
        if r.shape[1:] != (days, n_assets):
            raise InputError(
                f"shocks.returns must have shape (paths, {days}, {n_assets}), got {r.shape}"
            )
        mult = {}
        for name, v in self.multipliers.items():
            if name not in MULTIPLIERS:
                raise InputError(f"unknown multiplier {name!r}; supported: {MULTIPLIERS}")
            arr = as_float_array(v, f"multipliers[{name!r}]")
            if arr.shape != (r.shape[0],) or np.any(arr < 0):
                raise InputError(f"multiplier {name!r} must be {r.shape[0]} values >= 0")
            if name == "depth" and np.any(arr <= 0):
                raise InputError("depth multiplier must be > 0")
            mult[name] = arr
        imp = None
        if self.impairment is not None:
            imp = as_float_array(self.impairment, "shocks.impairment", ndim=2)
            if imp.shape != (r.shape[0], days) or np.any((imp < 0) | (imp > 1)):
                raise InputError(f"impairment must be ({r.shape[0]}, {days}) values in [0, 1]")
        return Shocks(r, mult, imp)


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class SimulationResult(Result):
    """Outcome of :func:`simulate` (USD bn; days are calendar days from ``dates[0]``).

    Attributes
    ----------
    prices : ndarray (P, days+1, K)
        Prices (initial 1) at the start (index 0) and at the end of each day.
    equity : ndarray (P, days+1, N)
        Book equity of every agent (funds: NAV).
    default_day : ndarray of int (P, N)
        Day of default (−1 if none).
    illiquid : ndarray of bool (P, N)
        Solvent but unable to restore its leverage constraint (Cont–Schaanning).
    losses : ndarray (P, N)
        ``E⁰ − E_T`` net of fund distributions (positive = loss).
    fire_sales : ndarray (P, K)
        Value sold per asset over the run (at pre-trade prices).
    units_sold : ndarray (P, K)
        Units sold per asset over the run (private sellers; initial price 1).
    stablecoin_redemptions : ndarray (P, days)
        Stablecoin redemptions paid per day (all issuers).
    stablecoin_requests : ndarray (P, days)
        Redemption requests per day (paid at once or queued).
    stablecoin_price : ndarray (P, days)
        Lowest secondary-market price across issuers.
    treasury_sales : ndarray (P, days)
        T-bill and note sales per day (private sellers, at pre-trade prices).
    policy_actions : ndarray of int (P, days)
        Bit flags (:data:`~powderkeg.contagion.policy.ACTION_NAMES`).
    stress_index : ndarray (P, days)
    net_liquidity : ndarray (P, days+1)
    money_created : ndarray (P,)
        Central-bank money creation (QE and facility loans), the one logged cash source.
    rounds : ndarray of int (days,)
        Sub-rounds used per day (max over paths).
    events : list of dict
        Event log (``day``, ``date``, ``path``, ``event``, ``agent``, ``asset``, ``amount``...)
        when recorded.
    """

    agent_names: list[str]
    agent_types: np.ndarray
    asset_names: list[str]
    dates: pd.DatetimeIndex
    prices: np.ndarray
    equity: np.ndarray
    default_day: np.ndarray
    illiquid: np.ndarray
    losses: np.ndarray
    fire_sales: np.ndarray
    units_sold: np.ndarray
    stablecoin_redemptions: np.ndarray
    stablecoin_requests: np.ndarray
    stablecoin_price: np.ndarray
    treasury_sales: np.ndarray
    policy_actions: np.ndarray
    stress_index: np.ndarray
    net_liquidity: np.ndarray
    money_created: np.ndarray
    rounds: np.ndarray
    events: list[dict[str, Any]]
    runtime_s: float
    provenance: Provenance = field(default_factory=Provenance)

    # ------------------------------------------------------------------ helpers
    @property
    def n_paths(self) -> int:
        """``P``."""
        return int(self.prices.shape[0])

    @property
    def defaulted(self) -> np.ndarray:
        """Boolean (P, N) default indicator."""
        return self.default_day >= 0

    @property
    def type_names(self) -> list[str]:
        """Institution types present, in code order."""
        return [AgentType(t).name.lower() for t in sorted(set(self.agent_types.tolist()))]

    def by_type(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Sum an array whose last axis is agents (N) over the agents of each type."""
        out = {}
        for t in sorted(set(self.agent_types.tolist())):
            out[AgentType(t).name.lower()] = values[..., self.agent_types == t].sum(axis=-1)
        return out

    def defaults_by_type(self) -> dict[str, np.ndarray]:
        """Number of defaulted agents per type and path."""
        return self.by_type(self.defaulted.astype(np.int64))

    def losses_by_type(self) -> dict[str, np.ndarray]:
        """Losses (USD bn) per type and path."""
        return self.by_type(self.losses)

    def asset_drawdowns(self) -> np.ndarray:
        """Maximum drawdown of each asset's price over the run (P, K), in [0, 1)."""
        peak = np.maximum.accumulate(self.prices, axis=1)
        return np.max(1.0 - self.prices / peak, axis=1)

    @classmethod
    def concat(cls, parts: list[SimulationResult]) -> SimulationResult:
        """Stack results of path chunks (same system and horizon) along the path axis."""
        if not parts:
            raise InputError("nothing to concatenate")
        first = parts[0]
        cat = {
            name: np.concatenate([getattr(p, name) for p in parts], axis=0)
            for name in (
                "prices",
                "equity",
                "default_day",
                "illiquid",
                "losses",
                "fire_sales",
                "units_sold",
                "stablecoin_redemptions",
                "stablecoin_requests",
                "stablecoin_price",
                "treasury_sales",
                "policy_actions",
                "stress_index",
                "net_liquidity",
                "money_created",
            )
        }
        events: list[dict[str, Any]] = []
        offset = 0
        for p in parts:
            events += [{**e, "path": e["path"] + offset} for e in p.events]
            offset += p.n_paths
        return cls(
            agent_names=first.agent_names,
            agent_types=first.agent_types,
            asset_names=first.asset_names,
            dates=first.dates,
            rounds=np.max([p.rounds for p in parts], axis=0),
            events=events,
            runtime_s=float(sum(p.runtime_s for p in parts)),
            provenance=first.provenance,
            **cat,
        )

    # ------------------------------------------------------------------ Result protocol
    def _quantiles(self, x: np.ndarray) -> dict[str, float]:
        q = np.quantile(x, [0.05, 0.5, 0.95])
        return {
            "mean": float(np.mean(x)),
            "q05": float(q[0]),
            "q50": float(q[1]),
            "q95": float(q[2]),
        }

    def _payload(self) -> dict[str, Any]:
        dd = self.asset_drawdowns()
        b = self.asset_names.index("btc") if "btc" in self.asset_names else None
        btc = (
            {
                "drawdown": self._quantiles(dd[:, b]),
                "price_at_horizon": self._quantiles(self.prices[:, -1, b]),
            }
            if b is not None
            else None
        )
        return {
            "paths": self.n_paths,
            "days": int(self.prices.shape[1] - 1),
            "start": self.dates[0],
            "defaults": dict(zip(self.agent_names, self.defaulted.mean(axis=0))),
            "defaults_by_type": {k: float(v.mean()) for k, v in self.defaults_by_type().items()},
            "losses": {k: self._quantiles(v) for k, v in self.losses_by_type().items()},
            "asset_drawdowns": {
                a: self._quantiles(dd[:, k]) for k, a in enumerate(self.asset_names)
            },
            "fire_sales": dict(zip(self.asset_names, self.fire_sales.mean(axis=0))),
            "btc": btc,
            "stablecoin_redemptions": float(self.stablecoin_redemptions.sum(axis=1).mean()),
            "treasury_sales": float(self.treasury_sales.sum(axis=1).mean()),
            "policy_pivot_share": float(np.any(self.policy_actions & PIVOT_DECIDED, axis=1).mean()),
            "money_created": float(self.money_created.mean()),
            "runtime_s": self.runtime_s,
            "events": self.events,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per agent: type, default probability, mean loss and final equity."""
        return pd.DataFrame(
            {
                "type": [AgentType(t).name.lower() for t in self.agent_types],
                "default_probability": self.defaulted.mean(axis=0),
                "mean_loss": self.losses.mean(axis=0),
                "mean_final_equity": self.equity[:, -1, :].mean(axis=0),
                "illiquid_probability": self.illiquid.mean(axis=0),
            },
            index=pd.Index(self.agent_names, name="agent"),
        )

    def summary(self) -> Summary:
        """Defaults and losses by type, asset drawdowns."""
        types = self.defaults_by_type()
        losses = self.losses_by_type()
        rows = [[t, float(types[t].mean()), float(losses[t].mean())] for t in types]
        dd = self.asset_drawdowns()
        asset_rows = [
            [a, float(dd[:, k].mean()), float(self.fire_sales[:, k].mean())]
            for k, a in enumerate(self.asset_names)
        ]
        notes = []
        if np.any(self.rounds >= 0) and self.provenance.parameters.get("max_rounds") in set(
            self.rounds.tolist()
        ):
            notes.append("the sub-round limit bound on some day (spectral radius >= 1?)")
        return Summary(
            "System-wide stress simulation",
            facts=[
                ("paths", self.n_paths),
                ("days", int(self.prices.shape[1] - 1)),
                ("mean defaults", float(self.defaulted.sum(axis=1).mean())),
                (
                    "policy pivot share",
                    float(np.any(self.policy_actions & PIVOT_DECIDED, axis=1).mean()),
                ),
                ("runtime (s)", self.runtime_s),
            ],
            tables=[
                Table("By institution type", ["type", "mean defaults", "mean loss (USD bn)"], rows),
                Table(
                    "Assets", ["asset", "mean max drawdown", "mean fire sales (USD bn)"], asset_rows
                ),
            ],
            notes=notes,
        )

    def plot(self) -> Any:
        """Median and 5–95 % band of every tradable asset's price path."""
        import plotly.graph_objects as go

        fig = go.Figure()
        x = list(self.dates)
        for k, a in enumerate(self.asset_names):
            q = np.quantile(self.prices[:, :, k], [0.05, 0.5, 0.95], axis=0)
            fig.add_trace(go.Scatter(x=x, y=q[1], name=a, mode="lines"))
            if self.n_paths > 1:
                fig.add_trace(
                    go.Scatter(
                        x=x + x[::-1],
                        y=list(q[2]) + list(q[0][::-1]),
                        fill="toself",
                        opacity=0.15,
                        showlegend=False,
                        line={"width": 0},
                        name=f"{a} 5–95 %",
                    )
                )
        fig.update_layout(title="Prices (start = 1)", yaxis_title="price")
        return fig


# --------------------------------------------------------------------------- simulate
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
        Paths simulated together (memory ~ chunk · N · K · 8 bytes per state array). A day
        runs as many sub-rounds as its slowest path needs, so moderate chunks are faster than
        huge ones. Results do not depend on it: each path's trajectory is the same in any
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
        run = _Run(
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
        parts.append(run.run())
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


# --------------------------------------------------------------------------- internals
#: Per-path state (leading axis P) that a sub-round may read or write (see ``_Run._gather``).
_ROUND_STATE = (
    "pending",
    "edge_due",
    "redeem_due",
    "commit_due",
    "default_day",
    "failed",
    "illiquid",
    "max_loss",
    "distributed",
    "btc_hist",
    "btc_return",
    "spread",
    "queue",
    "sc_price",
    "pressure",
    "dealer_units0",
    "fire_sales",
    "units_sold",
    "sc_paid",
    "sc_req",
    "sc_min",
    "tsy_sales",
    "actions",
)
_LEDGER_ARRAYS = ("price", "units", "cash", "face", "mark", "equity", "cb_money")
_POLICY_ARRAYS = ("above", "decided", "active_from", "qe_done", "net_liquidity")


class _Run:
    """State and schedule of one chunk of paths."""

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
        self.supply_prev = self._supply()
        self.policy = PolicyState.start(P, s.policy)
        lag = s.policy.lag_days * shocks.multiplier("policy_lag")
        self.lag = np.rint(lag).astype(np.int64)
        self.si = np.zeros(P)
        self.bank_e0 = e0[self.idx[AgentType.BANK]].sum()
        self.events: list[dict[str, Any]] = []
        self._subsets: dict[tuple[bytes, str], tuple[np.ndarray, Network, np.ndarray]] = {}
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
        self.rounds = np.zeros(days, dtype=np.int64)

    # ------------------------------------------------------------------ utilities
    def _check(self, where: str) -> None:
        check_invariants(
            self.ledger,
            self.net,
            self.start_totals,
            where=where,
            names=self.names,
            asset_names=self.anames,
            short_allowed=~self.defaultable,
        )

    def _event(self, day: int, event: str, **info: Any) -> None:
        self.events.append(
            {"day": day, "date": self.dates[day].strftime("%Y-%m-%d"), "event": event, **info}
        )

    def _supply(self) -> np.ndarray:
        """Stablecoin supply per issuer (P, J)."""
        tok = self.net.by_borrower(self.ledger.face * self.m_token)
        return tok[:, self.idx[AgentType.STABLECOIN]]

    @property
    def alive(self) -> np.ndarray:
        """(P, N) not defaulted."""
        return self.default_day < 0

    def _edge_frac(self, amount: np.ndarray, side: str, capacity: np.ndarray) -> np.ndarray:
        """Fraction of each edge amount (P, E) payable given the payers' capacity (P, N).

        ``side`` names the paying side of each contract (``"lender"`` or ``"borrower"``).
        """
        if not amount.any():
            return np.zeros_like(amount)
        payer = self.s.lender if side == "lender" else self.s.borrower
        total = self.net.by_lender(amount) if side == "lender" else self.net.by_borrower(amount)
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(total > 0, np.clip(capacity / np.where(total > 0, total, 1), 0, 1), 0)
        return frac[:, payer]

    def _subset(self, mask: np.ndarray, side: str) -> tuple[np.ndarray, Network, np.ndarray]:
        """Edges of ``mask``, a network over them alone, and their ``side`` agents (cached)."""
        key = (mask.tobytes(), side)
        if key not in self._subsets:
            sub = np.flatnonzero(mask)
            s = self.s
            net = Network.build(s.lender[sub], s.borrower[sub], s.kind[sub], self.N)
            who = (s.borrower if side == "borrower" else s.lender)[sub]
            self._subsets[key] = (sub, net, who)
        return self._subsets[key]

    def _pro_rata_edges(
        self, amount: np.ndarray, mask: np.ndarray, side: str, weight: np.ndarray | None = None
    ) -> np.ndarray:
        """Split agent amounts (P, N) across their edges of ``mask`` pro rata to ``weight``.

        The default weight is the part of each contract not already due (``face − due``), so
        voluntary repayments never eat into amounts reserved for posted obligations.
        """
        out = np.zeros_like(self.ledger.face)
        paths = np.flatnonzero(np.any(amount > 0, axis=1))
        if not len(paths):
            return out
        sub, net, who = self._subset(mask, side)
        # only paths with something to split (row-wise arithmetic: same numbers per path)
        cells = np.ix_(paths, sub)
        if weight is None:
            w = np.maximum(self.ledger.face[cells] - self.edge_due[cells], 0.0)
        else:
            w = weight[cells]
        tot = (net.by_borrower(w) if side == "borrower" else net.by_lender(w))[:, who]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(tot > 0, w / np.where(tot > 0, tot, 1), 0)
        out[cells] = np.minimum(amount[np.ix_(paths, who)] * share, w)
        return out

    # ------------------------------------------------------------------ schedule
    def run(self) -> SimulationResult:
        quiet = 0
        last = self.days
        for t in range(self.days):
            self._exogenous(t)
            sold_today = self._rounds(t)
            new_defaults = self._resolve(t)
            self._policy(t)
            if self.check:
                self._check(f"day {t} ({self.dates[t]:%Y-%m-%d})")
            self.out_prices[:, t + 1] = self.ledger.price
            self.out_equity[:, t + 1] = self.ledger.equity
            self.out_nl[:, t + 1] = self.policy.net_liquidity
            moved = np.max(np.abs(self.out_prices[:, t + 1] - self.out_prices[:, t]), initial=0)
            busy = (
                sold_today > self.p.tol
                or new_defaults
                or moved >= 1e-6
                or np.any(np.abs(self.edge_due) > self.p.tol)
                or np.any(self.redeem_due > 0)
                or np.any(self.commit_due > 0)
                or np.any(self.pending > 0)
                or np.any(self.queue > self.p.tol)
                or np.any(self.policy.active_from > t)
                or np.any(self.policy.active(t) & (self.policy.qe_done < self.s.policy.qe_days))
                or np.any(self.s.agent_params["capex"] * self.p.capex_scale > 0)
            )
            quiet = 0 if busy else quiet + 1
            if quiet >= self.p.quiet_days and not np.any(self.sh.returns[:, t + 1 :]):
                last = t + 1
                break
        if last < self.days:
            self.out_prices[:, last + 1 :] = self.ledger.price[:, None]
            self.out_equity[:, last + 1 :] = self.ledger.equity[:, None]
            self.out_nl[:, last + 1 :] = self.policy.net_liquidity[:, None]
            self.sc_min[:, last:] = self.sc_min[:, last - 1 : last]
            self.out_si[:, last:] = self.out_si[:, last - 1 : last]
        losses = self.e0[None, :] - self.ledger.equity - self.distributed
        return SimulationResult(
            agent_names=self.names,
            agent_types=self.s.agent_types.copy(),
            asset_names=self.anames,
            dates=self.dates,
            prices=self.out_prices,
            equity=self.out_equity,
            default_day=self.default_day,
            illiquid=self.illiquid & self.alive,
            losses=losses,
            fire_sales=self.fire_sales,
            units_sold=self.units_sold,
            stablecoin_redemptions=self.sc_paid,
            stablecoin_requests=self.sc_req,
            stablecoin_price=self.sc_min,
            treasury_sales=self.tsy_sales,
            policy_actions=self.actions,
            stress_index=self.out_si,
            net_liquidity=self.out_nl,
            money_created=self.ledger.cb_money.copy(),
            rounds=self.rounds,
            events=[{**e, "path": e.get("path", 0) + self.offset} for e in self.events],
            runtime_s=0.0,
        )

    # ------------------------------------------------------------------ step 2
    def _exogenous(self, t: int) -> None:
        L = self.ledger
        s = self.s
        f = self.sh.returns[:, t, :] + self.endo
        act = self.policy.activating(t)
        if act.any():
            f = f + np.where(
                act[:, None], s.assets["rate_sensitivity"][None, :] * s.policy.rate_cut, 0.0
            )
            self.actions[:, t] |= np.where(act, RATE_CUT, 0)
            if self.record:
                for p in np.flatnonzero(act):
                    self._event(
                        t, "policy", path=int(p), action="rate cut", amount=s.policy.rate_cut
                    )
        closed = self.tradable & ~self.market_open[t]
        total = self.deferred + f
        new_price = np.where(closed[None, :], L.price, L.price * np.exp(total))
        self.deferred = np.where(closed[None, :], total, 0.0)
        if np.any(new_price != L.price):
            L.revalue(new_price)
        self.peak = np.maximum(self.peak, L.price)
        # private-credit marks catch up with fair value implied by borrower spreads
        if self.m_pc.any():
            ai = self.idx[AgentType.AI_BORROWER]
            ds = np.zeros((self.P, self.N))
            ds[:, ai] = self.spread - s.agent_params["spread0"][ai]
            fair = np.exp(-self.p.private_credit_duration * np.maximum(ds, 0.0))[:, s.borrower]
            new_mark = np.where(self.m_pc, L.mark + self.p.mark_speed * (fair - L.mark), L.mark)
            if np.any(new_mark != L.mark):
                L.set_marks(self.net, new_mark)
        if self.btc >= 0:
            btc_now = L.price[:, self.btc : self.btc + 1]
            self.btc_hist = np.concatenate([self.btc_hist[:, 1:], btc_now], axis=1)
        if self.debug:
            self._check(f"day {t} exogenous")

    # ------------------------------------------------------------------ step 3
    def _depth(self, t: int) -> np.ndarray:
        s = self.s
        fac = np.ones((self.P, self.K))
        on = self.policy.active(t)
        fac = np.where(on[:, None] & s.assets["facility"][None, :], s.policy.facility_depth, fac)
        return markets.stressed_depth(
            s.assets["depth"],
            s.assets["min_depth"],
            self.si,
            self.p.stress_scale,
            self.sh.multiplier("depth"),
            fac,
        )

    def _rounds(self, t: int) -> float:
        s = self.s
        L = self.ledger
        open_k = self.tradable & self.market_open[t]
        depth = self._depth(t)
        active = np.ones(self.P, dtype=bool)
        sold_total = 0.0
        bank = bool(self.bank_open[t])
        tsy = [self.anames.index(a) for a in ("tbills", "tnotes") if a in self.anames]
        n_used = 0
        rows: np.ndarray | None = None  # paths being simulated (None = all)
        saved: dict[str, Any] = {}
        for n in range(self.p.max_rounds):
            n_used = n + 1
            if not active.all():
                # later sub-rounds only run the paths still active (the others are frozen)
                keep = np.flatnonzero(active)
                if rows is not None:
                    self._scatter(rows, saved)
                    keep = rows[keep]
                rows = keep
                saved = self._gather(rows)
                depth = depth[active]
                active = np.ones(len(rows), dtype=bool)
                L = self.ledger
            sell = self.pending * open_k[None, None, :] * active[:, None, None]
            self.pending = self.pending - sell
            if n == 0:
                sell = sell + self._qe_orders(t, open_k, bank)
            pre = L.price.copy()
            _, psi = markets.clear(
                L,
                sell,
                depth,
                exponential=s.assets["exponential"],
                floor=s.assets["floor"],
                execution=self.p.execution,
                outside=self.outside,
                dealers=self.dealers,
                dealer_capacity=self.dealer_cap,
                dealer_units0=self.dealer_units0,
                dealer_kink=self.p.dealer_kink,
            )
            if L.cash[:, self.cb].any():
                # the central bank pays for purchases with newly created money (logged);
                # net liquidity rises one for one
                created = -L.cash[:, self.cb].copy()
                L.cash[:, self.cb] = 0.0
                L.cb_money += created
                self.policy.net_liquidity = self.policy.net_liquidity + created
            private = np.clip(sell, 0, None)
            private[:, self.cb] = 0.0
            sold_val = np.einsum("pnk,pk->pk", private, pre)
            self.fire_sales += sold_val
            self.units_sold += private.sum(axis=1)
            if tsy:
                self.tsy_sales[:, t] += sold_val[:, tsy].sum(axis=1)
            sold_total += float(sold_val.sum())
            if self.record and np.any(private > 0):
                for p, i, k in np.argwhere(private * pre[:, None, :] > self.p.tol):
                    self._event(
                        t,
                        "sale",
                        path=int(p),
                        round=n + 1,
                        agent=self.names[i],
                        asset=self.anames[k],
                        amount=float(private[p, i, k] * pre[p, k]),
                        impact=float(psi[p, k]),
                    )
            if self.debug:
                self._check(f"day {t} round {n + 1} clearing")
            if n == 0 and bank:
                self._settle(t)
                if self.debug:
                    self._check(f"day {t} settlement")
            orders, acted = self._behave(t, n, open_k, bank, active)
            orders *= active[:, None, None]
            self.pending += orders
            new_open = np.einsum("pnk,pk->p", orders * open_k[None, None, :], L.price)
            active = active & ((new_open > self.p.tol) | acted)
            if self.debug:
                self._check(f"day {t} round {n + 1} behaviour")
            if not active.any():
                break
        else:
            warnings.warn(
                f"day {t}: sub-round limit n_max={self.p.max_rounds} reached on "
                f"{int(active.sum())} path(s); sales had not stopped (spectral radius >= 1?)",
                ConvergenceWarning,
                stacklevel=4,
            )
        if rows is not None:
            self._scatter(rows, saved)
        self.rounds[t] = n_used
        return sold_total

    def _gather(self, rows: np.ndarray) -> dict[str, Any]:
        """Restrict the per-path state touched by sub-rounds to the paths ``rows``.

        Returns the full-size state, to be given back to :meth:`_scatter`. Every per-path
        computation is independent of the other paths, so a restricted round gives each
        path bit for bit what the full batch would.
        """
        saved: dict[str, Any] = {name: getattr(self, name) for name in _ROUND_STATE}
        saved.update(
            ledger=self.ledger, sh=self.sh, policy=self.policy, P=self.P, totals=self.start_totals
        )
        saved["n_events"] = len(self.events)
        for name in _ROUND_STATE:
            setattr(self, name, saved[name][rows])
        L = self.ledger
        self.ledger = Ledger(
            L.price[rows],
            L.units[rows],
            L.cash[rows],
            L.face[rows],
            L.mark[rows],
            L.equity[rows],
            L.cb_money[rows],
            L.cb_index,
        )
        self.policy = PolicyState(*(getattr(self.policy, name)[rows] for name in _POLICY_ARRAYS))
        self.sh = self.sh.take(rows)
        start = self.start_totals
        self.start_totals = Totals(start.cash[rows], start.units[rows], start.cb_money[rows])
        self.P = len(rows)
        return saved

    def _scatter(self, rows: np.ndarray, saved: dict[str, Any]) -> None:
        """Write the restricted state of :meth:`_gather` back into the full arrays."""
        for name in _ROUND_STATE:
            saved[name][rows] = getattr(self, name)
            setattr(self, name, saved[name])
        for full, part, names in (
            (saved["ledger"], self.ledger, _LEDGER_ARRAYS),
            (saved["policy"], self.policy, _POLICY_ARRAYS),
        ):
            for name in names:
                getattr(full, name)[rows] = getattr(part, name)
        self.ledger, self.policy, self.sh, self.P = (
            saved["ledger"],
            saved["policy"],
            saved["sh"],
            saved["P"],
        )
        self.start_totals = saved["totals"]
        for e in self.events[saved["n_events"] :]:
            e["path"] = int(rows[e["path"]])

    def _qe_orders(self, t: int, open_k: np.ndarray, bank: bool) -> np.ndarray:
        """Central-bank Treasury purchases as negative sale orders (round 1 of bank days)."""
        out = np.zeros((self.P, self.N, self.K))
        pol = self.s.policy
        if "tnotes" not in self.anames or not bank or not pol.enabled:
            return out
        k = self.anames.index("tnotes")
        if not open_k[k]:
            return out
        on = self.policy.active(t) & (self.policy.qe_done < pol.qe_days)
        if not on.any():
            return out
        out[:, self.cb, k] = -np.where(on, pol.qe_per_day / self.ledger.price[:, k], 0.0)
        self.policy.qe_done += on
        self.actions[:, t] |= np.where(on, QE_PURCHASE, 0)
        return out

    def _settle(self, t: int) -> None:
        """Pay obligations due (model-spec §7 step 5) on a bank business day."""
        L, net, s = self.ledger, self.net, self.s
        owed = net.by_borrower(self.edge_due) + self.redeem_due + self.commit_due
        # central-bank facility: discount-window loans to banks and dealers against HQLA
        on = self.policy.active(t)
        borrowers = np.flatnonzero(self.cb_edge >= 0)
        if on.any() and len(borrowers):
            h = haircuts(s.assets["haircut"], L.price, np.ones_like(L.price), 0.0, np.ones(self.P))
            elig = s.assets["facility"][None, None, :]
            coll = np.einsum("pnk,pk->pn", L.units[:, borrowers] * elig, L.price * (1 - h))
            edges = self.cb_edge[borrowers]
            room = np.maximum(coll - L.face[:, edges], 0.0)
            need = np.maximum(owed[:, borrowers] - L.cash[:, borrowers], 0.0)
            loan = np.where(on[:, None] & self.alive[:, borrowers], np.minimum(need, room), 0.0)
            if np.any(loan > self.p.tol):
                amount = np.zeros_like(L.face)
                amount[:, edges] = loan
                L.draw_edges(net, amount)
                created = -L.cash[:, self.cb].copy()
                L.cash[:, self.cb] = 0.0
                L.cb_money += created
                self.policy.net_liquidity = self.policy.net_liquidity + created
                self.actions[:, t] |= np.where(loan.sum(axis=1) > self.p.tol, FACILITY_LOAN, 0)
        if not (np.any(owed > 0)):
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(
                owed > 0, np.clip(np.maximum(L.cash, 0) / np.where(owed > 0, owed, 1), 0, 1), 1.0
            )
        pay_e = self.edge_due * frac[:, s.borrower]
        L.repay_edges(net, pay_e)
        self.edge_due = self.edge_due - pay_e
        red = self.redeem_due * frac
        if np.any(red > 0):
            L.cash -= red
            L.equity -= red
            L.cash[:, self.households] += red.sum(axis=1)
            L.equity[:, self.households] += red.sum(axis=1)
            self.distributed += red
            self.distributed[:, self.households] -= red.sum(axis=1)
            self.redeem_due = self.redeem_due - red
        com = self.commit_due * frac
        if np.any(com > 0) and "data_centres" in self.anames:
            k = self.anames.index("data_centres")
            u = com / L.price[:, k : k + 1]
            L.cash -= com
            L.cash[:, self.outside] += com.sum(axis=1)
            L.units[:, :, k] += u
            L.units[:, self.outside, k] -= u.sum(axis=1)
        # commitments not funded today are cut (AI borrowers) or carried (allocators)
        ai = self.idx[AgentType.AI_BORROWER]
        self.commit_due = self.commit_due - com
        self.commit_due[:, ai] = 0.0
        unpaid = net.by_borrower(self.edge_due) + self.redeem_due
        fails = (unpaid > self.p.tol) & self.defaultable[None, :] & self.alive
        self.failed |= fails

    def _behave(
        self, t: int, n: int, open_k: np.ndarray, bank: bool, active: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every agent acts on the same state (model-spec §7 step 6); returns orders, activity."""
        L, net, s = self.ledger, self.net, self.s
        P, N, K = self.P, self.N, self.K
        tol = self.p.tol
        price = L.price
        avail = np.maximum(L.units - self.pending, 0.0)
        pend_val = np.einsum("pnk,pk->pn", self.pending, price)
        A = L.assets(net)
        E = L.equity
        owed = net.by_borrower(self.edge_due) + self.redeem_due + self.commit_due
        alive = self.alive
        orders = np.zeros((P, N, K))
        acted = np.zeros(P, dtype=bool)
        repay = np.zeros_like(L.face)
        trad = self.tradable
        # liquidity sellers: open markets first, then by priority
        order = np.array(
            sorted(np.flatnonzero(trad), key=lambda k: (not open_k[k], self.priority[k], k))
        )
        act_p = active[:, None]

        # defaulted agents: sell everything, pay creditors pro rata with all cash
        dead = ~alive & self.defaultable[None, :]
        if dead.any():
            orders += np.where(dead[:, :, None], avail * trad[None, None, :], 0.0)
            excess = np.where(dead & act_p, np.maximum(L.cash, 0.0), 0.0)
            repay += self._pro_rata_edges(excess, np.ones(len(s.kind), bool), "borrower")

        # banks (Cont–Schaanning threshold rule); dealers only intermediate (capacity in
        # markets.clear) and never sell into their own bids
        for typ in (AgentType.BANK,):
            ix = self.idx[typ]
            if not len(ix):
                continue
            live = alive[:, ix]
            cash = L.cash[:, ix]
            Ai = A[:, ix]
            tgt = self.cash_target[ix][None, :]
            if typ == AgentType.BANK:
                # repay x so that cash − x = owed + c (A − x): x = (cash − owed − c A)/(1 − c)
                excess = (cash - owed[:, ix] - tgt * Ai) / (1.0 - tgt)
                excess = np.where(live & (excess > tol) & act_p, excess, 0.0)
                full = np.zeros((P, N))
                full[:, ix] = excess
                repay += self._pro_rata_edges(full, ~self.m_cbloan, "borrower")
                Ai = Ai - excess
                cash = cash - excess
                liq_need = np.where(
                    cash < 0.9 * tgt * Ai + owed[:, ix] - tol,
                    owed[:, ix] + tgt * Ai - cash - pend_val[:, ix],
                    0.0,
                )
                liq = pecking_sales(np.where(live, liq_need, 0.0), avail[:, ix], price, order)
            else:
                liq = np.zeros((P, len(ix), K))
            rest = avail[:, ix] - liq
            mkt = np.einsum("pmk,pk->pm", rest * trad[None, None, :], price)
            gamma = bank_deleveraging_fraction(
                Ai - pend_val[:, ix] - np.einsum("pmk,pk->pm", liq, price),
                E[:, ix],
                mkt,
                s.agent_params["max_leverage"][ix][None, :],
                s.agent_params["target_leverage"][ix][None, :],
            )
            gamma = np.where(live, gamma, 0.0)
            orders[:, ix] += liq + gamma[:, :, None] * rest * trad[None, None, :]
            with np.errstate(divide="ignore", invalid="ignore"):
                lev = np.where(E[:, ix] > 0, Ai / E[:, ix], np.inf)
            self.illiquid[:, ix] = (
                live
                & (E[:, ix] > 0)
                & (mkt <= tol)
                & (lev > s.agent_params["max_leverage"][ix][None, :])
            )

        # hedge funds: margin calls, pre-emptive sales, equity-ratio buffer (BTC first)
        ix = self.idx[AgentType.HEDGE_FUND]
        if len(ix):
            live = alive[:, ix]
            h = haircuts(
                s.assets["haircut"],
                price,
                np.ones_like(price),
                self.p.haircut_slope,
                self.sh.multiplier("haircut"),
            )
            h = np.where(trad[None, :], h, 1.0)
            val = L.units[:, ix] * price[:, None, :]
            coll = ((1.0 - h)[:, None, :] * val).sum(axis=2)
            hv = (h[:, None, :] * val).sum(axis=2)
            repo_edges = self.m_repo
            repo = net.by_borrower(L.face * repo_edges)[:, ix]
            mc = np.maximum(0.0, repo - coll)
            due_repo = net.by_borrower(self.edge_due * repo_edges)[:, ix]
            if bank:
                new_mc = np.where(live & act_p, mc - due_repo, 0.0)
                new_mc = np.where(new_mc > tol, new_mc, 0.0)
                if new_mc.any():
                    full = np.zeros((P, N))
                    full[:, ix] = new_mc
                    add = self._pro_rata_edges(full, repo_edges, "borrower")
                    self.edge_due += add
                    owed = net.by_borrower(self.edge_due) + self.redeem_due + self.commit_due
                    acted |= new_mc.sum(axis=1) > tol
                    if self.record:
                        for p, m in np.argwhere(new_mc > tol):
                            self._event(
                                t,
                                "margin_call",
                                path=int(p),
                                round=n + 1,
                                agent=self.names[ix[m]],
                                amount=float(new_mc[p, m]),
                            )
            cash = L.cash[:, ix]
            tgt = self.cash_target[ix][None, :]
            Ai = A[:, ix]
            excess = (cash - owed[:, ix] - np.maximum(mc - due_repo, 0) - tgt * Ai) / (1.0 - tgt)
            excess = np.where(live & (excess > tol) & act_p, excess, 0.0)
            full = np.zeros((P, N))
            full[:, ix] = excess
            repay += self._pro_rata_edges(full, repo_edges, "borrower")
            Ai = Ai - excess
            cash = cash - excess
            projected = np.maximum(mc - due_repo, 0.0)  # margin call not yet posted
            floor_cash = owed[:, ix] + projected
            need_liq = np.where(
                cash < 0.9 * tgt * Ai + floor_cash - tol,
                floor_cash + tgt * Ai - cash - pend_val[:, ix],
                0.0,
            )
            delever = hedge_fund_sales(
                Ai - pend_val[:, ix], E[:, ix], hv, self.equity_ratio0[ix][None, :]
            )
            need = np.where(live, np.maximum(need_liq, 0.0) + delever, 0.0)
            orders[:, ix] += pecking_sales(need, avail[:, ix] * trad[None, None, :], price, order)

        # open-ended funds and ETFs: redemptions paid next business day; PC funds gated
        for typ in (AgentType.ASSET_MANAGER, AgentType.BTC_ETF, AgentType.PRIVATE_CREDIT):
            ix = self.idx[typ]
            if not len(ix):
                continue
            live = alive[:, ix]
            if n == 0 and bank:
                kappa = (
                    s.agent_params["redemption_sensitivity"][ix][None, :]
                    * self.sh.multiplier("redemption")[:, None]
                )
                nav = E[:, ix]
                if typ == AgentType.BTC_ETF and self.btc >= 0:
                    r5 = self.btc_hist[:, -1] / self.btc_hist[:, 0] - 1.0
                    req = kappa * np.maximum(0.0, -r5)[:, None] * np.maximum(nav, 0.0)
                else:
                    req, self.max_loss[:, ix] = fund_redemptions(
                        nav, self.e0[ix][None, :], self.max_loss[:, ix], kappa
                    )
                g = s.agent_params["redemption_gate"][ix][None, :]
                gate = np.where(
                    np.isinf(g), np.inf, np.where(np.isinf(g), 0.0, g) * np.maximum(nav, 0.0)
                )
                req = np.where(live & act_p, np.minimum(req, gate), 0.0)
                req = np.where(req > tol, req, 0.0)
                if req.any():
                    self.redeem_due[:, ix] += req
                    owed[:, ix] += req
                    acted |= req.sum(axis=1) > tol
                    if self.record:
                        for p, m in np.argwhere(req > tol):
                            self._event(
                                t,
                                "redemption_request",
                                path=int(p),
                                agent=self.names[ix[m]],
                                amount=float(req[p, m]),
                            )
            cash = L.cash[:, ix]
            tgt = self.cash_target[ix][None, :]
            if typ == AgentType.PRIVATE_CREDIT:
                need = np.where(live & act_p, owed[:, ix] - cash, 0.0)
                need = np.where(need > tol, need, 0.0)
                if need.any():
                    acted |= self._draw(ix, need, self.m_line)
            else:
                need = np.where(
                    cash < 0.9 * tgt * A[:, ix] + owed[:, ix] - tol,
                    owed[:, ix] + tgt * A[:, ix] - cash - pend_val[:, ix],
                    0.0,
                )
                need = np.where(live, need, 0.0)
                orders[:, ix] += pro_rata_sales(need, avail[:, ix], price, trad)

        # crypto leverage buckets: liquidation engine (all crypto sold intra-day)
        ix = self.idx[AgentType.CRYPTO_LEVERAGE]
        if len(ix):
            live = alive[:, ix]
            V = np.einsum("pmk,pk->pm", L.units[:, ix] * trad[None, None, :], price)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(V > 0, E[:, ix] / np.where(V > 0, V, 1), np.inf)
            liquidate = live & (ratio < s.agent_params["maintenance_margin"][ix][None, :])
            new = np.where(liquidate[:, :, None], avail[:, ix] * trad[None, None, :], 0.0)
            orders[:, ix] += new
            if self.record and np.any(new > 0):
                for p, m in np.argwhere(new.sum(axis=2) > 0):
                    self._event(
                        t,
                        "liquidation",
                        path=int(p),
                        round=n + 1,
                        agent=self.names[ix[m]],
                        amount=float((new[p, m] * price[p]).sum()),
                    )
            excess = np.where(live & act_p & (L.cash[:, ix] > tol), L.cash[:, ix], 0.0)
            full = np.zeros((P, N))
            full[:, ix] = excess
            repay += self._pro_rata_edges(full, self.m_repo, "borrower")

        # strategic allocators and AI borrowers: capital commitments / capex
        scale = self.p.capex_scale
        for typ in (AgentType.ALLOCATOR, AgentType.AI_BORROWER):
            ix = self.idx[typ]
            if not len(ix):
                continue
            live = alive[:, ix]
            if n == 0 and bank and scale > 0:
                capex = s.agent_params["capex"][ix][None, :] * scale
                if typ == AgentType.AI_BORROWER:
                    open_mkt = self.spread < s.agent_params["spread_max"][ix][None, :]
                    capex = np.where(open_mkt, capex, 0.0)
                capex = np.where(live & act_p, capex, 0.0)
                self.commit_due[:, ix] += capex
                owed[:, ix] += capex
            short = np.where(live, owed[:, ix] - L.cash[:, ix], 0.0)
            if typ == AgentType.AI_BORROWER:
                short = np.where((short > tol) & act_p, short, 0.0)
                if short.any():
                    acted |= self._draw(ix, short, self.m_pc)
            else:
                need = np.where(short > tol, short - pend_val[:, ix], 0.0)
                orders[:, ix] += pecking_sales(
                    need, avail[:, ix] * trad[None, None, :], price, order
                )

        if np.any(repay > tol):
            repay = np.where(repay > tol, repay, 0.0) * active[:, None]
            L.repay_edges(net, repay)
            acted |= repay.sum(axis=1) > tol

        # stablecoin issuers (model-spec §4.3), last: they see today's repayments
        acted |= self._stablecoins(t, n, bank, avail, orders, active)
        return orders, acted

    def _draw(self, ix: np.ndarray, need: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Borrowers ``ix`` draw ``need`` (P, m) on undrawn contracts of ``mask``.

        Lenders pay at once from their free cash (cash not reserved for obligations due). The
        request is split pro rata to ``min(undrawn room, lender free cash)`` and re-split up to
        three times, so cash-constrained lenders do not leave need unserved that others could
        fund. Returns per-path activity.
        """
        L, net, s = self.ledger, self.net, self.s
        acted = np.zeros(self.P, dtype=bool)
        remaining = need.copy()
        for _ in range(3):
            if not np.any(remaining > self.p.tol):
                break
            full = np.zeros((self.P, self.N))
            full[:, ix] = remaining
            owed = net.by_borrower(self.edge_due) + self.redeem_due + self.commit_due
            free = np.maximum(L.cash - owed, 0.0)
            room = np.where(mask[None, :], np.maximum(s.limit[None, :] - L.face, 0.0), 0.0)
            room = np.where(self.alive[:, s.lender], np.minimum(room, free[:, s.lender]), 0.0)
            amount = self._pro_rata_edges(full, mask, "borrower", weight=room)
            amount = amount * self._edge_frac(amount, "lender", free)
            amount = np.where(amount > self.p.tol, amount, 0.0)
            if not amount.any():
                break
            L.draw_edges(net, amount)
            got = net.by_borrower(amount)[:, ix]
            remaining = remaining - got
            acted |= got.sum(axis=1) > self.p.tol
        return acted

    def _stablecoins(
        self,
        t: int,
        n: int,
        bank: bool,
        avail: np.ndarray,
        orders: np.ndarray,
        active: np.ndarray,
    ) -> np.ndarray:
        """Issuer day: coverage, price, new requests, waterfall payments and sale orders."""
        ix = self.idx[AgentType.STABLECOIN]
        acted = np.zeros(self.P, dtype=bool)
        if not len(ix):
            return acted
        L, net, s = self.ledger, self.net, self.s
        sp = s.stablecoin
        tol = self.p.tol
        live = self.alive[:, ix]
        price = L.price
        supply = self._supply()
        dep_alive = self.m_deposit[None, :] & self.alive[:, s.borrower]
        imp = 0.0 if self.sh.impairment is None else self.sh.impairment[:, t][:, None]
        dep_acc = net.by_lender(L.face * dep_alive * (1.0 - imp))[:, ix]
        open_j = bank & live
        if n == 0:
            sec = np.einsum("pjk,pk->pj", L.units[:, ix] * self.tradable[None, None, :], price)
            kappa = coverage(L.cash[:, ix] + dep_acc + sec, supply)
            new_price = secondary_price(kappa, open_j, self.pressure, sp)
            rho = redemption_rate(
                self.sc_price, kappa, self.btc_return, sp, self.sh.multiplier("stablecoin_run")
            )
            # background churn ρ₀ is matched by new minting: net requests (ρ − ρ₀) S
            req = np.where(live & active[:, None], (rho - sp.rho0) * supply, 0.0)
            self.queue += req
            self.sc_req[:, t] += req.sum(axis=1)
            self.pressure = sp.pressure_decay * self.pressure + (1 - sp.pressure_decay) * rho
            self.sc_price = new_price
            self.sc_min[:, t] = np.min(new_price, axis=1)
        if not bank:
            return acted
        # (1) pay from cash: burn tokens
        pay = np.where(
            open_j & active[:, None], np.minimum(self.queue, np.maximum(L.cash[:, ix], 0.0)), 0.0
        )
        pay = np.where(pay > tol, pay, 0.0)
        if pay.any():
            full = np.zeros((self.P, self.N))
            full[:, ix] = pay
            L.repay_edges(net, self._pro_rata_edges(full, self.m_token, "borrower"))
            self.queue -= pay
            self.sc_paid[:, t] += pay.sum(axis=1)
            acted |= pay.sum(axis=1) > tol
            if self.record:
                for p, j in np.argwhere(pay > tol):
                    self._event(
                        t,
                        "stablecoin_redemption",
                        path=int(p),
                        agent=self.names[ix[j]],
                        amount=float(pay[p, j]),
                    )
        # (2) withdraw accessible deposits (banks pay at once from cash, rest due next day)
        incoming = net.by_lender(self.edge_due * self.m_deposit)[:, ix]
        pend_val = np.einsum("pjk,pk->pj", self.pending[:, ix] + orders[:, ix], price)
        need = np.where(open_j & active[:, None], self.queue - incoming - pend_val, 0.0)
        acc_left = np.maximum(dep_acc - incoming, 0.0)
        wd = np.where(need > tol, np.minimum(need, acc_left), 0.0)
        if wd.any():
            full = np.zeros((self.P, self.N))
            full[:, ix] = wd
            weight = np.maximum(L.face * dep_alive * (1.0 - imp) - self.edge_due, 0.0)
            amount = self._pro_rata_edges(full, self.m_deposit, "lender", weight=weight)
            owed = net.by_borrower(self.edge_due) + self.redeem_due + self.commit_due
            now = amount * self._edge_frac(amount, "borrower", np.maximum(L.cash - owed, 0.0))
            L.repay_edges(net, now)
            self.edge_due += amount - now
            acted |= wd.sum(axis=1) > tol
            need = need - wd
        # (3) sell reserves: T-bills, notes, then risky assets (BTC, crypto)
        need = np.where(need > tol, need, 0.0)
        if need.any():
            names = ("tbills", "tnotes", "btc", "other_crypto")
            waterfall = [self.anames.index(a) for a in names if a in self.anames]
            waterfall += [int(k) for k in np.flatnonzero(self.tradable) if k not in waterfall]
            orders[:, ix] += pecking_sales(
                need, avail[:, ix] - orders[:, ix], price, np.array(waterfall)
            )
        return acted

    # ------------------------------------------------------------------ step 4
    def _resolve(self, t: int) -> bool:
        """Default resolution: collateral seizure, greatest clearing vector, write-downs."""
        L, net, s = self.ledger, self.net, self.s
        tol = self.p.tol
        A = L.assets(net)
        insolvent = (L.equity < -tol * np.maximum(1.0, np.abs(A))) & self.defaultable[None, :]
        new = (insolvent | self.failed) & self.alive
        self.failed[:] = False
        pbar = net.by_borrower(L.face)
        pending_def = (~self.alive) & (pbar > tol) & self.defaultable[None, :]
        if not (new.any() or np.any(pending_def & insolvent)):
            return False
        if new.any():
            self._seize(new)
        paths = np.flatnonzero(new.any(axis=1) | (pending_def & insolvent).any(axis=1))
        ratio, cleared_insolvent, waves = self._clear_network(paths, new)
        full_ratio = np.ones((self.P, self.N))
        full_ratio[paths] = ratio
        edge_ratio = full_ratio[:, s.borrower]
        if np.any(edge_ratio < 1.0):
            L.write_down_edges(net, edge_ratio)
        newly = np.zeros_like(new)
        newly[paths] = cleared_insolvent
        newly |= new
        newly &= self.alive & self.defaultable[None, :]
        if newly.any():
            self.default_day = np.where(newly, t, self.default_day)
            self.edge_due = np.where(newly[:, s.borrower], 0.0, self.edge_due)
            self.redeem_due = np.where(newly, 0.0, self.redeem_due)
            self.commit_due = np.where(newly, 0.0, self.commit_due)
            if self.record:
                for p, i in np.argwhere(newly):
                    wave = waves.get((int(p), int(i)))
                    self._event(
                        t,
                        "default",
                        path=int(p),
                        agent=self.names[i],
                        reason="insolvent" if insolvent[p, i] or wave else "illiquid",
                        wave=wave,
                        equity=float(L.equity[p, i]),
                    )
        if self.debug:
            self._check(f"day {t} default resolution")
        return bool(newly.any())

    def _seize(self, new: np.ndarray) -> None:
        """Secured lenders seize the collateral of new defaulters (model-spec §3.2).

        Repo and margin-loan lenders take units at market value, up to the secured face;
        seized units are queued for sale.
        """
        L, s = self.ledger, self.s
        if not self.m_repo.any():
            return
        # secured edges of new defaulters only: the others have nothing to move
        edges = np.flatnonzero(self.m_repo & np.any(new, axis=0)[s.borrower])
        b = s.borrower[edges]
        lend = s.lender[edges]
        trad = self.tradable[None, None, :]
        V = np.einsum("pnk,pk->pn", L.units * trad, L.price)
        F = self.net.by_borrower(L.face * self.m_repo)
        hit = new[:, b] & (F[:, b] > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            seized_val = np.minimum(V, F)
            frac = np.where(V > 0, seized_val / np.where(V > 0, V, 1), 0.0)
            share = np.where(F[:, b] > 0, L.face[:, edges] / np.where(F[:, b] > 0, F[:, b], 1), 0)
        share = np.where(hit, share, 0.0)
        moved = (frac[:, b] * share)[:, :, None] * L.units[:, b, :] * trad
        base_units = L.units.copy()
        for j, (bi, li) in enumerate(zip(b, lend)):
            u = moved[:, j, :] * (base_units[:, bi, :] > 0)
            L.units[:, bi, :] -= u
            L.units[:, li, :] += u
            self.pending[:, li, :] += u
            L.face[:, edges[j]] -= np.einsum("pk,pk->p", u, L.price)
        self.pending = np.minimum(self.pending, L.units)

    def _clear_network(
        self, paths: np.ndarray, new: np.ndarray
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
        L, net, s = self.ledger, self.net, self.s
        face = L.face[paths]
        e = (L.cash + L.holdings_value())[paths]
        pbar = net.by_borrower(face)
        canfail = np.broadcast_to(self.defaultable, pbar.shape)
        fresh = self.alive[paths]
        a = np.where(fresh, self.p.recovery_external, 1.0)
        b = np.where(fresh, self.p.recovery_interbank, 1.0)
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
        if self.p.recovery_external < 1.0 or self.p.recovery_interbank < 1.0:
            self._default_costs(paths, insolvent & fresh)
        waves = {
            (int(paths[q]), int(i)): int(first[q, i]) for q, i in np.argwhere(insolvent & fresh)
        }
        return ratio, insolvent & fresh, waves

    def _default_costs(self, paths: np.ndarray, hit: np.ndarray) -> None:
        """Realise only α of a new defaulter's external assets and β of its receivables."""
        L, net, s = self.ledger, self.net, self.s
        full = np.zeros((self.P, self.N), dtype=bool)
        full[paths] = hit
        lost = 1.0 - self.p.recovery_external
        if lost > 0:
            cash_lost = np.where(full, L.cash * lost, 0.0)
            units_lost = np.where(full[:, :, None], L.units * lost, 0.0)
            value_lost = cash_lost + np.einsum("pnk,pk->pn", units_lost, L.price)
            L.cash -= cash_lost
            L.cash[:, self.outside] += cash_lost.sum(axis=1)
            L.units -= units_lost
            L.units[:, self.outside] += units_lost.sum(axis=1)
            L.equity -= value_lost
            L.equity[:, self.outside] += value_lost.sum(axis=1)
        if self.p.recovery_interbank < 1.0:
            m = np.where(full[:, s.lender], L.mark * self.p.recovery_interbank, L.mark)
            L.set_marks(net, m)

    # ------------------------------------------------------------------ step 5
    def _policy(self, t: int) -> None:
        L, s = self.ledger, self.s
        price = L.price
        ind: dict[str, np.ndarray] = {}
        eq = [self.anames.index(a) for a in ("ai_equity", "other_equity") if a in self.anames]
        if eq:
            ind["equity_drawdown"] = np.mean(1.0 - price[:, eq] / self.peak[:, eq], axis=1)
        if "hy_credit" in self.anames:
            k = self.anames.index("hy_credit")
            ind["credit_drawdown"] = 1.0 - price[:, k] / self.peak[:, k]
        if "tnotes" in self.anames and len(self.dealers):
            k = self.anames.index("tnotes")
            cap = self.dealer_cap[:, k].sum()
            used = (
                np.maximum(
                    0.0, (L.units[:, self.dealers, k] - self.dealer_units0[:, :, k]).sum(axis=1)
                )
                * price[:, k]
            )
            ind["treasury_dysfunction"] = used / cap if cap > 0 else np.zeros(self.P)
        if len(self.idx[AgentType.STABLECOIN]):
            ind["stablecoin_depeg"] = np.max(1.0 - self.sc_price, axis=1)
        banks = self.idx[AgentType.BANK]
        if len(banks) and self.bank_e0 > 0:
            ind["bank_equity_loss"] = np.maximum(
                0.0, 1.0 - np.maximum(L.equity[:, banks], 0).sum(axis=1) / self.bank_e0
            )
        self.si = stress_index(ind, s.policy) if ind else np.zeros(self.P)
        self.out_si[:, t] = self.si
        decided = self.policy.update(t, self.si, self.lag, s.policy)
        self.actions[:, t] |= np.where(decided, PIVOT_DECIDED, 0)
        self.actions[:, t] |= np.where(self.policy.active(t), FACILITY_ACTIVE, 0)
        if self.record:
            for p in np.flatnonzero(decided):
                self._event(
                    t,
                    "policy",
                    path=int(p),
                    action=ACTION_NAMES[PIVOT_DECIDED],
                    stress_index=float(self.si[p]),
                    effective_day=int(self.policy.active_from[p]),
                )
        # endogenous fundamental drivers for tomorrow
        nl_prev = self.out_nl[:, t]
        dln_nl = np.log(self.policy.net_liquidity / nl_prev)
        supply = self._supply().sum(axis=1)
        prev = self.supply_prev.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = (supply > 0) & (prev > 0)
            dln_s = np.where(ok, np.log(supply / np.where(ok, prev, 1.0)), 0.0)
        self.supply_prev = self._supply()
        endo = s.assets["liquidity_beta"][None, :] * dln_nl[:, None]
        endo = endo + s.assets["stablecoin_beta"][None, :] * dln_s[:, None]
        ai = self.idx[AgentType.AI_BORROWER]
        if len(ai):
            A = L.assets(self.net)[:, ai]
            D = self.net.by_borrower(L.face)[:, ai]
            with np.errstate(divide="ignore", invalid="ignore"):
                lev = np.where(A > 0, D / np.where(A > 0, A, 1), 1.0)
            dd = ind.get("equity_drawdown", np.zeros(self.P))
            if "ai_equity" in self.anames:
                k = self.anames.index("ai_equity")
                dd = 1.0 - price[:, k] / self.peak[:, k]
            new_spread = ai_spreads(
                s.agent_params["spread0"][ai][None, :],
                lev,
                self.debt_ratio0[ai][None, :],
                dd[:, None],
                self.p.theta_leverage,
                self.p.theta_drawdown,
            )
            w = np.maximum(D, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                ds = np.where(
                    w.sum(axis=1) > 0,
                    ((new_spread - self.spread) * w).sum(axis=1)
                    / np.where(w.sum(axis=1) > 0, w.sum(axis=1), 1),
                    0.0,
                )
            self.spread = new_spread
            endo = (
                endo
                - (s.assets["spread_beta"] * s.assets["spread_duration"])[None, :] * ds[:, None]
            )
        self.endo = np.where(self.tradable[None, :], endo, 0.0)
        if self.btc >= 0:
            self.btc_return = self.btc_hist[:, -1] / self.btc_hist[:, -2] - 1.0
