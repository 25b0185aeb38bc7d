r"""Asymmetric (up-market / down-market) betas of an asset on a market.

Does the asset fall more when the market falls?

The sample is split on the market return :math:`m_t` at a threshold :math:`c` (default 0):
down periods :math:`D_t = 1\{m_t < c\}`, up periods the rest. In each half

.. math:: r_t = \alpha_s + \beta_s m_t + \varepsilon_t, \qquad s \in \{\mathrm{down}, \mathrm{up}\},

is fitted by least squares with Newey–West (HAC) standard errors computed on that half's rows
in time order. Equality of the two betas is tested in the pooled, fully interacted regression

.. math:: r_t = a + b\,m_t + c\,D_t + d\,D_t m_t + \varepsilon_t,

whose OLS coefficients reproduce the split fits (:math:`d = \beta_{down} - \beta_{up}`), with a
HAC z-test of :math:`d = 0`. Capture ratios are arithmetic:
downside capture :math:`= \bar r_{down} / \bar m_{down}`, upside capture
:math:`= \bar r_{up} / \bar m_{up}`; the "falls more when tech falls" ratios are
:math:`\beta_{down}/\beta_{up}` and downside/upside capture (the conditional-mean ratio).
An optional circular block bootstrap (seeded) gives percentile intervals.

References
----------
Ang, A., Chen, J. and Xing, Y. (2006). Downside risk. *Review of Financial Studies* 19(4).
Newey, W. K. and West, K. D. (1987). *Econometrica* 55(3), 703–708.
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
from powderkeg.stats import newey_west_lags, ols


@dataclass
class AsymmetricBetaResult(Result):
    """Up/down betas, correlations, capture ratios and the test of equal betas."""

    asset: str
    market: str
    threshold: float
    table: pd.DataFrame
    stat: float
    pvalue: float
    beta_ratio: float
    capture_ratio: float
    hac_lags: int
    confidence: float
    start: pd.Timestamp
    end: pd.Timestamp
    nobs: int
    bootstrap: dict[str, Any] | None = None
    calendar: str = "intersection"
    method_notes: list[str] = field(default_factory=list)
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def null_hypothesis(self) -> str:
        """The null of the equality test."""
        return f"beta_down = beta_up ({self.asset} on {self.market})"

    @property
    def beta_down(self) -> float:
        """Down-market beta."""
        return float(np.asarray(self.table.loc["down", "beta"]))

    @property
    def beta_up(self) -> float:
        """Up-market beta."""
        return float(np.asarray(self.table.loc["up", "beta"]))

    def _payload(self) -> dict[str, Any]:
        rows = {
            str(k): {c: v for c, v in row.items()} for k, row in self.table.to_dict("index").items()
        }
        crit = stats.norm.ppf([0.95, 0.975, 0.995])
        return {
            "asset": self.asset,
            "market": self.market,
            "method": "split-sample OLS, Newey-West HAC; pooled interaction z-test",
            "calendar": self.calendar,
            "threshold": self.threshold,
            "start": self.start,
            "end": self.end,
            "nobs": self.nobs,
            "hac_lags": self.hac_lags,
            "confidence": self.confidence,
            "down": rows["down"],
            "up": rows["up"],
            "all": rows["all"],
            "beta_down": self.beta_down,
            "beta_up": self.beta_up,
            "beta_ratio": self.beta_ratio,
            "downside_capture": rows["down"]["capture"],
            "upside_capture": rows["up"]["capture"],
            "capture_ratio": self.capture_ratio,
            "stat": self.stat,
            "pvalue": self.pvalue,
            "critical_values": {"90%": crit[0], "95%": crit[1], "99%": crit[2]},
            "null_hypothesis": self.null_hypothesis,
            "bootstrap": self.bootstrap,
        }

    def summary(self) -> Summary:
        """Return the printable summary (facts, tables, method notes)."""
        pct = f"{self.confidence:.0%}"
        view = self.table[["nobs", "beta", "ci_low", "ci_high", "corr", "mean_asset", "capture"]]
        view = view.rename(columns={"ci_low": f"{pct} low", "ci_high": f"{pct} high"})
        facts: list[tuple[str, Any]] = [
            ("sample", span_text(self.start, self.end, self.nobs)),
            ("calendar", self.calendar),
            ("split", f"{self.market} return < {self.threshold:g} is a down period"),
            ("beta down / up", self.beta_ratio),
            ("downside / upside capture", self.capture_ratio),
            ("equal-beta z", self.stat),
            ("p-value", self.pvalue),
        ]
        tables = [Table.from_frame("Betas by market direction (HAC intervals)", view)]
        if self.bootstrap is not None:
            boot = pd.DataFrame(
                {
                    k: [v["low"], v["high"]]
                    for k, v in self.bootstrap.items()
                    if isinstance(v, dict)
                },
                index=[f"{pct} low", f"{pct} high"],
            ).T.rename_axis("statistic")
            tables.append(Table.from_frame("Block-bootstrap percentile intervals", boot))
        notes = [
            f"Newey-West HAC with {self.hac_lags} lags (Bartlett weights, no small-sample "
            "correction); z-test of beta_down = beta_up in the pooled interaction regression.",
            "Capture = mean asset return / mean market return within the half (arithmetic).",
            *self.method_notes,
        ]
        return Summary(
            title=f"Asymmetric beta of {self.asset} on {self.market}",
            facts=facts,
            tables=tables,
            notes=notes,
        )

    def to_frame(self) -> pd.DataFrame:
        """Return the main table as a DataFrame."""
        return self.table.copy()


def _split_betas(a: np.ndarray, m: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Slope of ``a`` on ``m`` within rows where ``mask`` (vectorised over leading axes)."""
    w = mask.astype(np.float64)
    cnt = w.sum(axis=-1, keepdims=True)
    ma = (w * a).sum(axis=-1, keepdims=True) / cnt
    mm = (w * m).sum(axis=-1, keepdims=True) / cnt
    cov = (w * (a - ma) * (m - mm)).sum(axis=-1)
    var = (w * (m - mm) ** 2).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / var


def asymmetric_beta(
    asset: pd.Series,
    market: pd.Series,
    *,
    threshold: float = 0.0,
    hac_lags: int | None = None,
    confidence: float = 0.95,
    bootstrap: int = 0,
    block: int | None = None,
    seed: int | None = None,
    calendar: str = "intersection",
    provenance: Provenance | None = None,
) -> AsymmetricBetaResult:
    r"""Up- and down-market betas of ``asset`` returns on ``market`` returns.

    Parameters
    ----------
    asset, market : Series
        Returns on the same dates (rows with a missing value in either are dropped).
    threshold : float, default 0
        Market returns below it are down periods.
    hac_lags : int, optional
        Newey–West lags; default :math:`\lfloor 4 (T/100)^{2/9} \rfloor` of each fit's size.
    confidence : float, default 0.95
        Level of the intervals.
    bootstrap : int, default 0
        Number of circular block-bootstrap resamples (0 = none).
    block : int, optional
        Bootstrap block length (default :math:`\lceil T^{1/3} \rceil`).
    seed : int, optional
        Seed of the bootstrap.

    Returns
    -------
    AsymmetricBetaResult
    """
    thr = check_float(threshold, "threshold")
    conf = check_float(confidence, "confidence", minimum=0.5, maximum=0.999)
    reps = check_int(bootstrap, "bootstrap", minimum=0)
    pair = pd.concat([asset.rename("a"), market.rename("m")], axis=1).dropna()
    a, m = pair["a"].to_numpy(float), pair["m"].to_numpy(float)
    down = m < thr
    n_down, n_up = int(down.sum()), int((~down).sum())
    if min(n_down, n_up) < 10:
        raise InsufficientDataError(
            f"need at least 10 down and 10 up periods, got {n_down} down and {n_up} up"
        )
    z = stats.norm.ppf(0.5 + conf / 2)
    rows = {}
    for name, rows_mask in (("down", down), ("up", ~down), ("all", np.ones_like(down))):
        ya, xm = a[rows_mask], m[rows_mask]
        lags = newey_west_lags(len(ya)) if hac_lags is None else check_int(hac_lags, "hac_lags")
        fit = ols(ya, np.column_stack([np.ones(len(ya)), xm]), hac_lags=lags)
        beta, se = float(fit.params[1]), float(fit.bse[1])
        mean_a, mean_m = float(ya.mean()), float(xm.mean())
        rows[name] = {
            "nobs": len(ya),
            "alpha": float(fit.params[0]),
            "beta": beta,
            "se": se,
            "ci_low": beta - z * se,
            "ci_high": beta + z * se,
            "corr": float(np.corrcoef(ya, xm)[0, 1]),
            "mean_asset": mean_a,
            "mean_market": mean_m,
            "capture": mean_a / mean_m if mean_m != 0 else np.nan,
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "half"
    dm = down.astype(np.float64)
    pooled_lags = newey_west_lags(len(a)) if hac_lags is None else int(hac_lags)
    design = np.column_stack([np.ones(len(a)), m, dm, dm * m])
    pooled = ols(a, design, hac_lags=pooled_lags)
    stat = float(pooled.params[3] / pooled.bse[3])
    pvalue = float(2 * stats.norm.sf(abs(stat)))
    beta_ratio = rows["down"]["beta"] / rows["up"]["beta"]
    capture_ratio = rows["down"]["capture"] / rows["up"]["capture"]
    boot: dict[str, Any] | None = None
    if reps:
        idx = block_indices(len(a), reps, block, seed)
        ab, mb = a[idx], m[idx]
        mask = mb < thr
        bd = _split_betas(ab, mb, mask)
        bu = _split_betas(ab, mb, ~mask)
        draws = {"beta_down": bd, "beta_up": bu, "beta_diff": bd - bu, "beta_ratio": bd / bu}
        lo, hi = 50 * (1 - conf), 50 * (1 + conf)
        boot = {
            k: {"low": float(np.nanpercentile(v, lo)), "high": float(np.nanpercentile(v, hi))}
            for k, v in draws.items()
        }
        boot["reps"] = reps
        boot["block"] = default_block(len(a)) if block is None else int(block)
        boot["share_down_above_up"] = float(np.nanmean(bd > bu))
    return AsymmetricBetaResult(
        asset=str(asset.name),
        market=str(market.name),
        threshold=thr,
        table=table,
        stat=stat,
        pvalue=pvalue,
        beta_ratio=float(beta_ratio),
        capture_ratio=float(capture_ratio),
        hac_lags=pooled_lags,
        confidence=conf,
        start=index_bounds(pair.index)[0],
        end=index_bounds(pair.index)[1],
        nobs=len(a),
        bootstrap=boot,
        calendar=calendar,
        provenance=provenance
        or Provenance(parameters={"threshold": thr, "bootstrap": reps}, seed=seed),
    )
