"""``bubble lppls`` on the real store."""

from __future__ import annotations

import json
from pathlib import Path

from powderkeg.cli.main import run


def test_lppls_single_fit_json(real_store_path: Path, capsys) -> None:
    code = run(
        [
            "--db",
            str(real_store_path),
            "--json",
            "bubble",
            "lppls",
            "BTC-USD",
            "--end",
            "2021-04-14",
            "--window",
            "120",
            "--seed",
            "3",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["end"] == "2021-04-14" and doc["nobs"] == 120
    assert doc["status"] in ("qualified", "unqualified", "failed")
    assert doc["provenance"]["seed"] == 3


def test_lppls_confidence_cli(real_store_path: Path, capsys) -> None:
    code = run(
        [
            "--db",
            str(real_store_path),
            "bubble",
            "lppls",
            "NVDA",
            "--confidence",
            "--days",
            "3",
            "--window",
            "60",
            "--smallest",
            "30",
            "--step",
            "10",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "bubble confidence" in out and "Why fits were not qualified" in out


def test_lppls_cli_bad_input(real_store_path: Path, capsys) -> None:
    code = run(["--db", str(real_store_path), "bubble", "lppls", "NVDA", "--window", "5"])
    assert code == 2
    assert "--window" in capsys.readouterr().err
    assert run(["--db", str(real_store_path), "bubble", "lppls", "NOPE"]) == 2
