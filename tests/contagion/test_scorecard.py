"""Scorecard arithmetic against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from powderkeg.contagion.scorecard import (
    Extreme,
    extreme_move,
    extreme_moves,
    score_amount,
    score_event,
    score_moves,
)
from powderkeg.exceptions import InputError


def test_extreme_is_the_largest_absolute_move_and_skips_missing_days() -> None:
    # BTC-like: +5%, weekend gap, -40% trough on day 3, recovery to -10%
    moves = np.array([0.05, np.nan, -0.2, -0.4, -0.1])
    assert extreme_move(moves) == Extreme(-0.4, 3)
    # a rally larger than the dip wins
    assert extreme_move(np.array([-0.1, 0.3, 0.2])) == Extreme(0.3, 1)
    # ties go to the earliest day
    assert extreme_move(np.array([0.2, -0.2])) == Extreme(0.2, 0)


def test_extreme_of_an_empty_window_is_an_error() -> None:
    with pytest.raises(InputError, match="no finite value"):
        extreme_move(np.array([np.nan, np.nan]))


def test_per_path_extremes() -> None:
    x = np.array([[0.0, -0.5, -0.3], [0.1, 0.4, -0.2], [-0.1, -0.1, -0.05]])
    values, days = extreme_moves(x)
    np.testing.assert_array_equal(values, [-0.5, 0.4, -0.1])
    np.testing.assert_array_equal(days, [1, 1, 0])


def test_score_moves_by_hand() -> None:
    # observed trough -0.70 on day 22; eleven paths with troughs -0.30 ... -0.80
    observed = Extreme(-0.70, 22)
    values = np.linspace(-0.80, -0.30, 11)  # median -0.55
    days = np.array([20, 21, 21, 22, 24, 25, 25, 26, 27, 30, 31])  # median 25
    s = score_moves(observed, values, days)
    assert s.model == pytest.approx(-0.55)
    assert s.size_error == pytest.approx(-0.55 - (-0.70))  # +0.15: model too mild
    assert s.model_day == 25
    assert s.timing_error == 3
    assert s.direction_right is True
    # 5% and 95% quantiles (linear): -0.775 and -0.325
    assert s.model_low == pytest.approx(-0.775)
    assert s.model_high == pytest.approx(-0.325)
    assert s.covered is True


def test_wrong_direction_and_not_covered() -> None:
    # history: BTC rose 24% (SVB 2023); model: it falls on every path
    s = score_moves(Extreme(0.24, 15), np.array([-0.3, -0.2, -0.1]), np.array([2, 3, 4]))
    assert s.direction_right is False
    assert s.size_error == pytest.approx(-0.2 - 0.24)
    assert s.covered is False
    assert s.timing_error == 3 - 15


def test_score_amount_is_a_log_ratio() -> None:
    # published USD 19 bn of liquidations; model median 38 bn: log(2) too large
    s = score_amount(19.0, 0, np.array([30.0, 38.0, 50.0]), np.array([0, 0, 1]))
    assert s.size_error == pytest.approx(math.log(2.0))
    assert s.model_day == 0 and s.timing_error == 0
    assert s.direction_right is None
    with pytest.raises(InputError, match="positive"):
        score_amount(0.0, 0, np.array([1.0]))


def test_score_event_probability_and_timing() -> None:
    # a lender failed on day 38; the model has it on 3 of 4 paths, days 30, 36, 40
    s = score_event(True, 38, np.array([30, -1, 36, 40]))
    assert s.model == pytest.approx(0.75)
    assert s.direction_right is True
    assert s.model_day == 36 and s.timing_error == -2
    # the model says likely, history says it did not happen
    s = score_event(False, None, np.array([3, 4, -1]))
    assert s.direction_right is False
    assert s.timing_error is None
    # never in the model
    s = score_event(True, 10, np.array([-1, -1]))
    assert s.model == 0.0 and s.model_day is None and s.direction_right is False
