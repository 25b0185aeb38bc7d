r"""DCC-GARCH(1,1) and asymmetric ADCC: time-varying correlation by two-step QML.

Model
-----
Each return series follows a GARCH(1,1) with a constant (or zero) mean,

.. math::

    r_{it} = \mu_i + \varepsilon_{it}, \qquad
    \sigma^2_{it} = \omega_i + \alpha_i \varepsilon^2_{i,t-1} + \beta_i \sigma^2_{i,t-1},

and the standardised residuals :math:`z_t = \varepsilon_t / \sigma_t` have conditional
correlation :math:`R_t` driven by the scalar (A)DCC recursion with correlation targeting

.. math::

    Q_t = (1-a-b)\,\bar S - g\,\bar N + a\, z_{t-1} z_{t-1}' + g\, n_{t-1} n_{t-1}'
          + b\, Q_{t-1}, \qquad
    R_t = \operatorname{diag}(Q_t)^{-1/2} Q_t \operatorname{diag}(Q_t)^{-1/2},

with :math:`n_t = \min(z_t, 0)`, :math:`\bar S = \operatorname{corr}(T^{-1}\sum z_t z_t')`,
:math:`\bar N = T^{-1}\sum n_t n_t'` and :math:`Q_1 = \bar S`. DCC is :math:`g = 0` (Engle
2002); ADCC (Cappiello, Engle and Sheppard 2006) estimates :math:`g \ge 0`. Constraints:
:math:`a, b, g \ge 0` and :math:`a + b + \delta g < 1` with
:math:`\delta = \lambda_{\max}(\bar S^{-1/2}\bar N\bar S^{-1/2})`, which keeps the intercept
positive semi-definite.

Estimation (Engle's two-step estimator)
---------------------------------------
1. GARCH(1,1) marginals are fitted one by one exactly as ``arch`` fits
   ``arch_model(r, mean=..., vol="GARCH", p=1, q=1, dist=..., rescale=False)``: by default
   with a numba re-implementation of ``arch``'s objective (same starting grid, backcast,
   variance bounds, SLSQP settings and finite-difference gradient), which is several times
   faster and reproduces ``arch``'s estimates (normal errors: parameters to about 1e-5,
   log-likelihood to 1e-6; tested); ``marginals="arch"`` calls
   ``arch`` itself.
2. The correlation stage maximises the log-density of :math:`z_t` (multivariate normal, or
   the covariance-standardised multivariate Student-t with estimated :math:`\nu`) over
   :math:`(a, b[, g][, \nu])` by SLSQP with the analytic gradient, started from the best
   point of a fixed grid (no randomness).

The reported ``loglikelihood`` is the joint QML log-likelihood of the returns
:math:`\sum_t [\ell_t(z_t) - \sum_i \ln \sigma_{it}]`, the convention of rmgarch and pymgarch;
``correlation_loglikelihood`` is :math:`\sum_t \ell_t(z_t)` alone.

Standard errors
---------------
Correlation-stage parameters get QML sandwich (Bollerslev–Wooldridge) standard errors
:math:`H^{-1} B H^{-1}` where :math:`B` is the outer product of the analytic per-observation
scores and :math:`H` the Hessian from central differences of the analytic gradient. The
Engle–Sheppard two-step correction for the estimation error of the marginals and of the
targets is **not** applied, so the errors are conditional on stage one; on the samples in
the tests they differ from pymgarch's two-stage Engle–Sheppard errors by a few percent
(within 15 %). A parameter on
its lower bound 0 gets a NaN standard error. Marginal parameters are reported without
standard errors.

Forecasts
---------
:math:`Q_{T+1}` is known at :math:`T`; for :math:`h \ge 2` the Engle–Sheppard (2001)
approximation :math:`E_T[z z'] \approx E_T[R]` (and :math:`E_T[n n'] \approx \bar N` for ADCC)
gives :math:`R_{T+h} = (1-\lambda^{h-1})\bar S + \lambda^{h-1} R_{T+1}` with
:math:`\lambda = a + b` — for ADCC too, since the :math:`g` terms cancel in expectation
under that approximation. Variances follow the GARCH(1,1) forecast
:math:`\sigma^2_{T+h} = \omega + (\alpha+\beta)\sigma^2_{T+h-1}`.

References
----------
Engle, R. F. (2002). Dynamic conditional correlation. *Journal of Business & Economic
Statistics* 20(3), 339-350.
Engle, R. F. and Sheppard, K. (2001). Theoretical and empirical properties of dynamic
conditional correlation multivariate GARCH. NBER Working Paper 8554.
Cappiello, L., Engle, R. F. and Sheppard, K. (2006). Asymmetric dynamics in the correlations
of global equity and bond returns. *Journal of Financial Econometrics* 4(4), 537-572.
Bollerslev, T. and Wooldridge, J. M. (1992). Quasi-maximum likelihood estimation and
inference in dynamic models with time-varying covariances. *Econometric Reviews* 11(2),
143-172.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from powderkeg.linkage.dcc import DCC, simulate_dcc
>>> sim = simulate_dcc(n_obs=1500, a=0.04, b=0.93, correlation=0.5, n_assets=3, seed=1)
>>> res = DCC(sim.returns).fit()
>>> round(res.params["a"], 2), round(res.params["b"], 2)  # doctest: +SKIP
(0.04, 0.93)
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from powderkeg._validation import check_int, check_option
from powderkeg.exceptions import (
    ConvergenceError,
    ConvergenceWarning,
    InputError,
    InsufficientDataError,
)
from powderkeg.linkage import _dcc_kernels as kern
from powderkeg.results import Provenance, Result, Summary, Table

MEANS = ("constant", "zero")
DISTS = ("normal", "t")
MARGINAL_METHODS = ("fast", "arch")
MIN_OBS = 100

_STAGE2_GRID = ((0.01, 0.97), (0.02, 0.95), (0.03, 0.96), (0.05, 0.90), (0.05, 0.93), (0.1, 0.8))
_BOUND_EPS = 1e-6
_PENALTY = 1e12


# --------------------------------------------------------------------------------------------
# Stage 1: GARCH(1,1) marginals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Marginal:
    r"""A fitted GARCH(1,1) marginal.

    Attributes
    ----------
    name : str
        Series name.
    params : pandas.Series
        ``mu`` (constant mean only), ``omega``, ``alpha``, ``beta`` and ``nu`` (Student-t).
    loglikelihood : float
        Marginal log-likelihood (``arch``'s value).
    resid, sigma : ndarray
        Residuals :math:`\varepsilon_t` and conditional volatilities :math:`\sigma_t`.
    converged : bool
        Whether SLSQP reported success.
    """

    name: str
    params: pd.Series
    loglikelihood: float
    resid: np.ndarray
    sigma: np.ndarray
    converged: bool

    def variance_forecast(self, horizon: int) -> np.ndarray:
        """GARCH(1,1) variance forecasts for steps 1..``horizon``."""
        omega, alpha, beta = (float(self.params[k]) for k in ("omega", "alpha", "beta"))
        out = np.empty(horizon)
        out[0] = omega + alpha * self.resid[-1] ** 2 + beta * self.sigma[-1] ** 2
        for h in range(1, horizon):
            out[h] = omega + (alpha + beta) * out[h - 1]
        return out


def _param_names(mean: str, dist: str) -> list[str]:
    names = (["mu"] if mean == "constant" else []) + ["omega", "alpha", "beta"]
    return names + (["nu"] if dist == "t" else [])


def _linear_constraints(mean: str, dist: str) -> tuple[np.ndarray, np.ndarray]:
    """``arch``'s linear constraints ``A x - b >= 0`` for GARCH(1,1) (+ t)."""
    k = 1 if mean == "constant" else 0
    n = k + 3 + (1 if dist == "t" else 0)
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    for i in range(3):
        row = np.zeros(n)
        row[k + i] = 1.0
        rows.append(row)
        rhs.append(0.0)
    row = np.zeros(n)
    row[k + 1] = row[k + 2] = -1.0
    rows.append(row)
    rhs.append(-1.0)
    if dist == "t":
        for sign, val in ((1.0, 2.05), (-1.0, -500.0)):
            row = np.zeros(n)
            row[n - 1] = sign
            rows.append(row)
            rhs.append(val)
    return np.array(rows), np.array(rhs)


def _variance_bounds(resids: np.ndarray) -> np.ndarray:
    """``arch``'s loose bounds on the conditional variance (EWMA x 1e-6 .. x 1e6)."""
    tau = min(75, resids.shape[0])
    w = 0.94 ** np.arange(tau)
    w = w / sum(w)
    initial = w.dot(resids[:tau] ** 2.0)
    var_bound = kern.ewma_variance(np.ascontiguousarray(resids), 0.94, float(initial))
    bounds = np.vstack((var_bound / 1e6, var_bound * 1e6)).T
    var = float(np.var(resids))
    min_upper = 1 + float(np.max(resids**2.0))
    lower, upper = var / 1e8, 1e7 * (1 + float(np.max(resids**2.0)))
    bounds[bounds[:, 0] < lower, 0] = lower
    bounds[bounds[:, 1] < min_upper, 1] = min_upper
    bounds[bounds[:, 1] > upper, 1] = upper
    return np.ascontiguousarray(bounds)


def _backcast(resids: np.ndarray) -> float:
    tau = min(75, resids.shape[0])
    w = 0.94 ** np.arange(tau)
    w = w / sum(w)
    return float(np.sum((np.absolute(resids[:tau]) ** 2.0) * w))


def fit_garch11(
    y: np.ndarray, name: str = "y", mean: str = "constant", dist: str = "normal"
) -> Marginal:
    r"""Fit a GARCH(1,1) the way ``arch`` does, with numba-compiled objective and gradient.

    Reproduces ``arch_model(y, mean=mean, vol="GARCH", p=1, q=1, dist=dist,
    rescale=False).fit(disp="off")``: the same starting values (least-squares mean, the
    GARCH grid, the kurtosis-based :math:`\nu`), backcast, variance bounds, parameter bounds,
    linear constraints and SLSQP settings (``ftol=1e-6``, ``maxiter=100``), with the objective's
    forward-difference gradient computed in numba with scipy's step rule. The only deliberate
    difference is that the linear constraints get their exact Jacobian.

    Parameters
    ----------
    y : ndarray of shape (n_obs,)
        Returns (percent scale recommended, as for ``arch``).
    name : str
        Series name.
    mean : {"constant", "zero"}
    dist : {"normal", "t"}

    Returns
    -------
    Marginal
    """
    y = np.ascontiguousarray(y, dtype=np.float64)
    T = y.shape[0]
    has_mean = mean == "constant"
    studentt = dist == "t"
    if has_mean:
        mu0 = np.linalg.pinv(np.ones((T, 1))).dot(y)
        resids = y - mu0[0]
        sv_mean: list[float] = [float(mu0[0])]
    else:
        resids = y
        sv_mean = []
    backcast = _backcast(resids)
    var_bounds = _variance_bounds(resids)
    sigma2 = np.empty(T)
    sv_vol = kern.garch11_starting_grid(np.ascontiguousarray(resids), backcast, var_bounds, sigma2)
    v = float(np.mean(np.absolute(resids) ** 2.0))
    bounds: list[tuple[float, float]] = [(-np.inf, np.inf)] if has_mean else []
    bounds += [(1e-8 * v, 10.0 * v), (0.0, 1.0), (0.0, 1.0)]
    sv = sv_mean + [float(x) for x in sv_vol]
    if studentt:
        kern.garch11_negloglik(
            np.array([0.0, *sv_vol]),
            np.ascontiguousarray(resids),
            True,
            False,
            backcast,
            var_bounds,
            sigma2,
        )
        k = float(stats.kurtosis(resids / np.sqrt(sigma2), fisher=False))
        sv.append(max((4.0 * k - 6.0) / (k - 3.0) if k > 3.75 else 12.0, 4.0))
        bounds.append((2.05, 500.0))
    x0 = np.asarray(sv, dtype=np.float64)
    lower = np.array([b[0] for b in bounds])
    upper = np.array([b[1] for b in bounds])
    amat, bvec = _linear_constraints(mean, dist)
    work = np.empty(T)
    cache: dict[str, Any] = {}

    def fun(x: np.ndarray) -> float:
        xc = np.ascontiguousarray(x, dtype=np.float64)
        f = float(kern.garch11_negloglik(xc, y, has_mean, studentt, backcast, var_bounds, work))
        cache["x"], cache["f"] = xc.copy(), f
        return f

    def jac(x: np.ndarray) -> np.ndarray:
        xc = np.ascontiguousarray(x, dtype=np.float64)
        hit = "x" in cache and np.array_equal(cache["x"], xc)
        f0 = float(cache["f"]) if hit else fun(xc)
        grad = np.empty(xc.shape[0])
        steps = kern.fd_steps(xc, lower, upper)
        kern.garch11_fd_gradient(
            xc, f0, steps, y, has_mean, studentt, backcast, var_bounds, work, grad
        )
        return grad

    # arch leaves the Jacobian of its linear constraints to scipy's finite differences; the
    # exact rows give the same iterates to rounding (tested) without the Python overhead
    cons = [
        {
            "type": "ineq",
            "fun": (lambda x, r=row, c=rhs: np.dot(r, x) - c),
            "jac": (lambda x, r=row: r),
        }
        for row, rhs in zip(amat, bvec)
    ]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Values in x were outside bounds", RuntimeWarning)
        opt = optimize.minimize(
            fun,
            x0,
            jac=jac,
            method="SLSQP",
            bounds=bounds,
            constraints=cons,
            options={"disp": False},
        )
    x = np.asarray(opt.x, dtype=np.float64)
    f = kern.garch11_negloglik(x, y, has_mean, studentt, backcast, var_bounds, sigma2)
    resid = y - (x[0] if has_mean else 0.0)
    return Marginal(
        name=name,
        params=pd.Series(x, index=_param_names(mean, dist), name=name),
        loglikelihood=-float(f),
        resid=resid,
        sigma=np.sqrt(sigma2),
        converged=bool(opt.status == 0),
    )


def fit_garch11_arch(
    y: np.ndarray, name: str = "y", mean: str = "constant", dist: str = "normal"
) -> Marginal:
    """Fit the GARCH(1,1) marginal with ``arch`` itself (the reference for :func:`fit_garch11`)."""
    from arch import arch_model

    model = arch_model(
        np.asarray(y, dtype=np.float64),
        mean="Constant" if mean == "constant" else "Zero",
        vol="GARCH",
        p=1,
        q=1,
        dist="t" if dist == "t" else "normal",
        rescale=False,
    )
    res = model.fit(disp="off", show_warning=False)
    resid = np.asarray(res.resid, dtype=np.float64)
    return Marginal(
        name=name,
        params=pd.Series(
            np.asarray(res.params, dtype=np.float64), index=_param_names(mean, dist), name=name
        ),
        loglikelihood=float(res.loglikelihood),
        resid=resid,
        sigma=np.asarray(res.conditional_volatility, dtype=np.float64),
        converged=bool(res.convergence_flag == 0),
    )


# --------------------------------------------------------------------------------------------
# Stage 2: correlation dynamics
# --------------------------------------------------------------------------------------------


def correlation_targets(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Targets :math:`\bar S` (uncentred, rescaled to a correlation) and :math:`\bar N`."""
    T = z.shape[0]
    S = z.T @ z / T
    d = np.sqrt(np.diag(S))
    S = S / np.outer(d, d)
    neg = np.minimum(z, 0.0)
    return np.ascontiguousarray(S), np.ascontiguousarray(neg.T @ neg / T)


def adcc_delta(sbar: np.ndarray, nbar: np.ndarray) -> float:
    r""":math:`\delta = \lambda_{\max}(\bar S^{-1/2}\bar N\bar S^{-1/2})`."""
    vals, vecs = np.linalg.eigh(sbar)
    inv_sqrt = (vecs / np.sqrt(vals)) @ vecs.T
    return float(np.linalg.eigvalsh(inv_sqrt @ nbar @ inv_sqrt)[-1])


def _t_const(nu: float, n: int) -> float:
    return float(
        special.gammaln(0.5 * (nu + n))
        - special.gammaln(0.5 * nu)
        - 0.5 * n * math.log(math.pi * (nu - 2.0))
    )


@dataclass
class _Stage2:
    """Evaluates the correlation-stage log-density, its gradient and scores."""

    z: np.ndarray
    sbar: np.ndarray
    nbar: np.ndarray
    asymmetric: bool
    studentt: bool
    delta: float = field(init=False)

    def __post_init__(self) -> None:
        self.delta = adcc_delta(self.sbar, self.nbar) if self.asymmetric else 0.0

    @property
    def names(self) -> list[str]:
        """Parameter names in packing order."""
        return ["a", "b"] + (["g"] if self.asymmetric else []) + (["nu"] if self.studentt else [])

    def unpack(self, x: np.ndarray) -> tuple[float, float, float, float]:
        """Return ``(a, b, g, nu)`` (``g`` = 0 for DCC, ``nu`` = inf for normal)."""
        a, b = float(x[0]), float(x[1])
        g = float(x[2]) if self.asymmetric else 0.0
        nu = float(x[-1]) if self.studentt else math.inf
        return a, b, g, nu

    def feasible(self, x: np.ndarray) -> bool:
        """Whether ``x`` satisfies the constraints."""
        a, b, g, nu = self.unpack(x)
        ok = a >= 0.0 and b >= 0.0 and g >= 0.0 and a + b + self.delta * g < 1.0
        return ok and (not self.studentt or nu > 2.0)

    def run(
        self, x: np.ndarray, *, grad: bool = False, scores: bool = False, path: bool = False
    ) -> dict[str, Any] | None:
        """Run the kernel; ``None`` if infeasible or numerically invalid."""
        if not self.feasible(x):
            return None
        a, b, g, nu = self.unpack(x)
        T, N = self.z.shape
        logdet, quad = np.empty(T), np.empty(T)
        gvec = np.zeros(3)
        sc = np.empty((T, 3)) if scores else np.empty((0, 3))
        corr = np.empty((T, N, N)) if path else np.empty((0, N, N))
        q_last = np.empty((N, N))
        flag = kern.dcc_loglik(
            self.z,
            a,
            b,
            g,
            nu if self.studentt else 0.0,
            self.studentt,
            self.sbar,
            self.nbar,
            grad,
            scores,
            path,
            logdet,
            quad,
            gvec,
            sc,
            corr,
            q_last,
        )
        if flag != 0:
            return None
        if self.studentt:
            llt = _t_const(nu, N) - 0.5 * logdet - 0.5 * (nu + N) * np.log1p(quad / (nu - 2.0))
        else:
            llt = -0.5 * (N * kern.LOG_2PI + logdet + quad)
        out: dict[str, Any] = {"llt": llt, "corr": corr, "q_last": q_last, "quad": quad}
        keep = [0, 1] + ([2] if self.asymmetric else [])
        if grad:
            g_all = list(gvec[keep])
            if self.studentt:
                g_all.append(float(np.sum(self._nu_score(nu, N, quad))))
            out["grad"] = np.asarray(g_all)
        if scores:
            cols = [sc[:, keep]]
            if self.studentt:
                cols.append(self._nu_score(nu, N, quad)[:, None])
            out["scores"] = np.hstack(cols)
        return out

    @staticmethod
    def _nu_score(nu: float, n: int, quad: np.ndarray) -> np.ndarray:
        dconst = 0.5 * special.digamma(0.5 * (nu + n)) - 0.5 * special.digamma(0.5 * nu)
        dconst -= 0.5 * n / (nu - 2.0)
        v = nu - 2.0
        return dconst - 0.5 * np.log1p(quad / v) + 0.5 * (nu + n) * quad / (v * (v + quad))

    def negloglik(self, x: np.ndarray) -> float:
        """Negative summed log-density (penalised outside the feasible set)."""
        out = self.run(x)
        if out is None or not np.all(np.isfinite(out["llt"])):
            return _PENALTY
        return -float(np.sum(out["llt"]))

    def fit(self) -> tuple[np.ndarray, bool, str]:
        """SLSQP with analytic gradient from the best point of a fixed grid."""
        starts = []
        for a0, b0 in _STAGE2_GRID:
            x = [a0, b0] + ([0.01] if self.asymmetric else []) + ([8.0] if self.studentt else [])
            starts.append(np.asarray(x, dtype=np.float64))
        values = [self.negloglik(x) for x in starts]
        x0 = starts[int(np.argmin(values))]
        cache: dict[str, Any] = {}

        def evaluate(x: np.ndarray) -> tuple[float, np.ndarray]:
            key = tuple(float(v) for v in x)
            if cache.get("key") != key:
                out = self.run(np.asarray(x, dtype=np.float64), grad=True)
                if out is None or not np.all(np.isfinite(out["llt"])):
                    cache.update(key=key, f=_PENALTY, g=np.zeros(len(x)))
                else:
                    cache.update(key=key, f=-float(np.sum(out["llt"])), g=-out["grad"])
            return float(cache["f"]), np.asarray(cache["g"])

        bounds = [(0.0, 0.999), (0.0, 0.999)] + ([(0.0, 0.999)] if self.asymmetric else [])
        bounds += [(2.05, 300.0)] if self.studentt else []
        row = np.zeros(len(x0))
        row[0] = row[1] = -1.0
        if self.asymmetric:
            row[2] = -self.delta
        cons = [
            {
                "type": "ineq",
                "fun": lambda x: 1.0 - _BOUND_EPS + float(row @ x),
                "jac": lambda x: row,
            }
        ]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Values in x were outside bounds", RuntimeWarning)
            opt = optimize.minimize(
                lambda x: evaluate(x)[0],
                x0,
                jac=lambda x: evaluate(x)[1],
                method="SLSQP",
                bounds=bounds,
                constraints=cons,
                options={"maxiter": 500, "ftol": 1e-10},
            )
        return np.asarray(opt.x, dtype=np.float64), bool(opt.success), str(opt.message)

    def sandwich(self, x: np.ndarray) -> np.ndarray:
        """QML sandwich covariance :math:`H^{-1} B H^{-1}` of the stage-2 parameters."""
        k = len(x)
        base = self.run(x, grad=True, scores=True)
        if base is None:
            return np.full((k, k), np.nan)
        B = base["scores"].T @ base["scores"]
        H = np.empty((k, k))
        for j in range(k):
            h = 1e-5 * max(1.0, abs(float(x[j])))
            xp, xm = x.copy(), x.copy()
            xp[j] += h
            xm[j] -= h
            gp = self.run(xp, grad=True)
            gm = self.run(xm, grad=True)
            if gp is not None and gm is not None:
                H[:, j] = (gp["grad"] - gm["grad"]) / (2 * h)
            elif gp is not None:
                H[:, j] = (gp["grad"] - base["grad"]) / h
            elif gm is not None:
                H[:, j] = (base["grad"] - gm["grad"]) / h
            else:
                return np.full((k, k), np.nan)
        H = 0.5 * (H + H.T)
        try:
            Hinv = np.linalg.inv(H)
        except np.linalg.LinAlgError:
            return np.full((k, k), np.nan)
        return np.asarray(Hinv @ B @ Hinv)


# --------------------------------------------------------------------------------------------
# Public model and results
# --------------------------------------------------------------------------------------------


class DCC:
    r"""DCC-GARCH(1,1) (Engle 2002) or ADCC (Cappiello, Engle and Sheppard 2006).

    Parameters
    ----------
    returns : DataFrame of shape (n_obs, n_assets)
        Returns, one column per asset, no missing values; percent scale (log returns x 100)
        is recommended, as for ``arch``. At least two columns and 100 rows.
    asymmetric : bool, default False
        Estimate the ADCC asymmetry :math:`g` (joint negative shocks raise correlation).
    mean : {"constant", "zero"}
        Mean model of every marginal.
    dist : {"normal", "t"}
        Normal: Gaussian GARCH marginals and Gaussian correlation stage. ``t``: Student-t
        GARCH marginals and a covariance-standardised multivariate t correlation stage with
        its own :math:`\nu`.
    marginals : {"fast", "arch"}
        ``fast`` (default) uses :func:`fit_garch11`, the numba replica of ``arch``'s fit;
        ``arch`` calls ``arch`` itself.

    Notes
    -----
    See the module docstring for the equations, the estimator, the standard errors and the
    forecast approximation.

    Examples
    --------
    >>> res = DCC(returns_pct, asymmetric=True).fit()  # doctest: +SKIP
    >>> res.params, res.std_errors, res.loglikelihood  # doctest: +SKIP
    >>> res.correlation("BTC-USD", "NVDA").tail()  # doctest: +SKIP
    >>> res.forecast(10).correlations[-1]  # doctest: +SKIP
    """

    def __init__(
        self,
        returns: pd.DataFrame,
        asymmetric: bool = False,
        mean: str = "constant",
        dist: str = "normal",
        marginals: str = "fast",
    ) -> None:
        if isinstance(returns, np.ndarray):
            returns = pd.DataFrame(returns, columns=[f"y{i}" for i in range(returns.shape[1])])
        if not isinstance(returns, pd.DataFrame):
            raise InputError(f"returns must be a DataFrame, got {type(returns).__name__}")
        if returns.shape[1] < 2:
            raise InputError(f"returns must have at least 2 columns, got {returns.shape[1]}")
        if returns.shape[0] < MIN_OBS:
            raise InsufficientDataError(
                f"DCC needs at least {MIN_OBS} observations, got {returns.shape[0]}"
            )
        values = returns.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            bad = int(np.sum(~np.isfinite(values)))
            raise InputError(f"returns contains {bad} missing or infinite values")
        self.returns = returns.astype("float64")
        self.asymmetric = bool(asymmetric)
        self.mean = check_option(mean, "mean", MEANS)
        self.dist = check_option(dist, "dist", DISTS)
        self.marginals = check_option(marginals, "marginals", MARGINAL_METHODS)

    @property
    def name(self) -> str:
        """``"DCC"`` or ``"ADCC"``."""
        return "ADCC" if self.asymmetric else "DCC"

    def fit(self, compute_se: bool = True, provenance: Provenance | None = None) -> DCCResult:
        """Estimate the model by two-step QML.

        Parameters
        ----------
        compute_se : bool, default True
            Compute sandwich standard errors of the correlation parameters.
        provenance : Provenance, optional
            Data sources and parameters to attach to the result.

        Returns
        -------
        DCCResult

        Raises
        ------
        ConvergenceError
            If the correlation recursion cannot be evaluated at the optimum.
        """
        fitter = fit_garch11 if self.marginals == "fast" else fit_garch11_arch
        margs = [
            fitter(self.returns[c].to_numpy(), str(c), self.mean, self.dist)
            for c in self.returns.columns
        ]
        failed = [m.name for m in margs if not m.converged]
        if failed:
            warnings.warn(
                f"GARCH optimiser did not converge for {', '.join(failed)}",
                ConvergenceWarning,
                stacklevel=2,
            )
        sigma = np.column_stack([m.sigma for m in margs])
        z = np.ascontiguousarray(np.column_stack([m.resid for m in margs]) / sigma)
        sbar, nbar = correlation_targets(z)
        stage = _Stage2(z, sbar, nbar, self.asymmetric, self.dist == "t")
        x, converged, message = stage.fit()
        out = stage.run(x, path=True)
        if out is None:
            raise ConvergenceError(f"{self.name} correlation recursion failed at {x}: {message}")
        if not converged:
            warnings.warn(f"{self.name} optimiser: {message}", ConvergenceWarning, stacklevel=2)
        k = len(x)
        vcov = stage.sandwich(x) if compute_se else np.full((k, k), np.nan)
        names = stage.names
        se = np.sqrt(np.clip(np.diag(vcov), 0.0, None))
        # a, b, g on their lower bound 0: the sandwich is not a valid approximation there
        at_bound = [i for i, n in enumerate(names) if n in ("a", "b", "g") and x[i] < 1e-6]
        se[at_bound] = np.nan
        corr_ll = float(np.sum(out["llt"]))
        return DCCResult(
            model=self.name,
            mean=self.mean,
            dist=self.dist,
            index=self.returns.index,
            names=[str(c) for c in self.returns.columns],
            params=pd.Series(x, index=names, name="estimate"),
            std_errors=pd.Series(se, index=names, name="std_error"),
            vcov=pd.DataFrame(vcov, index=names, columns=names),
            loglikelihood=corr_ll - float(np.sum(np.log(sigma))),
            correlation_loglikelihood=corr_ll,
            marginals=tuple(margs),
            correlations=out["corr"],
            std_resid=z,
            sbar=sbar,
            nbar=nbar,
            delta=stage.delta,
            q_last=out["q_last"],
            converged=converged,
            provenance=provenance
            or Provenance(
                parameters={
                    "model": self.name,
                    "mean": self.mean,
                    "dist": self.dist,
                    "marginals": self.marginals,
                }
            ),
        )


@dataclass(frozen=True)
class DCCForecast:
    """Correlation and variance forecasts for steps 1..h.

    Attributes
    ----------
    correlations : ndarray of shape (h, n_assets, n_assets)
    variances : DataFrame of shape (h, n_assets)
    names : list of str
    """

    correlations: np.ndarray
    variances: pd.DataFrame
    names: list[str]

    def correlation(self, a: str, b: str) -> pd.Series:
        """Forecast path of one pairwise correlation (index = step)."""
        i, j = self.names.index(a), self.names.index(b)
        steps = pd.RangeIndex(1, self.correlations.shape[0] + 1, name="step")
        return pd.Series(self.correlations[:, i, j], index=steps, name=f"{a}~{b}")


@dataclass(frozen=True, eq=False)
class DCCResult(Result):
    """A fitted (A)DCC-GARCH(1,1): parameters, likelihood, correlation paths, forecasts."""

    model: str
    mean: str
    dist: str
    index: pd.Index
    names: list[str]
    params: pd.Series
    std_errors: pd.Series
    vcov: pd.DataFrame
    loglikelihood: float
    correlation_loglikelihood: float
    marginals: tuple[Marginal, ...]
    correlations: np.ndarray
    std_resid: np.ndarray
    sbar: np.ndarray
    nbar: np.ndarray
    delta: float
    q_last: np.ndarray
    converged: bool
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def nobs(self) -> int:
        """Number of observations."""
        return int(self.correlations.shape[0])

    @property
    def marginal_params(self) -> pd.DataFrame:
        """GARCH(1,1) parameters, one row per asset."""
        return pd.DataFrame([m.params for m in self.marginals], index=self.names)

    @property
    def persistence(self) -> float:
        r""":math:`a + b + \delta g`."""
        g = float(self.params.get("g", 0.0))
        return float(self.params["a"] + self.params["b"] + self.delta * g)

    @cached_property
    def pairwise(self) -> pd.DataFrame:
        """Every pairwise conditional correlation path, columns ``"A~B"``."""
        cols = {}
        for i, j in itertools.combinations(range(len(self.names)), 2):
            cols[f"{self.names[i]}~{self.names[j]}"] = self.correlations[:, i, j]
        return pd.DataFrame(cols, index=self.index)

    def correlation(self, a: str, b: str) -> pd.Series:
        """Conditional correlation path of one pair."""
        for s in (a, b):
            if s not in self.names:
                raise InputError(f"{s!r} is not one of {', '.join(self.names)}")
        i, j = self.names.index(a), self.names.index(b)
        return pd.Series(self.correlations[:, i, j], index=self.index, name=f"{a}~{b}")

    @property
    def focus_pair(self) -> tuple[str, str]:
        """The pair reported first: BTC with the next asset if BTC is in the model."""
        btc = [n for n in self.names if n.upper().startswith("BTC")]
        if btc:
            other = next(n for n in self.names if n != btc[0])
            return btc[0], other
        return self.names[0], self.names[1]

    def forecast(self, horizon: int = 1) -> DCCForecast:
        """Forecast correlations and variances ``horizon`` steps ahead (Engle–Sheppard).

        Parameters
        ----------
        horizon : int
            Number of steps (>= 1).
        """
        horizon = check_int(horizon, "horizon", minimum=1)
        a, b = float(self.params["a"]), float(self.params["b"])
        g = float(self.params.get("g", 0.0))
        z = self.std_resid[-1]
        n = np.minimum(z, 0.0)
        q1 = (1 - a - b) * self.sbar - g * self.nbar + a * np.outer(z, z) + g * np.outer(n, n)
        q1 = q1 + b * self.q_last
        d = np.sqrt(np.diag(q1))
        r1 = q1 / np.outer(d, d)
        lam = a + b
        corr = np.empty((horizon, len(self.names), len(self.names)))
        for h in range(horizon):
            w = lam**h
            corr[h] = (1.0 - w) * self.sbar + w * r1
        var = pd.DataFrame(
            {m.name: m.variance_forecast(horizon) for m in self.marginals},
            index=pd.RangeIndex(1, horizon + 1, name="step"),
        )
        return DCCForecast(correlations=corr, variances=var, names=list(self.names))

    # -- Result protocol ---------------------------------------------------------------

    def _param_rows(self) -> list[dict[str, Any]]:
        rows = []
        for k in self.params.index:
            est, se = float(self.params[k]), float(self.std_errors[k])
            tval = est / se if se > 0 else float("nan")
            rows.append({"param": k, "estimate": est, "std_error": se, "t": tval})
        return rows

    def _payload(self) -> dict[str, Any]:
        a, b = self.focus_pair
        path = self.correlation(a, b)
        forecast_h = self.provenance.parameters.get("forecast")
        out: dict[str, Any] = {
            "model": self.model,
            "mean": self.mean,
            "dist": self.dist,
            "symbols": list(self.names),
            "nobs": self.nobs,
            "start": self.index[0] if len(self.index) else None,
            "end": self.index[-1] if len(self.index) else None,
            "params": {k: float(v) for k, v in self.params.items()},
            "std_errors": {k: float(v) for k, v in self.std_errors.items()},
            "std_error_method": "QML sandwich, correlation stage only (no two-step correction)",
            "loglikelihood": self.loglikelihood,
            "correlation_loglikelihood": self.correlation_loglikelihood,
            "persistence": self.persistence,
            "converged": self.converged,
            "marginals": {
                m.name: {
                    **{k: float(v) for k, v in m.params.items()},
                    "loglikelihood": m.loglikelihood,
                }
                for m in self.marginals
            },
            "pair": [a, b],
            "value": float(path.iloc[-1]),
            "series": path,
            "latest": {c: float(v) for c, v in self.pairwise.iloc[-1].items()},
            "mean_correlation": {c: float(v) for c, v in self.pairwise.mean().items()},
        }
        if forecast_h:
            fc = self.forecast(int(forecast_h))
            out["forecast"] = {
                "horizon": int(forecast_h),
                "pair": [a, b],
                "correlation": [float(v) for v in fc.correlation(a, b)],
                "latest": {
                    f"{self.names[i]}~{self.names[j]}": float(fc.correlations[-1, i, j])
                    for i, j in itertools.combinations(range(len(self.names)), 2)
                },
            }
        return out

    def summary(self) -> Summary:
        """Parameters, likelihood, latest and average correlations, marginal parameters."""
        a, b = self.focus_pair
        path = self.correlation(a, b)
        facts: list[tuple[str, Any]] = [
            ("model", f"{self.model}-GARCH(1,1), {self.dist} errors, {self.mean} mean"),
            (
                "sample",
                f"{self.index[0]:%Y-%m-%d} to {self.index[-1]:%Y-%m-%d}"
                if isinstance(self.index, pd.DatetimeIndex) and len(self.index)
                else "n/a",
            ),
            ("nobs", self.nobs),
            ("calendar", self.provenance.parameters.get("calendar", "n/a")),
            ("log-likelihood", self.loglikelihood),
            ("persistence a+b(+δg)", self.persistence),
            (f"{a}~{b} latest", float(path.iloc[-1])),
            (f"{a}~{b} min / max", f"{path.min():.3f} / {path.max():.3f}"),
        ]
        params = pd.DataFrame(self._param_rows()).set_index("param")
        pairs = pd.DataFrame(
            {
                "latest": self.pairwise.iloc[-1],
                "mean": self.pairwise.mean(),
                "min": self.pairwise.min(),
                "max": self.pairwise.max(),
            }
        )
        pairs.index.name = "pair"
        tables = [
            Table.from_frame("Correlation dynamics", params),
            Table.from_frame("Conditional correlations", pairs),
            Table.from_frame("GARCH(1,1) marginals", self.marginal_params.rename_axis("asset")),
        ]
        notes = [
            "Two-step QML (Engle 2002) with correlation targeting; std errors are the "
            "correlation-stage sandwich without the two-step correction.",
        ]
        forecast_h = self.provenance.parameters.get("forecast")
        if forecast_h:
            fc = self.forecast(int(forecast_h)).correlation(a, b)
            tables.append(Table.from_frame(f"{a}~{b} forecast (Engle–Sheppard)", fc.to_frame()))
        return Summary(f"{self.model}-GARCH {', '.join(self.names)}", facts, tables, notes)

    def to_frame(self) -> pd.DataFrame:
        """Pairwise conditional correlation paths (one column per pair)."""
        return self.pairwise.copy()

    def plot(self) -> Any:
        """Plotly figure of the pairwise conditional correlation paths."""
        import plotly.graph_objects as go

        fig = go.Figure()
        for col in self.pairwise.columns:
            fig.add_trace(go.Scatter(x=self.index, y=self.pairwise[col], name=col, mode="lines"))
        fig.update_layout(
            title=f"{self.model} conditional correlations",
            yaxis_title="correlation",
            yaxis_range=[-1, 1],
        )
        return fig


# --------------------------------------------------------------------------------------------
# Simulation (for tests and benchmarks)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedDCC:
    """Returns simulated from a known DCC-GARCH(1,1) and the true correlation path."""

    returns: pd.DataFrame
    correlations: np.ndarray
    params: dict[str, float]


def simulate_dcc(
    n_obs: int = 2000,
    a: float = 0.04,
    b: float = 0.93,
    g: float = 0.0,
    correlation: float | np.ndarray = 0.5,
    n_assets: int = 2,
    omega: float = 0.045,
    alpha: float = 0.08,
    beta: float = 0.90,
    burn: int = 500,
    seed: int | np.random.Generator | None = None,
) -> SimulatedDCC:
    r"""Simulate percent returns from a Gaussian (A)DCC-GARCH(1,1).

    Parameters
    ----------
    n_obs : int
        Observations kept (after ``burn``).
    a, b, g : float
        Correlation dynamics (:math:`g > 0` gives ADCC with :math:`\bar N` = E[n n'] of a
        Gaussian with correlation :math:`\bar S`, approximated by simulation).
    correlation : float or ndarray
        Equicorrelation of :math:`\bar S` or the full matrix.
    n_assets : int
        Number of assets when ``correlation`` is a scalar.
    omega, alpha, beta : float
        GARCH(1,1) of every marginal (percent returns).
    burn : int
        Discarded initial observations.
    seed : int or Generator, optional
        Random seed.
    """
    rng = np.random.default_rng(seed)
    if np.ndim(correlation) == 0:
        S = np.full((n_assets, n_assets), float(correlation))
        np.fill_diagonal(S, 1.0)
    else:
        S = np.asarray(correlation, dtype=np.float64)
    N = S.shape[0]
    chol_s = np.linalg.cholesky(S)
    if g > 0.0:
        draws = rng.standard_normal((200_000, N)) @ chol_s.T
        neg = np.minimum(draws, 0.0)
        Nbar = neg.T @ neg / draws.shape[0]
    else:
        Nbar = np.zeros((N, N))
    total = n_obs + burn
    shocks = rng.standard_normal((total, N))
    ret = np.empty((total, N))
    corr = np.empty((total, N, N))
    Q = S.copy()
    s2 = np.full(N, omega / (1.0 - alpha - beta))
    Q_prev = S.copy()
    z_prev = np.zeros(N)
    e_prev = np.zeros(N)
    for t in range(total):
        if t > 0:
            n = np.minimum(z_prev, 0.0)
            Q = (1 - a - b) * S - g * Nbar + a * np.outer(z_prev, z_prev) + g * np.outer(n, n)
            Q = Q + b * Q_prev
            s2 = omega + alpha * e_prev**2 + beta * s2
        d = np.sqrt(np.diag(Q))
        R = Q / np.outer(d, d)
        z = np.linalg.cholesky(R) @ shocks[t]
        e = np.sqrt(s2) * z
        ret[t] = e
        corr[t] = R
        Q_prev = Q
        z_prev, e_prev = z, e
    cols = [f"x{i}" for i in range(N)]
    index = pd.bdate_range("2015-01-01", periods=n_obs)
    return SimulatedDCC(
        returns=pd.DataFrame(ret[burn:], index=index, columns=cols),
        correlations=corr[burn:],
        params={"a": a, "b": b, "g": g},
    )
