r"""Event study with the market model, for several assets around one date.

Day 0 is the first date of the (aligned) calendar on or after the event date; the event window
is days :math:`\tau_1..\tau_2` and the estimation window the :math:`L` dates ending
``gap`` dates before :math:`\tau_1`. For each asset :math:`i` the market model
:math:`r_{it} = \alpha_i + \beta_i m_t + \varepsilon_{it}` is fitted by OLS on the estimation
window, with :math:`\hat\sigma_i^2 = \mathrm{SSR}_i/(L-2)`, and abnormal returns are
:math:`AR_{it} = r_{it} - \hat\alpha_i - \hat\beta_i m_t`.

Variances include the prediction error of the estimated parameters (Campbell, Lo and
MacKinlay, 1997, §4.4): with :math:`X` the estimation design and :math:`X^*` the event-window
design,

.. math:: V_i = \hat\sigma_i^2 \left(I + X^*(X'X)^{-1}X^{*\prime}\right), \qquad
          \operatorname{Var}(AR_{it}) = (V_i)_{tt}, \qquad
          \operatorname{Var}(CAR_i(\tau_1,\tau)) = \iota' V_i^{[\tau_1..\tau]} \iota,

so :math:`\operatorname{Var}(AR_{it}) = \hat\sigma_i^2\bigl(1 + 1/L + (m_t-\bar m)^2 /
\sum_{s}(m_s-\bar m)^2\bigr)`. Each :math:`t = AR/\sqrt{\operatorname{Var}}` is referred to
:math:`t_{L-2}`.

Cross-sectional tests over the :math:`N` assets of the null "mean CAR = 0":

* cross-sectional t (Brown and Warner, 1985): :math:`\overline{CAR}/(s_{CAR}/\sqrt N)
  \sim t_{N-1}`;
* standardised (Patell, 1976): :math:`Z = \sum_i SCAR_i / \sqrt{N (L-2)/(L-4)}` with
  :math:`SCAR_i = CAR_i/\sqrt{\operatorname{Var}(CAR_i)}`.

Both assume independent abnormal returns across assets; on one common date they are
correlated, so treat the cross-sectional p-values as optimistic.

References
----------
Campbell, J. Y., Lo, A. W. and MacKinlay, A. C. (1997). *The Econometrics of Financial
Markets*, ch. 4. Patell, J. M. (1976). *Journal of Accounting Research* 14(2), 246–276.
Brown, S. J. and Warner, J. B. (1985). *Journal of Financial Economics* 14(1), 3–31.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from powderkeg._validation import check_date, check_int
from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.results import Provenance, Result, Summary, Table


@dataclass
class EventStudyResult(Result):
    """Abnormal and cumulative abnormal returns with per-asset and cross-sectional tests."""

    event_date: pd.Timestamp
    day0: pd.Timestamp
    market: str
    window: tuple[int, int]
    estimation: int
    gap: int
    paths: pd.DataFrame
    assets: pd.DataFrame
    stat: float
    pvalue: float
    patell_z: float
    patell_pvalue: float
    estimation_start: pd.Timestamp
    estimation_end: pd.Timestamp
    calendar: str = "intersection"
    calendar_note: str = ""
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def nobs(self) -> int:
        """Number of assets in the cross-section."""
        return len(self.assets)

    def _payload(self) -> dict[str, Any]:
        df = max(self.nobs - 1, 1)
        crit = stats.t.ppf([0.95, 0.975, 0.995], df)
        return {
            "method": "market model OLS; CLM prediction-error variance",
            "calendar": self.calendar,
            "calendar_note": self.calendar_note,
            "event_date": self.event_date,
            "day0": self.day0,
            "market": self.market,
            "window": list(self.window),
            "estimation": self.estimation,
            "estimation_start": self.estimation_start,
            "estimation_end": self.estimation_end,
            "gap": self.gap,
            "assets": self.assets.reset_index(),
            "paths": self.paths,
            "stat": self.stat,
            "pvalue": self.pvalue,
            "patell_z": self.patell_z,
            "patell_pvalue": self.patell_pvalue,
            "critical_values": {"90%": crit[0], "95%": crit[1], "99%": crit[2]},
            "nobs": self.nobs,
            "null_hypothesis": "mean cumulative abnormal return across assets is zero",
        }

    def summary(self) -> Summary:
        """Return the printable summary (facts, tables, method notes)."""
        t1, t2 = self.window
        view = self.assets[["beta", "ar_day0", "t_day0", "car", "t_car", "pvalue"]]
        wide = self.paths.pivot(index=["tau", "date"], columns="asset", values="ar")
        return Summary(
            title=f"Event study around {self.event_date:%Y-%m-%d} (market {self.market})",
            facts=[
                ("day 0", f"{self.day0:%Y-%m-%d}"),
                ("event window", f"[{t1}, {t2}]"),
                (
                    "estimation window",
                    f"{self.estimation_start:%Y-%m-%d} to {self.estimation_end:%Y-%m-%d} "
                    f"({self.estimation} returns)",
                ),
                ("calendar", self.calendar),
                ("mean CAR", float(self.assets["car"].mean())),
                (f"cross-sectional t ({self.nobs - 1} df)", self.stat),
                ("p-value", self.pvalue),
                ("Patell Z", self.patell_z),
                ("Patell p-value", self.patell_pvalue),
            ],
            tables=[
                Table.from_frame(f"CAR[{t1},{t2}] by asset", view),
                Table.from_frame("Abnormal returns by day", wide),
            ],
            notes=[
                "t-statistics use the estimation-window residual variance with the "
                "prediction-error adjustment sigma^2 (I + X*(X'X)^-1 X*').",
                self.calendar_note,
                "Abnormal returns of several assets on one date are cross-correlated; the "
                "cross-sectional tests assume independence and are optimistic.",
            ],
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the main table as a DataFrame."""
        return self.paths.copy()


def event_study(
    returns: pd.DataFrame,
    market: pd.Series,
    date: Any,
    *,
    estimation: int = 120,
    window: tuple[int, int] = (-1, 5),
    gap: int = 0,
    calendar: str = "intersection",
    calendar_note: str = "",
    provenance: Provenance | None = None,
) -> EventStudyResult:
    r"""Market-model abnormal returns of every column of ``returns`` around ``date``.

    Parameters
    ----------
    returns : DataFrame
        Asset returns (one column per asset) on the market's dates.
    market : Series
        Market returns.
    date : date-like
        Event date; day 0 is the first aligned date on or after it.
    estimation : int, default 120
        Length :math:`L` of the estimation window (returns).
    window : (int, int), default (-1, 5)
        Event window :math:`[\tau_1, \tau_2]` in aligned dates relative to day 0.
    gap : int, default 0
        Dates left out between the estimation window and the event window.

    Returns
    -------
    EventStudyResult
    """
    event = check_date(date, "date")
    est = check_int(estimation, "estimation", minimum=10)
    gap = check_int(gap, "gap", minimum=0)
    t1, t2 = (int(window[0]), int(window[1]))
    if t1 > t2:
        raise InputError(f"window must be (start, end) with start <= end, got {window}")
    frame = pd.concat([returns, market.rename("__m")], axis=1).dropna()
    idx = frame.index
    pos0 = int(idx.searchsorted(event))
    if pos0 >= len(idx):
        raise InsufficientDataError(f"no aligned data on or after {event:%Y-%m-%d}")
    first, last = pos0 + t1, pos0 + t2
    est_end = first - gap
    est_start = est_end - est
    if est_start < 0:
        raise InsufficientDataError(
            f"the estimation window needs {est} returns before day {t1}; only {max(est_end, 0)}"
        )
    if last >= len(idx):
        raise InsufficientDataError(
            f"the event window ends {last - len(idx) + 1} dates after the last aligned date"
        )
    m = frame["__m"].to_numpy(float)
    x_est = np.column_stack([np.ones(est), m[est_start:est_end]])
    x_evt = np.column_stack([np.ones(last - first + 1), m[first : last + 1]])
    xtx_inv = np.linalg.inv(x_est.T @ x_est)
    lever = x_evt @ xtx_inv @ x_evt.T
    taus = np.arange(t1, t2 + 1)
    dates = idx[first : last + 1]
    dof = est - 2
    paths, rows = [], {}
    for col in returns.columns:
        r = frame[col].to_numpy(float)
        coef = xtx_inv @ (x_est.T @ r[est_start:est_end])
        resid = r[est_start:est_end] - x_est @ coef
        sigma2 = float(resid @ resid) / dof
        cov = sigma2 * (np.eye(len(taus)) + lever)
        expected = x_evt @ coef
        ar = r[first : last + 1] - expected
        car = np.cumsum(ar)
        var_car = np.array([cov[: j + 1, : j + 1].sum() for j in range(len(taus))])
        t_ar = ar / np.sqrt(np.diag(cov))
        t_car = car / np.sqrt(var_car)
        paths.append(
            pd.DataFrame(
                {
                    "asset": col,
                    "tau": taus,
                    "date": dates,
                    "return": r[first : last + 1],
                    "expected": expected,
                    "ar": ar,
                    "t_ar": t_ar,
                    "car": car,
                    "t_car": t_car,
                }
            )
        )
        i0 = int(np.flatnonzero(taus == 0)[0]) if t1 <= 0 <= t2 else None
        rows[col] = {
            "alpha": float(coef[0]),
            "beta": float(coef[1]),
            "sigma": float(np.sqrt(sigma2)),
            "ar_day0": float(ar[i0]) if i0 is not None else np.nan,
            "t_day0": float(t_ar[i0]) if i0 is not None else np.nan,
            "car": float(car[-1]),
            "se_car": float(np.sqrt(var_car[-1])),
            "t_car": float(t_car[-1]),
            "pvalue": float(2 * stats.t.sf(abs(t_car[-1]), dof)),
        }
    assets = pd.DataFrame.from_dict(rows, orient="index")
    assets.index.name = "asset"
    n_assets = len(assets)
    cars = assets["car"].to_numpy()
    if n_assets >= 2 and np.std(cars, ddof=1) > 0:
        stat = float(cars.mean() / (np.std(cars, ddof=1) / np.sqrt(n_assets)))
        pvalue = float(2 * stats.t.sf(abs(stat), n_assets - 1))
    else:
        stat, pvalue = float("nan"), float("nan")
    scar = assets["t_car"].to_numpy()
    patell_scale = np.sqrt(n_assets * dof / (dof - 2)) if dof > 2 else np.nan
    patell = float(scar.sum() / patell_scale)
    return EventStudyResult(
        event_date=event,
        day0=pd.Timestamp(idx[pos0]),
        market=str(market.name),
        window=(t1, t2),
        estimation=est,
        gap=gap,
        paths=pd.concat(paths, ignore_index=True),
        assets=assets,
        stat=stat,
        pvalue=pvalue,
        patell_z=patell,
        patell_pvalue=float(2 * stats.norm.sf(abs(patell))),
        estimation_start=pd.Timestamp(idx[est_start]),
        estimation_end=pd.Timestamp(idx[est_end - 1]),
        calendar=calendar,
        calendar_note=calendar_note,
        provenance=provenance
        or Provenance(parameters={"estimation": est, "window": [t1, t2], "gap": gap}),
    )
