r"""Partial correlation: how much of the A–B link survives common drivers.

Both return series are regressed on a constant and the controls :math:`Z` by least squares,
and the residuals are correlated:

.. math:: r_{AB\cdot Z} = \operatorname{corr}(e_A, e_B), \qquad
          e_A = A - [1\ Z]\hat\beta_A,\ e_B = B - [1\ Z]\hat\beta_B .

Equivalently, with :math:`P = \Sigma^{-1}` the precision matrix of :math:`(A, B, Z)`,
:math:`r_{AB\cdot Z} = -P_{AB}/\sqrt{P_{AA}P_{BB}}`. Inference: under the null of zero
partial correlation (Gaussian data) :math:`t = r\sqrt{(n-2-k)/(1-r^2)} \sim t_{n-2-k}`;
intervals use Fisher's :math:`z` with standard error :math:`1/\sqrt{n-3-k}`.
The *share that survives* is :math:`r_{AB\cdot Z} / r_{AB}`.

References
----------
Fisher, R. A. (1924). The distribution of the partial correlation coefficient. *Metron* 3.
Anderson, T. W. (2003). *An Introduction to Multivariate Statistical Analysis*, 3rd ed., §4.3.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from powderkeg._validation import check_float
from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.linkage._inputs import index_bounds, span_text
from powderkeg.results import Provenance, Result, Summary, Table


def residualize(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Residuals of ``y`` (n,) or (n, m) on a constant and ``z`` (n, k)."""
    design = np.column_stack([np.ones(len(z)), z])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return y - design @ coef


def precision_partial(data: np.ndarray) -> float:
    """Partial correlation of columns 0 and 1 given the rest, from the precision matrix."""
    prec = np.linalg.inv(np.cov(data, rowvar=False))
    return float(-prec[0, 1] / np.sqrt(prec[0, 0] * prec[1, 1]))


def _fisher_ci(r: float, n_eff: int, conf: float) -> tuple[float, float]:
    half = stats.norm.ppf(0.5 + conf / 2) / np.sqrt(n_eff)
    z = np.arctanh(r)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


@dataclass
class PartialCorrelationResult(Result):
    """Raw and partial correlations with tests, intervals and the surviving share."""

    a: str
    b: str
    controls: list[str]
    raw: float
    value: float
    stat: float
    pvalue: float
    raw_pvalue: float
    ci_raw: tuple[float, float]
    ci: tuple[float, float]
    loadings: pd.DataFrame
    confidence: float
    start: pd.Timestamp
    end: pd.Timestamp
    nobs: int
    calendar: str = "intersection"
    transforms: dict[str, str] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def share(self) -> float:
        """Partial / raw correlation."""
        return self.value / self.raw if self.raw != 0 else float("nan")

    @property
    def df(self) -> int:
        """Degrees of freedom of the t test."""
        return self.nobs - 2 - len(self.controls)

    def _payload(self) -> dict[str, Any]:
        crit = stats.t.ppf([0.95, 0.975, 0.995], self.df)
        return {
            "a": self.a,
            "b": self.b,
            "controls": self.controls,
            "method": "pearson on OLS residuals (controls + constant)",
            "calendar": self.calendar,
            "transforms": self.transforms,
            "start": self.start,
            "end": self.end,
            "n": self.nobs,
            "nobs": self.nobs,
            "raw": self.raw,
            "raw_pvalue": self.raw_pvalue,
            "raw_ci": list(self.ci_raw),
            "value": self.value,
            "partial": self.value,
            "ci": list(self.ci),
            "share": self.share,
            "stat": self.stat,
            "pvalue": self.pvalue,
            "df": self.df,
            "critical_values": {"90%": crit[0], "95%": crit[1], "99%": crit[2]},
            "null_hypothesis": f"partial correlation of {self.a} and {self.b} is zero",
            "loadings": self.loadings,
        }

    def summary(self) -> Summary:
        """Return the printable summary (facts, tables, method notes)."""
        pct = f"{self.confidence:.0%}"
        return Summary(
            title=f"Partial correlation of {self.a} and {self.b}",
            facts=[
                ("sample", span_text(self.start, self.end, self.nobs)),
                ("calendar", self.calendar),
                ("controls", ", ".join(self.controls)),
                ("raw correlation", self.raw),
                (f"raw {pct} CI", f"[{self.ci_raw[0]:.3f}, {self.ci_raw[1]:.3f}]"),
                ("partial correlation", self.value),
                (f"partial {pct} CI", f"[{self.ci[0]:.3f}, {self.ci[1]:.3f}]"),
                ("share that survives", self.share),
                (f"t ({self.df} df)", self.stat),
                ("p-value", self.pvalue),
            ],
            tables=[Table.from_frame("Control loadings (OLS slopes)", self.loadings)],
            notes=[
                "Residuals of each return on a constant and the controls are correlated; "
                "identical to -P_ab/sqrt(P_aa P_bb) from the precision matrix.",
                *[f"{k}: {v}" for k, v in self.transforms.items()],
            ],
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the main table as a DataFrame."""
        return pd.DataFrame(
            {
                "measure": ["raw", "partial"],
                "value": [self.raw, self.value],
                "ci_low": [self.ci_raw[0], self.ci[0]],
                "ci_high": [self.ci_raw[1], self.ci[1]],
            }
        )


def partial_correlation(
    a: pd.Series,
    b: pd.Series,
    controls: pd.DataFrame,
    *,
    confidence: float = 0.95,
    calendar: str = "intersection",
    transforms: dict[str, str] | None = None,
    provenance: Provenance | None = None,
) -> PartialCorrelationResult:
    """Correlation of ``a`` and ``b`` after removing the linear effect of ``controls``.

    Parameters
    ----------
    a, b : Series
        Returns on common dates.
    controls : DataFrame
        One column per control (already transformed to changes).
    confidence : float, default 0.95
        Level of the Fisher-z intervals.

    Returns
    -------
    PartialCorrelationResult
    """
    conf = check_float(confidence, "confidence", minimum=0.5, maximum=0.999)
    if controls.shape[1] == 0:
        raise InputError("give at least one control")
    frame = pd.concat([a.rename("__a"), b.rename("__b"), controls], axis=1).dropna()
    k = controls.shape[1]
    n = len(frame)
    if n < k + 10:
        raise InsufficientDataError(f"{n} observations are too few for {k} controls")
    y = frame[["__a", "__b"]].to_numpy(float)
    z = frame[list(controls.columns)].to_numpy(float)
    if np.linalg.matrix_rank(np.column_stack([np.ones(n), z])) < k + 1:
        raise InputError("the controls are collinear (or constant) on this sample")
    resid = residualize(y, z)
    r = float(np.corrcoef(resid, rowvar=False)[0, 1])
    raw = float(np.corrcoef(y, rowvar=False)[0, 1])
    df = n - 2 - k
    t_stat = r * np.sqrt(df / (1 - r * r))
    raw_t = raw * np.sqrt((n - 2) / (1 - raw * raw))
    design = np.column_stack([np.ones(n), z])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    loadings = pd.DataFrame(
        coef[1:], index=pd.Index(list(controls.columns), name="control"), columns=[a.name, b.name]
    )
    idx = frame.index
    return PartialCorrelationResult(
        a=str(a.name),
        b=str(b.name),
        controls=[str(c) for c in controls.columns],
        raw=raw,
        value=r,
        stat=float(t_stat),
        pvalue=float(2 * stats.t.sf(abs(t_stat), df)),
        raw_pvalue=float(2 * stats.t.sf(abs(raw_t), n - 2)),
        ci_raw=_fisher_ci(raw, n - 3, conf),
        ci=_fisher_ci(r, n - 3 - k, conf),
        loadings=loadings,
        confidence=conf,
        start=index_bounds(idx)[0],
        end=index_bounds(idx)[1],
        nobs=n,
        calendar=calendar,
        transforms=transforms or {},
        provenance=provenance or Provenance(parameters={"controls": list(controls.columns)}),
    )
