import numpy as np
import pytest

from powderkeg.contagion.engine import simulate
from powderkeg.contagion.policy import (
    PIVOT_DECIDED,
    QE_PURCHASE,
    RATE_CUT,
    PolicyParams,
    PolicyState,
    stress_index,
)
from powderkeg.contagion.shocks import Shocks
from powderkeg.contagion.system import AI_CRYPTO_SHOCK as SHOCK
from powderkeg.contagion.system import System


def test_stress_index_is_weighted_scaled_sum():
    p = PolicyParams()
    si = stress_index({"equity_drawdown": np.array([0.2]), "stablecoin_depeg": np.array([0.01])}, p)
    expected = 0.25 * 0.2 / 0.10 + 0.15 * 0.01 / 0.02
    assert si[0] == pytest.approx(expected)


def test_pivot_after_consecutive_days_and_lag():
    p = PolicyParams(threshold=1.0, consecutive_days=3)
    st = PolicyState.start(2, p)
    lag = np.array([10, 5])
    si = [
        np.array([2.0, 2.0]),
        np.array([2.0, 0.5]),
        np.array([2.0, 2.0]),
        np.array([2.0, 2.0]),
        np.array([0.0, 2.0]),
    ]
    decided = [st.update(t, x, lag, p) for t, x in enumerate(si)]
    assert [d.tolist() for d in decided] == [
        [False, False],
        [False, False],
        [True, False],
        [False, False],
        [False, True],
    ]
    assert st.active_from.tolist() == [12, 9]
    assert st.active(12).tolist() == [True, True] and st.active(11).tolist() == [False, True]
    assert st.activating(9).tolist() == [False, True]


def test_engine_policy_reacts_with_lag_and_logs_money_creation():
    system = System.default()
    days = 45
    shocks = Shocks.one_day(system, SHOCK, days=days, paths=2)
    shocks = Shocks(shocks.returns, {"policy_lag": np.array([1.0, 0.5])})
    res = simulate(system, shocks, days=days)
    acts = res.policy_actions
    decided = [int(np.flatnonzero(a & PIVOT_DECIDED)[0]) for a in acts]
    cut = [int(np.flatnonzero(a & RATE_CUT)[0]) for a in acts]
    assert cut[0] - decided[0] == 21 and cut[1] - decided[1] == round(21 * 0.5)
    assert np.all(acts[:, : min(cut)] & QE_PURCHASE == 0)
    assert np.any(acts & QE_PURCHASE)
    # every dollar of new money is logged and raises net liquidity one for one
    nl = res.net_liquidity
    np.testing.assert_allclose(res.money_created, nl[:, -1] - nl[:, 0])
    assert np.all(res.money_created > 0)


def test_policy_disabled_means_no_action():
    system = System.default({"policy": {"enabled": False}})
    res = simulate(system, Shocks.one_day(system, SHOCK, days=30), days=30)
    assert res.policy_actions.sum() == 0 and res.money_created[0] == 0.0
