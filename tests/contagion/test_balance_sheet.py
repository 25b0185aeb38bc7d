import numpy as np
import pytest

from powderkeg.contagion.balance_sheet import (
    Contract,
    InvariantError,
    Ledger,
    Network,
    check_invariants,
    margin_call,
    totals,
)


def test_margin_call_spec_example():
    # model-spec §3.8: repo 90 against 100 units at P = 1, h = 0.1
    assert float(margin_call(90.0, [100.0], [1.0], [0.1])) == 0.0
    assert float(margin_call(90.0, [100.0], [0.95], [0.1])) == pytest.approx(4.5, abs=1e-12)


def test_margin_call_cash_collateral_and_vectorised():
    mc = margin_call(
        np.array([90.0, 90.0]),
        np.array([[100.0], [100.0]]),
        np.array([[0.95], [0.9]]),
        np.array([[0.1], [0.1]]),
        np.array([1.0, 0.0]),
    )
    np.testing.assert_allclose(mc, [3.5, 9.0])


def _ledger() -> tuple[Ledger, Network]:
    # agents: 0 outside, 1 bank, 2 fund, 3 central bank; edges: fund -> bank deposit 5,
    # bank -> fund repo 20
    net = Network.build(
        np.array([2, 1]), np.array([1, 2]), np.array([Contract.DEPOSIT, Contract.REPO]), 4
    )
    units = np.zeros((2, 4, 2))
    units[:, 0] = [100.0, 100.0]
    units[:, 1] = [10.0, 0.0]
    units[:, 2] = [0.0, 30.0]
    cash = np.tile([50.0, 5.0, 5.0, 0.0], (2, 1))
    face = np.tile([5.0, 20.0], (2, 1))
    led = Ledger(
        np.ones((2, 2)), units, cash, face, np.ones((2, 2)), np.zeros((2, 4)), np.zeros(2), 3
    )
    led.equity = led.assets(net) - led.liabilities(net)
    return led, net


NAMES = ["outside", "bank", "fund", "cb"]


def test_postings_keep_double_entry():
    led, net = _ledger()
    start = totals(led)
    led.repay_edges(net, np.array([[0.0, 4.0], [1.0, 0.0]]))
    led.draw_edges(net, np.array([[2.0, 0.0], [0.0, 3.0]]))
    led.set_marks(net, np.array([[1.0, 0.9], [0.8, 1.0]]))
    led.repay_edges(net, np.array([[0.0, 1.0], [1.0, 0.0]]))
    led.revalue(np.array([[0.9, 1.1], [0.5, 0.7]]))
    face, mark = led.face.copy(), led.mark.copy()
    ratio = np.array([[1.0, 0.5], [0.25, 1.0]])
    loss, gain = led.write_down_edges(net, ratio)
    touched = ratio < 1
    exp_loss = np.where(touched, face * mark - face * ratio, 0.0)
    np.testing.assert_allclose(loss, net.by_lender(exp_loss))
    np.testing.assert_allclose(gain, net.by_borrower(face * (1 - ratio)))
    np.testing.assert_allclose(led.mark[touched], 1.0)
    check_invariants(
        led,
        net,
        start,
        where="test",
        names=NAMES,
        asset_names=["x", "y"],
        short_allowed=np.array([True, False, False, False]),
    )


def test_invariant_violations_are_detected():
    led, net = _ledger()
    start = totals(led)
    bad = led.copy()
    bad.cash[0, 1] += 1.0  # cash from nowhere and an unposted asset change
    with pytest.raises(InvariantError, match="ledger identity"):
        check_invariants(bad, net, start, where="t", names=NAMES, asset_names=["x", "y"])
    bad = led.copy()
    bad.cash[1, 1] += 1.0
    bad.equity[1, 1] += 1.0  # identity holds but cash is not conserved
    with pytest.raises(InvariantError, match="cash not conserved"):
        check_invariants(bad, net, start, where="t", names=NAMES, asset_names=["x", "y"])
    bad = led.copy()
    bad.units[0, 1, 0] += 1.0
    bad.equity[0, 1] += 1.0
    with pytest.raises(InvariantError, match="units of 'x'"):
        check_invariants(bad, net, start, where="t", names=NAMES, asset_names=["x", "y"])
    bad = led.copy()
    bad.units[0, 2, 0] -= 1.0
    bad.units[0, 0, 0] += 1.0
    bad.equity[0, 2] -= 1.0
    bad.equity[0, 0] += 1.0
    with pytest.raises(InvariantError, match="negative units"):
        check_invariants(
            bad,
            net,
            start,
            where="t",
            names=NAMES,
            asset_names=["x", "y"],
            short_allowed=np.array([True, False, False, False]),
        )


def test_money_creation_is_the_logged_source():
    led, net = _ledger()
    start = totals(led)
    led.create_money(np.array([1, 2]), np.array([[1.0, 2.0], [0.5, 0.0]]))
    # the recipients swap money for something (here: a bank deposit at the central bank is
    # not modelled, so post the central bank's liability through its equity)
    led.equity[:, 1] += [1.0, 0.5]
    led.equity[:, 2] += [2.0, 0.0]
    led.equity[:, 3] -= [3.0, 0.5]
    check_invariants(led, net, start, where="t", names=NAMES, asset_names=["x", "y"])
    np.testing.assert_allclose(led.cb_money, [3.0, 0.5])


def test_network_aggregation():
    led, net = _ledger()
    np.testing.assert_allclose(net.by_lender(led.face), [[0, 20, 5, 0]] * 2)
    np.testing.assert_allclose(net.by_borrower(led.face), [[0, 5, 20, 0]] * 2)
    assert net.mask(Contract.REPO).tolist() == [False, True]
