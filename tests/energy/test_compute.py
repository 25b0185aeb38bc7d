"""AI compute economics and switching thresholds against hand computations."""

from __future__ import annotations

import pandas as pd
import pytest

from powderkeg.energy.compute import ai_economics, mining_vs_ai, switching_thresholds
from powderkeg.energy.mining import mining_economics
from powderkeg.energy.params import default_params
from powderkeg.exceptions import InputError


def _ai(price: float = 2.0):  # type: ignore[no-untyped-def]
    # 1 kW per GPU, PUE 1.25 -> 0.00125 MWh per GPU-hour; capex 21,900 over 5 years ->
    # 0.5 USD/h; opex 876 USD/year -> 0.1 USD/h; power 40 USD/MWh
    return ai_economics(price, 0.5, 1.0, 1.25, 21_900.0, 5.0, 876.0, 40.0)


def _mining(btc: float = 100_000.0):  # type: ignore[no-untyped-def]
    return mining_economics(
        btc, 1000.0, 3.125, 0.125, 20.0, 40.0, asic_price_usd_per_th=14.6, asic_life_years=2.0
    )


def test_ai_hand_case() -> None:
    ai = _ai()
    assert ai.mwh_per_gpu_hour == pytest.approx(0.00125)
    assert ai.revenue_usd_gpu_hour == pytest.approx(1.0)
    assert ai.revenue_usd_mwh == pytest.approx(800.0)
    assert ai.depreciation_usd_gpu_hour == pytest.approx(0.5)
    assert ai.depreciation_usd_mwh == pytest.approx(400.0)
    assert ai.opex_usd_mwh == pytest.approx(80.0)
    assert ai.operating_margin_usd_mwh == pytest.approx(800 - 80 - 40)
    assert ai.all_in_margin_usd_mwh == pytest.approx(800 - 80 - 400 - 40)
    # break-even: (40 * 0.00125 + 0.5 + 0.1) / 0.5 = 1.3
    assert ai.breakeven_gpu_hour_price_usd == pytest.approx(1.3)
    assert _ai(1.3).all_in_margin_usd_mwh == pytest.approx(0.0, abs=1e-9)


def test_thresholds_hand_case() -> None:
    m, ai = _mining(), _ai()
    # mining all-in margin: 97.5 - 40 - 41.667 = 15.833 USD/MWh
    m_all_in = 97.5 - 40 - 0.02 / 4.8e-4
    assert m.all_in_margin_usd_mwh == pytest.approx(m_all_in)
    t = switching_thresholds(m, ai)
    # p* = (M_m * 0.00125 + 40 * 0.00125 + 0.1 + 0.5) / 0.5
    assert t["gpu_hour_price_all_in"] == pytest.approx((m_all_in * 0.00125 + 0.05 + 0.6) / 0.5)
    # P* = (M_ai + 40 + 41.667) / (4.68e-7 / 4.8e-4)
    btc_per_mwh = 4.68e-7 / 4.8e-4
    assert t["btc_price_all_in"] == pytest.approx((280.0 + 40 + 0.02 / 4.8e-4) / btc_per_mwh)
    assert t["btc_price_operating"] == pytest.approx((680.0 + 40) / btc_per_mwh)


def test_thresholds_round_trip() -> None:
    m, ai = _mining(), _ai()
    t = switching_thresholds(m, ai)
    ai_star = _ai(t["gpu_hour_price_all_in"])
    assert ai_star.all_in_margin_usd_mwh == pytest.approx(m.all_in_margin_usd_mwh)
    m_star = _mining(t["btc_price_all_in"])
    assert m_star.all_in_margin_usd_mwh == pytest.approx(ai.all_in_margin_usd_mwh)


def test_mining_vs_ai_result_protocol() -> None:
    params = default_params().set_values("mining", {"power_price_usd_mwh": 45.0})
    res = mining_vs_ai(params, btc_price=90_000.0, asof=pd.Timestamp("2025-12-10"))
    d = res.to_dict()
    for key in (
        "btc_price",
        "hashprice_usd_ph_day",
        "mining",
        "ai",
        "thresholds",
        "winner",
        "sensitivity",
        "parameters",
        "provenance",
    ):
        assert key in d
    assert d["mining"]["power_price_usd_mwh"] == 45.0
    assert d["parameters"]["mining"]["power_price_usd_mwh"]["source"] == "command line"
    assert len(d["sensitivity"]["operating_margin_usd_mwh"]) == 25
    # hashrate on 2025-12-10: between the 2025-10-01 (150 T) and 2025-12-30 (148.2 T) anchors
    assert 148.2 <= res.mining.difficulty_t <= 150.0
    assert res.mining.subsidy_btc == 3.125
    assert res.to_frame().shape == (6, 2)
    assert "Mining vs AI" in str(res)
    assert len(res.plot().data) == 2


def test_hashrate_or_difficulty_not_both() -> None:
    with pytest.raises(InputError, match="not both"):
        mining_vs_ai(default_params(), btc_price=1.0, hashrate_eh=1.0, difficulty_t=1.0)


def test_difficulty_option() -> None:
    res = mining_vs_ai(
        default_params(), btc_price=87_235.0, difficulty_t=101.65, asof=pd.Timestamp("2024-11-12")
    )
    assert res.mining.hashrate_eh == pytest.approx(727.64, abs=0.01)
