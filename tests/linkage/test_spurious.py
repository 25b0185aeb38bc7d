"""Spurious-correlation guard against statsmodels and planted structure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.stattools import adfuller, coint, kpss

from powderkeg.exceptions import InsufficientDataError
from powderkeg.linkage.spurious import (
    adf_test,
    engle_granger,
    kpss_test,
    lead_lag_scan,
    spurious_check,
)
from powderkeg.stats import holm


def _walks(n: int = 250, seed: int = 0, cointegrated: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = np.cumsum(rng.normal(0.001, 0.02, n))
    b = 0.8 * a + rng.normal(0, 0.01, n) if cointegrated else np.cumsum(rng.normal(0, 0.02, n))
    idx = pd.bdate_range("2024-01-01", periods=n)
    return pd.DataFrame({"A": 100 * np.exp(a), "B": 50 * np.exp(b)}, index=idx)


def test_tests_equal_statsmodels() -> None:
    y = np.log(_walks()["A"].to_numpy())
    x = np.log(_walks()["B"].to_numpy())
    ref = adfuller(y, regression="c", autolag="AIC", result_object=False)
    ours = adf_test(y)
    assert (ours.stat, ours.pvalue, ours.lags, ours.nobs) == (ref[0], ref[1], ref[2], ref[3])
    assert ours.critical_values == {"99%": ref[4]["1%"], "95%": ref[4]["5%"], "90%": ref[4]["10%"]}
    with pytest.warns(Warning):  # statsmodels warns when the p-value hits its table bound
        kref = kpss(y, regression="c", nlags="auto", result_object=False)
    k = kpss_test(y)
    assert (k.stat, k.pvalue, k.lags) == (kref[0], kref[1], kref[2])
    assert k.critical_values["95%"] == kref[3]["5%"] and k.pvalue_note
    cref = coint(y, x, trend="c", autolag="aic")
    c = engle_granger(y, x)
    assert (c.stat, c.pvalue) == (cref[0], cref[1])
    assert [c.critical_values[k] for k in ("99%", "95%", "90%")] == list(cref[2])


def test_holm_and_bonferroni_equal_statsmodels() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.001, 0.5])
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])
    frame = np.log(_walks(120, seed=3)).diff().dropna()
    scan = lead_lag_scan(frame["A"], frame["B"], max_lag=3)
    assert np.allclose(scan.p_holm, multipletests(scan.pvalue, method="holm")[1])
    assert np.allclose(scan.p_bonferroni, multipletests(scan.pvalue, method="bonferroni")[1])
    # lag k pairs A today with B k rows later
    k2 = frame["A"].corr(frame["B"].shift(-2))
    assert scan.corr[list(scan.lags).index(2)] == pytest.approx(k2, abs=1e-12)
    k_2 = frame["A"].corr(frame["B"].shift(2))
    assert scan.corr[list(scan.lags).index(-2)] == pytest.approx(k_2, abs=1e-12)


def test_planted_lead_is_found() -> None:
    rng = np.random.default_rng(5)
    lead = rng.standard_normal(300)
    follow = np.r_[rng.standard_normal(2), lead[:-2]] * 0.8 + 0.6 * rng.standard_normal(300)
    scan = lead_lag_scan(pd.Series(lead), pd.Series(follow), max_lag=5)
    assert scan.lags[scan.best] == 2 and scan.p_holm[scan.best] < 1e-6
    assert scan.to_dict()["correction"].startswith("Holm")


def test_verdicts_on_planted_pairs() -> None:
    indep = spurious_check(_walks(250, seed=14), "A", "B", window=250)
    assert indep.level_corr > 0.6  # independent walks, high level correlation
    assert "not evidence of linkage" in indep.verdict
    assert all(
        d["classification"].startswith(("trending", "probably")) for d in indep.unit_root.values()
    )
    coint_pair = spurious_check(_walks(250, seed=2, cointegrated=True), "A", "B", window=250)
    assert coint_pair.cointegration["A on B"].pvalue < 0.01
    assert "cointegrated" in coint_pair.verdict
    with pytest.raises(InsufficientDataError):
        spurious_check(_walks(30), "A", "B", window=63)


def test_cli_spurious_real_store(real_store_path, real_store, capsys) -> None:
    from powderkeg.cli.main import run

    argv = [
        "--db",
        str(real_store_path),
        "--json",
        "link",
        "spurious",
        "BTC-USD",
        "NVDA",
        "--window",
        "63",
        "--asof",
        "2025-11-18",
    ]
    assert run(argv) == 0
    out = json.loads(capsys.readouterr().out)
    f = real_store.frame(["BTC-USD", "NVDA"], end="2025-11-18").dropna().iloc[-63:]
    lr = np.log(f).diff().dropna()
    assert out["level_corr"] == pytest.approx(f["BTC-USD"].corr(f["NVDA"]), abs=1e-12)
    assert out["return_corr"] == pytest.approx(lr["BTC-USD"].corr(lr["NVDA"]), abs=1e-12)
    assert (out["n_levels"], out["end"], out["calendar"]) == (63, "2025-11-18", "intersection")
    adf = out["unit_root"]["BTC-USD"]["adf"]
    ref = adfuller(np.log(f["BTC-USD"].to_numpy()), autolag="AIC", result_object=False)
    assert adf["stat"] == pytest.approx(ref[0]) and set(adf["critical_values"]) == {
        "90%",
        "95%",
        "99%",
    }
    assert {"stat", "pvalue", "critical_values", "nobs"} <= set(
        out["cointegration"]["BTC-USD on NVDA"]
    )
    assert "not evidence of linkage" in out["verdict"]
    assert out["lead_lag"]["lags_tried"] == 11
    assert run(["link", "spurious", "--help"]) == 0
    assert "Example" in capsys.readouterr().out
