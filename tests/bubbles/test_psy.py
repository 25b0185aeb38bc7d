"""PSY statistics: kernels (jitted == Python), parity with pyexuber, real and synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from powderkeg.bubbles import _psy_kernels as kern
from powderkeg.bubbles.bsadf import PsySettings, default_min_window, psy_sequences
from powderkeg.bubbles.psy import GSADF
from powderkeg.exceptions import InputError, InsufficientDataError

exuber = pytest.importorskip("exuber")


def _walk(n: int, seed: int, level: float = 50.0) -> np.ndarray:
    return level + np.cumsum(np.random.default_rng(seed).normal(size=n))


def _ols_t(d: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """t-ratio of the last column and SSR, by plain least squares."""
    beta, *_ = np.linalg.lstsq(x, d, rcond=None)
    resid = d - x @ beta
    ssr = float(resid @ resid)
    sigma2 = ssr / (x.shape[0] - x.shape[1])
    cov = sigma2 * np.linalg.inv(x.T @ x)
    return float(beta[-1] / math.sqrt(cov[-1, -1])), ssr


class TestKernels:
    def test_lag0_jit_equals_python(self) -> None:
        y = _walk(90, 1)
        s = PsySettings.build(90)
        jit = psy_sequences(y, s)
        py = psy_sequences(y, s, jit=False)
        np.testing.assert_allclose(jit[0], py[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(jit[1], py[1], rtol=0, atol=1e-12)

    @pytest.mark.parametrize(
        ("lags", "trend", "ic"),
        [(2, "c", None), (0, "ct", None), (2, "c", "aic"), (1, "ct", "bic")],
    )
    def test_general_jit_equals_python(self, lags: int, trend: str, ic: str | None) -> None:
        y = _walk(70, 2)
        s = PsySettings.build(70, min_window=20, lags=lags, trend=trend, ic=ic)
        jit = psy_sequences(y, s)
        py = psy_sequences(y, s, jit=False)
        for a, b in zip(jit, py):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)

    def test_paths_kernel_equals_python(self) -> None:
        paths = np.cumsum(np.random.default_rng(3).normal(size=(5, 80)), axis=1)
        s = PsySettings.build(80)
        out = [np.empty((5, s.n_points)) for _ in range(4)]
        kern.lag0_paths(paths, s.min_rows, out[0], out[1])
        kern.lag0_paths_python(paths, s.min_rows, out[2], out[3])
        np.testing.assert_array_equal(out[0], out[2])
        np.testing.assert_array_equal(out[1], out[3])

    def test_bsadf_is_max_of_window_regressions(self) -> None:
        """Brute force: every window's OLS t-ratio, including per-window AIC lag choice."""
        y = _walk(45, 4)
        s = PsySettings.build(45, min_window=15, lags=2, ic="aic")
        bsadf, badf, lag_used = psy_sequences(y, s)
        dy = np.diff(y)
        rows = np.arange(3, 45)  # rows t = p+1..T-1 with p = 2
        n_rows = rows.shape[0]
        for k in (0, 10, s.n_points - 1):
            r2 = s.min_rows - 1 + k
            best, best_p, first = -np.inf, -1, np.nan
            for r1 in range(0, r2 - s.min_rows + 2):
                sel = rows[r1 : r2 + 1]
                crits = []
                for p in range(3):
                    x = np.column_stack(
                        [np.ones(sel.size)]
                        + [dy[sel - 1 - j] for j in range(1, p + 1)]
                        + [y[sel - 1]]
                    )
                    t, ssr = _ols_t(dy[sel - 1], x)
                    crits.append((sel.size * math.log(ssr / sel.size) + 2 * (p + 2), t, p))
                _, t, p = min(crits)
                if r1 == 0:
                    first = t
                if t > best:
                    best, best_p = t, p
            assert n_rows > r2
            assert bsadf[k] == pytest.approx(best, abs=1e-10)
            assert badf[k] == pytest.approx(first, abs=1e-10)
            assert lag_used[k] == best_p


class TestExuberParity:
    @pytest.mark.parametrize("lags", [0, 1, 3])
    def test_random_walk(self, lags: int) -> None:
        y = _walk(400, 5 + lags)
        test = GSADF(y, lags=lags)
        bsadf, badf, _ = test.sequences()
        ref = exuber.radf(y, minw=test.settings.min_rows, lag=lags)
        np.testing.assert_allclose(bsadf, ref.bsadf[:, 0], rtol=0, atol=1e-8)
        np.testing.assert_allclose(badf, ref.badf[:, 0], rtol=0, atol=1e-8)
        assert float(np.max(bsadf)) == pytest.approx(float(ref.gsadf[0]), abs=1e-8)
        assert float(np.max(badf)) == pytest.approx(float(ref.sadf[0]), abs=1e-8)

    def test_trending_price_level(self) -> None:
        """Large, trending levels (BTC-like) keep full accuracy thanks to centring."""
        y = np.exp(
            np.linspace(5, 11, 600) + np.cumsum(np.random.default_rng(9).normal(0, 0.03, 600))
        )
        test = GSADF(y)
        ref = exuber.radf(y, minw=test.settings.min_rows)
        rel = np.abs(test.sequences()[0] - ref.bsadf[:, 0]) / np.maximum(1, np.abs(ref.bsadf[:, 0]))
        assert rel.max() < 1e-8

    def test_shiller_price_dividend(self, shared_data) -> None:  # type: ignore[no-untyped-def]
        raw = (
            pd.read_csv(
                shared_data / "raw" / "datasets__s-and-p-500" / "data.csv", parse_dates=["Date"]
            )
            .set_index("Date")
            .loc[:"2010-12-31"]
        )
        pdr = raw["SP500"] / raw["Dividend"]
        assert len(pdr) == 1680  # 1871-01 .. 2010-12, PSY 2015's sample
        test = GSADF(pdr)
        assert test.settings.min_window == default_min_window(1680) == 90
        ref = exuber.radf(pdr.to_numpy(), minw=test.settings.min_rows)
        res = test.fit(cv="mc", reps=199, seed=11)
        np.testing.assert_allclose(res.bsadf.to_numpy(), ref.bsadf[:, 0], rtol=0, atol=1e-8)
        assert res.stat == pytest.approx(float(ref.gsadf[0]), abs=1e-8)
        assert res.sadf == pytest.approx(float(ref.sadf[0]), abs=1e-8)
        assert res.rejected and res.pvalue is not None and res.pvalue < 0.01
        starts = [e.start for e in res.episodes]
        ends = [e.end for e in res.episodes]

        def covers(a: str, b: str) -> bool:
            return any(
                s <= pd.Timestamp(b) and (e is None or e >= pd.Timestamp(a))
                for s, e in zip(starts, ends)
            )

        assert covers("1928-01-01", "1929-10-01")  # the late-1920s boom
        assert covers("1997-01-01", "2000-12-01")  # the dot-com bubble
        dotcom = [e for e in res.episodes if e.start.year in (1995, 1996, 1997)]
        assert dotcom and dotcom[0].duration >= 36


class TestApi:
    def test_default_window_and_exuber_convention(self) -> None:
        assert default_min_window(1000) == 66
        s = PsySettings.build(1000, lags=2)
        assert s.min_window == 66 and s.min_rows == 63 and s.n_points == 935

    def test_bad_inputs(self) -> None:
        with pytest.raises(InputError, match="missing"):
            GSADF([1.0, np.nan, *list(range(40))])
        with pytest.raises(InputError, match="trend"):
            GSADF(_walk(100, 1), trend="quadratic")
        with pytest.raises(InputError, match="min_window"):
            GSADF(_walk(100, 1), min_window=3)
        with pytest.raises(InsufficientDataError):
            GSADF(_walk(10, 1), min_window=10)
        with pytest.raises(InputError, match="cv"):
            GSADF(_walk(100, 1)).fit(cv="bootstrap")

    def test_result_protocol(self) -> None:
        idx = pd.date_range("2020-01-03", periods=150, freq="W-FRI")
        y = pd.Series(_walk(150, 8), index=idx)
        y.iloc[110:130] += np.cumsum(np.linspace(0.5, 6, 20))  # a short explosive run
        res = GSADF(y).fit(cv="mc", reps=99, seed=2)
        d = res.to_dict()
        for key in (
            "stat",
            "pvalue",
            "critical_values",
            "nobs",
            "bsadf",
            "cv_sequence",
            "episodes",
            "provenance",
            "sadf",
        ):
            assert key in d
        assert set(d["critical_values"]) == {"90%", "95%", "99%"}
        assert d["bsadf"][0]["date"] == idx[res.settings.min_window - 1].strftime("%Y-%m-%d")
        assert len(d["cv_sequence"]) == res.settings.n_points
        assert d["provenance"]["seed"] == 2
        assert res.stat == pytest.approx(res.bsadf.max())
        frame = res.to_frame()
        assert list(frame.columns[:5]) == ["y", "price", "bsadf", "badf", "cv"]
        assert frame["episode"].sum() == sum(
            e.duration for e in res.episodes if not e.ongoing
        ) + sum(len(frame.loc[e.start :]) for e in res.episodes if e.ongoing)
        fig = res.plot()
        assert len(fig.data) == 3 and len(fig.layout.shapes) == 2 * len(res.episodes) >= 2
        assert "GSADF" in str(res)
        stat_only = GSADF(y).fit(cv=None)
        assert stat_only.pvalue is None and stat_only.episodes == []


def test_synthetic_planted_bubble() -> None:
    """The synthetic market's NVDA bubble is dated near its true origination and peak."""
    synthetic = pytest.importorskip("powderkeg.synthetic")
    m = synthetic.market(7)
    truth = m.truth
    close = m.frame([truth.bubble_symbol])[truth.bubble_symbol].dropna()
    weekly = close.resample("W-FRI").last().dropna()
    res = GSADF(np.log(weekly)).fit(cv="mc", reps=199, seed=3, price=weekly)
    assert res.rejected
    hits = [
        e
        for e in res.episodes
        if e.start <= truth.bubble_peak + pd.Timedelta(days=7)
        and (e.end is None or e.end >= truth.bubble_start)
    ]
    assert hits, res.episodes
    first = hits[0]
    assert truth.bubble_start - pd.Timedelta(days=60) <= first.start <= truth.bubble_peak
    assert abs((max(hits, key=lambda e: e.duration).peak - truth.bubble_peak).days) <= 35
