"""Model-spec §5.6 tests of the reverse-QE liquidity drain (M5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powderkeg.contagion.drain import DEFAULT_ASSETS, DrainAsset, DrainParams, simulate_drain
from powderkeg.exceptions import InputError


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 800), min_size=1, max_size=8),
    st.floats(0, 2_000),
    st.floats(0, 1),
)
def test_drain_accounting_has_no_leakage_and_buffer_stays_non_negative(
    need: list[float], buffer: float, zeta: float
) -> None:
    res = simulate_drain(need, params=DrainParams(idle_buffer=buffer, zeta=zeta))
    d = res.daily
    total = float(np.sum(need))
    assert d["absorbed"].sum() + d["crowding_out"].sum() == pytest.approx(total, abs=1e-6)
    assert res.sales.to_numpy().sum() == pytest.approx(d["crowding_out"].sum(), abs=1e-6)
    assert (d["idle_buffer"] >= -1e-9).all()
    assert d["idle_buffer"].iloc[-1] == pytest.approx(buffer - d["absorbed"].sum(), abs=1e-6)


def test_no_price_effect_without_term_premium_or_liquidity_channel() -> None:
    flat = {k: DrainAsset(a.holdings, a.conviction, a.liquidity, a.duration, 0.0)
            for k, a in DEFAULT_ASSETS.items()}  # fmt: skip
    res = simulate_drain([300.0] * 4, params=DrainParams(kappa_tp=0.0), assets=flat)
    assert np.all(res.log_price.to_numpy() == 0.0)
    assert res.daily["crowding_out"].sum() > 0  # the M1 sale orders remain


def test_duration_supply_alone_moves_term_premia_by_a_few_bp() -> None:
    # $500bn a year un-absorbed is ~1.7% of a $30tn GDP: +4 to +13 bp for kappa 2.5..8
    for kappa, lo, hi in ((2.5, 4.0, 4.5), (8.0, 13.0, 13.5)):
        res = simulate_drain([125.0] * 4, params=DrainParams(kappa_tp=kappa, idle_buffer=0.0))
        assert lo <= res.daily["term_premium_bp"].iloc[-1] <= hi


def test_absorption_first_then_crowding_out_allocated_by_weights() -> None:
    res = simulate_drain([100.0, 100.0], params=DrainParams(idle_buffer=120.0, zeta=0.5))
    q1 = res.daily.loc[: res.need.index[0].end_time]
    assert q1["absorbed"].sum() == pytest.approx(60.0)  # zeta * K = 60 < 100
    q2 = res.daily.loc[res.need.index[1].start_time :]
    assert q2["absorbed"].sum() == pytest.approx(30.0)  # zeta * (120 - 60)
    w = np.array([(1 - a.conviction) * a.liquidity * a.holdings for a in DEFAULT_ASSETS.values()])
    np.testing.assert_allclose(res.sales.sum().to_numpy(), w / w.sum() * 110.0)
    # long-duration tech falls more than cash-flow equity; BTC rises only with liquidity
    change = res.to_dict()["price_change"]
    assert change["long-duration tech"] < change["cash-flow equity"] < 0


def test_bad_inputs() -> None:
    with pytest.raises(InputError, match="non-negative"):
        simulate_drain([-1.0])
    with pytest.raises(InputError, match="zeta"):
        DrainParams(zeta=2.0)


def test_cli_drain(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from powderkeg.cli.main import run

    assert run(["--json", "scenario", "drain", "--need", "1000", "--quarters", "4"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total_need"] == pytest.approx(1000.0)
    assert out["absorbed"] + out["crowding_out"] == pytest.approx(1000.0)
    assert run(["scenario", "drain", "--quarters", "0"]) == 2
    assert "quarters" in capsys.readouterr().err
