"""Model-spec §2.6 worked examples (T-EN-1..3, T-RV-1, T-DR-1) and clearing properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powderkeg.contagion.clearing import debtrank, eisenberg_noe, picard_clearing, rogers_veraart
from powderkeg.exceptions import InputError

# A owes B 1.0 and an external creditor 1.0; B owes C 1.5; C owes A 1.0.
L3 = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.5], [1.0, 0.0, 0.0]])
E3 = np.array([0.5, 0.5, 0.2])
EXT3 = np.array([1.0, 0.0, 0.0])
NAMES = ["A", "B", "C"]


def test_en_1_greatest_clearing_vector_and_waves() -> None:
    res = eisenberg_noe(L3, E3, EXT3, names=NAMES)
    np.testing.assert_allclose(res.payments, [1.5, 1.25, 1.0], atol=1e-12)
    assert res.waves == [["A"], ["B"]]
    np.testing.assert_allclose(res.equity, [0.0, 0.0, 0.45], atol=1e-12)
    assert res.external_paid == pytest.approx(0.75, abs=1e-12)
    # conservation: external assets = equity + paid to external creditors
    assert E3.sum() == pytest.approx(res.equity.sum() + res.external_paid, abs=1e-12)
    assert list(res.defaults) == [True, True, False]
    assert res.to_dict()["defaults"] == ["A", "B"]


def test_en_2_picard_from_both_ends_converges_to_same_vector() -> None:
    np.testing.assert_allclose(picard_clearing(L3, E3, EXT3), [1.5, 1.25, 1.0], atol=1e-10)
    np.testing.assert_allclose(
        picard_clearing(L3, E3, EXT3, start="zero"), [1.5, 1.25, 1.0], atol=1e-10
    )
    assert eisenberg_noe(L3, E3, EXT3).unique


def test_en_3_multiplicity_returns_greatest_and_reports_least() -> None:
    res = eisenberg_noe([[0, 1.0], [1.0, 0]], [0.0, 0.0])
    np.testing.assert_allclose(res.payments, [1.0, 1.0])
    np.testing.assert_allclose(res.least_payments, [0.0, 0.0])
    assert not res.unique


@pytest.mark.parametrize(
    ("cost", "expected", "defaults"),
    [
        (1.0, [1.5, 1.25, 1.0], [True, True, False]),
        (0.9, [1.35, 1.0575, 1.0], [True, True, False]),
        (0.5, [0.386667, 0.346667, 0.273333], [True, True, True]),
    ],
)
def test_rv_1_default_costs(cost: float, expected: list[float], defaults: list[bool]) -> None:
    res = rogers_veraart(L3, E3, EXT3, alpha=cost, beta=cost)
    np.testing.assert_allclose(res.payments, expected, atol=1e-6)
    assert list(res.defaults) == defaults


def test_dr_1_original_and_linear_debtrank() -> None:
    claims = np.zeros((3, 3))
    claims[0, 1], claims[1, 2], claims[2, 0] = 4.0, 6.0, 2.0
    equity = [5.0, 3.0, 4.0]
    v = [0.5, 0.3, 0.2]
    full = debtrank(claims, equity, [1.0, 0, 0], weights=v)
    np.testing.assert_allclose(full.final, [1.0, 0.5, 0.5], atol=1e-12)
    assert full.debtrank == pytest.approx(0.25, abs=1e-12)
    small = debtrank(claims, equity, [0.2, 0, 0], weights=v)
    np.testing.assert_allclose(small.final, [0.28, 0.1, 0.1], atol=1e-12)
    assert small.debtrank == pytest.approx(0.09, abs=1e-12)
    lin = debtrank(claims, equity, [0.2, 0, 0], weights=v, linear=True)
    np.testing.assert_allclose(lin.final, [1 / 3, 1 / 6, 1 / 6], atol=1e-12)
    assert lin.spectral_radius == pytest.approx(0.4 ** (1 / 3), abs=1e-4)
    assert lin.to_dict()["stable"] is True


def test_creditor_not_debtor_loses_on_default() -> None:
    # node 0 owes node 1 everything and has nothing: node 1 (creditor) loses
    res = eisenberg_noe([[0, 2.0], [0, 0]], [0.0, 1.0])
    assert res.payments[0] == 0.0
    assert res.equity[1] == pytest.approx(1.0)


def test_bad_inputs_name_the_argument() -> None:
    with pytest.raises(InputError, match="square"):
        eisenberg_noe([[0, 1, 2]], [1.0])
    with pytest.raises(InputError, match="alpha"):
        rogers_veraart(L3, E3, EXT3, alpha=1.5)


networks = st.integers(min_value=2, max_value=6).flatmap(
    lambda n: st.tuples(
        st.lists(st.floats(0, 5), min_size=n * n, max_size=n * n),
        st.lists(st.floats(0, 3), min_size=n, max_size=n),
        st.lists(st.floats(0, 2), min_size=n, max_size=n),
        st.permutations(list(range(n))),
    )
)


@settings(max_examples=60, deadline=None)
@given(networks, st.floats(0.0, 2.0))
def test_clearing_properties(net, bump: float) -> None:
    flat, e, ext, perm = net
    n = len(e)
    L = np.array(flat).reshape(n, n)
    np.fill_diagonal(L, 0.0)
    e, ext = np.array(e), np.array(ext)
    res = eisenberg_noe(L, e, ext)
    pbar = L.sum(1) + ext
    p = res.payments
    assert np.all(p >= -1e-12) and np.all(p <= pbar + 1e-12)
    # fixed point
    with np.errstate(invalid="ignore", divide="ignore"):
        Pi = np.where(pbar[:, None] > 0, L / pbar[:, None], 0.0)
    np.testing.assert_allclose(p, np.minimum(pbar, e + Pi.T @ p), atol=1e-9)
    # conservation: external assets = equity + paid to external creditors
    assert e.sum() == pytest.approx(res.equity.sum() + res.external_paid, abs=1e-8)
    # monotone in external assets
    more = eisenberg_noe(L, e + bump, ext)
    assert np.all(more.payments >= p - 1e-9)
    assert np.all(more.equity >= res.equity - 1e-9)
    # relabelling invariance
    perm = np.array(perm)
    relabelled = eisenberg_noe(L[np.ix_(perm, perm)], e[perm], ext[perm])
    np.testing.assert_allclose(relabelled.payments, p[perm], atol=1e-9)
    assert res.iterations <= n + 1
