"""The bubble-pressure gauge on the real store, fundamentals files and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from powderkeg.bubbles.gauges import (
    DEFAULT_WEIGHTS,
    bubble_gauge,
    example_fundamentals_path,
    load_fundamentals,
)
from powderkeg.cli.main import run
from powderkeg.exceptions import DataFileError, InputError, InsufficientDataError

SMALL = {"AI basket": ("NVDA", "MSFT"), "indices": ("^IXIC",), "crypto": ("BTC-USD",)}


def test_example_fundamentals_has_sources() -> None:
    fund = load_fundamentals(example_fundamentals_path())
    assert fund.table["source"].str.len().gt(10).all()
    ratio, year = fund.capex_revenue()
    assert year == 2025 and 5 < ratio < 8  # ~$374bn capex vs ~$60bn revenue


def test_fundamentals_csv_and_debt_growth(tmp_path: Path) -> None:
    f = tmp_path / "f.csv"
    f.write_text(
        "entity,year,metric,value,source\n"
        "X,2024,debt,100,10-K\nX,2025,debt,130,10-K\n"
        "X,2025,capex,50,10-K\nX,2025,revenue,10,10-K\n"
    )
    fund = load_fundamentals(f)
    assert fund.debt_growth() == (pytest.approx(0.3), 2025)
    assert fund.capex_revenue() == (pytest.approx(5.0), 2025)
    bad = tmp_path / "bad.csv"
    bad.write_text("entity,year,metric,value,source\nX,2025,capex,50,\n")
    with pytest.raises(DataFileError, match="line 2: missing source"):
        load_fundamentals(bad)


def test_gauge_on_real_store_contributions_sum(real_store, tmp_path: Path) -> None:
    f = tmp_path / "f.yaml"
    f.write_text(
        "figures:\n"
        "  - {entity: X, year: 2024, metric: debt, value: 100, source: s}\n"
        "  - {entity: X, year: 2025, metric: debt, value: 120, source: s}\n"
        "  - {entity: X, year: 2025, metric: capex, value: 400, source: s}\n"
        "  - {entity: X, year: 2025, metric: revenue, value: 60, source: s}\n"
    )
    res = bubble_gauge(
        real_store, groups=SMALL, fundamentals=f, psy_reps=49, lppls_days=1, weights={"vix": 0.5}
    )
    comp = res.components
    used = comp[comp["used"]]
    assert set(comp.index) == set(DEFAULT_WEIGHTS)
    assert used["contribution"].sum() == pytest.approx(res.gauge, abs=1e-12)
    assert used["weight_share"].sum() == pytest.approx(1.0)
    assert comp.loc["vix", "weight"] == 0.5
    assert ((used["score"] >= 0) & (used["score"] <= 1)).all()
    assert 0 <= res.gauge <= 1
    assert comp.loc["debt_growth", "value"] == pytest.approx(0.2)
    assert comp.loc["capex_revenue", "score"] == pytest.approx((400 / 60 - 1) / 9)
    assert {"hy_spread", "vix", "btc_ai_corr", "liquidity_drain"} <= set(used.index)
    assert res.series["psy_episode"].notna().all()
    json.dumps(res.to_dict(), allow_nan=False)


def test_gauge_rejects_unknown_weight(real_store) -> None:
    with pytest.raises(InputError, match="unknown gauge weight"):
        bubble_gauge(real_store, groups=SMALL, weights={"nope": 1.0}, psy=False)


def test_gauge_cli_json_contributions_sum(real_store_path: Path, capsys) -> None:
    code = run(
        [
            "--db",
            str(real_store_path),
            "--json",
            "bubble",
            "gauge",
            "--no-psy",
            "--lppls-days",
            "1",
            "--fundamentals",
            "example",
            "--weights",
            "lppls=1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    comps = [c for c in doc["components"] if c["used"]]
    assert sum(c["contribution"] for c in comps) == pytest.approx(doc["gauge"], abs=1e-12)
    psy = next(c for c in doc["components"] if c["name"] == "psy")
    assert psy["used"] is False and psy["reason"]
    assert all(f["source"] for f in doc["fundamentals"])
    assert np.isfinite(doc["gauge"])


def test_gauge_cli_bad_weights(real_store_path: Path, capsys) -> None:
    code = run(["--db", str(real_store_path), "bubble", "gauge", "--weights", "vix"])
    assert code == 2
    assert "--weights" in capsys.readouterr().err


def test_gauge_hy_spread_extended_by_recent_file(real_store) -> None:
    # BAMLH0A0HYM2 ends 2025-12-31; the gauge must read the spliced BAMLH0A0HYM2.RECENT
    # (as liq capital does) rather than an eight-month-old spread.
    res = bubble_gauge(real_store, groups=SMALL, psy=False, lppls_days=1)
    last_recent = real_store.frame(["BAMLH0A0HYM2.RECENT"])["BAMLH0A0HYM2.RECENT"].dropna()
    hy = res.components.loc["hy_spread"]
    assert hy["value"] == pytest.approx(float(last_recent.iloc[-1]))
    assert f"on {last_recent.index[-1]:%Y-%m-%d}" in hy["display"]


def test_gauge_asof_before_some_series_start(real_store) -> None:
    # BTC-USD starts in 2014 and the HY OAS in 1996: both are left out, not an IndexError
    groups = {"indices": ("^IXIC",), "crypto": ("BTC-USD",)}
    res = bubble_gauge(real_store, groups=groups, asof="1995-01-02", psy=False, lppls_days=1)
    assert list(res.series.index) == ["^IXIC"]
    assert any("BTC-USD: no observations up to 1995-01-02" in n for n in res.notes)
    assert not res.components.loc["hy_spread", "used"]
    assert 0 <= res.gauge <= 1
    with pytest.raises(InsufficientDataError, match="none of the gauge's series"):
        bubble_gauge(real_store, groups=groups, asof="1960-01-04", psy=False, lppls_days=1)
