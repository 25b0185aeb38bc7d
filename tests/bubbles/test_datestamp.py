"""Date-stamping episodes from a BSADF sequence and its critical values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from powderkeg.bubbles.datestamp import datestamp, default_min_duration
from powderkeg.exceptions import InputError


def _series(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2020-01-01", periods=len(values), freq="D"))


def test_runs_shorter_than_min_duration_are_dropped() -> None:
    bsadf = _series([0, 2, 2, 0, 2, 2, 2, 2, 0, 0])
    cv = _series([1.0] * 10)
    eps = datestamp(bsadf, cv, min_duration=3)
    assert len(eps) == 1
    e = eps[0]
    assert e.start == bsadf.index[4] and e.end == bsadf.index[8]
    assert e.duration == 4 and not e.ongoing


def test_peak_is_highest_price_and_ongoing_has_no_end() -> None:
    bsadf = _series([0, 0, 3, 3, 3, 3])
    cv = _series([1.0] * 6)
    price = _series([1, 2, 5, 9, 7, 8])
    (e,) = datestamp(bsadf, cv, price, min_duration=2)
    assert e.ongoing and e.end is None
    assert e.peak == price.index[3] and e.peak_stat == 3
    assert e.to_dict()["end"] is None


def test_varying_cv_sequence_and_nan_cv() -> None:
    bsadf = _series([1.5, 1.5, 1.5, 1.5, 1.5])
    cv = _series([2.0, 1.0, 1.0, np.nan, 1.0])
    eps = datestamp(bsadf, cv, min_duration=1)
    assert [(e.start, e.end) for e in eps] == [
        (bsadf.index[1], bsadf.index[3]),
        (bsadf.index[4], None),
    ]


def test_default_min_duration_is_log_t() -> None:
    assert default_min_duration(1680) == 7  # PSY 2015's S&P sample: log(1680) = 7.4
    assert default_min_duration(4400) == 8
    assert default_min_duration(100, delta=2) == 9
    eps = datestamp(_series([2.0] * 3 + [0.0] * 17), _series([1.0] * 20))  # log(20) ~ 3
    assert len(eps) == 1


def test_mismatched_index_rejected() -> None:
    with pytest.raises(InputError, match="index"):
        datestamp(_series([1.0, 2.0]), _series([1.0, 2.0, 3.0]))
    with pytest.raises(InputError, match="min_duration"):
        datestamp(_series([1.0, 2.0]), _series([1.0, 2.0]), min_duration=0)
