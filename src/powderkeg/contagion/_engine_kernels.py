r"""Per-path kernels of the agent engine's sub-rounds (model-spec §7 step 3, §3, §4.3).

A sub-round of :func:`~powderkeg.contagion.engine_rounds.clear_rounds` is two kernels over
the paths still active that day: :func:`clear_paths_python` clears the queued sale orders
(:func:`~powderkeg.contagion.markets.clear` plus the sales bookkeeping) and
:func:`behave_paths_python` lets every agent act (the rules documented in
:mod:`powderkeg.contagion.engine_behaviour`). Every computation of the engine is per path,
so the kernels loop over paths and write the rows of the chunk's arrays in place; inactive
paths are skipped (frozen). A path's numbers never depend on the other paths.

Every kernel is written once as a pure-Python function (``*_python``) and bound as a numba
kernel of the same body (the name without the suffix); the test-suite checks that the two
give the same numbers, and that the per-agent sale rules and the clearing equal the
vectorised rules of :mod:`.institutions` and :func:`~.markets.clear`.

Sums over an agent's contracts run in ascending contract order (as the sparse aggregation
of :class:`~.balance_sheet.Network` does); sums over assets and agents run sequentially,
which may differ from NumPy's pairwise and SIMD summation in the last bits.

Layout: per-agent parameters are the rows ``A_*`` of one (·, N) matrix, per-asset
parameters the rows ``K_*`` of one (·, K) matrix, and the work vectors the rows ``V_*``,
``W_*`` and ``R_*`` of three matrices, because numba's compile time grows with the number
of array arguments of every compiled function.

Money in USD billions; leverage conventions as in :mod:`.institutions`.
"""

from __future__ import annotations

import math
import types
from typing import Any, NamedTuple

import numba
import numpy as np

from powderkeg.contagion.institutions import AgentType
from powderkeg.contagion.markets import MAX_IMPACT

__all__ = [
    "AGENT_PARAMS",
    "ASSET_PARAMS",
    "STABLECOIN_PARAMS",
    "EngineStructure",
    "Net",
    "Params",
    "RoundBuffers",
    "RoundState",
    "behave_paths",
    "behave_paths_python",
    "clear_paths",
    "clear_paths_python",
]

#: Contract masks (rows of ``Net.edge_mask``).
MASK_ALL = 0
MASK_NOT_CB_LOAN = 1
MASK_REPO = 2
MASK_CREDIT_LINE = 3
MASK_PRIVATE_CREDIT = 4
MASK_STABLECOIN = 5
MASK_DEPOSIT = 6
N_MASKS = 7

#: Rows of ``EngineStructure.agent_par`` (``defaultable`` is 1.0 or 0.0).
AGENT_PARAMS = (
    "defaultable",
    "cash_target",
    "equity_ratio0",
    "e0",
    "max_leverage",
    "target_leverage",
    "maintenance_margin",
    "redemption_sensitivity",
    "redemption_gate",
    "capex",
    "spread_max",
)
A_DEFAULTABLE = 0
A_CASH_TARGET = 1
A_EQUITY_RATIO0 = 2
A_E0 = 3
A_MAX_LEVERAGE = 4
A_TARGET_LEVERAGE = 5
A_MAINTENANCE_MARGIN = 6
A_REDEMPTION_SENSITIVITY = 7
A_REDEMPTION_GATE = 8
A_CAPEX = 9
A_SPREAD_MAX = 10

#: Rows of ``EngineStructure.asset_par`` (``tradable`` and ``exponential`` are 1.0 or 0.0;
#: ``dealer_capacity`` is the dealers' total capacity).
ASSET_PARAMS = ("tradable", "exponential", "haircut0", "floor", "dealer_capacity")
K_TRADABLE = 0
K_EXPONENTIAL = 1
K_HAIRCUT0 = 2
K_FLOOR = 3
K_DEALER_CAPACITY = 4

# rows of the work matrices: per agent (V_*), per contract (W_*), per asset (R_*)
V_PEND_VAL = 0
V_ASSETS = 1
V_OWED = 2  # obligations as the behaviour rules see them
V_OWED_NOW = 3  # obligations recomputed from the state
V_AMOUNT = 4
V_FREE = 5
V_TOT = 6
V_BY_B = 7
V_BY_L = 8
V_GAIN = 9
V_MEMBER = 10
V_MEMBER2 = 11
V_MEMBER3 = 12
N_V = 13
W_REPAY = 0
W_SPLIT = 1
W_WEIGHT = 2
N_W = 3
R_ROW = 0
R_ROW2 = 1
R_HAIRCUT = 2
R_Q_UNITS = 3
R_Q = 4
R_KINKED = 5
R_EXEC = 6
R_DROP = 7
N_R = 8

_BANK = int(AgentType.BANK)
_HEDGE_FUND = int(AgentType.HEDGE_FUND)
_ASSET_MANAGER = int(AgentType.ASSET_MANAGER)
_BTC_ETF = int(AgentType.BTC_ETF)
_PRIVATE_CREDIT = int(AgentType.PRIVATE_CREDIT)
_CRYPTO_LEVERAGE = int(AgentType.CRYPTO_LEVERAGE)
_STABLECOIN = int(AgentType.STABLECOIN)
_ALLOCATOR = int(AgentType.ALLOCATOR)
_AI_BORROWER = int(AgentType.AI_BORROWER)


class Net(NamedTuple):
    """The contract network as the kernels read it.

    Attributes
    ----------
    lender, borrower : ndarray of int (E,)
        The contracts' lender and borrower.
    limit : ndarray (E,)
        Credit limits of drawable contracts.
    lend_ptr, lend_edges, borrow_ptr, borrow_edges : ndarray of int
        Each agent's contracts as lender / borrower (CSR: the contracts of agent ``i`` are
        ``edges[ptr[i]:ptr[i + 1]]``, ascending).
    edge_mask : ndarray of bool (N_MASKS, E)
        Contract masks (rows ``MASK_*``).
    mask_ptr, mask_edges : ndarray of int
        The contracts of each mask (CSR, ascending).
    """

    lender: np.ndarray
    borrower: np.ndarray
    limit: np.ndarray
    lend_ptr: np.ndarray
    lend_edges: np.ndarray
    borrow_ptr: np.ndarray
    borrow_edges: np.ndarray
    edge_mask: np.ndarray
    mask_ptr: np.ndarray
    mask_edges: np.ndarray


#: The :class:`~.stablecoins.StablecoinParams` fields among the :class:`Params`.
STABLECOIN_PARAMS = (
    "rho0",
    "rho_threshold",
    "threshold",
    "rho_impairment",
    "rho_crypto",
    "rho_flight",
    "c_arb",
    "phi_arb",
    "psi_panic",
    "pressure_decay",
)


class Params(NamedTuple):
    """Scalar parameters of the kernels.

    Agent indices (``cb``, ``outside``; ``btc`` is the BTC asset, −1 without one), then
    :class:`~.system.EngineParams` and :class:`~.stablecoins.StablecoinParams` fields.
    """

    cb: int
    outside: int
    btc: int
    tol: float
    execution: float
    dealer_kink: float
    haircut_slope: float
    capex_scale: float
    rho0: float
    rho_threshold: float
    threshold: float
    rho_impairment: float
    rho_crypto: float
    rho_flight: float
    c_arb: float
    phi_arb: float
    psi_panic: float
    pressure_decay: float


class EngineStructure(NamedTuple):
    """The static structure of a system as the kernels read it (built once per run).

    Attributes
    ----------
    net : Net
        The contract network.
    type_ptr, type_members : ndarray of int
        Agents of each :class:`~.institutions.AgentType` (CSR, ascending).
    agent_par : ndarray (len(AGENT_PARAMS), N)
        Per-agent parameters and initial ratios (rows ``A_*``; see :mod:`.institutions`).
    asset_par : ndarray (len(ASSET_PARAMS), K)
        Per-asset parameters (rows ``K_*``).
    dealers : ndarray of int (nd,)
        Dealer agents.
    dealer_share : ndarray (nd, K)
        Each dealer's share of the dealers' capacity per asset.
    treasuries : ndarray of int
        T-bill and note assets (Treasury sales statistics).
    waterfall : ndarray of int
        Stablecoin issuers' reserve sale order (T-bills, notes, BTC, crypto, the rest).
    params : Params
        Scalar parameters.
    """

    net: Net
    type_ptr: np.ndarray
    type_members: np.ndarray
    agent_par: np.ndarray
    asset_par: np.ndarray
    dealers: np.ndarray
    dealer_share: np.ndarray
    treasuries: np.ndarray
    waterfall: np.ndarray
    params: Params


class RoundState(NamedTuple):
    """The chunk's arrays a sub-round reads and writes (leading axis: path; in place).

    Ledger (:class:`~.balance_sheet.Ledger`): ``price`` (P, K), ``units`` (P, N, K),
    ``cash`` (P, N), ``face`` and ``mark`` (P, E), ``equity`` (P, N), ``cb_money`` (P,);
    policy: ``net_liquidity`` (P,); the per-path state and statistics of
    :class:`~.engine_state.RunState` of the same names; the per-path inputs
    ``haircut_multiplier``, ``redemption_multiplier``, ``run_multiplier`` (P,) and
    ``impairment`` (P, days).
    """

    price: np.ndarray
    units: np.ndarray
    cash: np.ndarray
    face: np.ndarray
    mark: np.ndarray
    equity: np.ndarray
    cb_money: np.ndarray
    net_liquidity: np.ndarray
    pending: np.ndarray
    edge_due: np.ndarray
    redeem_due: np.ndarray
    commit_due: np.ndarray
    default_day: np.ndarray
    illiquid: np.ndarray
    max_loss: np.ndarray
    btc_hist: np.ndarray
    btc_return: np.ndarray
    spread: np.ndarray
    queue: np.ndarray
    sc_price: np.ndarray
    pressure: np.ndarray
    dealer_units0: np.ndarray
    fire_sales: np.ndarray
    units_sold: np.ndarray
    sc_paid: np.ndarray
    sc_req: np.ndarray
    sc_min: np.ndarray
    tsy_sales: np.ndarray
    agent_sales: np.ndarray
    liquidations: np.ndarray
    margin_calls: np.ndarray
    redemption_requests: np.ndarray
    haircut_multiplier: np.ndarray
    redemption_multiplier: np.ndarray
    run_multiplier: np.ndarray
    impairment: np.ndarray


class RoundBuffers(NamedTuple):
    """Per-round outputs of the kernels (rows of the paths run; read for the event log).

    Attributes
    ----------
    sold : ndarray (P, N, K)
        Units sold by private sellers in the round's clearing.
    pre_price, psi : ndarray (P, K)
        Pre-trade prices and fractional price impacts of the round's clearing.
    sold_value : ndarray (P,)
        Value sold by private sellers (at pre-trade prices).
    margin_call, redemption, liquidation, stablecoin_paid : ndarray (P, N)
        New margin calls, redemption requests, liquidations (value) and stablecoin
        redemptions paid by each agent in the round's behaviour.
    """

    sold: np.ndarray
    pre_price: np.ndarray
    psi: np.ndarray
    sold_value: np.ndarray
    margin_call: np.ndarray
    redemption: np.ndarray
    liquidation: np.ndarray
    stablecoin_paid: np.ndarray


class PathView(NamedTuple):
    """One path's rows of the ledger and of the obligations (views, written in place)."""

    price: np.ndarray  # (K,)
    units: np.ndarray  # (N, K)
    cash: np.ndarray  # (N,)
    face: np.ndarray  # (E,)
    mark: np.ndarray  # (E,)
    equity: np.ndarray  # (N,)
    pending: np.ndarray  # (N, K) sale orders queued
    due: np.ndarray  # (E,) contract amounts due
    redeem: np.ndarray  # (N,) redemptions due
    commit: np.ndarray  # (N,) commitments due
    alive: np.ndarray  # (N,) default day (< 0: alive)


class Work(NamedTuple):
    """Work arrays of the behaviour rules (reused across paths)."""

    avail: np.ndarray  # (N, K) units not queued for sale
    orders: np.ndarray  # (N, K) the round's new sale orders
    v: np.ndarray  # (N_V, N)
    w: np.ndarray  # (N_W, E)
    r: np.ndarray  # (N_R, K)


# --------------------------------------------------------------------------- contracts
def _path_view(st: RoundState, p: int) -> PathView:
    """Path ``p``'s rows of the chunk's ledger and obligation arrays (views, not copies)."""
    return PathView(
        st.price[p],
        st.units[p],
        st.cash[p],
        st.face[p],
        st.mark[p],
        st.equity[p],
        st.pending[p],
        st.edge_due[p],
        st.redeem_due[p],
        st.commit_due[p],
        st.default_day[p],
    )


def _agent_sum(ptr: np.ndarray, edges: np.ndarray, values: np.ndarray, a: int) -> float:
    """``Σ values[e]`` over agent ``a``'s contracts (one side), ascending."""
    total = 0.0
    for j in range(ptr[a], ptr[a + 1]):
        total += values[edges[j]]
    return total


def _agent_masked_sum(
    ptr: np.ndarray, edges: np.ndarray, values: np.ndarray, mask: np.ndarray, a: int
) -> float:
    """``Σ values[e]`` over agent ``a``'s contracts (one side) of ``mask``, ascending."""
    total = 0.0
    for j in range(ptr[a], ptr[a + 1]):
        e = edges[j]
        if mask[e]:
            total += values[e]
    return total


def _owed(
    ptr: np.ndarray,
    edges: np.ndarray,
    due: np.ndarray,
    redeem: np.ndarray,
    commit: np.ndarray,
    out: np.ndarray,
) -> None:
    """Obligations due per agent (N,): contracts due + redemptions + commitments.

    ``ptr``/``edges`` are the agents' contracts as borrowers.
    """
    for i in range(out.shape[0]):
        out[i] = _agent_sum(ptr, edges, due, i) + redeem[i] + commit[i]


def _split_weight(
    e: int, weight: np.ndarray, face: np.ndarray, due: np.ndarray, use_weight: bool
) -> float:
    """Weight of contract ``e`` in :func:`_pro_rata`: ``weight[e]``, or ``max(face − due, 0)``."""
    if use_weight:
        return weight[e]
    w = face[e] - due[e]
    return w if w >= 0.0 else 0.0


def _pro_rata(
    ptr: np.ndarray,
    edges: np.ndarray,
    mask: np.ndarray,
    face: np.ndarray,
    due: np.ndarray,
    amount: np.ndarray,
    weight: np.ndarray,
    use_weight: bool,
    target: np.ndarray,
) -> bool:
    """Split agent amounts (N,) across their contracts of ``mask`` pro rata to a weight.

    The weight is ``weight`` (E,) when ``use_weight``, else the part of each contract not
    already due (``face − due``), so voluntary repayments never eat into amounts reserved
    for posted obligations. Each contract of an agent (its side given by ``ptr``/``edges``)
    gets ``min(amount · w / Σ w, w)``, the sum running over the agent's contracts of the
    mask; the split is *added* to ``target`` (E,). Returns False (and adds nothing) when no
    amount is positive.
    """
    positive = False
    for i in range(amount.shape[0]):
        if amount[i] > 0:
            positive = True
            break
    if not positive:
        return False
    for a in range(amount.shape[0]):
        x = amount[a]
        if x == 0.0:
            continue
        tot = 0.0
        for j in range(ptr[a], ptr[a + 1]):
            e = edges[j]
            if mask[e]:
                tot += _split_weight(e, weight, face, due, use_weight)
        for j in range(ptr[a], ptr[a + 1]):
            e = edges[j]
            if mask[e]:
                w = _split_weight(e, weight, face, due, use_weight)
                share = w / tot if tot > 0 else 0.0
                y = x * share
                target[e] = target[e] + (y if y <= w else w)
    return True


def _edge_frac(
    who: np.ndarray, edges: np.ndarray, amount: np.ndarray, capacity: np.ndarray, tot: np.ndarray
) -> None:
    """Scale contract amounts (E,) in place to what their payers (N,) can pay.

    ``amount`` is zero outside the contracts ``edges``; ``who`` names each contract's payer,
    who pays ``min(1, capacity / Σ amounts)`` of its contracts' amounts.
    """
    tot[:] = 0.0
    for j in range(edges.shape[0]):
        e = edges[j]
        tot[who[e]] += amount[e]
    for j in range(edges.shape[0]):
        e = edges[j]
        t = tot[who[e]]
        if t > 0:
            f = capacity[who[e]] / t
            f = f if f >= 0.0 else 0.0
            f = f if f <= 1.0 else 1.0
        else:
            f = 0.0
        amount[e] = amount[e] * f


def _repay_edges(net: Net, pv: PathView, amount: np.ndarray, v: np.ndarray) -> None:
    """Borrowers pay ``amount`` (E,) in cash to lenders (:meth:`.Ledger.repay_edges`).

    The lender's asset falls by ``amount · mark`` while its cash rises by ``amount``; the
    difference is a realised gain posted to the lender's equity. Zero amounts are skipped.
    """
    by_b = v[V_BY_B]
    by_l = v[V_BY_L]
    gain = v[V_GAIN]
    by_b[:] = 0.0
    by_l[:] = 0.0
    gain[:] = 0.0
    for e in range(amount.shape[0]):
        x = amount[e]
        if x != 0.0:
            by_b[net.borrower[e]] += x
            by_l[net.lender[e]] += x
            gain[net.lender[e]] += x * (1.0 - pv.mark[e])
            pv.face[e] = pv.face[e] - x
    for i in range(by_b.shape[0]):
        pv.cash[i] = pv.cash[i] - by_b[i]
        pv.cash[i] = pv.cash[i] + by_l[i]
        pv.equity[i] = pv.equity[i] + gain[i]


def _draw_edges(net: Net, pv: PathView, amount: np.ndarray, v: np.ndarray) -> None:
    """Lenders advance ``amount`` (E,) at par (:meth:`.Ledger.draw_edges`).

    Every contract's mark becomes the face-weighted average of the old book and the new
    par lending (par when the new face is not positive), so neither side's equity moves.
    """
    face = pv.face
    mark = pv.mark
    by_b = v[V_BY_B]
    by_l = v[V_BY_L]
    by_b[:] = 0.0
    by_l[:] = 0.0
    for e in range(amount.shape[0]):
        new_face = face[e] + amount[e]
        if new_face > 0:
            mark[e] = (face[e] * mark[e] + amount[e]) / new_face
        else:
            mark[e] = 1.0
        face[e] = new_face
        if amount[e] != 0.0:
            by_b[net.borrower[e]] += amount[e]
            by_l[net.lender[e]] += amount[e]
    for i in range(by_b.shape[0]):
        pv.cash[i] = pv.cash[i] + by_b[i]
        pv.cash[i] = pv.cash[i] - by_l[i]


def _mask_edges(net: Net, mask_id: int) -> np.ndarray:
    """The contracts of a mask (ascending)."""
    return net.mask_edges[net.mask_ptr[mask_id] : net.mask_ptr[mask_id + 1]]


def _split_repayment(
    net: Net, pv: PathView, wk: Work, members: np.ndarray, values: np.ndarray, mask: np.ndarray
) -> None:
    """Add the members' repayments ``values`` to the round's, split pro rata.

    Each member's repayment is split over its borrowed contracts of a mask, net of dues.
    """
    amount = wk.v[V_AMOUNT]
    amount[:] = 0.0
    for m in range(members.shape[0]):
        amount[members[m]] = values[m]
    _pro_rata(
        net.borrow_ptr,
        net.borrow_edges,
        mask,
        pv.face,
        pv.due,
        amount,
        wk.w[W_WEIGHT],
        False,
        wk.w[W_REPAY],
    )


def _draw(
    net: Net,
    pv: PathView,
    wk: Work,
    members: np.ndarray,
    need: np.ndarray,
    mask: np.ndarray,
    edges: np.ndarray,
    tol: float,
) -> bool:
    """Members draw ``need`` on undrawn contracts of a mask; returns activity.

    Lenders pay at once from their free cash (cash not reserved for obligations due). The
    request is split pro rata to ``min(undrawn room, lender free cash)`` and re-split up to
    three times, so cash-constrained lenders do not leave need unserved that others could
    fund. ``mask`` (E,) and ``edges`` are the drawable contracts; ``need`` (members,) is
    consumed.
    """
    amount = wk.v[V_AMOUNT]
    owed = wk.v[V_OWED_NOW]
    free = wk.v[V_FREE]
    split = wk.w[W_SPLIT]
    weight = wk.w[W_WEIGHT]
    acted = False
    for _ in range(3):
        more = False
        for m in range(members.shape[0]):
            if need[m] > tol:
                more = True
        if not more:
            break
        amount[:] = 0.0
        for m in range(members.shape[0]):
            amount[members[m]] = need[m]
        _owed(net.borrow_ptr, net.borrow_edges, pv.due, pv.redeem, pv.commit, owed)
        for i in range(free.shape[0]):
            f = pv.cash[i] - owed[i]
            free[i] = f if f >= 0.0 else 0.0
        for j in range(edges.shape[0]):
            e = edges[j]
            room = net.limit[e] - pv.face[e]
            room = room if room >= 0.0 else 0.0
            lend = net.lender[e]
            room = room if room <= free[lend] else free[lend]
            weight[e] = room if pv.alive[lend] < 0 else 0.0
        split[:] = 0.0
        if not _pro_rata(
            net.borrow_ptr,
            net.borrow_edges,
            mask,
            pv.face,
            pv.due,
            amount,
            weight,
            True,
            split,
        ):
            break
        _edge_frac(net.lender, edges, split, free, wk.v[V_TOT])
        drawn = False
        for j in range(edges.shape[0]):
            e = edges[j]
            if split[e] > tol:
                drawn = True
            else:
                split[e] = 0.0
        if not drawn:
            break
        _draw_edges(net, pv, split, wk.v)
        got = 0.0
        for m in range(members.shape[0]):
            g = _agent_sum(net.borrow_ptr, net.borrow_edges, split, members[m])
            need[m] = need[m] - g
            got += g
        if got > tol:
            acted = True
    return acted


# --------------------------------------------------------------------------- sale rules
def _pecking_row(
    need: float, available: np.ndarray, price: np.ndarray, order: np.ndarray, out: np.ndarray
) -> None:
    """One agent's units to sell raising ``need`` in the asset ``order`` (into ``out`` (K,)).

    Row form of :func:`~.institutions.pecking_sales`; assets outside ``order`` get 0.
    """
    out[:] = 0.0
    remaining = need if need >= 0.0 else 0.0
    for j in range(order.shape[0]):
        k = order[j]
        val = available[k] * price[k]
        take = remaining if remaining <= val else val
        frac = take / val if val > 0 else 0.0
        out[k] = frac * available[k]
        remaining = remaining - take


def _deleveraging_fraction(
    assets: float, equity: float, marketable: float, max_leverage: float, target_leverage: float
) -> float:
    """Cont–Schaanning ``Γ`` (:func:`~.institutions.bank_deleveraging_fraction`)."""
    if not (equity > 0 and marketable > 0):
        return 0.0
    if not assets / equity > max_leverage:
        return 0.0
    need = (assets - target_leverage * equity) / marketable
    return need if need <= 1.0 else 1.0


def _hedge_fund_sale(
    assets: float, equity: float, haircut_value: float, equity_ratio0: float
) -> float:
    """Equity-ratio restoring sale (:func:`~.institutions.hedge_fund_sales`)."""
    if not equity > 0:
        return 0.0
    if assets > 0:
        ell = equity / assets
        eml = haircut_value / assets
    else:
        ell = math.inf
        eml = 0.0
    buffer = eml + (equity_ratio0 - eml) / 3.0
    if not ell < buffer:
        return 0.0
    target = eml + 2.0 * (equity_ratio0 - eml) / 3.0
    target = target if target >= 1e-12 else 1e-12
    sale = assets - equity / target
    return sale if sale >= 0.0 else 0.0


# --------------------------------------------------------------------------- clearing
def _clear_path(
    pv: PathView,
    apar: np.ndarray,
    prm: Params,
    dealers: np.ndarray,
    dealer_share: np.ndarray,
    dealer_units0: np.ndarray,
    n: int,
    open_k: np.ndarray,
    depth: np.ndarray,
    qe: np.ndarray,
    sold: np.ndarray,
    pre: np.ndarray,
    psi: np.ndarray,
    delta: np.ndarray,
    r: np.ndarray,
) -> None:
    """One path's clearing of its queued orders (:func:`~.markets.clear`).

    Writes the orders (``sold``, units incl. central-bank purchases), pre-trade prices and
    impacts of the round.
    """
    N, K = delta.shape
    price = pv.price
    units = pv.units
    cash = pv.cash
    q_units = r[R_Q_UNITS]
    q = r[R_Q]
    kinked = r[R_KINKED]
    # orders of open markets leave the queue; central-bank purchases in round 1
    q_units[:] = 0.0
    for i in range(N):
        for k in range(K):
            s = pv.pending[i, k] * (1.0 if open_k[k] else 0.0)
            pv.pending[i, k] = pv.pending[i, k] - s
            if n == 0 and i == prm.cb:
                s = s + qe[k]
            delta[i, k] = -s
            sold[i, k] = s
            q_units[k] += s
    traded = False
    for k in range(K):
        pre[k] = price[k]
        q[k] = q_units[k] * price[k]
        psi[k] = 0.0
        if q[k] != 0:
            traded = True
    if not traded:
        return
    # dealers buy up to their remaining capacity (limited by cash), outside the rest
    nd = dealers.shape[0]
    if nd:
        cash_d = 0.0
        for d in range(nd):
            c = cash[dealers[d]]
            cash_d += c if c >= 0.0 else 0.0
        spend = 0.0
        for k in range(K):
            used = 0.0
            for d in range(nd):
                used += units[dealers[d], k] - dealer_units0[d, k]
            used = (used if used >= 0.0 else 0.0) * price[k]
            remaining = apar[K_DEALER_CAPACITY, k] - used
            remaining = remaining if remaining >= 0.0 else 0.0
            buy = q[k] if q[k] >= 0.0 else 0.0
            kinked[k] = buy if buy <= remaining else remaining
            spend += kinked[k]
        scale = 1.0
        if spend > cash_d:
            scale = cash_d / (spend if spend > 0 else 1.0)
        for k in range(K):
            buy = kinked[k] * scale
            bought = 0.0
            for d in range(nd):
                u = (buy / price[k]) * dealer_share[d, k]
                delta[dealers[d], k] += u
                bought += u
            delta[prm.outside, k] += q_units[k] - bought
            kinked[k] = buy + (q[k] - buy) / prm.dealer_kink if q[k] > 0 else q[k]
    else:
        for k in range(K):
            delta[prm.outside, k] += q_units[k]
            kinked[k] = q[k]
    # impact Ψ, execution at P(1 − αΨ), one common mark P(1 − Ψ)
    ex = r[R_EXEC]
    drop = r[R_DROP]
    for k in range(K):
        if apar[K_EXPONENTIAL, k] > 0:
            room = 1.0 - apar[K_FLOOR, k] / price[k]
            x = room * (1.0 - math.exp(-kinked[k] / (room * depth[k])))
        else:
            x = kinked[k] / depth[k]
            x = x if x <= 1.0 else 1.0
        psi[k] = x if x <= MAX_IMPACT else MAX_IMPACT
        ex[k] = price[k] * (1.0 - prm.execution * psi[k])
        drop[k] = price[k] * psi[k]
    keep = 1.0 - prm.execution
    for i in range(N):
        loss = 0.0
        paid = 0.0
        for k in range(K):
            loss += (units[i, k] + keep * delta[i, k]) * drop[k]
            paid += delta[i, k] * ex[k]
        pv.equity[i] = pv.equity[i] - loss
        cash[i] = cash[i] - paid
        for k in range(K):
            units[i, k] = units[i, k] + delta[i, k]
    for k in range(K):
        price[k] = price[k] * (1.0 - psi[k])


def _record_sales(
    sold: np.ndarray,
    pre: np.ndarray,
    cb: int,
    crypto: np.ndarray,
    treasuries: np.ndarray,
    fire_sales: np.ndarray,
    units_sold: np.ndarray,
    agent_sales: np.ndarray,
    r: np.ndarray,
) -> tuple[float, float, float]:
    """Keep private sellers' sales in ``sold`` and add them to the path's statistics.

    The central bank's orders and purchases are dropped. Returns the value sold in all, by
    crypto-leverage buckets and of Treasuries (at pre-trade prices).
    """
    N, K = sold.shape
    units_k = r[R_Q_UNITS]
    value_k = r[R_Q]
    units_k[:] = 0.0
    value_k[:] = 0.0
    for i in range(N):
        for k in range(K):
            s = sold[i, k]
            s = s if s >= 0.0 and i != cb else 0.0
            sold[i, k] = s
            units_k[k] += s
            value_k[k] += s * pre[k]
            agent_sales[i, k] = agent_sales[i, k] + s * pre[k]
    liquidated = 0.0
    for j in range(crypto.shape[0]):
        value = 0.0
        for k in range(K):
            value += sold[crypto[j], k] * pre[k]
        liquidated += value
    total = 0.0
    for k in range(K):
        fire_sales[k] = fire_sales[k] + value_k[k]
        units_sold[k] = units_sold[k] + units_k[k]
        total += value_k[k]
    treasury = 0.0
    for j in range(treasuries.shape[0]):
        treasury += value_k[treasuries[j]]
    return total, liquidated, treasury


def clear_paths_python(
    sx: EngineStructure,
    st: RoundState,
    buf: RoundBuffers,
    rows: np.ndarray,
    t: int,
    n: int,
    open_k: np.ndarray,
    depth: np.ndarray,
    qe: np.ndarray,
) -> None:
    """Clear the queued orders of open markets on the paths ``rows`` (model-spec §7 step 3a).

    Per path: orders of open markets leave the queue (``pending``), the central bank's
    purchases ``qe`` (P, K; negative units, round 1 only) join them, and all clear
    simultaneously as in :func:`~powderkeg.contagion.markets.clear` (dealers first, then the
    outside market; impact on the kinked flow; execution at ``P(1 − αΨ)``, one common mark
    ``P(1 − Ψ)``). A path with no net sale does not trade. The central bank pays with new
    money (``cb_money``, ``net_liquidity``); private sales (at pre-trade prices) are added
    to ``fire_sales``, ``units_sold``, ``agent_sales``, ``liquidations`` (crypto-leverage
    buckets) and ``tsy_sales`` of day ``t``, and recorded in ``buf``.

    Parameters
    ----------
    sx : EngineStructure
    st : RoundState
        Updated in place (rows ``rows``).
    buf : RoundBuffers
        Receives ``sold``, ``pre_price``, ``psi`` and ``sold_value`` of the rows.
    rows : ndarray of int
        Paths to run.
    t, n : int
        Day and sub-round (0 = first).
    open_k : ndarray of bool (K,)
        Open markets.
    depth : ndarray (P, K)
        Market depth of the day.
    qe : ndarray (P, K)
        Central-bank purchases (units, negative) of round 1.
    """
    N, K = st.units.shape[1], st.units.shape[2]
    prm = sx.params
    delta = np.zeros((N, K))
    r = np.zeros((N_R, K))
    crypto = sx.type_members[sx.type_ptr[_CRYPTO_LEVERAGE] : sx.type_ptr[_CRYPTO_LEVERAGE + 1]]
    for j in range(rows.shape[0]):
        p = rows[j]
        pv = _path_view(st, p)
        _clear_path(
            pv,
            sx.asset_par,
            prm,
            sx.dealers,
            sx.dealer_share,
            st.dealer_units0[p],
            n,
            open_k,
            depth[p],
            qe[p],
            buf.sold[p],
            buf.pre_price[p],
            buf.psi[p],
            delta,
            r,
        )
        # the central bank pays for purchases with newly created money (logged)
        created = -st.cash[p, prm.cb]
        st.cash[p, prm.cb] = 0.0
        st.cb_money[p] = st.cb_money[p] + created
        st.net_liquidity[p] = st.net_liquidity[p] + created
        total, liquidated, treasury = _record_sales(
            buf.sold[p],
            buf.pre_price[p],
            prm.cb,
            crypto,
            sx.treasuries,
            st.fire_sales[p],
            st.units_sold[p],
            st.agent_sales[p],
            r,
        )
        st.liquidations[p, t] = st.liquidations[p, t] + liquidated
        if sx.treasuries.shape[0]:
            st.tsy_sales[p, t] = st.tsy_sales[p, t] + treasury
        buf.sold_value[p] = total


# --------------------------------------------------------------------------- behaviour
def _dead(net: Net, apar: np.ndarray, defaultable: np.ndarray, pv: PathView, wk: Work) -> None:
    """Defaulted agents sell everything and pay creditors pro rata with all their cash."""
    N, K = wk.avail.shape
    amount = wk.v[V_AMOUNT]
    any_dead = False
    amount[:] = 0.0
    for i in range(N):
        if pv.alive[i] >= 0 and defaultable[i] > 0:
            any_dead = True
            for k in range(K):
                if apar[K_TRADABLE, k] > 0:
                    wk.orders[i, k] = wk.orders[i, k] + wk.avail[i, k]
            amount[i] = pv.cash[i] if pv.cash[i] >= 0.0 else 0.0
    if any_dead:
        _pro_rata(
            net.borrow_ptr,
            net.borrow_edges,
            net.edge_mask[MASK_ALL],
            pv.face,
            pv.due,
            amount,
            wk.w[W_WEIGHT],
            False,
            wk.w[W_REPAY],
        )


def _banks(
    net: Net,
    par: np.ndarray,
    apar: np.ndarray,
    tol: float,
    members: np.ndarray,
    pv: PathView,
    wk: Work,
    order: np.ndarray,
    illiquid: np.ndarray,
) -> None:
    """Banks: repay above the cash target, raise cash below it, Cont–Schaanning rule."""
    if members.shape[0] == 0:
        return
    K = wk.avail.shape[1]
    price = pv.price
    owed = wk.v[V_OWED]
    assets = wk.v[V_ASSETS]
    pend_val = wk.v[V_PEND_VAL]
    excess = wk.v[V_MEMBER]
    for m in range(members.shape[0]):
        i = members[m]
        tgt = par[A_CASH_TARGET, i]
        # repay x so that cash − x = owed + c (A − x): x = (cash − owed − c A)/(1 − c)
        x = (pv.cash[i] - owed[i] - tgt * assets[i]) / (1.0 - tgt)
        excess[m] = x if pv.alive[i] < 0 and x > tol else 0.0
    _split_repayment(net, pv, wk, members, excess, net.edge_mask[MASK_NOT_CB_LOAN])
    liq = wk.r[R_ROW]
    for m in range(members.shape[0]):
        i = members[m]
        live = pv.alive[i] < 0
        tgt = par[A_CASH_TARGET, i]
        a = assets[i] - excess[m]
        c = pv.cash[i] - excess[m]
        need = 0.0
        if live and c < 0.9 * tgt * a + owed[i] - tol:
            need = owed[i] + tgt * a - c - pend_val[i]
        _pecking_row(need, wk.avail[i], price, order, liq)
        mkt = 0.0
        liq_val = 0.0
        for k in range(K):
            if apar[K_TRADABLE, k] > 0:
                mkt += (wk.avail[i, k] - liq[k]) * price[k]
            liq_val += liq[k] * price[k]
        gamma = 0.0
        if live:
            gamma = _deleveraging_fraction(
                a - pend_val[i] - liq_val,
                pv.equity[i],
                mkt,
                par[A_MAX_LEVERAGE, i],
                par[A_TARGET_LEVERAGE, i],
            )
        for k in range(K):
            rest = wk.avail[i, k] - liq[k]
            wk.orders[i, k] = wk.orders[i, k] + (liq[k] + gamma * rest * apar[K_TRADABLE, k])
        e = pv.equity[i]
        illiquid[i] = live and e > 0 and mkt <= tol and a / e > par[A_MAX_LEVERAGE, i]


def _hedge_funds(
    net: Net,
    par: np.ndarray,
    apar: np.ndarray,
    prm: Params,
    members: np.ndarray,
    pv: PathView,
    wk: Work,
    order: np.ndarray,
    bank: bool,
    haircut_multiplier: float,
    margin_call: np.ndarray,
) -> tuple[bool, float]:
    """Hedge funds: margin calls, repayments, pre-emptive sales and the equity-ratio buffer.

    Returns the activity and the margin calls posted.
    """
    if members.shape[0] == 0:
        return False, 0.0
    K = wk.avail.shape[1]
    tol = prm.tol
    price = pv.price
    units = pv.units
    owed = wk.v[V_OWED]
    assets = wk.v[V_ASSETS]
    pend_val = wk.v[V_PEND_VAL]
    repo_mask = net.edge_mask[MASK_REPO]
    h = wk.r[R_HAIRCUT]
    for k in range(K):
        if apar[K_TRADABLE, k] > 0:
            x = haircut_multiplier * apar[K_HAIRCUT0, k]
            fall = 1.0 - price[k] / 1.0
            x = x + prm.haircut_slope * (fall if fall >= 0.0 else 0.0)
            x = x if x >= 0.0 else 0.0
            h[k] = x if x <= 1.0 else 1.0
        else:
            h[k] = 1.0
    # margin calls max(0, repo − collateral) less repo already due, per member
    mc = wk.v[V_MEMBER]
    for m in range(members.shape[0]):
        i = members[m]
        coll = 0.0
        for k in range(K):
            coll += (1.0 - h[k]) * (units[i, k] * price[k])
        repo = _agent_masked_sum(net.borrow_ptr, net.borrow_edges, pv.face, repo_mask, i)
        call = repo - coll
        call = call if call >= 0.0 else 0.0
        mc[m] = call - _agent_masked_sum(net.borrow_ptr, net.borrow_edges, pv.due, repo_mask, i)
    acted = False
    called = 0.0
    if bank:
        # posted on bank days, due at the next settlement
        amount = wk.v[V_AMOUNT]
        amount[:] = 0.0
        for m in range(members.shape[0]):
            i = members[m]
            x = mc[m] if pv.alive[i] < 0 else 0.0
            x = x if x > tol else 0.0
            amount[i] = x
            margin_call[i] = x
            called += x
        # (the split of each fund reads its contracts' dues before adding to them)
        if _pro_rata(
            net.borrow_ptr,
            net.borrow_edges,
            repo_mask,
            pv.face,
            pv.due,
            amount,
            wk.w[W_WEIGHT],
            False,
            pv.due,
        ):
            _owed(net.borrow_ptr, net.borrow_edges, pv.due, pv.redeem, pv.commit, owed)
            if called > tol:
                acted = True
    excess = wk.v[V_MEMBER2]
    for m in range(members.shape[0]):
        i = members[m]
        tgt = par[A_CASH_TARGET, i]
        projected = mc[m] if mc[m] >= 0.0 else 0.0
        x = (pv.cash[i] - owed[i] - projected - tgt * assets[i]) / (1.0 - tgt)
        excess[m] = x if pv.alive[i] < 0 and x > tol else 0.0
    _split_repayment(net, pv, wk, members, excess, repo_mask)
    sell = wk.r[R_ROW]
    for m in range(members.shape[0]):
        i = members[m]
        if pv.alive[i] >= 0:
            continue
        tgt = par[A_CASH_TARGET, i]
        a = assets[i] - excess[m]
        c = pv.cash[i] - excess[m]
        projected = mc[m] if mc[m] >= 0.0 else 0.0  # margin call not yet posted
        floor_cash = owed[i] + projected
        need = 0.0
        if c < 0.9 * tgt * a + floor_cash - tol:
            need = floor_cash + tgt * a - c - pend_val[i]
        hv = 0.0
        for k in range(K):
            hv += h[k] * (units[i, k] * price[k])
        need = (need if need >= 0.0 else 0.0) + _hedge_fund_sale(
            a - pend_val[i], pv.equity[i], hv, par[A_EQUITY_RATIO0, i]
        )
        _pecking_row(need, wk.avail[i], price, order, sell)
        for k in range(K):
            wk.orders[i, k] = wk.orders[i, k] + sell[k]
    return acted, called


def _funds(
    net: Net,
    par: np.ndarray,
    apar: np.ndarray,
    prm: Params,
    members: np.ndarray,
    pv: PathView,
    wk: Work,
    typ: int,
    n: int,
    bank: bool,
    redemption_multiplier: float,
    btc_hist: np.ndarray,
    max_loss: np.ndarray,
    redemption: np.ndarray,
) -> tuple[bool, float]:
    """Open-ended funds and ETFs: redemptions (paid next business day); PC funds gated.

    Returns the activity and the redemptions requested.
    """
    if members.shape[0] == 0:
        return False, 0.0
    K = wk.avail.shape[1]
    tol = prm.tol
    owed = wk.v[V_OWED]
    acted = False
    requested = 0.0
    if n == 0 and bank:
        for m in range(members.shape[0]):
            i = members[m]
            kappa = par[A_REDEMPTION_SENSITIVITY, i] * redemption_multiplier
            nav = pv.equity[i]
            nav_pos = nav if nav >= 0.0 else 0.0
            if typ == _BTC_ETF and prm.btc >= 0:
                r5 = btc_hist[-1] / btc_hist[0] - 1.0
                req = kappa * (-r5 if -r5 >= 0.0 else 0.0) * nav_pos
            else:
                nav0 = par[A_E0, i]
                loss = 1.0 - nav / nav0 if nav0 > 0 else 0.0
                old = max_loss[i]
                new_max = old if old >= loss else loss
                req = kappa * nav_pos * (new_max - old)
                max_loss[i] = new_max
            g = par[A_REDEMPTION_GATE, i]
            if not math.isinf(g):
                gate = g * nav_pos
                req = req if req <= gate else gate
            req = req if pv.alive[i] < 0 else 0.0
            req = req if req > tol else 0.0
            redemption[i] = req
            pv.redeem[i] = pv.redeem[i] + req
            owed[i] = owed[i] + req
            requested += req
        if requested > tol:
            acted = True
    if typ == _PRIVATE_CREDIT:
        need = wk.v[V_MEMBER]
        for m in range(members.shape[0]):
            i = members[m]
            x = owed[i] - pv.cash[i] if pv.alive[i] < 0 else 0.0
            need[m] = x if x > tol else 0.0
        lines = _mask_edges(net, MASK_CREDIT_LINE)
        drew = _draw(net, pv, wk, members, need, net.edge_mask[MASK_CREDIT_LINE], lines, tol)
        return drew or acted, requested
    for m in range(members.shape[0]):
        i = members[m]
        tgt = par[A_CASH_TARGET, i]
        a = wk.v[V_ASSETS, i]
        if not (pv.alive[i] < 0 and pv.cash[i] < 0.9 * tgt * a + owed[i] - tol):
            continue
        need = owed[i] + tgt * a - pv.cash[i] - wk.v[V_PEND_VAL, i]
        value = 0.0
        for k in range(K):
            if apar[K_TRADABLE, k] > 0:
                value += wk.avail[i, k] * pv.price[k]
        gamma = 0.0
        if value > 0:
            gamma = (need if need >= 0.0 else 0.0) / value
            gamma = gamma if gamma <= 1.0 else 1.0
        for k in range(K):
            if apar[K_TRADABLE, k] > 0:
                wk.orders[i, k] = wk.orders[i, k] + gamma * wk.avail[i, k]
    return acted, requested


def _crypto_buckets(
    net: Net,
    par: np.ndarray,
    apar: np.ndarray,
    tol: float,
    members: np.ndarray,
    pv: PathView,
    wk: Work,
    liquidation: np.ndarray,
) -> None:
    """Crypto leverage buckets: liquidated below the maintenance margin; repay with cash."""
    if members.shape[0] == 0:
        return
    K = wk.avail.shape[1]
    excess = wk.v[V_MEMBER]
    for m in range(members.shape[0]):
        i = members[m]
        live = pv.alive[i] < 0
        value = 0.0
        for k in range(K):
            if apar[K_TRADABLE, k] > 0:
                value += pv.units[i, k] * pv.price[k]
        ratio = pv.equity[i] / value if value > 0 else math.inf
        if live and ratio < par[A_MAINTENANCE_MARGIN, i]:
            sold = 0.0
            for k in range(K):
                if apar[K_TRADABLE, k] > 0:
                    wk.orders[i, k] = wk.orders[i, k] + wk.avail[i, k]
                    sold += wk.avail[i, k] * pv.price[k]
            liquidation[i] = sold
        excess[m] = pv.cash[i] if live and pv.cash[i] > tol else 0.0
    _split_repayment(net, pv, wk, members, excess, net.edge_mask[MASK_REPO])


def _commitments(
    net: Net,
    par: np.ndarray,
    prm: Params,
    members: np.ndarray,
    pv: PathView,
    wk: Work,
    typ: int,
    order: np.ndarray,
    n: int,
    bank: bool,
    spread: np.ndarray,
) -> bool:
    """Allocators and AI borrowers fund commitments / capex (AI: drawing private credit)."""
    if members.shape[0] == 0:
        return False
    K = wk.avail.shape[1]
    tol = prm.tol
    owed = wk.v[V_OWED]
    scale = prm.capex_scale
    if n == 0 and bank and scale > 0:
        for m in range(members.shape[0]):
            i = members[m]
            capex = par[A_CAPEX, i] * scale
            if typ == _AI_BORROWER and not spread[m] < par[A_SPREAD_MAX, i]:
                capex = 0.0
            capex = capex if pv.alive[i] < 0 else 0.0
            pv.commit[i] = pv.commit[i] + capex
            owed[i] = owed[i] + capex
    short = wk.v[V_MEMBER]
    for m in range(members.shape[0]):
        i = members[m]
        short[m] = owed[i] - pv.cash[i] if pv.alive[i] < 0 else 0.0
    if typ == _AI_BORROWER:
        for m in range(members.shape[0]):
            short[m] = short[m] if short[m] > tol else 0.0
        loans = _mask_edges(net, MASK_PRIVATE_CREDIT)
        return _draw(net, pv, wk, members, short, net.edge_mask[MASK_PRIVATE_CREDIT], loans, tol)
    sell = wk.r[R_ROW]
    for m in range(members.shape[0]):
        i = members[m]
        need = short[m] - wk.v[V_PEND_VAL, i] if short[m] > tol else 0.0
        _pecking_row(need, wk.avail[i], pv.price, order, sell)
        for k in range(K):
            wk.orders[i, k] = wk.orders[i, k] + sell[k]
    return False


def _stablecoins(
    net: Net,
    apar: np.ndarray,
    prm: Params,
    members: np.ndarray,
    waterfall: np.ndarray,
    pv: PathView,
    wk: Work,
    n: int,
    bank: bool,
    impairment: float,
    btc_return: float,
    run_multiplier: float,
    queue: np.ndarray,
    sc_price: np.ndarray,
    pressure: np.ndarray,
    paid_out: np.ndarray,
    flows: np.ndarray,
) -> bool:
    """Issuer day (model-spec §4.3): coverage, price, requests, waterfall payments, sales.

    ``flows`` (3,) receives the requests, the lowest secondary price (round 1) and the
    redemptions paid; returns the activity.
    """
    J = members.shape[0]
    K = wk.avail.shape[1]
    tol = prm.tol
    price = pv.price
    face = pv.face
    due = pv.due
    token = net.edge_mask[MASK_STABLECOIN]
    deposit = net.edge_mask[MASK_DEPOSIT]
    keep = 1.0 - impairment
    acted = False
    supply = wk.v[V_MEMBER]
    dep_acc = wk.v[V_MEMBER2]
    for j in range(J):
        i = members[j]
        supply[j] = _agent_masked_sum(net.borrow_ptr, net.borrow_edges, face, token, i)
        # accessible deposits: at live banks, less the impaired share
        acc = 0.0
        for jj in range(net.lend_ptr[i], net.lend_ptr[i + 1]):
            e = net.lend_edges[jj]
            if deposit[e] and pv.alive[net.borrower[e]] < 0:
                acc += face[e] * 1.0 * keep
        dep_acc[j] = acc
    if n == 0:
        below_all = 0.0
        for j in range(J):
            below_all += 1.0 if sc_price[j] < prm.threshold else 0.0
        fall = -btc_return if -btc_return >= 0.0 else 0.0
        lowest = math.inf
        requested = 0.0
        for j in range(J):
            i = members[j]
            live = pv.alive[i] < 0
            sec = 0.0
            for k in range(K):
                if apar[K_TRADABLE, k] > 0:
                    sec += pv.units[i, k] * price[k]
            kappa = (pv.cash[i] + dep_acc[j] + sec) / supply[j] if supply[j] > 0 else math.inf
            short = 1.0 - kappa
            short = short if short >= 0.0 else 0.0
            if bank and live:
                new_price = 1.0 - prm.c_arb - prm.phi_arb * short
            else:
                new_price = (kappa if kappa <= 1.0 else 1.0) - prm.psi_panic * pressure[j]
            new_price = new_price if new_price >= 1e-6 else 1e-6
            new_price = new_price if new_price <= 1.0 else 1.0
            below = 1.0 if sc_price[j] < prm.threshold else 0.0
            peers = (below_all - below) / (J - 1 if J > 1 else 1)
            cover = 1.0 - (kappa if kappa <= 1.0 else 1.0)
            stress = (
                prm.rho_threshold * below
                + prm.rho_impairment * (cover if cover >= 0.0 else 0.0)
                + prm.rho_crypto * fall
                + prm.rho_flight * peers
            )
            rho = prm.rho0 + run_multiplier * stress
            rho = rho if rho >= 0.0 else 0.0
            rho = rho if rho <= 1.0 else 1.0
            # background churn ρ₀ is matched by new minting: net requests (ρ − ρ₀) S
            req = (rho - prm.rho0) * supply[j] if live else 0.0
            queue[j] = queue[j] + req
            requested += req
            pressure[j] = prm.pressure_decay * pressure[j] + (1 - prm.pressure_decay) * rho
            sc_price[j] = new_price
            lowest = new_price if new_price < lowest else lowest
        flows[0] = requested
        flows[1] = lowest
    if not bank:
        return False
    # (1) pay from cash: burn tokens
    amount = wk.v[V_AMOUNT]
    repay = wk.w[W_REPAY]
    amount[:] = 0.0
    paid = 0.0
    for j in range(J):
        i = members[j]
        c = pv.cash[i] if pv.cash[i] >= 0.0 else 0.0
        x = queue[j] if queue[j] <= c else c
        x = x if pv.alive[i] < 0 and x > tol else 0.0
        amount[i] = x
        paid_out[i] = x
        paid += x
    repay[:] = 0.0
    if _pro_rata(
        net.borrow_ptr,
        net.borrow_edges,
        token,
        face,
        due,
        amount,
        wk.w[W_WEIGHT],
        False,
        repay,
    ):
        _repay_edges(net, pv, repay, wk.v)
        for j in range(J):
            queue[j] = queue[j] - amount[members[j]]
        flows[2] = paid
        if paid > tol:
            acted = True
    # (2) withdraw accessible deposits (banks pay at once from cash, rest due next day)
    need = wk.v[V_MEMBER3]
    withdrawn = 0.0
    amount[:] = 0.0
    for j in range(J):
        i = members[j]
        incoming = _agent_masked_sum(net.lend_ptr, net.lend_edges, due, deposit, i)
        queued = 0.0
        for k in range(K):
            queued += (pv.pending[i, k] + wk.orders[i, k]) * price[k]
        x = queue[j] - incoming - queued if bank and pv.alive[i] < 0 else 0.0
        need[j] = x
        left = dep_acc[j] - incoming
        left = left if left >= 0.0 else 0.0
        wd = (x if x <= left else left) if x > tol else 0.0
        amount[i] = wd
        withdrawn += wd
    # withdrawals split pro rata to the accessible deposits not already due
    weight = wk.w[W_WEIGHT]
    for j in range(J):
        i = members[j]
        for jj in range(net.lend_ptr[i], net.lend_ptr[i + 1]):
            e = net.lend_edges[jj]
            if deposit[e]:
                live_bank = 1.0 if pv.alive[net.borrower[e]] < 0 else 0.0
                x = face[e] * live_bank * keep - due[e]
                weight[e] = x if x >= 0.0 else 0.0
    split = wk.w[W_SPLIT]
    split[:] = 0.0
    if _pro_rata(net.lend_ptr, net.lend_edges, deposit, face, due, amount, weight, True, split):
        owed = wk.v[V_OWED_NOW]
        free = wk.v[V_FREE]
        _owed(net.borrow_ptr, net.borrow_edges, due, pv.redeem, pv.commit, owed)
        for i in range(owed.shape[0]):
            x = pv.cash[i] - owed[i]
            free[i] = x if x >= 0.0 else 0.0
        repay[:] = split
        edges = _mask_edges(net, MASK_DEPOSIT)
        _edge_frac(net.borrower, edges, repay, free, wk.v[V_TOT])
        _repay_edges(net, pv, repay, wk.v)
        for j in range(edges.shape[0]):
            e = edges[j]
            due[e] = due[e] + (split[e] - repay[e])
        if withdrawn > tol:
            acted = True
        for j in range(J):
            need[j] = need[j] - amount[members[j]]
    # (3) sell reserves: T-bills, notes, then risky assets (BTC, crypto)
    sell = wk.r[R_ROW]
    left_units = wk.r[R_ROW2]
    for j in range(J):
        i = members[j]
        if not need[j] > tol:
            continue
        for k in range(K):
            left_units[k] = wk.avail[i, k] - wk.orders[i, k]
        _pecking_row(need[j], left_units, price, waterfall, sell)
        for k in range(K):
            wk.orders[i, k] = wk.orders[i, k] + sell[k]
    return acted


def _prepare(net: Net, pv: PathView, wk: Work) -> None:
    """Units available for sale, queued sale value, total assets and obligations due."""
    N, K = wk.avail.shape
    pend_val = wk.v[V_PEND_VAL]
    assets = wk.v[V_ASSETS]
    for i in range(N):
        pv_i = 0.0
        hv = 0.0
        for k in range(K):
            x = pv.units[i, k] - pv.pending[i, k]
            wk.avail[i, k] = x if x >= 0.0 else 0.0
            wk.orders[i, k] = 0.0
            pv_i += pv.pending[i, k] * pv.price[k]
            hv += pv.units[i, k] * pv.price[k]
        pend_val[i] = pv_i
        assets[i] = pv.cash[i] + hv
    lent = wk.v[V_TOT]
    lent[:] = 0.0
    for e in range(pv.face.shape[0]):
        lent[net.lender[e]] += pv.face[e] * pv.mark[e]
    for i in range(N):
        assets[i] = assets[i] + lent[i]
    _owed(net.borrow_ptr, net.borrow_edges, pv.due, pv.redeem, pv.commit, wk.v[V_OWED])
    wk.w[W_REPAY, :] = 0.0


def _pay_repayments(net: Net, pv: PathView, wk: Work, tol: float) -> bool:
    """Pay the round's voluntary repayments above ``tol``; returns the activity."""
    repay = wk.w[W_REPAY]
    repaid = 0.0
    for e in range(repay.shape[0]):
        x = repay[e]
        x = x if x > tol else 0.0
        repay[e] = x
        repaid += x
    if repaid > 0:
        _repay_edges(net, pv, repay, wk.v)
    return repaid > tol


def _post_orders(pv: PathView, wk: Work, open_k: np.ndarray) -> float:
    """Queue the round's sale orders; returns their value in open markets."""
    N, K = wk.orders.shape
    new_open = 0.0
    for i in range(N):
        for k in range(K):
            o = wk.orders[i, k]
            pv.pending[i, k] = pv.pending[i, k] + o
            if open_k[k]:
                new_open += o * pv.price[k]
    return new_open


def behave_paths_python(
    sx: EngineStructure,
    st: RoundState,
    buf: RoundBuffers,
    rows: np.ndarray,
    t: int,
    n: int,
    bank: bool,
    open_k: np.ndarray,
    order: np.ndarray,
    active: np.ndarray,
) -> None:
    """Every agent acts on the same state, on the paths ``rows`` (model-spec §7 step 6).

    In this order, per path: defaulted agents sell everything and pay creditors pro rata
    with all their cash; banks repay debt above their cash target, raise cash below it and
    follow the Cont–Schaanning threshold rule (``illiquid`` when they cannot); hedge funds
    get margin calls on bank days, repay repo above their cash target and sell (by the
    liquidity ``order``) to meet obligations and their equity-ratio buffer; asset managers,
    BTC ETFs and private-credit funds post redemptions (round 1 of bank days; PC funds
    gated) and raise cash pro rata (PC funds draw credit lines); crypto-leverage buckets are
    liquidated below the maintenance margin; allocators and AI borrowers fund commitments
    (AI borrowers by drawing private credit); repayments are paid; stablecoin issuers
    update coverage, price and requests (round 1), pay from cash, withdraw deposits and
    sell reserves. Agents only *post* sale orders (added to ``pending``) and obligations.

    A path stays ``active`` when its new orders in open markets exceed ``tol`` or it paid,
    drew or posted an obligation above ``tol``.

    Parameters
    ----------
    sx : EngineStructure
    st : RoundState
        Updated in place (rows ``rows``).
    buf : RoundBuffers
        Receives the round's margin calls, redemptions, liquidations and stablecoin
        payments of the rows.
    rows : ndarray of int
        Paths to run.
    t, n : int
        Day and sub-round (0 = first).
    bank : bool
        Bank business day.
    open_k : ndarray of bool (K,)
        Open markets.
    order : ndarray of int
        Liquidity sellers' asset order (open markets first, then by priority).
    active : ndarray of bool (P,)
        Set for the rows.
    """
    N, K = st.units.shape[1], st.units.shape[2]
    net = sx.net
    par = sx.agent_par
    apar = sx.asset_par
    prm = sx.params
    tp = sx.type_ptr
    tm = sx.type_members
    wk = Work(
        np.zeros((N, K)),
        np.zeros((N, K)),
        np.zeros((N_V, N)),
        np.zeros((N_W, st.face.shape[1])),
        np.zeros((N_R, K)),
    )
    flows = np.zeros(3)
    for j in range(rows.shape[0]):
        p = rows[j]
        pv = _path_view(st, p)
        buf.margin_call[p, :] = 0.0
        buf.redemption[p, :] = 0.0
        buf.liquidation[p, :] = 0.0
        buf.stablecoin_paid[p, :] = 0.0
        _prepare(net, pv, wk)
        _dead(net, apar, par[A_DEFAULTABLE], pv, wk)
        _banks(net, par, apar, prm.tol, tm[tp[_BANK] : tp[_BANK + 1]], pv, wk, order,
               st.illiquid[p])  # fmt: skip
        acted, called = _hedge_funds(
            net, par, apar, prm, tm[tp[_HEDGE_FUND] : tp[_HEDGE_FUND + 1]], pv, wk, order,
            bank, st.haircut_multiplier[p], buf.margin_call[p],
        )  # fmt: skip
        if called > 0:
            st.margin_calls[p] = st.margin_calls[p] + called
        for typ in (_ASSET_MANAGER, _BTC_ETF, _PRIVATE_CREDIT):
            fund_acted, requested = _funds(
                net, par, apar, prm, tm[tp[typ] : tp[typ + 1]], pv, wk, typ, n, bank,
                st.redemption_multiplier[p], st.btc_hist[p], st.max_loss[p], buf.redemption[p],
            )  # fmt: skip
            acted = fund_acted or acted
            if n == 0 and bank:
                st.redemption_requests[p] = st.redemption_requests[p] + requested
        crypto = tm[tp[_CRYPTO_LEVERAGE] : tp[_CRYPTO_LEVERAGE + 1]]
        _crypto_buckets(net, par, apar, prm.tol, crypto, pv, wk, buf.liquidation[p])
        for typ in (_ALLOCATOR, _AI_BORROWER):
            members = tm[tp[typ] : tp[typ + 1]]
            acted = _commitments(net, par, prm, members, pv, wk, typ, order, n, bank,
                                 st.spread[p]) or acted  # fmt: skip
        acted = _pay_repayments(net, pv, wk, prm.tol) or acted
        # stablecoin issuers, last: they see today's repayments
        issuers = tm[tp[_STABLECOIN] : tp[_STABLECOIN + 1]]
        if issuers.shape[0]:
            flows[:] = 0.0
            acted = _stablecoins(
                net, apar, prm, issuers, sx.waterfall, pv, wk, n, bank, st.impairment[p, t],
                st.btc_return[p], st.run_multiplier[p], st.queue[p], st.sc_price[p],
                st.pressure[p], buf.stablecoin_paid[p], flows,
            ) or acted  # fmt: skip
            if n == 0:
                st.sc_req[p, t] = st.sc_req[p, t] + flows[0]
                st.sc_min[p, t] = flows[1]
            if flows[2] > 0:
                st.sc_paid[p, t] = st.sc_paid[p, t] + flows[2]
        active[p] = _post_orders(pv, wk, open_k) > prm.tol or acted


# --------------------------------------------------------------------------- binding
_HELPERS = (
    "_path_view",
    "_agent_sum",
    "_agent_masked_sum",
    "_split_weight",
    "_owed",
    "_pro_rata",
    "_edge_frac",
    "_repay_edges",
    "_draw_edges",
    "_mask_edges",
    "_split_repayment",
    "_draw",
    "_pecking_row",
    "_deleveraging_fraction",
    "_hedge_fund_sale",
    "_clear_path",
    "_record_sales",
    "_dead",
    "_banks",
    "_hedge_funds",
    "_funds",
    "_crypto_buckets",
    "_commitments",
    "_stablecoins",
    "_prepare",
    "_pay_repayments",
    "_post_orders",
)


def _jit_family(*entries: str) -> tuple[Any, ...]:
    """Jitted twins of the ``entries``, calling jitted twins of every helper.

    The Python functions call the Python helpers; the clones share one globals table in
    which every helper name is bound to its jitted clone (numba resolves them at compile
    time). The clones' names keep numba's on-disk cache entries apart.
    """
    glb: dict[str, Any] = dict(globals())
    jitted: dict[str, Any] = {}
    for name in (*_HELPERS, *entries):
        func = globals()[name]
        code = func.__code__.replace(co_name=f"{name}_jit", co_qualname=f"{name}_jit")
        clone = types.FunctionType(code, glb, f"{name}_jit", func.__defaults__)
        jitted[name] = numba.njit(clone, cache=True, nogil=True, error_model="numpy")
    glb.update(jitted)
    return tuple(jitted[name] for name in entries)


clear_paths, behave_paths = _jit_family("clear_paths_python", "behave_paths_python")
