r"""Numba kernels for GARCH(1,1) marginals, the (A)DCC recursion and the Hamilton filter.

Every kernel is written once as a pure-Python function (``*_python``) on float64 arrays and
bound as a jitted twin (same name without the suffix); the tests check that both agree.
Callers validate inputs; kernels assume contiguous float64 arrays and signal numerical failure
through return flags (never exceptions).

GARCH(1,1) marginal (as in ``arch``)
------------------------------------
.. math::

    \sigma^2_t = \omega + \alpha\,\varepsilon^2_{t-1} + \beta\,\sigma^2_{t-1},
    \qquad \varepsilon_t = y_t - \mu,

with :math:`\varepsilon^2_{-1} = \sigma^2_{-1}` set to ``arch``'s backcast and each
:math:`\sigma^2_t` passed through ``arch``'s variance bounds, so the negative log-likelihood is
``arch``'s objective to rounding.

(A)DCC correlation recursion (Engle 2002; Cappiello, Engle and Sheppard 2006)
----------------------------------------------------------------------------
On standardised residuals :math:`z_t = \varepsilon_t / \sigma_t` with
:math:`n_t = \min(z_t, 0)` (elementwise) and targets :math:`\bar S, \bar N`,

.. math::

    Q_t = (1-a-b)\,\bar S - g\,\bar N + a\,z_{t-1}z_{t-1}' + g\,n_{t-1}n_{t-1}' + b\,Q_{t-1},
    \qquad Q_1 = \bar S, \qquad
    R_t = \operatorname{diag}(Q_t)^{-1/2}\, Q_t\, \operatorname{diag}(Q_t)^{-1/2}.

The per-observation log-density of :math:`z_t` is
:math:`-\tfrac12 (N\ln 2\pi + \ln|R_t| + z_t'R_t^{-1}z_t)` (normal) or the
covariance-standardised multivariate Student-t. The analytic gradient propagates
:math:`\partial Q_t/\partial\theta` through the recursion
(:math:`\partial Q_t/\partial a = z_{t-1}z_{t-1}' - \bar S + b\,\partial Q_{t-1}/\partial a`,
:math:`\partial Q_t/\partial b = Q_{t-1} - \bar S + b\,\partial Q_{t-1}/\partial b`,
:math:`\partial Q_t/\partial g = n_{t-1}n_{t-1}' - \bar N + b\,\partial Q_{t-1}/\partial g`)
and uses :math:`d\ell_t = -\tfrac12 \operatorname{tr}[(R_t^{-1} - c_t w_t w_t')\,dR_t]`,
:math:`w_t = R_t^{-1} z_t`, with :math:`c_t = 1` (normal) or
:math:`c_t = (\nu + N)/(\nu - 2 + z_t'R_t^{-1}z_t)` (Student-t).

References
----------
Engle, R. F. (2002). Dynamic conditional correlation. *Journal of Business & Economic
Statistics* 20(3), 339-350.
Cappiello, L., Engle, R. F. and Sheppard, K. (2006). Asymmetric dynamics in the correlations
of global equity and bond returns. *Journal of Financial Econometrics* 4(4), 537-572.
Hamilton, J. D. (1989). A new approach to the economic analysis of nonstationary time series
and the business cycle. *Econometrica* 57(2), 357-384.
Kim, C.-J. (1994). Dynamic linear models with Markov-switching. *Journal of Econometrics*
60(1-2), 1-22.
"""

from __future__ import annotations

import math

import numba
import numpy as np

LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# GARCH(1,1) marginals
# --------------------------------------------------------------------------------------------


def garch11_negloglik_python(
    x: np.ndarray,
    y: np.ndarray,
    has_mean: bool,
    studentt: bool,
    backcast: float,
    var_bounds: np.ndarray,
    sigma2: np.ndarray,
) -> float:
    """Negative log-likelihood of a GARCH(1,1) with constant/zero mean, normal or t errors.

    ``x`` is ``[mu,] omega, alpha, beta[, nu]``; ``sigma2`` (length T) receives the
    conditional variances. Mirrors ``arch``'s ``_loglikelihood`` (same backcast and bounds).
    """
    k = 1 if has_mean else 0
    mu = x[0] if has_mean else 0.0
    omega = x[k]
    alpha = x[k + 1]
    beta = x[k + 2]
    T = y.shape[0]
    prev_e2 = backcast
    prev_s2 = backcast
    total = 0.0
    if studentt:
        nu = x[k + 3]
        const = math.lgamma((nu + 1.0) / 2.0) - math.lgamma(nu / 2.0)
        const -= math.log(math.pi * (nu - 2.0)) / 2.0
    else:
        nu = 0.0
        const = 0.0
    for t in range(T):
        s2 = omega + alpha * prev_e2 + beta * prev_s2
        lo = var_bounds[t, 0]
        hi = var_bounds[t, 1]
        if s2 < lo:
            s2 = lo
        elif s2 > hi:
            s2 = hi + 1000.0 if math.isinf(s2) else hi + math.log(s2 / hi)
        sigma2[t] = s2
        e = y[t] - mu
        e2 = e * e
        if studentt:
            total += const - 0.5 * math.log(s2)
            total -= ((nu + 1.0) / 2.0) * math.log(1.0 + e2 / (s2 * (nu - 2.0)))
        else:
            total += -0.5 * (LOG_2PI + math.log(s2) + e2 / s2)
        prev_e2 = e2
        prev_s2 = s2
    return -total


garch11_negloglik = numba.njit(cache=True)(garch11_negloglik_python)


def fd_steps_python(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Forward-difference steps of scipy's SLSQP (``abs_step`` = sqrt(eps), bounds-aware).

    Reproduces the steps of ``scipy.optimize._numdiff.approx_derivative(method="2-point",
    abs_step=1.49e-8, bounds=...)``: a zero step falls back to a relative one, and a step that
    would leave the bounds flips sign when it fits on the other side.
    """
    step = 1.4901161193847656e-08
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        h = step
        if (x[i] + h) - x[i] == 0.0:
            sign = 1.0 if x[i] >= 0.0 else -1.0
            h = 2.220446049250313e-16**0.5 * sign * max(1.0, abs(x[i]))
        lo = lower[i]
        hi = upper[i]
        if not (math.isinf(lo) and math.isinf(hi)):
            xi = x[i] + h
            lower_dist = x[i] - lo
            upper_dist = hi - x[i]
            violated = xi < lo or xi > hi
            fitting = abs(h) <= max(lower_dist, upper_dist)
            if violated and fitting:
                h = -h
            elif not fitting:
                h = upper_dist if upper_dist >= lower_dist else -lower_dist
        out[i] = h
    return out


fd_steps = numba.njit(cache=True)(fd_steps_python)


def garch11_fd_gradient_python(
    x: np.ndarray,
    f0: float,
    steps: np.ndarray,
    y: np.ndarray,
    has_mean: bool,
    studentt: bool,
    backcast: float,
    var_bounds: np.ndarray,
    sigma2: np.ndarray,
    grad: np.ndarray,
) -> None:
    """Forward-difference gradient of :func:`garch11_negloglik` with the given ``steps``.

    As in scipy, each difference is divided by the exactly representable step
    ``(x + h) - x``, so an SLSQP run with this gradient follows ``arch``'s iterates.
    """
    n = x.shape[0]
    xp = x.copy()
    for i in range(n):
        xp[i] = x[i] + steps[i]
        dx = xp[i] - x[i]
        fi = garch11_negloglik(xp, y, has_mean, studentt, backcast, var_bounds, sigma2)
        grad[i] = (fi - f0) / dx
        xp[i] = x[i]


garch11_fd_gradient = numba.njit(cache=True)(garch11_fd_gradient_python)


def garch11_starting_grid_python(
    resids: np.ndarray, backcast: float, var_bounds: np.ndarray, sigma2: np.ndarray
) -> np.ndarray:
    """``arch``'s GARCH(1,1) starting values: best Gaussian fit on its 4 x 4 x 4 grid.

    ``arch`` loops over alpha in {0.01, 0.05, 0.1, 0.2}, an unused gamma on the same grid and
    persistence in {0.5, 0.7, 0.9, 0.98}; the first maximum wins.
    """
    grid_a = np.array([0.01, 0.05, 0.1, 0.2])
    grid_p = np.array([0.5, 0.7, 0.9, 0.98])
    T = resids.shape[0]
    target = 0.0
    for t in range(T):
        target += resids[t] * resids[t]
    target /= T
    best = -np.inf
    out = np.empty(3)
    x = np.empty(3)
    for ia in range(4):
        for _ig in range(4):
            for ip in range(4):
                alpha = grid_a[ia]
                persistence = grid_p[ip]
                x[0] = (1.0 - persistence) * target
                x[1] = alpha
                x[2] = persistence - alpha
                ll = -garch11_negloglik(
                    np.array([0.0, x[0], x[1], x[2]]),
                    resids,
                    True,
                    False,
                    backcast,
                    var_bounds,
                    sigma2,
                )
                if ll > best:
                    best = ll
                    out[:] = x
    return out


garch11_starting_grid = numba.njit(cache=True)(garch11_starting_grid_python)


def ewma_variance_python(resids: np.ndarray, lam: float, initial: float) -> np.ndarray:
    r"""EWMA variance :math:`s_t = (1-\lambda)\varepsilon^2_{t-1} + \lambda s_{t-1}`, ``s_0``."""
    T = resids.shape[0]
    out = np.empty(T)
    prev_e2 = initial
    prev_s = initial
    for t in range(T):
        s = 0.0 + (1.0 - lam) * prev_e2 + lam * prev_s
        out[t] = s
        prev_e2 = resids[t] * resids[t]
        prev_s = s
    return out


ewma_variance = numba.njit(cache=True)(ewma_variance_python)


# --------------------------------------------------------------------------------------------
# (A)DCC recursion, likelihood and analytic gradient
# --------------------------------------------------------------------------------------------


def dcc_loglik_python(
    eps: np.ndarray,
    a: float,
    b: float,
    g: float,
    nu: float,
    studentt: bool,
    sbar: np.ndarray,
    nbar: np.ndarray,
    want_grad: bool,
    want_scores: bool,
    want_path: bool,
    logdet: np.ndarray,
    quad: np.ndarray,
    grad: np.ndarray,
    scores: np.ndarray,
    corr: np.ndarray,
    q_last: np.ndarray,
) -> int:
    r"""Run the (A)DCC recursion on standardised residuals ``eps`` (T x N).

    Fills ``logdet[t]`` = :math:`\ln|R_t|` and ``quad[t]`` = :math:`z_t'R_t^{-1}z_t`;
    with ``want_grad`` fills ``grad[0:3]`` with the derivative of the summed log-density
    with respect to (a, b, g) (``nu`` enters only through the constant and ``quad`` and is
    differentiated by the caller); with ``want_scores`` fills ``scores[t, 0:3]`` with the
    per-observation derivatives; with ``want_path`` stores :math:`R_t` in ``corr[t]``.
    ``q_last`` receives :math:`Q_T`. Returns 0 on success, 1 if some :math:`Q_t` or
    :math:`R_t` is not positive definite.
    """
    T, N = eps.shape
    Q = sbar.copy()
    R = np.empty((N, N))
    L = np.zeros((N, N))
    Linv = np.zeros((N, N))
    M = np.empty((N, N))
    rv = np.empty(N)
    w = np.empty(N)
    y = np.empty(N)
    s = np.empty(N)
    dQa = np.zeros((N, N))
    dQb = np.zeros((N, N))
    dQg = np.zeros((N, N))
    need_d = want_grad or want_scores
    c1 = 1.0 - a - b
    if want_grad:
        grad[0] = 0.0
        grad[1] = 0.0
        grad[2] = 0.0
    for t in range(T):
        if t > 0:
            for i in range(N):
                ei = eps[t - 1, i]
                ni = ei if ei < 0.0 else 0.0
                for j in range(i + 1):
                    ej = eps[t - 1, j]
                    nj = ej if ej < 0.0 else 0.0
                    qold = Q[i, j]
                    val = c1 * sbar[i, j] + a * ei * ej + b * qold
                    if g != 0.0:
                        val += g * (ni * nj - nbar[i, j])
                    if need_d:
                        da = ei * ej - sbar[i, j] + b * dQa[i, j]
                        db = qold - sbar[i, j] + b * dQb[i, j]
                        dg = ni * nj - nbar[i, j] + b * dQg[i, j]
                        dQa[i, j] = da
                        dQb[i, j] = db
                        dQg[i, j] = dg
                    Q[i, j] = val
                    Q[j, i] = val
        for i in range(N):
            if not Q[i, i] > 0.0:
                return 1
            s[i] = math.sqrt(Q[i, i])
        for i in range(N):
            for j in range(i + 1):
                r = Q[i, j] / (s[i] * s[j])
                R[i, j] = r
                R[j, i] = r
        # Cholesky R = L L'
        for i in range(N):
            for j in range(i + 1):
                acc = R[i, j]
                for k in range(j):
                    acc -= L[i, k] * L[j, k]
                if i == j:
                    if not acc > 1e-14:
                        return 1
                    L[i, i] = math.sqrt(acc)
                else:
                    L[i, j] = acc / L[j, j]
        ld = 0.0
        qd = 0.0
        for i in range(N):
            acc = eps[t, i]
            for k in range(i):
                acc -= L[i, k] * y[k]
            y[i] = acc / L[i, i]
            qd += y[i] * y[i]
            ld += math.log(L[i, i])
        logdet[t] = 2.0 * ld
        quad[t] = qd
        if want_path:
            for i in range(N):
                for j in range(N):
                    corr[t, i, j] = R[i, j]
        if need_d:
            # X = L^{-1}, row by row (contiguous inner loops)
            for i in range(N):
                for j in range(i + 1):
                    Linv[i, j] = 0.0
                for k in range(i):
                    lik = L[i, k]
                    for j in range(k + 1):
                        Linv[i, j] -= lik * Linv[k, j]
                Linv[i, i] = 1.0
                inv_d = 1.0 / L[i, i]
                for j in range(i + 1):
                    Linv[i, j] *= inv_d
            # w = R^{-1} z = X' y
            for i in range(N):
                w[i] = 0.0
            for k in range(N):
                yk = y[k]
                for i in range(k + 1):
                    w[i] += Linv[k, i] * yk
            ct = (nu + N) / (nu - 2.0 + qd) if studentt else 1.0
            # M = R^{-1} - c w w' (lower triangle), R^{-1} = X'X
            for i in range(N):
                for j in range(i + 1):
                    M[i, j] = -ct * w[i] * w[j]
            for k in range(N):
                for i in range(k + 1):
                    xki = Linv[k, i]
                    for j in range(i + 1):
                        M[i, j] += xki * Linv[k, j]
            # r_i = sum_j M_ij R_ij ; gradient terms over the lower triangle
            for i in range(N):
                rv[i] = 0.0
            ga = 0.0
            gb = 0.0
            gg = 0.0
            for i in range(N):
                for j in range(i):
                    m = M[i, j]
                    rv[i] += m * R[i, j]
                    rv[j] += m * R[i, j]
                    p = 2.0 * m / (s[i] * s[j])
                    ga += p * dQa[i, j]
                    gb += p * dQb[i, j]
                    gg += p * dQg[i, j]
                m = M[i, i]
                rv[i] += m
                p = m / Q[i, i]
                ga += p * dQa[i, i]
                gb += p * dQb[i, i]
                gg += p * dQg[i, i]
            for i in range(N):
                qi = Q[i, i]
                ga -= rv[i] * dQa[i, i] / qi
                gb -= rv[i] * dQb[i, i] / qi
                gg -= rv[i] * dQg[i, i] / qi
            ga *= -0.5
            gb *= -0.5
            gg *= -0.5
            if want_grad:
                grad[0] += ga
                grad[1] += gb
                grad[2] += gg
            if want_scores:
                scores[t, 0] = ga
                scores[t, 1] = gb
                scores[t, 2] = gg
    for i in range(N):
        for j in range(N):
            q_last[i, j] = Q[i, j]
    return 0


dcc_loglik = numba.njit(cache=True)(dcc_loglik_python)


# --------------------------------------------------------------------------------------------
# Two-state Markov switching (Hamilton filter, Kim smoother)
# --------------------------------------------------------------------------------------------


def hamilton_filter_python(
    y: np.ndarray,
    mu: np.ndarray,
    var: np.ndarray,
    P: np.ndarray,
    init: np.ndarray,
    filtered: np.ndarray,
    predicted: np.ndarray,
) -> float:
    """Hamilton filter for a K-state switching-mean, switching-variance Gaussian model.

    ``P[i, j]`` = Pr(S_t = j | S_{t-1} = i); ``init`` = Pr(S_0) (the state before the first
    observation is propagated once, as in statsmodels). Fills ``predicted[t]`` =
    Pr(S_t | y_{<t}) and ``filtered[t]`` = Pr(S_t | y_{<=t}); returns the log-likelihood.
    Densities are scaled by their maximum each step so no state underflows.
    """
    T = y.shape[0]
    K = mu.shape[0]
    prev = init.copy()
    dens = np.empty(K)
    ll = 0.0
    for t in range(T):
        for j in range(K):
            acc = 0.0
            for i in range(K):
                acc += prev[i] * P[i, j]
            predicted[t, j] = acc
        lmax = -np.inf
        for j in range(K):
            e = y[t] - mu[j]
            dens[j] = -0.5 * (LOG_2PI + math.log(var[j]) + e * e / var[j])
            if dens[j] > lmax:
                lmax = dens[j]
        total = 0.0
        for j in range(K):
            dens[j] = predicted[t, j] * math.exp(dens[j] - lmax)
            total += dens[j]
        ll += lmax + math.log(total)
        for j in range(K):
            filtered[t, j] = dens[j] / total
            prev[j] = filtered[t, j]
    return ll


hamilton_filter = numba.njit(cache=True)(hamilton_filter_python)


def kim_smoother_python(
    P: np.ndarray, filtered: np.ndarray, predicted: np.ndarray, smoothed: np.ndarray
) -> None:
    """Kim (1994) smoother: ``smoothed[t]`` = Pr(S_t | y_{1..T})."""
    T, K = filtered.shape
    for j in range(K):
        smoothed[T - 1, j] = filtered[T - 1, j]
    for t in range(T - 2, -1, -1):
        for i in range(K):
            acc = 0.0
            for j in range(K):
                if predicted[t + 1, j] > 0.0:
                    acc += P[i, j] * smoothed[t + 1, j] / predicted[t + 1, j]
            smoothed[t, i] = filtered[t, i] * acc


kim_smoother = numba.njit(cache=True)(kim_smoother_python)
