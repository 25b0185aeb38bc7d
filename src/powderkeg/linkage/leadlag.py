r"""Lead–lag: the cross-correlation function with confidence bands and the best lag.

For returns :math:`a_t, b_t` (:math:`t = 1..n`) the sample cross-correlation at lag :math:`k`
is

.. math:: \hat\rho_{ab}(k) = \frac{\sum_{t} (a_t - \bar a)(b_{t+k} - \bar b)}
          {n\, \hat\sigma_a \hat\sigma_b}, \qquad k = -K, \dots, K,

(overall means, divisor :math:`n`), so :math:`k > 0` means **A leads B** by :math:`k` periods
and :math:`k < 0` means B leads A.

Two bands under the null of no cross-correlation:

* white noise: :math:`\pm z_{1-\alpha/2}/\sqrt n`;
* Bartlett (1946): for independent but autocorrelated series,
  :math:`\operatorname{Var}\hat\rho_{ab}(k) \approx \frac1n \sum_{j=-M}^{M}
  \hat\rho_{aa}(j)\hat\rho_{bb}(j)` with :math:`M = K`; significance uses this band.

The best lead/lag is the non-zero lag with the largest :math:`|\hat\rho|`; its two-sided
p-value :math:`p = 2\Phi(-|\hat\rho|/\mathrm{se})` is adjusted for having searched
:math:`2K` lags by Bonferroni (:math:`\min(1, 2Kp)`; for the smallest p-value this equals
Holm's adjustment) and Šidák (:math:`1-(1-p)^{2K}`).

References
----------
Bartlett, M. S. (1946). On the theoretical specification and sampling properties of
autocorrelated time-series. *JRSS Supplement* 8(1), 27–41.
Box, G. E. P., Jenkins, G. M. and Reinsel, G. C. (2008). *Time Series Analysis*, ch. 12.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from powderkeg._validation import check_float, check_int
from powderkeg.exceptions import InsufficientDataError
from powderkeg.linkage._inputs import index_bounds, span_text
from powderkeg.results import Provenance, Result, Summary, Table


def cross_correlation(a: np.ndarray, b: np.ndarray, max_lag: int) -> np.ndarray:
    r""":math:`\hat\rho_{ab}(k)` for :math:`k = -K..K` (index :math:`k + K`)."""
    n = len(a)
    da, db = a - a.mean(), b - b.mean()
    scale = n * a.std() * b.std()
    out = np.empty(2 * max_lag + 1)
    for k in range(-max_lag, max_lag + 1):
        if k >= 0:
            out[k + max_lag] = da[: n - k] @ db[k:]
        else:
            out[k + max_lag] = da[-k:] @ db[: n + k]
    return out / scale


def bartlett_se(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    """Bartlett standard error of a cross-correlation between independent series."""
    n = len(a)
    acf_a = cross_correlation(a, a, max_lag)
    acf_b = cross_correlation(b, b, max_lag)
    var = float(acf_a @ acf_b) / n
    return float(np.sqrt(max(var, 1.0 / n * 1e-12)))


@dataclass
class LeadLagResult(Result):
    """The cross-correlation function, its bands and the best lead/lag."""

    a: str
    b: str
    ccf: pd.DataFrame
    best_lag: int
    best_corr: float
    stat: float
    pvalue_raw: float
    pvalue: float
    pvalue_sidak: float
    se_white: float
    se_bartlett: float
    confidence: float
    start: pd.Timestamp
    end: pd.Timestamp
    nobs: int
    calendar: str = "intersection"
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def max_lag(self) -> int:
        """Largest lag examined."""
        return int(self.ccf.index.max())

    @property
    def null_hypothesis(self) -> str:
        """The null of the best-lag test."""
        return f"no cross-correlation between {self.a} and {self.b} at any lag 1..{self.max_lag}"

    def _leader(self) -> str:
        if self.best_lag > 0:
            return f"{self.a} leads {self.b} by {self.best_lag}"
        return f"{self.b} leads {self.a} by {-self.best_lag}"

    def _payload(self) -> dict[str, Any]:
        z = stats.norm.ppf([0.95, 0.975, 0.995]) * self.se_bartlett
        return {
            "a": self.a,
            "b": self.b,
            "method": "sample cross-correlation (overall means, divisor n); Bartlett band",
            "calendar": self.calendar,
            "convention": "lag k > 0: corr(a_t, b_{t+k}), i.e. a leads b",
            "start": self.start,
            "end": self.end,
            "nobs": self.nobs,
            "max_lag": self.max_lag,
            "contemporaneous": float(np.asarray(self.ccf.loc[0, "corr"])),
            "best_lag": self.best_lag,
            "best_corr": self.best_corr,
            "leader": self._leader(),
            "stat": self.stat,
            "pvalue_raw": self.pvalue_raw,
            "pvalue": self.pvalue,
            "pvalue_sidak": self.pvalue_sidak,
            "correction": f"Bonferroni over {2 * self.max_lag} non-zero lags",
            "critical_values": {"90%": z[0], "95%": z[1], "99%": z[2]},
            "band_white": stats.norm.ppf(0.5 + self.confidence / 2) * self.se_white,
            "band_bartlett": stats.norm.ppf(0.5 + self.confidence / 2) * self.se_bartlett,
            "null_hypothesis": self.null_hypothesis,
            "ccf": self.ccf,
        }

    def summary(self) -> Summary:
        """Return the printable summary (facts, tables, method notes)."""
        view = self.ccf.reset_index()
        return Summary(
            title=f"Lead-lag of {self.a} and {self.b}",
            facts=[
                ("sample", span_text(self.start, self.end, self.nobs)),
                ("calendar", self.calendar),
                ("contemporaneous corr", float(np.asarray(self.ccf.loc[0, "corr"]))),
                ("best lead/lag", self._leader()),
                ("corr at best lag", self.best_corr),
                ("p-value (raw)", self.pvalue_raw),
                (f"p-value (Bonferroni, {2 * self.max_lag} lags)", self.pvalue),
                (
                    f"{self.confidence:.0%} band white / Bartlett",
                    f"±{stats.norm.ppf(0.5 + self.confidence / 2) * self.se_white:.4f} / "
                    f"±{stats.norm.ppf(0.5 + self.confidence / 2) * self.se_bartlett:.4f}",
                ),
            ],
            tables=[Table.from_frame("Cross-correlation (k > 0: A leads B)", view, index=False)],
            notes=[
                "Significance uses the Bartlett band (accounts for each series' own "
                "autocorrelation); the white-noise band ±z/sqrt(n) is shown for reference.",
                "Under the intersection calendar a 24/7 asset's return spans the gap between "
                "sessions, so lag 1 is one session, not one calendar day.",
            ],
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the main table as a DataFrame."""
        return self.ccf.copy()

    def plot(self) -> Any:
        """Return a Plotly figure (not shown)."""
        import plotly.graph_objects as go

        fig = go.Figure()
        fig.add_bar(x=self.ccf.index, y=self.ccf["corr"], name="ccf")
        band = stats.norm.ppf(0.5 + self.confidence / 2) * self.se_bartlett
        for sign in (1, -1):
            fig.add_hline(y=sign * band, line_dash="dash")
        fig.update_layout(title=f"Cross-correlation {self.a} / {self.b}", xaxis_title="lag k")
        return fig


def lead_lag(
    a: pd.Series,
    b: pd.Series,
    *,
    max_lag: int = 10,
    confidence: float = 0.95,
    calendar: str = "intersection",
    provenance: Provenance | None = None,
) -> LeadLagResult:
    """Cross-correlations of ``a`` and ``b`` over ±``max_lag`` and the best lead/lag.

    Parameters
    ----------
    a, b : Series
        Returns on common dates.
    max_lag : int, default 10
        Largest lead and lag examined.
    confidence : float, default 0.95
        Level of the bands.

    Returns
    -------
    LeadLagResult
    """
    max_lag = check_int(max_lag, "max_lag", minimum=1)
    conf = check_float(confidence, "confidence", minimum=0.5, maximum=0.999)
    pair = pd.concat([a.rename("a"), b.rename("b")], axis=1).dropna()
    x, y = pair["a"].to_numpy(float), pair["b"].to_numpy(float)
    n = len(x)
    if n < 4 * max_lag or n < 20:
        raise InsufficientDataError(f"{n} returns are too few for max_lag={max_lag}")
    rho = cross_correlation(x, y, max_lag)
    se_w = 1.0 / np.sqrt(n)
    se_b = bartlett_se(x, y, max_lag)
    zc = stats.norm.ppf(0.5 + conf / 2)
    lags = np.arange(-max_lag, max_lag + 1)
    pvals = 2 * stats.norm.sf(np.abs(rho) / se_b)
    ccf = pd.DataFrame(
        {
            "corr": rho,
            "z": rho / se_b,
            "pvalue": pvals,
            "significant": np.abs(rho) > zc * se_b,
        },
        index=pd.Index(lags, name="lag"),
    )
    nonzero = lags != 0
    best = int(lags[nonzero][np.argmax(np.abs(rho[nonzero]))])
    p_raw = float(pvals[best + max_lag])
    m = 2 * max_lag
    return LeadLagResult(
        a=str(a.name),
        b=str(b.name),
        ccf=ccf,
        best_lag=best,
        best_corr=float(rho[best + max_lag]),
        stat=float(rho[best + max_lag] / se_b),
        pvalue_raw=p_raw,
        pvalue=min(1.0, m * p_raw),
        pvalue_sidak=float(-np.expm1(m * np.log1p(-p_raw))) if p_raw < 1 else 1.0,
        se_white=float(se_w),
        se_bartlett=se_b,
        confidence=conf,
        start=index_bounds(pair.index)[0],
        end=index_bounds(pair.index)[1],
        nobs=n,
        calendar=calendar,
        provenance=provenance or Provenance(parameters={"max_lag": max_lag}),
    )
