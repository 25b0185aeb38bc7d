"""Canonical in-memory records that every source produces and the store consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from powderkeg._validation import check_option

PRICE_FIELDS = ("open", "high", "low", "close", "volume")
OBSERVATION_FIELDS = (*PRICE_FIELDS, "value")
KINDS = ("price", "macro")


@dataclass(frozen=True)
class SeriesMeta:
    """Descriptive metadata of one series.

    Parameters
    ----------
    symbol : str
        Yahoo-style market symbol (``BTC-USD``, ``^IXIC``) or FRED id (``WALCL``).
    kind : {"price", "macro"}
        ``price`` rows carry OHLCV (``close`` is the main value); ``macro`` rows one ``value``.
    unit : str
        Unit of the main value, e.g. ``"USD"``, ``"USD millions"``, ``"percent"``.
    frequency : str
        ``"D"`` (calendar days), ``"B"`` (business days / sessions), ``"W-WED"``, ``"MS"``...
    calendar : str
        A description of the calendar (``"24/7 UTC day"``, ``"XNYS sessions"``).
    source : str
        Where the data came from (``"file:/path"``, ``"fred"``, ``"yahoo"``...).
    description : str
        Free text.
    """

    symbol: str
    kind: str = "price"
    unit: str = ""
    frequency: str = ""
    calendar: str = ""
    source: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        check_option(self.kind, "kind", KINDS)
        if not self.symbol or not self.symbol.strip():
            raise ValueError("symbol must be a non-empty string")


@dataclass
class SeriesData:
    """One series ready to be written: metadata plus a date-indexed frame of observations.

    The frame has a sorted, unique, timezone-naive ``DatetimeIndex`` of dates (midnight)
    and float64 columns drawn from :data:`OBSERVATION_FIELDS`. Rows whose main value
    (``close`` for prices, ``value`` for macro) is missing are not stored.
    """

    meta: SeriesMeta
    frame: pd.DataFrame
    sha256: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        main = "close" if self.meta.kind == "price" else "value"
        frame = self.frame
        if main not in frame.columns:
            raise ValueError(f"series {self.meta.symbol!r} has no {main!r} column")
        unknown = set(frame.columns) - set(OBSERVATION_FIELDS)
        if unknown:
            raise ValueError(f"unknown observation fields {sorted(unknown)}")
        finite = np.isfinite(frame[main].to_numpy(dtype=np.float64))
        if not finite.all():
            frame = frame[finite]
        self.frame = frame.astype("float64")  # lazy under copy-on-write

    @property
    def main_field(self) -> str:
        """Name of the main value column (``close`` or ``value``)."""
        return "close" if self.meta.kind == "price" else "value"

    def __len__(self) -> int:
        return len(self.frame)
