"""Calendars and alignment: combining 24/7 crypto, exchange sessions and lagged macro data.

Policies (``calendar=``)
------------------------
``"intersection"`` (default)
    keep the dates on which every series has a value; a return then spans the gap between
    consecutive common dates (BTC's Friday-to-Monday move is one return).
``"union-ffill"``
    the union of all dates, each series carried forward from its last value (leading rows
    before every series has started are dropped).
``"union"``
    the union of all dates with gaps left as NaN.
an exchange code (``"XNYS"``, ``"XNAS"``...)
    the sessions of that exchange; every series is sampled at its last value on or before
    each session.

Macro series are dated *as of publication* (:func:`publish_dates`) before alignment so no
analysis looks ahead: the H.4.1 Wednesday level is known on Thursday.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BaseOffset

from powderkeg.exceptions import InputError

POLICIES = ("intersection", "union-ffill", "union")

#: Publication lag of known macro series, as an offset from the observation date.
PUBLICATION_LAGS: dict[str, BaseOffset] = {
    "WALCL": pd.DateOffset(days=1),  # H.4.1, Wednesday level released Thursday
    "WRESBAL": pd.DateOffset(days=1),
    "WTREGEN": pd.DateOffset(days=1),
    "WDTGAL": pd.DateOffset(days=1),
    "TGA": pd.offsets.BDay(1),  # Daily Treasury Statement, next business day 4pm
    "RRPONTSYD": pd.DateOffset(days=0),  # NY Fed publishes the same afternoon
    "M2SL": pd.DateOffset(months=1, days=24),  # H.6, about the 4th Tuesday of next month
    "WM2NS": pd.DateOffset(days=30),
    "DGS10": pd.DateOffset(days=1),
    "DGS2": pd.DateOffset(days=1),
    "EFFR": pd.DateOffset(days=1),
    "SOFR": pd.DateOffset(days=1),
    "BAMLH0A0HYM2": pd.DateOffset(days=1),
    "DTWEXBGS": pd.DateOffset(days=7),  # H.10 is released weekly on Monday
    "STABLECOIN_SUPPLY": pd.DateOffset(days=0),
    "DEFI_TVL": pd.DateOffset(days=0),
}


def publication_lag(symbol: str, frequency: str | None) -> BaseOffset:
    """Return the publication lag of a macro series (known ones, else by frequency)."""
    base = symbol.split(".")[0].upper()
    if base in PUBLICATION_LAGS:
        return PUBLICATION_LAGS[base]
    freq = (frequency or "").upper()
    if freq.startswith("M"):
        return pd.DateOffset(months=1)
    if freq.startswith("Q"):
        return pd.DateOffset(months=3)
    return pd.DateOffset(days=1)


def publish_dates(series: pd.Series, symbol: str, frequency: str | None) -> pd.Series:
    """Re-date a macro series to the day each value became public."""
    lag = publication_lag(symbol, frequency)
    if lag == pd.DateOffset(days=0) or series.empty:
        return series
    out = series.copy()
    out.index = out.index + lag
    return out[~out.index.duplicated(keep="last")]


@lru_cache(maxsize=16)
def _exchange_calendar(code: str):  # type: ignore[no-untyped-def]
    import warnings

    try:
        import exchange_calendars as xcals
    except ImportError as exc:  # pragma: no cover - hard dependency
        raise InputError("exchange calendars need the 'exchange-calendars' package") from exc
    try:
        with warnings.catch_warnings():
            # deprecation notices raised inside exchange_calendars about its pandas usage
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            return xcals.get_calendar(code)
    except xcals.errors.InvalidCalendarName:
        raise InputError(
            f"unknown calendar {code!r}: use one of {', '.join(POLICIES)} or an exchange code "
            "such as XNYS or XNAS"
        ) from None


def sessions(code: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Return the sessions of exchange ``code`` from ``start`` to ``end``, clipped to its range."""
    cal = _exchange_calendar(code.upper())
    lo = max(pd.Timestamp(start), cal.first_session)
    hi = min(pd.Timestamp(end), cal.last_session)
    if lo > hi:
        return pd.DatetimeIndex([])
    return pd.DatetimeIndex(cal.sessions_in_range(lo, hi)).tz_localize(None)


def align(series: Sequence[pd.Series], calendar: str = "intersection") -> pd.DataFrame:
    """Align several date-indexed series under one calendar policy.

    Parameters
    ----------
    series : sequence of Series
        Each with a DatetimeIndex and a name.
    calendar : str
        ``"intersection"``, ``"union-ffill"``, ``"union"`` or an exchange code.

    Returns
    -------
    DataFrame
    """
    if not series:
        return pd.DataFrame()
    names = [s.name for s in series]
    if len(set(names)) != len(names):
        raise InputError(f"series names must be unique, got {names}")
    if calendar == "intersection":
        fast = _intersect_sorted(series)
        if fast is not None:
            return fast
        return pd.concat(series, axis=1, join="inner", sort=True).sort_index()
    wide = pd.concat(series, axis=1, join="outer", sort=True)
    if calendar == "union":
        return wide
    if calendar == "union-ffill":
        return wide.ffill().dropna(how="any")
    if not len(wide):
        return wide
    days = sessions(calendar, wide.index[0], wide.index[-1])
    filled = wide.reindex(wide.index.union(days)).ffill()
    return filled.reindex(days).dropna(how="any")


def _intersect_sorted(series: Sequence[pd.Series]) -> pd.DataFrame | None:
    """Intersect series with sorted, unique DatetimeIndexes of one dtype by array search.

    Gives what ``pd.concat(..., join="inner")`` gives, much faster for many long series;
    ``None`` when an index does not qualify.
    """
    indexes = [s.index for s in series]
    first = indexes[0]
    for idx in indexes:
        if not (
            isinstance(idx, pd.DatetimeIndex)
            and idx.tz is None
            and idx.dtype == first.dtype
            and idx.is_monotonic_increasing
            and idx.is_unique
        ):
            return None
    stamps = [np.asarray(idx).view(np.int64) for idx in indexes]
    common = stamps[0]
    for other in stamps[1:]:
        common = np.intersect1d(common, other, assume_unique=True)
    columns = {
        s.name: s.to_numpy()[np.searchsorted(st, common)]
        for s, st in zip(series, stamps, strict=True)
    }
    names = {idx.name for idx in indexes}
    index = pd.DatetimeIndex(
        common.view(np.asarray(first).dtype), name=names.pop() if len(names) == 1 else None
    )
    return pd.DataFrame(columns, index=index)


_RULES = {"D": "D", "W": "W-FRI", "M": "ME", "Q": "QE", "Y": "YE"}


def resample(frame: pd.DataFrame | pd.Series, freq: str) -> pd.DataFrame | pd.Series:
    """Resample to ``"W"`` (Friday), ``"M"`` or ``"Q"`` (period end) taking the last value.

    Each output row is labelled by the period end and holds the last observation in it.
    """
    key = freq.upper()
    if key not in _RULES:
        raise InputError(f"freq must be one of {', '.join(_RULES)}; got {freq!r}")
    if key == "D":
        return frame
    return frame.resample(_RULES[key]).last().dropna(how="all")
