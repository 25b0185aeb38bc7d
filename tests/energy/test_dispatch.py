"""Dispatch LP: hand cases, brute force on small integer instances, never below greedy."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powderkeg.energy.dispatch import (
    SiteSpec,
    allocation_value,
    dispatch,
    greedy_allocation,
    profile_frame,
    read_site,
    solve_lp,
)
from powderkeg.exceptions import DataFileError, InputError

EXAMPLE = Path(__file__).resolve().parents[2] / "src/powderkeg/energy/examples/site.yaml"


def _site(**kw):  # type: ignore[no-untyped-def]
    base = {"capacity_mw": 10.0, "mining_mw": 10.0, "profile": [0.0]}
    base.update(kw)
    return SiteSpec.model_validate(base)


def _brute(spec, prices, avail, rm, ra):  # type: ignore[no-untyped-def]
    """Best value over all integer-MW allocations (all hours jointly, so ramps count)."""
    export = int(spec.export_mw) if spec.supply == "ppa" else 0
    per_hour = []
    for t in range(len(prices)):
        opts = [
            (m, a, s)
            for m in range(int(spec.mining_mw) + 1)
            for a in range(int(spec.ai_min_mw), int(spec.ai_mw) + 1)
            for s in range(export + 1)
            if m + a + s <= avail[t] + 1e-9
        ]
        per_hour.append(opts)
    prof = profile_frame(spec, list(prices), list(avail))
    best = -np.inf
    for combo in itertools.product(*per_hour):
        a = [c[1] for c in combo]
        if spec.ai_ramp_mw_per_h is not None and any(
            abs(a[i] - a[i - 1]) > spec.ai_ramp_mw_per_h + 1e-9 for i in range(1, len(a))
        ):
            continue
        best = max(best, allocation_value(spec, prof, np.array(combo, float), rm, ra))
    return best


def test_spot_hand_case() -> None:
    # spot: k_t = p_t. Mining worth 50/MWh, AI 100/MWh, AI 1..2 MW, mining up to 3 MW, 4 MW site
    spec = _site(capacity_mw=4.0, mining_mw=3.0, ai_mw=2.0, ai_min_mw=1.0)
    prof = profile_frame(spec, [10.0, 60.0, 120.0], [None, None, None])
    x = solve_lp(spec, prof, 50.0, 100.0)
    # hour 0: AI 2 (90/MWh), mining 2 (40/MWh); hour 1: AI 2 (40), mining 0 (-10);
    # hour 2: AI at its minimum 1 (-20/MWh forced), nothing else
    np.testing.assert_allclose(x, [[2, 2, 0], [0, 2, 0], [0, 1, 0]], atol=1e-9)
    res = dispatch(spec, prof, 50.0, 100.0)
    assert res.revenue["net"] == pytest.approx(2 * 90 + 2 * 40 + 2 * 40 - 20)
    assert res.revenue["mining"] == pytest.approx(100.0)
    assert res.revenue["ai"] == pytest.approx(500.0)
    assert res.revenue["energy_cost"] == pytest.approx(4 * 10 + 2 * 60 + 120)


def test_ppa_sell_back_and_take_or_pay() -> None:
    spec = _site(
        capacity_mw=5.0,
        mining_mw=5.0,
        supply="ppa",
        ppa_price_usd_mwh=30.0,
        export_mw=5.0,
        sell_fee_usd_mwh=2.0,
        take_or_pay=True,
    )
    prof = profile_frame(spec, [20.0, 200.0], [None, None])
    res = dispatch(spec, prof, 60.0, 0.0)
    # take-or-pay: mining worth 60, selling worth p - 2: mine at 20, sell at 200
    np.testing.assert_allclose(
        res.allocation[["mining_mw", "sell_mw"]].to_numpy(), [[5, 0], [0, 5]], atol=1e-9
    )
    assert res.revenue["fixed_cost"] == pytest.approx(30.0 * 10)
    assert res.revenue["net"] == pytest.approx(5 * 60 + 5 * 198 - 300)
    # as-consumed PPA: selling at 20 - 2 - 30 loses; mining at 60 - 30 wins
    spec2 = spec.model_copy(update={"take_or_pay": False})
    res2 = dispatch(spec2, prof, 60.0, 0.0)
    assert res2.revenue["net"] == pytest.approx(5 * 30 + 5 * 168)


def test_curtailed_availability() -> None:
    spec = _site(capacity_mw=10.0, mining_mw=10.0)
    prof = profile_frame(spec, [-5.0, 0.0], [3.0, 20.0])  # available capped at capacity
    assert prof["available_mw"].tolist() == [3.0, 10.0]
    x = solve_lp(spec, prof, 40.0, 0.0)
    np.testing.assert_allclose(x[:, 0], [3.0, 10.0], atol=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    ppa = bool(seed % 2)
    ai_mw = int(rng.integers(0, 3))
    spec = _site(
        capacity_mw=4.0,
        mining_mw=float(rng.integers(0, 3)),
        ai_mw=float(ai_mw),
        ai_min_mw=float(rng.integers(0, ai_mw + 1)),
        ai_ramp_mw_per_h=1.0 if seed % 3 == 0 else None,
        supply="ppa" if ppa else "spot",
        ppa_price_usd_mwh=25.0 if ppa else None,
        export_mw=float(rng.integers(0, 3)) if ppa else 0.0,
        take_or_pay=bool(seed % 4 == 1),
    )
    prices = rng.uniform(-20, 150, size=3).round(1).tolist()
    avail = [float(v) for v in rng.integers(spec.ai_min_mw, 5, size=3)]
    rm, ra = float(rng.uniform(0, 100)), float(rng.uniform(0, 200))
    prof = profile_frame(spec, prices, avail)
    lp = allocation_value(spec, prof, solve_lp(spec, prof, rm, ra), rm, ra)
    # integer data and a totally unimodular constraint matrix: the LP optimum is integral
    assert lp == pytest.approx(_brute(spec, prices, avail, rm, ra), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    prices=st.lists(st.floats(-50, 500, allow_nan=False), min_size=1, max_size=24),
    mining_mw=st.floats(0, 50),
    ai_mw=st.floats(0, 30),
    ai_min_share=st.floats(0, 1),
    export_mw=st.floats(0, 60),
    ppa=st.booleans(),
    take_or_pay=st.booleans(),
    rm=st.floats(0, 200),
    ra=st.floats(0, 800),
)
def test_never_below_greedy(  # type: ignore[no-untyped-def]
    prices, mining_mw, ai_mw, ai_min_share, export_mw, ppa, take_or_pay, rm, ra
) -> None:
    spec = _site(
        capacity_mw=60.0,
        mining_mw=mining_mw,
        ai_mw=ai_mw,
        ai_min_mw=ai_mw * ai_min_share,
        supply="ppa" if ppa else "spot",
        ppa_price_usd_mwh=30.0 if ppa else None,
        export_mw=export_mw if ppa else 0.0,
        take_or_pay=take_or_pay and ppa,
    )
    prof = profile_frame(spec, prices, [None] * len(prices))
    lp = allocation_value(spec, prof, solve_lp(spec, prof, rm, ra), rm, ra)
    greedy = allocation_value(spec, prof, greedy_allocation(spec, prof, rm, ra), rm, ra)
    assert lp >= greedy - 1e-6 * max(1.0, abs(greedy))


def test_ramp_binds() -> None:
    spec = _site(capacity_mw=10.0, mining_mw=0.0, ai_mw=10.0, ai_min_mw=0.0, ai_ramp_mw_per_h=2.0)
    prof = profile_frame(spec, [500.0, 0.0, 500.0], [None] * 3)
    x = solve_lp(spec, prof, 0.0, 100.0)
    # AI worth -400, 100, -400 per MWh; from 0 the ramp allows only 2 MW in hour 1
    np.testing.assert_allclose(x[:, 1], [0.0, 2.0, 0.0], atol=1e-9)
    x2 = solve_lp(spec, profile_frame(spec, [0.0, 500.0, 0.0], [None] * 3), 0.0, 100.0)
    # worth 100, -400, 100: a = (x+2, x, x+2) gives 400 - 200x, best at x = 0
    np.testing.assert_allclose(x2[:, 1], [2.0, 0.0, 2.0], atol=1e-9)


def test_example_site() -> None:
    spec, prof = read_site(EXAMPLE)
    assert len(prof) == 48 and spec.supply == "ppa"
    res = dispatch(spec, prof, 95.0, 800.0)
    alloc = res.allocation
    assert (
        alloc[["mining_mw", "ai_mw", "sell_mw"]].sum(axis=1) <= alloc["available_mw"] + 1e-6
    ).all()
    assert (alloc["ai_mw"] >= spec.ai_min_mw - 1e-9).all()
    assert (alloc["ai_mw"].diff().abs().iloc[1:] <= spec.ai_ramp_mw_per_h + 1e-9).all()
    # sells back at the evening spike (850 USD/MWh), mines at night
    assert alloc["sell_mw"].iloc[43] > 0 and alloc["mining_mw"].iloc[2] > 0
    assert res.revenue["net"] >= res.greedy_net - 1e-6
    assert res.revenue["net"] >= res.mine_only_net
    d = res.to_dict()
    assert d["hours"] == 48 and len(d["allocation"]) == 48
    fig = res.plot()
    assert len(fig.data) == 5


def test_infeasible_commitment_names_hours() -> None:
    spec = _site(capacity_mw=10.0, mining_mw=5.0, ai_mw=5.0, ai_min_mw=4.0)
    with pytest.raises(InputError, match=r"below ai_min_mw .* hour\(s\) 1"):
        profile_frame(spec, [1.0, 2.0], [10.0, 3.0])


def test_site_file_errors(tmp_path: Path) -> None:
    f = tmp_path / "site.yaml"
    f.write_text("capacity_mw: 10\nmining_mw: 5\nprofile: [1, 2]\nbattery_mw: 3\n")
    with pytest.raises(InputError, match=r"site.yaml: unknown key 'battery_mw'"):
        read_site(f)
    f.write_text("capacity_mw: 10\nmining_mw: 5\nai_mw: 1\nai_min_mw: 2\nprofile: [1]\n")
    with pytest.raises(InputError, match="ai_min_mw"):
        read_site(f)
    f.write_text("capacity_mw: 10\nmining_mw: 5\nexport_mw: 3\nprofile: [1]\n")
    with pytest.raises(InputError, match="export_mw needs supply 'ppa'"):
        read_site(f)
    f.write_text("capacity_mw: 10\nmining_mw: 5\nprofile:\n  - {price: 1, avail: 3}\n")
    with pytest.raises(InputError, match=r"site.yaml: unknown key 'profile\.0\.avail'"):
        read_site(f)


def test_csv_profile(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("hour,price,available_mw\n0,10,5\n1,20,\n")
    f = tmp_path / "site.yaml"
    f.write_text("capacity_mw: 10\nmining_mw: 10\nprofile: p.csv\n")
    _, prof = read_site(f)
    assert prof["price"].tolist() == [10.0, 20.0]
    assert prof["available_mw"].tolist() == [5.0, 10.0]
    (tmp_path / "p.csv").write_text("price\n10\nabc\n")
    with pytest.raises(DataFileError, match=r"p\.csv, line 3"):
        read_site(f)
