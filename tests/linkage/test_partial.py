"""Partial correlation: precision-matrix identity, pingouin-style hand computation, CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from powderkeg.exceptions import InputError
from powderkeg.linkage.partial import partial_correlation, precision_partial


@pytest.fixture(scope="module")
def common_driver() -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """A and B share a driver z1 (plus a small direct link); z2 is irrelevant noise."""
    rng = np.random.default_rng(2)
    n = 1500
    z1, z2, e1, e2, f = rng.standard_normal((5, n))
    a = z1 + 0.2 * f + e1
    b = z1 + 0.2 * f + e2
    idx = pd.bdate_range("2012-01-02", periods=n)
    ctrl = pd.DataFrame({"Z1": z1, "Z2": z2}, index=idx)
    return pd.Series(a, idx, name="A"), pd.Series(b, idx, name="B"), ctrl


def test_equals_precision_matrix(common_driver) -> None:  # type: ignore[no-untyped-def]
    a, b, ctrl = common_driver
    res = partial_correlation(a, b, ctrl)
    data = np.column_stack([a, b, ctrl])
    assert res.value == pytest.approx(precision_partial(data), rel=1e-10)


def test_equals_hand_computation(common_driver) -> None:  # type: ignore[no-untyped-def]
    """The recipe of pingouin.partial_corr: residualise on [1, Z], Pearson, t with n-2-k df."""
    a, b, ctrl = common_driver
    res = partial_correlation(a, b, ctrl)
    z = np.column_stack([np.ones(len(a)), ctrl.to_numpy()])
    ea = a.to_numpy() - z @ np.linalg.lstsq(z, a.to_numpy(), rcond=None)[0]
    eb = b.to_numpy() - z @ np.linalg.lstsq(z, b.to_numpy(), rcond=None)[0]
    r, _ = stats.pearsonr(ea, eb)
    n, k = len(a), ctrl.shape[1]
    t = r * np.sqrt((n - 2 - k) / (1 - r**2))
    assert res.value == pytest.approx(r, rel=1e-10)
    assert res.stat == pytest.approx(t, rel=1e-10)
    assert res.pvalue == pytest.approx(2 * stats.t.sf(abs(t), n - 2 - k), rel=1e-8)
    raw_r, raw_p = stats.pearsonr(a, b)
    assert res.raw == pytest.approx(raw_r, rel=1e-10)
    assert res.raw_pvalue == pytest.approx(raw_p, rel=1e-6)
    zf = np.arctanh(r)
    half = stats.norm.ppf(0.975) / np.sqrt(n - 3 - k)
    assert res.ci == pytest.approx((np.tanh(zf - half), np.tanh(zf + half)), rel=1e-10)


def test_known_truth_share(common_driver) -> None:  # type: ignore[no-untyped-def]
    a, b, ctrl = common_driver
    res = partial_correlation(a, b, ctrl)
    # raw: (1 + .04) / (2.04) ~ 0.51; partial: .04 / 1.04 ~ 0.038
    assert res.raw == pytest.approx(1.04 / 2.04, abs=0.04)
    assert res.value == pytest.approx(0.04 / 1.04, abs=0.06)
    assert res.share == pytest.approx(res.value / res.raw)
    assert res.share < 0.25
    d = res.to_dict()
    for key in ("stat", "pvalue", "critical_values", "nobs", "null_hypothesis", "raw", "share"):
        assert key in d
    json.dumps(d, allow_nan=False)


def test_collinear_controls_rejected(common_driver) -> None:  # type: ignore[no-untyped-def]
    a, b, ctrl = common_driver
    bad = ctrl.assign(Z3=2 * ctrl["Z1"])
    with pytest.raises(InputError):
        partial_correlation(a, b, bad)


def test_cli_partial_real(real_store_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.cli.main import run
    from powderkeg.data.store import Store

    code = run(
        [
            "--db",
            str(real_store_path),
            "link",
            "partial",
            "BTC-USD",
            "NVDA",
            "--control",
            "DGS10",
            "--control",
            "DTWEXBGS",
            "--start",
            "2023-01-01",
            "--asof",
            "2025-06-30",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    with Store(real_store_path, read_only=True) as store:
        px = store.frame(["BTC-USD", "NVDA"], start="2023-01-01", end="2025-06-30")
        dgs = store.frame(["DGS10"], calendar="union", asof_publication=False)["DGS10"].dropna()
        usd = store.frame(["DTWEXBGS"], calendar="union", asof_publication=False)
    usd = usd["DTWEXBGS"].dropna()

    def asof(level: pd.Series) -> pd.Series:
        return level.reindex(level.index.union(px.index)).ffill().reindex(px.index)

    frame = pd.DataFrame(
        {
            "a": np.log(px["BTC-USD"]).diff(),
            "b": np.log(px["NVDA"]).diff(),
            "r": asof(dgs).diff(),
            "d": np.log(asof(usd)).diff(),
        }
    ).dropna()
    assert out["nobs"] == len(frame)
    assert out["value"] == pytest.approx(precision_partial(frame.to_numpy()), rel=1e-9)
    assert out["raw"] == pytest.approx(frame["a"].corr(frame["b"]), rel=1e-9)
    assert out["transforms"]["DGS10"] == "first difference"
    assert out["provenance"]["parameters"]["control_dating"] == "observation"


def test_cli_partial_requires_control(real_store_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.cli.main import run

    assert run(["--db", str(real_store_path), "link", "partial", "BTC-USD", "NVDA"]) == 2
    assert "--control" in capsys.readouterr().err
