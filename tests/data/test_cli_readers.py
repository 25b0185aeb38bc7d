"""Read-only commands share the store with other readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from powderkeg.cli.main import run
from powderkeg.data.store import Store


def test_reading_commands_open_the_store_read_only(
    real_store_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # another process (here: another connection) holds the file read-only
    with Store(real_store_path, read_only=True):
        for argv in (["data", "list"], ["data", "show", "BTC-USD"], ["data", "check", "WALCL"]):
            assert run(["--db", str(real_store_path), "--quiet", *argv]) == 0, argv
    capsys.readouterr()


def test_reading_a_missing_store_creates_an_empty_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "new.duckdb"
    assert run(["--db", str(db), "--json", "data", "list"]) == 0
    assert '"count": 0' in capsys.readouterr().out
    assert db.exists()
