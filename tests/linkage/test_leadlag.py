"""Lead-lag: CCF against statsmodels, Bartlett band by hand, known lead recovered, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.tsa.stattools import acf, ccf

from powderkeg.exceptions import InsufficientDataError
from powderkeg.linkage.leadlag import bartlett_se, cross_correlation, lead_lag


@pytest.fixture(scope="module")
def leading() -> tuple[pd.Series, pd.Series]:
    """B follows A two periods later: b_t = 0.4 a_{t-2} + noise."""
    rng = np.random.default_rng(5)
    n = 2000
    a = rng.standard_normal(n + 2)
    b = 0.4 * a[:-2] + rng.standard_normal(n)
    idx = pd.bdate_range("2010-01-01", periods=n)
    return pd.Series(a[2:], idx, name="A"), pd.Series(b, idx, name="B")


def test_ccf_matches_statsmodels(leading: tuple[pd.Series, pd.Series]) -> None:
    a, b = (s.to_numpy() for s in leading)
    k = 6
    ours = cross_correlation(a, b, k)
    # statsmodels ccf(x, y)[j] = corr(x_{t+j}, y_t)
    fwd = ccf(b, a, adjusted=False, fft=False, nlags=k + 1)
    bwd = ccf(a, b, adjusted=False, fft=False, nlags=k + 1)
    np.testing.assert_allclose(ours[k:], fwd[: k + 1], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours[:k][::-1], bwd[1 : k + 1], rtol=1e-12, atol=1e-14)


def test_bartlett_se_by_hand(leading: tuple[pd.Series, pd.Series]) -> None:
    a, b = (s.to_numpy() for s in leading)
    k = 5
    ra = acf(a, nlags=k, fft=False)
    rb = acf(b, nlags=k, fft=False)
    var = (1 + 2 * np.sum(ra[1:] * rb[1:])) / len(a)
    assert bartlett_se(a, b, k) == pytest.approx(np.sqrt(var), rel=1e-12)


def test_recovers_known_lead(leading: tuple[pd.Series, pd.Series]) -> None:
    res = lead_lag(*leading, max_lag=5)
    assert res.best_lag == 2
    truth = 0.4 / np.sqrt(1.16)
    assert res.best_corr == pytest.approx(truth, abs=0.05)
    assert res.pvalue < 1e-10
    assert "A leads B by 2" in str(res)
    assert list(res.plot().data[0].y) == pytest.approx(list(res.ccf["corr"]))
    swapped = lead_lag(leading[1], leading[0], max_lag=5)
    assert swapped.best_lag == -2


def test_multiple_testing_adjustment() -> None:
    rng = np.random.default_rng(9)
    a = pd.Series(rng.standard_normal(800), name="A")
    b = pd.Series(rng.standard_normal(800), name="B")
    res = lead_lag(a, b, max_lag=8)
    assert res.pvalue == pytest.approx(min(1.0, 16 * res.pvalue_raw))
    assert res.pvalue_raw <= res.pvalue_sidak <= res.pvalue
    assert res.se_bartlett == pytest.approx(res.se_white, rel=0.1)
    d = res.to_dict()
    for key in ("stat", "pvalue", "critical_values", "nobs", "null_hypothesis", "ccf"):
        assert key in d
    json.dumps(d, allow_nan=False)


def test_too_short() -> None:
    x = pd.Series(np.arange(30.0), name="A")
    with pytest.raises(InsufficientDataError):
        lead_lag(x, x.rename("B"), max_lag=10)


def test_cli_leadlag_real(real_store_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.cli.main import run
    from powderkeg.data.store import Store

    code = run(
        [
            "--db",
            str(real_store_path),
            "link",
            "leadlag",
            "BTC-USD",
            "^IXIC",
            "--max-lag",
            "3",
            "--start",
            "2022-01-01",
            "--asof",
            "2025-12-31",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    with Store(real_store_path, read_only=True) as store:
        px = store.frame(["BTC-USD", "^IXIC"], start="2022-01-01", end="2025-12-31")
    lr = np.log(px / px.shift(1)).iloc[1:]
    x, y = lr["BTC-USD"].to_numpy(), lr["^IXIC"].to_numpy()
    assert out["contemporaneous"] == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-10)
    lag1 = {row["lag"]: row["corr"] for row in out["ccf"]}[1]
    direct = np.sum((x[:-1] - x.mean()) * (y[1:] - y.mean())) / (len(x) * x.std() * y.std())
    assert lag1 == pytest.approx(direct, rel=1e-10)
    assert out["calendar"].startswith("intersection")
