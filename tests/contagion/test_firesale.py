"""Model-spec §1.8 worked examples (T-GLT-1/2, T-CS-1/2) and fire-sale properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powderkeg.contagion.firesale import (
    cont_schaanning,
    duarte_eisenbach_av,
    glt,
    indirect_contagion_index,
    overlap_matrix,
)
from powderkeg.exceptions import InputError

A = np.array([100.0, 50.0])
E = np.array([5.0, 5.0])
M = np.array([[0.6, 0.4], [0.2, 0.8]])
L = np.array([0.001, 0.002])
F = np.array([-0.02, 0.0])


def test_glt_1_closed_form() -> None:
    res = glt(A, E, M, L, F)
    np.testing.assert_allclose(res.direct_returns, [-0.012, -0.004], atol=1e-12)
    np.testing.assert_allclose(res.net_sales, [-22.8, -1.8], atol=1e-12)
    np.testing.assert_allclose(res.asset_flows, [-14.04, -10.56], atol=1e-12)
    np.testing.assert_allclose(res.second_round_returns, [-0.01404, -0.02112], atol=1e-12)
    np.testing.assert_allclose(res.second_round_losses, [-1.6872, -0.9852], atol=1e-12)
    assert res.aggregate_vulnerability == pytest.approx(-0.26724, abs=1e-12)
    np.testing.assert_allclose(res.systemicness, [-0.24168, -0.02556], atol=1e-12)
    assert res.systemicness.sum() == pytest.approx(res.aggregate_vulnerability, abs=1e-12)
    np.testing.assert_allclose(res.indirect_vulnerability, [-0.33744, -0.19704], atol=1e-12)


def test_glt_2_stability_and_cumulative_returns() -> None:
    res = glt(A, E, M, L, F)
    np.testing.assert_allclose(res.jacobian, [[1.292, 0.342], [1.444, 0.594]], atol=1e-12)
    assert res.spectral_radius == pytest.approx(1.7276, abs=1e-4)
    assert not res.stable
    with pytest.raises(InputError, match="unstable"):
        res.cumulative_indirect_returns()
    small = glt(A, E, M, L * 0.1, F)
    np.testing.assert_allclose(small.jacobian, [[0.1292, 0.0342], [0.1444, 0.0594]], atol=1e-12)
    assert small.spectral_radius == pytest.approx(0.17276, abs=1e-5)
    cum = small.cumulative_indirect_returns()
    np.testing.assert_allclose(cum, [-0.00203205, -0.00240679], atol=1e-8)
    np.testing.assert_allclose(A * cum, [-0.203205, -0.120340], atol=1e-6)
    # 200 explicit iterations match the closed form
    x, total = small.direct_returns.copy(), np.zeros(2)
    for _ in range(200):
        x = small.jacobian @ x
        total += x
    np.testing.assert_allclose(total, cum, atol=1e-12)


def test_duarte_eisenbach_matches_glt_for_uniform_shock() -> None:
    f = -0.01
    assert duarte_eisenbach_av(A, E, M, L, f) == pytest.approx(
        glt(A, E, M, L, np.array([f, f])).aggregate_vulnerability, abs=1e-14
    )


def _cs_banks():
    holdings = np.array([[30.0], [20.0]])
    illiquid = np.array([70.0, 30.0]) * 0.98  # illiquid assets fall 2%
    capital = np.array([4.0 - 1.4, 2.5 - 0.6])
    return holdings, illiquid, capital


def test_cs_1_threshold_rounds_by_hand() -> None:
    holdings, illiquid, capital = _cs_banks()
    res = cont_schaanning(
        holdings, illiquid, capital, [500.0], max_leverage=1 / 0.03, target_leverage=0.95 / 0.03
    )
    r1, r2, r3 = res.rounds[:3]
    np.testing.assert_allclose(r1.leverage, [37.9231, 26.0], atol=1e-4)
    np.testing.assert_allclose(r1.gamma, [0.542222, 0.0], atol=1e-6)
    assert r1.sales[0] == pytest.approx(16.266667, abs=1e-6)
    assert r1.impact[0] == pytest.approx(0.032010, abs=1e-6)
    np.testing.assert_allclose(r1.losses, [0.699948, 0.640196], atol=1e-6)
    np.testing.assert_allclose(r1.capital, [1.900052, 1.259804], atol=1e-6)
    np.testing.assert_allclose(r2.gamma, [1.0, 0.45796], atol=1e-5)
    assert r2.sales[0] == pytest.approx(22.159753, abs=1e-5)
    assert r2.impact[0] == pytest.approx(0.043352, abs=1e-6)
    np.testing.assert_allclose(r2.capital, [1.611899, 0.612701], atol=1e-6)
    np.testing.assert_allclose(r3.gamma, [1.0, 1.0], atol=1e-9)
    assert r3.sales[0] == pytest.approx(10.038859, abs=1e-5)
    assert r3.capital[1] == pytest.approx(0.512927, abs=1e-6)
    assert len(res.rounds) == 3 and not res.hit_round_limit
    assert res.illiquid[0] and not res.insolvent[0]
    assert (illiquid[0]) / res.capital[0] == pytest.approx(42.56, abs=0.01)


def test_cs_2_exact_with_given_initial_leverage() -> None:
    holdings, illiquid, capital = _cs_banks()
    res = cont_schaanning(
        holdings,
        illiquid,
        capital,
        [500.0],
        mode="targeting",
        max_rounds=1,
        initial_leverage=[25.0, 20.0],
    )
    r1 = res.rounds[0]
    np.testing.assert_allclose(r1.gamma, [1.0, 0.57], atol=1e-12)
    assert r1.sales[0] == pytest.approx(41.4, abs=1e-9)
    assert r1.impact[0] == pytest.approx(0.079465, abs=1e-6)
    np.testing.assert_allclose(r1.losses, [1.191971, 1.136346], atol=1e-6)


def test_limits_no_shock_and_infinite_depth() -> None:
    holdings = np.array([[10.0, 5.0], [3.0, 8.0]])
    illiquid = np.array([50.0, 40.0])
    capital = np.array([5.0, 4.0])  # leverage 13 and 12.75: below the limit
    res = cont_schaanning(holdings, illiquid, capital, [100.0, 100.0])
    assert res.rounds == [] and res.total_losses.sum() == 0.0
    stressed = cont_schaanning(holdings, illiquid, capital * 0.3, [1e12, 1e12])
    assert stressed.total_losses.sum() == pytest.approx(0.0, abs=1e-6)


def test_overlap_and_ici() -> None:
    holdings = np.array([[10.0, 0.0], [5.0, 5.0], [0.0, 10.0]])
    depth = np.array([100.0, 50.0])
    omega = overlap_matrix(holdings, depth)
    np.testing.assert_allclose(omega, omega.T)
    assert omega[0, 1] == pytest.approx(10 * 5 / 100)
    ici = indirect_contagion_index(holdings, depth)
    assert ici["perron"].sum() == pytest.approx(1.0)
    assert ici["perron"].idxmax() == 2  # the bank in the shallow market


systems = st.integers(2, 5).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(1, 30), min_size=2 * n, max_size=2 * n),
        st.lists(st.floats(10, 80), min_size=n, max_size=n),
        st.lists(st.floats(0.5, 4), min_size=n, max_size=n),
        st.permutations(list(range(n))),
    )
)


@settings(max_examples=40, deadline=None)
@given(systems, st.floats(0.0, 0.05), st.floats(1.0, 3.0))
def test_properties_monotone_conservative_order_free(sys_, shock: float, scale: float) -> None:
    flat, illiquid, capital, perm = sys_
    n = len(illiquid)
    holdings = np.array(flat).reshape(n, 2)
    illiquid, capital = np.array(illiquid), np.array(capital)
    depth = np.array([80.0, 40.0])

    def run(s: float, d: np.ndarray = depth, cap: np.ndarray = capital, alpha: float = 0.5):
        return cont_schaanning(holdings, illiquid * (1 - s), cap - illiquid * s, d, execution=alpha)

    base = run(shock)
    for rnd in base.rounds:
        assert np.all((rnd.gamma >= 0) & (rnd.gamma <= 1))
    assert np.all(base.prices > 0) and np.all(base.holdings >= 0)
    # units conservation: units held + units sold = initial units, per asset
    units_held = base.holdings / base.prices
    np.testing.assert_allclose(units_held.sum(0) + base.units_sold, holdings.sum(0), atol=1e-9)
    # larger shock, shallower markets and more leverage never reduce the units fire-sold.
    # (Dollar losses and final prices are path dependent: impact is driven by dollar sales at
    # pre-trade prices, so selling the same units earlier can move prices more.)
    for alpha in (0.5, 1.0):
        ref = run(shock, alpha=alpha)
        for other in (
            run(shock * 1.5, alpha=alpha),
            run(shock, depth / scale, alpha=alpha),
            run(shock, depth, capital / scale, alpha=alpha),
        ):
            assert other.units_sold.sum() >= ref.units_sold.sum() - 1e-9
    # permuting institutions permutes results
    p = np.array(perm)
    shuffled = cont_schaanning(
        holdings[p], illiquid[p] * (1 - shock), (capital - illiquid * shock)[p], depth
    )
    np.testing.assert_allclose(shuffled.total_losses, base.total_losses[p], atol=1e-12)
