import math

import numpy as np
import pytest

from powderkeg.contagion.engine import simulate
from powderkeg.contagion.shocks import Shocks
from powderkeg.contagion.stablecoins import (
    StablecoinParams,
    coverage,
    redemption_rate,
    secondary_price,
)

from ._systems import stablecoin_system

P = StablecoinParams()


def test_no_stress_rates_and_price():
    kappa = np.array([[1.0, 1.3]])
    rho = redemption_rate(np.ones((1, 2)), kappa, np.array([0.01]), P, np.ones(1))
    np.testing.assert_allclose(rho, P.rho0)
    price = secondary_price(kappa, np.array([[True, True]]), np.zeros((1, 2)), P)
    assert np.all((price >= 1 - P.c_arb) & (price <= 1))


def test_stress_terms_and_closed_market_price():
    kappa = coverage(np.array([[0.9175 * 40]]), np.array([[40.0]]))
    rho = redemption_rate(np.array([[0.98]]), kappa, np.array([-0.1]), P, np.ones(1))
    expected = P.rho0 + P.rho_threshold + P.rho_impairment * (1 - 0.9175) + P.rho_crypto * 0.1
    assert rho[0, 0] == pytest.approx(expected)
    closed = secondary_price(kappa, np.array([[False]]), np.array([[0.02]]), P)
    assert closed[0, 0] == pytest.approx(0.9175 - P.psi_panic * 0.02)


def test_engine_no_stress_steady_for_a_year():
    system = stablecoin_system()
    res = simulate(system, Shocks.zeros(1, 365, system.n_assets), days=365)
    assert res.stablecoin_price.min() >= 1 - P.c_arb - 1e-12
    assert res.stablecoin_redemptions.sum() == 0.0
    coin = system.index("coin")
    np.testing.assert_allclose(res.equity[0, :, coin], res.equity[0, 0, coin], atol=1e-12)


def test_accounting_capital_buffer_moves_only_with_reserve_losses():
    system = stablecoin_system(btc=10.0, buffer=8.0)
    days = 10
    res = simulate(
        system, Shocks.one_day(system, {"btc": math.log(0.5)}, days=days), days=days, debug=True
    )  # debug: R − S = X checked after every sub-step
    coin, btc = system.index("coin"), system.asset_index("btc")
    assert res.stablecoin_redemptions.sum() > 0  # crypto stress redemptions were paid ...
    assert res.units_sold[0, btc] == 0.0  # ... from cash and deposits, no reserve sales
    dx = res.equity[0, -1, coin] - res.equity[0, 0, coin]
    assert dx == pytest.approx(10.0 * (res.prices[0, -1, btc] - 1.0), abs=1e-10)


def test_monotone_in_reserve_impairment():
    system = stablecoin_system(deposits=40.0, bills=30.0, cash=4.0)
    days, levels = 8, np.array([0.0, 0.2, 0.5, 1.0])
    imp = np.zeros((4, days))
    imp[:, 1:5] = levels[:, None]
    res = simulate(
        system, Shocks(np.zeros((4, days, system.n_assets)), impairment=imp), days=days, debug=True
    )
    requested = res.stablecoin_requests.sum(axis=1)
    assert np.all(np.diff(requested) >= -1e-12) and requested[-1] > requested[0]
    worst = res.stablecoin_price.min(axis=1)
    assert np.all(np.diff(worst) <= 1e-12) and worst[-1] < worst[0]


def test_friday_shock_weekend_queue_paid_monday():
    system = stablecoin_system(deposits=40.0, bills=30.0, cash=4.0)
    days = 9
    imp = np.zeros((1, days))
    imp[0, 4:7] = 0.5  # reserve bank closed from Friday 2025-12-05 to Sunday
    res = simulate(
        system, Shocks(np.zeros((1, days, system.n_assets)), impairment=imp), days=days, debug=True
    )
    req, paid = res.stablecoin_requests[0], res.stablecoin_redemptions[0]
    assert req[5] > 0 and req[6] > 0  # requests keep coming over the weekend ...
    assert paid[5] == 0 and paid[6] == 0  # ... but the primary market is closed
    assert paid[7] >= req[5] + req[6]  # the queue is paid on Monday
    np.testing.assert_allclose(np.cumsum(paid)[7:], np.cumsum(req)[7:], atol=1e-9)
    assert np.all(np.cumsum(paid) <= np.cumsum(req) + 1e-9)
