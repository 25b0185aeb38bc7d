"""Scorecard arithmetic of episode replays: extreme moves, direction, size and timing errors.

A *move* is a path relative to its value just before the episode starts: a log change
``ln(x_t / x_base)`` for prices, supplies and volatility, or a level change ``x_t − x_base``
for yields (percentage points). The *extreme* of a path is its move with the largest absolute
value over the window (the earliest such day on ties): the trough of a crash, the peak of a
rally. The model is summarised by its *median path* (the median over Monte Carlo paths, day
by day) and the 5–95 % band around it; the scorecard compares the median path's extreme with
the observed extreme:

* **direction** — the two extremes have the same sign;
* **size error** — model extreme minus observed extreme (log points or pp);
* **timing error** — day of the model extreme minus the observed day (days);
* **coverage** — the observed extreme lies within the model's band on the observed day.

The median path is the model's central scenario, the path the charts draw; the median of
per-path extremes would instead mix the troughs of paths that crash with the peaks of paths
that rally past their start (BTC after a policy pivot), and jump between them with the seed.

Events (an institution group defaulting) are scored by the share of paths on which they
happen (direction right when that share is at least one half exactly when the event happened)
and by the median day of the first occurrence; amounts (liquidations in USD bn) by the log
ratio of the median model amount to the published one.

Pure functions over arrays: no I/O, no model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powderkeg.exceptions import InputError

#: Band of model outcomes reported and used for coverage.
BAND = (0.05, 0.95)


@dataclass(frozen=True)
class Extreme:
    """The largest move of a path: its signed value and the day it happens."""

    value: float
    day: int


@dataclass(frozen=True)
class TargetScore:
    """One scorecard row (NaN / None where a part does not apply to the target's kind).

    Attributes
    ----------
    observed, observed_day : float, int
        Observed extreme (or amount, or 1.0/0.0 for an event that did / did not happen) and
        its day from the episode start (None when undated).
    model, model_low, model_high : float
        Median model extreme (amount, or event probability) and its 5–95 % band.
    model_day : int or None
        Median day of the model extreme (or of the event's first occurrence).
    direction_right : bool or None
    size_error : float
        ``model − observed`` in the target's unit (NaN for events).
    timing_error : int or None
        ``model_day − observed_day``.
    covered : bool or None
        The observed value lies in the model band.
    """

    observed: float
    observed_day: int | None
    model: float
    model_low: float
    model_high: float
    model_day: int | None
    direction_right: bool | None
    size_error: float
    timing_error: int | None
    covered: bool | None


def extreme_move(moves: np.ndarray) -> Extreme:
    """The move with the largest absolute value of a (T,) path (NaN days are skipped).

    Raises
    ------
    InputError
        When the path has no finite value.
    """
    x = np.asarray(moves, dtype=np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        raise InputError("the path has no finite value in the episode window")
    day = int(np.argmax(np.where(finite, np.abs(x), -1.0)))
    return Extreme(float(x[day]), day)


def _band(values: np.ndarray) -> tuple[float, float, float]:
    lo, mid, hi = np.quantile(values, [BAND[0], 0.5, BAND[1]])
    return float(mid), float(lo), float(hi)


def score_moves(observed: Extreme, moves: np.ndarray) -> TargetScore:
    """Score the model's daily moves (P, T) against ``observed`` (see the module doc)."""
    x = np.asarray(moves, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] == 0:
        raise InputError(f"model moves must have shape (paths, days), got {x.shape}")
    lo, mid, hi = np.quantile(x, [BAND[0], 0.5, BAND[1]], axis=0)
    model = extreme_move(mid)
    day = min(max(observed.day, 0), x.shape[1] - 1)
    direction = (
        None if observed.value == 0.0 else bool(np.sign(model.value) == np.sign(observed.value))
    )
    return TargetScore(
        observed=observed.value,
        observed_day=observed.day,
        model=model.value,
        model_low=float(lo[model.day]),
        model_high=float(hi[model.day]),
        model_day=model.day,
        direction_right=direction,
        size_error=model.value - observed.value,
        timing_error=model.day - observed.day,
        covered=bool(lo[day] <= observed.value <= hi[day]),
    )


def score_amount(observed: float, observed_day: int | None, amounts: np.ndarray,
                 days: np.ndarray | None = None) -> TargetScore:  # fmt: skip
    """Score per-path model amounts (P,) against a published amount (log-ratio size error)."""
    if not observed > 0:
        raise InputError(f"a published amount must be positive, got {observed}")
    mid, lo, hi = _band(np.asarray(amounts, dtype=np.float64))
    model_day = None if days is None else round(float(np.median(days)))
    timing = None if model_day is None or observed_day is None else model_day - observed_day
    return TargetScore(
        observed=observed,
        observed_day=observed_day,
        model=mid,
        model_low=lo,
        model_high=hi,
        model_day=model_day,
        direction_right=None,
        size_error=float(np.log(mid / observed)) if mid > 0 else -np.inf,
        timing_error=timing,
        covered=bool(lo <= observed <= hi),
    )


def score_event(happened: bool, observed_day: int | None, first_day: np.ndarray) -> TargetScore:
    """Score an event from its per-path first day (P,), −1 where it never happens."""
    d = np.asarray(first_day)
    hit = d >= 0
    p = float(hit.mean())
    model_day = round(float(np.median(d[hit]))) if hit.any() else None
    timing = None if model_day is None or observed_day is None else model_day - observed_day
    return TargetScore(
        observed=1.0 if happened else 0.0,
        observed_day=observed_day,
        model=p,
        model_low=p,
        model_high=p,
        model_day=model_day,
        direction_right=(p >= 0.5) == happened,
        size_error=float("nan"),
        timing_error=timing,
        covered=None,
    )
