"""DCC/ADCC-GARCH: kernels, arch/pymgarch parity, recovery, forecasts, results and CLI.

Tolerances against the peers (measured on the data below, then given headroom):

* ``fit_garch11`` vs ``arch`` (normal): parameters within 1e-4 (absolute), log-likelihood
  within 1e-6; Student-t within 5e-3 / 1e-2 (the t objective is flat in ``nu`` and both
  optimisers stop at ``ftol=1e-6``).
* DCC/ADCC vs pymgarch 0.6 on the same returns (daily log returns x 100, constant mean,
  GARCH(1,1)): with ``marginals="arch"`` parameters within 1e-5 and the joint log-likelihood
  within 1e-5; with the default fast marginals parameters within 1e-5 (normal) / 1e-4 (t,
  ``nu`` 1e-3) and log-likelihood within 1e-3 (normal) / 2e-2 (t).
* Our stage-2 sandwich standard errors (no two-step correction) within 15 % of pymgarch's
  two-stage Engle–Sheppard errors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.linkage import _dcc_kernels as kern
from powderkeg.linkage.dcc import (
    DCC,
    _Stage2,
    correlation_targets,
    fit_garch11,
    fit_garch11_arch,
    simulate_dcc,
)

SYMBOLS = ["BTC-USD", "NVDA", "^IXIC"]


@pytest.fixture(scope="module")
def real_returns(real_store_path: Path) -> pd.DataFrame:
    from powderkeg.data.store import Store
    from powderkeg.transforms import returns

    with Store(real_store_path, read_only=True) as store:
        prices = store.frame(SYMBOLS).dropna()
    out = 100.0 * returns(prices, "log")
    return out.loc["2018-01-01":]


@pytest.fixture(scope="module")
def sim3() -> pd.DataFrame:
    return simulate_dcc(1500, a=0.04, b=0.93, correlation=0.4, n_assets=3, seed=11).returns


def _small_problem(seed: int = 0, T: int = 120, N: int = 3) -> tuple[np.ndarray, ...]:
    sim = simulate_dcc(T, n_assets=N, correlation=0.3, seed=seed, g=0.02)
    z = np.ascontiguousarray(sim.returns.to_numpy() / sim.returns.std().to_numpy())
    S, Nb = correlation_targets(z)
    return z, S, Nb


class TestKernels:
    def test_dcc_loglik_jit_equals_python(self) -> None:
        z, S, Nb = _small_problem()
        T, N = z.shape
        for studentt, nu, g in ((False, 0.0, 0.0), (True, 6.0, 0.03)):
            outs = []
            for fn in (kern.dcc_loglik, kern.dcc_loglik_python):
                bufs = [np.empty(T), np.empty(T), np.zeros(3), np.empty((T, 3))]
                corr, q_last = np.empty((T, N, N)), np.empty((N, N))
                flag = fn(
                    z, 0.05, 0.9, g, nu, studentt, S, Nb, True, True, True, *bufs, corr, q_last
                )
                outs.append((flag, *bufs, corr, q_last))
            assert outs[0][0] == outs[1][0] == 0
            for x, y in zip(outs[0][1:], outs[1][1:]):
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)

    def test_dcc_loglik_flags_non_pd(self) -> None:
        z, S, Nb = _small_problem()
        T, N = z.shape
        bad = S.copy()
        bad[0, 1] = bad[1, 0] = 1.5  # not a correlation matrix
        flag = kern.dcc_loglik(
            z, 0.05, 0.9, 0.0, 0.0, False, bad, Nb, False, False, False,
            np.empty(T), np.empty(T), np.zeros(3), np.empty((0, 3)), np.empty((0, N, N)),
            np.empty((N, N)),
        )  # fmt: skip
        assert flag == 1

    def test_garch_kernels_jit_equal_python(self) -> None:
        rng = np.random.default_rng(3)
        y = rng.standard_normal(300) * 1.3
        resid = y - y.mean()
        from powderkeg.linkage.dcc import _backcast, _variance_bounds

        bc, vb = _backcast(resid), _variance_bounds(resid)
        x = np.array([0.01, 0.1, 0.08, 0.9, 7.0])
        lo = np.array([-np.inf, 1e-8, 0.0, 0.0, 2.05])
        hi = np.array([np.inf, 10.0, 1.0, 1.0, 500.0])
        for studentt in (False, True):
            xs = x if studentt else x[:4]
            f1 = kern.garch11_negloglik(xs, y, True, studentt, bc, vb, np.empty(300))
            f2 = kern.garch11_negloglik_python(xs, y, True, studentt, bc, vb, np.empty(300))
            assert f1 == pytest.approx(f2, rel=1e-13)
            steps = kern.fd_steps(xs, lo[: len(xs)], hi[: len(xs)])
            np.testing.assert_array_equal(
                steps, kern.fd_steps_python(xs, lo[: len(xs)], hi[: len(xs)])
            )
            g1, g2 = np.empty(len(xs)), np.empty(len(xs))
            kern.garch11_fd_gradient(xs, f1, steps, y, True, studentt, bc, vb, np.empty(300), g1)
            kern.garch11_fd_gradient_python(
                xs, f1, steps, y, True, studentt, bc, vb, np.empty(300), g2
            )
            np.testing.assert_allclose(g1, g2, rtol=1e-6)
        np.testing.assert_allclose(
            kern.garch11_starting_grid(resid, bc, vb, np.empty(300)),
            kern.garch11_starting_grid_python(resid, bc, vb, np.empty(300)),
        )
        np.testing.assert_allclose(
            kern.ewma_variance(resid, 0.94, 1.0), kern.ewma_variance_python(resid, 0.94, 1.0)
        )

    def test_fd_steps_flip_at_upper_bound(self) -> None:
        x = np.array([1.0 - 1e-9])
        h = kern.fd_steps(x, np.array([0.0]), np.array([1.0]))
        assert h[0] < 0

    @pytest.mark.parametrize(("asym", "studentt"), [(False, False), (True, False), (True, True)])
    def test_analytic_gradient_matches_finite_differences(self, asym: bool, studentt: bool) -> None:
        z, S, Nb = _small_problem(seed=2, T=400, N=4)
        stage = _Stage2(z, S, Nb, asym, studentt)
        x = np.array([0.05, 0.9] + ([0.02] if asym else []) + ([7.0] if studentt else []))
        out = stage.run(x, grad=True, scores=True)
        num = np.empty(len(x))
        for j in range(len(x)):
            h = 1e-6
            xp, xm = x.copy(), x.copy()
            xp[j] += h
            xm[j] -= h
            num[j] = (stage.negloglik(xm) - stage.negloglik(xp)) / (2 * h)
        np.testing.assert_allclose(out["grad"], num, rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(out["scores"].sum(axis=0), out["grad"], rtol=1e-10)


class TestMarginals:
    @pytest.mark.parametrize("mean", ["constant", "zero"])
    def test_fast_garch_matches_arch_normal(self, real_returns: pd.DataFrame, mean: str) -> None:
        for col in SYMBOLS:
            y = real_returns[col].to_numpy()
            ours, ref = fit_garch11(y, col, mean), fit_garch11_arch(y, col, mean)
            np.testing.assert_allclose(ours.params, ref.params, atol=1e-4)
            assert ours.loglikelihood == pytest.approx(ref.loglikelihood, abs=1e-6)
            np.testing.assert_allclose(ours.sigma, ref.sigma, rtol=1e-3)

    def test_fast_garch_matches_arch_t(self, real_returns: pd.DataFrame) -> None:
        y = real_returns["BTC-USD"].to_numpy()
        ours, ref = (
            fit_garch11(y, "BTC", "constant", "t"),
            fit_garch11_arch(y, "BTC", "constant", "t"),
        )
        np.testing.assert_allclose(ours.params, ref.params, rtol=5e-3, atol=5e-3)
        assert ours.loglikelihood == pytest.approx(ref.loglikelihood, abs=1e-2)
        assert 2.05 < ours.params["nu"] < 10  # BTC is fat-tailed


class TestPymgarchParity:
    @pytest.mark.parametrize("asym", [False, True])
    def test_real_normal(self, real_returns: pd.DataFrame, asym: bool) -> None:
        import pymgarch

        peer = (pymgarch.ADCC if asym else pymgarch.DCC)().fit(real_returns, compute_se=not asym)
        ref = np.array(list(peer.params.values()))
        fast = DCC(real_returns, asymmetric=asym).fit()
        exact = DCC(real_returns, asymmetric=asym, marginals="arch").fit(compute_se=False)
        np.testing.assert_allclose(exact.params.to_numpy(), ref, atol=1e-5)
        assert exact.loglikelihood == pytest.approx(peer.loglikelihood, abs=1e-5)
        np.testing.assert_allclose(fast.params.to_numpy(), ref, atol=1e-5)
        assert fast.loglikelihood == pytest.approx(peer.loglikelihood, abs=1e-3)
        np.testing.assert_allclose(fast.correlations, peer.conditional_correlations, atol=1e-5)
        if not asym:
            peer_se = np.array(list(peer.std_errors.values()))
            np.testing.assert_allclose(fast.std_errors.to_numpy(), peer_se, rtol=0.15)

    def test_real_student_t(self, real_returns: pd.DataFrame) -> None:
        import pymgarch
        from pymgarch.marginals import UnivariateSpec

        peer = pymgarch.DCC(dist="t").fit(
            real_returns, marginals=UnivariateSpec(dist="t"), compute_se=False
        )
        ref = np.array(list(peer.params.values()))
        ours = DCC(real_returns, dist="t").fit(compute_se=False)
        np.testing.assert_allclose(ours.params.to_numpy()[:2], ref[:2], atol=1e-4)
        assert ours.params["nu"] == pytest.approx(ref[2], abs=1e-3)
        assert ours.loglikelihood == pytest.approx(peer.loglikelihood, abs=2e-2)

    def test_simulated(self, sim3: pd.DataFrame) -> None:
        import pymgarch

        peer = pymgarch.DCC().fit(sim3, compute_se=False)
        ours = DCC(sim3).fit(compute_se=False)
        np.testing.assert_allclose(ours.params.to_numpy(), list(peer.params.values()), atol=1e-5)
        assert ours.loglikelihood == pytest.approx(peer.loglikelihood, abs=1e-3)


class TestEstimation:
    def test_simulate_then_fit_recovers_a_b(self) -> None:
        sim = simulate_dcc(3000, a=0.05, b=0.90, correlation=0.5, n_assets=3, seed=5)
        res = DCC(sim.returns).fit()
        assert res.params["a"] == pytest.approx(0.05, abs=0.015)
        assert res.params["b"] == pytest.approx(0.90, abs=0.03)
        z_a = (res.params["a"] - 0.05) / res.std_errors["a"]
        assert abs(z_a) < 3.5
        # the fitted path tracks the true one
        err = np.abs(res.correlations[:, 0, 1] - sim.correlations[:, 0, 1])
        assert float(np.mean(err)) < 0.06

    def test_adcc_finds_asymmetry(self) -> None:
        sim = simulate_dcc(3000, a=0.02, b=0.93, g=0.06, correlation=0.4, n_assets=2, seed=9)
        res = DCC(sim.returns, asymmetric=True).fit(compute_se=False)
        assert res.params["g"] == pytest.approx(0.06, abs=0.03)
        assert res.persistence < 1.0

    def test_deterministic(self, sim3: pd.DataFrame) -> None:
        r1, r2 = DCC(sim3).fit(), DCC(sim3).fit()
        np.testing.assert_array_equal(r1.params.to_numpy(), r2.params.to_numpy())
        np.testing.assert_array_equal(r1.correlations, r2.correlations)

    def test_correlations_are_valid_matrices(self, sim3: pd.DataFrame) -> None:
        res = DCC(sim3, asymmetric=True).fit(compute_se=False)
        R = res.correlations
        np.testing.assert_allclose(R, np.transpose(R, (0, 2, 1)))
        np.testing.assert_allclose(np.diagonal(R, axis1=1, axis2=2), 1.0)
        assert np.linalg.eigvalsh(R).min() > 0

    def test_loglik_is_joint_returns_density(self, sim3: pd.DataFrame) -> None:
        res = DCC(sim3).fit(compute_se=False)
        sigma = np.column_stack([m.sigma for m in res.marginals])
        resid = np.column_stack([m.resid for m in res.marginals])
        total = 0.0
        for t in range(res.nobs):
            H = res.correlations[t] * np.outer(sigma[t], sigma[t])
            _sign, logdet = np.linalg.slogdet(H)
            total += -0.5 * (
                3 * math.log(2 * math.pi) + logdet + resid[t] @ np.linalg.solve(H, resid[t])
            )
        assert res.loglikelihood == pytest.approx(total, rel=1e-10)

    def test_synthetic_market_correlation_switch(self) -> None:
        from powderkeg.synthetic import market

        m = market(seed=7)
        truth = m.truth
        shocks = (truth.shocks * truth.volatility)[["BTC-USD", "NVDA"]].dropna()
        res = DCC(100.0 * shocks, mean="zero").fit(compute_se=False)
        path = res.correlation("BTC-USD", "NVDA")
        sw = truth.correlation_switch
        before = path[path.index < sw - pd.Timedelta(days=30)].mean()
        after = path[path.index >= sw + pd.Timedelta(days=120)].mean()
        # R_t reverts to the full-sample target (about 0.45 here), which pulls the short
        # low-correlation stretch up; the high regime after the switch is recovered closely
        assert before == pytest.approx(truth.correlation_before, abs=0.15)
        assert after == pytest.approx(truth.correlation_after, abs=0.08)
        assert after - before > 0.3


class TestForecast:
    def test_one_step_and_reversion(self, sim3: pd.DataFrame) -> None:
        res = DCC(sim3).fit(compute_se=False)
        fc = res.forecast(400)
        a, b = res.params["a"], res.params["b"]
        z = res.std_resid[-1]
        Q = (1 - a - b) * res.sbar + a * np.outer(z, z) + b * res.q_last
        d = np.sqrt(np.diag(Q))
        np.testing.assert_allclose(fc.correlations[0], Q / np.outer(d, d), rtol=1e-12)
        np.testing.assert_allclose(fc.correlations[-1], res.sbar, atol=1e-4)
        gap = np.abs(fc.correlations[:, 0, 1] - res.sbar[0, 1])
        assert np.all(np.diff(gap) <= 1e-15)
        assert fc.variances.shape == (400, 3)
        assert fc.correlation("x0", "x1").iloc[0] == pytest.approx(fc.correlations[0, 0, 1])

    def test_horizon_validated(self, sim3: pd.DataFrame) -> None:
        res = DCC(sim3).fit(compute_se=False)
        with pytest.raises(InputError, match="horizon"):
            res.forecast(0)


class TestResultProtocol:
    def test_payload_summary_frame_plot(self, real_returns: pd.DataFrame) -> None:
        res = DCC(real_returns).fit()
        d = res.to_dict()
        json.dumps(d, allow_nan=False)
        assert d["nobs"] == len(real_returns)
        assert set(d["params"]) == {"a", "b"} and set(d["std_errors"]) == {"a", "b"}
        assert d["pair"] == ["BTC-USD", "NVDA"]
        assert len(d["series"]) == len(real_returns)
        assert d["series"][-1]["value"] == pytest.approx(d["value"])
        assert d["loglikelihood"] == pytest.approx(res.loglikelihood)
        assert "provenance" in d
        text = str(res)
        assert "Correlation dynamics" in text and "BTC-USD~NVDA" in text
        assert list(res.to_frame().columns) == ["BTC-USD~NVDA", "BTC-USD~^IXIC", "NVDA~^IXIC"]
        fig = res.plot()
        assert len(fig.data) == 3

    def test_unknown_pair(self, sim3: pd.DataFrame) -> None:
        res = DCC(sim3).fit(compute_se=False)
        with pytest.raises(InputError, match="not one of"):
            res.correlation("x0", "nope")


class TestValidation:
    def test_bad_inputs(self, sim3: pd.DataFrame) -> None:
        with pytest.raises(InputError, match="at least 2 columns"):
            DCC(sim3[["x0"]])
        with pytest.raises(InsufficientDataError):
            DCC(sim3.iloc[:50])
        bad = sim3.copy()
        bad.iloc[3, 1] = np.nan
        with pytest.raises(InputError, match="missing"):
            DCC(bad)
        with pytest.raises(InputError, match="dist"):
            DCC(sim3, dist="skewt")


class TestCli:
    def test_dcc_json(self, real_store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        from powderkeg.cli.main import run

        args = ["link", "dcc", "BTC-USD", "NVDA", "^IXIC", "--asymmetric", "--start", "2021-01-01"]
        code = run(["--db", str(real_store_path), "--json", *args, "--forecast", "5"])
        assert code == 0
        d = json.loads(capsys.readouterr().out)
        assert d["model"] == "ADCC" and set(d["params"]) == {"a", "b", "g"}
        assert d["start"] >= "2021-01-01"
        assert len(d["forecast"]["correlation"]) == 5
        assert d["provenance"]["parameters"]["calendar"] == "intersection"

    def test_dcc_text_states_calendar_and_sample(
        self, real_store_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        from powderkeg.cli.main import run

        code = run(["--db", str(real_store_path), "link", "dcc", "BTC-USD", "NVDA",
                    "--asof", "2024-12-31", "--start", "2022-01-01"])  # fmt: skip
        assert code == 0
        out = capsys.readouterr().out
        assert "calendar" in out and "intersection" in out
        assert "2024-12-31" in out or "2024-12-3" in out

    def test_dcc_bad_usage(self, real_store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        from powderkeg.cli.main import run

        assert run(["--db", str(real_store_path), "link", "dcc", "BTC-USD"]) == 2
        assert run(["--db", str(real_store_path), "link", "dcc", "BTC-USD", "NVDA",
                    "--dist", "cauchy"]) == 2  # fmt: skip
        assert "--dist" in capsys.readouterr().err

    def test_help_has_example(self, capsys: pytest.CaptureFixture[str]) -> None:
        from powderkeg.cli.main import run

        assert run(["link", "dcc", "--help"]) == 0
        assert "Example" in capsys.readouterr().out
