"""What actually happened in an episode: observed moves of each target from the store.

For a target backed by a stored series, the moves are ``ln(x_t / x_base)`` (or ``x_t −
x_base`` for ``measure: level``) on the calendar days of the episode window, where
``x_base`` is the last observation before the start; days without an observation (weekends
for exchange-traded series) are NaN. Values are taken on the day they were observed (not
when they were published): the replay compares market moves day by day. Published figures
become a single dated move (or amount); events carry their date.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from powderkeg.contagion.episode_spec import Episode, TargetSpec
from powderkeg.contagion.scorecard import Extreme, extreme_move
from powderkeg.data.store import Store

#: How far before the start the baseline observation may lie (days).
BASELINE_LOOKBACK = 14


@dataclass(frozen=True)
class ObservedTarget:
    """The observation of one target.

    Attributes
    ----------
    kind : str
        ``move``, ``amount`` or ``event``.
    moves : ndarray (T,) or None
        Daily moves over the window (series), NaN where unobserved.
    extreme : Extreme or None
        The largest move (moves), or the amount / event with its day.
    happened : bool or None
        Events only.
    missing : str or None
        Why the target cannot be scored (e.g. the series is not in the store).
    source : str
        Where the observation comes from.
    """

    kind: str
    moves: np.ndarray | None
    extreme: Extreme | None
    happened: bool | None
    missing: str | None
    source: str


def _series_moves(store: Store, target: TargetSpec, episode: Episode) -> ObservedTarget:
    symbol = target.observed.series
    assert symbol is not None
    window = episode.outcomes.window_days
    start = episode.start
    if symbol not in store.symbols():
        return ObservedTarget(
            "move", None, None, None,
            f"{symbol} is not in the store (powderkeg data import-package "
            "../shared/data/datapackage.json)",
            symbol,
        )  # fmt: skip
    frame = store.frame(
        [symbol],
        start=start - pd.Timedelta(days=BASELINE_LOOKBACK),
        end=start + pd.Timedelta(days=window - 1),
        calendar="union",
        asof_publication=False,
    )
    x = frame[symbol].dropna()
    before = x[x.index < start]
    inside = x[x.index >= start]
    if before.empty or inside.empty:
        info = store.series_info(symbol)
        return ObservedTarget(
            "move", None, None, None,
            f"{symbol} has no data around {start:%Y-%m-%d} "
            f"(stored {info['first_date']} to {info['last_date']})",
            symbol,
        )  # fmt: skip
    base = float(before.iloc[-1])
    days = np.asarray((pd.DatetimeIndex(inside.index) - start).days, dtype=np.int64)
    values = inside.to_numpy(dtype=np.float64)
    moves = np.full(window, np.nan)
    if target.observed.measure == "level":
        moves[days] = values - base
    else:
        moves[days] = np.log(values / base)
    return ObservedTarget("move", moves, extreme_move(moves), None, None, symbol)


def observe(store: Store | None, episode: Episode, target: TargetSpec) -> ObservedTarget:
    """The observation of ``target`` (a store is needed for series targets only)."""
    obs = target.observed
    if obs.happened is not None:
        day = None if obs.date is None else episode.scenario.day_of(obs.date)
        ext = Extreme(1.0 if obs.happened else 0.0, -1 if day is None else day)
        return ObservedTarget("event", None, ext, obs.happened, None, obs.source or "")
    if obs.published is not None:
        pub = obs.published
        day = episode.scenario.day_of(pub.date)
        if pub.baseline is None:
            return ObservedTarget("amount", None, Extreme(pub.value, day), None, None, pub.source)
        value = (
            pub.value - pub.baseline if obs.measure == "level" else np.log(pub.value / pub.baseline)
        )
        return ObservedTarget("move", None, Extreme(float(value), day), None, None, pub.source)
    if store is None:
        return ObservedTarget("move", None, None, None, "no store given", obs.series or "")
    return _series_moves(store, target, episode)
