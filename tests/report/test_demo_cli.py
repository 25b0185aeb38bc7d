"""``powderkeg demo`` and ``powderkeg report`` speak to a person, and JSON with ``--json``."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from powderkeg.cli.main import app
from powderkeg.data.store import Store

SEED = 7


def _demo(folder: Path, *global_options: str) -> str:
    args = [*global_options, "demo", "--dir", str(folder), "--seed", str(SEED), "--quick"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _store_counts(db: Path) -> tuple[int, int, str]:
    """Stored series, stored rows and the last price date, read back from the store file."""
    with Store(db, read_only=True) as store:
        listing = store.list_series()
        last = listing.loc[listing["kind"] == "price", "last_date"].max()
        return len(store.symbols()), store.counts()["observations"], f"{last:%Y-%m-%d}"


@pytest.fixture(scope="module")
def demo_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The demo run with ``--json``: its folder and the parsed document."""
    folder = tmp_path_factory.mktemp("demo-json")
    return folder, json.loads(_demo(folder, "--json"))


@pytest.fixture(scope="module")
def demo_text(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo run without ``--json``: its folder and what it printed."""
    folder = tmp_path_factory.mktemp("demo-text")
    return folder, _demo(folder)


def test_demo_json_names_the_store_the_report_and_the_counts(demo_json: tuple[Path, dict]) -> None:
    folder, doc = demo_json
    assert {"store", "report", "series", "rows", "headlines"} <= set(doc)
    db = folder / "powderkeg.duckdb"
    assert doc["store"] == str(db.resolve())
    assert doc["report"] == str((folder / "powderkeg-report.html").resolve())
    series, rows, _ = _store_counts(db)
    assert (doc["series"], doc["rows"]) == (series, rows)
    assert rows > 10_000


def test_demo_json_headlines_are_those_of_the_report(demo_json: tuple[Path, dict]) -> None:
    _, doc = demo_json
    text = Path(doc["report"]).read_text(encoding="utf-8")
    assert len(doc["headlines"]) >= 5
    for h in doc["headlines"]:
        assert set(h) == {"label", "value", "reading"}
        block = (
            f"<div class='l'>{html.escape(h['label'])}</div>"
            f"<div class='v'>{html.escape(h['value'])}</div>"
        )
        assert block in text


def test_demo_text_tells_what_was_loaded_and_where_the_report_is(
    demo_text: tuple[Path, str],
) -> None:
    folder, out = demo_text
    series, rows, last_price = _store_counts(folder / "powderkeg.duckdb")
    assert f"Loaded {series} series, {rows:,} rows from synthetic market (seed {SEED})" in out
    report = (folder / "powderkeg-report.html").resolve()
    assert report.is_file()
    lines = out.splitlines()
    assert f"Report {report}" in lines
    assert f"Open   {report.as_uri()}" in lines
    assert not out.lstrip().startswith("{")
    # the coverage headline: label and value on one line, the value read back from the store
    assert any(line.split() == ["Prices", "through", last_price] for line in lines)


def test_demo_text_lists_every_headline_of_the_report(
    demo_text: tuple[Path, str], demo_json: tuple[Path, dict]
) -> None:
    # same seed, same synthetic market: the two runs have the same headlines
    _, out = demo_text
    _, doc = demo_json
    lines = [" ".join(line.split()) for line in out.splitlines()]
    for h in doc["headlines"]:
        assert f"{h['label']} {h['value']}" in lines
    # one line per headline, plus: loaded, store, "Headlines", report path, file URL
    assert len(lines) == len(doc["headlines"]) + 5


def test_report_prints_one_line_or_json(demo_json: tuple[Path, dict], tmp_path: Path) -> None:
    folder, _ = demo_json
    db = str(folder / "powderkeg.duckdb")
    out = tmp_path / "r.html"
    base = ["--db", db]
    runner = CliRunner()

    text = runner.invoke(app, [*base, "report", "--out", str(out), "--quick"])
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Wrote ")
    assert lines[0].endswith(out.resolve().as_uri())

    doc = runner.invoke(app, [*base, "--json", "report", "--out", str(out), "--quick"])
    assert doc.exit_code == 0, doc.output
    assert json.loads(doc.stdout) == {"report": str(out.resolve()), "bytes": out.stat().st_size}
