"""Lease cash flows, NPV, IRR and duration against hand and numpy-financial-style formulas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from powderkeg.energy.leases import (
    LeaseSpec,
    ai_correction_paths,
    durations,
    expected_cash_flows,
    irr,
    monthly_hazard,
    monthly_rate,
    npv,
    read_lease,
    value_lease,
    value_with_stress,
)
from powderkeg.energy.params import default_params
from powderkeg.exceptions import InputError

EXAMPLE = Path(__file__).resolve().parents[2] / "src/powderkeg/energy/examples/lease.yaml"
R1 = 1.01**12 - 1  # annual rate whose monthly equivalent is exactly 1%


def npf_npv(rate: float, values: np.ndarray) -> float:
    """numpy-financial ``npv``: sum of values[t] / (1 + rate)**t, t = 0, 1, ..."""
    return float(sum(v / (1 + rate) ** t for t, v in enumerate(values)))


def npf_irr(values: np.ndarray) -> float:
    """numpy-financial ``irr``: the real root x = 1/(1+r) of sum values[t] x**t closest to r=0."""
    roots = np.roots(values[::-1])
    real = roots[np.isclose(roots.imag, 0) & (roots.real > 0)].real
    rates = 1 / real - 1
    return float(rates[np.argmin(np.abs(rates))])


def test_rates_and_hazard() -> None:
    assert monthly_rate(R1) == pytest.approx(0.01)
    assert monthly_hazard(0.13) == pytest.approx(1 - 0.87 ** (1 / 12))
    assert (1 - monthly_hazard(0.13)) ** 12 == pytest.approx(0.87)
    assert monthly_hazard(0.0) == 0.0


def test_no_default_hand_case() -> None:
    cf = np.array([100.0, 100.0])
    # NPV = -190 + 100/1.01 + 100/1.01^2 = 7.0395
    assert npv(190.0, cf, R1) == pytest.approx(-190 + 100 / 1.01 + 100 / 1.0201, rel=1e-12)
    assert npv(190.0, cf, R1) == pytest.approx(7.039506, abs=1e-6)
    # IRR: 100 v^2 + 100 v - 190 = 0 with v = 1/(1+y)
    v = (-100 + np.sqrt(100**2 + 4 * 100 * 190)) / 200
    assert irr(190.0, cf) == pytest.approx((1 / v) ** 12 - 1, rel=1e-10)
    # Macaulay: (1 * 99.0099 + 2 * 98.0296) / 197.0395 months
    pv = np.array([100 / 1.01, 100 / 1.0201])
    mac, mod = durations(cf, R1)
    assert mac == pytest.approx((pv[0] + 2 * pv[1]) / pv.sum() / 12)
    assert mod == pytest.approx(mac / 1.01)


def test_default_hand_case() -> None:
    # T=2, h=0.1, recovery 0.5, rent 100, u=1, opex 10, residual 50
    table = expected_cash_flows(np.array([100.0, 100.0]), np.ones(2), 10.0, 0.1, 0.5, 50.0)
    # month 1: 0.9 * 90 + 0.1 * 0.5 * 200 = 91; month 2: 0.81 * 90 + 0.09 * 0.5 * 100 + 50
    assert table["expected_cf"].tolist() == pytest.approx([91.0, 127.4])
    assert table["survival"].tolist() == pytest.approx([0.9, 0.81])


@pytest.mark.parametrize("seed", range(5))
def test_against_numpy_financial_style(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cf = rng.uniform(5, 15, size=24)
    price = float(cf.sum() * rng.uniform(0.6, 0.95))
    rate = float(rng.uniform(0.0, 0.3))
    rm = (1 + rate) ** (1 / 12) - 1
    flows = np.concatenate([[-price], cf])
    assert npv(price, cf, rate) == pytest.approx(npf_npv(rm, flows), rel=1e-10)
    assert irr(price, cf) == pytest.approx((1 + npf_irr(flows)) ** 12 - 1, rel=1e-8)
    # NPV at the IRR is zero
    assert npv(price, cf, irr(price, cf)) == pytest.approx(0.0, abs=1e-6 * price)
    # modified duration approximates -dP/dy / P (monthly compounding, per year of yield)
    _mac, mod = durations(cf, rate)
    pv = lambda y: float(np.sum(cf / (1 + y) ** (np.arange(1, 25))))  # noqa: E731
    dy = 1e-6
    slope = -(pv(rm + dy) - pv(rm - dy)) / (2 * dy) / pv(rm) / 12
    assert mod == pytest.approx(slope, rel=1e-6)


def test_irr_not_bracketed() -> None:
    assert np.isnan(irr(100.0, np.zeros(3)))


def _spec(**kw):  # type: ignore[no-untyped-def]
    base = {
        "price_usd": 1000.0,
        "monthly_rent_usd": 60.0,
        "term_months": 24,
        "discount_rate": 0.1,
        "residual_value_usd": 100.0,
    }
    base.update(kw)
    return LeaseSpec.model_validate(base)


def test_stress_paths() -> None:
    stress = default_params().values("stress_ai_correction")
    paths = ai_correction_paths(24, stress)
    assert paths["rent_multiplier"][0] == pytest.approx(1 - 0.4 / 12)
    assert paths["rent_multiplier"][11] == pytest.approx(0.6)
    assert paths["rent_multiplier"][23] == pytest.approx(0.6)
    assert paths["utilisation_multiplier"][11] == pytest.approx(0.75)
    assert (1 - paths["hazard"]) ** 12 == pytest.approx(0.87)


def test_value_with_stress_lowers_value() -> None:
    res = value_with_stress(_spec(), default_params(), "ai-correction")
    assert res.stressed.npv < res.base.npv
    assert res.stressed.irr < res.base.irr
    assert res.stressed.residual == pytest.approx(50.0)
    # base uses the default 4.5% annual PD and 40% recovery (notes say so)
    assert res.base.hazard == pytest.approx(monthly_hazard(0.045))
    assert any("default" in n for n in res.notes)
    d = res.to_dict()
    for key in (
        "npv",
        "irr",
        "macaulay_duration_years",
        "modified_duration_years",
        "base",
        "stressed",
        "cash_flows",
        "provenance",
    ):
        assert key in d
    assert len(d["cash_flows"]) == 24
    assert len(res.plot().data) == 2


def test_base_matches_direct_valuation() -> None:
    spec = _spec(
        monthly_default_hazard=0.01, recovery_rate=0.3, utilisation=0.8, monthly_opex_usd=5.0
    )
    res = value_with_stress(spec, default_params())
    direct = value_lease(spec, hazard=0.01, recovery=0.3, residual=100.0)
    assert res.base.npv == pytest.approx(direct.npv)
    assert res.stressed is None


def test_example_lease_file() -> None:
    spec = read_lease(EXAMPLE)
    assert spec.term_months == 36 and spec.gpus == 1024
    res = value_with_stress(spec, default_params(), "ai-correction")
    assert 0.0 < res.base.irr < 0.3
    assert res.stressed is not None and res.stressed.npv < res.base.npv


def test_lease_file_errors(tmp_path: Path) -> None:
    f = tmp_path / "lease.yaml"
    f.write_text(
        "price_usd: 1\nmonthly_rent_usd: 1\nterm_months: 2\ndiscount_rate: 0.1\ncolour: red\n"
    )
    with pytest.raises(InputError, match=r"lease.yaml: unknown key 'colour'"):
        read_lease(f)
    f.write_text(
        "price_usd: 1\nmonthly_rent_usd: 1\nterm_months: 2\ndiscount_rate: 0.1\nutilisation: 2\n"
    )
    with pytest.raises(InputError, match="utilisation"):
        read_lease(f)
    with pytest.raises(InputError, match="--stress"):
        value_with_stress(_spec(), default_params(), "dotcom")
