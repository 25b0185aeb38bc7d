r"""Kernels for LPPLS calibration: the slaved linear solve, Nelder-Mead and nested windows.

Every kernel is written once as a pure-Python function (``*_python``) and bound as a numba
kernel of the same body; the test-suite checks that the two give the same numbers.

Model
-----
The Filimonov-Sornette (2013) form of the log-periodic power law singularity model is

.. math::

    \ln p(t) = A + B f_t + C_1 g_t + C_2 h_t, \quad
    f_t = |t_c - t|^m,\ g_t = f_t \cos(\omega \ln|t_c - t|),\ h_t = f_t \sin(\omega \ln|t_c - t|).

For fixed nonlinear parameters :math:`(t_c, m, \omega)` the four linear parameters solve the
normal equations :math:`X'X\beta = X'y` with :math:`X = [1, f, g, h]`, so the search is over
three parameters only (variable projection). The objective is the sum of squared residuals
:math:`S(t_c, m, \omega) = \lVert y - X\hat\beta \rVert^2`, computed from the residuals (not
from :math:`y'y - \hat\beta'X'y`, which cancels badly). :math:`|t_c - t|` is floored at
``1e-8`` so the function is defined when :math:`t_c` falls inside the sample (as in the
``lppls`` package). The :math:`f, g, h` columns are divided by :math:`\max_t f_t` before the
solve, which keeps :math:`X'X` well scaled; the coefficients are scaled back.

Search
------
The nonlinear parameters live in a box ``lo <= x <= hi``; the optimiser works in unit
coordinates :math:`u = (x - lo)/(hi - lo) \in [0, 1]^3` and treats points outside the box as
infeasible (objective :math:`+\infty`). A fit screens a seeded design of candidate points
(a Latin hypercube drawn by the caller), then runs Nelder-Mead from the ``n_starts`` best
distinct candidates and keeps the lowest objective.

References
----------
Johansen, A., Ledoit, O. and Sornette, D. (2000). Crashes as critical points. *International
Journal of Theoretical and Applied Finance* 3(2), 219-255.

Filimonov, V. and Sornette, D. (2013). A stable and robust calibration scheme of the
log-periodic power law model. *Physica A* 392(17), 3698-3707.
"""

from __future__ import annotations

import math
import types
from typing import Any

import numba
import numpy as np

__all__ = [
    "N_OUT",
    "OUT_FIELDS",
    "fit_window",
    "fit_window_python",
    "lppls_objective",
    "lppls_objective_python",
    "nelder_mead",
    "nelder_mead_python",
    "nested_fits",
    "nested_fits_python",
]

#: Columns of a fit record written by :func:`fit_window_python`.
OUT_FIELDS = ("tc", "m", "omega", "A", "B", "C1", "C2", "sse", "n_evals", "converged")
N_OUT = len(OUT_FIELDS)

_FLOOR = 1e-8


def lppls_objective_python(
    t: np.ndarray, y: np.ndarray, tc: float, m: float, omega: float, coef: np.ndarray
) -> float:
    """Sum of squared residuals of the LPPLS fit with slaved linear parameters.

    Writes ``(A, B, C1, C2)`` into ``coef`` and returns the SSE (``inf`` if the linear
    system is singular or the values are not finite).
    """
    n = t.shape[0]
    fmax = 0.0
    for i in range(n):
        d = abs(tc - t[i])
        if d < _FLOOR:
            d = _FLOOR
        v = math.exp(m * math.log(d))
        if v > fmax:
            fmax = v
    if not (fmax > 0.0) or not math.isfinite(fmax):
        for k in range(4):
            coef[k] = math.nan
        return math.inf
    inv = 1.0 / fmax
    # pass 1: the scaled columns f, g, h (kept for the residual pass) and the sums of the
    # normal equations over X = [1, f, g, h] and y
    cols = np.empty((3, n))
    s_f = 0.0
    s_g = 0.0
    s_h = 0.0
    s_ff = 0.0
    s_fg = 0.0
    s_fh = 0.0
    s_gg = 0.0
    s_gh = 0.0
    s_hh = 0.0
    s_y = 0.0
    s_yf = 0.0
    s_yg = 0.0
    s_yh = 0.0
    for i in range(n):
        d = abs(tc - t[i])
        if d < _FLOOR:
            d = _FLOOR
        ld = math.log(d)
        f = math.exp(m * ld) * inv
        ph = omega * ld
        g = f * math.cos(ph)
        h = f * math.sin(ph)
        cols[0, i] = f
        cols[1, i] = g
        cols[2, i] = h
        yi = y[i]
        s_f += f
        s_g += g
        s_h += h
        s_ff += f * f
        s_fg += f * g
        s_fh += f * h
        s_gg += g * g
        s_gh += g * h
        s_hh += h * h
        s_y += yi
        s_yf += yi * f
        s_yg += yi * g
        s_yh += yi * h
    a = np.empty((4, 5))
    a[0, 0] = n
    a[0, 1] = s_f
    a[0, 2] = s_g
    a[0, 3] = s_h
    a[0, 4] = s_y
    a[1, 0] = s_f
    a[1, 1] = s_ff
    a[1, 2] = s_fg
    a[1, 3] = s_fh
    a[1, 4] = s_yf
    a[2, 0] = s_g
    a[2, 1] = s_fg
    a[2, 2] = s_gg
    a[2, 3] = s_gh
    a[2, 4] = s_yg
    a[3, 0] = s_h
    a[3, 1] = s_fh
    a[3, 2] = s_gh
    a[3, 3] = s_hh
    a[3, 4] = s_yh
    # Gaussian elimination with partial pivoting on the augmented 4x5 matrix
    scale = 0.0
    for r in range(4):
        if abs(a[r, r]) > scale:
            scale = abs(a[r, r])
    for col in range(4):
        piv = col
        best = abs(a[col, col])
        for r in range(col + 1, 4):
            if abs(a[r, col]) > best:
                best = abs(a[r, col])
                piv = r
        if not (best > 1e-13 * scale):
            for k in range(4):
                coef[k] = math.nan
            return math.inf
        if piv != col:
            for k in range(5):
                tmp = a[col, k]
                a[col, k] = a[piv, k]
                a[piv, k] = tmp
        for r in range(col + 1, 4):
            fac = a[r, col] / a[col, col]
            for k in range(col, 5):
                a[r, k] -= fac * a[col, k]
    for r in range(3, -1, -1):
        acc = a[r, 4]
        for k in range(r + 1, 4):
            acc -= a[r, k] * coef[k]
        coef[r] = acc / a[r, r]
    # pass 2: residuals from the stored columns
    sse = 0.0
    for i in range(n):
        e = y[i] - (coef[0] + coef[1] * cols[0, i] + coef[2] * cols[1, i] + coef[3] * cols[2, i])
        sse += e * e
    coef[1] *= inv
    coef[2] *= inv
    coef[3] *= inv
    if not math.isfinite(sse):
        return math.inf
    return sse


def _unit_objective_python(
    t: np.ndarray, y: np.ndarray, u: np.ndarray, lo: np.ndarray, hi: np.ndarray, coef: np.ndarray
) -> float:
    """The objective at unit coordinates ``u`` (``inf`` outside the unit box)."""
    for k in range(3):
        if u[k] < 0.0 or u[k] > 1.0:
            return math.inf
    tc = lo[0] + u[0] * (hi[0] - lo[0])
    m = lo[1] + u[1] * (hi[1] - lo[1])
    om = lo[2] + u[2] * (hi[2] - lo[2])
    return _objective(t, y, tc, m, om, coef)


def nelder_mead_python(
    t: np.ndarray,
    y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    u0: np.ndarray,
    step: float,
    max_evals: int,
    xtol: float,
    ftol: float,
    u_out: np.ndarray,
) -> tuple[float, int, bool]:
    """Nelder-Mead in unit coordinates from ``u0``; the best point goes to ``u_out``.

    Standard coefficients (reflection 1, expansion 2, contraction 1/2, shrink 1/2). Stops
    when the simplex spans less than ``xtol`` in every unit coordinate and the objective
    values differ by less than ``ftol * (1 + |f_best|)``, or after ``max_evals``
    evaluations. Returns ``(f_best, evaluations, converged)``.
    """
    coef = np.empty(4)
    sim = np.empty((4, 3))
    fs = np.empty(4)
    xr = np.empty(3)
    xe = np.empty(3)
    xc = np.empty(3)
    cen = np.empty(3)
    for j in range(3):
        sim[0, j] = u0[j]
    for i in range(1, 4):
        for j in range(3):
            sim[i, j] = u0[j]
        k = i - 1
        # step inwards if the vertex would leave the box
        if u0[k] + step <= 1.0:
            sim[i, k] = u0[k] + step
        else:
            sim[i, k] = u0[k] - step
    n_evals = 0
    for i in range(4):
        fs[i] = _unit_objective(t, y, sim[i], lo, hi, coef)
        n_evals += 1
    converged = False
    while n_evals < max_evals:
        # order vertices by objective (insertion sort on 4 items)
        for i in range(1, 4):
            j = i
            while j > 0 and fs[j] < fs[j - 1]:
                tmpf = fs[j]
                fs[j] = fs[j - 1]
                fs[j - 1] = tmpf
                for k in range(3):
                    tmp = sim[j, k]
                    sim[j, k] = sim[j - 1, k]
                    sim[j - 1, k] = tmp
                j -= 1
        spread = 0.0
        for i in range(1, 4):
            for k in range(3):
                dd = abs(sim[i, k] - sim[0, k])
                if dd > spread:
                    spread = dd
        if math.isfinite(fs[3]) and spread < xtol and fs[3] - fs[0] <= ftol * (1.0 + abs(fs[0])):
            converged = True
            break
        for k in range(3):
            cen[k] = (sim[0, k] + sim[1, k] + sim[2, k]) / 3.0
        for k in range(3):
            xr[k] = cen[k] + (cen[k] - sim[3, k])
        fr = _unit_objective(t, y, xr, lo, hi, coef)
        n_evals += 1
        if fr < fs[0]:
            for k in range(3):
                xe[k] = cen[k] + 2.0 * (cen[k] - sim[3, k])
            fe = _unit_objective(t, y, xe, lo, hi, coef)
            n_evals += 1
            if fe < fr:
                for k in range(3):
                    sim[3, k] = xe[k]
                fs[3] = fe
            else:
                for k in range(3):
                    sim[3, k] = xr[k]
                fs[3] = fr
            continue
        if fr < fs[2]:
            for k in range(3):
                sim[3, k] = xr[k]
            fs[3] = fr
            continue
        if fr < fs[3]:
            for k in range(3):
                xc[k] = cen[k] + 0.5 * (xr[k] - cen[k])
        else:
            for k in range(3):
                xc[k] = cen[k] + 0.5 * (sim[3, k] - cen[k])
        fc = _unit_objective(t, y, xc, lo, hi, coef)
        n_evals += 1
        if fc < min(fr, fs[3]):
            for k in range(3):
                sim[3, k] = xc[k]
            fs[3] = fc
            continue
        for i in range(1, 4):
            for k in range(3):
                sim[i, k] = sim[0, k] + 0.5 * (sim[i, k] - sim[0, k])
            fs[i] = _unit_objective(t, y, sim[i], lo, hi, coef)
            n_evals += 1
    best = 0
    for i in range(1, 4):
        if fs[i] < fs[best]:
            best = i
    for k in range(3):
        u_out[k] = sim[best, k]
    return fs[best], n_evals, converged


def fit_window_python(
    t: np.ndarray,
    y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    design: np.ndarray,
    n_starts: int,
    max_evals: int,
    xtol: float,
    ftol: float,
    out: np.ndarray,
) -> None:
    """Calibrate one window: screen ``design`` (unit points), then Nelder-Mead.

    The ``n_starts`` best distinct design points each start a coarse Nelder-Mead
    (tolerances ``100 xtol`` and ``100 ftol``, at most ``max_evals // 4`` evaluations);
    the best coarse point is then polished to ``xtol``/``ftol`` (at most ``max_evals``).
    ``out`` receives :data:`OUT_FIELDS`; parameters are NaN and ``sse`` is ``inf`` when no
    start gives a finite objective. ``converged`` is 1 when the polishing run met the tolerances.
    """
    coef = np.empty(4)
    n_design = design.shape[0]
    fvals = np.empty(n_design)
    for i in range(n_design):
        fvals[i] = _unit_objective(t, y, design[i], lo, hi, coef)
    order = np.argsort(fvals)
    chosen = np.empty((n_starts, 3))
    n_chosen = 0
    # distinct starts: skip candidates within 0.05 (unit sup-norm) of one already chosen
    for idx in range(n_design):
        i = order[idx]
        if not math.isfinite(fvals[i]):
            break
        far = True
        for c in range(n_chosen):
            dmax = 0.0
            for k in range(3):
                dd = abs(design[i, k] - chosen[c, k])
                if dd > dmax:
                    dmax = dd
            if dmax < 0.05:
                far = False
                break
        if far:
            for k in range(3):
                chosen[n_chosen, k] = design[i, k]
            n_chosen += 1
            if n_chosen == n_starts:
                break
    total = n_design
    # phase 1: a coarse Nelder-Mead from every start (tolerance 100 xtol, at most
    # max_evals / 4 evaluations) ...
    best_f = math.inf
    best_u = np.empty(3)
    u = np.empty(3)
    for c in range(n_chosen):
        f, ne, conv = _nelder_mead(
            t, y, lo, hi, chosen[c], 0.05, max_evals // 4, 100.0 * xtol, 100.0 * ftol, u
        )
        total += ne
        if f < best_f:
            best_f = f
            for k in range(3):
                best_u[k] = u[k]
    # phase 2: ... then polish the best coarse point to the full tolerance
    best_conv = False
    if math.isfinite(best_f):
        f, ne, conv = _nelder_mead(t, y, lo, hi, best_u, 0.01, max_evals, xtol, ftol, u)
        total += ne
        best_conv = conv
        if f <= best_f:
            best_f = f
            for k in range(3):
                best_u[k] = u[k]
    for k in range(N_OUT):
        out[k] = math.nan
    out[7] = math.inf
    out[8] = total
    out[9] = 0.0
    if not math.isfinite(best_f):
        return
    tc = lo[0] + best_u[0] * (hi[0] - lo[0])
    m = lo[1] + best_u[1] * (hi[1] - lo[1])
    om = lo[2] + best_u[2] * (hi[2] - lo[2])
    sse = _objective(t, y, tc, m, om, coef)
    out[0] = tc
    out[1] = m
    out[2] = om
    for k in range(4):
        out[3 + k] = coef[k]
    out[7] = sse
    out[9] = 1.0 if best_conv else 0.0


def nested_fits_python(
    t: np.ndarray,
    y: np.ndarray,
    ends: np.ndarray,
    sizes: np.ndarray,
    box: np.ndarray,
    design: np.ndarray,
    n_starts: int,
    max_evals: int,
    xtol: float,
    ftol: float,
    out: np.ndarray,
) -> None:
    """Fit every window ``[end - size + 1, end]`` for each end (row) and size (column).

    ``box`` holds the search box relative to a window: ``(tc_lo_frac, tc_hi_frac, m_lo,
    m_hi, omega_lo, omega_hi)``, the tc bounds being ``t2 + frac * (t2 - t1)``. ``out`` has
    shape ``(len(ends), len(sizes), N_OUT)``; windows that start before the data get NaN.
    """
    lo = np.empty(3)
    hi = np.empty(3)
    for a in range(ends.shape[0]):
        e = ends[a]
        for b in range(sizes.shape[0]):
            s = e - sizes[b] + 1
            if s < 0:
                for k in range(N_OUT):
                    out[a, b, k] = math.nan
                continue
            tw = t[s : e + 1]
            yw = y[s : e + 1]
            span = tw[tw.shape[0] - 1] - tw[0]
            t2 = tw[tw.shape[0] - 1]
            lo[0] = t2 + box[0] * span
            hi[0] = t2 + box[1] * span
            lo[1] = box[2]
            hi[1] = box[3]
            lo[2] = box[4]
            hi[2] = box[5]
            _fit_window(tw, yw, lo, hi, design, n_starts, max_evals, xtol, ftol, out[a, b])


def _jit(func: Any) -> Any:
    """Compile ``func`` with numba (cached on disk, releasing the GIL)."""
    return numba.njit(func, cache=True, nogil=True)


def _clone(func, name, **overrides):  # type: ignore[no-untyped-def]
    """A copy of ``func`` under a new name, with some globals replaced by jitted kernels."""
    glb = dict(func.__globals__)
    glb.update(overrides)
    code = func.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, glb, name, func.__defaults__)


# The Python twins call each other through these private module names ...
_objective = lppls_objective_python
_unit_objective = _unit_objective_python
_nelder_mead = nelder_mead_python
_fit_window = fit_window_python

# ... and the jitted kernels call the jitted twins.
lppls_objective = _jit(_clone(lppls_objective_python, "lppls_objective_kernel"))
_unit_jit = _jit(
    _clone(_unit_objective_python, "unit_objective_kernel", _objective=lppls_objective)
)
nelder_mead = _jit(_clone(nelder_mead_python, "nelder_mead_kernel", _unit_objective=_unit_jit))
fit_window = _jit(
    _clone(
        fit_window_python,
        "fit_window_kernel",
        _unit_objective=_unit_jit,
        _nelder_mead=nelder_mead,
        _objective=lppls_objective,
    )
)
nested_fits = _jit(_clone(nested_fits_python, "nested_fits_kernel", _fit_window=fit_window))
