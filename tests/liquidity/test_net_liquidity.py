"""Net liquidity: hand computations from the raw CSV files, units, alignment, flags."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from powderkeg.data import calendars
from powderkeg.liquidity.net_liquidity import (
    Published,
    daily_net_liquidity,
    net_liquidity,
    weekly_net_liquidity,
)
from tests.liquidity._raw import raw_series

WALCL_CSV = "jonsflow__risk-model/WALCL.csv"
TGA_CSV = "Fredpipi__fed-tga-rrp-liquidity/tga.csv"
RRP_CSV = "jonsflow__risk-model/RRPONTSYD.csv"
WTREGEN_CSV = "lihaidong43__fed-liquity-monitor/WTREGEN.csv"


@pytest.fixture(scope="module")
def raw(shared_data):  # type: ignore[no-untyped-def]
    return {
        "walcl": raw_series(WALCL_CSV, shared_data),
        "tga": raw_series(TGA_CSV, shared_data),
        "rrp": raw_series(RRP_CSV, shared_data),
        "wtregen": raw_series(WTREGEN_CSV, shared_data),
    }


@pytest.fixture(scope="module")
def result(real_store_path):  # type: ignore[no-untyped-def]
    from powderkeg.data.store import Store

    with Store(real_store_path, read_only=True) as store:
        return net_liquidity(store)


def test_thursday_after_h41_equals_hand_computation(result, raw) -> None:
    # Thursday 2025-09-18: the H.4.1 Wednesday (09-17) level is out; the DTS for Wednesday
    # 09-17 is published Thursday; RRP for Thursday is published the same afternoon.
    walcl = raw["walcl"]["2025-09-17"]  # USD millions
    tga = raw["tga"]["2025-09-17"]  # USD millions
    rrp = raw["rrp"]["2025-09-18"]  # USD billions
    expected_bn = (walcl - tga - rrp * 1000.0) / 1000.0
    row = result.daily.loc["2025-09-18"]
    assert row["net_liquidity"] == pytest.approx(expected_bn, abs=1e-9)
    assert expected_bn == pytest.approx(5787.748, abs=1e-6)
    assert row["walcl_obs_date"] == pd.Timestamp("2025-09-17")
    assert row["tga_obs_date"] == pd.Timestamp("2025-09-17")
    assert row["rrp_obs_date"] == pd.Timestamp("2025-09-18")
    assert not row["walcl_imputed"] and not row["tga_imputed"] and not row["rrp_imputed"]
    assert row["tga_source"] == "DTS daily"


def test_wednesday_uses_previous_week_walcl(result, raw) -> None:
    # On Wednesday 2025-09-17 that day's H.4.1 level is not yet public: the 09-10 level is
    # carried forward (imputed, 7 days old); the TGA is Tuesday's DTS balance.
    row = result.daily.loc["2025-09-17"]
    expected = (
        raw["walcl"]["2025-09-10"] - raw["tga"]["2025-09-16"] - 1000 * raw["rrp"]["2025-09-17"]
    ) / 1000.0
    assert row["net_liquidity"] == pytest.approx(expected, abs=1e-9)
    assert row["walcl_imputed"] and row["walcl_age_days"] == 7
    assert row["tga_obs_date"] == pd.Timestamp("2025-09-16")


def test_before_dts_uses_wtregen(result, raw) -> None:
    # Thursday 2021-06-17: TGA from the WTREGEN week average to Wednesday 06-16.
    row = result.daily.loc["2021-06-17"]
    expected = (
        raw["walcl"]["2021-06-16"] - raw["wtregen"]["2021-06-16"] - 1000 * raw["rrp"]["2021-06-17"]
    ) / 1000.0
    assert row["net_liquidity"] == pytest.approx(expected, abs=1e-9)
    assert row["tga_source"] == "WTREGEN weekly average"
    # the splice happens when the first DTS balance (2022-04-18) is published (04-19)
    assert result.daily.loc["2022-04-18", "tga_source"] == "WTREGEN weekly average"
    assert result.daily.loc["2022-04-19", "tga_source"] == "DTS daily"
    assert result.daily.loc["2022-04-19", "tga"] == pytest.approx(raw["tga"]["2022-04-18"] / 1e3)


def test_units_rrp_billions_to_millions(result, raw) -> None:
    # RRP is stored in billions: the rrp column (billions) equals the raw value and the
    # identity holds in millions after multiplying RRP by 1000.
    row = result.daily.loc["2025-09-18"]
    assert row["rrp"] == pytest.approx(raw["rrp"]["2025-09-18"])
    millions = row["walcl"] * 1e3 - row["tga"] * 1e3 - raw["rrp"]["2025-09-18"] * 1000.0
    assert millions == pytest.approx(row["net_liquidity"] * 1e3, rel=1e-12)
    assert result.sources["RRPONTSYD"] == "USD billions"


def test_weekend_and_monday_flags(result) -> None:
    sat, mon = result.daily.loc["2025-09-20"], result.daily.loc["2025-09-22"]
    assert sat["walcl_imputed"] and sat["tga_imputed"] and sat["rrp_imputed"]
    # Friday's DTS balance is published on Monday (next business day)
    assert not mon["tga_imputed"] and mon["tga_obs_date"] == pd.Timestamp("2025-09-19")
    assert not mon["rrp_imputed"] and mon["walcl_imputed"]
    # share of imputed days: WALCL fresh about one day in seven
    share = result.daily["walcl_imputed"].mean()
    assert 0.83 < share < 0.88


def test_no_look_ahead(real_store_path, result) -> None:
    from powderkeg.data.store import Store

    d = result.daily
    lags = {
        "walcl": calendars.PUBLICATION_LAGS["WALCL"],
        "rrp": calendars.PUBLICATION_LAGS["RRPONTSYD"],
    }
    for comp, lag in lags.items():
        published = pd.DatetimeIndex(d[f"{comp}_obs_date"]) + lag
        assert (published <= d.index).all()
    dts = d["tga_source"] == "DTS daily"
    tga_pub = pd.DatetimeIndex(d.loc[dts, "tga_obs_date"]) + pd.offsets.BDay(1)
    assert (tga_pub <= d.index[dts.to_numpy()]).all()
    # truncating the data at a date changes nothing up to it
    cut = pd.Timestamp("2024-03-13")
    with Store(real_store_path, read_only=True) as store:
        early = net_liquidity(store, asof=cut)
    assert early.asof == cut
    pd.testing.assert_frame_equal(early.daily, d.loc[:cut])
    assert (early.weekly["known_on"] <= cut).all()


def test_weekly_wednesday_alignment(result, raw) -> None:
    w = result.weekly.loc["2025-09-17"]
    expected = (
        raw["walcl"]["2025-09-17"] - raw["tga"]["2025-09-17"] - 1000 * raw["rrp"]["2025-09-17"]
    ) / 1000.0
    assert w["net_liquidity"] == pytest.approx(expected, abs=1e-9)
    assert w["known_on"] == pd.Timestamp("2025-09-18")
    early = result.weekly.loc["2021-06-16"]
    assert early["tga"] == pytest.approx(raw["wtregen"]["2021-06-16"] / 1e3)
    assert early["rrp"] == pytest.approx(raw["rrp"]["2021-06-16"])
    assert (result.weekly["known_on"] > result.weekly.index).all()


def test_changes_add_up_and_match_levels(result) -> None:
    d = result.daily
    for label, days in (("1w", 7), ("4w", 28), ("13w", 91)):
        row = result.changes.loc[label]
        then = d.loc[result.asof - pd.Timedelta(days=days)]
        assert row["net_liquidity"] == pytest.approx(
            d["net_liquidity"].iloc[-1] - then["net_liquidity"]
        )
        parts = row["from_walcl"] + row["from_tga"] + row["from_rrp"]
        assert parts == pytest.approx(row["net_liquidity"])


def test_default_asof_is_latest_common_publication(result, real_store) -> None:
    last = {
        s: pd.Timestamp(real_store.series_info(s)["last_date"])
        for s in ("WALCL", "TGA", "RRPONTSYD")
    }
    pubs = [
        last["WALCL"] + pd.DateOffset(days=1),
        last["TGA"] + pd.offsets.BDay(1),
        last["RRPONTSYD"],
    ]
    assert result.asof == min(pubs)


def test_json_and_summary(result) -> None:
    d = result.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert d["unit"] == "USD billions"
    assert set(d["changes"]) == {"1w", "4w", "13w"}
    assert d["series"][-1]["date"] == result.asof.strftime("%Y-%m-%d")
    assert "RRPONTSYD" in text
    s = str(result)
    assert "carried forward" in s and "USD billions" in s
    fig = result.plot()
    assert len(fig.data) == 4


def _pub(symbol: str, obs: list[str], values: list[float], lag: pd.DateOffset) -> Published:
    o = pd.DatetimeIndex(obs)
    return Published(
        symbol, pd.DataFrame({"obs_date": o, "pub_date": o + lag, "value": values}), "USD millions"
    )


def test_synthetic_flags_and_ages() -> None:
    day = pd.DateOffset(days=1)
    walcl = _pub("WALCL", ["2024-01-03", "2024-01-10"], [7000e3, 7100e3], day)
    tga = _pub(
        "TGA", ["2024-01-04", "2024-01-05", "2024-01-08"], [700e3, 710e3, 720e3], pd.offsets.BDay(1)
    )
    weekly = _pub("WTREGEN", ["2024-01-03"], [650e3], day)
    rrp = _pub(
        "RRPONTSYD",
        ["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11"],
        [500e3, 490e3, 480e3, 470e3, 460e3, 450e3],
        pd.DateOffset(days=0),
    )
    d = daily_net_liquidity(walcl, tga, weekly, rrp)
    assert d.index[0] == pd.Timestamp("2024-01-04")
    assert d.index[-1] == pd.Timestamp("2024-01-09")  # TGA's last publication
    # 2024-01-04: TGA from WTREGEN (the DTS starts being published on 01-05)
    assert d.loc["2024-01-04", "tga_source"] == "WTREGEN weekly average"
    assert d.loc["2024-01-04", "net_liquidity"] == pytest.approx(7000 - 650 - 500)
    sunday = d.loc["2024-01-07"]
    # Friday's balance (01-05) is published on Monday: on Sunday the Thursday one is known
    assert sunday["tga"] == 700 and sunday["tga_imputed"] and sunday["tga_age_days"] == 3
    assert d.loc["2024-01-08", "tga"] == 710 and not d.loc["2024-01-08", "tga_imputed"]
    assert sunday["rrp"] == 490 and sunday["rrp_imputed"]
    assert not d.loc["2024-01-08", "rrp_imputed"]
    w = weekly_net_liquidity(walcl, tga, weekly, rrp)
    # week of 2024-01-10: TGA is the DTS 01-08 balance (last on or before Wednesday)
    assert w.loc["2024-01-10", "net_liquidity"] == pytest.approx(7100 - 720 - 460)
    assert w.loc["2024-01-10", "known_on"] == pd.Timestamp("2024-01-11")
    assert np.isnan(d.loc["2024-01-04":, "net_liquidity"]).sum() == 0
