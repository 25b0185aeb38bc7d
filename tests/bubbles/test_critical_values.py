"""Monte Carlo and wild-bootstrap critical values: reproducibility, caching, size, asymptotics."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from powderkeg.bubbles.bsadf import PsySettings, psy_sequences
from powderkeg.bubbles.critical_values import (
    CriticalValues,
    MonteCarloCV,
    WildBootstrapCV,
    null_ar_fit,
)
from powderkeg.bubbles.psy import GSADF


def test_serial_equals_two_processes() -> None:
    s = PsySettings.build(80)
    serial = MonteCarloCV(s, reps=60, seed=42).compute()
    pooled = MonteCarloCV(s, reps=60, seed=42, workers=2).compute()
    np.testing.assert_array_equal(serial.gsadf_dist, pooled.gsadf_dist)
    np.testing.assert_array_equal(serial.bsadf_cv, pooled.bsadf_cv)
    other = MonteCarloCV(s, reps=60, seed=43).compute()
    assert not np.array_equal(serial.gsadf_dist, other.gsadf_dist)


def test_chunk_replications_match_direct_simulation() -> None:
    """The first chunk's GSADF values are the kernel run on that chunk's random walks."""
    from powderkeg.bubbles.critical_values import CHUNK
    from powderkeg.parallel import spawn_seeds

    s = PsySettings.build(60)
    cv = MonteCarloCV(s, reps=CHUNK, seed=5, eta=math.inf).compute()
    eps = np.random.default_rng(spawn_seeds(5, 1)[0]).standard_normal((CHUNK, 60))
    eps[:, 0] = 0.0
    direct = [float(np.max(psy_sequences(np.cumsum(e), s)[0])) for e in eps]
    np.testing.assert_allclose(cv.gsadf_dist, np.sort(direct), rtol=0, atol=1e-12)


def test_cache_makes_repeat_instant(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.data.store import Store

    s = PsySettings.build(300)
    with Store(tmp_path / "cv.duckdb") as store:
        t0 = time.perf_counter()
        first = MonteCarloCV(s, reps=200, seed=7, store=store).compute()
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = MonteCarloCV(s, reps=200, seed=7, store=store).compute()
        t_again = time.perf_counter() - t0
        assert store.counts()["cache"] == 1
        different = MonteCarloCV(s, reps=200, seed=8, store=store).compute()
        assert store.counts()["cache"] == 2
    np.testing.assert_array_equal(first.gsadf_dist, again.gsadf_dist)
    np.testing.assert_array_equal(first.bsadf_cv, again.bsadf_cv)
    assert not np.array_equal(first.gsadf_dist, different.gsadf_dist)
    assert t_again < t_first
    rebuilt = CriticalValues.from_payload(first.to_payload())
    assert rebuilt.gsadf_cv == first.gsadf_cv


def test_adf_quantiles_converge_to_asymptotic_values() -> None:
    """Full-sample right-tailed ADF (constant) quantiles approach the asymptotic DF ones.

    Asymptotic 90/95/99 % values -0.44 / -0.08 / 0.60: Fuller (1976, Table 8.5.2) as used by
    Phillips, Wu & Yu (2011) and shipped in exuber (``exuber.crit._ASY_ADF``). At T = 800
    the empirical CDF at each value must match the level within 3.5 binomial standard errors.
    """
    reps = 1000
    cv = MonteCarloCV(PsySettings.build(800), reps=reps, seed=2015).compute()
    for level, asy in ((0.90, -0.44), (0.95, -0.08), (0.99, 0.60)):
        share = float(np.mean(cv.adf_dist <= asy))
        se = math.sqrt(level * (1 - level) / reps)
        assert abs(share - level) < 3.5 * se + 0.005, (level, share)
    # GSADF critical values rise with T towards their limit and exceed SADF's (PSY 2015)
    assert cv.gsadf_cv["95%"] > cv.sadf_cv["95%"] > cv.adf_cv["95%"]


def test_gsadf_size_on_random_walks() -> None:
    """5 % test rejects about 5 % of random walks (independent seeds for CVs and data)."""
    n, walks = 120, 400
    s = PsySettings.build(n)
    cv = MonteCarloCV(s, reps=2000, seed=100).compute()
    rng = np.random.default_rng(200)
    rejections = 0
    for _ in range(walks):
        y = np.cumsum(rng.normal(size=n) + 1.0 / n)
        rejections += int(np.max(psy_sequences(y, s)[0]) > cv.gsadf_cv["95%"])
    rate = rejections / walks
    assert abs(rate - 0.05) < 3 * math.sqrt(0.05 * 0.95 / walks), rate


def test_pvalue_is_share_above() -> None:
    cv = MonteCarloCV(PsySettings.build(100), reps=100, seed=1).compute()
    assert cv.pvalue(float(cv.gsadf_dist[-1]) + 1) == 0.0
    assert cv.pvalue(float(cv.gsadf_dist[0]) - 1) == 1.0
    assert cv.pvalue(float(cv.gsadf_dist[89])) == pytest.approx(0.11)


class TestWildBootstrap:
    def test_null_ar_fit_recovers_coefficient(self) -> None:
        rng = np.random.default_rng(4)
        e = rng.normal(size=5000)
        dy = np.zeros(5000)
        for t in range(1, 5000):
            dy[t] = 0.5 * dy[t - 1] + e[t]
        phi, resid = null_ar_fit(np.cumsum(dy), 1)
        assert phi[0] == pytest.approx(0.5, abs=0.03)
        assert resid.std() == pytest.approx(1.0, abs=0.05)

    def test_family_wise_sequence_and_reproducibility(self) -> None:
        rng = np.random.default_rng(6)
        vol = np.where(np.arange(200) > 100, 3.0, 1.0)  # a volatility shift
        y = np.cumsum(rng.normal(size=200) * vol)
        test = GSADF(y, lags=1)
        a = test.fit(cv="wild", reps=50, seed=9, tau_b=24)
        b = test.fit(cv="wild", reps=50, seed=9, tau_b=24)
        assert a.cv.gsadf_dist.shape == (50,)  # one GSADF statistic per replication
        np.testing.assert_array_equal(a.cv.gsadf_dist, b.cv.gsadf_dist)
        seq = a.cv_sequence.to_numpy()
        assert np.all(seq == seq[0])  # one family-wise value for every date
        # the max over tau_b points lies below the max over the whole sample
        assert seq[0] <= a.critical_values["95%"] + 1e-12
        assert a.cv.tau_b == 24

    def test_wrong_length_rejected(self) -> None:
        from powderkeg.exceptions import InputError

        with pytest.raises(InputError, match="observations"):
            WildBootstrapCV(np.zeros(50), PsySettings.build(60), reps=20, seed=1).compute()
