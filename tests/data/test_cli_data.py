"""``powderkeg data ...`` and the global options: exit codes, JSON output, error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from powderkeg import __version__
from powderkeg.cli.main import run
from powderkeg.data.store import Store
from tests.conftest import SHARED_DATA

BTC = SHARED_DATA / "raw/guydekowski__market-lab/BTC_USD.csv"
WALCL = SHARED_DATA / "raw/jonsflow__risk-model/WALCL.csv"
TGA = SHARED_DATA / "raw/Fredpipi__fed-tga-rrp-liquidity/tga.csv"


def _one_json(out: str) -> dict:
    """Parse stdout, which must hold exactly one JSON document and nothing else."""
    decoder = json.JSONDecoder()
    doc, end = decoder.raw_decode(out.lstrip())
    assert out.lstrip()[end:].strip() == ""
    return doc


def _err(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return " ".join(err.split())


def _digest(db: Path) -> str:
    with Store(db, read_only=True) as store:
        return store.content_digest()


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    """A store holding WALCL and BTC-USD imported through the CLI."""
    path = tmp_path / "cli.duckdb"
    assert run(["--db", str(path), "-q", "data", "import", str(WALCL), "--symbol", "WALCL"]) == 0
    assert run(["--db", str(path), "-q", "data", "import", str(BTC), "--symbol", "BTC-USD"]) == 0
    return path


def test_version(capsys: pytest.CaptureFixture) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"powderkeg {__version__}"


def test_import_json_report(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = str(tmp_path / "j.duckdb")
    assert run(["--db", path, "--json", "data", "import", str(TGA), "--unit", "USD millions"]) == 0
    out = capsys.readouterr()
    report = _one_json(out.out)
    n = sum(1 for line in TGA.read_text().splitlines()[1:] if line.split(",")[1].strip())
    assert (report["rows_inserted"], report["rows_updated"]) == (n, 0)
    assert report["series"] == [{"symbol": "TGA", "rows": n, "inserted": n, "updated": 0}]
    assert report["target"] == str(TGA)
    assert "provenance" in report
    with Store(path, read_only=True) as store:
        info = store.series_info("TGA")
        assert (info["kind"], info["unit"], info["n_obs"]) == ("macro", "USD millions", n)


def test_list_and_show_print_one_json_document(db: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert run(["--db", str(db), "--json", "data", "list"]) == 0
    listing = _one_json(capsys.readouterr().out)
    assert [s["symbol"] for s in listing["series"]] == ["BTC-USD", "WALCL"]
    assert listing["count"] == 2
    args = ["--db", str(db), "--json", "data", "show", "BTC-USD", "--start", "2025-12-08"]
    assert run([*args, "--end", "2025-12-10"]) == 0
    shown = _one_json(capsys.readouterr().out)
    assert shown["info"]["symbol"] == "BTC-USD"
    assert shown["info"]["n_obs"] == 4357
    assert "provenance" in shown
    text = json.dumps(shown["observations"])
    with Store(db, read_only=True) as store:
        closes = store.history("BTC-USD", "2025-12-08", "2025-12-10")["close"]
    assert len(closes) == 3
    for value in closes:
        assert repr(float(value)) in text


def test_human_output_goes_to_stdout(db: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert run(["--db", str(db), "data", "list"]) == 0
    out = capsys.readouterr().out
    assert "BTC-USD" in out and "WALCL" in out
    assert run(["--db", str(db), "--quiet", "data", "list"]) == 0
    assert capsys.readouterr().out == ""


def test_store_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("POWDERKEG_HOME", str(home))
    monkeypatch.delenv("POWDERKEG_DB", raising=False)
    assert run(["-q", "data", "import", str(WALCL)]) == 0
    with Store(home / "powderkeg.duckdb", read_only=True) as store:
        assert store.symbols() == ["WALCL"]
    other = tmp_path / "other.duckdb"
    assert run(["--db", str(other), "-q", "data", "import", str(TGA)]) == 0
    with Store(other, read_only=True) as store:
        assert store.symbols() == ["TGA"]
    monkeypatch.setenv("POWDERKEG_DB", str(tmp_path / "env.duckdb"))
    assert run(["-q", "data", "import", str(TGA)]) == 0
    with Store(tmp_path / "env.duckdb", read_only=True) as store:
        assert store.symbols() == ["TGA"]
    with Store(home / "powderkeg.duckdb", read_only=True) as store:
        assert store.symbols() == ["WALCL"]


def test_bad_usage_exits_2(db: Path, capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    assert run(["--db", str(db), "data", "import"]) == 2
    assert "Missing argument 'paths'" in _err(capsys)
    assert run(["--db", str(db), "data", "import", str(BTC), "--frobnicate"]) == 2
    assert "No such option: --frobnicate" in _err(capsys)
    assert run(["--db", str(db), "data", "import", str(db.parent / "nope.csv")]) == 2
    assert "nope.csv: no such file" in _err(capsys)
    assert run(["--db", str(db), "data", "import", str(BTC), str(WALCL), "--symbol", "X"]) == 2
    assert "--symbol can only be used with a single file" in _err(capsys)
    assert run(["--db", str(db), "data", "import", str(BTC), "--kind", "bond"]) == 2
    assert "--kind must be one of 'price', 'macro'; got 'bond'" in _err(capsys)
    assert run(["--db", str(db), "data", "show", "btc-usd"]) == 2
    assert "did you mean BTC-USD?" in _err(capsys)
    assert run(["--db", str(db), "data", "show", "BTC-USD", "--start", "soon"]) == 2
    assert "start must be a date" in _err(capsys)


def test_runtime_failure_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    assert run(["--db", str(junk), "data", "list"]) == 1
    assert f"cannot open store {junk}" in _err(capsys)


# ---------------------------------------------------------------------------- corrupted files


def _corrupt(tmp_path: Path, name: str, edit) -> Path:  # type: ignore[no-untyped-def]
    lines = BTC.read_text().splitlines()
    edit(lines)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _set(lines: list[str], i: int, col: int, text: str) -> None:
    fields = lines[i].split(",")
    fields[col] = text
    lines[i] = ",".join(fields)


CORRUPTIONS = {
    "truncated": (lambda ls: ls.__setitem__(99, ls[99][:20]), 100, "truncated line"),
    "text": (lambda ls: _set(ls, 56, 4, "n/a"), 57, "not a number in column 'close': 'n/a'"),
    "duplicate": (
        lambda ls: ls.insert(300, ls[9].replace(ls[9].split(",")[4], "1.5")),
        301,
        "with different values (lines 10, 301)",
    ),
    "nodate": (
        lambda ls: ls.__setitem__(slice(None), [",".join(x.split(",")[1:]) for x in ls]),
        1,
        "no date column found",
    ),
    "baddate": (lambda ls: _set(ls, 4000, 0, "2025-02-30"), 4001, "cannot parse date"),
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_corrupted_file_exits_2_and_writes_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture, kind: str
) -> None:
    edit, line, message = CORRUPTIONS[kind]
    bad = _corrupt(tmp_path, f"{kind}.csv", edit)
    before = _digest(db)
    capsys.readouterr()
    assert run(["--db", str(db), "data", "import", str(bad), "--symbol", "BTC-USD"]) == 2
    err = _err(capsys)
    assert f"{bad}, line {line}: " in err
    assert message in err
    assert _digest(db) == before


def test_multi_file_import_with_a_bad_second_file_writes_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = tmp_path / "ETH.csv"
    good.write_text((SHARED_DATA / "raw/guydekowski__market-lab/ETH_USD.csv").read_text())
    bad = _corrupt(tmp_path, "BAD.csv", CORRUPTIONS["text"][0])
    before = _digest(db)
    capsys.readouterr()
    assert run(["--db", str(db), "data", "import", str(good), str(bad)]) == 2
    assert f"{bad}, line 57" in _err(capsys)
    assert _digest(db) == before
    assert run(["--db", str(db), "-q", "data", "import", str(good)]) == 0
    with Store(db, read_only=True) as store:
        assert store.symbols() == ["BTC-USD", "ETH", "WALCL"]


def test_kind_change_exits_2(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    before = _digest(db)
    capsys.readouterr()
    args = ["--db", str(db), "data", "import", str(WALCL), "--symbol", "WALCL", "--kind", "price"]
    assert run([*args, "--value-col", "Value"]) == 2
    assert "symbol 'WALCL' is stored as kind 'macro'; cannot import it as 'price'" in _err(capsys)
    assert _digest(db) == before


# ---------------------------------------------------------------------------- quirks and overrides


def test_overrides(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "custom.csv"
    path.write_text(
        "Observed;Level;Other\n".replace(";", ",")
        + "2025-01-03,5.5,1\n2025-01-02,4.5,2\n\n2025-01-06,.,3\n2025-01-07,6.5,4\n"
    )
    db = str(tmp_path / "o.duckdb")
    assert run(["--db", db, "-q", "data", "import", str(path)]) == 2
    assert "cannot tell which column holds the values" in _err(capsys)
    args = ["--db", db, "--json", "data", "import", str(path), "--date-col", "observed"]
    args += ["--value-col", "Level", "--kind", "macro", "--symbol", "LVL", "--unit", "USD bn"]
    assert run([*args, "--frequency", "B"]) == 0
    report = _one_json(capsys.readouterr().out)
    assert report["rows_inserted"] == 3
    with Store(db, read_only=True) as store:
        info = store.series_info("LVL")
        assert (info["kind"], info["unit"], info["frequency"]) == ("macro", "USD bn", "B")
        hist = store.history("LVL")
        assert hist["value"].tolist() == [4.5, 5.5, 6.5]
        converted = store.frame(["LVL"], unit="USD millions", asof_publication=False)
        assert converted["LVL"].tolist() == [4500.0, 5500.0, 6500.0]
    args = ["--db", db, "-q", "data", "import", str(path), "--date-col", "Observed"]
    assert run([*args, "--value-col", "Other", "--kind", "price", "--symbol", "OTHER"]) == 0
    with Store(db, read_only=True) as store:
        assert store.history("OTHER")["close"].tolist() == [2.0, 1.0, 3.0, 4.0]
    assert run(["--db", db, "data", "import", str(path), "--date-col", "when"]) == 2
    assert f"{path}, line 1: date column 'when' not found" in _err(capsys)


def test_quirky_csv_and_parquet_through_the_cli(tmp_path: Path) -> None:
    quirky = tmp_path / "quirky.csv"
    quirky.write_bytes(
        b"\xef\xbb\xbftimestamp,value,status\r\n"
        b"2025-01-03T23:00:00-05:00,1.5e3,ok\r\n"
        b"\r\n"
        b"2025-01-02T10:00:00Z,.,ok\r\n"
        b"2025-01-01 08:00:00+09:00,1e3,ok\r\n"
        b"2025-01-03T23:00:00-05:00,1.5e3,ok\r\n"
    )
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2025-01-02", "2025-01-01"]), "close": [2.0, 1.0]}
    )
    parquet = tmp_path / "pq.parquet"
    frame.to_parquet(parquet, index=False)
    db = str(tmp_path / "q.duckdb")
    assert run(["--db", db, "-q", "data", "import", str(quirky), str(parquet)]) == 0
    with Store(db, read_only=True) as store:
        q = store.history("QUIRKY")["value"]
        assert q.index.strftime("%Y-%m-%d").tolist() == ["2025-01-01", "2025-01-03"]
        assert q.tolist() == [1000.0, 1500.0]
        p = store.history("PQ")
        assert p["close"].tolist() == [1.0, 2.0]
        assert store.list_series().loc["PQ", "kind"] == "price"
