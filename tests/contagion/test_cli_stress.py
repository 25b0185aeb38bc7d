"""``powderkeg stress`` and ``powderkeg scenario btc`` through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from powderkeg.cli.main import run
from powderkeg.contagion.scenario_spec import builtin_dir


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert run(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_stress_list(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    assert run(["--db", db, "stress", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("ai-correction", "covid-2020", "oracle-shock", "tightening-2022"):
        assert name in out
    data = _json(capsys, ["--db", db, "--json", "stress", "list"])
    assert {s["name"] for s in data["scenarios"]} >= {"ai-correction", "covid-2020"}
    assert all(s["description"] for s in data["scenarios"])


def test_stress_run_json_and_cache(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    argv = [
        "--db",
        db,
        "--json",
        "stress",
        "run",
        "ai-correction",
        "--paths",
        "120",
        "--days",
        "12",
        "--seed",
        "3",
    ]
    first = _json(capsys, argv)
    for key in (
        "paths",
        "seed",
        "defaults",
        "losses",
        "asset_drawdowns",
        "btc",
        "runtime_s",
        "provenance",
    ):
        assert key in first
    assert first["paths"] == 120 and first["seed"] == 3 and not first["cached"]
    second = _json(capsys, argv)
    assert second["cached"] and second["losses"] == first["losses"]
    third = _json(capsys, [*argv, "--no-cache"])
    assert not third["cached"] and third["btc"] == first["btc"]


def test_stress_run_prints_tables(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert (
        run(
            [
                "--db",
                str(tmp_path / "s.duckdb"),
                "stress",
                "run",
                "oracle-shock",
                "--paths",
                "50",
                "--days",
                "8",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Losses and defaults by institution group" in out
    assert "Fire sales" in out and "BTC" in out


def test_stress_run_user_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = yaml.safe_load((builtin_dir() / "covid-2020.yaml").read_text(encoding="utf-8"))
    data["name"] = "my-covid"
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = _json(
        capsys,
        [
            "--db",
            str(tmp_path / "s.duckdb"),
            "--json",
            "stress",
            "run",
            str(path),
            "--paths",
            "40",
            "--days",
            "6",
        ],
    )
    assert out["scenario"]["name"] == "my-covid"


def test_stress_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    assert run(["--db", db, "stress", "run", "ai-correction", "--paths", "2000000"]) == 2
    assert "--paths must be <= 1000000" in capsys.readouterr().err
    assert run(["--db", db, "stress", "run", "no-such-scenario"]) == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert (
        run(
            [
                "--db",
                db,
                "stress",
                "run",
                "ai-correction",
                "--workers",
                "2",
                "--scheduler",
                "tcp://127.0.0.1:1",
            ]
        )
        == 2
    )
    assert "either workers" in capsys.readouterr().err
    data = yaml.safe_load((builtin_dir() / "ai-correction.yaml").read_text(encoding="utf-8"))
    data["policy"]["lag_dayz"] = 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert run(["--db", db, "stress", "run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "policy.lag_dayz" in err


def test_scenario_btc(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    out = _json(
        capsys,
        [
            "--db",
            db,
            "--json",
            "scenario",
            "btc",
            "--ai-shock",
            "40",
            "--policy-lag-weeks",
            "6",
            "--paths",
            "300",
            "--days",
            "120",
            "--grid-paths",
            "60",
        ],
    )
    assert out["ai_shock"] == 0.4 and out["policy_lag_days"] == 42
    assert 0 <= out["p_survive_first_hit"] <= 1 and 0 <= out["p_gain_second_wave"] <= 1
    assert len(out["grid"]) == 20 and len(out["fan"]["q50"]) == 121
    assert out["start_price"] == 100.0  # empty store: the fan is an index
    assert (
        run(
            [
                "--db",
                db,
                "scenario",
                "btc",
                "--paths",
                "100",
                "--days",
                "60",
                "--grid-paths",
                "30",
                "--no-policy",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "P(survives first hit" in text and "Sensitivity" in text
    assert run(["--db", db, "scenario", "btc", "--ai-shock", "120"]) == 2


def test_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["stress", "run", "--help"]) == 0
    assert "powderkeg stress run ai-correction --paths 10000" in capsys.readouterr().out
    assert run(["scenario", "btc", "--help"]) == 0
    assert "--policy-lag-weeks" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [["--chunk", "0"], ["--chunk", "-3"], ["--scheduler", "bogus"], ["--scheduler", "tcp://x"]],
)
def test_stress_bad_chunk_or_scheduler_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str]
) -> None:
    # --chunk 0 was a ZeroDivisionError and a port-less --scheduler a ValueError (exit 1)
    db = str(tmp_path / "s.duckdb")
    assert run(["--db", db, "stress", "run", "ai-correction", "--paths", "10", *extra]) == 2
    assert "error:" in capsys.readouterr().err


def test_scenario_btc_bad_scheduler_exits_2(tmp_path: Path) -> None:
    db = str(tmp_path / "s.duckdb")
    assert run(["--db", db, "scenario", "btc", "--paths", "10", "--scheduler", "bogus"]) == 2


def test_scenario_btc_negative_seed_exits_2(tmp_path: Path) -> None:
    # was a NumPy ValueError from SeedSequence (exit 1)
    db = str(tmp_path / "s.duckdb")
    assert run(["--db", db, "scenario", "btc", "--paths", "10", "--seed", "-1"]) == 2


@pytest.mark.parametrize("start", ["notadate", "2026-02-30"])
def test_scenario_drain_bad_start_exits_2(tmp_path: Path, start: str) -> None:
    # was a pandas DateParseError (exit 1)
    db = str(tmp_path / "s.duckdb")
    assert run(["--db", db, "scenario", "drain", "--start", start]) == 2
