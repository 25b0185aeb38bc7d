"""The DuckDB store: upserts, transactions, reads, cache, read-only mode and crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from powderkeg import config
from powderkeg.data.records import SeriesData, SeriesMeta
from powderkeg.data.sources.files import read_series_file
from powderkeg.data.store import Store
from powderkeg.exceptions import InputError, StoreError, UnknownSymbolError
from tests.conftest import ROOT, SHARED_DATA

WALCL = SHARED_DATA / "raw/jonsflow__risk-model/WALCL.csv"
BTC = SHARED_DATA / "raw/guydekowski__market-lab/BTC_USD.csv"


def _macro(symbol: str, dates: list[str], values: list[float], **meta: str) -> SeriesData:
    frame = pd.DataFrame({"value": values}, index=pd.DatetimeIndex(pd.to_datetime(dates)))
    return SeriesData(SeriesMeta(symbol, kind="macro", **meta), frame)


def _price(symbol: str, dates: list[str], closes: list[float]) -> SeriesData:
    frame = pd.DataFrame({"close": closes}, index=pd.DatetimeIndex(pd.to_datetime(dates)))
    return SeriesData(SeriesMeta(symbol, kind="price", unit="USD"), frame)


@pytest.fixture()
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with Store(tmp_path / "s.duckdb") as s:
        yield s


# ---------------------------------------------------------------------------- ingest


def test_upsert_counts_inserts_updates_and_unchanged(store: Store) -> None:
    first = store.ingest(
        [_macro("A", ["2024-01-01", "2024-01-02"], [1.0, 2.0])], source="t", target="a"
    )
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    second = store.ingest(
        [
            _macro("A", ["2024-01-01", "2024-01-02", "2024-01-03"], [1.0, 2.5, 3.0]),
            _price("P", ["2024-01-01"], [10.0]),
        ],
        source="t",
        target="a+p",
    )
    assert (second.inserted, second.updated, second.unchanged) == (2, 1, 1)
    assert second.per_series.loc["A"].tolist() == [3, 1, 1]
    assert second.per_series.loc["P"].tolist() == [1, 1, 0]
    assert store.history("A")["value"].tolist() == [1.0, 2.5, 3.0]
    info = store.series_info("A")
    assert (str(info["first_date"]), str(info["last_date"]), info["n_obs"]) == (
        "2024-01-01",
        "2024-01-03",
        3,
    )
    log = store.ingests()
    assert log["id"].tolist() == [2, 1]
    assert log["rows_inserted"].tolist() == [2, 2]
    assert log["rows_updated"].tolist() == [1, 0]
    assert set(log["status"]) == {"ok"}
    ids = store.cursor().execute("SELECT date, ingest_id FROM observations WHERE symbol = 'A'")
    assert [r[1] for r in sorted(ids.fetchall())] == [1, 2, 2]
    again = store.ingest(
        [_macro("A", ["2024-01-01", "2024-01-02", "2024-01-03"], [1.0, 2.5, 3.0])],
        source="t",
        target="a",
    )
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def _duplicate_keys(store: Store) -> int:
    row = (
        store.cursor()
        .execute(
            "SELECT count(*) FROM (SELECT symbol, date FROM observations GROUP BY ALL "
            "HAVING count(*) > 1)"
        )
        .fetchone()
    )
    return int(row[0])  # type: ignore[index]


def test_overlapping_imports_keep_one_row_per_date(store: Store) -> None:
    days = [f"2024-01-{d:02d}" for d in range(1, 11)]
    store.ingest([_macro("A", days[:6], [1.0] * 6)], source="t", target="a")
    report = store.ingest([_macro("A", days[3:], [2.0] * 7)], source="t", target="a")
    assert (report.inserted, report.updated) == (4, 3)
    assert _duplicate_keys(store) == 0
    assert store.history("A")["value"].tolist() == [1.0] * 3 + [2.0] * 7
    assert store.series_info("A")["n_obs"] == 10


def test_a_batch_with_a_repeated_date_is_refused(store: Store) -> None:
    frame = pd.DataFrame({"value": [1.0, 2.0]}, index=pd.to_datetime(["2024-01-01"] * 2))
    with pytest.raises(InputError, match="'A' has the date 2024-01-01 twice"):
        store.ingest([SeriesData(SeriesMeta("A", kind="macro"), frame)], source="t", target="a")
    assert store.counts()["observations"] == 0


def test_stores_created_with_a_primary_key_still_work(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """CREATE TABLE observations(
        symbol VARCHAR NOT NULL, date DATE NOT NULL, open DOUBLE, high DOUBLE, low DOUBLE,
        close DOUBLE, volume DOUBLE, value DOUBLE, ingest_id BIGINT,
        PRIMARY KEY(symbol, date))"""
    )
    con.close()
    with Store(path) as old:
        old.ingest([_macro("A", ["2024-01-01", "2024-01-02"], [1.0, 2.0])], source="t", target="a")
        report = old.ingest(
            [_macro("A", ["2024-01-02", "2024-01-03"], [5.0, 3.0])], source="t", target="a"
        )
        assert (report.inserted, report.updated) == (1, 1)
        assert old.history("A")["value"].tolist() == [1.0, 5.0, 3.0]


def test_missing_fields_are_null_not_zero(store: Store) -> None:
    frame = pd.DataFrame(
        {"open": [np.nan, 2.0], "close": [1.0, 2.5]},
        index=pd.to_datetime(["2024-01-01", "2024-01-02"]),
    )
    store.ingest([SeriesData(SeriesMeta("P"), frame)], source="t", target="p")
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM observations WHERE open IS NULL").fetchone() == (1,)
    assert cur.execute("SELECT count(*) FROM observations WHERE high IS NULL").fetchone() == (2,)
    hist = store.history("P")
    assert hist.columns.tolist() == ["open", "close"]
    assert np.isnan(hist["open"].iloc[0])
    # a NULL becoming a value is an update; the same NULL is not
    frame.loc[pd.Timestamp("2024-01-01"), "open"] = 0.5
    report = store.ingest([SeriesData(SeriesMeta("P"), frame)], source="t", target="p")
    assert (report.inserted, report.updated) == (0, 1)
    opened = store.frame(["P"], field="open")
    assert opened["P"].tolist() == [0.5, 2.0]


def test_kind_change_is_refused_and_writes_nothing(store: Store) -> None:
    store.ingest([_macro("X", ["2024-01-01"], [1.0])], source="t", target="x")
    before = store.content_digest()
    with pytest.raises(InputError, match="stored as kind 'macro'"):
        store.ingest(
            [_macro("Y", ["2024-01-01"], [5.0]), _price("X", ["2024-01-02"], [2.0])],
            source="t",
            target="xy",
        )
    assert store.content_digest() == before
    assert store.symbols() == ["X"]


def test_duplicate_symbols_in_one_ingest(store: Store) -> None:
    with pytest.raises(InputError, match="more than once"):
        store.ingest(
            [_macro("X", ["2024-01-01"], [1.0]), _macro("X", ["2024-01-02"], [2.0])],
            source="t",
            target="x",
        )
    assert store.counts() == {"series": 0, "observations": 0, "ingests": 0, "cache": 0}


class _FailOn:
    """A connection proxy whose statements containing ``needle`` fail like DuckDB errors."""

    def __init__(self, con: duckdb.DuckDBPyConnection, needle: str) -> None:
        self._con = con
        self._needle = needle

    def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
        if self._needle in sql:
            raise duckdb.ConstraintException("injected failure")
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


@pytest.mark.parametrize("needle", ["INSERT INTO ingests", "UPDATE series SET first_date"])
def test_database_error_after_writes_rolls_everything_back(
    store: Store, monkeypatch: pytest.MonkeyPatch, needle: str
) -> None:
    store.ingest([_macro("X", ["2024-01-01"], [1.0])], source="t", target="x")
    before = store.content_digest()
    monkeypatch.setattr(store, "_con", _FailOn(store._con, needle))
    with pytest.raises(StoreError, match=r"rolled back: .*injected failure"):
        store.ingest(
            [
                _macro("X", ["2024-01-01", "2024-01-02"], [9.0, 2.0]),
                _macro("Z", ["2024-01-01"], [1]),
            ],
            source="t",
            target="xz",
        )
    monkeypatch.undo()
    assert store.content_digest() == before
    assert store.history("X")["value"].tolist() == [1.0]
    report = store.ingest([_macro("Z", ["2024-01-01"], [1.0])], source="t", target="z")
    assert (report.ingest_id, report.inserted) == (2, 1)


def test_empty_ingest_is_logged(store: Store) -> None:
    report = store.ingest([], source="t", target="nothing")
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 0)
    assert store.counts()["ingests"] == 1


# ---------------------------------------------------------------------------- reads


def test_history_and_bounds(store: Store) -> None:
    store.ingest([read_series_file(WALCL, symbol="WALCL")], source="file", target=str(WALCL))
    with open(WALCL) as fh:
        rows = [line.strip().split(",") for line in fh.readlines()[1:] if line.strip()]
    expected = {d: float(v) for d, v in rows if v not in ("", ".")}
    hist = store.history("WALCL")
    assert hist.columns.tolist() == ["value"]
    assert hist.index.name == "date"
    assert len(hist) == len(expected)
    assert dict(zip(hist.index.strftime("%Y-%m-%d"), hist["value"], strict=True)) == expected
    window = store.history("WALCL", "2024-01-03", "2024-01-31")
    assert window.index.min() >= pd.Timestamp("2024-01-03")
    assert window.index.max() <= pd.Timestamp("2024-01-31")
    assert len(window) == sum("2024-01-03" <= d <= "2024-01-31" for d in expected)
    empty = store.history("WALCL", "1900-01-01", "1900-12-31")
    assert empty.empty
    assert empty.columns.tolist() == ["value"]
    with pytest.raises(InputError, match="start must be a date"):
        store.history("WALCL", "not a date")


def test_history_leaves_out_fields_a_source_never_gives(real_store: Store) -> None:
    assert real_store.history("BTC-USD.CB").columns.tolist() == ["close"]
    assert real_store.history("^NDX").columns.tolist() == ["open", "close", "volume"]
    full = real_store.history("BTC-USD")
    assert full.columns.tolist() == ["open", "high", "low", "close", "volume"]
    assert not full.isna().any().any()


def test_unknown_symbol_suggests_close_matches(real_store: Store) -> None:
    with pytest.raises(UnknownSymbolError) as info:
        real_store.series_info("btc-usd")
    assert "unknown symbol 'btc-usd'" in str(info.value)
    assert "did you mean BTC-USD" in str(info.value)
    with pytest.raises(UnknownSymbolError, match="run 'powderkeg data list'"):
        real_store.history("ZZZZZZZZ")
    with pytest.raises(UnknownSymbolError):
        real_store.frame(["BTC-USD", "NOPE"])


def test_list_series_and_provenance(real_store: Store) -> None:
    listing = real_store.list_series()
    assert listing.index.is_monotonic_increasing
    assert listing.loc["WALCL", "unit"] == "USD millions"
    assert listing.loc["RRPONTSYD", "unit"] == "USD billions"
    assert real_store.symbols() == listing.index.tolist()
    prov = real_store.provenance(["WALCL", "BTC-USD"])
    assert [p["symbol"] for p in prov] == ["BTC-USD", "WALCL"]
    assert prov[1]["source"].endswith("datapackage.json#walcl")
    assert prov[1]["fetched_at"] == real_store.ingests()["finished_at"].max().to_pydatetime()


def test_delete(store: Store) -> None:
    store.ingest(
        [_macro("A", ["2024-01-01", "2024-01-02"], [1.0, 2.0]), _macro("B", ["2024-01-01"], [3])],
        source="t",
        target="ab",
    )
    with pytest.raises(UnknownSymbolError):
        store.delete(["A", "NOPE"])
    assert store.counts()["observations"] == 3
    assert store.delete(["A"]) == 2
    assert store.symbols() == ["B"]
    assert store.counts()["observations"] == 1
    with pytest.raises(UnknownSymbolError):
        store.history("A")


def test_cache(store: Store) -> None:
    assert store.cache_get("cv", "k") is None
    store.cache_put("cv", "k", {"values": [1.5, 2.5], "n": 3})
    assert store.cache_get("cv", "k") == {"values": [1.5, 2.5], "n": 3}
    store.cache_put("cv", "k", [1])
    assert store.cache_get("cv", "k") == [1]
    assert store.cache_get("other", "k") is None
    assert store.counts()["cache"] == 1


def test_cache_persists_across_reopen(tmp_path: Path) -> None:
    with Store(tmp_path / "c.duckdb") as s:
        s.cache_put("stress", "abc", {"x": 1})
    with Store(tmp_path / "c.duckdb", read_only=True) as s:
        assert s.cache_get("stress", "abc") == {"x": 1}


def test_read_only_store_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "ro.duckdb"
    with Store(path) as s:
        s.ingest([_macro("A", ["2024-01-01"], [1.0])], source="t", target="a")
        digest = s.content_digest()
    with Store(path, read_only=True) as ro:
        with pytest.raises(StoreError, match="read-only"):
            ro.ingest([_macro("B", ["2024-01-01"], [1.0])], source="t", target="b")
        with pytest.raises(StoreError, match="read-only"):
            ro.delete(["A"])
        ro.cache_put("ns", "k", 1)  # a read-only store does not cache; it does not fail
        assert ro.cache_get("ns", "k") is None
        assert ro.content_digest() == digest
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing.duckdb", read_only=True)


def test_default_location_follows_powderkeg_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWDERKEG_HOME", str(tmp_path / "home"))
    assert config.default_db_path() == tmp_path / "home" / "powderkeg.duckdb"
    with Store() as s:
        assert s.path == str(tmp_path / "home" / "powderkeg.duckdb")
    assert (tmp_path / "home" / "powderkeg.duckdb").is_file()
    monkeypatch.delenv("POWDERKEG_HOME")
    assert config.default_db_path() == Path.home() / ".powderkeg" / "powderkeg.duckdb"


def test_schema_version_is_recorded(store: Store) -> None:
    meta = store.cursor().execute("SELECT key, value FROM meta").fetchall()
    assert meta == [("schema_version", "1")]


def test_content_digest_sees_every_change(store: Store) -> None:
    store.ingest([_macro("A", ["2024-01-01", "2024-01-02"], [1.0, 2.0])], source="t", target="a")
    seen = {store.content_digest()}
    store.cursor().execute("UPDATE observations SET value = 2.0000000001 WHERE value = 2")
    seen.add(store.content_digest())
    store.cache_put("ns", "k", 1)
    seen.add(store.content_digest())
    store.cursor().execute("UPDATE series SET unit = 'x'")
    seen.add(store.content_digest())
    assert len(seen) == 4


# ---------------------------------------------------------------------------- crash safety

CHILD = """
import sys
from pathlib import Path
from powderkeg.data import store as store_module
from powderkeg.data.sources.files import read_series_file

store = store_module.Store(sys.argv[1])
batches = [read_series_file(p) for p in sorted(Path(sys.argv[2]).glob("*.csv"))]
begin = store_module._Transaction.__enter__

def announce(self):
    begin(self)
    print("writing", sum(len(b) for b in batches), flush=True)

store_module._Transaction.__enter__ = announce
store.ingest(batches, source="file", target="big")
print("done", flush=True)
"""


def _big_files(folder: Path, n_files: int, n_rows: int) -> None:
    """Write n_files daily series of n_rows rows each (dates from 1700 on)."""
    folder.mkdir()
    days = np.datetime_as_string(np.datetime64("1700-01-01") + np.arange(n_rows), unit="D")
    values = np.char.mod("%.2f", 100.0 + np.arange(n_rows) % 997 / 10)
    body = "date,value\n" + "\n".join(np.char.add(np.char.add(days, ","), values)) + "\n"
    for k in range(n_files):
        (folder / f"S{k:02d}.csv").write_text(body)


def test_sigkill_during_import_leaves_a_consistent_store(tmp_path: Path) -> None:
    db = tmp_path / "crash.duckdb"
    with Store(db) as s:
        s.ingest([read_series_file(WALCL, symbol="WALCL")], source="file", target="walcl")
        s.ingest([read_series_file(BTC, symbol="BTC-USD")], source="file", target="btc")
        digest = s.content_digest()
        walcl = s.history("WALCL")
    n_files, n_rows = 16, 200_000
    _big_files(tmp_path / "big", n_files, n_rows)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(tmp_path / "big")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = child.stdout.readline()
    assert line.split() == ["writing", str(n_files * n_rows)], child.stderr.read()
    time.sleep(0.3)  # the transaction has begun; writing 3.2M rows takes over a second
    child.send_signal(signal.SIGKILL)
    rest, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert "done" not in rest  # killed before the import finished

    with Store(db) as s:  # reopening replays the log; the schema is intact and writable
        tables = {r[0] for r in s.cursor().execute("SHOW TABLES").fetchall()}
        assert {"series", "observations", "ingests", "cache", "meta"} <= tables
        counts = s.counts()
        big = counts["observations"] - (len(walcl) + 4357)
        assert big in (0, n_files * n_rows)  # none of the import or all of it
        if big == 0:
            assert s.content_digest() == digest
            assert s.symbols() == ["BTC-USD", "WALCL"]
        pd.testing.assert_frame_equal(s.history("WALCL"), walcl)
        cur = s.cursor()
        orphans = cur.execute(
            "SELECT count(*) FROM observations WHERE ingest_id NOT IN (SELECT id FROM ingests)"
        ).fetchone()
        assert orphans == (0,)
        logged = cur.execute("SELECT sum(rows_inserted) FROM ingests").fetchone()
        assert logged == (counts["observations"],)
        n_obs = cur.execute("SELECT sum(n_obs) FROM series").fetchone()
        assert n_obs == (counts["observations"],)
        report = s.ingest([_macro("AFTER", ["2024-01-01"], [1.0])], source="t", target="after")
        assert report.inserted == 1


def test_list_series_as_of_a_date(real_store: Store) -> None:
    full = real_store.list_series()
    cut = real_store.list_series(asof="2015-01-01")
    btc = real_store.history("BTC-USD", end="2015-01-01")
    assert cut.loc["BTC-USD", "n_obs"] == len(btc)
    assert cut.loc["BTC-USD", "last_date"] == btc.index[-1]
    assert "ETH-USD" not in cut.index and "ETH-USD" in full.index  # ETH starts in 2017
    assert (cut["last_date"] <= pd.Timestamp("2015-01-01")).all()


# ---------------------------------------------------------------------------- data version


def test_data_version_changes_with_every_committed_write(store: Store) -> None:
    assert store.data_version() == 0
    store.ingest([_macro("A", ["2024-01-01"], [1.0])], source="t", target="a")
    first = store.data_version()
    assert first != 0
    # a repeated import changes no value, but is logged and touches updated_at: it counts
    store.ingest([_macro("A", ["2024-01-01"], [1.0])], source="t", target="a")
    second = store.data_version()
    assert second not in (0, first)
    store.delete(["A"])
    assert store.data_version() not in (0, first, second)


def test_reads_and_the_result_cache_leave_the_data_version(store: Store) -> None:
    store.ingest([_macro("A", ["2024-01-01", "2024-01-02"], [1.0, 2.0])], source="t", target="a")
    version = store.data_version()
    store.frame(["A"])
    store.history("A")
    store.list_series()
    store.ingests()
    store.cache_put("ns", "k", {"x": 1})
    assert store.data_version() == version
    with store.thread_view() as view:
        assert view.data_version() == version


@pytest.mark.parametrize("needle", ["INSERT INTO ingests", "COMMIT"])
def test_failed_import_leaves_the_data_version(
    store: Store, monkeypatch: pytest.MonkeyPatch, needle: str
) -> None:
    store.ingest([_macro("A", ["2024-01-01"], [1.0])], source="t", target="a")
    version = store.data_version()
    with pytest.raises(InputError):  # refused before anything is written
        store.ingest([_price("A", ["2024-01-02"], [2.0])], source="t", target="a")
    assert store.data_version() == version
    # a DuckDB failure at the end of the transaction (the version was already counted)
    monkeypatch.setattr(store, "_con", _FailOn(store._con, needle))
    with pytest.raises(StoreError, match="rolled back"):
        store.ingest([_macro("A", ["2024-01-02"], [2.0])], source="t", target="a")
    monkeypatch.undo()
    assert store.data_version() == version


def test_read_only_store_reads_the_data_version(tmp_path: Path) -> None:
    path = tmp_path / "v.duckdb"
    with Store(path) as s:
        s.ingest([_macro("A", ["2024-01-01"], [1.0])], source="t", target="a")
        version = s.data_version()
    with Store(path, read_only=True) as ro:
        assert ro.data_version() == version
