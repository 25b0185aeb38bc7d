"""``stress validate`` end to end on the real reference data (CLI, API, observations by hand)."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from powderkeg.api.app import ApiSettings, create_app
from powderkeg.cli.main import run
from powderkeg.contagion.episode_spec import load_episode
from powderkeg.contagion.multipliers import Multipliers
from powderkeg.contagion.observed import observe
from powderkeg.contagion.scorecard import Extreme
from powderkeg.contagion.validation import run_validation
from tests.api.conftest import TOKEN, auth, strip_volatile


def _closes(path: Path, field: str = "close") -> dict[str, float]:
    with path.open(newline="") as f:
        return {r["date"]: float(r[field]) for r in csv.DictReader(f) if r[field]}


def test_observed_btc_move_by_hand(real_store, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    """SVB 2023: BTC's largest move from its 7 Mar close, read from the raw CSV file."""
    closes = _closes(shared_data / "raw" / "guydekowski__market-lab" / "BTC_USD.csv")
    base = closes["2023-03-07"]
    window = [f"2023-03-{d:02d}" for d in range(8, 29)]
    moves = {d: math.log(closes[d] / base) for d in window}
    day, value = max(moves.items(), key=lambda kv: abs(kv[1]))
    ep = load_episode("svb-2023")
    obs = observe(real_store, ep, next(t for t in ep.outcomes.targets if t.key == "btc"))
    assert obs.extreme is not None and obs.missing is None
    assert obs.extreme.value == pytest.approx(value, abs=1e-9)
    assert obs.extreme.day == ep.scenario.day_of(day) == 15


def test_yields_are_level_changes_and_missing_series_are_named(real_store) -> None:  # type: ignore[no-untyped-def]
    ep = load_episode("march-2020")
    y = observe(real_store, ep, next(t for t in ep.outcomes.targets if t.key == "ten_year_yield"))
    # DGS10 fell from 1.55% (18 Feb 2020, the last value before the start) to 0.54% on
    # 9 Mar 2020, day 19 of the window: -1.01 pp (raw file jonsflow__risk-model/DGS10.csv)
    assert y.extreme == Extreme(pytest.approx(0.54 - 1.55), 19)
    assert observe(None, ep, ep.outcomes.targets[0]).missing == "no store given"


def test_cli_validate_scorecard(real_store_path: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    db = tmp_path / "real.duckdb"
    shutil.copy(real_store_path, db)
    argv = ["--db", str(db), "--json", "stress", "validate", "--episode", "svb-2023",
            "--episode", "oct-2025", "--paths", "8", "--calibration", "none"]  # fmt: skip
    assert run(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["episode"] for e in data["episodes"]] == ["svb-2023", "oct-2025"]
    svb = data["episodes"][0]
    btc = next(r for r in svb["targets"] if r["key"] == "btc")
    assert btc["observed"] == pytest.approx(math.log(28333.97 / 22219.77), abs=1e-3)
    assert btc["size_error"] == pytest.approx(btc["model"] - btc["observed"])
    assert btc["timing_error"] == btc["model_day"] - btc["observed_day"]
    usdc = next(r for r in svb["targets"] if r["key"] == "usdc_price")
    assert usdc["observed"] == pytest.approx(math.log(0.87)) and usdc["observed_day"] == 3
    vix = next(r for r in svb["targets"] if r["key"] == "vix")
    # the VIX rose from 19.59 (7 Mar 2023) to 26.52 on 13 Mar (day 5); the stress index rises
    assert vix["observed"] == pytest.approx(math.log(26.52 / 19.59), abs=1e-4)
    assert vix["observed_day"] == 5 and vix["direction_right"] is True
    assert vix["size_error"] is None  # a stress index and the VIX share no unit
    mechs = {m["mechanism"]: m for m in svb["mechanisms"]}
    assert mechs["policy"]["history_fired"] is True and mechs["policy"]["model_fired"] is True
    assert svb["direction_scored"] == sum(r["direction_right"] is not None for r in svb["targets"])
    assert svb["held_out_error"] is None  # uncalibrated: no folds
    liq = next(r for r in data["episodes"][1]["targets"] if r["key"] == "liquidations")
    assert liq["observed"] == 19.0 and liq["unit"] == "USD bn"
    assert liq["size_error"] == pytest.approx(math.log(liq["model"] / 19.0))
    # the same run again is answered from the store's cache, identically
    assert run(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert strip_volatile(again) == strip_volatile(data)
    # tables for people
    assert run(argv[:2] + argv[3:]) == 0
    out = capsys.readouterr().out
    assert "Model validation" in out and "svb-2023" in out and "mechanisms" in out


def test_missing_data_is_listed_not_scored(tmp_path: Path) -> None:
    from powderkeg.data.store import Store

    with Store(tmp_path / "empty.duckdb") as store:
        res = run_validation([load_episode("oct-2025")], store, multipliers=Multipliers(), paths=8)
    rows = {r["key"]: r for r in res.payload["episodes"][0]["targets"]}
    assert "BTC-USD is not in the store" in rows["btc"]["missing"]
    assert "size_error" not in rows["btc"]
    # the published liquidation figure is still scored
    assert rows["liquidations"]["observed"] == 19.0
    assert "not scored" in res.summary().as_text()


def test_api_validate_job_matches_cli(real_store_path: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    db = tmp_path / "api.duckdb"
    shutil.copy(real_store_path, db)
    fresh = tmp_path / "cli.duckdb"
    shutil.copy(real_store_path, fresh)
    argv = ["--db", str(fresh), "--json", "stress", "validate", "--episode", "oct-2025",
            "--paths", "8"]  # fmt: skip
    assert run(argv) == 0
    expected = json.loads(capsys.readouterr().out)
    from tests.api.test_jobs import wait

    with TestClient(create_app(ApiSettings(db=str(db), token=TOKEN))) as client:
        r = client.post("/api/jobs/stress/validate", json={"episodes": ["oct-2025"], "paths": 8},
                        headers=auth())  # fmt: skip
        assert r.status_code == 202, r.text
        job = wait(client, r.json()["id"], timeout=120)
        bad = client.post("/api/jobs/stress/validate", json={"episodes": ["lehman-2008"]},
                          headers=auth())  # fmt: skip
        cal = client.get("/api/stress/calibration").json()
    assert job["status"] == "finished", job
    assert strip_volatile(job["result"]) == strip_volatile(expected)
    assert expected["episodes"][0]["held_out_error"] is not None  # shipped folds replayed
    assert bad.status_code == 422 and "lehman-2008" in bad.text
    assert set(cal["multipliers"]) == set(Multipliers.names())
