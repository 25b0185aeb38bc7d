"""The recursive ADF sequences of the PSY tests: window settings, BSADF and BADF.

:class:`PsySettings` fixes the window set and the window regression (minimum window, lags,
trend, lag criterion); :func:`psy_sequences` computes the BSADF, BADF and lag-order sequences
of one series and :func:`bsadf_paths` those of many simulated series, on the numba kernels of
:mod:`._psy_kernels`. The test built on them is :class:`~powderkeg.bubbles.psy.GSADF` (its
module doc states the definitions and conventions); the critical values that simulate them
are in :mod:`.critical_values`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from powderkeg._validation import check_int, check_option
from powderkeg.bubbles import _psy_kernels as kern
from powderkeg.exceptions import InsufficientDataError

__all__ = [
    "PCNT_KEYS",
    "PsySettings",
    "bsadf_paths",
    "default_min_window",
    "psy_sequences",
]

#: Levels of the critical values.
PCNT_KEYS = ("90%", "95%", "99%")
_IC_CODES = {"fixed": kern.IC_FIXED, "aic": kern.IC_AIC, "bic": kern.IC_BIC}
#: Below about this many windows the lag-0 statistic runs on one thread.
_PARALLEL_WINDOWS = 2_000_000


def default_min_window(nobs: int) -> int:
    r"""PSY's minimum window :math:`\lfloor (0.01 + 1.8/\sqrt{T})\,T \rfloor` observations."""
    return math.floor((0.01 + 1.8 / math.sqrt(nobs)) * nobs)


@dataclass(frozen=True)
class PsySettings:
    """Everything that fixes the window set and the window regression.

    Build it with :meth:`build`, which validates and fills the default window.
    """

    nobs: int
    min_window: int
    lags: int = 0
    trend: str = "c"
    ic: str = "fixed"

    @classmethod
    def build(
        cls,
        nobs: int,
        min_window: int | None = None,
        lags: int = 0,
        trend: str = "c",
        ic: str | None = None,
    ) -> PsySettings:
        """Validate the settings for a sample of ``nobs`` observations."""
        nobs = check_int(nobs, "nobs", minimum=1)
        lags = check_int(lags, "lags", minimum=0, maximum=24)
        check_option(trend, "trend", ("c", "ct"))
        ic_name = "fixed" if ic is None else str(ic).lower()
        check_option(ic_name, "ic", ("fixed", "aic", "bic"))
        n_det = 1 if trend == "c" else 2
        need = n_det + lags + 4  # rows >= regressors + 2 (positive dof, defined variance)
        if min_window is None:
            min_window = max(default_min_window(nobs), need)
        min_window = check_int(min_window, "min_window", minimum=need)
        if nobs < min_window + 1:
            raise InsufficientDataError(
                f"GSADF needs more observations than the minimum window ({min_window}); got {nobs}"
            )
        return cls(nobs=nobs, min_window=min_window, lags=lags, trend=trend, ic=ic_name)

    @property
    def n_det(self) -> int:
        """Deterministic regressors (1 constant, 2 constant and trend)."""
        return 1 if self.trend == "c" else 2

    @property
    def min_rows(self) -> int:
        """Smallest window in regression rows (pyexuber's ``minw``)."""
        return self.min_window - 1 - self.lags

    @property
    def n_points(self) -> int:
        """Length of the BSADF sequence, ``T - min_window + 1``."""
        return self.nobs - self.min_window + 1

    @property
    def fast(self) -> bool:
        """True when the closed-form lag-0 kernel applies."""
        return self.lags == 0 and self.trend == "c"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-safe)."""
        return asdict(self)


def _design(y: np.ndarray, settings: PsySettings) -> tuple[np.ndarray, np.ndarray]:
    """Regressors ``[1, (t), dy_1..dy_p, y_{t-1}]`` and ``dy_t`` for rows t = p+1..T-1."""
    p = settings.lags
    dy = np.diff(y)
    rows = np.arange(p + 1, y.shape[0])
    cols = [np.ones(rows.shape[0])]
    if settings.trend == "ct":
        cols.append(rows.astype(np.float64))
    cols += [dy[rows - 1 - j] for j in range(1, p + 1)]
    cols.append(y[rows - 1])
    return np.ascontiguousarray(np.column_stack(cols)), np.ascontiguousarray(dy[rows - 1])


def psy_sequences(
    y: np.ndarray, settings: PsySettings, *, jit: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BSADF, BADF and lag-order sequences of one series.

    Parameters
    ----------
    y : ndarray of shape (T,)
        The series (float64, finite).
    settings : PsySettings
        Window and regression settings.
    jit : bool, default True
        Use the numba kernels (``False`` runs their pure-Python twins, for tests).

    Returns
    -------
    bsadf, badf : ndarray of shape (settings.n_points,)
        ``bsadf[k]`` is the BSADF and ``badf[k]`` the ADF of the window starting at the
        first row, both for the end point at observation ``min_window - 1 + k`` (0-based).
    lag_used : ndarray of int
        The lag order of the maximising window (``lags`` unless AIC/BIC).
    """
    n_out = settings.n_points
    bsadf = np.empty(n_out)
    badf = np.empty(n_out)
    if settings.fast:
        x = np.ascontiguousarray(y[:-1])
        d = np.ascontiguousarray(np.diff(y))
        if not jit:
            kernel = kern.bsadf_lag0_python
        elif n_out * n_out < 2 * _PARALLEL_WINDOWS:  # thread start-up would dominate
            kernel = kern._lag0_serial_jit
        else:
            kernel = kern.bsadf_lag0
        kernel(x, d, settings.min_rows, bsadf, badf)
        return bsadf, badf, np.zeros(n_out, dtype=np.int64)
    xmat, d = _design(y, settings)
    lag_used = np.empty(n_out, dtype=np.int64)
    (kern.bsadf_general if jit else kern.bsadf_general_python)(
        xmat,
        d,
        settings.min_rows,
        settings.n_det,
        settings.lags,
        _IC_CODES[settings.ic],
        settings.lags,
        bsadf,
        badf,
        lag_used,
    )
    return bsadf, badf, lag_used


def bsadf_paths(paths: np.ndarray, settings: PsySettings) -> tuple[np.ndarray, np.ndarray]:
    """BSADF and BADF sequences of many simulated series (rows of ``paths``)."""
    n = paths.shape[0]
    bsadf = np.empty((n, settings.n_points))
    badf = np.empty((n, settings.n_points))
    if settings.fast:
        kern.lag0_paths(np.ascontiguousarray(paths), settings.min_rows, bsadf, badf)
        return bsadf, badf
    for r in range(n):
        b, a, _ = psy_sequences(paths[r], settings)
        bsadf[r] = b
        badf[r] = a
    return bsadf, badf
