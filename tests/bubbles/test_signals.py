"""Signal evaluation: events, scores and long real histories."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powderkeg.bubbles.signals import evaluate_signals, forward_drawdown_events, score_signal
from powderkeg.cli.main import run


def test_forward_drawdown_events() -> None:
    idx = pd.date_range("2020-01-31", periods=6, freq="ME")
    p = pd.Series([100, 110, 85, 90, 95, 100.0], index=idx)
    ev, complete = forward_drawdown_events(p, 0.2, 60)
    # from 110 to 85 is -22.7% within 60 days; from 100 to 85 only -15%
    assert ev.tolist() == [False, True, False, False, False, False]
    assert complete.tolist() == [True, True, True, True, False, False]


def test_score_signal() -> None:
    s = pd.Series([True, True, False, False, True])
    e = pd.Series([True, False, True, False, False])
    sc = score_signal(s, e)
    assert sc["precision"] == pytest.approx(1 / 3)
    assert sc["recall"] == pytest.approx(1 / 2)
    assert sc["base_rate"] == pytest.approx(2 / 5)
    assert sc["lift"] == pytest.approx((1 / 3) / (2 / 5))


def test_ixic_monthly_since_1971(real_store) -> None:
    price = real_store.frame(["^IXIC"])["^IXIC"].dropna()
    price.name = "^IXIC"
    res = evaluate_signals(price, freq="M", psy_reps=49, seed=1, lppls_outer_step=3)
    assert res.prices.index[0].year <= 1971
    assert set(res.scores) == {"psy", "lppls", "any"}
    for sc in res.scores.values():
        assert sc["base_rate"] == pytest.approx(res.base_rate)
        assert sc["true_positives"] <= sc["n_flags"]
    assert 0 < res.base_rate < 0.2  # 20% falls within 2 months are rare
    assert res.scores["psy"]["n_flags"] > 0  # the dot-com episode is flagged
    json.dumps(res.to_dict(), allow_nan=False)
    assert "precision" in str(res)


def test_signals_cli_shiller(real_store_path: Path, capsys) -> None:
    code = run(
        [
            "--db",
            str(real_store_path),
            "--json",
            "bubble",
            "signals",
            "SP500.SHILLER",
            "--no-lppls",
            "--reps",
            "29",
            "--drawdown",
            "0.15",
            "--horizon",
            "90",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["start"].startswith("1871")
    assert set(doc["scores"]) == {"psy", "any"}
    assert doc["provenance"]["parameters"]["drawdown"] == 0.15
    assert np.isfinite(doc["base_rate"])
