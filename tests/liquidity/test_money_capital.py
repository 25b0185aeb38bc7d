"""M2 / stablecoin growth and the capital-scarcity monitor against hand computations."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from powderkeg.liquidity.capital import THRESHOLDS, capital_scarcity, value_at
from powderkeg.liquidity.money import STABLECOIN_MIN_USD, money, reliable_stablecoin
from tests.liquidity._raw import raw_series


def test_m2_growth_hand_computation(real_store, shared_data) -> None:
    raw = raw_series("Thecoderstef__Macro-Charts/M2SL.csv", shared_data)
    # as of 2025-12-10 the latest published month is 2025-10 (released 2025-11-25)
    res = money(real_store, asof="2025-12-10")
    m = res.to_dict()["m2"]
    assert m["month"] == "2025-10-01" and m["published"] == "2025-11-25"
    oct25, oct24 = raw["2025-10-01"], raw["2024-10-01"]
    assert m["yoy_pct"] == pytest.approx(100 * (oct25 / oct24 - 1), rel=1e-12)
    assert m["ann_3m_pct"] == pytest.approx(100 * ((oct25 / raw["2025-07-01"]) ** 4 - 1))
    assert m["ann_6m_pct"] == pytest.approx(100 * ((oct25 / raw["2025-04-01"]) ** 2 - 1))
    # no month published after the as-of date is used
    assert (res.m2["pub_date"] <= pd.Timestamp("2025-12-10")).all()
    assert res.m2.index[-1] == pd.Timestamp("2025-10-01")


def test_stablecoin_growth_hand_computation(real_store, shared_data) -> None:
    raw = raw_series("dylanlayden__finance-terminal/stablecoin_supply.csv", shared_data)
    res = money(real_store, asof="2025-12-10")
    st = res.to_dict()["stablecoins"]
    assert st["date"] == "2025-12-10"
    now = raw["2025-12-10"]
    assert st["supply_bn"] == pytest.approx(now / 1e9)
    assert st["growth_30d_pct"] == pytest.approx(100 * (now / raw["2025-11-10"] - 1))
    assert st["growth_90d_pct"] == pytest.approx(100 * (now / raw["2025-09-11"] - 1))


def test_stablecoin_incomplete_coverage_dropped() -> None:
    s = pd.Series([1e5, 3e7, 2e10, 5e9, 3e10], index=pd.date_range("2018-01-01", periods=5))
    kept = reliable_stablecoin(s)
    assert kept.index[0] == pd.Timestamp("2018-01-03") and len(kept) == 3
    assert STABLECOIN_MIN_USD == 10e9


def test_money_json_and_summary(real_store) -> None:
    res = money(real_store)
    json.dumps(res.to_dict(), allow_nan=False)
    text = str(res)
    assert "M2SL" in text and "STABLECOIN_SUPPLY" in text and "as published" in text
    assert len(res.plot().data) == 5


@pytest.fixture(scope="module")
def capital(real_store_path):  # type: ignore[no-untyped-def]
    from powderkeg.data.store import Store

    with Store(real_store_path, read_only=True) as store:
        return capital_scarcity(store, 63, asof="2026-04-24")


def test_capital_components_by_hand(capital, real_store, shared_data) -> None:
    comp = capital.component_frame()
    start, end = capital.start, capital.asof
    assert end == pd.Timestamp("2026-04-24")
    # 63 NYSE sessions back from 2026-04-24: weekdays minus Presidents' Day (02-16) and
    # Good Friday (04-03)
    assert start == pd.Timestamp("2026-01-23")
    weekdays = pd.bdate_range(start, end)
    assert len(weekdays) - 2 - 1 == 63
    # DGS10: a value is public the day after its date, so use the previous business day
    dgs = raw_series("jonsflow__risk-model/DGS10.csv", shared_data)
    y0 = dgs[max(d for d in dgs if d < start.strftime("%Y-%m-%d"))]
    y1 = dgs[max(d for d in dgs if d < end.strftime("%Y-%m-%d"))]
    assert comp.loc["10y yield", "change"] == pytest.approx(100 * (y1 - y0))
    assert comp.loc["10y yield", "met"] == (100 * (y1 - y0) > THRESHOLDS["dgs10_bp"])
    # basket members: log returns of the stored closes
    btc = real_store.frame(["BTC-USD"])["BTC-USD"]
    assert capital.members.loc["BTC-USD", "log_return_pct"] == pytest.approx(
        100 * math.log(btc.loc[end] / btc.loc[start])
    )
    long = capital.members.query("basket == 'long duration'")["log_return_pct"].mean()
    cash = capital.members.query("basket == 'cash flow'")["log_return_pct"].mean()
    assert comp.loc["duration spread", "change"] == pytest.approx(long - cash)
    assert "SNDK.UNADJ" in capital.members.index  # listed until 2026-04-24


def test_capital_score_and_rule(capital, real_store) -> None:
    comp = capital.component_frame()
    assert capital.score == comp["contribution"].sum()
    assert ((comp["contribution"] == 1) == comp["met"]).all()
    expected = bool(comp.loc["duration spread", "met"] and capital.score >= 4)
    assert capital.regime == expected
    # loosening every threshold so all conditions hold flips the verdict to shown
    loose = capital_scarcity(
        real_store,
        63,
        asof="2026-04-24",
        thresholds={
            "dgs10_bp": -1e9,
            "hy_oas_bp": -1e9,
            "dollar_pct": -1e9,
            "net_liquidity_pct": 1e9,
            "duration_spread_pct": 1e9,
        },
    )
    assert loose.score == 5 and loose.regime
    text = str(capital)
    for word in ("Thresholds", "contribution", "> +10 bp", "< 0 %"):
        assert word in text
    d = capital.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["max_score"] == 5.0 and len(d["components"]) == 5


def test_capital_default_asof_and_exclusion(real_store) -> None:
    res = capital_scarcity(real_store, 21)
    # the default end is the last day every macro input is published (net liquidity here)
    assert res.asof <= pd.Timestamp("2026-06-05")
    assert "SNDK.UNADJ" in res.excluded  # ends 2026-04-24
    assert len(res.plot().data) == 2


def test_value_at() -> None:
    s = pd.Series(
        [1.0, np.nan, 3.0], index=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-05"])
    )
    assert value_at(s, pd.Timestamp("2024-01-04")) == (1.0, pd.Timestamp("2024-01-01"))
    v, d = value_at(s, pd.Timestamp("2023-12-31"))
    assert math.isnan(v) and d is None
