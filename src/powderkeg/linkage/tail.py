r"""Lower-tail co-movement: empirical tail dependence and co-crash probabilities.

With ranks :math:`R_i` of :math:`A` and :math:`S_i` of :math:`B` (1 = worst day) and
:math:`k = \lfloor qn \rfloor`, the empirical lower tail-dependence coefficient at level
:math:`q` is the empirical copula on the diagonal divided by the level,

.. math:: \hat\lambda_L(q) = \frac{\hat C_n(k/n, k/n)}{k/n}
          = \frac{1}{k} \sum_{i=1}^n 1\{R_i \le k,\ S_i \le k\},

i.e. the share of :math:`B`'s :math:`k` worst days that are also among :math:`A`'s :math:`k`
worst days. Its limit :math:`\lambda_L = \lim_{q\to0} C(q,q)/q` is zero for a Gaussian copula
and :math:`2\,t_{\nu+1}\bigl(-\sqrt{(\nu+1)(1-\rho)/(1+\rho)}\bigr)` for a Student-t copula.

The threshold-stable estimator follows the plateau-finding algorithm of Frahm, Junker and
Schmidt (2005): :math:`\hat\lambda_L(k/n)` for :math:`k = 1, \dots, \lfloor n/2 \rfloor` is
smoothed by a box kernel of half-width :math:`b = \lceil 0.005 n \rceil`; the first run of
:math:`m = \lfloor\sqrt{n_s}\rfloor` consecutive smoothed values (:math:`n_s` of them in all)
whose summed absolute deviation from its first value is at most twice the standard deviation
of the smoothed curve is the plateau, and its mean is the estimate (0 if there is none).
The curve is searched over the lower half of the sample only (:math:`q \le 1/2`).

Co-crash probabilities use the empirical quantiles directly:
:math:`P(A \le \hat Q_A(q) \mid B \le \hat Q_B(q))` and the reverse.

References
----------
Schmidt, R. and Stadtmüller, U. (2006). Non-parametric estimation of tail dependence.
*Scandinavian Journal of Statistics* 33(2), 307–335.
Frahm, G., Junker, M. and Schmidt, R. (2005). Estimating the tail-dependence coefficient:
properties and pitfalls. *Insurance: Mathematics and Economics* 37(1), 80–100.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from powderkeg._validation import check_float, check_int
from powderkeg.exceptions import InsufficientDataError
from powderkeg.linkage._bootstrap import block_indices, default_block
from powderkeg.linkage._inputs import index_bounds, span_text
from powderkeg.results import Provenance, Result, Summary, Table


def t_copula_lower_tail(rho: float, dof: float) -> float:
    r"""Closed-form tail-dependence coefficient of a Student-t copula.

    .. math:: \lambda_L = 2\,t_{\nu+1}\!\left(-\sqrt{\frac{(\nu+1)(1-\rho)}{1+\rho}}\right)
    """
    return float(2 * stats.t.cdf(-np.sqrt((dof + 1) * (1 - rho) / (1 + rho)), dof + 1))


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ordinal ranks 1..n along the last axis (ties broken by position)."""
    order = np.argsort(x, axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, x.shape[-1] + 1), axis=-1)
    return ranks


def empirical_lambda(a: np.ndarray, b: np.ndarray, q: float) -> np.ndarray:
    r"""Empirical :math:`\hat\lambda_L(q)`; vectorised over leading axes of ``a`` and ``b``."""
    n = a.shape[-1]
    k = max(1, int(np.floor(q * n)))
    both = (_ranks(a) <= k) & (_ranks(b) <= k)
    return both.sum(axis=-1) / k


def lambda_curve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r""":math:`\hat\lambda_L(k/n)` for :math:`k = 1..n` in one pass.

    Point :math:`i` is in the joint lower corner at level :math:`k` iff
    :math:`\max(R_i, S_i) \le k`, so the counts are the cumulative histogram of the maxima.
    """
    n = len(a)
    worst = np.maximum(_ranks(a), _ranks(b))
    counts = np.cumsum(np.bincount(worst, minlength=n + 1)[1:])
    return counts / np.arange(1, n + 1)


def plateau_lambda(a: np.ndarray, b: np.ndarray) -> tuple[float, int | None]:
    """Frahm–Junker–Schmidt plateau estimate and the plateau's first ``k`` (``None`` if none)."""
    n = len(a)
    curve = lambda_curve(a, b)[: n // 2]
    half = max(1, int(np.ceil(0.005 * n)))
    width = 2 * half + 1
    if len(curve) < width + 2:
        raise InsufficientDataError(f"plateau estimator needs more observations, got {n}")
    smooth = np.convolve(curve, np.ones(width) / width, mode="valid")
    m = max(2, int(np.floor(np.sqrt(len(smooth)))))
    sigma = float(np.std(smooth))
    windows = np.lib.stride_tricks.sliding_window_view(smooth, m)
    spread = np.abs(windows[:, 1:] - windows[:, :1]).sum(axis=1)
    hits = np.flatnonzero(spread <= 2 * sigma)
    if not len(hits):
        return 0.0, None
    first = int(hits[0])
    return float(windows[first].mean()), first + half + 1


@dataclass
class TailDependenceResult(Result):
    """Tail-dependence coefficients, co-crash probabilities, intervals and a rolling path."""

    a: str
    b: str
    q: float
    value: float
    plateau: float
    plateau_k: int | None
    co_crash: dict[str, float]
    bootstrap: dict[str, Any] | None
    curve: pd.DataFrame
    series: pd.Series
    window: int | None
    start: pd.Timestamp
    end: pd.Timestamp
    nobs: int
    calendar: str = "intersection"
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "method": "empirical copula lower-tail dependence; FJS plateau estimator",
            "calendar": self.calendar,
            "q": self.q,
            "value": self.value,
            "lambda_q": self.value,
            "lambda_plateau": self.plateau,
            "plateau_k": self.plateau_k,
            "independence_baseline": self.q,
            "co_crash": self.co_crash,
            "bootstrap": self.bootstrap,
            "start": self.start,
            "end": self.end,
            "n": self.nobs,
            "nobs": self.nobs,
            "window": self.window,
            "curve": self.curve,
            "series": self.series,
        }

    def summary(self) -> Summary:
        """Return the printable summary (facts, tables, method notes)."""
        facts: list[tuple[str, Any]] = [
            ("sample", span_text(self.start, self.end, self.nobs)),
            ("calendar", self.calendar),
            (f"lambda_L(q={self.q:g})", self.value),
            ("lambda_L plateau (FJS)", self.plateau),
            ("independence baseline", self.q),
            (f"P({self.a} crash | {self.b} crash)", self.co_crash["a_given_b"]),
            (f"P({self.b} crash | {self.a} crash)", self.co_crash["b_given_a"]),
            ("joint crash days", self.co_crash["joint_count"]),
        ]
        tables = []
        if self.bootstrap is not None:
            ci = pd.DataFrame(
                {
                    k: [v["low"], v["high"]]
                    for k, v in self.bootstrap.items()
                    if isinstance(v, dict)
                },
                index=["low", "high"],
            ).T.rename_axis("statistic")
            tables.append(
                Table.from_frame(
                    f"{self.bootstrap['confidence']:.0%} block-bootstrap intervals "
                    f"({self.bootstrap['reps']} resamples, block {self.bootstrap['block']})",
                    ci,
                )
            )
        if len(self.series):
            last = self.series.dropna()
            if len(last):
                facts.append((f"rolling {self.window}-day lambda_L at end", float(last.iloc[-1])))
                facts.append(("rolling max", float(last.max())))
        return Summary(
            title=f"Lower-tail dependence of {self.a} and {self.b}",
            facts=facts,
            tables=tables,
            notes=[
                f"A crash is a return at or below the empirical {self.q:g} quantile of that "
                "series; under independence the conditional probability equals q.",
                "lambda_L(q) is the share of B's floor(qn) worst days that are among A's "
                "floor(qn) worst days (rank-based, symmetric).",
            ],
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the main table as a DataFrame."""
        return self.curve.copy()

    def plot(self) -> Any:
        """Return a Plotly figure (not shown)."""
        import plotly.graph_objects as go

        fig = go.Figure()
        fig.add_scatter(x=self.curve["q"], y=self.curve["lambda"], name="lambda_L(q)")
        fig.add_hline(y=self.plateau, line_dash="dash", annotation_text="plateau")
        fig.update_layout(title=f"Lower-tail dependence {self.a} / {self.b}", xaxis_title="q")
        return fig


def tail_dependence(
    a: pd.Series,
    b: pd.Series,
    *,
    q: float = 0.05,
    bootstrap: int = 0,
    block: int | None = None,
    confidence: float = 0.95,
    seed: int | None = None,
    window: int | None = None,
    step: int = 1,
    calendar: str = "intersection",
    provenance: Provenance | None = None,
) -> TailDependenceResult:
    """Empirical lower-tail dependence of two return series.

    Parameters
    ----------
    a, b : Series
        Returns on common dates.
    q : float, default 0.05
        Tail level (a "crash" is a return at or below the q-quantile).
    bootstrap : int, default 0
        Circular block-bootstrap resamples for intervals of lambda_L(q), the plateau estimate
        and the co-crash probability.
    window : int, optional
        Rolling window (observations) for the path of lambda_L(q); every ``step`` dates.
    seed : int, optional
        Bootstrap seed.

    Returns
    -------
    TailDependenceResult
    """
    q = check_float(q, "q", minimum=0.0, maximum=0.5, exclusive_minimum=True)
    reps = check_int(bootstrap, "bootstrap", minimum=0)
    step = check_int(step, "step", minimum=1)
    pair = pd.concat([a.rename("a"), b.rename("b")], axis=1).dropna()
    x, y = pair["a"].to_numpy(float), pair["b"].to_numpy(float)
    n = len(x)
    if n * q < 5:
        raise InsufficientDataError(f"q={q:g} leaves {n * q:.1f} tail observations; need >= 5")
    value = float(empirical_lambda(x, y, q))
    plateau, plateau_k = plateau_lambda(x, y)
    qa, qb = np.quantile(x, q), np.quantile(y, q)
    low_a, low_b = x <= qa, y <= qb
    joint = int((low_a & low_b).sum())
    co_crash = {
        "a_given_b": joint / int(low_b.sum()),
        "b_given_a": joint / int(low_a.sum()),
        "joint_probability": joint / n,
        "joint_count": joint,
        "a_quantile": float(qa),
        "b_quantile": float(qb),
    }
    boot: dict[str, Any] | None = None
    if reps:
        conf = check_float(confidence, "confidence", minimum=0.5, maximum=0.999)
        idx = block_indices(n, reps, block, seed)
        xb, yb = x[idx], y[idx]
        lam = empirical_lambda(xb, yb, q)
        pl = np.array([plateau_lambda(xb[i], yb[i])[0] for i in range(reps)])
        qxb = np.quantile(xb, q, axis=1, keepdims=True)
        qyb = np.quantile(yb, q, axis=1, keepdims=True)
        cond = ((xb <= qxb) & (yb <= qyb)).sum(axis=1) / (yb <= qyb).sum(axis=1)
        lo, hi = 50 * (1 - conf), 50 * (1 + conf)
        boot = {
            name: {"low": float(np.percentile(v, lo)), "high": float(np.percentile(v, hi))}
            for name, v in (("lambda_q", lam), ("lambda_plateau", pl), ("a_given_b", cond))
        }
        boot.update(
            reps=reps,
            block=default_block(n) if block is None else int(block),
            confidence=conf,
        )
    ks = np.unique(np.clip(np.round(np.linspace(0.005, 0.25, 50) * n).astype(int), 1, None))
    full_curve = lambda_curve(x, y)
    curve = pd.DataFrame({"q": ks / n, "k": ks, "lambda": full_curve[ks - 1]})
    series = pd.Series(dtype="float64", name="lambda_q")
    if window is not None:
        window = check_int(window, "window", minimum=int(np.ceil(5 / q)))
        if window > n:
            raise InsufficientDataError(f"window {window} exceeds the {n} aligned returns")
        ends = np.arange(window - 1, n, step)
        xw = np.lib.stride_tricks.sliding_window_view(x, window)[ends - window + 1]
        yw = np.lib.stride_tricks.sliding_window_view(y, window)[ends - window + 1]
        series = pd.Series(empirical_lambda(xw, yw, q), index=pair.index[ends], name="lambda_q")
    return TailDependenceResult(
        a=str(a.name),
        b=str(b.name),
        q=q,
        value=value,
        plateau=plateau,
        plateau_k=plateau_k,
        co_crash=co_crash,
        bootstrap=boot,
        curve=curve,
        series=series,
        window=window,
        start=index_bounds(pair.index)[0],
        end=index_bounds(pair.index)[1],
        nobs=n,
        calendar=calendar,
        provenance=provenance
        or Provenance(parameters={"q": q, "bootstrap": reps, "window": window}, seed=seed),
    )
