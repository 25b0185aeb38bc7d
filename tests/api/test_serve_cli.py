"""``powderkeg serve``: help with examples, --json start-up document, loopback default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from powderkeg.cli.main import run


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out
    assert "powderkeg serve" in out
    assert "127.0.0.1" in out


def test_json_start_up_document(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setenv("POWDERKEG_API_TOKEN", "t0ken-for-serve-test")
    capsys.readouterr()
    assert run(["--db", str(tmp_path / "s.duckdb"), "--json", "serve", "--port", "8123"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert doc == {
        "url": "http://127.0.0.1:8123/",
        "host": "127.0.0.1",
        "port": 8123,
        "read_only": False,
        "docs": "http://127.0.0.1:8123/docs",
    }
    assert seen == {"host": "127.0.0.1", "port": 8123, "log_level": "warning"}
    assert "t0ken-for-serve-test" not in out
