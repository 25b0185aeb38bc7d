"""Shared econometrics: least squares with HAC covariances and multiple-testing corrections.

The least-squares conventions match ``statsmodels``
``OLS(...).fit(cov_type="HAC", cov_kwds={"maxlags": L})``: Bartlett weights, no small-sample
correction, normal reference distribution. The corrections match
``statsmodels.stats.multitest.multipletests`` (``"holm"``, ``"fdr_bh"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from powderkeg.exceptions import InsufficientDataError


def newey_west_lags(nobs: int) -> int:
    r"""Newey–West (1994) automatic bandwidth :math:`\lfloor 4 (T/100)^{2/9} \rfloor`."""
    return int(np.floor(4.0 * (max(nobs, 1) / 100.0) ** (2.0 / 9.0)))


def hac_meat(scores: np.ndarray, lags: int) -> np.ndarray:
    r"""Newey–West long-run covariance of the score rows :math:`s_t = x_t u_t`.

    .. math::
        S = \Gamma_0 + \sum_{l=1}^{L} \left(1 - \frac{l}{L+1}\right) (\Gamma_l + \Gamma_l'),
        \qquad \Gamma_l = \sum_{t=l+1}^{T} s_t s_{t-l}'.

    References
    ----------
    Newey, W. K. and West, K. D. (1987). A simple, positive semi-definite, heteroskedasticity
    and autocorrelation consistent covariance matrix. *Econometrica* 55(3), 703–708.
    """
    meat = scores.T @ scores
    for lag in range(1, lags + 1):
        gamma = scores[lag:].T @ scores[:-lag]
        meat += (1.0 - lag / (lags + 1.0)) * (gamma + gamma.T)
    return meat


@dataclass(frozen=True)
class OLSFit:
    """Coefficients, residuals and covariance of one least-squares fit."""

    params: np.ndarray
    resid: np.ndarray
    cov: np.ndarray
    nobs: int
    ssr: float
    tss: float

    @property
    def bse(self) -> np.ndarray:
        """Standard errors."""
        return np.sqrt(np.diag(self.cov))

    @property
    def tvalues(self) -> np.ndarray:
        """Coefficients over standard errors."""
        return self.params / self.bse

    @property
    def pvalues(self) -> np.ndarray:
        """Two-sided p-values against the standard normal."""
        return 2.0 * stats.norm.sf(np.abs(self.tvalues))

    @property
    def rsquared(self) -> float:
        """Centred R squared."""
        return 1.0 - self.ssr / self.tss


def ols(y: np.ndarray, x: np.ndarray, *, hac_lags: int | None = None) -> OLSFit:
    r"""Least squares of ``y`` on ``x`` (which carries its own constant column).

    Parameters
    ----------
    y : ndarray of shape (n,)
    x : ndarray of shape (n, k)
    hac_lags : int, optional
        ``None`` gives the classical covariance :math:`s^2 (X'X)^{-1}` with
        :math:`s^2 = \mathrm{SSR}/(n-k)`; an integer gives the Newey–West sandwich
        :math:`(X'X)^{-1} S (X'X)^{-1}` with that many lags (``0`` is White's HC0).
    """
    n, k = x.shape
    if n <= k:
        raise InsufficientDataError(f"{n} observations for {k} coefficients")
    params, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ params
    ssr = float(resid @ resid)
    bread = np.linalg.inv(x.T @ x)
    if hac_lags is None:
        cov = bread * (ssr / (n - k))
    else:
        meat = hac_meat(x * resid[:, None], hac_lags)
        cov = bread @ meat @ bread
    centred = y - y.mean()
    return OLSFit(
        params=params, resid=resid, cov=cov, nobs=n, ssr=ssr, tss=float(centred @ centred)
    )


def holm(pvalues: np.ndarray) -> np.ndarray:
    r"""Holm (1979) step-down adjusted p-values (family-wise error rate).

    Sort :math:`p_{(1)} \le \dots \le p_{(m)}`; :math:`\tilde p_{(i)} = \max_{k \le i}
    \min(1, (m - k + 1) p_{(k)})`.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg (1995) step-up adjusted p-values (false discovery rate)."""
    p = np.asarray(pvalues, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out
