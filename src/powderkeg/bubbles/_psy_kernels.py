r"""Kernels for the recursive right-tailed ADF tests (SADF, GSADF and the BSADF sequence).

Every kernel is written once as a pure-Python function (``*_python``) and bound as a numba
kernel of the same body; the test-suite checks that the two give the same numbers.

Regression rows
---------------
A series :math:`y_0,\dots,y_{T-1}` gives the regression rows :math:`t = p+1,\dots,T-1`

.. math::

    \Delta y_t = \alpha + \beta y_{t-1} + \sum_{j=1}^{p} \phi_j \Delta y_{t-j} + \varepsilon_t ,

(plus :math:`\gamma t` with ``trend="ct"``). The lagged differences of a row come from the
whole sample, as in exuber's ``unroot()``. A window is a run of consecutive rows
:math:`r_1..r_2`; its ADF statistic is the OLS t-ratio of :math:`\beta`.

Updating least squares
----------------------
For each end row :math:`r_2` the window grows backwards (:math:`r_1 = r_2, r_2-1, \dots, 0`),
adding one row's cross-products to running sums, so each of the :math:`O(T^2)` windows costs
:math:`O(K^2)` for the update and one small Cholesky factorisation instead of a regression
from scratch. The lagged level is centred at :math:`y_{r_2-1}` for each end row (the
t-ratio is invariant to that shift when a constant is included), which keeps the sums'
cancellation small for trending prices.

With one regressor besides the constant (lag 0, no trend) the t-ratio has a closed form in
the six sums :math:`n, S_x, S_{xx}, S_d, S_{xd}, S_{dd}`:

.. math::

    t = \frac{N \sqrt{n-2}}{\sqrt{D_x (n S_{dd} - S_d^2) - N^2}}, \quad
    N = n S_{xd} - S_x S_d, \quad D_x = n S_{xx} - S_x^2 ,

and the running maximum over start rows compares signed squares :math:`\mathrm{sgn}(N)N^2
(n-2)/D` by cross-multiplication, so the inner loop has no division and no square root.

With lags (and for AIC/BIC lag choice) the columns are ordered
:math:`[1, (t), \Delta y_{t-1}, \dots, \Delta y_{t-p_{max}}, y_{t-1}]`; one Cholesky factor
:math:`LL' = X'X` of the window gives every nested model with :math:`p \le p_{max}` lags,
because their design is a leading block plus the last column:
:math:`\hat\beta/\mathrm{se}(\hat\beta) = z_K / \hat\sigma` with :math:`z = L^{-1}X'\Delta y`
and :math:`\mathrm{SSR} = S_{dd} - \lVert z \rVert^2`.

References
----------
Phillips, P. C. B., Shi, S. and Yu, J. (2015). Testing for multiple bubbles: historical
episodes of exuberance and collapse in the S&P 500. *International Economic Review* 56(4),
1043-1078.
"""

from __future__ import annotations

import math
import types
from typing import Any

import numba
import numpy as np
from numba import prange

__all__ = [
    "bsadf_general",
    "bsadf_general_python",
    "bsadf_lag0",
    "bsadf_lag0_python",
    "lag0_paths",
    "lag0_paths_python",
]

IC_FIXED = 0
IC_AIC = 1
IC_BIC = 2


def bsadf_lag0_python(
    x: np.ndarray, d: np.ndarray, min_rows: int, bsadf: np.ndarray, badf: np.ndarray
) -> None:
    r"""BSADF and BADF sequences for the lag-0 ADF regression with a constant.

    Parameters
    ----------
    x : ndarray of shape (n_rows,)
        Lagged levels :math:`y_{t-1}` of the regression rows.
    d : ndarray of shape (n_rows,)
        Differences :math:`\Delta y_t` of the regression rows.
    min_rows : int
        Smallest window, in regression rows (at least 3).
    bsadf, badf : ndarray of shape (n_rows - min_rows + 1,)
        Output: for end row ``r2 = min_rows - 1 + k``, ``bsadf[k]`` is the largest ADF
        t-ratio over the windows ending at ``r2`` and ``badf[k]`` the one of the window
        starting at row 0.
    """
    n_rows = x.shape[0]
    n_out = n_rows - min_rows + 1
    half = (n_out + 1) // 2
    for i in prange(half):
        ii = np.int64(i)
        for side in range(2):
            k = ii if side == 0 else np.int64(n_out - 1) - ii
            if side == 1 and k == ii:
                continue
            r2 = min_rows - 1 + k
            c = x[r2]
            sx = 0.0
            sxx = 0.0
            sd = 0.0
            sxd = 0.0
            sdd = 0.0
            best_a = -1.0
            best_b = 0.0
            have = False
            nn = 0.0
            last_a = 0.0
            last_b = 0.0
            for r1 in range(r2, -1, -1):
                xv = x[r1] - c
                dv = d[r1]
                nn += 1.0
                sx += xv
                sxx += xv * xv
                sd += dv
                sxd += xv * dv
                sdd += dv * dv
                if r2 - r1 + 1 >= min_rows:
                    num = nn * sxd - sx * sd
                    den = (nn * sxx - sx * sx) * (nn * sdd - sd * sd) - num * num
                    if den > 0.0:
                        # signed square of t: sign(num) num^2 (n-2) / den, kept as a / b
                        a = num * abs(num) * (nn - 2.0)
                        if (not have) or a * best_b > best_a * den:
                            best_a = a
                            best_b = den
                            have = True
                        last_a = a
                        last_b = den
                    else:
                        last_a = 0.0
                        last_b = 0.0
            if have:
                bsadf[k] = math.copysign(math.sqrt(abs(best_a) / best_b), best_a)
            else:
                bsadf[k] = np.nan
            if last_b > 0.0:
                badf[k] = math.copysign(math.sqrt(abs(last_a) / last_b), last_a)
            else:
                badf[k] = np.nan


def _window_t(
    a: np.ndarray,
    cvec: np.ndarray,
    sdd: float,
    nn: float,
    n_det: int,
    pmax: int,
    ic: int,
    lags: int,
    chol: np.ndarray,
    z: np.ndarray,
) -> tuple[float, int]:
    r"""t-ratio of the last column for the chosen lag order, from the window's sums.

    ``a`` (K x K, lower triangle used) and ``cvec`` (K) hold :math:`X'X` and
    :math:`X'\\Delta y` with columns ``[det..., dy_1..dy_pmax, ylag]``. Returns
    ``(t, p)``; ``t`` is NaN when the design is singular.
    """
    k_all = a.shape[0]
    last = k_all - 1
    # Cholesky of the leading (n_det + pmax) block
    m = n_det + pmax
    for j in range(m):
        s = a[j, j]
        for q in range(j):
            s -= chol[j, q] * chol[j, q]
        if s <= 0.0:
            return np.nan, -1
        ljj = math.sqrt(s)
        chol[j, j] = ljj
        for i in range(j + 1, m):
            s2 = a[i, j]
            for q in range(j):
                s2 -= chol[i, q] * chol[j, q]
            chol[i, j] = s2 / ljj
        zz = cvec[j]
        for q in range(j):
            zz -= chol[j, q] * z[q]
        z[j] = zz / ljj
    # last row of L (the lagged level) against the leading block
    for j in range(m):
        s2 = a[last, j]
        for q in range(j):
            s2 -= chol[last, q] * chol[j, q]
        chol[last, j] = s2 / chol[j, j]
    best_crit = np.inf
    best_t = np.nan
    best_p = -1
    p_lo = lags if ic == IC_FIXED else 0
    p_hi = lags if ic == IC_FIXED else pmax
    for p in range(p_lo, p_hi + 1):
        used = n_det + p
        s = a[last, last]
        zl = cvec[last]
        ssr = sdd
        for q in range(used):
            s -= chol[last, q] * chol[last, q]
            zl -= chol[last, q] * z[q]
            ssr -= z[q] * z[q]
        if s <= 0.0:
            continue
        zl = zl / math.sqrt(s)
        ssr -= zl * zl
        dof = nn - used - 1.0
        if ssr <= 0.0 or dof <= 0.0:
            continue
        t = zl / math.sqrt(ssr / dof)
        if ic == IC_FIXED:
            return t, p
        npar = used + 1.0
        pen = 2.0 * npar if ic == IC_AIC else npar * math.log(nn)
        crit = nn * math.log(ssr / nn) + pen
        if crit < best_crit:
            best_crit = crit
            best_t = t
            best_p = p
    return best_t, best_p


def bsadf_general_python(
    xmat: np.ndarray,
    d: np.ndarray,
    min_rows: int,
    n_det: int,
    pmax: int,
    ic: int,
    lags: int,
    bsadf: np.ndarray,
    badf: np.ndarray,
    lag_used: np.ndarray,
) -> None:
    r"""BSADF and BADF sequences with lagged differences, a trend or AIC/BIC lag choice.

    Parameters
    ----------
    xmat : ndarray of shape (n_rows, K)
        Regressors ``[1, (t), dy_{t-1}, ..., dy_{t-pmax}, y_{t-1}]``.
    d : ndarray of shape (n_rows,)
        The dependent :math:`\Delta y_t`.
    min_rows : int
        Smallest window in regression rows.
    n_det : int
        Number of deterministic columns (1 constant, 2 constant and trend).
    pmax : int
        Number of lagged-difference columns.
    ic : int
        0 fixed lag order ``lags``; 1 AIC; 2 BIC (lag order chosen per window in
        ``0..pmax`` on the window's common sample).
    lags : int
        The lag order when ``ic == 0``.
    bsadf, badf : ndarray of shape (n_rows - min_rows + 1,)
        Output, as in :func:`bsadf_lag0_python`.
    lag_used : ndarray of shape (n_rows - min_rows + 1,)
        Output: the lag order of the window that attains each BSADF value.
    """
    n_rows = xmat.shape[0]
    k_all = xmat.shape[1]
    last = k_all - 1
    n_out = n_rows - min_rows + 1
    half = (n_out + 1) // 2
    for i in prange(half):
        a = np.zeros((k_all, k_all))
        cvec = np.zeros(k_all)
        chol = np.zeros((k_all, k_all))
        z = np.zeros(k_all)
        ii = np.int64(i)
        for side in range(2):
            k = ii if side == 0 else np.int64(n_out - 1) - ii
            if side == 1 and k == ii:
                continue
            r2 = min_rows - 1 + k
            shift = xmat[r2, last]
            tshift = xmat[r2, 1] if n_det == 2 else 0.0
            a[:, :] = 0.0
            cvec[:] = 0.0
            sdd = 0.0
            nn = 0.0
            best = -np.inf
            best_p = -1
            last_t = np.nan
            for r1 in range(r2, -1, -1):
                nn += 1.0
                dv = d[r1]
                sdd += dv * dv
                for u in range(k_all):
                    xu = xmat[r1, u]
                    if u == last:
                        xu -= shift
                    elif n_det == 2 and u == 1:
                        xu -= tshift
                    cvec[u] += xu * dv
                    for v in range(u + 1):
                        xv = xmat[r1, v]
                        if v == last:
                            xv -= shift
                        elif n_det == 2 and v == 1:
                            xv -= tshift
                        a[u, v] += xu * xv
                if r2 - r1 + 1 >= min_rows:
                    t, p = _window_t(a, cvec, sdd, nn, n_det, pmax, ic, lags, chol, z)
                    last_t = t
                    if t == t and t > best:
                        best = t
                        best_p = p
            bsadf[k] = best if best_p >= 0 else np.nan
            lag_used[k] = best_p
            badf[k] = last_t


def lag0_paths_python(
    paths: np.ndarray, min_rows: int, bsadf_out: np.ndarray, badf_out: np.ndarray
) -> None:
    r"""BSADF/BADF sequences (lag 0, constant) of many series, one row of ``paths`` each.

    Replications run in parallel and each one serially, which suits Monte Carlo and
    bootstrap work (many short jobs). ``bsadf_out`` and ``badf_out`` have shape
    ``(n_paths, T - 1 - min_rows + 1)``.
    """
    n_paths = paths.shape[0]
    n_obs = paths.shape[1]
    n_rows = n_obs - 1
    for r in prange(n_paths):
        x = np.empty(n_rows)
        dd = np.empty(n_rows)
        for t in range(n_rows):
            x[t] = paths[r, t]
            dd[t] = paths[r, t + 1] - paths[r, t]
        _lag0_serial(x, dd, min_rows, bsadf_out[r], badf_out[r])


def _jit(func: Any, parallel: bool = False) -> Any:
    """Compile ``func`` with numba (cached on disk, releasing the GIL)."""
    return numba.njit(func, parallel=parallel, cache=True, nogil=True)


def _clone(func, name, **overrides):  # type: ignore[no-untyped-def]
    """A copy of ``func`` under a new name, with some globals replaced by jitted kernels.

    The twins share one body: the Python function calls Python helpers, the clone calls
    the jitted ones. The new name keeps numba's on-disk cache entries apart.
    """
    glb = dict(func.__globals__)
    glb.update(overrides)
    code = func.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, glb, name, func.__defaults__)


bsadf_lag0 = _jit(bsadf_lag0_python, parallel=True)
_lag0_serial_jit = _jit(_clone(bsadf_lag0_python, "_lag0_serial_kernel"))
_window_t_jit = _jit(_window_t)
bsadf_general = _jit(
    _clone(bsadf_general_python, "bsadf_general_kernel", _window_t=_window_t_jit), parallel=True
)
lag0_paths = _jit(
    _clone(lag0_paths_python, "lag0_paths_kernel", _lag0_serial=_lag0_serial_jit), parallel=True
)

#: The pure-Python twin of the serial lag-0 kernel (what ``lag0_paths_python`` calls).
_lag0_serial = bsadf_lag0_python
