"""Event study: a hand computation on a small synthetic example, day-0 rules, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from powderkeg.exceptions import InsufficientDataError
from powderkeg.linkage.events import event_study

L = 12


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(4)
    idx = pd.bdate_range("2024-01-01", periods=20)  # Mondays to Fridays
    m = pd.Series(0.01 * rng.standard_normal(20), idx, name="MKT")
    rets = pd.DataFrame(
        {
            "X": 0.001 + 1.2 * m + 0.005 * rng.standard_normal(20),
            "Y": -0.002 + 0.6 * m + 0.008 * rng.standard_normal(20),
        },
        index=idx,
    )
    rets.iloc[14, 0] -= 0.05  # an event-day shock on X
    return rets, m


def test_hand_computation(small) -> None:  # type: ignore[no-untyped-def]
    rets, m = small
    day0 = rets.index[14]
    res = event_study(rets, m, day0, estimation=L, window=(-1, 2))
    est = slice(13 - L, 13)  # the L returns ending just before day -1 (row 13)
    evt = slice(13, 17)
    mm = m.to_numpy()
    for col in ("X", "Y"):
        r = rets[col].to_numpy()
        beta, alpha = np.polyfit(mm[est], r[est], 1)
        resid = r[est] - alpha - beta * mm[est]
        s2 = resid @ resid / (L - 2)
        ar = r[evt] - alpha - beta * mm[evt]
        mbar = mm[est].mean()
        sxx = np.sum((mm[est] - mbar) ** 2)
        var_ar = s2 * (1 + 1 / L + (mm[evt] - mbar) ** 2 / sxx)
        ell = 4
        var_car = s2 * (ell + ell**2 / L + np.sum(mm[evt] - mbar) ** 2 / sxx)
        got = res.paths[res.paths["asset"] == col]
        np.testing.assert_allclose(got["ar"], ar, rtol=1e-10)
        np.testing.assert_allclose(got["t_ar"], ar / np.sqrt(var_ar), rtol=1e-10)
        row = res.assets.loc[col]
        assert row["beta"] == pytest.approx(beta, rel=1e-10)
        assert row["car"] == pytest.approx(ar.sum(), rel=1e-10)
        assert row["t_car"] == pytest.approx(ar.sum() / np.sqrt(var_car), rel=1e-10)
        assert row["pvalue"] == pytest.approx(2 * stats.t.sf(abs(row["t_car"]), L - 2), rel=1e-10)
    cars = res.assets["car"].to_numpy()
    t_cs = cars.mean() / (cars.std(ddof=1) / np.sqrt(2))
    assert res.stat == pytest.approx(t_cs, rel=1e-10)
    z = res.assets["t_car"].sum() / np.sqrt(2 * (L - 2) / (L - 4))
    assert res.patell_z == pytest.approx(z, rel=1e-10)
    assert res.estimation_end == rets.index[12]
    assert res.assets.loc["X", "ar_day0"] < -0.03


def test_weekend_date_moves_to_next_session(small) -> None:  # type: ignore[no-untyped-def]
    rets, m = small
    friday = rets.index[14]
    assert friday.weekday() == 4
    saturday = friday + pd.Timedelta(days=1)
    res = event_study(rets, m, saturday, estimation=L, window=(0, 1))
    assert res.day0 == rets.index[15]
    assert res.day0.weekday() == 0


def test_not_enough_estimation_data(small) -> None:  # type: ignore[no-untyped-def]
    rets, m = small
    with pytest.raises(InsufficientDataError):
        event_study(rets, m, rets.index[5], estimation=L)
    with pytest.raises(InsufficientDataError):
        event_study(rets, m, rets.index[-1], estimation=L, window=(0, 3))


def test_cli_event_oracle(real_store_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.cli.main import run
    from powderkeg.data.store import Store

    code = run(
        [
            "--db",
            str(real_store_path),
            "link",
            "event",
            "ORCL",
            "NVDA",
            "AMD",
            "BTC-USD",
            "--date",
            "2025-12-11",
            "--market",
            "^GSPC",
            "--window",
            "-1,5",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["day0"] == "2025-12-11"
    assert "24/7" in out["calendar_note"]
    with Store(real_store_path, read_only=True) as store:
        px = store.frame(["ORCL", "NVDA", "AMD", "BTC-USD", "^GSPC"])
    lr = np.log(px / px.shift(1)).iloc[1:]
    p0 = lr.index.get_loc(pd.Timestamp("2025-12-11"))
    est = lr.iloc[p0 - 1 - 120 : p0 - 1]
    beta, alpha = np.polyfit(est["^GSPC"], est["ORCL"], 1)
    ar0 = lr["ORCL"].iloc[p0] - alpha - beta * lr["^GSPC"].iloc[p0]
    orcl = next(row for row in out["assets"] if row["asset"] == "ORCL")
    assert orcl["ar_day0"] == pytest.approx(ar0, rel=1e-9)
    assert orcl["ar_day0"] < -0.05
    assert out["nobs"] == 4
