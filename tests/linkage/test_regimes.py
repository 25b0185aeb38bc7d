"""Markov regimes: Hamilton/Kim kernels, statsmodels parity, planted switch, result and CLI.

Reference: statsmodels ``MarkovRegression(y, k_regimes=2, trend="c",
switching_variance=True)``. Tolerances: log-likelihood within 1e-4 (and never below
statsmodels'), variances within 1e-3 (relative), means within 1e-3 x the largest regime
volatility, transition probabilities and smoothed probabilities within 1e-3 (regimes
relabelled to our ordering).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.linkage import _dcc_kernels as kern
from powderkeg.linkage.regimes import MarkovSwitching, regimes, weighted_correlation


def _switching_series(seed: int = 0, T: int = 1200) -> tuple[pd.Series, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = np.zeros(T, dtype=int)
    for t in range(1, T):
        stay = 0.98 if s[t - 1] == 0 else 0.95
        s[t] = s[t - 1] if rng.random() < stay else 1 - s[t - 1]
    y = np.where(s == 0, 0.1 + 0.8 * rng.standard_normal(T), -0.2 + 2.5 * rng.standard_normal(T))
    return pd.Series(y, index=pd.bdate_range("2012-01-02", periods=T), name="y"), s


def _statsmodels(y: pd.Series):  # type: ignore[no-untyped-def]
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MarkovRegression(y, k_regimes=2, trend="c", switching_variance=True).fit()


def _check_against_statsmodels(y: pd.Series, order_by: str) -> None:
    ours = MarkovSwitching(y, order_by=order_by).fit()
    ref = _statsmodels(y)
    p = ref.params
    mu = np.array([p["const[0]"], p["const[1]"]])
    var = np.array([p["sigma2[0]"], p["sigma2[1]"]])
    P = np.array([[p["p[0->0]"], 1 - p["p[0->0]"]], [p["p[1->0]"], 1 - p["p[1->0]"]]])
    sm = ref.smoothed_marginal_probabilities.to_numpy()
    key = mu if order_by == "mean" else var
    if key[0] > key[1]:
        mu, var, P, sm = mu[::-1], var[::-1], P[::-1, ::-1], sm[:, ::-1]
    assert ours.loglikelihood == pytest.approx(ref.llf, abs=1e-4)
    assert ours.loglikelihood >= ref.llf - 1e-6  # never a worse optimum than statsmodels
    # a regime mean is weakly identified next to a large variance: scale by the volatility
    np.testing.assert_allclose(ours.means, mu, atol=1e-3 * np.sqrt(var.max()))
    np.testing.assert_allclose(ours.variances, var, rtol=1e-3)
    np.testing.assert_allclose(ours.transition, P, atol=1e-3)
    np.testing.assert_allclose(ours.smoothed.to_numpy(), sm, atol=1e-3)


class TestKernels:
    def test_filter_and_smoother_jit_equal_python(self) -> None:
        y, _ = _switching_series(T=200)
        yv = y.to_numpy()
        mu, var = np.array([0.1, -0.2]), np.array([0.6, 6.0])
        P = np.array([[0.97, 0.03], [0.06, 0.94]])
        init = np.array([2 / 3, 1 / 3])
        outs = []
        for filt_fn, smooth_fn in (
            (kern.hamilton_filter, kern.kim_smoother),
            (kern.hamilton_filter_python, kern.kim_smoother_python),
        ):
            f, p, s = np.empty((200, 2)), np.empty((200, 2)), np.empty((200, 2))
            ll = filt_fn(yv, mu, var, P, init, f, p)
            smooth_fn(P, f, p, s)
            outs.append((ll, f, p, s))
        assert outs[0][0] == pytest.approx(outs[1][0], rel=1e-13)
        for a, b in zip(outs[0][1:], outs[1][1:]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        f, s = outs[0][1], outs[0][3]
        np.testing.assert_allclose(f.sum(axis=1), 1.0)
        np.testing.assert_allclose(s.sum(axis=1), 1.0)
        np.testing.assert_allclose(s[-1], f[-1])

    def test_filter_survives_extreme_outlier(self) -> None:
        y = np.zeros(60)
        y[30] = 1e4
        f, p = np.empty((60, 2)), np.empty((60, 2))
        ll = kern.hamilton_filter(
            y, np.zeros(2), np.array([1.0, 4.0]), np.full((2, 2), 0.5), np.full(2, 0.5), f, p
        )
        assert np.isfinite(ll) and np.all(np.isfinite(f))
        assert f[30, 1] == pytest.approx(1.0)


class TestStatsmodelsParity:
    def test_simulated_switching_variance(self) -> None:
        y, states = _switching_series()
        _check_against_statsmodels(y, "variance")
        res = MarkovSwitching(y, order_by="variance").fit()
        assert (res.regime.to_numpy() == states).mean() > 0.9
        assert res.durations[0] == pytest.approx(50, rel=0.5)

    def test_real_btc_returns(self, real_store_path: Path) -> None:
        from powderkeg.data.store import Store
        from powderkeg.transforms import returns

        with Store(real_store_path, read_only=True) as store:
            px = store.frame(["BTC-USD"], start="2020-01-01")
        y = (100.0 * returns(px, "log"))["BTC-USD"]
        _check_against_statsmodels(y, "variance")


class TestPlantedSwitch:
    def test_recovers_synthetic_correlation_switch(self) -> None:
        from powderkeg.synthetic import market

        m = market(seed=7)
        truth = m.truth
        frame = m.frame(["BTC-USD", "NVDA"])
        r_btc = np.log(frame["BTC-USD"]).diff()
        r_nvda = np.log(frame["NVDA"].dropna()).diff()
        rets = pd.concat([r_btc, r_nvda], axis=1, join="inner").dropna()
        window = 60
        res = regimes(rets, "BTC-USD", "NVDA", window=window, on="corr")
        assert res.means[1] > res.means[0] + 0.25
        # the first move to the high regime that lasts at least a year
        reg = res.regime
        starts = [s["date"] for s in res.switches() if s["to"] == 1]
        lasting = [d for d in starts if reg.loc[d:].iloc[:250].mean() > 0.95]
        assert lasting, "no lasting high-correlation regime found"
        lag = rets.index.get_indexer([lasting[0]])[0] - rets.index.searchsorted(
            truth.correlation_switch
        )
        assert 0 <= lag <= window
        before = res.smoothed[1].loc[: truth.correlation_switch - pd.Timedelta(days=1)]
        assert before.mean() < 0.3


class TestResult:
    def test_vol_regimes_payload(self) -> None:
        y, _ = _switching_series(seed=4)
        rng = np.random.default_rng(1)
        other = 0.5 * y + rng.standard_normal(len(y))
        rets = pd.DataFrame({"A": y / 100.0, "B": other / 100.0})
        res = regimes(rets, "A", "B", on="vol")
        d = res.to_dict()
        json.dumps(d, allow_nan=False)
        assert d["on"] == "vol" and d["symbols"] == ["A", "B"]
        assert d["variances"][1] > d["variances"][0]
        assert np.allclose(np.sum(d["transition"], axis=1), 1.0)
        assert d["durations"][0] == pytest.approx(1 / (1 - d["transition"][0][0]))
        assert len(d["series"]) == d["nobs"] == len(y)
        rc = d["regime_correlation"]
        assert -1 <= rc["low"] <= 1 and -1 <= rc["high"] <= 1
        assert "Regimes" in str(res)
        frame = res.to_frame()
        assert list(frame.columns) == ["y", "filtered_high", "smoothed_high", "regime"]
        assert len(res.plot().data) == 2

    def test_weighted_correlation_equals_pearson_with_equal_weights(self) -> None:
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal(300), rng.standard_normal(300)
        assert weighted_correlation(x, y, np.ones(300)) == pytest.approx(np.corrcoef(x, y)[0, 1])

    def test_deterministic(self) -> None:
        y, _ = _switching_series(seed=2, T=600)
        r1 = MarkovSwitching(y, order_by="variance").fit()
        r2 = MarkovSwitching(y, order_by="variance").fit()
        np.testing.assert_array_equal(r1.smoothed.to_numpy(), r2.smoothed.to_numpy())

    def test_validation(self) -> None:
        with pytest.raises(InsufficientDataError):
            MarkovSwitching(pd.Series(np.arange(10.0)))
        with pytest.raises(InputError, match="constant"):
            MarkovSwitching(pd.Series(np.ones(100)))
        with pytest.raises(InputError, match="order_by"):
            MarkovSwitching(pd.Series(np.arange(100.0)), order_by="median")
        with pytest.raises(InputError, match="on"):
            regimes(pd.DataFrame({"A": np.arange(100.0), "B": np.arange(100.0)}), "A", "B",
                    on="levels")  # fmt: skip


class TestCli:
    def test_regimes_corr_json(
        self, real_store_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from powderkeg.cli.main import run

        code = run(["--db", str(real_store_path), "--json", "link", "regimes", "BTC-USD",
                    "NVDA", "--window", "60", "--on", "corr", "--start", "2019-01-01"])  # fmt: skip
        assert code == 0
        d = json.loads(capsys.readouterr().out)
        assert d["on"] == "corr" and d["window"] == 60
        assert d["means"][1] > d["means"][0]
        assert d["provenance"]["parameters"]["calendar"] == "intersection"
        assert 0.0 <= d["prob_high_now"] <= 1.0

    def test_regimes_vol_text(
        self, real_store_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from powderkeg.cli.main import run

        code = run(["--db", str(real_store_path), "link", "regimes", "BTC-USD", "NVDA", "--on",
                    "vol", "--start", "2021-01-01", "--asof", "2024-06-30"])  # fmt: skip
        assert code == 0
        out = capsys.readouterr().out
        assert "calendar" in out and "sample" in out and "2024-06-2" in out
        assert "Return correlation by" in out

    def test_bad_on_and_help(
        self, real_store_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from powderkeg.cli.main import run

        assert run(["--db", str(real_store_path), "link", "regimes", "BTC-USD", "NVDA",
                    "--on", "levels"]) == 2  # fmt: skip
        capsys.readouterr()
        assert run(["link", "regimes", "--help"]) == 0
        assert "Example" in capsys.readouterr().out
