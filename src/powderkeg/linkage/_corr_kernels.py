r"""Numba kernels for rolling and exponentially weighted correlation.

Every kernel is written once as a pure-Python function (``*_python``) operating on float64
arrays and bound as a jitted twin (same name without the suffix); the tests check that both
agree. Callers validate inputs; the kernels assume contiguous float64 arrays.

Numerical method
----------------
Running sums :math:`\sum x`, :math:`\sum x^2`, :math:`\sum xy` lose every significant digit
when a window's mean is large next to its spread (price levels). The rolling kernels instead
carry the window means and the centred co-moments and update them when one observation
enters and one leaves (a windowed Welford / West update). With
:math:`\delta_x = x_{new} - x_{old}` and means :math:`\bar x` (before) and
:math:`\bar x'` (after),

.. math::

    \bar x' = \bar x + \delta_x / w, \qquad
    C'_{xy} = C_{xy} + \delta_x \,(y_{new} - \bar y') + \delta_y \,(x_{old} - \bar x),

which is exact algebra (it reduces to Welford's variance update when :math:`x = y`) and only
ever multiplies deviations from the current window mean.

References
----------
Welford, B. P. (1962). Note on a method for calculating corrected sums of squares and
products. *Technometrics* 4(3), 419-420.
West, D. H. D. (1979). Updating mean and variance estimates: an improved method.
*Communications of the ACM* 22(9), 532-535.
"""

from __future__ import annotations

import math

import numba
import numpy as np

PEARSON = 0
SPEARMAN = 1
KENDALL = 2
#: A column's co-moments are recomputed exactly when its windowed variance falls below this
#: fraction of its largest value since the last exact pass (caps the relative rounding error).
REFRESH_RATIO = 1e-3


def _neumaier_add_python(total: np.ndarray, comp: np.ndarray, j: int, value: float) -> None:
    """Add ``value`` to the compensated sum ``total[j] + comp[j]`` (Neumaier 1974)."""
    t = total[j] + value
    if abs(total[j]) >= abs(value):
        comp[j] += (total[j] - t) + value
    else:
        comp[j] += (value - t) + total[j]
    total[j] = t


def _rolling_corr_matrix_python(
    z: np.ndarray, missing: np.ndarray, window: int, out: np.ndarray
) -> None:
    """Fill ``out`` (T, N, N) with the rolling Pearson correlation matrices of ``z`` (T, N).

    ``out[t]`` is the correlation over rows ``t - window + 1 .. t``; rows before ``window - 1``
    are NaN, and so is every entry whose window holds a missing value (``missing[t, j]``
    true) in either column, as pandas ``DataFrame.rolling(window).corr()`` does with its
    default ``min_periods=window``. ``z`` must be finite: callers put a nearby valid value
    in place of a missing one; that value is added and later removed like any other, so the
    windows after a gap are exact. The N x N update runs over ``numba.prange`` rows (threads
    when bound with ``parallel=True``, a plain loop otherwise).
    """
    t_len, n = z.shape
    out[: min(window - 1, t_len)] = np.nan
    if t_len < window:
        return
    n_missing = np.zeros(n, dtype=np.int64)
    total = np.zeros(n)
    comp = np.zeros(n)
    mean = np.zeros(n)
    for j in range(n):
        for t in range(window):
            _neumaier_add(total, comp, j, z[t, j])
            if missing[t, j]:
                n_missing[j] += 1
        mean[j] = (total[j] + comp[j]) / window
    com = np.zeros((n, n))
    for t in range(window):
        for i in range(n):
            di = z[t, i] - mean[i]
            for j in range(n):
                com[i, j] += di * (z[t, j] - mean[j])
    dx = np.zeros(n)
    a = np.zeros(n)
    b = np.zeros(n)
    scale = np.zeros(n)
    peak = np.zeros(n)
    diag = np.zeros(n)
    for j in range(n):
        peak[j] = com[j, j]
    for t in range(window - 1, t_len):
        update = t >= window
        if update:
            old = t - window
            for j in range(n):
                if missing[old, j]:
                    n_missing[j] -= 1
                if missing[t, j]:
                    n_missing[j] += 1
                dx[j] = z[t, j] - z[old, j]
                b[j] = z[old, j] - mean[j]
                _neumaier_add(total, comp, j, z[t, j])
                _neumaier_add(total, comp, j, -z[old, j])
                mean[j] = (total[j] + comp[j]) / window
                a[j] = z[t, j] - mean[j]
            for j in range(n):
                com[j, j] += dx[j] * (a[j] + b[j])
                # Rounding errors of the updates scale with the largest co-moments seen since
                # the last exact pass; once a variance has shrunk far below that peak, recompute
                # the column's co-moments exactly over the current window (O(window * N)).
                if com[j, j] < REFRESH_RATIO * peak[j]:
                    _refresh_column(z, mean, com, t - window + 1, t + 1, j)
                    peak[j] = com[j, j]
                    # a refreshed column is current: zero its terms in the pair update
                    dx[j] = 0.0
                    a[j] = 0.0
                    b[j] = 0.0
                elif com[j, j] > peak[j]:
                    peak[j] = com[j, j]
        for j in range(n):
            var = com[j, j]
            diag[j] = var
            scale[j] = 1.0 / math.sqrt(var) if (n_missing[j] == 0 and var > 0.0) else np.nan
        row_out = out[t]
        for i in numba.prange(n):
            dxi = dx[i]
            bi = b[i]
            si = scale[i]
            com_i = com[i]
            out_i = row_out[i]
            # branch-free so the compiler can vectorise; the diagonal (already updated above)
            # is put back after the loop
            for j in range(n):
                c = com_i[j] + (dxi * a[j] + dx[j] * bi)
                com_i[j] = c
                out_i[j] = c * si * scale[j]
            com_i[i] = diag[i]
            out_i[i] = diag[i] * si * si


def _refresh_column_python(
    z: np.ndarray, mean: np.ndarray, com: np.ndarray, lo: int, hi: int, j: int
) -> None:
    """Recompute column ``j``'s co-moments with every column exactly over rows ``lo:hi``.

    The mean of column ``j`` is recomputed by a two-pass sum as well; the means of the other
    columns are the running (compensated) ones.
    """
    n = z.shape[1]
    w = hi - lo
    s = 0.0
    for r in range(lo, hi):
        s += z[r, j]
    m = s / w
    e = 0.0
    for r in range(lo, hi):
        e += z[r, j] - m
    mean[j] = m + e / w
    for k in range(n):
        c = 0.0
        for r in range(lo, hi):
            c += (z[r, j] - mean[j]) * (z[r, k] - mean[k])
        com[j, k] = c
        com[k, j] = c


def _average_ranks_python(v: np.ndarray) -> np.ndarray:
    """Average ranks (1-based, ties share the mean rank) of a short vector, O(n^2)."""
    n = v.shape[0]
    r = np.empty(n)
    for i in range(n):
        less = 0
        equal = 0
        for j in range(n):
            if v[j] < v[i]:
                less += 1
            elif v[j] == v[i]:
                equal += 1
        r[i] = less + (equal + 1) / 2.0
    return r


def _pearson_python(x: np.ndarray, y: np.ndarray) -> float:
    """Two-pass Pearson correlation of two equal-length vectors (NaN if a variance is 0)."""
    n = x.shape[0]
    mx = 0.0
    my = 0.0
    for k in range(n):
        mx += x[k]
        my += y[k]
    mx /= n
    my /= n
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for k in range(n):
        dx = x[k] - mx
        dy = y[k] - my
        sxx += dx * dx
        syy += dy * dy
        sxy += dx * dy
    if sxx <= 0.0 or syy <= 0.0:
        return np.nan
    return sxy / math.sqrt(sxx * syy)


def _kendall_tau_b_python(x: np.ndarray, y: np.ndarray) -> float:
    r"""Kendall's :math:`\tau_b` of two short vectors, O(n^2).

    :math:`\tau_b = \sum_{i<j} s^x_{ij} s^y_{ij} / \sqrt{\sum |s^x_{ij}| \sum |s^y_{ij}|}`
    with :math:`s^x_{ij} = \operatorname{sign}(x_i - x_j)`, which is the tie-corrected
    statistic of :func:`scipy.stats.kendalltau`.
    """
    n = x.shape[0]
    num = 0.0
    nx = 0.0
    ny = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            sx = np.sign(x[i] - x[j])
            sy = np.sign(y[i] - y[j])
            num += sx * sy
            nx += abs(sx)
            ny += abs(sy)
    if nx <= 0.0 or ny <= 0.0:
        return np.nan
    return num / math.sqrt(nx * ny)


def _window_corr_python(
    x: np.ndarray,
    y: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    method: int,
    min_obs: int,
    out: np.ndarray,
) -> None:
    """Correlation of ``x[s:e]`` and ``y[s:e]`` for each window ``(starts[k], ends[k])``.

    ``method`` is :data:`PEARSON`, :data:`SPEARMAN` or :data:`KENDALL`. A window with fewer
    than ``min_obs`` observations or any missing value gives NaN.
    """
    for k in range(starts.shape[0]):
        s = starts[k]
        e = ends[k]
        if e - s < min_obs:
            out[k] = np.nan
            continue
        xs = x[s:e]
        ys = y[s:e]
        bad = False
        for m in range(e - s):
            if math.isnan(xs[m]) or math.isnan(ys[m]):
                bad = True
                break
        if bad:
            out[k] = np.nan
        elif method == PEARSON:
            out[k] = _pearson(xs, ys)
        elif method == SPEARMAN:
            out[k] = _pearson(_average_ranks(xs), _average_ranks(ys))
        else:
            out[k] = _kendall_tau_b(xs, ys)


def _ewma_corr_python(x: np.ndarray, y: np.ndarray, alpha: float, out: np.ndarray) -> None:
    r"""Exponentially weighted correlation (pandas ``ewm(adjust=True).corr()`` convention).

    Weights of past observations decay by :math:`1-\alpha` per row, the newest has weight 1.
    Weighted means and co-moments are updated as in West (1979):
    :math:`W' = (1-\alpha)W + 1`, :math:`\bar x' = \bar x + (x - \bar x)/W'`,
    :math:`S'_{xy} = (1-\alpha) S_{xy} + (x - \bar x)(y - \bar y')`, and
    :math:`\rho = S_{xy} / \sqrt{S_{xx} S_{yy}}`. Rows where either value is missing are
    skipped (weights still decay, as pandas does with ``ignore_na=False``) and give NaN until
    both series have varied.
    """
    decay = 1.0 - alpha
    w = 0.0
    mx = 0.0
    my = 0.0
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for t in range(x.shape[0]):
        xv = x[t]
        yv = y[t]
        if math.isnan(xv) or math.isnan(yv):
            w *= decay
            sxx *= decay
            syy *= decay
            sxy *= decay
            out[t] = np.nan
            continue
        w = decay * w + 1.0
        dx = xv - mx
        dy = yv - my
        mx += dx / w
        my += dy / w
        sxx = decay * sxx + dx * (xv - mx)
        syy = decay * syy + dy * (yv - my)
        sxy = decay * sxy + dx * (yv - my)
        if sxx > 0.0 and syy > 0.0:
            out[t] = sxy / math.sqrt(sxx * syy)
        else:
            out[t] = np.nan


_jit = numba.njit(cache=True)
_neumaier_add = _jit(_neumaier_add_python)
_refresh_column = _jit(_refresh_column_python)
_average_ranks = _jit(_average_ranks_python)
_pearson = _jit(_pearson_python)
_kendall_tau_b = _jit(_kendall_tau_b_python)
window_corr = _jit(_window_corr_python)
ewma_corr = _jit(_ewma_corr_python)
rolling_corr_matrix_serial = _jit(_rolling_corr_matrix_python)
rolling_corr_matrix_parallel = numba.njit(cache=True, parallel=True)(_rolling_corr_matrix_python)
