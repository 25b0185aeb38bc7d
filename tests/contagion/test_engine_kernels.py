"""The agent engine's numba kernels: jitted equals Python twin, rules equal the vectorised ones."""

import numpy as np
import pytest

from powderkeg.contagion import _engine_kernels as kern
from powderkeg.contagion import _network_kernels as net_kern
from powderkeg.contagion import balance_sheet, markets
from powderkeg.contagion.balance_sheet import Ledger, Network
from powderkeg.contagion.engine import simulate
from powderkeg.contagion.institutions import (
    bank_deleveraging_fraction,
    hedge_fund_sales,
    pecking_sales,
)
from powderkeg.contagion.shocks import Shocks
from powderkeg.contagion.simulation_result import PATH_ARRAYS
from powderkeg.contagion.system import AI_CRYPTO_SHOCK as SHOCK
from powderkeg.contagion.system import System

ARRAYS = (*PATH_ARRAYS, "rounds")


def _crash(system: System, days: int) -> Shocks:
    """Three paths of a crash of different sizes, with every per-path input set."""
    rng = np.random.default_rng(2)
    ret = rng.normal(0.0, 0.02, (3, days, system.n_assets))
    for name, r in SHOCK.items():
        ret[:, 0, system.asset_index(name)] += r * np.array([0.6, 1.0, 1.6])
    ones = np.ones(3)
    mult = {
        "depth": np.array([1.0, 0.7, 0.5]),
        "haircut": np.array([1.0, 1.5, 2.0]),
        "redemption": np.array([1.0, 2.0, 3.0]),
        "stablecoin_run": np.array([1.0, 2.0, 4.0]),
        "policy_lag": ones,
    }
    impairment = np.zeros((3, days))
    impairment[2, 1:3] = 0.3
    return Shocks(ret, mult, impairment)


class TestTwins:
    def test_engine_with_python_twins_equals_jitted(self, monkeypatch: pytest.MonkeyPatch) -> None:
        system = System.default()
        days = 6
        shocks = _crash(system, days)
        jit = simulate(system, shocks, days=days, record_events=True, debug=True)
        monkeypatch.setattr(kern, "clear_paths", kern.clear_paths_python)
        monkeypatch.setattr(kern, "behave_paths", kern.behave_paths_python)
        monkeypatch.setattr(balance_sheet, "agent_sums", net_kern.agent_sums_python)
        py = simulate(system, shocks, days=days, record_events=True, debug=True)
        assert jit.defaulted.any() and jit.margin_calls.sum() > 0
        assert jit.stablecoin_redemptions.sum() > 0 and jit.redemption_requests.sum() > 0
        for name in ARRAYS:
            np.testing.assert_array_equal(getattr(jit, name), getattr(py, name), name)
        assert jit.events == py.events

    def test_agent_sums_equal_python_and_sequential_scatter(self) -> None:
        rng = np.random.default_rng(4)
        who = rng.integers(0, 7, 40)
        net = Network.build(who, rng.integers(0, 7, 40), np.zeros(40, int), 9)
        values = rng.normal(size=(5, 40)) * 10.0 ** rng.integers(-8, 8, (5, 40))
        out_jit, out_py = np.full((5, 9), np.nan), np.full((5, 9), np.nan)
        net_kern.agent_sums(values, net.lend_ptr, net.lend_edges, out_jit)
        net_kern.agent_sums_python(values, net.lend_ptr, net.lend_edges, out_py)
        ref = np.zeros((5, 9))
        np.add.at(ref.T, who, values.T)  # edge by edge, in ascending order
        np.testing.assert_array_equal(out_jit, out_py)
        np.testing.assert_array_equal(out_jit, ref)
        np.testing.assert_array_equal(net.by_lender(values), ref)
        assert net.by_borrower(np.zeros((2, 0))).shape == (2, 9)


class TestRules:
    """The kernels' per-agent rules equal the vectorised rules of :mod:`.institutions`."""

    def test_pecking_row(self) -> None:
        rng = np.random.default_rng(5)
        avail = rng.uniform(0.0, 5.0, (30, 6)) * (rng.random((30, 6)) < 0.7)
        price = rng.uniform(0.2, 2.0, 6)
        need = rng.uniform(-2.0, 20.0, 30)
        order = np.array([3, 0, 5, 1])
        ref = pecking_sales(need[None, :], avail[None], price[None, :], order)[0]
        out = np.zeros(6)
        for m in range(30):
            kern._pecking_row(need[m], avail[m], price, order, out)
            np.testing.assert_array_equal(out, ref[m])

    def test_deleveraging_fraction(self) -> None:
        rng = np.random.default_rng(6)
        assets = rng.uniform(-10.0, 200.0, 200)
        equity = rng.uniform(-2.0, 8.0, 200)
        mkt = rng.uniform(0.0, 50.0, 200) * (rng.random(200) < 0.8)
        lmax, ltgt = np.full(200, 1 / 0.03), np.full(200, 0.95 / 0.03)
        ref = bank_deleveraging_fraction(assets, equity, mkt, lmax, ltgt)
        got = [kern._deleveraging_fraction(*x) for x in zip(assets, equity, mkt, lmax, ltgt)]
        np.testing.assert_array_equal(got, ref)

    def test_hedge_fund_sale(self) -> None:
        rng = np.random.default_rng(7)
        assets = rng.uniform(-5.0, 100.0, 200) * (rng.random(200) < 0.9)
        equity = rng.uniform(-2.0, 30.0, 200)
        hv = rng.uniform(0.0, 20.0, 200)
        ell0 = rng.uniform(0.05, 0.5, 200)
        ref = hedge_fund_sales(assets, equity, hv, ell0)
        got = [kern._hedge_fund_sale(*x) for x in zip(assets, equity, hv, ell0)]
        np.testing.assert_array_equal(got, ref)

    @pytest.mark.parametrize("dealer_cash", [100.0, 0.5])
    def test_clearing_equals_markets_clear(self, dealer_cash: float) -> None:
        """One path's clearing (dealers, kink, floors, mixed impact) equals ``markets.clear``."""
        rng = np.random.default_rng(8)
        N, K = 6, 3  # outside, 3 sellers, 2 dealers
        units = rng.uniform(5.0, 30.0, (1, N, K))
        units[0, 0] = 1000.0
        price = np.array([[1.0, 0.8, 1.3]])
        cash = np.array([[1e4, 5.0, 5.0, 5.0, dealer_cash, dealer_cash]])
        sell = np.zeros((1, N, K))
        sell[0, 1:4] = rng.uniform(0.0, 5.0, (3, K))
        sell[0, 2, 1] = -1.0  # a purchase
        depth = np.array([[40.0, 25.0, 60.0]])
        dealers = np.array([4, 5])
        cap = np.array([[3.0, 1.0, 0.0], [2.0, 4.0, 0.0]])
        du0 = units[:, dealers, :].copy()
        du0[0, 0, 0] -= 1.0  # one dealer has used some capacity
        exponential = np.array([True, False, True])
        floor = np.array([0.2, 0.0, 0.5])
        ledger = Ledger(price.copy(), units.copy(), cash.copy(), np.zeros((1, 0)),
                        np.zeros((1, 0)), np.zeros((1, N)), np.zeros(1), 0)  # fmt: skip
        markets.clear(
            ledger, sell, depth, exponential=exponential, floor=floor, execution=0.5,
            outside=0, dealers=dealers, dealer_capacity=cap, dealer_units0=du0, dealer_kink=0.2,
        )  # fmt: skip
        pv = kern.PathView(price[0].copy(), units[0].copy(), cash[0].copy(), np.zeros(0),
                           np.zeros(0), np.zeros(N), sell[0].copy(), np.zeros(0), np.zeros(N),
                           np.zeros(N), np.full(N, -1))  # fmt: skip
        cap_total = cap.sum(axis=0)
        apar = np.zeros((len(kern.ASSET_PARAMS), K))
        apar[kern.K_TRADABLE] = 1.0
        apar[kern.K_EXPONENTIAL] = exponential
        apar[kern.K_FLOOR] = floor
        apar[kern.K_DEALER_CAPACITY] = cap_total
        share = np.divide(cap, cap_total, out=np.zeros_like(cap), where=cap_total > 0)
        prm = kern.Params(3, 0, -1, *([0.0] * 15))._replace(execution=0.5, dealer_kink=0.2)
        sold, pre, psi = np.zeros((N, K)), np.zeros(K), np.zeros(K)
        kern._clear_path(pv, apar, prm, dealers, share, du0[0], 1, np.ones(K, bool), depth[0],
                         np.zeros(K), sold, pre, psi, np.zeros((N, K)),
                         np.zeros((kern.N_R, K)))  # fmt: skip
        np.testing.assert_array_equal(pv.pending, 0.0)
        np.testing.assert_array_equal(sold, sell[0])
        np.testing.assert_allclose(pv.price, ledger.price[0], rtol=1e-14)
        np.testing.assert_allclose(pv.units, ledger.units[0], rtol=1e-14, atol=1e-12)
        np.testing.assert_allclose(pv.cash, ledger.cash[0], rtol=1e-14, atol=1e-12)
        np.testing.assert_allclose(pv.equity, ledger.equity[0], rtol=1e-14, atol=1e-12)
        assert psi[0] > 0 and psi[1] > 0 and psi[2] > 0


def test_write_down_on_rows_equals_full_write_down() -> None:
    rng = np.random.default_rng(9)
    P, N, E = 4, 5, 12
    net = Network.build(rng.integers(0, N, E), rng.integers(0, N, E), np.zeros(E, int), N)

    def ledger() -> Ledger:
        r = np.random.default_rng(10)
        return Ledger(np.ones((P, 1)), np.zeros((P, N, 1)), np.zeros((P, N)),
                      r.uniform(1.0, 5.0, (P, E)), r.uniform(0.8, 1.0, (P, E)),
                      r.normal(size=(P, N)), np.zeros(P), 0)  # fmt: skip

    ratio = np.ones((P, E))
    rows = np.array([1, 3])
    ratio[rows] = rng.uniform(0.3, 1.0, (2, E)) ** (rng.random((2, E)) < 0.5)
    full, part = ledger(), ledger()
    full.write_down_edges(net, ratio)
    part.write_down_edges(net, ratio[rows], rows=rows)
    for name in ("face", "mark", "equity"):
        np.testing.assert_array_equal(getattr(part, name), getattr(full, name), name)


def test_agent_run_size_cap_admits_the_issue_goal_and_refuses_more() -> None:
    """10,000 paths of ai-correction (issue 11) fit the agent engine's cap; far more do not."""
    from powderkeg.contagion.montecarlo import AGENT_MAX_WORK, run_stress
    from powderkeg.contagion.scenario_spec import load_scenario
    from powderkeg.exceptions import InputError

    scn = load_scenario("ai-correction")
    assert 10_000 * scn.n_institutions * scn.horizon_days <= AGENT_MAX_WORK
    with pytest.raises(InputError, match="run too large for the agent engine"):
        run_stress(scn, paths=20_000, days=3 * scn.horizon_days, engine="agent")
