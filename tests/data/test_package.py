"""Importing the reference data package: every resource, checked against the raw files.

The expected rows, dates and values are computed here with Python's csv module, without
any powderkeg code.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from powderkeg.cli.main import run
from powderkeg.data.store import Store
from tests.conftest import PACKAGE


def _descriptor() -> dict[str, Any]:
    return json.loads(PACKAGE.read_text())


def _expected(res: dict[str, Any]) -> dict[str, str]:
    """Map date -> main-value text of every row with a non-missing main value."""
    return _expected_cached(res["name"], json.dumps(res, sort_keys=True))


@functools.cache
def _expected_cached(name: str, descriptor: str) -> dict[str, str]:
    res = json.loads(descriptor)
    ser = res["series"]
    missing = set(res["schema"]["missingValues"])
    out: dict[str, str] = {}
    with open(PACKAGE.parent / res["path"], newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            text = (row[ser["value_field"]] or "").strip()
            if text in missing:
                continue
            day = row[ser["date_field"]].strip()
            assert out.get(day, text) == text, f"{res['name']}: conflicting rows for {day}"
            out[day] = text
    return out


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A store with the whole package imported through the CLI."""
    db = tmp_path_factory.mktemp("pkg") / "store.duckdb"
    assert run(["--db", str(db), "--quiet", "data", "import-package", str(PACKAGE)]) == 0
    return db


def _copy_store(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy.duckdb"
    shutil.copy(src, dst)
    return dst


def test_every_resource_has_the_rows_and_dates_of_its_file(imported: Path) -> None:
    desc = _descriptor()
    assert len(desc["resources"]) == 57
    with Store(imported, read_only=True) as store:
        listing = store.list_series()
        assert len(listing) == 57
        for res in desc["resources"]:
            ser = res["series"]
            expected = _expected(res)
            row = listing.loc[ser["symbol"]]
            assert row["n_obs"] == len(expected), res["name"]
            assert row["first_date"] == pd.Timestamp(min(expected)), res["name"]
            assert row["last_date"] == pd.Timestamp(max(expected)), res["name"]
            assert (row["kind"], row["unit"], row["frequency"]) == (
                ser["kind"],
                ser["unit"],
                ser["frequency"],
            )


def test_values_equal_the_raw_text(imported: Path) -> None:
    with Store(imported, read_only=True) as store:
        for res in _descriptor()["resources"]:
            ser = res["series"]
            expected = _expected(res)
            days = sorted(expected)
            hist = store.history(ser["symbol"])
            main = "close" if ser["kind"] == "price" else "value"
            assert len(hist) == len(days)
            for day in (days[0], days[len(days) // 3], days[-1]):
                assert hist.loc[pd.Timestamp(day), main] == float(expected[day]), res["name"]


def test_spot_values(imported: Path) -> None:
    raw = PACKAGE.parent / "raw"
    with open(raw / "guydekowski__market-lab/BTC_USD.csv", newline="") as fh:
        btc = {r["date"]: r for r in csv.DictReader(fh)}
    with open(raw / "growwanalysis__nasdaq100/NVDA.csv", newline="") as fh:
        nvda = {r["Date"]: r for r in csv.DictReader(fh)}
    with Store(imported, read_only=True) as store:
        day = pd.Timestamp("2025-12-10")
        hist = store.history("BTC-USD", "2025-12-10", "2025-12-10")
        assert list(hist.index) == [day]
        for fld in ("open", "high", "low", "close", "volume"):
            assert hist.loc[day, fld] == float(btc["2025-12-10"][fld])
        # the unadjusted series takes 'Close', not 'Adj Close'
        unadj = store.history("NVDA.UNADJ", "2025-01-02", "2025-01-02")
        assert unadj.loc[pd.Timestamp("2025-01-02"), "close"] == float(nvda["2025-01-02"]["Close"])
        assert float(nvda["2025-01-02"]["Close"]) != float(nvda["2025-01-02"]["Adj Close"])
        # scientific notation and CRLF files
        stable = store.history("STABLECOIN_SUPPLY")
        assert stable["value"].max() > 1e11
        tga = store.history("TGA", "2022-04-18", "2022-04-18")
        assert tga["value"].tolist() == [841253.0]


def test_data_list_json_shows_every_series(imported: Path, capsys: pytest.CaptureFixture) -> None:
    assert run(["--db", str(imported), "--json", "data", "list"]) == 0
    payload = json.loads(capsys.readouterr().out)
    by_symbol = {row["symbol"]: row for row in payload["series"]}
    assert payload["count"] == 57
    for res in _descriptor()["resources"]:
        expected = _expected(res)
        row = by_symbol[res["series"]["symbol"]]
        assert row["n_obs"] == len(expected)
        assert row["first_date"] == min(expected)
        assert row["last_date"] == max(expected)


def test_second_import_changes_nothing(
    imported: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = _copy_store(imported, tmp_path)
    with Store(db, read_only=True) as store:
        total = store.counts()["observations"]
    capsys.readouterr()
    assert run(["--db", str(db), "--json", "data", "import-package", str(PACKAGE)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows_inserted"], report["rows_updated"]) == (0, 0)
    assert report["rows_unchanged"] == total
    assert all(s["inserted"] == s["updated"] == 0 for s in report["series"])
    with Store(db, read_only=True) as store:
        cur = store.cursor()
        assert cur.execute("SELECT count(*) FROM observations").fetchone() == (total,)
        # no observation was rewritten by the second ingest
        assert cur.execute("SELECT DISTINCT ingest_id FROM observations").fetchall() == [(1,)]
        log = store.ingests()
        assert log["rows_inserted"].tolist() == [0, total]
        assert log["rows_updated"].tolist() == [0, 0]


def _package_with(tmp_path: Path, resources: list[dict[str, Any]]) -> Path:
    """Write a descriptor in tmp_path whose resources point at absolute file paths."""
    desc = _descriptor()
    for res in resources:
        if not Path(res["path"]).is_absolute():
            res["path"] = str((PACKAGE.parent / res["path"]).resolve())
    desc["resources"] = resources
    path = tmp_path / "datapackage.json"
    path.write_text(json.dumps(desc))
    return path


def _resource(name: str) -> dict[str, Any]:
    return next(r for r in _descriptor()["resources"] if r["name"] == name)


def test_changed_values_are_updated_and_counted(
    imported: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    db = _copy_store(imported, tmp_path)
    res = _resource("btc-usd")
    lines = (PACKAGE.parent / res["path"]).read_text().splitlines()
    changed = {}
    for i, col in ((10, 4), (2000, 4), (4000, 1), (4300, 5)):  # three closes, one volume
        fields = lines[i].split(",")
        fields[col] = str(float(fields[col]) * 2)
        lines[i] = ",".join(fields)
        changed[fields[0]] = (col, float(fields[col]))
    copy = tmp_path / "BTC_USD.csv"
    copy.write_text("\n".join(lines) + "\n")
    data = copy.read_bytes()
    res.update(path=str(copy), bytes=len(data), hash="sha256:" + hashlib.sha256(data).hexdigest())
    pkg = _package_with(tmp_path, [res, _resource("walcl")])
    with Store(db, read_only=True) as store:
        walcl_before = store.history("WALCL")
    capsys.readouterr()
    assert run(["--db", str(db), "--json", "data", "import-package", str(pkg)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows_inserted"], report["rows_updated"]) == (0, 4)
    per = {s["symbol"]: s for s in report["series"]}
    assert (per["BTC-USD"]["updated"], per["WALCL"]["updated"]) == (4, 0)
    fields = ("date", "open", "high", "low", "close", "volume")
    with Store(db, read_only=True) as store:
        hist = store.history("BTC-USD")
        for day, (col, value) in changed.items():
            assert hist.loc[pd.Timestamp(day), fields[col]] == value
        pd.testing.assert_frame_equal(store.history("WALCL"), walcl_before)
        cur = store.cursor()
        rewritten = cur.execute(
            "SELECT strftime(date, '%Y-%m-%d') FROM observations WHERE ingest_id = 2 ORDER BY 1"
        ).fetchall()
        assert [r[0] for r in rewritten] == sorted(changed)
        dupes = cur.execute(
            "SELECT count(*) FROM (SELECT symbol, date FROM observations GROUP BY ALL "
            "HAVING count(*) > 1)"
        ).fetchone()
        assert dupes == (0,)


def test_resource_selection(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "sel.duckdb"
    args = ["--db", str(db), "--json", "data", "import-package", str(PACKAGE)]
    assert run([*args, "--resource", "walcl", "--resource", "m2sl"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["symbol"] for s in report["series"]] == ["M2SL", "WALCL"] or [
        s["symbol"] for s in report["series"]
    ] == ["WALCL", "M2SL"]
    assert report["rows_inserted"] == len(_expected(_resource("walcl"))) + len(
        _expected(_resource("m2sl"))
    )
    assert run([*args, "--resource", "nope"]) == 2
    assert "--resource nope not in" in capsys.readouterr().err


@pytest.fixture()
def small_store(tmp_path: Path) -> Path:
    db = tmp_path / "small.duckdb"
    args = ["--db", str(db), "--quiet", "data", "import-package", str(PACKAGE)]
    assert run([*args, "--resource", "walcl", "--resource", "tga-daily"]) == 0
    return db


def _digest(db: Path) -> str:
    with Store(db, read_only=True) as store:
        return store.content_digest()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hash": "sha256:" + "0" * 64}, "sha256 checksum"),
        ({"bytes": 12345}, "size 365617 bytes differs from the 12345 declared"),
    ],
)
def test_checksum_or_size_mismatch_writes_nothing(
    small_store: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    change: dict[str, Any],
    message: str,
) -> None:
    before = _digest(small_store)
    bad = _resource("btc-usd")
    bad.update(change)
    pkg = _package_with(tmp_path, [_resource("eth-usd"), bad])
    assert run(["--db", str(small_store), "data", "import-package", str(pkg)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err
    assert str((PACKAGE.parent / _resource("btc-usd")["path"]).resolve()) in err
    assert _digest(small_store) == before


def test_modified_file_fails_its_declared_hash(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    before = _digest(small_store)
    res = _resource("m2sl")
    copy = tmp_path / "M2SL.csv"
    text = (PACKAGE.parent / res["path"]).read_text()
    copy.write_text(text.replace("3492.2", "3492.3", 1))  # same size, one digit changed
    res["path"] = str(copy)
    pkg = _package_with(tmp_path, [res])
    assert run(["--db", str(small_store), "data", "import-package", str(pkg)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{copy}: sha256 checksum" in err
    assert _digest(small_store) == before


def test_header_not_matching_the_schema(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    before = _digest(small_store)
    res = _resource("walcl")
    copy = tmp_path / "WALCL.csv"
    text = (PACKAGE.parent / res["path"]).read_text()
    copy.write_text(text.replace("Date,Value", "Date,Level", 1))
    res.update(path=str(copy))
    del res["bytes"], res["hash"]
    pkg = _package_with(tmp_path, [res])
    assert run(["--db", str(small_store), "data", "import-package", str(pkg)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{copy}, line 1: header ['Date', 'Level'] does not match" in err
    assert _digest(small_store) == before


def test_corrupt_row_in_a_package_names_the_line(
    small_store: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    before = _digest(small_store)
    res = _resource("walcl")
    copy = tmp_path / "WALCL.csv"
    lines = (PACKAGE.parent / res["path"]).read_text().splitlines()
    lines[41] = lines[41].split(",")[0] + ",n/a"
    copy.write_text("\n".join(lines) + "\n")
    res.update(path=str(copy))
    del res["bytes"], res["hash"]
    pkg = _package_with(tmp_path, [_resource("m2sl"), res])
    assert run(["--db", str(small_store), "data", "import-package", str(pkg)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{copy}, line 42: not a number in column 'Value': 'n/a'" in err
    assert _digest(small_store) == before


def test_bad_descriptors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = str(tmp_path / "x.duckdb")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"resources": [\n  {"name": "a",}\n]}')
    assert run(["--db", db, "data", "import-package", str(bad_json)]) == 2
    assert f"{bad_json}, line 2: invalid JSON" in " ".join(capsys.readouterr().err.split())
    assert run(["--db", db, "data", "import-package", str(tmp_path / "none.json")]) == 2
    assert "no such data package descriptor" in capsys.readouterr().err
    missing = _resource("walcl")
    missing["path"] = str(tmp_path / "gone.csv")
    pkg = _package_with(tmp_path, [missing])
    assert run(["--db", db, "data", "import-package", str(pkg)]) == 2
    assert "file of resource 'walcl' is missing" in capsys.readouterr().err
