r"""How often do bubble flags precede crashes? Precision, recall and base rate of PSY and LPPLS.

At each date :math:`t` of a (resampled) price history an *event* follows when the price falls
by at least ``drawdown`` below :math:`p_t` within the next ``horizon`` calendar days:

.. math::

    E_t = \mathbb 1\Big[\min_{t < s \le t + h} p_s / p_t - 1 \le -d\Big].

A signal :math:`S_t \in \{0, 1\}` is scored over the dates whose horizon is complete:
precision :math:`P(E \mid S) = \sum S_t E_t / \sum S_t`, recall
:math:`P(S \mid E) = \sum S_t E_t / \sum E_t`, the base rate :math:`P(E)` and the lift
precision / base rate (1 = no better than flagging at random).

Signals
-------
``psy``
    BSADF above its 95% Monte Carlo critical value at :math:`t` (the backward sup ADF uses only
    data up to :math:`t`; the critical-value sequence depends on the sample length only).
``lppls``
    LPPLS bubble confidence at :math:`t` at least ``lppls_threshold``. For runtime on long
    histories the indicator is computed every ``lppls_outer_step`` observations with a coarse
    search (``n_starts=2``, 32 screening points) and carried forward to the dates in between
    (each value uses only data up to its own end date).

Runtime: resample daily histories to weekly (``W``) or monthly (``M``) data; e.g. ^IXIC monthly
since 1971 (~650 observations) with windows of 36..18 months takes a few seconds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import as_series, check_float, check_int, check_option
from powderkeg.exceptions import InsufficientDataError
from powderkeg.parallel import ProgressCallback
from powderkeg.results import Provenance, Result, Summary, Table

__all__ = ["SignalEvaluation", "evaluate_signals", "forward_drawdown_events", "score_signal"]


def forward_drawdown_events(
    prices: pd.Series, drawdown: float, horizon_days: int
) -> tuple[pd.Series, pd.Series]:
    """Return ``(event, complete)`` per date.

    ``event``: a fall of ``drawdown`` within ``horizon_days``; ``complete``: the horizon lies
    inside the data.
    """
    idx = pd.DatetimeIndex(prices.index)
    p = prices.to_numpy(dtype=np.float64)
    n = len(p)
    ends = np.searchsorted(idx.values, (idx + pd.Timedelta(days=horizon_days)).values, side="right")
    event = np.zeros(n, dtype=bool)
    for i in range(n):
        j = ends[i]
        if j > i + 1:
            event[i] = p[i + 1 : j].min() / p[i] - 1.0 <= -drawdown
    complete = idx + pd.Timedelta(days=horizon_days) <= idx[-1]
    return pd.Series(event, index=idx), pd.Series(np.asarray(complete), index=idx)


def score_signal(signal: pd.Series, event: pd.Series) -> dict[str, float]:
    """Precision, recall, base rate, lift and counts of a boolean signal against events."""
    s = signal.to_numpy(dtype=bool)
    e = event.to_numpy(dtype=bool)
    tp = int(np.sum(s & e))
    n_flag = int(s.sum())
    n_event = int(e.sum())
    n = len(s)
    base = n_event / n if n else math.nan
    precision = tp / n_flag if n_flag else math.nan
    return {
        "n_dates": n,
        "n_flags": n_flag,
        "n_events": n_event,
        "true_positives": tp,
        "false_positives": n_flag - tp,
        "precision": precision,
        "recall": tp / n_event if n_event else math.nan,
        "base_rate": base,
        "lift": precision / base if n_flag and base > 0 else math.nan,
        "false_alarm_share": (n_flag - tp) / n_flag if n_flag else math.nan,
    }


def evaluate_signals(
    prices: Any,
    *,
    freq: str = "M",
    drawdown: float = 0.2,
    horizon_days: int = 60,
    psy: bool = True,
    psy_reps: int = 499,
    lppls: bool = True,
    lppls_threshold: float = 0.1,
    lppls_window: int | None = None,
    lppls_smallest: int | None = None,
    lppls_step: int | None = None,
    lppls_outer_step: int | None = None,
    seed: int = 1,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    sources: list[dict[str, Any]] | None = None,
) -> SignalEvaluation:
    """Score PSY and LPPLS bubble flags against later drawdowns.

    Parameters
    ----------
    prices : Series
        Date-indexed positive prices (any frequency; resampled to ``freq``).
    freq : {"D", "W", "M"}, default "M"
    drawdown : float, default 0.2
        Event: a fall of at least this fraction ...
    horizon_days : int, default 60
        ... within this many calendar days after the signal date.
    psy, psy_reps
        Evaluate the PSY flag with this many Monte Carlo replications.
    lppls, lppls_threshold
        Evaluate the LPPLS flag (bubble confidence >= threshold).
    lppls_window, lppls_smallest, lppls_step, lppls_outer_step : int, optional
        Nested windows in observations of ``freq``; defaults: monthly 36/18/6/1, weekly
        104/52/13/2, daily 120/30/15/5.
    seed, workers, progress
        Seeds, local processes and progress callback.
    """
    from powderkeg.bubbles.lppls import confidence_indicator
    from powderkeg.data import calendars

    check_option(freq.upper(), "freq", ("D", "W", "M"))
    check_float(drawdown, "drawdown", minimum=0.0, maximum=1.0, exclusive_minimum=True)
    horizon_days = check_int(horizon_days, "horizon_days", minimum=1)
    check_float(lppls_threshold, "lppls_threshold", minimum=0.0, maximum=1.0)
    series = as_series(prices, "prices").dropna()
    series = pd.Series(calendars.resample(series, freq.upper()), name=series.name)
    defaults = {"M": (36, 18, 6, 1), "W": (104, 52, 13, 2), "D": (120, 30, 15, 5)}[freq.upper()]
    window = lppls_window or defaults[0]
    smallest = lppls_smallest or defaults[1]
    step = lppls_step or defaults[2]
    outer = lppls_outer_step or defaults[3]
    if len(series) < max(window, 60) + 2:
        raise InsufficientDataError(
            f"{len(series)} observations at freq {freq}; need at least {max(window, 60) + 2}"
        )
    event, complete = forward_drawdown_events(series, drawdown, horizon_days)
    flags: dict[str, pd.Series] = {}
    notes: list[str] = []
    t0 = time.perf_counter()
    if psy:
        from powderkeg.bubbles.psy import GSADF

        res = GSADF(np.log(series)).fit(cv="mc", reps=psy_reps, seed=seed)
        flag = (res.bsadf > res.cv_sequence).reindex(series.index, fill_value=False)
        flags["psy"] = flag.astype(bool)
    if lppls:
        ci = confidence_indicator(
            series,
            window=window,
            smallest=smallest,
            step=step,
            outer_step=outer,
            seed=seed,
            n_starts=2,
            n_screen=32,
            workers=workers,
            progress=progress,
        )
        conf = ci.indicator["bubble"].reindex(series.index).ffill()
        flags["lppls"] = (conf >= lppls_threshold).fillna(False).astype(bool)
        notes.append(
            f"LPPLS: windows {ci.sizes[0]}..{ci.sizes[-1]} obs, every {outer} obs, "
            f"{len(ci.fits)} fits ({int(ci.fits['failed'].sum())} failed, excluded), "
            f"qualified rate {ci.qualified_rate:.1%}"
        )
    runtime = time.perf_counter() - t0
    mask = complete.to_numpy()
    scores = {name: score_signal(f[mask], event[mask]) for name, f in flags.items()}
    if flags:
        either = pd.concat(flags.values(), axis=1).any(axis=1)
        scores["any"] = score_signal(either[mask], event[mask])
    base = score_signal(pd.Series(np.ones(int(mask.sum()), dtype=bool)), event[mask])
    return SignalEvaluation(
        prices=series,
        event=event,
        complete=complete,
        flags=flags,
        scores=scores,
        base_rate=base["base_rate"],
        notes=notes,
        runtime_s=runtime,
        provenance=Provenance(
            sources=list(sources or []),
            parameters={
                "freq": freq.upper(),
                "drawdown": drawdown,
                "horizon_days": horizon_days,
                "psy": psy,
                "psy_reps": psy_reps,
                "lppls": lppls,
                "lppls_threshold": lppls_threshold,
                "lppls_window": window,
                "lppls_smallest": smallest,
                "lppls_step": step,
                "lppls_outer_step": outer,
                "workers": workers,
            },
            seed=seed,
        ),
    )


@dataclass
class SignalEvaluation(Result):
    """Precision and recall of bubble signals against later drawdowns.

    JSON keys: ``scores`` (per signal: ``precision``, ``recall``, ``base_rate``, ``lift``,
    ``false_alarm_share``, counts), ``base_rate``, ``start``, ``end``, ``nobs``, ``series``
    (per date: price, event, complete, one column per signal), ``runtime_s``.
    """

    prices: pd.Series
    event: pd.Series
    complete: pd.Series
    flags: dict[str, pd.Series]
    scores: dict[str, dict[str, float]]
    base_rate: float
    notes: list[str]
    runtime_s: float
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return {
            "scores": self.scores,
            "base_rate": self.base_rate,
            "start": self.prices.index[0],
            "end": self.prices.index[-1],
            "nobs": len(self.prices),
            "series": self.to_frame(),
            "runtime_s": self.runtime_s,
        }

    def summary(self) -> Summary:
        """The printable summary."""
        p = self.provenance.parameters
        name = str(self.prices.name or "series")
        rows = [
            [
                k,
                v["n_flags"],
                v["true_positives"],
                v["precision"],
                v["recall"],
                v["base_rate"],
                v["lift"],
                v["false_alarm_share"],
            ]
            for k, v in self.scores.items()
        ]
        facts: list[tuple[str, Any]] = [
            (
                "sample",
                f"{self.prices.index[0]:%Y-%m-%d} to {self.prices.index[-1]:%Y-%m-%d} "
                f"({len(self.prices)} obs, freq {p.get('freq')})",
            ),
            ("event", f"fall >= {p.get('drawdown', 0):.0%} within {p.get('horizon_days')} days"),
            ("scored dates", int(self.complete.sum())),
            ("base rate", self.base_rate),
        ]
        table = Table(
            "Signals",
            ["signal", "flags", "hits", "precision", "recall", "base rate", "lift", "false alarms"],
            rows,
        )
        notes = [
            *self.notes,
            "precision = P(event | flag); recall = P(flag | event); lift = precision / "
            "base rate; false alarms = share of flags not followed by an event.",
        ]
        return Summary(f"Bubble signals vs later drawdowns: {name}", facts, [table], notes)

    def to_frame(self) -> pd.DataFrame:
        """The result as a DataFrame."""
        frame = pd.DataFrame({"price": self.prices, "event": self.event, "complete": self.complete})
        for k, f in self.flags.items():
            frame[k] = f
        return frame

    def plot(self) -> Any:
        """A Plotly figure (not shown)."""
        import plotly.graph_objects as go

        fig = go.Figure(go.Scatter(x=self.prices.index, y=self.prices, name="price"))
        for k, f in self.flags.items():
            sel = self.prices[f.to_numpy(dtype=bool)]
            fig.add_trace(go.Scatter(x=sel.index, y=sel, mode="markers", name=f"{k} flag"))
        ev = self.prices[self.event.to_numpy(dtype=bool)]
        fig.add_trace(
            go.Scatter(x=ev.index, y=ev, mode="markers", name="drawdown follows", marker_symbol="x")
        )
        fig.update_layout(yaxis_type="log", title="Bubble flags and later drawdowns")
        return fig
