"""Data-quality checks: gaps, stale values, outliers, bad dates, OHLC and unit suspicions.

Each series is checked against the calendar its metadata declares (``frequency`` and
``calendar``), and every finding is one *flag* with a symbol, a check name, a severity, the
date (or first and last date of a run), a count and a readable detail.

Checks
------
``gap``
    expected dates missing inside the series' span, one flag per run of consecutive missing
    dates. Calendar days for ``"D"`` / ``"24/7"``; XNYS or XNAS sessions for exchange
    calendars (``"XNYS/XNAS sessions"``); US federal business days (``"US federal business
    days"``, ``"US business days"``; ``"US bond market days"`` also tolerate Good Friday);
    the anchored weekday for ``"W-WED"``/``"W-MON"``; month starts for ``"MS"``. For a
    business-day calendar that is not recognised (``"London business days"``, ``"ICE futures
    sessions"``), for exchange calendars before 1990 and for federal business days before
    1971 (when holidays moved to Mondays), weekdays are expected and only runs of at least 4
    missing weekdays are flagged (holidays last 1-3 weekdays, e.g. Christmas Eve to Boxing
    Day). Severity: ``info`` for one missing date, ``warning`` for 2-9, ``error`` for 10+.
``off_calendar``
    observations on dates the calendar does not have: an equity row on a Saturday or on an
    exchange holiday (``warning``), a FRED value on a federal holiday (``info``).
``stale``
    runs of at least ``stale_run`` identical consecutive main values (``warning`` for prices,
    ``info`` for macro series, whose policy rates can legitimately stay flat).
``outlier``
    a log return (a change, for series with non-positive values) whose robust z-score
    ``(r - median) / (1.4826 * MAD)`` is at least ``outlier_z`` in absolute value.
``unit``
    a one-step move by a factor of about 1000 or more (``10**2.5`` and beyond) in an otherwise
    quiet series, typical of thousands/millions/billions mixing; a missing unit; a unit that
    differs from the known unit of a known series (RRPONTSYD is in USD billions, WALCL and TGA
    in USD millions...), or values whose magnitude does not fit that unit.
``dates``
    duplicate, unsorted, missing or intraday dates (only possible before import:
    :func:`check_frame`, :func:`check_file`; the store's key prevents them).
``ohlc``
    high below open/close, low above open/close, or non-positive prices.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar
from pandas.tseries.offsets import Easter

from powderkeg._validation import check_float, check_int
from powderkeg.data import units
from powderkeg.exceptions import DataFileError, InputError
from powderkeg.results import Provenance, Result, Summary, Table

CHECKS = ("gap", "off_calendar", "stale", "outlier", "unit", "dates", "ohlc")
SEVERITIES = ("info", "warning", "error")
COLUMNS = ["symbol", "check", "severity", "date", "end", "n", "detail"]

#: Known units of known series and the plausible range of their typical (median) level.
KNOWN_UNITS: dict[str, tuple[str, float, float]] = {
    "WALCL": ("USD millions", 5e5, 2e7),
    "WRESBAL": ("USD millions", 1e3, 1e7),
    "WTREGEN": ("USD millions", 1e3, 5e6),
    "WDTGAL": ("USD millions", 1e3, 5e6),
    "TGA": ("USD millions", 1e3, 5e6),
    "RRPONTSYD": ("USD billions", 0.0, 5e3),
    "M2SL": ("USD billions", 1e3, 1e5),
    "WM2NS": ("USD billions", 1e3, 1e5),
    "DGS10": ("percent", -2.0, 25.0),
    "DGS2": ("percent", -2.0, 25.0),
    "EFFR": ("percent", -2.0, 25.0),
    "SOFR": ("percent", -2.0, 25.0),
    "BAMLH0A0HYM2": ("percent", 0.0, 30.0),
    "DTWEXBGS": ("index", 50.0, 200.0),
    "STABLECOIN_SUPPLY": ("USD", 1e6, 1e13),
}
_UNIT_JUMP_LOG10 = 2.5  # a factor of about 316 or more in one step ...
_UNIT_POWER_TOL = 0.5  # ... within a factor 10**0.5 of 1e3, 1e6 or 1e9
_QUIET_LOG10 = 0.3  # median |log10 move| around a jump below this (a factor of 2)
_RESOLUTION = 100  # values below 100 times the data's resolution are too coarse to judge
_TOLERANT_RUN = 4  # missing weekdays tolerated on approximate calendars (holidays: 1-3)
_EXCHANGE_FROM = "1990-01-02"  # exchange calendars are trusted from here on
_FEDERAL_FROM = pd.Timestamp("1971-01-01")  # Monday holidays act (earlier dates differ)
_LOCAL_WINDOW = 63  # observations in the centred window of the local outlier scale


@dataclass
class QualityReport(Result):
    """The flags raised by the data-quality checks.

    Attributes
    ----------
    flags : DataFrame
        One row per flag with columns ``symbol``, ``check``, ``severity``, ``date`` (the
        flagged date, or the first of a run), ``end`` (last date of the run), ``n`` (dates
        or observations involved) and ``detail``.
    symbols : list of str
        The series checked.
    parameters : dict
        The thresholds used.
    totals : dict of str to int
        Flags raised per check, including those not listed beyond ``max_flags``.
    runtime_s : float
        Time taken.
    """

    flags: pd.DataFrame
    symbols: list[str]
    parameters: dict[str, Any]
    totals: dict[str, int] = field(default_factory=dict)
    runtime_s: float = 0.0
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def counts(self) -> dict[str, int]:
        """Number of flags per check, including those beyond ``max_flags`` (every check listed)."""
        if self.totals:
            return {c: int(self.totals.get(c, 0)) for c in CHECKS}
        vc = self.flags["check"].value_counts()
        return {c: int(vc.get(c, 0)) for c in CHECKS}

    @property
    def ok(self) -> bool:
        """True when no flag has severity ``error``."""
        return not (self.flags["severity"] == "error").any()

    def _payload(self) -> dict[str, Any]:
        vc = self.flags["severity"].value_counts()
        return {
            "flags": self.flags.to_dict(orient="records"),
            "counts": self.counts,
            "severity_counts": {s: int(vc.get(s, 0)) for s in SEVERITIES},
            "symbols_checked": len(self.symbols),
            "symbols": self.symbols,
            "parameters": self.parameters,
            "runtime_s": self.runtime_s,
        }

    def summary(self, max_rows: int = 40) -> Summary:
        """Counts per series and check, and the first ``max_rows`` flags (errors first)."""
        fl = self.flags
        vc = fl["severity"].value_counts()
        facts: list[tuple[str, Any]] = [
            ("series checked", len(self.symbols)),
            ("flags", len(fl)),
            *[(s, int(vc.get(s, 0))) for s in reversed(SEVERITIES)],
        ]
        tables = []
        notes = [
            f"stale runs >= {self.parameters.get('stale_run')} observations; outliers at "
            f"robust |z| >= {self.parameters.get('outlier_z')}."
        ]
        if len(fl):
            counts = fl.groupby(["symbol", "check"]).size().unstack(fill_value=0)
            counts = counts[[c for c in CHECKS if c in counts.columns]]
            tables.append(Table.from_frame("Flags per series", counts))
            rank = fl["severity"].map({s: i for i, s in enumerate(reversed(SEVERITIES))})
            shown = fl.assign(_r=rank).sort_values(["_r", "symbol", "date"], kind="stable")
            shown = shown.drop(columns="_r").head(max_rows)
            tables.append(Table.from_frame("Flags", shown, index=False))
            if len(fl) > max_rows:
                notes.append(f"showing {max_rows} of {len(fl)} flags; --json lists them all.")
        else:
            notes.append("no issues found.")
        return Summary("Data quality", facts=facts, tables=tables, notes=notes)

    def to_frame(self) -> pd.DataFrame:
        """The flags, one row each."""
        return self.flags


# --------------------------------------------------------------------------- calendars


@lru_cache(maxsize=4)
def _exchange_sessions(code: str) -> pd.DatetimeIndex:
    import exchange_calendars as xcals

    cal = xcals.get_calendar(code, start=_EXCHANGE_FROM)
    return pd.DatetimeIndex(cal.sessions).tz_localize(None).as_unit("ns")


@lru_cache(maxsize=1)
def _federal_holidays() -> pd.DatetimeIndex:
    hol = USFederalHolidayCalendar().holidays("1900-01-01", "2100-12-31")
    return pd.DatetimeIndex(hol).as_unit("ns")


def _federal_days(first: pd.Timestamp, last: pd.Timestamp) -> pd.DatetimeIndex:
    days = pd.bdate_range(first, last).as_unit("ns")
    return days[~days.isin(_federal_holidays())]


@dataclass(frozen=True)
class _Expected:
    """Expected dates of a series: required, optional, and where gaps are tolerated."""

    dates: pd.DatetimeIndex  # required dates
    optional: pd.DatetimeIndex  # allowed but not required
    tolerant_before: pd.Timestamp | None  # gaps before this date need _TOLERANT_RUN misses
    tolerant_all: bool  # the whole calendar is approximate (weekdays)
    label: str


def infer_frequency(index: pd.DatetimeIndex) -> str:
    """Guess ``"D"``, ``"B"``, ``"W-XXX"`` or ``"MS"`` from the spacing of dates."""
    if len(index) < 3:
        return ""
    step = float(np.median(np.diff(index.to_numpy()).astype("timedelta64[D]").astype(float)))
    if step <= 1.5:
        return "D" if (index.day_of_week >= 5).mean() > 0.2 else "B"
    if 6 <= step <= 8:
        day = int(pd.Series(index.day_of_week).mode().iloc[0])
        return "W-" + ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[day]
    if 27 <= step <= 32:
        return "MS" if (index.day == 1).mean() > 0.9 else "ME"
    return ""


def expected_dates(
    frequency: str, calendar: str, first: pd.Timestamp, last: pd.Timestamp
) -> _Expected | None:
    """Return the dates a series with this metadata should have between two dates.

    ``None`` when the frequency is unknown (no gap or calendar check is possible).
    """
    freq = (frequency or "").strip().upper()
    cal = (calendar or "").strip().lower()
    none = pd.DatetimeIndex([])
    if freq == "D" or "24/7" in cal or "calendar day" in cal:
        return _Expected(pd.date_range(first, last, freq="D"), none, None, False, "calendar days")
    if freq.startswith("W-"):
        try:
            weeks = pd.date_range(first, last, freq=freq)
        except ValueError:
            return None
        return _Expected(weeks, none, None, False, f"weekly ({freq})")
    if freq in ("MS", "M", "ME", "QS", "QE", "Q"):
        alias = {"M": "ME", "Q": "QE"}.get(freq, freq)
        label = {"MS": "month starts", "ME": "month ends", "QS": "quarter starts"}
        dates = pd.date_range(first, last, freq=alias)
        return _Expected(dates, none, None, False, label.get(alias, "quarter ends"))
    if freq != "B":
        return None
    code = "XNYS" if ("xnys" in cal or "nyse" in cal) else None
    code = code or ("XNAS" if ("xnas" in cal or "nasdaq" in cal) else None)
    if code is not None:
        sess = _exchange_sessions(code)
        weekdays = pd.bdate_range(first, min(last, sess[0] - pd.Timedelta(days=1)))
        inside = sess[(sess >= first) & (sess <= last)]
        dates = pd.DatetimeIndex(weekdays.append(inside)) if len(weekdays) else inside
        return _Expected(dates, none, sess[0], False, f"{code} sessions")
    if "federal" in cal or "us business" in cal or "bond" in cal:
        days = _federal_days(first, last)
        optional = none
        if "bond" in cal:
            years = range(first.year, last.year + 1)
            optional = pd.DatetimeIndex(
                [pd.Timestamp(y, 1, 1) + Easter() - pd.Timedelta(days=2) for y in years]
            )
            days = days[~days.isin(optional)]
        hol = _federal_holidays()
        optional = pd.DatetimeIndex(optional.append(hol[(hol >= first) & (hol < _FEDERAL_FROM)]))
        tolerant = _FEDERAL_FROM if first < _FEDERAL_FROM else None
        return _Expected(days, optional, tolerant, False, "US federal business days")
    return _Expected(pd.bdate_range(first, last), none, None, True, "weekdays (approximate)")


# --------------------------------------------------------------------------- checks


class _Flags:
    """Collects flags, capping each (symbol, check) at ``max_flags`` rows."""

    def __init__(self, max_flags: int) -> None:
        self.rows: list[dict[str, Any]] = []
        self.max_flags = max_flags
        self._n: dict[tuple[str, str], int] = {}

    def add(
        self,
        symbol: str,
        check: str,
        severity: str,
        date: Any,
        detail: str,
        end: Any = None,
        n: int = 1,
    ) -> None:
        key = (symbol, check)
        k = self._n.get(key, 0)
        self._n[key] = k + 1
        if k < self.max_flags:
            start = pd.Timestamp(date) if date is not None else pd.NaT
            stop = pd.Timestamp(end) if end is not None else start
            self.rows.append(
                {
                    "symbol": symbol,
                    "check": check,
                    "severity": severity,
                    "date": start,
                    "end": stop,
                    "n": int(n),
                    "detail": detail,
                }
            )

    def totals(self) -> dict[str, int]:
        """Flags raised per check, listed or not."""
        out: dict[str, int] = {}
        for (_, check_name), k in self._n.items():
            out[check_name] = out.get(check_name, 0) + k
        return out

    def finish(self) -> pd.DataFrame:
        for (symbol, check), k in self._n.items():
            if k > self.max_flags:
                last = [r for r in self.rows if r["symbol"] == symbol and r["check"] == check][-1]
                self.rows.append(
                    {
                        **last,
                        "date": pd.NaT,
                        "end": pd.NaT,
                        "n": k - self.max_flags,
                        "detail": f"{k - self.max_flags} more {check} flags not listed",
                    }
                )
        frame = pd.DataFrame(self.rows, columns=COLUMNS)
        frame["date"] = pd.to_datetime(frame["date"])
        frame["end"] = pd.to_datetime(frame["end"])
        frame["n"] = frame["n"].astype("int64")
        return frame


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Start and end (inclusive) positions of runs of True."""
    if not len(mask):
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[0::2].tolist(), (edges[1::2] - 1).tolist()))


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _check_calendar(
    out: _Flags, symbol: str, index: pd.DatetimeIndex, frequency: str, calendar: str
) -> None:
    freq = frequency
    if not (frequency or "").strip():
        freq = infer_frequency(index)
        if not freq:
            return
    exp = expected_dates(freq, calendar, index[0], index[-1])
    if exp is None:
        return
    expected = exp.dates.as_unit("ns")
    idx = index.as_unit("ns")
    present = expected.isin(idx)
    for a, b in _runs(~present):
        n = b - a + 1
        tolerant = exp.tolerant_all or (
            exp.tolerant_before is not None and expected[a] < exp.tolerant_before
        )
        if tolerant and n < _TOLERANT_RUN:
            continue
        severity = "error" if n >= 10 else ("warning" if n > 1 else "info")
        out.add(symbol, "gap", severity, expected[a], f"{n} missing {exp.label}", expected[b], n)
    allowed = expected.append(exp.optional.as_unit("ns"))
    if exp.tolerant_all or exp.tolerant_before is not None:
        extra = idx[(idx.day_of_week >= 5)]  # approximate calendars: only weekends are wrong
        if exp.tolerant_before is not None:
            extra = extra.union(idx[(idx >= exp.tolerant_before) & ~idx.isin(allowed)])
    else:
        extra = idx[~idx.isin(allowed)]
    mask = idx.isin(extra)
    for a, b in _runs(mask):
        n = b - a + 1
        weekend = bool((idx[a : b + 1].day_of_week >= 5).any())
        what = "weekend" if weekend else "holiday"
        detail = f"{n} row(s) on a {what}, not in {exp.label}"
        exchange = exp.label.endswith("sessions")
        severity = "warning" if weekend or exchange or n > 1 else "info"
        out.add(symbol, "off_calendar", severity, idx[a], detail, idx[b], n)


def _check_stale(
    out: _Flags, symbol: str, index: pd.DatetimeIndex, v: np.ndarray, kind: str, min_run: int
) -> None:
    same = np.concatenate([[False], v[1:] == v[:-1]])
    severity = "warning" if kind == "price" else "info"
    for a, b in _runs(same):
        n = b - a + 2  # the run includes the observation before the first repeat
        if n >= min_run:
            detail = f"value {_fmt(v[a])} repeated {n} times in a row"
            out.add(symbol, "stale", severity, index[a - 1], detail, index[b], n)


def _unit_jumps(v: np.ndarray) -> np.ndarray:
    """Positions ``i`` where ``v[i] / v[i-1]`` looks like a change of unit.

    The factor must be near 1e3, 1e6 or 1e9 (at least ``10**2.5``), both values well above
    the data's resolution (``0.002`` against ``0.605`` says nothing) and the series quiet
    around the jump (median move below a factor of 2).
    """
    ok = (v[1:] > 0) & (v[:-1] > 0)
    step = np.full(len(v) - 1, np.nan)
    step[ok] = np.log10(v[1:][ok] / v[:-1][ok])
    size = np.abs(step)
    near = np.abs(size - 3 * np.round(size / 3)) <= _UNIT_POWER_TOL
    big = np.flatnonzero((size >= _UNIT_JUMP_LOG10) & near)
    if not len(big):
        return np.asarray([], dtype=np.int64)
    diffs = np.abs(np.diff(v))
    diffs = diffs[diffs > 0]
    floor = _RESOLUTION * float(diffs.min()) if len(diffs) else 0.0
    keep = []
    for i in big:
        if min(v[i], v[i + 1]) < floor:
            continue
        around = np.concatenate([step[max(i - 10, 0) : i], step[i + 1 : i + 11]])
        around = np.abs(around[np.isfinite(around)])
        around = around[around < _UNIT_JUMP_LOG10]  # a spike's way back is part of it
        if len(around) and np.median(around) < _QUIET_LOG10:
            keep.append(i + 1)
    return np.asarray(keep, dtype=np.int64)


def _robust_z(r: np.ndarray) -> np.ndarray | None:
    """Robust z-scores with a local scale: 1.4826 * rolling MAD (centred window).

    Changes of exactly zero (stale stretches, pinned policy rates) are left out of the scale.
    The local scale is floored at half the global one, so quiet stretches do not turn
    ordinary moves into outliers. ``None`` when no scale can be estimated.
    """
    moving = r[r != 0]
    if len(moving) < 10:
        return None
    med = float(np.median(moving))
    dev = np.abs(r - med)
    glob = 1.4826 * float(np.median(np.abs(moving - med)))
    if not np.isfinite(glob) or glob <= 0:
        return None
    dev_moving = pd.Series(np.where(r != 0, dev, np.nan))
    local = 1.4826 * dev_moving.rolling(_LOCAL_WINDOW, center=True, min_periods=10).median()
    scale = np.fmax(local.to_numpy(), 0.5 * glob)
    scale = np.where(np.isfinite(scale), scale, glob)
    return (r - med) / scale


def _check_values(
    out: _Flags,
    symbol: str,
    index: pd.DatetimeIndex,
    v: np.ndarray,
    kind: str,
    outlier_z: float,
) -> None:
    if len(v) < 3:
        return
    jumps = _unit_jumps(v)
    for i in jumps:
        factor = v[i] / v[i - 1]
        power = int(3 * round(np.log10(factor) / 3))
        detail = (
            f"value moves from {_fmt(v[i - 1])} to {_fmt(v[i])} (x{_fmt(factor)}, about "
            f"1e{power}): units mixed (thousands/millions/billions)?"
        )
        out.add(symbol, "unit", "error", index[i], detail)
    if len(v) < 20:
        return
    positive = bool((v > 0).all())
    r = np.diff(np.log(v)) if positive else np.diff(v)
    what = "log return" if positive else "change"
    z = _robust_z(r)
    if z is None:
        return
    skip = set((jumps - 1).tolist())
    severity = "warning" if kind == "price" else "info"
    for i in np.flatnonzero(np.abs(z) >= outlier_z):
        if int(i) in skip:
            continue
        detail = f"{what} {_fmt(r[i])} (robust z {z[i]:.1f})"
        out.add(symbol, "outlier", severity, index[int(i) + 1], detail)


def _check_unit(
    out: _Flags, symbol: str, unit: str, v: np.ndarray, first: pd.Timestamp | None
) -> None:
    if not (unit or "").strip():
        out.add(symbol, "unit", "warning", first, "no unit recorded in the metadata")
        return
    base = symbol.split(".")[0].upper()
    if base not in KNOWN_UNITS:
        return
    known, lo, hi = KNOWN_UNITS[base]
    same = " ".join(unit.lower().split()) == known.lower() or (
        units.convertible(unit, known) and units.factor(unit, known) == 1.0
    )
    if not same:
        detail = f"unit {unit!r} but {base} is published in {known}"
        out.add(symbol, "unit", "error", first, detail)
        return
    if len(v):
        level = float(np.median(np.abs(v)))
        high = float(np.quantile(np.abs(v), 0.9))
        if level < lo or high > hi:
            detail = (
                f"typical level {_fmt(level)} (90th percentile {_fmt(high)}) is implausible "
                f"for {known} (expected {_fmt(lo)} to {_fmt(hi)})"
            )
            out.add(symbol, "unit", "error", first, detail)


def _check_ohlc(out: _Flags, symbol: str, frame: pd.DataFrame) -> None:
    cols = [c for c in ("open", "high", "low", "close") if c in frame.columns]
    px = {c: frame[c].to_numpy(dtype=np.float64) for c in cols}
    with np.errstate(invalid="ignore"):
        bad = np.any([px[c] <= 0 for c in cols], axis=0)
    for a, b in _runs(bad):
        out.add(symbol, "ohlc", "error", frame.index[a], "non-positive price", frame.index[b])
    body = [px[c] for c in ("open", "close") if c in px]
    if not body or ("high" not in px and "low" not in px):
        return
    top = np.fmax.reduce(body)
    bottom = np.fmin.reduce(body)
    tol = 1e-6 * np.abs(top)
    wrong = np.zeros(len(frame), dtype=bool)
    with np.errstate(invalid="ignore"):
        if "high" in px:
            wrong |= px["high"] < top - tol
        if "low" in px:
            wrong |= px["low"] > bottom + tol
        if "high" in px and "low" in px:
            wrong |= px["low"] > px["high"] + tol
    wrong &= ~bad  # already reported as non-positive
    for a, b in _runs(wrong):
        n = b - a + 1
        detail = f"high/low do not bracket open and close on {n} row(s)"
        out.add(symbol, "ohlc", "warning", frame.index[a], detail, frame.index[b], n)


def _check_series(
    out: _Flags,
    symbol: str,
    frame: pd.DataFrame,
    *,
    kind: str,
    unit: str,
    frequency: str,
    calendar: str,
    stale_run: int,
    outlier_z: float,
) -> None:
    main = "close" if kind == "price" else "value"
    if main not in frame.columns:
        main = "close" if "close" in frame.columns else "value"
    if main not in frame.columns:
        raise InputError(f"{symbol}: no 'close' or 'value' column to check")
    frame = frame[np.isfinite(frame[main].to_numpy(dtype=np.float64))]
    first = frame.index[0] if len(frame) else None
    v = frame[main].to_numpy(dtype=np.float64)
    _check_unit(out, symbol, unit, v, first)
    if len(frame) < 2:
        return
    index = pd.DatetimeIndex(frame.index)
    _check_calendar(out, symbol, index, frequency, calendar)
    _check_stale(out, symbol, index, v, kind, stale_run)
    _check_values(out, symbol, index, v, kind, outlier_z)
    if kind == "price":
        _check_ohlc(out, symbol, frame)


def _params(stale_run: int, outlier_z: float, max_flags: int) -> dict[str, Any]:
    return {
        "stale_run": check_int(stale_run, "stale_run", minimum=2),
        "outlier_z": check_float(outlier_z, "outlier_z", minimum=0, exclusive_minimum=True),
        "max_flags": check_int(max_flags, "max_flags", minimum=1),
    }


# --------------------------------------------------------------------------- entry points


def check(
    store: Any,
    symbols: Sequence[str] | None = None,
    *,
    stale_run: int = 5,
    outlier_z: float = 10.0,
    max_flags: int = 50,
) -> QualityReport:
    """Check stored series for gaps, stale values, outliers and unit problems.

    Parameters
    ----------
    store : Store
        The store to read.
    symbols : sequence of str, optional
        Symbols or universe names; every stored series by default.
    stale_run : int, default 5
        Minimum length of a run of identical values to flag.
    outlier_z : float, default 10.0
        Robust z-score of a log return (or change) at which it is flagged.
    max_flags : int, default 50
        At most this many flags per series and check are listed (plus one line counting
        the rest).

    Returns
    -------
    QualityReport

    Examples
    --------
    >>> from powderkeg.data.store import Store
    >>> check(Store(":memory:")).to_dict()["symbols_checked"]
    0
    """
    from powderkeg.data.universe import expand

    t0 = time.perf_counter()
    params = _params(stale_run, outlier_z, max_flags)
    listing = store.list_series()
    if symbols:
        syms = expand(list(symbols))
        for s in syms:
            store.series_info(s)  # raises UnknownSymbolError with suggestions
    else:
        syms = list(listing.index)
    out = _Flags(params["max_flags"])
    for sym in syms:
        meta = listing.loc[sym]
        _check_series(
            out,
            sym,
            store.history(sym),
            kind=str(meta["kind"]),
            unit=str(meta["unit"] or ""),
            frequency=str(meta["frequency"] or ""),
            calendar=str(meta["calendar"] or ""),
            stale_run=params["stale_run"],
            outlier_z=params["outlier_z"],
        )
    return QualityReport(
        flags=out.finish(),
        symbols=syms,
        parameters=params,
        totals=out.totals(),
        runtime_s=time.perf_counter() - t0,
        provenance=Provenance(
            sources=store.provenance(syms), parameters={**params, "store": store.path}
        ),
    )


def check_frame(
    frame: pd.DataFrame,
    symbol: str = "series",
    *,
    kind: str | None = None,
    unit: str = "",
    frequency: str = "",
    calendar: str = "",
    stale_run: int = 5,
    outlier_z: float = 10.0,
    max_flags: int = 50,
) -> QualityReport:
    """Check one series held in a frame, before import.

    Unlike the store, a frame may have duplicate, unsorted or missing dates; they are flagged
    (check ``dates``), then the series is sorted, de-duplicated (last value kept) and checked
    like a stored one.

    Parameters
    ----------
    frame : DataFrame
        Indexed by date, or with a ``date`` column; with ``close`` (and optionally
        ``open``/``high``/``low``/``volume``) or ``value``.
    symbol : str
        Name used in the flags; its base (before a ``.``) selects known units.
    kind : {"price", "macro"}, optional
        Detected from the columns (``close`` means price) when omitted.
    unit, frequency, calendar : str
        The metadata the series would be stored with; an empty frequency is inferred.
    stale_run, outlier_z, max_flags
        As in :func:`check`.

    Returns
    -------
    QualityReport
    """
    t0 = time.perf_counter()
    params = _params(stale_run, outlier_z, max_flags)
    df = frame.copy()
    if "date" in df.columns:
        df = df.set_index("date")
    df.columns = [str(c).lower() for c in df.columns]
    kind = kind or ("price" if "close" in df.columns else "macro")
    out = _Flags(params["max_flags"])
    idx = pd.DatetimeIndex(pd.to_datetime(df.index, errors="coerce"))
    missing = np.asarray(idx.isna())
    if missing.any():
        out.add(symbol, "dates", "error", None, f"{int(missing.sum())} missing or bad date(s)")
    df = df.loc[~missing]
    idx = idx[~missing]
    intraday = idx != idx.normalize()
    if intraday.any():
        out.add(symbol, "dates", "warning", idx[intraday][0], "timestamps with a time of day")
    pos = np.asarray(idx.asi8)
    back = np.flatnonzero(pos[1:] < pos[:-1]) + 1
    for i in back.tolist():
        detail = f"date goes backwards (after {idx[i - 1]:%Y-%m-%d})"
        out.add(symbol, "dates", "error", idx[i], detail)
    dup = idx.duplicated(keep="first")
    for d in pd.unique(idx[dup]):
        n = int((idx == d).sum())
        out.add(symbol, "dates", "error", d, f"date appears {n} times", n=n)
    df.index = idx.normalize()
    df = df[~df.index.duplicated(keep="last")].sort_index()
    df = df.apply(pd.to_numeric, errors="coerce")
    if len(df):
        _check_series(
            out,
            symbol,
            df,
            kind=kind,
            unit=unit,
            frequency=frequency,
            calendar=calendar,
            stale_run=params["stale_run"],
            outlier_z=params["outlier_z"],
        )
    return QualityReport(
        flags=out.finish(),
        symbols=[symbol],
        parameters=params,
        totals=out.totals(),
        runtime_s=time.perf_counter() - t0,
        provenance=Provenance(parameters={**params, "symbol": symbol}),
    )


def check_file(
    path: str | Path,
    symbol: str | None = None,
    *,
    date_col: str | None = None,
    **options: Any,
) -> QualityReport:
    """Check a CSV file as it is, before import (duplicates and order included).

    Parameters
    ----------
    path : str or Path
        A CSV file with a date column and numeric columns.
    symbol : str, optional
        Name for the flags (default: the file name without extension).
    date_col : str, optional
        The date column (default: one named like ``date``/``as_of``, else the first).
    **options
        Passed to :func:`check_frame` (``unit``, ``frequency``, ``calendar``, thresholds).

    Returns
    -------
    QualityReport
    """
    from powderkeg.data.sources.files import DATE_NAMES, DEFAULT_MISSING, TEXT_NAMES

    p = Path(path)
    if not p.is_file():
        raise InputError(f"file not found: {p}")
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFileError(str(p), None, f"cannot parse CSV: {exc}") from None
    raw.columns = [str(c).strip().lstrip("\ufeff") for c in raw.columns]
    lower = {c.lower(): c for c in raw.columns}
    if date_col is None:
        date_col = next((lower[n] for n in DATE_NAMES if n in lower), raw.columns[0])
    if date_col not in raw.columns:
        raise DataFileError(str(p), 1, f"no column {date_col!r}")
    values = raw.drop(columns=[date_col]).replace(list(DEFAULT_MISSING), np.nan)
    values = values[[c for c in values.columns if c.lower() not in TEXT_NAMES]]
    numeric = values.apply(pd.to_numeric, errors="coerce")
    numeric.columns = [c.lower() for c in numeric.columns]
    if "close" not in numeric.columns:
        if "adj close" in numeric.columns:
            numeric = numeric.rename(columns={"adj close": "close"})
        else:
            first_num = [c for c in numeric.columns if numeric[c].notna().any()][:1]
            numeric = numeric[first_num].rename(columns={c: "value" for c in first_num})
    keep = [c for c in ("open", "high", "low", "close", "volume", "value") if c in numeric]
    numeric = numeric[keep]
    main = "close" if "close" in numeric.columns else "value"
    if main not in numeric.columns:
        raise DataFileError(str(p), None, "no numeric column to check")
    dates = pd.to_datetime(raw[date_col].str.strip(), errors="coerce", format="mixed")
    frame = numeric.set_axis(pd.DatetimeIndex(dates), axis=0)
    frame = frame[frame[main].notna() | frame.index.isna()]
    return check_frame(frame, symbol or p.stem, **options)
