"""Small shared transforms: returns, annualisation and windows cut at an as-of date."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from powderkeg._validation import check_option, optional_date
from powderkeg.exceptions import InsufficientDataError

RETURN_KINDS = ("log", "simple")


def returns(prices: pd.DataFrame | pd.Series, kind: str = "log") -> pd.DataFrame | pd.Series:
    r"""Period returns between consecutive rows (the first row is dropped).

    Under the ``intersection`` calendar a return spans the gap between consecutive common
    dates, so BTC's Friday-to-Monday move is one return.

    Parameters
    ----------
    prices : DataFrame or Series
        Positive price levels.
    kind : {"log", "simple"}
        ``log`` gives :math:`\ln(p_t/p_{t-1})`, ``simple`` gives :math:`p_t/p_{t-1}-1`.
    """
    check_option(kind, "kind", RETURN_KINDS)
    ratio = prices / prices.shift(1)
    out = cast("pd.DataFrame | pd.Series", np.log(ratio)) if kind == "log" else ratio - 1.0
    return out.iloc[1:]


def periods_per_year(index: pd.DatetimeIndex) -> float:
    """Estimate observations per year from a date index (365 for 24/7 data, ~252 for sessions)."""
    if len(index) < 3:
        return 252.0
    span_years = (index[-1] - index[0]).days / 365.25
    return float((len(index) - 1) / span_years) if span_years > 0 else 252.0


def window_ending(frame: pd.DataFrame, asof: Any, window: int | None) -> pd.DataFrame:
    """Rows of ``frame`` up to ``asof`` (inclusive); the last ``window`` rows if given."""
    end = optional_date(asof, "asof")
    out = frame if end is None else frame.loc[frame.index <= end]
    if window is not None:
        if len(out) < window:
            raise InsufficientDataError(
                f"only {len(out)} aligned observations up to {end:%Y-%m-%d}, need {window}"
                if end is not None
                else f"only {len(out)} aligned observations, need {window}"
            )
        out = out.iloc[-window:]
    return out
