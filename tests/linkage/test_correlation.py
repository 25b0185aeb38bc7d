"""Rolling / span / EWMA / all-pairs correlation against pandas, scipy and closed forms."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.linkage import _corr_kernels as kernels
from powderkeg.linkage.correlation import (
    corr_pvalue,
    correlate,
    ewma_corr,
    fisher_ci,
    parse_window,
    rolling_corr,
    rolling_corr_matrix,
)


def _panel(t: int = 400, n: int = 5, seed: int = 0, levels: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = rng.standard_normal((t, 1))
    x = 0.6 * common + rng.standard_normal((t, n))
    if levels:  # trending prices with a large offset: the cancellation-prone case
        x = 1e5 + 50.0 * np.cumsum(x, axis=0)
    idx = pd.date_range("2020-01-01", periods=t, freq="D")
    return pd.DataFrame(x, index=idx, columns=[f"s{i}" for i in range(n)])


def _with_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    n = out.shape[1]
    out.iloc[40, 1] = np.nan
    out.iloc[100:104, min(3, n - 1)] = np.nan
    out.iloc[0, min(2, n - 1)] = np.nan
    return out


class TestAllPairsKernel:
    def test_python_twin_equals_jitted(self) -> None:
        x = _with_gaps(_panel(120, 4, seed=1, levels=True)).to_numpy()
        missing = np.isnan(x)
        z = np.ascontiguousarray(pd.DataFrame(x).ffill().bfill().to_numpy())
        outs = []
        for kern in (
            kernels._rolling_corr_matrix_python,
            kernels.rolling_corr_matrix_serial,
            kernels.rolling_corr_matrix_parallel,
        ):
            out = np.empty((120, 4, 4))
            kern(z, missing, 15, out)
            outs.append(out)
        for other in outs[1:]:
            np.testing.assert_array_equal(np.isnan(outs[0]), np.isnan(other))
            assert np.nanmax(np.abs(outs[0] - other)) < 1e-13

    @pytest.mark.parametrize("window", [2, 5, 30, 63])
    @pytest.mark.parametrize("levels", [False, True])
    def test_equals_pandas(self, window: int, levels: bool) -> None:
        frame = _with_gaps(_panel(500, 6, seed=window, levels=levels))
        ours = rolling_corr_matrix(frame, window)
        ref = frame.rolling(window).corr().to_numpy().reshape(len(frame), 6, 6)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
        assert np.nanmax(np.abs(ours - ref)) < 1e-10
        assert np.isnan(ours[: window - 1]).all()
        # a gap blanks exactly the windows that contain it, for that column only
        assert np.isnan(ours[40 + window - 1, 1, 0]) and not np.isnan(ours[40 + window, 1, 0])

    def test_matches_exact_two_pass_on_levels(self) -> None:
        frame = _panel(1500, 4, seed=3, levels=True)
        ours = rolling_corr_matrix(frame, 30, parallel=False)
        x = frame.to_numpy()
        worst = 0.0
        for t in range(29, 1500, 7):
            worst = max(worst, float(np.abs(np.corrcoef(x[t - 29 : t + 1].T) - ours[t]).max()))
        assert worst < 1e-10

    def test_rejects_bad_input(self) -> None:
        with pytest.raises(InputError, match="window"):
            rolling_corr_matrix(_panel(50, 2), 1)
        with pytest.raises(InputError, match="2-dimensional"):
            rolling_corr_matrix(np.zeros(10), 3)


class TestPairWindows:
    def test_window_kernel_twin(self) -> None:
        frame = _with_gaps(_panel(150, 2, seed=4)).round(1)  # ties for the rank methods
        x, y = (np.ascontiguousarray(frame[c].to_numpy()) for c in frame.columns)
        starts, ends = parse_window(12).bounds(pd.DatetimeIndex(frame.index))
        for code in (kernels.PEARSON, kernels.SPEARMAN, kernels.KENDALL):
            a, b = np.empty(150), np.empty(150)
            kernels._window_corr_python(x, y, starts, ends, code, 12, a)
            kernels.window_corr(x, y, starts, ends, code, 12, b)
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-14, equal_nan=True)

    @pytest.mark.parametrize("window", [3, 30, 63])
    def test_pearson_equals_pandas(self, window: int) -> None:
        frame = _with_gaps(_panel(400, 2, seed=5))
        ours = rolling_corr(frame["s0"], frame["s1"], window)
        ref = frame["s0"].rolling(window).corr(frame["s1"])
        np.testing.assert_array_equal(ours.isna().to_numpy(), ref.isna().to_numpy())
        assert float((ours - ref).abs().max()) < 1e-10

    @pytest.mark.parametrize("window", [3, 30])
    def test_pearson_on_offset_levels_is_exact(self, window: int) -> None:
        # pandas' E[xy] - E[x]E[y] loses ~4e-10 on 3-point windows of levels near 1e5; the
        # per-window two-pass sum does not: compare with an extended-precision two-pass.
        frame = _with_gaps(_panel(300, 2, seed=5, levels=True))
        ours = rolling_corr(frame["s0"], frame["s1"], window).to_numpy()
        x = frame.to_numpy().astype(np.longdouble)
        for t in range(window - 1, 300):
            w = x[t - window + 1 : t + 1]
            if np.isnan(w).any():
                assert np.isnan(ours[t])
                continue
            d = w - w.mean(axis=0)
            exact = (d[:, 0] * d[:, 1]).sum() / np.sqrt((d**2).sum(axis=0).prod())
            assert abs(ours[t] - float(exact)) < 1e-13

    def test_calendar_span_equals_pandas_offset_window(self) -> None:
        frame = _panel(500, 2, seed=6)
        frame = frame.iloc[np.sort(np.random.default_rng(0).choice(500, 350, replace=False))]
        ours = rolling_corr(frame["s0"], frame["s1"], "90D")
        ref = frame["s0"].rolling("90D").corr(frame["s1"])
        counts = frame["s0"].rolling("90D").count()
        keep = counts >= 3
        assert float((ours[keep] - ref[keep]).abs().max()) < 1e-10
        assert ours[~keep].isna().all()

    def test_month_span_by_hand(self) -> None:
        frame = _panel(300, 2, seed=7)
        ours = rolling_corr(frame["s0"], frame["s1"], "3M")
        for t in (120, 200, 299):
            end = frame.index[t]
            win = frame.loc[(frame.index > end - pd.DateOffset(months=3)) & (frame.index <= end)]
            assert ours.iloc[t] == pytest.approx(win["s0"].corr(win["s1"]), abs=1e-12)

    @pytest.mark.parametrize("method", ["spearman", "kendall"])
    def test_rank_methods_equal_scipy(self, method: str) -> None:
        frame = _panel(200, 2, seed=8).round(1)  # rounding creates ties
        ours = rolling_corr(frame["s0"], frame["s1"], 25, method)
        fn = stats.spearmanr if method == "spearman" else stats.kendalltau
        for t in range(24, 200, 9):
            win = frame.iloc[t - 24 : t + 1]
            assert ours.iloc[t] == pytest.approx(fn(win["s0"], win["s1"])[0], abs=1e-12)
        assert ours.iloc[:24].isna().all()

    def test_ewma_equals_pandas(self) -> None:
        frame = _panel(600, 2, seed=9)
        frame.iloc[[50, 51, 300], :] = np.nan  # rows missing in both
        for halflife in (5.0, 30.0):
            ours = ewma_corr(frame["s0"], frame["s1"], halflife)
            ref = frame["s0"].ewm(halflife=halflife).corr(frame["s1"])
            both = ours.notna() & ref.notna()
            assert both.sum() > 590
            assert float((ours[both] - ref[both]).abs().max()) < 1e-10

    def test_ewma_twin(self) -> None:
        frame = _panel(100, 2, seed=10)
        x, y = frame["s0"].to_numpy(), frame["s1"].to_numpy()
        a, b = np.empty(100), np.empty(100)
        kernels._ewma_corr_python(x, y, 0.1, a)
        kernels.ewma_corr(x, y, 0.1, b)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14, equal_nan=True)

    def test_parse_window(self) -> None:
        assert parse_window("30").size == 30
        assert parse_window(63).describe() == "63 observations"
        assert parse_window("3m").offset == pd.DateOffset(months=3)
        assert parse_window("90D").is_span
        for bad in ("2", "30 days", "0D", 2.5, True):
            with pytest.raises(InputError, match="window"):
                parse_window(bad)  # type: ignore[arg-type]


class TestInference:
    def test_fisher_ci_closed_form(self) -> None:
        lo, hi = fisher_ci(0.5, 30)
        se = 1 / math.sqrt(27)
        assert lo == pytest.approx(math.tanh(math.atanh(0.5) - 1.959963984540054 * se))
        assert hi == pytest.approx(math.tanh(math.atanh(0.5) + 1.959963984540054 * se))
        lo_s, hi_s = fisher_ci(0.5, 30, "spearman")
        assert hi_s - lo_s > hi - lo
        assert all(math.isnan(v) for v in fisher_ci(0.5, 3))

    def test_pvalues_equal_scipy(self) -> None:
        frame = _panel(40, 2, seed=11)
        x, y = frame["s0"], frame["s1"]
        r = x.corr(y)
        assert corr_pvalue(r, 40) == pytest.approx(stats.pearsonr(x, y).pvalue, rel=1e-9)
        rho = x.corr(y, method="spearman")
        assert corr_pvalue(rho, 40) == pytest.approx(stats.spearmanr(x, y).pvalue, rel=1e-9)
        tau = stats.kendalltau(x, y, method="asymptotic")
        assert corr_pvalue(tau.statistic, 40, "kendall") == pytest.approx(tau.pvalue, rel=1e-9)


class TestCorrelate:
    def test_result_recipe_and_value(self) -> None:
        prices = np.exp(_panel(200, 2, seed=12).cumsum() * 0.01)
        prices.attrs["calendar"] = "intersection"
        asof = prices.index[150]
        res = correlate(prices, "s0", "s1", window=30, asof=asof)
        lr = np.log(prices.loc[:asof]).diff().iloc[-30:]
        assert res.value == pytest.approx(lr["s0"].corr(lr["s1"]), abs=1e-12)
        assert (res.n, res.start, res.end) == (30, lr.index[0], asof)
        d = res.to_dict()
        for key in ("value", "n", "start", "end", "method", "on", "window", "series", "calendar"):
            assert key in d
        assert d["calendar"] == "intersection" and d["method"] == "pearson"
        assert d["series"][-1]["date"] == f"{asof:%Y-%m-%d}"
        assert "30 observations" in res.statement() and "intersection" in res.statement()
        json.dumps(d, allow_nan=False)

    def test_levels_simple_and_ewma(self) -> None:
        prices = np.exp(_panel(200, 2, seed=13).cumsum() * 0.01)
        lev = correlate(prices, "s0", "s1", window="60D", on="levels")
        win = prices.loc[prices.index > prices.index[-1] - pd.Timedelta(days=60)]
        assert lev.value == pytest.approx(win["s0"].corr(win["s1"]), abs=1e-12)
        assert lev.n == len(win)
        simple = correlate(prices, "s0", "s1", window=20, returns_kind="simple")
        sr = prices.pct_change().iloc[-20:]
        assert simple.value == pytest.approx(sr["s0"].corr(sr["s1"]), abs=1e-12)
        ew = correlate(prices, "s0", "s1", ewma_halflife=10)
        lr = np.log(prices).diff().iloc[1:]
        ref = lr["s0"].ewm(halflife=10).corr(lr["s1"]).iloc[-1]
        assert ew.value == pytest.approx(ref, abs=1e-10)
        assert ew.n_effective is not None and 25 < ew.n_effective < 30  # (1+l)/(1-l) ~ 28.9

    def test_insufficient_and_bad_options(self) -> None:
        prices = np.exp(_panel(40, 2, seed=14).cumsum() * 0.01)
        with pytest.raises(InsufficientDataError):
            correlate(prices, "s0", "s1", window=60)
        # a window longer than the data says so, not "holds 0 usable observations"
        with pytest.raises(InsufficientDataError, match="longer than the 39 aligned") as info:
            correlate(prices, "s0", "s1", window=100000)
        assert "0 usable" not in str(info.value)
        with pytest.raises(InputError, match="method"):
            correlate(prices, "s0", "s1", method="distance")
        with pytest.raises(InputError, match="Pearson"):
            correlate(prices, "s0", "s1", method="kendall", ewma_halflife=5)


def test_synthetic_regime_recovered() -> None:
    from powderkeg.synthetic import market

    m = market(seed=7)
    truth = m.truth
    z = truth.shocks[["BTC-USD", "NVDA"]].dropna()
    n_before = int((z.index < truth.correlation_switch).sum())
    full = rolling_corr(z["BTC-USD"], z["NVDA"], n_before)
    before = full.iloc[n_before - 1]
    n_after = len(z) - n_before
    after = rolling_corr(z["BTC-USD"], z["NVDA"], n_after).iloc[-1]
    for value, n, rho in (
        (before, n_before, truth.correlation_before),
        (after, n_after, truth.correlation_after),
    ):
        lo, hi = fisher_ci(value, n, level=0.99)
        assert lo < rho < hi
    # on raw returns of the simulated prices the 63-session correlation jumps at the switch
    prices = m.frame(["BTC-USD", "NVDA"]).dropna()
    res = correlate(prices, "BTC-USD", "NVDA", window=63)
    s = res.series.dropna()
    pre = s.loc[s.index < truth.correlation_switch].mean()
    post = s.loc[s.index >= truth.correlation_switch + pd.Timedelta(days=120)].mean()
    assert pre < 0.2 < 0.4 < post


def _direct(real_store, a: str, b: str, asof: str, n: int) -> tuple[float, pd.DataFrame]:
    f = real_store.frame([a, b], end=asof).dropna()
    lr = np.log(f).diff().iloc[-n:]
    return float(lr[a].corr(lr[b])), lr


def test_cli_corr_real_store(real_store_path, real_store, capsys) -> None:
    from powderkeg.cli.main import run

    args = ["--db", str(real_store_path), "--json", "link", "corr", "BTC-USD", "^IXIC"]
    assert run([*args, "--window", "30", "--asof", "2025-12-10"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref, lr = _direct(real_store, "BTC-USD", "^IXIC", "2025-12-10", 30)
    assert out["value"] == pytest.approx(ref, abs=1e-12)
    assert out["value"] == pytest.approx(0.537, abs=0.001)
    assert (out["n"], out["start"], out["end"]) == (30, f"{lr.index[0]:%Y-%m-%d}", "2025-12-10")
    assert (out["method"], out["on"], out["calendar"]) == ("pearson", "returns", "intersection")
    assert out["provenance"]["sources"]

    assert run([*args, "--window", "3M", "--on", "levels", "--asof", "2025-12-10"]) == 0
    lev = json.loads(capsys.readouterr().out)
    f = real_store.frame(["BTC-USD", "^IXIC"], end="2025-12-10").dropna()
    win = f.loc[f.index > pd.Timestamp("2025-12-10") - pd.DateOffset(months=3)]
    assert lev["value"] == pytest.approx(win["BTC-USD"].corr(win["^IXIC"]), abs=1e-12)
    assert lev["n"] == len(win) and lev["window"] == "3M"

    assert run([*args, "--method", "distance"]) == 2
    assert "--method" in capsys.readouterr().err


def test_cli_corr_text_and_help(real_store_path, capsys) -> None:
    from powderkeg.cli.main import run

    assert (
        run(
            [
                "--db",
                str(real_store_path),
                "link",
                "corr",
                "BTC-USD",
                "NVDA",
                "--asof",
                "2025-11-18",
                "--method",
                "spearman",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "Spearman" in text and "intersection" in text and "n = 30" in text
    assert run(["link", "corr", "--help"]) == 0
    assert "Example" in capsys.readouterr().out


def test_report_section(real_store, tmp_path) -> None:
    from powderkeg.data.store import Store
    from powderkeg.report.context import ReportContext
    from powderkeg.report.sections.linkage import section

    sec = section(ReportContext(real_store, asof=pd.Timestamp("2025-12-10")))
    labels = [h.label for h in sec.headlines]
    assert "BTC–Nasdaq 30d corr on returns" in labels
    ref, _ = _direct(real_store, "BTC-USD", "^IXIC", "2025-12-10", 30)
    nasdaq = sec.headlines[labels.index("BTC–Nasdaq 30d corr on returns")]
    assert nasdaq.value == f"{ref:.2f}"
    assert any(
        "not evidence of linkage" in h.reading or "cointegrated" in h.reading for h in sec.headlines
    )
    with Store(tmp_path / "empty.duckdb") as empty:
        assert section(ReportContext(empty)) is None
