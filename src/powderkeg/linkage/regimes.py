r"""Two-state Markov switching (Hamilton filter, Kim smoother) for correlation or volatility.

Model
-----
A series :math:`y_t` (a rolling correlation, or percent returns) switches between regimes
:math:`S_t \in \{0, 1\}` following a first-order Markov chain,

.. math::

    y_t = \mu_{S_t} + \sigma_{S_t}\,e_t, \quad e_t \sim N(0, 1), \qquad
    \Pr(S_t = j \mid S_{t-1} = i) = p_{ij},

the specification of statsmodels
``MarkovRegression(y, k_regimes=2, trend="c", switching_variance=True)``, with the chain
started from its stationary distribution. The Hamilton (1989) filter gives the likelihood and
the filtered probabilities :math:`\Pr(S_t \mid y_{1..t})`; the Kim (1994) smoother gives
:math:`\Pr(S_t \mid y_{1..T})`. Expected durations are :math:`1 / (1 - p_{ii})`.

Estimation
----------
Deterministic: EM (Hamilton 1990) from fixed quantile-based starting values, then
quasi-Newton (BFGS) on the exact log-likelihood with transformed parameters (logits of
:math:`p_{ii}`, logs of the variances). The filter and smoother are numba kernels
(:mod:`powderkeg.linkage._dcc_kernels`) with pure-Python twins; parameters and
log-likelihood match statsmodels (tested).

Regimes are labelled so that regime 1 is the *high* one: higher mean for ``on="corr"``
(a high-correlation regime), higher variance for ``on="vol"`` (a high-volatility regime).

References
----------
Hamilton, J. D. (1989). A new approach to the economic analysis of nonstationary time series
and the business cycle. *Econometrica* 57(2), 357-384.
Hamilton, J. D. (1990). Analysis of time series subject to changes in regime. *Journal of
Econometrics* 45(1-2), 39-70.
Kim, C.-J. (1994). Dynamic linear models with Markov-switching. *Journal of Econometrics*
60(1-2), 1-22.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from powderkeg._validation import check_int, check_option
from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.linkage import _dcc_kernels as kern
from powderkeg.results import Provenance, Result, Summary, Table

ON = ("corr", "vol")
ORDER_BY = ("mean", "variance")
MIN_OBS = 50


def _stationary(P: np.ndarray) -> np.ndarray:
    """Stationary distribution of a 2 x 2 transition matrix."""
    p01, p10 = P[0, 1], P[1, 0]
    total = p01 + p10
    if total <= 0:
        return np.array([0.5, 0.5])
    return np.array([p10 / total, p01 / total])


def _transition(p00: float, p11: float) -> np.ndarray:
    return np.array([[p00, 1.0 - p00], [1.0 - p11, p11]])


@dataclass(frozen=True)
class _Filtered:
    loglik: float
    filtered: np.ndarray
    predicted: np.ndarray
    smoothed: np.ndarray


def _filter(y: np.ndarray, mu: np.ndarray, var: np.ndarray, P: np.ndarray) -> _Filtered:
    T = y.shape[0]
    filt, pred, smooth = np.empty((T, 2)), np.empty((T, 2)), np.empty((T, 2))
    ll = kern.hamilton_filter(y, mu, var, P, _stationary(P), filt, pred)
    kern.kim_smoother(P, filt, pred, smooth)
    return _Filtered(float(ll), filt, pred, smooth)


def _unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p00, p11 logits; mu0, mu1; log var0, log var1) -> (P, mu, var)."""
    p = 1.0 / (1.0 + np.exp(-theta[:2]))
    return _transition(p[0], p[1]), theta[2:4].copy(), np.exp(theta[4:6])


def _pack(P: np.ndarray, mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    p = np.clip(np.array([P[0, 0], P[1, 1]]), 1e-8, 1 - 1e-8)
    return np.concatenate([np.log(p / (1 - p)), mu, np.log(var)])


def _em(
    y: np.ndarray, mu: np.ndarray, var: np.ndarray, P: np.ndarray, iters: int, tol: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """EM iterations (closed-form M-step; the stationary start is not re-estimated)."""
    floor = 1e-8 * float(np.var(y)) + 1e-300
    ll_old = -np.inf
    for _ in range(iters):
        res = _filter(y, mu, var, P)
        xi = res.smoothed
        # joint Pr(S_{t-1}=i, S_t=j | Y)
        ratio = np.divide(
            xi[1:], res.predicted[1:], out=np.zeros_like(xi[1:]), where=res.predicted[1:] > 0
        )
        joint = res.filtered[:-1, :, None] * P[None, :, :] * ratio[:, None, :]
        trans = joint.sum(axis=0)
        P = trans / trans.sum(axis=1, keepdims=True)
        w = xi.sum(axis=0)
        mu = (xi * y[:, None]).sum(axis=0) / w
        var = np.maximum((xi * (y[:, None] - mu[None, :]) ** 2).sum(axis=0) / w, floor)
        if abs(res.loglik - ll_old) < tol * (1.0 + abs(res.loglik)):
            ll_old = res.loglik
            break
        ll_old = res.loglik
    return mu, var, P, ll_old


class MarkovSwitching:
    r"""Two-state Markov-switching mean and variance (Hamilton 1989).

    Parameters
    ----------
    y : Series
        The series (date-indexed), no missing values, at least 50 observations.
    order_by : {"mean", "variance"}
        Which parameter labels regime 1 as the high regime.

    Examples
    --------
    >>> res = MarkovSwitching(rolling_corr, order_by="mean").fit()  # doctest: +SKIP
    >>> res.smoothed[1].tail()  # doctest: +SKIP
    """

    def __init__(self, y: pd.Series, order_by: str = "mean") -> None:
        if not isinstance(y, pd.Series):
            y = pd.Series(np.asarray(y, dtype=np.float64))
        y = y.astype("float64")
        if not np.all(np.isfinite(y.to_numpy())):
            raise InputError("y contains missing or infinite values")
        if len(y) < MIN_OBS:
            raise InsufficientDataError(
                f"Markov switching needs at least {MIN_OBS} observations, got {len(y)}"
            )
        if float(np.var(y.to_numpy())) <= 0:
            raise InputError("y is constant; there is nothing to switch")
        self.y = y
        self.order_by = check_option(order_by, "order_by", ORDER_BY)

    def _starts(self, y: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        v = float(np.var(y))
        q = np.quantile(y, [0.25, 0.75])
        P = _transition(0.95, 0.95)
        return [
            (np.array([q[0], q[1]]), np.array([v / 4, v / 4]), P.copy()),
            (np.array([np.mean(y), np.mean(y)]), np.array([v / 3, 3 * v]), P.copy()),
        ]

    def fit(self, provenance: Provenance | None = None) -> RegimeResult:
        """Estimate by EM then BFGS on the exact likelihood (deterministic).

        Returns
        -------
        RegimeResult
        """
        y = np.ascontiguousarray(self.y.to_numpy(), dtype=np.float64)
        best: tuple[float, np.ndarray] | None = None
        for mu0, var0, P0 in self._starts(y):
            mu, var, P, _ = _em(y, mu0, var0, P0, iters=200, tol=1e-8)

            def negll(theta: np.ndarray) -> float:
                Pm, m, v = _unpack(theta)
                T = y.shape[0]
                f, p = np.empty((T, 2)), np.empty((T, 2))
                val = kern.hamilton_filter(y, m, v, Pm, _stationary(Pm), f, p)
                return -float(val) if np.isfinite(val) else 1e300

            opt = optimize.minimize(
                negll, _pack(P, mu, var), method="BFGS", options={"gtol": 1e-7, "maxiter": 500}
            )
            if best is None or opt.fun < best[0]:
                best = (float(opt.fun), np.asarray(opt.x))
        if best is None:  # pragma: no cover - _starts is never empty
            raise InputError("no starting values")
        P, mu, var = _unpack(best[1])
        key = mu if self.order_by == "mean" else var
        if key[0] > key[1]:
            perm = np.array([1, 0])
            P, mu, var = P[np.ix_(perm, perm)], mu[perm], var[perm]
        res = _filter(y, mu, var, P)
        idx = self.y.index
        return RegimeResult(
            y=self.y,
            order_by=self.order_by,
            means=mu,
            variances=var,
            transition=P,
            loglikelihood=res.loglik,
            filtered=pd.DataFrame(res.filtered, index=idx, columns=[0, 1]),
            smoothed=pd.DataFrame(res.smoothed, index=idx, columns=[0, 1]),
            provenance=provenance or Provenance(parameters={"order_by": self.order_by}),
        )


@dataclass(frozen=True, eq=False)
class RegimeResult(Result):
    """A fitted two-state Markov-switching model.

    Attributes
    ----------
    y : Series
        The modelled series.
    means, variances : ndarray of shape (2,)
        Regime means and variances (regime 1 is the high regime).
    transition : ndarray of shape (2, 2)
        ``transition[i, j]`` = Pr(S_t = j | S_{t-1} = i).
    loglikelihood : float
    filtered, smoothed : DataFrame
        Regime probabilities (columns 0 and 1).
    extras : dict
        Context added by the caller (``on``, ``window``, symbols, regime correlations).
    """

    y: pd.Series
    order_by: str
    means: np.ndarray
    variances: np.ndarray
    transition: np.ndarray
    loglikelihood: float
    filtered: pd.DataFrame
    smoothed: pd.DataFrame
    provenance: Provenance = field(default_factory=Provenance)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def nobs(self) -> int:
        """Number of observations."""
        return len(self.y)

    @property
    def durations(self) -> np.ndarray:
        """Expected regime durations :math:`1/(1-p_{ii})` in observations."""
        stay = np.diag(self.transition)
        return np.asarray(1.0 / np.maximum(1.0 - stay, 1e-12))

    @property
    def regime(self) -> pd.Series:
        """Most likely regime per date (smoothed probability of regime 1 above 0.5)."""
        return (self.smoothed[1] > 0.5).astype(int).rename("regime")

    def switches(self) -> list[dict[str, Any]]:
        """Dates where the smoothed most likely regime changes, with the new regime."""
        reg = self.regime
        change = reg.diff().fillna(0) != 0
        return [{"date": d, "to": int(reg.loc[d])} for d in reg.index[change.to_numpy()]]

    def with_extras(self, **extras: Any) -> RegimeResult:
        """Return a copy with ``extras`` merged in (the result stays immutable)."""
        return RegimeResult(
            y=self.y,
            order_by=self.order_by,
            means=self.means,
            variances=self.variances,
            transition=self.transition,
            loglikelihood=self.loglikelihood,
            filtered=self.filtered,
            smoothed=self.smoothed,
            provenance=self.provenance,
            extras={**self.extras, **extras},
        )

    def _regime_table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "mean": self.means,
                "variance": self.variances,
                "stay_probability": np.diag(self.transition),
                "expected_duration": self.durations,
                "share_of_time": self.smoothed.mean().to_numpy(),
            },
            index=pd.Index(["low (0)", "high (1)"], name="regime"),
        )

    def _payload(self) -> dict[str, Any]:
        idx = self.y.index
        return {
            **{k: v for k, v in self.extras.items() if k != "label"},
            "nobs": self.nobs,
            "start": idx[0] if len(idx) else None,
            "end": idx[-1] if len(idx) else None,
            "means": [float(v) for v in self.means],
            "variances": [float(v) for v in self.variances],
            "transition": [[float(v) for v in row] for row in self.transition],
            "durations": [float(v) for v in self.durations],
            "loglikelihood": self.loglikelihood,
            "regime_now": int(self.regime.iloc[-1]),
            "prob_high_now": float(self.smoothed[1].iloc[-1]),
            "filtered_high_now": float(self.filtered[1].iloc[-1]),
            "switches": self.switches(),
            "series": self.smoothed[1],
            "filtered": self.filtered[1],
            "y": self.y,
        }

    def summary(self) -> Summary:
        """Regime parameters, durations, current regime and switch dates."""
        label = self.extras.get("label", "series")
        idx = self.y.index
        facts: list[tuple[str, Any]] = [
            ("series", label),
            (
                "sample",
                f"{idx[0]:%Y-%m-%d} to {idx[-1]:%Y-%m-%d}"
                if isinstance(idx, pd.DatetimeIndex)
                else f"{len(idx)} observations",
            ),
            ("nobs", self.nobs),
            ("calendar", self.extras.get("calendar", "n/a")),
            ("log-likelihood", self.loglikelihood),
            ("regime now", "high (1)" if int(self.regime.iloc[-1]) else "low (0)"),
            (
                "Pr(high) smoothed / filtered now",
                f"{self.smoothed[1].iloc[-1]:.3f} / {self.filtered[1].iloc[-1]:.3f}",
            ),
            ("regime switches", len(self.switches())),
        ]
        tables = [Table.from_frame("Regimes", self._regime_table())]
        sw = self.switches()[-10:]
        if sw:
            tables.append(
                Table(
                    "Last switches",
                    ["date", "to"],
                    [[s["date"], "high" if s["to"] else "low"] for s in sw],
                )
            )
        rc = self.extras.get("regime_correlation")
        if rc:
            tables.append(
                Table(
                    "Return correlation by regime",
                    ["regime", "correlation"],
                    [["low (0)", rc["low"]], ["high (1)", rc["high"]]],
                )
            )
        notes = [
            "Two-state Hamilton filter / Kim smoother, switching mean and variance; "
            "regime 1 is the high-"
            + ("mean" if self.order_by == "mean" else "variance")
            + " regime."
        ]
        return Summary(f"Markov regimes: {label}", facts, tables, notes)

    def to_frame(self) -> pd.DataFrame:
        """The series with filtered and smoothed probabilities of regime 1."""
        return pd.DataFrame(
            {
                "y": self.y,
                "filtered_high": self.filtered[1],
                "smoothed_high": self.smoothed[1],
                "regime": self.regime,
            }
        )

    def plot(self) -> Any:
        """Plotly figure: the series and the smoothed probability of the high regime."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=2, cols=1, shared_xaxes=True)
        fig.add_trace(go.Scatter(x=self.y.index, y=self.y, name="series"), row=1, col=1)
        fig.add_trace(
            go.Scatter(x=self.y.index, y=self.smoothed[1], name="Pr(high)", fill="tozeroy"),
            row=2,
            col=1,
        )
        fig.update_layout(title=f"Markov regimes: {self.extras.get('label', 'series')}")
        return fig


def weighted_correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Pearson correlation of ``x`` and ``y`` with observation weights ``w``."""
    w = w / w.sum()
    mx, my = np.sum(w * x), np.sum(w * y)
    cov = np.sum(w * (x - mx) * (y - my))
    return float(cov / np.sqrt(np.sum(w * (x - mx) ** 2) * np.sum(w * (y - my) ** 2)))


def regimes(
    returns: pd.DataFrame,
    a: str,
    b: str,
    window: int = 60,
    on: str = "corr",
    provenance: Provenance | None = None,
) -> RegimeResult:
    """Markov regimes of the link between two assets.

    Parameters
    ----------
    returns : DataFrame
        Aligned log returns with columns ``a`` and ``b``.
    a, b : str
        The two assets.
    window : int, default 60
        Rolling window of the Pearson correlation (``on="corr"``).
    on : {"corr", "vol"}
        ``corr``: switching mean and variance of the rolling correlation of ``a`` and ``b``
        (regime 1 = high correlation). ``vol``: switching variance of ``a``'s percent
        returns (regime 1 = high volatility), with the return correlation of ``a`` and ``b``
        weighted by each regime's smoothed probability.

    Returns
    -------
    RegimeResult
    """
    check_option(on, "on", ON)
    window = check_int(window, "window", minimum=5)
    for s in (a, b):
        if s not in returns.columns:
            raise InputError(f"{s!r} is not a column of returns")
    pair = returns[[a, b]].dropna()
    if on == "corr":
        y = pair[a].rolling(window).corr(pair[b]).dropna()
        label = f"{window}-observation rolling correlation {a}~{b}"
        order_by = "mean"
    else:
        y = 100.0 * pair[a]
        label = f"{a} percent log returns (volatility regimes)"
        order_by = "variance"
    res = MarkovSwitching(y.rename(label), order_by=order_by).fit(provenance=provenance)
    extras: dict[str, Any] = {"on": on, "symbols": [a, b], "label": label}
    if on == "corr":
        extras["window"] = window
    else:
        xs, ys = pair[a].to_numpy(), pair[b].to_numpy()
        extras["regime_correlation"] = {
            "low": weighted_correlation(xs, ys, res.smoothed[0].to_numpy()),
            "high": weighted_correlation(xs, ys, res.smoothed[1].to_numpy()),
        }
    return res.with_extras(**extras)
