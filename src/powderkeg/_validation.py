"""Argument validation helpers with messages that name the argument and the bad value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from powderkeg.exceptions import InputError

T = TypeVar("T")


def check_int(
    value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` as an int, raising :class:`InputError` naming ``name`` if invalid."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {value!r}")
    out = int(value)
    if minimum is not None and out < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {out}")
    if maximum is not None and out > maximum:
        raise InputError(f"{name} must be <= {maximum}, got {out}")
    return out


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
) -> float:
    """Return ``value`` as a finite float; raise :class:`InputError` naming ``name`` if not."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(out):
        raise InputError(f"{name} must be finite, got {value!r}")
    if minimum is not None:
        if exclusive_minimum and out <= minimum:
            raise InputError(f"{name} must be > {minimum}, got {out}")
        if not exclusive_minimum and out < minimum:
            raise InputError(f"{name} must be >= {minimum}, got {out}")
    if maximum is not None and out > maximum:
        raise InputError(f"{name} must be <= {maximum}, got {out}")
    return out


def check_option(value: T, name: str, options: Iterable[T]) -> T:
    """Return ``value`` if it is one of ``options``; otherwise raise listing them."""
    opts = list(options)
    if value not in opts:
        listed = ", ".join(repr(o) for o in opts)
        raise InputError(f"{name} must be one of {listed}; got {value!r}")
    return value


def check_date(value: Any, name: str) -> pd.Timestamp:
    """Parse ``value`` as a date (normalised, timezone-naive)."""
    if isinstance(value, pd.Timestamp):
        ts = value
    else:
        try:
            ts = pd.Timestamp(value)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a date like 2025-12-10, got {value!r}") from None
    if ts is pd.NaT or pd.isna(ts):
        raise InputError(f"{name} must be a date like 2025-12-10, got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def optional_date(value: Any, name: str) -> pd.Timestamp | None:
    """Like :func:`check_date` but passes ``None`` through."""
    return None if value is None else check_date(value, name)


def as_float_array(x: Any, name: str, *, ndim: int = 1, allow_nan: bool = False) -> np.ndarray:
    """Return a contiguous float64 array of the given dimension."""
    try:
        arr = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(f"{name} must be numeric") from None
    if arr.ndim != ndim:
        raise InputError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise InputError(f"{name} contains {bad} missing or infinite values")
    return arr


def as_series(x: Any, name: str) -> pd.Series:
    """Return ``x`` as a float Series with a DatetimeIndex when it has one."""
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1:
            raise InputError(f"{name} must be a single series, got {x.shape[1]} columns")
        x = x.iloc[:, 0]
    if isinstance(x, pd.Series):
        return x.astype("float64")
    arr = as_float_array(x, name, allow_nan=True)
    return pd.Series(arr, name=name)
