"""Least squares with classical and Newey–West (HAC) covariances, shared by the linkage tests.

The conventions match ``statsmodels`` ``OLS(...).fit(cov_type="HAC", cov_kwds={"maxlags": L})``:
Bartlett weights, no small-sample correction, normal reference distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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

    @property
    def bse(self) -> np.ndarray:
        """Standard errors."""
        return np.sqrt(np.diag(self.cov))


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
    params, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ params
    n, k = x.shape
    ssr = float(resid @ resid)
    bread = np.linalg.inv(x.T @ x)
    if hac_lags is None:
        cov = bread * (ssr / (n - k))
    else:
        meat = hac_meat(x * resid[:, None], hac_lags)
        cov = bread @ meat @ bread
    return OLSFit(params=params, resid=resid, cov=cov, nobs=n, ssr=ssr)
