"""Monte Carlo stress runs: the kernel against Cont–Schaanning, determinism across backends,
caching, limits and monotonicity with common random numbers (model-spec §9.7–9.8)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powderkeg.contagion.draws import ShockPaths, SystemArrays
from powderkeg.contagion.firesale import cont_schaanning
from powderkeg.contagion.montecarlo import expected_losses, run_stress
from powderkeg.contagion.reduced_kernel import simulate_system
from powderkeg.contagion.scenario_spec import Scenario, load_scenario
from powderkeg.exceptions import InputError

RUNTIME_KEYS = ("runtime_s", "compute_s", "cached")


def _numbers(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k not in RUNTIME_KEYS}


def _two_banks(illiquid_return: float) -> tuple[SystemArrays, ShockPaths]:
    """T-CS-1 data: two banks, one asset, D = 500, α = 0.5, λ_max = 1/0.03."""
    system = SystemArrays(
        group_weights=np.array([[1.0], [1.0]]),
        member_group=np.array([0, 1]),
        marketable=np.array([[30.0, 20.0]]),
        illiquid=np.array([[70.0, 30.0]]),
        capital=np.array([[4.0, 2.5]]),
        max_leverage=np.full((1, 2), 1 / 0.03),
        illiquid_beta=np.ones((1, 2)),
        red_base=np.zeros((1, 2)),
        red_nav=np.zeros((1, 2)),
        red_btc=np.zeros((1, 2)),
        red_depeg=np.zeros((1, 2)),
        issuer=np.array([False, False]),
        depth=np.array([[500.0]]),
        impact_decay=np.ones((1, 1)),
        execution=np.array([0.5]),
        link_lender=[],
        link_borrower=[],
        link_lender_share=[],
        link_borrower_share=[],
        link_amount=np.zeros((1, 0)),
        link_lgd=np.zeros((1, 0)),
        treasury=np.array([False]),
        btc=0,
    )
    shocks = ShockPaths(
        returns=np.zeros((1, 1, 1)),
        ai=np.array([[np.log1p(illiquid_return)]]),
        depth_mult=np.ones((1, 1, 1)),
        recovery=np.zeros((1, 1), dtype=bool),
        action_day=np.array([-1]),
        impairment=np.zeros((1, 1)),
    )
    return system, shocks


def test_kernel_reproduces_cont_schaanning_t_cs_1() -> None:
    system, shocks = _two_banks(-0.02)
    out = simulate_system(system, shocks, rounds_per_day=50)
    ref = cont_schaanning([[30.0], [20.0]], [68.6, 29.4], [2.6, 1.9], [500.0])
    np.testing.assert_allclose(out.capital[0], ref.capital_unfloored, rtol=0, atol=1e-10)
    np.testing.assert_allclose(out.sales[0], ref.total_sales, rtol=0, atol=1e-10)
    assert out.capital[0, 1] == pytest.approx(0.512927, abs=1e-6)
    assert out.rounds_used == len(ref.rounds)
    np.testing.assert_allclose(out.direct_loss[0], [1.4, 0.6])
    np.testing.assert_allclose(out.fire_loss[0], ref.total_losses, atol=1e-10)


def test_kernel_without_shock_is_a_steady_state() -> None:
    system, shocks = _two_banks(0.0)
    out = simulate_system(system, shocks, rounds_per_day=50)
    assert out.rounds_used == 0 and np.all(out.sales == 0) and np.all(out.default_day == -1)
    np.testing.assert_array_equal(out.capital, system.capital)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario("ai-correction")


def test_run_keys_and_consistency(scenario: Scenario) -> None:
    res = run_stress(scenario, paths=150, seed=4, days=20, chunk=50)
    d = res.to_dict()
    for key in (
        "paths",
        "seed",
        "defaults",
        "losses",
        "asset_drawdowns",
        "btc",
        "runtime_s",
        "provenance",
        "fire_sales",
        "stablecoin_redemptions",
        "treasury_sales",
    ):
        assert key in d
    assert d["paths"] == 150 and d["seed"] == 4 and d["days"] == 20
    groups = d["losses"]["by_group"]
    total = sum(g["mean"] for g in groups.values())
    assert total == pytest.approx(d["losses"]["total"]["mean"], rel=1e-9)
    parts = sum(g["direct"] + g["fire_sales"] + g["credit"] for g in groups.values())
    assert parts == pytest.approx(total, rel=1e-9)
    assert sum(d["losses"]["histogram"]["counts"]) == 150
    btc = d["btc"]
    assert 0 <= btc["p_survive_first_hit"] <= 1 and len(btc["fan"]["q50"]) == 21
    assert btc["drawdown"]["q05"] <= btc["drawdown"]["q50"] <= btc["drawdown"]["q95"]
    by_group = d["defaults"]["by_group"].values()
    by_day = sum(sum(g["by_day"]) for g in by_group if not g["positions"])
    assert by_day == pytest.approx(d["defaults"]["total"]["mean"])
    liquidated = sum(sum(g["by_day"]) for g in by_group if g["positions"])
    assert liquidated == pytest.approx(d["defaults"]["liquidated_positions"]["mean"])
    assert d["defaults"]["liquidated_positions"]["members"] == sum(
        g["members"] for g in by_group if g["positions"]
    )
    assert d["provenance"]["seed"] == 4
    assert any(s.get("grade") == "V" for s in d["provenance"]["sources"])
    assert res.to_frame().shape[0] == len(scenario.groups)
    assert "Losses and defaults" in str(res)
    assert len(res.plot().data) == 1


@pytest.mark.enable_socket
def test_same_seed_identical_serial_processes_and_dask(scenario: Scenario) -> None:
    kw = dict(paths=90, seed=11, days=15, chunk=30)
    serial = run_stress(scenario, **kw).payload
    again = run_stress(scenario, **kw).payload
    procs = run_stress(scenario, workers=2, **kw).payload
    dask = run_stress(scenario, workers=2, scheduler="dask-local", **kw).payload
    assert _numbers(serial) == _numbers(again) == _numbers(procs) == _numbers(dask)
    other = run_stress(scenario, paths=90, seed=12, days=15, chunk=30).payload
    assert other["losses"]["total"]["mean"] != serial["losses"]["total"]["mean"]


def test_results_cached_in_store(scenario: Scenario, tmp_path: Path) -> None:
    from powderkeg.data.store import Store

    with Store(tmp_path / "c.duckdb") as store:
        first = run_stress(scenario, paths=60, seed=2, days=10, store=store)
        second = run_stress(scenario, paths=60, seed=2, days=10, store=store)
        fresh = run_stress(scenario, paths=60, seed=2, days=10, store=store, use_cache=False)
    assert not first.payload["cached"] and second.payload["cached"]
    assert _numbers(first.to_dict()) == _numbers(second.to_dict()) == _numbers(fresh.to_dict())
    assert second.payload["runtime_s"] < first.payload["compute_s"]


def test_run_size_limits(scenario: Scenario) -> None:
    with pytest.raises(InputError, match="--paths must be <= 1000000"):
        run_stress(scenario, paths=1_000_001)
    with pytest.raises(InputError, match="--days must be >= 1"):
        run_stress(scenario, paths=10, days=0)
    with pytest.raises(InputError, match="run too large"):
        run_stress(scenario, paths=1_000_000, days=3650)


def test_infinite_depth_means_no_fire_sale_losses(scenario: Scenario) -> None:
    deep = scenario.model_copy(
        update={
            "assets": [a.model_copy(update={"depth": a.depth.scaled(1e9)}) for a in scenario.assets]
        }
    )
    p = run_stress(deep, paths=40, seed=1, days=15).payload
    assert max(abs(g["fire_sales"]) for g in p["losses"]["by_group"].values()) < 1e-4


# ----------------------------------------------------------------- monotonicity (§9.8)
def _no_policy(scn: Scenario) -> Scenario:
    # policy reacts to the shock, which can legitimately reduce later losses; switch it off
    return scn.model_copy(update={"policy": scn.policy.model_copy(update={"enabled": False})})


def _leverage(scn: Scenario, f: float) -> Scenario:
    return scn.model_copy(
        update={
            "groups": [g.model_copy(update={"leverage": g.leverage.scaled(f)}) for g in scn.groups]
        }
    )


def _shock(scn: Scenario, f: float) -> Scenario:
    s = scn.shock.model_copy(update={"ai_drawdown": scn.shock.ai_drawdown.scaled(f)})
    return scn.model_copy(update={"shock": s})


def _illiquidity(scn: Scenario, f: float) -> Scenario:
    return scn.model_copy(
        update={
            "assets": [a.model_copy(update={"depth": a.depth.scaled(1 / f)}) for a in scn.assets]
        }
    )


@pytest.mark.parametrize("transform", [_leverage, _shock, _illiquidity])
@settings(max_examples=4, deadline=None, derandomize=True)
@given(f=st.floats(1.0, 1.25), step=st.floats(0.03, 0.25))
def test_losses_never_fall_when_leverage_shock_or_illiquidity_rise(
    scenario: Scenario, transform, f: float, step: float
) -> None:
    base = _no_policy(scenario)
    lo = expected_losses(transform(base, f), paths=60, seed=5, days=25, chunk=60)
    hi = expected_losses(transform(base, f + step), paths=60, seed=5, days=25, chunk=60)
    assert hi[0] >= lo[0]  # mean total loss (common random numbers: same seed)
    assert hi[1] >= lo[1]  # mean number of defaults


def test_report_section_quick(tmp_path: Path) -> None:
    from powderkeg.data.store import Store
    from powderkeg.report.context import ReportContext
    from powderkeg.report.sections.contagion import section

    with Store(tmp_path / "r.duckdb") as store:
        sec = section(ReportContext(store=store, quick=True, seed=3))
    assert sec is not None and sec.key == "contagion"
    labels = [h.label for h in sec.headlines]
    assert "P(BTC survives first hit)" in labels and "Expected institution defaults" in labels
    figures = [b for b in sec.blocks if not isinstance(b, str)]
    assert len(figures) == 4  # loss histogram, default cascade, BTC fan chart, reverse-QE drain
    assert "Reverse-QE term premium" in labels
    assert sec.parameters["stress_paths"] == 200
    html = "".join(b for b in sec.blocks if isinstance(b, str))
    assert "Default cascade on one agent-engine path" in html  # traced through the engine
    assert "Central-bank actions" in html
