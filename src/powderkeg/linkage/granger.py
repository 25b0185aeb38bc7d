r"""Granger causality in both directions, with lag selection, HAC option and controls.

For "X Granger-causes Y" at lag order :math:`p`, on rows :math:`t = p+1..T`
(:math:`n = T - p`, the convention of ``statsmodels.tsa.stattools.grangercausalitytests``):

.. math::
    \text{restricted:}\quad y_t = c + \sum_{j=1}^p a_j y_{t-j}
        + \sum_{j=1}^p \gamma_j' z_{t-j} + e_t, \qquad
    \text{unrestricted: } \ldots + \sum_{j=1}^p b_j x_{t-j} + u_t,

where :math:`z` are optional exogenous controls (a *conditional* Granger test, Geweke 1984).
The classical test is the SSR F statistic

.. math:: F = \frac{(\mathrm{SSR}_r - \mathrm{SSR}_u)/p}{\mathrm{SSR}_u/(n - k_u)}
          \sim F(p,\ n - k_u),

computed from the triangular factor of :math:`[X_u\ y]` with the restricted regressors first
(:math:`X_u = QR`): :math:`\mathrm{SSR}_r - \mathrm{SSR}_u = \lVert Q_x' y\rVert^2` exactly
(the squared projections on the :math:`x`-lag directions), so no difference of two large
numbers is taken. The fast path obtains that factor as the Cholesky factor of the
column-scaled cross-product matrix, built once for all lags; a per-lag QR path is kept as
``solver="qr"``.
With ``hac=True`` the statistic is the Wald
:math:`W = \hat b' [\hat V_{HAC}]^{-1}_{bb} \hat b \sim \chi^2_p` with the Newey–West
covariance (statsmodels' ``cov_type="HAC"`` conventions).

Lag orders are chosen by AIC and BIC of the unrestricted equation on the common sample
:math:`t = p_{max}+1..T`: :math:`n\ln(\mathrm{SSR}_p/n) + k_p \cdot \{2, \ln n\}`; all
nested fits come from a single factorisation with columns ordered by lag, since
:math:`\mathrm{SSR}_k = \mathrm{SSR}_{full} + \sum_{j>k} (Q'y)_j^2`.

References
----------
Granger, C. W. J. (1969). Investigating causal relations by econometric models and
cross-spectral methods. *Econometrica* 37(3), 424–438.
Geweke, J. (1984). Measures of conditional linear dependence and feedback between time series.
*JASA* 79(388), 907–915.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from powderkeg._validation import check_int, check_option
from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.linkage._inputs import index_bounds, span_text
from powderkeg.results import Provenance, Result, Summary, Table
from powderkeg.stats import hac_meat, newey_west_lags

SELECTION = ("aic", "bic", "max")
SOLVERS = ("cholesky", "qr")


def lag_block(z: np.ndarray, p: int, first: int) -> np.ndarray:
    """Columns ``z[t-1], ..., z[t-p]`` for rows ``t = first..T-1`` (``z`` of shape (T, c)).

    Column order is lag-major: all series at lag 1, then all at lag 2, ...
    """
    t_end = z.shape[0]
    return np.hstack([z[first - j : t_end - j] for j in range(1, p + 1)])


def granger_lag(
    y: np.ndarray,
    x: np.ndarray,
    p: int,
    controls: np.ndarray | None = None,
    *,
    hac_lags: int | None = None,
) -> dict[str, float]:
    """Test "x Granger-causes y" at lag order ``p`` on rows ``p..T-1``.

    Returns a dict with ``stat``, ``pvalue``, ``df_num``, ``df_denom``, ``nobs`` (and
    ``distribution`` code 0 = F, 1 = chi2).
    """
    t_total = len(y)
    own = y[:, None] if controls is None else np.column_stack([y, controls])
    n = t_total - p
    restricted = np.hstack([np.ones((n, 1)), lag_block(own, p, p)])
    design = np.hstack([restricted, lag_block(x[:, None], p, p)])
    k_r, k_u = restricted.shape[1], design.shape[1]
    if n - k_u < 1:
        raise InsufficientDataError(f"lag {p} needs more than {k_u} observations, got {n}")
    target = y[p:]
    q, r = np.linalg.qr(design)
    qty = q.T @ target
    resid = target - q @ qty
    ssr_u = float(resid @ resid)
    if hac_lags is None:
        drop = float(qty[k_r:] @ qty[k_r:])
        df_denom = n - k_u
        stat = drop / p / (ssr_u / df_denom)
        return {
            "stat": stat,
            "pvalue": float(stats.f.sf(stat, p, df_denom)),
            "df_num": p,
            "df_denom": df_denom,
            "nobs": n,
            "distribution": 0,
        }
    coef = np.linalg.solve(r, qty)
    r_inv = np.linalg.solve(r, np.eye(k_u))
    bread = r_inv @ r_inv.T
    cov = bread @ hac_meat(design * resid[:, None], hac_lags) @ bread
    b = coef[k_r:]
    stat = float(b @ np.linalg.solve(cov[k_r:, k_r:], b))
    return {
        "stat": stat,
        "pvalue": float(stats.chi2.sf(stat, p)),
        "df_num": p,
        "df_denom": np.nan,
        "nobs": n,
        "distribution": 1,
    }


def _own_block(y: np.ndarray, controls: np.ndarray | None) -> np.ndarray:
    return y[:, None] if controls is None else np.column_stack([y, controls])


def _padded_lags(z: np.ndarray, max_lag: int) -> np.ndarray:
    """``out[t, (j-1)*c + s] = z[t-j, s]`` for ``t >= j`` (rows ``t < j`` hold zeros)."""
    t_total, width = z.shape
    out = np.zeros((t_total, max_lag * width))
    for j in range(1, max_lag + 1):
        out[j:, (j - 1) * width : j * width] = z[:-j]
    return out


def _cholesky_tail(gram: np.ndarray) -> np.ndarray:
    r"""Last row of the Cholesky factor of a column-scaled Gram matrix, and its scale.

    With :math:`[X\ y]'[X\ y] = LL'`, the last row of :math:`L` is :math:`(Q'y,\ \sqrt{SSR})`
    of the QR decomposition of :math:`X`, up to the column scaling undone here.
    """
    scale = np.sqrt(np.diag(gram))
    if np.any(scale == 0):
        raise InputError("a regressor is identically zero; the Granger test cannot be computed")
    try:
        chol = np.linalg.cholesky(gram / np.outer(scale, scale))
    except np.linalg.LinAlgError:
        raise InputError(
            "the lagged design is singular (a constant or duplicated series?)"
        ) from None
    return chol[-1] * scale[-1]


def granger_lags_fast(
    y: np.ndarray,
    x: np.ndarray,
    lags: Sequence[int],
    controls: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    r"""SSR F tests of "x → y" at each lag in ``lags`` and AIC/BIC up to the largest.

    One padded lag matrix and one cross-product give every lag's Gram matrix (rows
    ``p..T-1`` are the suffix ``max_lag..T-1`` plus a handful of rank-one updates); each test
    is then a Cholesky factorisation of at most ``(1 + p(2 + c)) + 1`` columns, from which
    :math:`\mathrm{SSR}_u` and :math:`\mathrm{SSR}_r - \mathrm{SSR}_u` are read off without
    subtraction.

    Returns
    -------
    dict of arrays
        ``stat``, ``pvalue``, ``df_num``, ``df_denom``, ``nobs``, ``aic``, ``bic`` (the last
        two indexed by lag ``1..max_lag``).
    """
    lag_arr = np.asarray(sorted(set(lags)), dtype=np.int64)
    max_lag = int(lag_arr[-1])
    own = _own_block(y, controls)
    w_own = own.shape[1]
    t_total = len(y)
    full = np.hstack(
        [
            np.ones((t_total, 1)),
            _padded_lags(own, max_lag),
            _padded_lags(x[:, None], max_lag),
            y[:, None],
        ]
    )
    suffix = full[max_lag:].T @ full[max_lag:]
    x0 = 1 + max_lag * w_own
    ycol = full.shape[1] - 1
    stat = np.empty(len(lag_arr))
    df_denom = np.empty(len(lag_arr), dtype=np.int64)
    nobs = np.empty(len(lag_arr), dtype=np.int64)
    for i, p in enumerate(lag_arr):
        head = full[p:max_lag]
        gram = suffix + head.T @ head
        restricted = list(range(1 + p * w_own))
        xcols = list(range(x0, x0 + p))
        cols = restricted + xcols + [ycol]
        tail = _cholesky_tail(gram[np.ix_(cols, cols)])
        n = t_total - p
        k_u = len(cols) - 1
        if n - k_u < 1:
            raise InsufficientDataError(f"lag {p} needs more than {k_u} observations, got {n}")
        ssr_u = tail[-1] ** 2
        drop = float(tail[len(restricted) : -1] @ tail[len(restricted) : -1])
        stat[i] = drop / p / (ssr_u / (n - k_u))
        df_denom[i], nobs[i] = n - k_u, n
    # information criteria on the common sample, lag-major columns (y, controls, x) per lag
    order = [0]
    for j in range(1, max_lag + 1):
        order += [*range(1 + (j - 1) * w_own, 1 + j * w_own), x0 + j - 1]
    order.append(ycol)
    tail = _cholesky_tail(suffix[np.ix_(order, order)])
    n_common = t_total - max_lag
    beyond = np.cumsum((tail[:-1] ** 2)[::-1])[::-1]
    ks = 1 + (w_own + 1) * np.arange(1, max_lag + 1)
    ssr = tail[-1] ** 2 + np.append(beyond, 0.0)[ks]
    base = n_common * np.log(ssr / n_common)
    return {
        "stat": stat,
        "pvalue": stats.f.sf(stat, lag_arr, df_denom),
        "df_num": lag_arr,
        "df_denom": df_denom,
        "nobs": nobs,
        "aic": base + 2 * ks,
        "bic": base + np.log(n_common) * ks,
    }


@dataclass
class GrangerDirection:
    """Granger tests of one direction (``cause`` → ``effect``) at several lags."""

    cause: str
    effect: str
    table: pd.DataFrame
    lag: int
    lag_aic: int
    lag_bic: int
    hac_lags: int | None

    @property
    def stat(self) -> float:
        """Statistic at the headline lag."""
        return float(np.asarray(self.table.loc[self.lag, "stat"]))

    @property
    def pvalue(self) -> float:
        """p-value at the headline lag."""
        return float(np.asarray(self.table.loc[self.lag, "pvalue"]))

    @property
    def df(self) -> list[float]:
        """Degrees of freedom ``[num, denom]`` (``[p]`` for the chi2 Wald test)."""
        num = float(np.asarray(self.table.loc[self.lag, "df_num"]))
        if self.hac_lags is not None:
            return [num]
        return [num, float(np.asarray(self.table.loc[self.lag, "df_denom"]))]

    @property
    def nobs(self) -> int:
        """Observations of the headline regression."""
        return int(np.asarray(self.table.loc[self.lag, "nobs"]))

    @property
    def critical_values(self) -> dict[str, float]:
        """90/95/99% critical values of the reference distribution at the headline lag."""
        levels = [0.90, 0.95, 0.99]
        d = self.df
        vals = stats.chi2.ppf(levels, d[0]) if len(d) == 1 else stats.f.ppf(levels, d[0], d[1])
        return {"90%": float(vals[0]), "95%": float(vals[1]), "99%": float(vals[2])}

    def to_dict(self) -> dict[str, Any]:
        """JSON keys of this direction."""
        return {
            "cause": self.cause,
            "effect": self.effect,
            "null_hypothesis": f"{self.cause} does not Granger-cause {self.effect}",
            "test": "HAC Wald chi2" if self.hac_lags is not None else "SSR F",
            "lag": self.lag,
            "lag_aic": self.lag_aic,
            "lag_bic": self.lag_bic,
            "stat": self.stat,
            "pvalue": self.pvalue,
            "df": self.df,
            "nobs": self.nobs,
            "critical_values": self.critical_values,
            "lags": self.table.reset_index(),
        }


@dataclass
class GrangerResult(Result):
    """Granger tests in both directions; the top-level keys are those of A → B."""

    a: str
    b: str
    forward: GrangerDirection
    backward: GrangerDirection
    controls: list[str]
    selection: str
    start: pd.Timestamp
    end: pd.Timestamp
    calendar: str = "intersection"
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def stat(self) -> float:
        """Statistic of A → B at its headline lag."""
        return self.forward.stat

    @property
    def pvalue(self) -> float:
        """p-value of A → B at its headline lag."""
        return self.forward.pvalue

    @property
    def nobs(self) -> int:
        """Observations of the A → B headline regression."""
        return self.forward.nobs

    @property
    def null_hypothesis(self) -> str:
        """Null of the headline test."""
        return f"{self.a} does not Granger-cause {self.b}"

    def _payload(self) -> dict[str, Any]:
        fwd = self.forward.to_dict()
        return {
            "a": self.a,
            "b": self.b,
            "method": "OLS on lagged design (QR); "
            + ("Newey-West HAC Wald" if self.forward.hac_lags is not None else "SSR F test"),
            "calendar": self.calendar,
            "controls": self.controls,
            "selection": self.selection,
            "hac_lags": self.forward.hac_lags,
            "start": self.start,
            "end": self.end,
            "stat": fwd["stat"],
            "pvalue": fwd["pvalue"],
            "df": fwd["df"],
            "lag": fwd["lag"],
            "nobs": fwd["nobs"],
            "critical_values": fwd["critical_values"],
            "null_hypothesis": fwd["null_hypothesis"],
            "a_to_b": fwd,
            "b_to_a": self.backward.to_dict(),
        }

    def summary(self) -> Summary:
        """Return the printable summary (facts, tables, method notes)."""
        rows = []
        for d in (self.forward, self.backward):
            rows.append(
                [
                    f"{d.cause} -> {d.effect}",
                    d.lag,
                    d.lag_aic,
                    d.lag_bic,
                    d.stat,
                    "/".join(f"{v:g}" for v in d.df),
                    d.pvalue,
                    d.nobs,
                ]
            )
        head = Table(
            f"Headline lag chosen by {self.selection.upper()}",
            ["direction", "lag", "AIC lag", "BIC lag", "stat", "df", "p-value", "nobs"],
            rows,
        )
        per_lag = pd.DataFrame(
            {
                "lag": self.forward.table.index,
                f"p {self.a}->{self.b}": self.forward.table["pvalue"].to_numpy(),
                f"p {self.b}->{self.a}": self.backward.table["pvalue"].to_numpy(),
            }
        )
        test = (
            f"Newey-West HAC Wald chi2 ({self.forward.hac_lags} lags)"
            if self.forward.hac_lags is not None
            else "SSR F test (as statsmodels grangercausalitytests 'ssr_ftest')"
        )
        return Summary(
            title=f"Granger causality between {self.a} and {self.b}",
            facts=[
                ("sample", span_text(self.start, self.end, self.forward.nobs + self.forward.lag)),
                ("calendar", self.calendar),
                ("test", test),
                ("controls", ", ".join(self.controls) or "none"),
            ],
            tables=[head, Table.from_frame("p-values by lag", per_lag, index=False)],
            notes=[
                "Each lag p is tested on rows p+1..T; AIC/BIC compare lags on the common "
                "sample after the largest lag.",
                "Controls enter the restricted and unrestricted equations with the same lags.",
            ],
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the main table as a DataFrame."""
        out = []
        for d in (self.forward, self.backward):
            t = d.table.reset_index()
            t.insert(0, "direction", f"{d.cause}->{d.effect}")
            out.append(t)
        return pd.concat(out, ignore_index=True)


def granger_direction(
    y: np.ndarray,
    x: np.ndarray,
    lags: Sequence[int],
    controls: np.ndarray | None = None,
    *,
    hac_lags: int | None = None,
    selection: str = "aic",
    solver: str = "cholesky",
    cause: str = "x",
    effect: str = "y",
) -> GrangerDirection:
    """Run the tests of "x → y" at each of ``lags`` and select the headline lag.

    ``solver="cholesky"`` uses :func:`granger_lags_fast`; ``"qr"`` fits every lag with its own
    QR decomposition (:func:`granger_lag`), which the HAC test always uses.
    """
    check_option(solver, "solver", SOLVERS)
    lag_list = sorted({check_int(p, "lags", minimum=1) for p in lags})
    fast = granger_lags_fast(y, x, lag_list, controls)
    if hac_lags is None and solver == "cholesky":
        table = pd.DataFrame(
            {k: fast[k] for k in ("stat", "pvalue", "df_num", "df_denom", "nobs")},
            index=pd.Index(lag_list, name="lag"),
        )
    else:
        rows = [granger_lag(y, x, p, controls, hac_lags=hac_lags) for p in lag_list]
        table = pd.DataFrame(rows, index=pd.Index(lag_list, name="lag"))
        table = table.drop(columns="distribution")
    table["aic"] = fast["aic"][np.asarray(lag_list) - 1]
    table["bic"] = fast["bic"][np.asarray(lag_list) - 1]
    lag_aic = lag_list[int(np.argmin(table["aic"].to_numpy()))]
    lag_bic = lag_list[int(np.argmin(table["bic"].to_numpy()))]
    headline = {"aic": lag_aic, "bic": lag_bic, "max": lag_list[-1]}[selection]
    return GrangerDirection(cause, effect, table, headline, lag_aic, lag_bic, hac_lags)


def granger(
    a: pd.Series,
    b: pd.Series,
    *,
    max_lag: int = 10,
    lags: Sequence[int] | None = None,
    controls: pd.DataFrame | None = None,
    selection: str = "aic",
    hac: bool = False,
    hac_lags: int | None = None,
    calendar: str = "intersection",
    provenance: Provenance | None = None,
) -> GrangerResult:
    """Granger causality tests A → B and B → A.

    Parameters
    ----------
    a, b : Series
        Stationary series (returns or changes) on common dates.
    max_lag : int, default 10
        Test every lag ``1..max_lag`` (ignored when ``lags`` is given).
    lags : sequence of int, optional
        Test only these lag orders (e.g. ``[5, 10, 20]``).
    controls : DataFrame, optional
        Exogenous controls entering both equations with the same lags.
    selection : {"aic", "bic", "max"}, default "aic"
        How the headline lag is chosen.
    hac : bool, default False
        Use the Newey–West Wald test instead of the SSR F test.
    hac_lags : int, optional
        HAC lags (default Newey–West rule on the aligned sample size).

    Returns
    -------
    GrangerResult
    """
    check_option(selection, "selection", SELECTION)
    lag_list = (
        list(lags)
        if lags is not None
        else list(range(1, check_int(max_lag, "max_lag", minimum=1) + 1))
    )
    if not lag_list:
        raise InputError("lags must name at least one lag order")
    parts: list[pd.Series | pd.DataFrame] = [a.rename("__a"), b.rename("__b")]
    if controls is not None and controls.shape[1]:
        parts.append(controls)
    frame = pd.concat(parts, axis=1).dropna()
    ya, yb = frame["__a"].to_numpy(float), frame["__b"].to_numpy(float)
    ctrl = frame.drop(columns=["__a", "__b"]).to_numpy(float) if len(parts) == 3 else None
    if len(frame) < 3 * max(lag_list) + 10:
        raise InsufficientDataError(
            f"{len(frame)} observations are too few for lag {max(lag_list)}"
        )
    hl = None
    if hac:
        hl = newey_west_lags(len(frame)) if hac_lags is None else check_int(hac_lags, "hac_lags")
    names = (str(a.name), str(b.name))
    fwd = granger_direction(
        yb, ya, lag_list, ctrl, hac_lags=hl, selection=selection, cause=names[0], effect=names[1]
    )
    bwd = granger_direction(
        ya, yb, lag_list, ctrl, hac_lags=hl, selection=selection, cause=names[1], effect=names[0]
    )
    idx = frame.index
    return GrangerResult(
        a=names[0],
        b=names[1],
        forward=fwd,
        backward=bwd,
        controls=[] if ctrl is None else [str(c) for c in controls.columns],  # type: ignore[union-attr]
        selection=selection,
        start=index_bounds(idx)[0],
        end=index_bounds(idx)[1],
        calendar=calendar,
        provenance=provenance
        or Provenance(parameters={"lags": lag_list, "selection": selection, "hac": hac}),
    )
