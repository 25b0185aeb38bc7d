"""Two-phase BTC path (model-spec §6.5): drift, regime switch, no recovery without pivot, 2020."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from powderkeg.exceptions import InputError
from powderkeg.scenarios.two_phase import (
    UNCERTAIN_RANGES,
    TwoPhaseDraws,
    TwoPhaseParams,
    draw_parameters,
    replay_2020,
    run_btc_scenario,
    simulate_two_phase,
    triangular_ppf,
)


def _paths(params: TwoPhaseParams, n: int = 2000, days: int = 120, seed: int = 0, **kw):
    draws = TwoPhaseDraws.draw(np.random.default_rng(seed), n, days)
    return simulate_two_phase(params, draws, **kw)


def test_mean_increment_equals_drift_without_loadings_and_jumps() -> None:
    # §6.5: with η = β = 0 and no jumps, E[Δx] = drift (within 3 standard errors)
    params = TwoPhaseParams(
        eta=0.0,
        beta_s=0.0,
        beta_r=0.0,
        jump_intensity=0.0,
        gamma_f=0.0,
        delta=0.0,
        gamma_sc=0.0,
        mu_s=0.0015,
        mu_r=-0.002,
        sigma_s=0.05,
        sigma_r=0.03,
        lag_days=10,
    )
    sim = _paths(params, n=4000, days=90)
    assert sim.recovery.any() and (~sim.recovery).any()
    for regime, mu in ((sim.recovery, params.mu_r), (~sim.recovery, params.mu_s)):
        x = sim.returns[regime]
        se = x.std(ddof=1) / np.sqrt(x.size)
        assert abs(x.mean() - mu) < 3 * se
        assert np.allclose(sim.drift[regime], mu)


def test_regime_switch_exactly_at_pivot_plus_lag() -> None:
    params = TwoPhaseParams(lag_days=17, trigger_days=3, trigger_drawdown=0.12)
    sim = _paths(params, n=500, days=150)
    t = np.arange(sim.days)
    acted = sim.pivot_day >= 0
    assert acted.mean() > 0.9
    np.testing.assert_array_equal(sim.action_day[acted], sim.pivot_day[acted] + 17)
    expected = acted[:, None] & (t[None, :] >= sim.action_day[:, None])
    np.testing.assert_array_equal(sim.recovery, expected)
    # the pivot is the first day with n_c consecutive days of drawdown >= θ
    for i in np.flatnonzero(acted)[:50]:
        hit = sim.ai_drawdown[i] >= 0.12
        run = np.convolve(hit.astype(int), np.ones(3, dtype=int), mode="valid") == 3
        assert sim.pivot_day[i] == np.flatnonzero(run)[0] + 2


def test_no_recovery_without_pivot() -> None:
    # 2022 counterfactual: no pivot, tightening liquidity -> phase S throughout, no rebound
    base = TwoPhaseParams(shock_days=60, ai_shock=0.3, liquidity_drift=-0.0004)
    off = _paths(base.replace(policy=False), n=3000, days=300)
    on = _paths(base, n=3000, days=300)
    assert not off.recovery.any() and np.all(off.action_day == -1)
    assert np.all(off.liquidity == -0.0004)
    after = off.log_price[:, -1] - off.log_price[:, 60]
    se = after.std(ddof=1) / np.sqrt(after.size)
    assert after.mean() < 3 * se  # no upward drift after the shock ends
    assert np.mean(on.log_price[:, -1] > 0) > np.mean(off.log_price[:, -1] > 0) + 0.2


def test_same_draws_same_paths_and_overrides_validated() -> None:
    params = TwoPhaseParams()
    draws = TwoPhaseDraws.draw(np.random.default_rng(5), 50, 40)
    a = simulate_two_phase(params, draws)
    b = simulate_two_phase(params, draws)
    np.testing.assert_array_equal(a.log_price, b.log_price)
    with pytest.raises(InputError, match="cannot vary per path: policy"):
        simulate_two_phase(params, draws, overrides={"policy": np.zeros(50)})
    with pytest.raises(InputError, match="shape"):
        simulate_two_phase(params, draws, overrides={"eta": np.ones(3)})
    with pytest.raises(InputError, match="lag_days"):
        TwoPhaseParams(lag_days=0)


def test_parameter_draws_stay_in_model_spec_ranges() -> None:
    vals = draw_parameters(TwoPhaseParams(), np.random.default_rng(1), 5000)
    for name, (lo, hi) in UNCERTAIN_RANGES.items():
        assert vals[name].min() >= lo and vals[name].max() <= hi
    u = np.linspace(0, 1, 101)
    x = triangular_ppf(u, 1.5, 2.0, 2.5)
    assert np.all(np.diff(x) >= 0) and x[0] == 1.5 and x[-1] == 2.5
    assert (
        abs(np.median(triangular_ppf(np.random.default_rng(0).random(20000), 0, 1, 2)) - 1) < 0.02
    )


def test_btc_scenario_result_and_grid() -> None:
    res = run_btc_scenario(
        paths=400, days=200, seed=3, grid_shocks=(0.1, 0.5), grid_lag_weeks=(1, 9), grid_paths=300
    )
    again = run_btc_scenario(
        paths=400, days=200, seed=3, grid_shocks=(0.1, 0.5), grid_lag_weeks=(1, 9), grid_paths=300
    )
    assert res.to_dict()["fan"] == again.to_dict()["fan"]
    d = res.to_dict()
    for key in ("p_survive_first_hit", "p_gain_second_wave", "fan", "grid", "price_at_horizon"):
        assert key in d
    grid = res.grid.set_index(["ai_shock", "lag_weeks"])
    assert len(grid) == 4
    # a bigger correction with a longer lag is worse on both counts
    assert grid.loc[(0.5, 9), "p_survive"] < grid.loc[(0.1, 1), "p_survive"]
    assert grid.loc[(0.5, 9), "p_gain"] < grid.loc[(0.1, 1), "p_gain"]
    assert res.fan.shape == (201, 5) and np.all(np.diff(res.fan.to_numpy(), axis=1) >= 0)
    assert len(res.plot().data) == 5
    assert "survives first hit" in str(res)


def test_replay_2020_calibration(real_store_path: Path) -> None:
    # §6.5 calibration check (not a fit): default parameters, observed ^IXIC and WALCL paths
    from powderkeg.data.store import Store

    with Store(real_store_path, read_only=True) as store:
        out = replay_2020(store, paths=1000)
    assert -0.63 * 1.2 <= out.trough <= -0.63 * 0.8
    assert 40 <= out.recovery_days <= 120
    assert out.recovered_share > 0.9
    assert -0.7 < out.observed_trough < -0.4  # Yahoo daily closes: about -52%
