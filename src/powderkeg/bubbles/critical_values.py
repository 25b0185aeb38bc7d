r"""Critical values for the SADF/GSADF tests and the BSADF sequence.

Two sources, each an explicit object (statistic, critical values and dating stay separate):

:class:`MonteCarloCV`
    Finite-sample Monte Carlo under the unit-root null, with the data-generating process of
    Phillips, Shi & Yu (2015, Section 5) and psymonitor's ``cvPSYmc``: a random walk with
    an asymptotically negligible drift,

    .. math:: y_t = d\,T^{-\eta} + y_{t-1} + \varepsilon_t, \quad
              \varepsilon_t \sim N(0, 1), \quad y_0 = 0, \quad d = 1, \ \eta = 1 .

    (exuber's ``radf_mc_cv`` uses the driftless walk, ``eta = inf`` here.) Each replication
    runs the same recursive regressions as the data (window, lags, trend, lag criterion).
    The GSADF/SADF critical values are quantiles of the simulated statistics; the BSADF
    critical-value sequence is, for each end point :math:`r_2`, the quantile of the simulated
    :math:`BSADF_{r_2}` across replications (PSY 2015's date-stamping rule).
:class:`WildBootstrapCV`
    The wild bootstrap of Phillips & Shi (2020), which is robust to non-stationary
    volatility and controls the family-wise size of the date-stamping: the null model
    :math:`\Delta y_t = \mu + \sum_{j=1}^p \phi_j \Delta y_{t-j} + e_t` is fitted to the data,
    bootstrap samples are :math:`\Delta y^*_t = \sum_j \hat\phi_j \Delta y^*_{t-j} +
    w_t \hat e_{\pi(t)}` with :math:`w_t \sim N(0,1)` and :math:`\pi` a resampling of the
    residuals, and the date-stamping critical value is the quantile of
    :math:`\max_{t \le \tau_0 + \tau_b - 1} BSADF^*_t` over a controlling window of
    :math:`\tau_b` BSADF points (constant across dates). The GSADF critical values are the
    quantiles of the bootstrap GSADF over the whole sample.

Replications are split into fixed chunks of :data:`CHUNK` seeded by
``SeedSequence(seed).spawn`` and run through :func:`powderkeg.parallel.map_chunks`
(serially, in a process pool or on Dask), so the same seed gives identical numbers
whichever runs them. Results can be cached in the store keyed by every setting, so a repeat
is instant.

References
----------
Phillips, P. C. B., Shi, S. and Yu, J. (2015). Testing for multiple bubbles: historical
episodes of exuberance and collapse in the S&P 500. *International Economic Review* 56(4).
Phillips, P. C. B. and Shi, S. (2020). Real time monitoring of asset markets: bubbles and
crises. In *Handbook of Statistics* 42, 61-80.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from powderkeg._validation import as_float_array, check_int, check_option
from powderkeg.bubbles.bsadf import PCNT_KEYS, PsySettings, bsadf_paths
from powderkeg.exceptions import InputError
from powderkeg.parallel import map_chunks, spawn_seeds

__all__ = ["CHUNK", "CriticalValues", "MonteCarloCV", "WildBootstrapCV"]

#: Replications per seeded chunk (fixed, so the chunking never changes the numbers).
CHUNK = 25
#: Bump when the simulation changes, so old cache entries are not reused.
CACHE_VERSION = 1
_QUANTILES = (0.90, 0.95, 0.99)
ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class CriticalValues:
    """Simulated distributions and critical values for one set of PSY settings.

    Attributes
    ----------
    method : str
        ``"mc"`` or ``"wild"``.
    settings : PsySettings
        Sample size, window, lags, trend and lag criterion they apply to.
    reps, seed : int
        Replications and seed.
    gsadf_dist, sadf_dist, adf_dist : ndarray
        Sorted simulated GSADF, SADF and full-sample ADF statistics.
    bsadf_cv : ndarray of shape (n_points, 3)
        The 90/95/99 % critical-value sequence for the BSADF points.
    tau_b : int or None
        The wild bootstrap's controlling window (BSADF points).
    """

    method: str
    settings: PsySettings
    reps: int
    seed: int | None
    gsadf_dist: np.ndarray
    sadf_dist: np.ndarray
    adf_dist: np.ndarray
    bsadf_cv: np.ndarray
    tau_b: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def gsadf_cv(self) -> dict[str, float]:
        """GSADF critical values keyed ``"90%"``, ``"95%"``, ``"99%"``."""
        return _quantile_dict(self.gsadf_dist)

    @property
    def sadf_cv(self) -> dict[str, float]:
        """SADF critical values keyed ``"90%"``, ``"95%"``, ``"99%"``."""
        return _quantile_dict(self.sadf_dist)

    @property
    def adf_cv(self) -> dict[str, float]:
        """Full-sample right-tailed ADF critical values."""
        return _quantile_dict(self.adf_dist)

    def pvalue(self, stat: float, which: str = "gsadf") -> float:
        """Share of simulated statistics at or above ``stat`` (``which``: gsadf, sadf, adf)."""
        dist = {"gsadf": self.gsadf_dist, "sadf": self.sadf_dist, "adf": self.adf_dist}[which]
        if not np.isfinite(stat):
            return float("nan")
        return float(np.mean(dist >= stat))

    def sequence(self, level: str = "95%") -> np.ndarray:
        """The BSADF critical-value sequence at ``level``."""
        check_option(level, "level", PCNT_KEYS)
        return self.bsadf_cv[:, PCNT_KEYS.index(level)].copy()

    def to_payload(self) -> dict[str, Any]:
        """JSON-safe payload (for the store cache)."""
        return {
            "method": self.method,
            "settings": self.settings.to_dict(),
            "reps": self.reps,
            "seed": self.seed,
            "gsadf_dist": self.gsadf_dist.tolist(),
            "sadf_dist": self.sadf_dist.tolist(),
            "adf_dist": self.adf_dist.tolist(),
            "bsadf_cv": self.bsadf_cv.tolist(),
            "tau_b": self.tau_b,
            "parameters": self.parameters,
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> CriticalValues:
        """Rebuild from :meth:`to_payload`."""
        return cls(
            method=payload["method"],
            settings=PsySettings(**payload["settings"]),
            reps=int(payload["reps"]),
            seed=payload["seed"],
            gsadf_dist=np.asarray(payload["gsadf_dist"], dtype=np.float64),
            sadf_dist=np.asarray(payload["sadf_dist"], dtype=np.float64),
            adf_dist=np.asarray(payload["adf_dist"], dtype=np.float64),
            bsadf_cv=np.asarray(payload["bsadf_cv"], dtype=np.float64).reshape(-1, 3),
            tau_b=payload.get("tau_b"),
            parameters=dict(payload.get("parameters", {})),
        )


def _quantile_dict(dist: np.ndarray) -> dict[str, float]:
    qs = np.quantile(dist, _QUANTILES) if dist.size else np.full(3, np.nan)
    return {k: float(v) for k, v in zip(PCNT_KEYS, qs)}


def _max_threads() -> int:
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def _threads_for(workers: int, scheduler: str | None) -> int:
    """Numba threads per chunk: all of them serially, one per process otherwise."""
    if scheduler is not None or workers > 1:
        return 1
    return int(_max_threads())


def _summarise_chunk(
    bsadf: np.ndarray, badf: np.ndarray, tau_b: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    gsadf = np.nanmax(bsadf, axis=1)
    sadf = np.nanmax(badf, axis=1)
    adf = badf[:, -1].copy()
    fw = np.nanmax(bsadf[:, :tau_b], axis=1) if tau_b else np.empty(0)
    return gsadf, sadf, adf, fw, bsadf


def _chunk_start(
    seed: np.random.SeedSequence, settings: dict[str, Any], threads: int
) -> tuple[PsySettings, np.random.Generator]:
    """Set this process's numba threads; the chunk's settings and random generator."""
    import numba

    numba.set_num_threads(max(1, min(threads, _max_threads())))
    return PsySettings(**settings), np.random.default_rng(seed)


def _mc_chunk(
    seed: np.random.SeedSequence,
    n_reps: int,
    settings: dict[str, Any],
    drift: float,
    threads: int,
) -> tuple[np.ndarray, ...]:
    """One chunk of Monte Carlo replications (module-level: picklable for processes)."""
    cfg, rng = _chunk_start(seed, settings, threads)
    eps = rng.standard_normal((n_reps, cfg.nobs))
    eps[:, 0] = 0.0
    paths = np.cumsum(eps + drift * (np.arange(cfg.nobs) > 0), axis=1)
    bsadf, badf = bsadf_paths(paths, cfg)
    return _summarise_chunk(bsadf, badf, None)


def _wild_chunk(
    seed: np.random.SeedSequence,
    n_reps: int,
    settings: dict[str, Any],
    y: np.ndarray,
    phi: np.ndarray,
    resid: np.ndarray,
    tau_b: int,
    threads: int,
) -> tuple[np.ndarray, ...]:
    """One chunk of Phillips-Shi wild-bootstrap replications."""
    from scipy.signal import lfilter, lfiltic

    cfg, rng = _chunk_start(seed, settings, threads)
    n_obs = y.shape[0]
    p = phi.shape[0]
    n_diff = n_obs - 1
    dy = np.diff(y)
    paths = np.empty((n_reps, n_obs))
    den = np.concatenate(([1.0], -phi))
    for r in range(n_reps):
        idx = rng.integers(0, resid.shape[0], size=n_diff - p)
        w = rng.standard_normal(n_diff - p)
        shocks = w * resid[idx]
        dyb = np.empty(n_diff)
        dyb[:p] = dy[:p]
        if p > 0:
            zi = lfiltic([1.0], den, dy[:p][::-1])
            dyb[p:] = lfilter([1.0], den, shocks, zi=zi)[0]
        else:
            dyb[:] = shocks
        paths[r, 0] = y[0]
        paths[r, 1:] = y[0] + np.cumsum(dyb)
    bsadf, badf = bsadf_paths(paths, cfg)
    return _summarise_chunk(bsadf, badf, tau_b)


def _cache_key(
    method: str, settings: PsySettings, reps: int, seed: int | None, **extra: Any
) -> str:
    body = {"v": CACHE_VERSION, "method": method, **settings.to_dict(), "reps": reps, "seed": seed}
    body.update(extra)
    return json.dumps(body, sort_keys=True)


def _collect(
    parts: list[tuple[np.ndarray, ...]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    gsadf = np.concatenate([p[0] for p in parts])
    sadf = np.concatenate([p[1] for p in parts])
    adf = np.concatenate([p[2] for p in parts])
    fw = np.concatenate([p[3] for p in parts])
    bsadf = np.concatenate([p[4] for p in parts], axis=0)
    return gsadf, sadf, adf, fw, bsadf


@dataclass
class MonteCarloCV:
    """Monte Carlo critical values under the unit-root null (see the module docstring).

    Parameters
    ----------
    settings : PsySettings
        The test's settings (sample size, minimum window, lags, trend, lag criterion).
    reps : int, default 2000
        Replications.
    seed : int, optional
        Seed of the :class:`numpy.random.SeedSequence`; ``None`` draws fresh entropy (and
        disables caching).
    eta : float, default 1.0
        Drift exponent: the drift is ``T**-eta`` (``inf`` for no drift, as exuber).
    workers : int, default 1
        Local processes (1 runs in this process with every numba thread).
    scheduler : str, optional
        Dask scheduler address (or ``"dask-local"``).
    progress : callable, optional
        ``progress(done, total, label)`` after each chunk.
    store : Store, optional
        Cache the result there under every setting; a repeat is read back instantly.

    Examples
    --------
    >>> from powderkeg.bubbles.bsadf import PsySettings
    >>> cv = MonteCarloCV(PsySettings.build(200), reps=100, seed=1).compute()
    >>> sorted(cv.gsadf_cv)
    ['90%', '95%', '99%']
    """

    settings: PsySettings
    reps: int = 2000
    seed: int | None = None
    eta: float = 1.0
    workers: int = 1
    scheduler: str | None = None
    progress: ProgressCallback | None = None
    store: Any = None

    def compute(self) -> CriticalValues:
        """Run (or read back) the simulation."""
        reps = check_int(self.reps, "reps", minimum=10)
        drift = 0.0 if not np.isfinite(self.eta) else float(self.settings.nobs) ** (-self.eta)
        key = _cache_key("mc", self.settings, reps, self.seed, eta=self.eta)
        cached = _cache_read(self.store, key, self.seed)
        if cached is not None:
            return cached
        sizes = _sizes(reps)
        seeds = spawn_seeds(self.seed, len(sizes))
        threads = _threads_for(self.workers, self.scheduler)
        tasks = [(s, n, self.settings.to_dict(), drift, threads) for s, n in zip(seeds, sizes)]
        parts = map_chunks(
            _mc_chunk,
            tasks,
            workers=self.workers,
            scheduler=self.scheduler,
            progress=self.progress,
            label="Monte Carlo",
        )
        gsadf, sadf, adf, _, bsadf = _collect(parts)
        cv = CriticalValues(
            method="mc",
            settings=self.settings,
            reps=reps,
            seed=self.seed,
            gsadf_dist=np.sort(gsadf),
            sadf_dist=np.sort(sadf),
            adf_dist=np.sort(adf),
            bsadf_cv=np.quantile(bsadf, _QUANTILES, axis=0).T.copy(),
            parameters={"eta": self.eta, "dgp": "random walk with drift T^-eta", "chunk": CHUNK},
        )
        _cache_write(self.store, key, self.seed, cv)
        return cv


@dataclass
class WildBootstrapCV:
    """Phillips & Shi (2020) wild-bootstrap critical values for the data ``y``.

    Parameters
    ----------
    y : array-like of shape (T,)
        The series being tested (same transformation, e.g. logs).
    settings : PsySettings
        The test's settings; the null AR model uses ``settings.lags`` lagged differences.
    reps : int, default 499
        Bootstrap replications.
    seed : int, optional
        Seed of the :class:`numpy.random.SeedSequence`.
    tau_b : int, optional
        Controlling window for the family-wise size of the date-stamping, in BSADF
        points (default 10 % of them, at least one; :meth:`GSADF.fit` passes two years of
        observations when the dates show the frequency).
    workers, scheduler, progress, store
        As for :class:`MonteCarloCV`.
    """

    y: Any
    settings: PsySettings
    reps: int = 499
    seed: int | None = None
    tau_b: int | None = None
    workers: int = 1
    scheduler: str | None = None
    progress: ProgressCallback | None = None
    store: Any = None

    def compute(self) -> CriticalValues:
        """Run (or read back) the bootstrap."""
        y = as_float_array(self.y, "y")
        if y.shape[0] != self.settings.nobs:
            raise InputError(f"y has {y.shape[0]} observations, settings say {self.settings.nobs}")
        reps = check_int(self.reps, "reps", minimum=10)
        n_points = self.settings.n_points
        tau_b = self.tau_b if self.tau_b is not None else max(1, n_points // 10)
        tau_b = check_int(tau_b, "tau_b", minimum=1, maximum=n_points)
        digest = _digest(y)
        key = _cache_key("wild", self.settings, reps, self.seed, tau_b=tau_b, data=digest)
        cached = _cache_read(self.store, key, self.seed)
        if cached is not None:
            return cached
        phi, resid = null_ar_fit(y, self.settings.lags)
        sizes = _sizes(reps)
        seeds = spawn_seeds(self.seed, len(sizes))
        threads = _threads_for(self.workers, self.scheduler)
        tasks = [
            (s, n, self.settings.to_dict(), y, phi, resid, tau_b, threads)
            for s, n in zip(seeds, sizes)
        ]
        parts = map_chunks(
            _wild_chunk,
            tasks,
            workers=self.workers,
            scheduler=self.scheduler,
            progress=self.progress,
            label="wild bootstrap",
        )
        gsadf, sadf, adf, fw, _ = _collect(parts)
        fw_q = np.quantile(fw, _QUANTILES)
        cv = CriticalValues(
            method="wild",
            settings=self.settings,
            reps=reps,
            seed=self.seed,
            gsadf_dist=np.sort(gsadf),
            sadf_dist=np.sort(sadf),
            adf_dist=np.sort(adf),
            bsadf_cv=np.tile(fw_q, (n_points, 1)),
            tau_b=tau_b,
            parameters={"null_ar": phi.tolist(), "chunk": CHUNK, "family_wise": True},
        )
        _cache_write(self.store, key, self.seed, cv)
        return cv


def null_ar_fit(y: np.ndarray, lags: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Fit the null model :math:`\Delta y_t = \mu + \sum_{j=1}^p \phi_j \Delta y_{t-j} + e_t`.

    Returns the lag coefficients :math:`\hat\phi` and the residuals :math:`\hat e_t`.
    """
    dy = np.diff(np.asarray(y, dtype=np.float64))
    n = dy.shape[0] - lags
    cols = [np.ones(n)] + [dy[lags - j : lags - j + n] for j in range(1, lags + 1)]
    design = np.column_stack(cols)
    coef, *_ = np.linalg.lstsq(design, dy[lags:], rcond=None)
    resid = dy[lags:] - design @ coef
    return coef[1:].copy(), resid


def _sizes(reps: int) -> list[int]:
    from powderkeg.parallel import chunk_sizes

    return chunk_sizes(reps, CHUNK)


def _digest(y: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(y).tobytes()).hexdigest()[:16]


def _cache_read(store: Any, key: str, seed: int | None) -> CriticalValues | None:
    if store is None or seed is None:
        return None
    payload = store.cache_get("psy_cv", key)
    return None if payload is None else CriticalValues.from_payload(payload)


def _cache_write(store: Any, key: str, seed: int | None, cv: CriticalValues) -> None:
    if store is None or seed is None:
        return
    store.cache_put("psy_cv", key, cv.to_payload())
