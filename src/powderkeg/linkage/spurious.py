r"""Spurious-correlation guard: when is a level correlation evidence of linkage.

Two independent random walks routinely show level correlations of :math:`\pm 0.9` over a few
months (Granger & Newbold 1974; Phillips 1986): the correlation of trending levels measures
the shared drift, not a link. The guard puts side by side, over the same window:

* the correlation of price **levels** and of **log returns**;
* unit-root tests on each log price: ADF (:math:`H_0`: unit root) and KPSS
  (:math:`H_0`: level-stationary), from statsmodels;
* the Engle-Granger cointegration test (:math:`H_0`: no cointegration), in both directions;
* a lead/lag scan of the return correlation :math:`\operatorname{corr}(r^A_t, r^B_{t+k})` for
  :math:`k = -K..K`, with p-values adjusted for the :math:`2K+1` lags tried (Holm's step-down
  method, which controls the family-wise error rate like Bonferroni and is never less
  powerful; Bonferroni is reported too);

and states a plain-language verdict.

References
----------
Granger, C. W. J. & Newbold, P. (1974). Spurious regressions in econometrics. *Journal of
Econometrics* 2(2), 111-120.
Phillips, P. C. B. (1986). Understanding spurious regressions in econometrics. *Journal of
Econometrics* 33(3), 311-340.
Engle, R. F. & Granger, C. W. J. (1987). Co-integration and error correction. *Econometrica*
55(2), 251-276.
Kwiatkowski, D., Phillips, P. C. B., Schmidt, P. & Shin, Y. (1992). Testing the null hypothesis
of stationarity against the alternative of a unit root. *Journal of Econometrics* 54, 159-178.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics* 6(2), 65-70.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import check_float, check_int
from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.linkage.correlation import aligned_pair, corr_pvalue, fisher_ci
from powderkeg.results import Provenance, Result, Summary, Table
from powderkeg.stats import holm

_LEVEL_KEYS = {"1%": "99%", "5%": "95%", "10%": "90%", "2.5%": "97.5%"}


def _cv(raw: Any) -> dict[str, float]:
    return {_LEVEL_KEYS.get(str(k), str(k)): float(v) for k, v in dict(raw).items()}


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test in the project's vocabulary.

    Attributes
    ----------
    name : str
        ``"ADF"``, ``"KPSS"`` or ``"Engle-Granger"``.
    stat, pvalue : float
    critical_values : dict
        Keyed ``"90%"``, ``"95%"``, ``"99%"`` (and ``"97.5%"`` for KPSS).
    nobs : int
        Observations in the test regression.
    null_hypothesis : str
    lags : int or None
    regression : str
        Deterministic terms (``"c"``: constant).
    pvalue_note : str
        Set when the p-value is a table bound (KPSS interpolates between 0.01 and 0.10).
    """

    name: str
    stat: float
    pvalue: float
    critical_values: dict[str, float]
    nobs: int
    null_hypothesis: str
    lags: int | None = None
    regression: str = "c"
    pvalue_note: str = ""

    def rejects(self, alpha: float = 0.05) -> bool:
        """True when the null is rejected at level ``alpha``."""
        return bool(self.pvalue < alpha)

    def to_dict(self) -> dict[str, Any]:
        """JSON keys ``stat``, ``pvalue``, ``critical_values``, ``nobs`` and the rest."""
        return {
            "test": self.name,
            "stat": self.stat,
            "pvalue": self.pvalue,
            "critical_values": self.critical_values,
            "nobs": self.nobs,
            "lags": self.lags,
            "regression": self.regression,
            "null_hypothesis": self.null_hypothesis,
            "pvalue_note": self.pvalue_note or None,
        }


def adf_test(y: pd.Series | np.ndarray, regression: str = "c", autolag: str = "AIC") -> TestResult:
    r"""Augmented Dickey-Fuller test (statsmodels ``adfuller``).

    Regression :math:`\Delta y_t = \alpha + \gamma y_{t-1} + \sum_{i=1}^{p}\phi_i\Delta y_{t-i}
    + \varepsilon_t`, :math:`H_0: \gamma = 0` (unit root); lag order :math:`p` chosen by
    ``autolag`` up to :math:`12 (n/100)^{1/4}`; MacKinnon (2010) p-values.
    """
    from statsmodels.tsa.stattools import adfuller

    arr = np.asarray(y, dtype=np.float64)
    res = adfuller(arr, regression=regression, autolag=autolag, result_object=True)
    return TestResult(
        "ADF",
        float(res.statistic),
        float(res.pvalue),
        _cv(res.critical_values),
        int(res.nobs),
        "unit root (non-stationary)",
        lags=int(res.lags),
        regression=regression,
    )


def kpss_test(y: pd.Series | np.ndarray, regression: str = "c") -> TestResult:
    r"""KPSS test of level stationarity (statsmodels ``kpss``, automatic bandwidth).

    :math:`\eta = T^{-2}\sum_t S_t^2 / \hat\sigma^2_{LR}` with :math:`S_t` the partial sums of
    the demeaned series; :math:`H_0`: stationary. The p-value is interpolated in the KPSS
    (1992) table and clipped to [0.01, 0.10]; ``pvalue_note`` says when it is a bound.
    """
    from statsmodels.tools.sm_exceptions import InterpolationWarning
    from statsmodels.tsa.stattools import kpss

    arr = np.asarray(y, dtype=np.float64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InterpolationWarning)
        res = kpss(arr, regression=regression, nlags="auto", result_object=True)
    note = ""
    if any(issubclass(w.category, InterpolationWarning) for w in caught):
        note = (
            "p-value is a table bound: the true p-value is smaller"
            if res.pvalue <= 0.01
            else "p-value is a table bound: the true p-value is larger"
        )
    return TestResult(
        "KPSS",
        float(res.statistic),
        float(res.pvalue),
        _cv(res.critical_values),
        len(arr),
        "stationary around a constant",
        lags=int(res.lags),
        regression=regression,
        pvalue_note=note,
    )


def engle_granger(
    y: pd.Series | np.ndarray, x: pd.Series | np.ndarray, trend: str = "c"
) -> TestResult:
    r"""Engle-Granger two-step cointegration test (statsmodels ``coint``).

    Regress :math:`y_t = a + b x_t + u_t`, then an ADF test (lags by AIC) on :math:`\hat u_t`
    with MacKinnon (2010) critical values for cointegrating residuals; :math:`H_0`: no
    cointegration.
    """
    from statsmodels.tsa.stattools import coint

    ya = np.asarray(y, dtype=np.float64)
    xa = np.asarray(x, dtype=np.float64)
    res = coint(ya, xa, trend=trend, autolag="aic", return_results=True)
    crit = np.asarray(res.critical_values, dtype=np.float64)
    return TestResult(
        "Engle-Granger",
        float(res.coint_t),
        float(res.pvalue),
        {"99%": float(crit[0]), "95%": float(crit[1]), "90%": float(crit[2])},
        len(ya),
        "no cointegration",
        regression=trend,
    )


@dataclass(frozen=True)
class LeadLagScan:
    r"""Return correlations :math:`\operatorname{corr}(r^A_t, r^B_{t+k})` across lags.

    A positive lag :math:`k` means A's return today goes with B's return :math:`k` periods
    later (A leads). p-values test :math:`\rho_k = 0` (t test); ``p_holm`` and
    ``p_bonferroni`` adjust them for the number of lags tried.
    """

    lags: np.ndarray
    corr: np.ndarray
    n: np.ndarray
    pvalue: np.ndarray
    p_holm: np.ndarray
    p_bonferroni: np.ndarray

    @property
    def best(self) -> int:
        """Index of the lag with the smallest raw p-value."""
        return int(np.nanargmin(self.pvalue))

    def frame(self) -> pd.DataFrame:
        """One row per lag."""
        return pd.DataFrame(
            {
                "lag": self.lags,
                "corr": self.corr,
                "n": self.n,
                "pvalue": self.pvalue,
                "p_holm": self.p_holm,
                "p_bonferroni": self.p_bonferroni,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form, with the correction named."""
        b = self.best
        return {
            "correction": "Holm step-down (also Bonferroni) over the lags tried",
            "lags_tried": len(self.lags),
            "best_lag": int(self.lags[b]),
            "best_corr": float(self.corr[b]),
            "best_p_holm": float(self.p_holm[b]),
            "table": self.frame().to_dict(orient="records"),
        }


def lead_lag_scan(ra: pd.Series, rb: pd.Series, max_lag: int = 5) -> LeadLagScan:
    """Scan the return correlation over lags ``-max_lag .. max_lag`` (rows of the aligned data).

    Parameters
    ----------
    ra, rb : Series
        Returns on the same index.
    max_lag : int, default 5

    Returns
    -------
    LeadLagScan
    """
    max_lag = check_int(max_lag, "max_lag", minimum=0)
    a = np.asarray(ra, dtype=np.float64)
    b = np.asarray(rb, dtype=np.float64)
    if len(a) != len(b):
        raise InputError("ra and rb must have the same length")
    lags = np.arange(-max_lag, max_lag + 1)
    corr = np.full(len(lags), np.nan)
    n = np.zeros(len(lags), dtype=np.int64)
    pv = np.full(len(lags), np.nan)
    for i, k in enumerate(lags):
        x, y = (a[: len(a) - k], b[k:]) if k >= 0 else (a[-k:], b[: len(b) + k])
        n[i] = len(x)
        if len(x) >= 4 and np.std(x) > 0 and np.std(y) > 0:
            corr[i] = float(np.corrcoef(x, y)[0, 1])
            pv[i] = corr_pvalue(corr[i], float(len(x)))
    if np.all(np.isnan(pv)):
        raise InsufficientDataError(f"too few returns ({len(a)}) for a lead/lag scan")
    filled = np.where(np.isnan(pv), 1.0, pv)
    return LeadLagScan(lags, corr, n, pv, holm(filled), np.minimum(1.0, filled * len(lags)))


def _classify(adf: TestResult, kpss_res: TestResult, alpha: float) -> str:
    if not adf.rejects(alpha) and kpss_res.rejects(alpha):
        return "trending (unit root)"
    if adf.rejects(alpha) and not kpss_res.rejects(alpha):
        return "stationary"
    if not adf.rejects(alpha):
        return "probably trending (ADF cannot reject a unit root; KPSS cannot reject stationarity)"
    return "inconclusive (ADF rejects a unit root; KPSS rejects stationarity)"


@dataclass
class SpuriousCheckResult(Result):
    """Level vs return correlation, unit roots, cointegration, lead/lag and a verdict.

    JSON keys: ``level_corr``, ``return_corr``, ``unit_root`` (per series: ``adf``, ``kpss``,
    ``classification``), ``cointegration`` (both directions), ``lead_lag``, ``verdict``, and
    the recipe: ``symbols``, ``window``, ``n_levels``, ``n_returns``, ``start``, ``end``,
    ``asof``, ``calendar``, ``method``, ``alpha``.
    """

    symbols: tuple[str, str]
    window: int
    calendar: str
    asof: pd.Timestamp | None
    start: pd.Timestamp
    end: pd.Timestamp
    n_levels: int
    level_corr: float
    return_corr: float
    return_corr_ci: tuple[float, float]
    unit_root: dict[str, dict[str, Any]]
    cointegration: dict[str, TestResult]
    lead_lag: LeadLagScan
    verdict: str
    alpha: float = 0.05
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return {
            "symbols": list(self.symbols),
            "window": self.window,
            "n_levels": self.n_levels,
            "n_returns": self.n_levels - 1,
            "start": self.start,
            "end": self.end,
            "asof": self.asof,
            "calendar": self.calendar,
            "method": "pearson",
            "alpha": self.alpha,
            "level_corr": self.level_corr,
            "return_corr": self.return_corr,
            "return_corr_ci95": list(self.return_corr_ci),
            "unit_root": {
                sym: {
                    "series": "log price",
                    "adf": d["adf"].to_dict(),
                    "kpss": d["kpss"].to_dict(),
                    "classification": d["classification"],
                }
                for sym, d in self.unit_root.items()
            },
            "cointegration": {k: v.to_dict() for k, v in self.cointegration.items()},
            "lead_lag": self.lead_lag.to_dict(),
            "verdict": self.verdict,
        }

    def summary(self) -> Summary:
        """Correlations, test table, lead/lag table and the verdict."""
        a, b = self.symbols
        facts: list[tuple[str, Any]] = [
            ("level correlation (prices)", self.level_corr),
            ("return correlation (log returns)", self.return_corr),
            (
                "return corr 95% CI",
                f"[{self.return_corr_ci[0]:.3f}, {self.return_corr_ci[1]:.3f}]",
            ),
            (
                "sample",
                f"{self.n_levels} prices / {self.n_levels - 1} returns, "
                f"{self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}",
            ),
            ("method", "Pearson"),
            ("calendar", self.calendar),
        ]
        rows: list[list[Any]] = []
        for sym, d in self.unit_root.items():
            for key in ("adf", "kpss"):
                t: TestResult = d[key]
                rows.append(
                    [
                        f"{sym} (log price)",
                        t.name,
                        t.stat,
                        t.pvalue,
                        t.critical_values.get("95%"),
                        t.nobs,
                        t.null_hypothesis,
                    ]
                )
        for label, t in self.cointegration.items():
            rows.append(
                [
                    label,
                    t.name,
                    t.stat,
                    t.pvalue,
                    t.critical_values.get("95%"),
                    t.nobs,
                    t.null_hypothesis,
                ]
            )
        tests = Table("tests", ["series", "test", "stat", "p-value", "5% cv", "nobs", "H0"], rows)
        ll = self.lead_lag.frame()
        lead = Table(
            f"lead/lag of log returns: corr({a}_t, {b}_t+k), Holm-adjusted over {len(ll)} lags",
            ["lag k", "corr", "n", "p", "p (Holm)", "p (Bonferroni)"],
            ll[["lag", "corr", "n", "pvalue", "p_holm", "p_bonferroni"]].to_numpy().tolist(),
        )
        notes = [self.verdict]
        for sym, d in self.unit_root.items():
            notes.append(f"{sym}: {d['classification']}.")
            for key in ("adf", "kpss"):
                if d[key].pvalue_note:
                    notes.append(f"{sym} {d[key].name}: {d[key].pvalue_note}.")
        notes.append(
            f"Unit-root and cointegration tests on {self.n_levels} observations have low power; "
            "read them as a warning light, not a proof."
        )
        return Summary(f"Spurious-correlation check {a} vs {b}", facts, [tests, lead], notes)

    def to_frame(self) -> pd.DataFrame:
        """The lead/lag table."""
        return self.lead_lag.frame()


def _verdict(
    a: str,
    b: str,
    level: float,
    ret: float,
    ret_ci: tuple[float, float],
    classes: dict[str, str],
    coint_any: bool,
    scan: LeadLagScan,
    alpha: float,
) -> str:
    trending = all(c.startswith(("trending", "probably trending")) for c in classes.values())
    ret_sig = not (ret_ci[0] <= 0.0 <= ret_ci[1])
    ret_text = (
        f"the return correlation ({ret:.2f}, 95% CI {ret_ci[0]:.2f} to {ret_ci[1]:.2f}) is "
        + ("distinguishable from zero" if ret_sig else "not distinguishable from zero")
    )
    if trending and not coint_any:
        head = (
            f"Both {a} and {b} behave as trending (unit-root) series and they are not "
            f"cointegrated (Engle-Granger both ways, {alpha:.0%} Bonferroni): their level "
            f"correlation ({level:.2f}) "
            "is not evidence of linkage."
        )
    elif trending and coint_any:
        head = (
            f"Both series trend but are cointegrated ({alpha:.0%}, Bonferroni over both "
            "directions): the level correlation "
            f"({level:.2f}) reflects a shared stochastic trend, evidence of a long-run link "
            "(with few observations, treat this cautiously)."
        )
    else:
        head = (
            "At least one series does not look like a unit-root process over this window, so "
            f"the level correlation ({level:.2f}) is less likely to be purely spurious; the "
            "return correlation remains the quantity to quote."
        )
    text = f"{head} Quote the co-movement instead: {ret_text}."
    if math.isfinite(level) and math.isfinite(ret) and level * ret < 0 and abs(level) > 0.3:
        text += " Levels and returns even disagree in sign."
    b_i = scan.best
    k, p_adj, m = int(scan.lags[b_i]), float(scan.p_holm[b_i]), len(scan.lags)
    if p_adj >= alpha:
        text += (
            f" Lead/lag scan: no lag, same-day included, survives the Holm correction over {m} "
            f"lags (smallest adjusted p = {p_adj:.3f}, at k = {k})."
        )
    elif k == 0:
        text += (
            f" Lead/lag scan: same-day co-movement is the strongest (Holm-adjusted p = "
            f"{p_adj:.3f} over {m} lags); no evidence that one leads the other."
        )
    else:
        leader = a if k > 0 else b
        text += (
            f" Lead/lag scan: the strongest correlation is at k = {k} ({leader} leads; corr "
            f"{scan.corr[b_i]:.2f}, Holm-adjusted p = {p_adj:.3f} over {m} lags)."
        )
    return text


def spurious_check(
    prices: pd.DataFrame,
    a: str,
    b: str,
    *,
    window: int = 63,
    asof: Any = None,
    max_lag: int = 5,
    alpha: float = 0.05,
    calendar: str | None = None,
    provenance: Provenance | None = None,
) -> SpuriousCheckResult:
    """Run the spurious-correlation guard on the last ``window`` aligned prices up to ``asof``.

    Parameters
    ----------
    prices : DataFrame
        Aligned prices with columns ``a`` and ``b``; rows with a missing value are dropped.
    a, b : str
    window : int, default 63
        Price observations (about three months of sessions); returns are the ``window - 1``
        log returns between them, so both correlations cover the same dates.
    asof : date-like, optional
    max_lag : int, default 5
        Lead/lag scan over ``-max_lag .. max_lag``.
    alpha : float, default 0.05
        Test level for the verdict.
    calendar : str, optional
        Label of the alignment policy (default ``prices.attrs["calendar"]``).
    provenance : Provenance, optional

    Returns
    -------
    SpuriousCheckResult
    """
    window = check_int(window, "window", minimum=20)
    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=0.5, exclusive_minimum=True)
    pair, end_req = aligned_pair(prices, a, b, asof)
    if len(pair) < window:
        raise InsufficientDataError(
            f"only {len(pair)} aligned prices of {a} and {b}, need window={window}"
        )
    if (pair <= 0).any().any():
        raise InputError("prices must be positive for log returns and log-level tests")
    lev = pair.iloc[-window:]
    logp = pd.DataFrame(np.log(lev.to_numpy()), index=lev.index, columns=lev.columns)
    rets = logp.diff().iloc[1:]
    level_corr = float(np.corrcoef(lev[a], lev[b])[0, 1])
    return_corr = float(np.corrcoef(rets[a], rets[b])[0, 1])
    ci = fisher_ci(return_corr, float(len(rets)))
    unit_root: dict[str, dict[str, Any]] = {}
    for sym in (a, b):
        adf = adf_test(logp[sym])
        kp = kpss_test(logp[sym])
        unit_root[sym] = {"adf": adf, "kpss": kp, "classification": _classify(adf, kp, alpha)}
    coint_res = {
        f"{a} on {b}": engle_granger(logp[a], logp[b]),
        f"{b} on {a}": engle_granger(logp[b], logp[a]),
    }
    scan = lead_lag_scan(rets[a], rets[b], max_lag)
    # Engle-Granger depends on which series is regressed on which; call the pair cointegrated
    # when either direction rejects at alpha / 2 (Bonferroni over the two directions).
    coint_any = any(t.rejects(alpha / 2) for t in coint_res.values())
    classes = {s: d["classification"] for s, d in unit_root.items()}
    verdict = _verdict(a, b, level_corr, return_corr, ci, classes, coint_any, scan, alpha)
    cal = calendar or str(prices.attrs.get("calendar", "as given"))
    prov = provenance or Provenance()
    prov.parameters.update(
        {
            "symbols": [a, b],
            "window": window,
            "asof": end_req,
            "max_lag": max_lag,
            "alpha": alpha,
            "calendar": cal,
        }
    )
    return SpuriousCheckResult(
        symbols=(a, b),
        window=window,
        calendar=cal,
        asof=end_req,
        start=pd.Timestamp(lev.index[0]),
        end=pd.Timestamp(lev.index[-1]),
        n_levels=len(lev),
        level_corr=level_corr,
        return_corr=return_corr,
        return_corr_ci=ci,
        unit_root=unit_root,
        cointegration=coint_res,
        lead_lag=scan,
        verdict=verdict,
        alpha=alpha,
        provenance=prov,
    )
