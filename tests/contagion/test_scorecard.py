"""Scorecard arithmetic against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from powderkeg.contagion.scorecard import (
    Extreme,
    extreme_move,
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


def test_score_moves_by_hand() -> None:
    """Three paths over four days; the median path is (0, -0.2, -0.4, -0.3)."""
    moves = np.array(
        [
            [0.0, -0.2, -0.5, -0.3],
            [0.1, -0.1, -0.3, -0.4],
            [0.0, -0.3, -0.4, -0.2],
        ]
    )
    s = score_moves(Extreme(-0.35, 3), moves)
    assert s.model == pytest.approx(-0.4) and s.model_day == 2
    assert s.size_error == pytest.approx(-0.05)  # model trough 5 log points too deep
    assert s.timing_error == -1
    assert s.direction_right is True
    # 5% and 95% quantiles (linear) of day 2: -0.5 + 0.1·0.1 and -0.4 + 0.9·0.1
    assert s.model_low == pytest.approx(-0.49)
    assert s.model_high == pytest.approx(-0.31)
    # coverage is judged on the observed day (day 3: -0.39 to -0.21)
    assert s.covered is True
    assert score_moves(Extreme(-0.45, 3), moves).covered is False


def test_wrong_direction_and_not_covered() -> None:
    # history: BTC rose 24% (SVB 2023); model: it falls on every path
    moves = np.array([[-0.1, -0.3], [-0.05, -0.2], [0.0, -0.1]])
    s = score_moves(Extreme(0.24, 1), moves)
    assert s.direction_right is False
    assert s.model == pytest.approx(-0.2) and s.model_day == 1
    assert s.size_error == pytest.approx(-0.2 - 0.24)
    assert s.covered is False
    with pytest.raises(InputError, match="shape"):
        score_moves(Extreme(0.1, 0), np.array([0.1, 0.2]))


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
