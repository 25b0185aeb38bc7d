import numpy as np
import pytest

from powderkeg.contagion import markets
from powderkeg.contagion.balance_sheet import Ledger, Network, check_invariants, totals
from powderkeg.contagion.firesale import price_impact


def test_calendar_weekends_holidays_and_crypto():
    dates, open_, bank = markets.trading_calendar("2025-12-01", 31, ["exchange", "daily", "marked"])
    sat = list(dates).index(np.datetime64("2025-12-06"))
    xmas = list(dates).index(np.datetime64("2025-12-25"))
    assert open_[0].tolist() == [True, True, False]
    assert open_[sat].tolist() == [False, True, False] and not bank[sat]
    assert open_[xmas].tolist() == [False, True, False] and not bank[xmas]
    assert not open_[:, 2].any() and open_[:, 1].all()


def test_stressed_depth_falls_with_stress_to_its_floor():
    d = markets.stressed_depth(
        np.array([500.0]),
        np.array([0.1]),
        np.array([0.0, 1.0, 50.0]),
        2.0,
        np.ones(3),
        np.ones((3, 1)),
    )
    assert d[0, 0] == 500.0 and d[1, 0] < 500.0 and d[2, 0] == pytest.approx(50.0, rel=1e-9)


def _ledger(n_sellers: int = 3) -> tuple[Ledger, Network]:
    n = n_sellers + 2  # outside, sellers..., dealer
    units = np.zeros((1, n, 2))
    units[0, 0] = [1000.0, 1000.0]
    units[0, 1 : n_sellers + 1] = [[10.0, 5.0], [20.0, 0.0], [5.0, 15.0]][:n_sellers]
    cash = np.zeros((1, n))
    cash[0, 0] = 1e4
    cash[0, -1] = 100.0
    net = Network.build(np.array([], int), np.array([], int), np.array([], int), n)
    led = Ledger(
        np.ones((1, 2)),
        units,
        cash,
        np.zeros((1, 0)),
        np.zeros((1, 0)),
        np.zeros((1, n)),
        np.zeros(1),
        n - 1,
    )
    led.equity = led.assets(net).copy()
    return led, net


def _clear(led, sell, cap=None):
    dealers = np.array([], int) if cap is None else np.array([led.units.shape[1] - 1])
    return markets.clear(
        led,
        sell,
        np.array([[100.0, 50.0]]),
        exponential=np.array([True, False]),
        floor=np.zeros(2),
        execution=0.5,
        outside=0,
        dealers=dealers,
        dealer_capacity=np.full((len(dealers), 2), cap or 0.0),
        dealer_units0=led.units[:, dealers, :].copy(),
        dealer_kink=0.2,
    )


def test_clearing_is_simultaneous_and_conserves():
    led, net = _ledger()
    start = totals(led)
    sell = np.zeros_like(led.units)
    sell[0, 1:4] = [[4.0, 1.0], [8.0, 0.0], [2.0, 6.0]]
    q, psi = _clear(led, sell)
    np.testing.assert_allclose(q[0], [14.0, 7.0])
    np.testing.assert_allclose(psi[0, 0], price_impact(np.array([14.0]), np.array([100.0]))[0])
    assert psi[0, 1] == pytest.approx(7.0 / 50.0)
    check_invariants(
        led, net, start, where="t", names=[str(i) for i in range(5)], asset_names=["x", "y"]
    )
    # seller 2 keeps 12 units (lose Ψ) and sold 8 (lose αΨ) of asset x
    loss = 12 * psi[0, 0] + 8 * 0.5 * psi[0, 0]
    assert led.equity[0, 2] == pytest.approx(20.0 - loss)
    # order independence: permuting the sellers gives the same prices and mirrored books
    led2, _ = _ledger()
    perm = [0, 3, 1, 2, 4]
    led2.units, led2.cash, led2.equity = (
        led2.units[:, perm],
        led2.cash[:, perm],
        led2.equity[:, perm],
    )
    _clear(led2, sell[:, perm])
    np.testing.assert_array_equal(led2.price, led.price)
    np.testing.assert_allclose(led2.equity, led.equity[:, perm], atol=1e-12)


def test_dealer_capacity_kinks_impact_and_purchases_raise_prices():
    sell = np.zeros((1, 5, 2))
    sell[0, 2, 0] = 20.0
    led_a, _ = _ledger()
    _, psi_no_cap = _clear(led_a, sell, cap=0.0)
    led_b, _ = _ledger()
    _, psi_cap = _clear(led_b, sell, cap=10.0)
    # with capacity 10 the flow is 10 + 10/0.2 = 60 instead of 20/0.2 = 100
    assert psi_cap[0, 0] == pytest.approx(1 - np.exp(-60 / 100))
    assert psi_no_cap[0, 0] == pytest.approx(1 - np.exp(-100 / 100))
    assert led_b.units[0, -1, 0] == pytest.approx(10.0)
    led_c, net = _ledger()
    start = totals(led_c)
    buy = np.zeros((1, 5, 2))
    buy[0, 1, 1] = -5.0  # a purchase
    _clear(led_c, buy)
    assert led_c.price[0, 1] > 1.0
    check_invariants(
        led_c, net, start, where="t", names=[str(i) for i in range(5)], asset_names=["x", "y"]
    )
