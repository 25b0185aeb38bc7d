"""The embedded DuckDB store: series metadata, observations, ingest log and result cache.

Every write is one transaction. A failed import leaves the store exactly as it was; a
repeated import changes nothing; changed values are updated and counted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from powderkeg import config
from powderkeg._validation import optional_date
from powderkeg.data import calendars, units
from powderkeg.data.records import OBSERVATION_FIELDS, SeriesData
from powderkeg.exceptions import InputError, StoreError, UnknownSymbolError
from powderkeg.results import Provenance, Result, Summary, Table

SCHEMA_VERSION = 1

_DDL = [
    """CREATE TABLE IF NOT EXISTS meta(key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS series(
        symbol VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, unit VARCHAR, frequency VARCHAR,
        calendar VARCHAR, source VARCHAR, description VARCHAR, first_date DATE, last_date DATE,
        n_obs BIGINT, updated_at TIMESTAMP)""",
    # (symbol, date) is unique, but kept so by Store.ingest rather than by a PRIMARY KEY:
    # the key's index doubled the cost of writing a large import.
    """CREATE TABLE IF NOT EXISTS observations(
        symbol VARCHAR NOT NULL, date DATE NOT NULL, open DOUBLE, high DOUBLE, low DOUBLE,
        close DOUBLE, volume DOUBLE, value DOUBLE, ingest_id BIGINT)""",
    """CREATE TABLE IF NOT EXISTS ingests(
        id BIGINT PRIMARY KEY, source VARCHAR, target VARCHAR, started_at TIMESTAMP,
        finished_at TIMESTAMP, rows_inserted BIGINT, rows_updated BIGINT, status VARCHAR,
        sha256 VARCHAR, error VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS cache(
        namespace VARCHAR NOT NULL, key VARCHAR NOT NULL, created_at TIMESTAMP,
        payload VARCHAR, PRIMARY KEY(namespace, key))""",
]

_FIELDS_SQL = ", ".join(OBSERVATION_FIELDS)
#: How far before ``start`` :meth:`Store.frame` reads, to cover every publication lag.
_FRAME_MARGIN = pd.DateOffset(months=6)


@dataclass
class IngestReport(Result):
    """What one import or update wrote."""

    ingest_id: int
    source: str
    target: str
    inserted: int
    updated: int
    unchanged: int
    per_series: pd.DataFrame
    runtime_s: float
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return {
            "ingest_id": self.ingest_id,
            "source": self.source,
            "target": self.target,
            "rows_inserted": self.inserted,
            "rows_updated": self.updated,
            "rows_unchanged": self.unchanged,
            "series": self.per_series.reset_index().to_dict(orient="records"),
            "runtime_s": self.runtime_s,
        }

    def summary(self) -> Summary:
        """Summarise the counts, per series."""
        return Summary(
            f"Imported {self.target}",
            facts=[
                ("series", len(self.per_series)),
                ("rows inserted", self.inserted),
                ("rows updated", self.updated),
                ("rows unchanged", self.unchanged),
                ("runtime (s)", round(self.runtime_s, 3)),
            ],
            tables=[Table.from_frame("Per series", self.per_series)],
        )

    def to_frame(self) -> pd.DataFrame:
        """Per-series counts."""
        return self.per_series


class Store:
    """An embedded DuckDB store of series, observations and provenance.

    Parameters
    ----------
    path : str or Path, optional
        The database file. ``None`` uses ``$POWDERKEG_HOME/powderkeg.duckdb`` (``~/.powderkeg``
        if unset); ``":memory:"`` gives a throw-away in-memory store.
    read_only : bool, default False
        Open without write access (several readers may share the file).

    Examples
    --------
    >>> store = Store(":memory:")
    >>> store.frame(["BTC-USD"])  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, read_only: bool = False):
        if path is None:
            path = config.default_db_path()
        self.path = str(path)
        self.read_only = read_only
        if self.path != ":memory:":
            p = Path(self.path)
            if read_only and not p.exists():
                raise StoreError(f"store {self.path} does not exist")
            p.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        if not read_only:
            self._migrate()

    # ------------------------------------------------------------------ lifecycle
    def _migrate(self) -> None:
        with self._transaction():
            for ddl in _DDL:
                self._con.execute(ddl)
            self._con.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
            )

    def close(self) -> None:
        """Close the connection."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def _transaction(self) -> _Transaction:
        return _Transaction(self._con)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Return a new cursor for use from another thread."""
        return self._con.cursor()

    def thread_view(self) -> Store:
        """Return a Store on a new cursor of the same database, for use from another thread.

        DuckDB connections are not thread-safe; each worker thread of a server takes its own
        view. Closing the view closes only its cursor.
        """
        view = object.__new__(Store)
        view.path = self.path
        view.read_only = self.read_only
        view._con = self._con.cursor()
        return view

    # ------------------------------------------------------------------ writes
    def ingest(
        self,
        batches: Sequence[SeriesData],
        *,
        source: str,
        target: str,
        sha256: str | None = None,
    ) -> IngestReport:
        """Write ``batches`` in one transaction and log it in ``ingests``.

        Rows are upserted on ``(symbol, date)``: new rows are inserted, rows whose values
        differ are updated, identical rows are left untouched, so each ``(symbol, date)``
        is stored once. On any error nothing is written.

        Parameters
        ----------
        batches : sequence of SeriesData
            The series to write (one symbol each; a symbol may not appear twice).
        source : str
            The source kind (``"file"``, ``"package"``, ``"fred"``...).
        target : str
            What was imported (a path or a list of symbols).
        sha256 : str, optional
            Checksum of the imported file(s), recorded in the log.

        Returns
        -------
        IngestReport

        Raises
        ------
        InputError
            A symbol twice, a date twice within a series, or a symbol stored with another
            kind.
        StoreError
            The store is read-only, or DuckDB failed (the transaction was rolled back).
        """
        self._require_writable()
        symbols = [b.meta.symbol for b in batches]
        dupes = sorted({s for s in symbols if symbols.count(s) > 1})
        if dupes:
            raise InputError(f"symbol(s) {dupes} appear more than once in one import")
        for b in batches:
            if not b.frame.index.is_unique:
                day = b.frame.index[b.frame.index.duplicated()][0]
                raise InputError(f"series {b.meta.symbol!r} has the date {day:%Y-%m-%d} twice")
        started = _now()
        t0 = time.perf_counter()
        staging = _staging_table(batches)
        con = self._con
        rows: list[dict[str, Any]] = []
        assign = ", ".join(f"{f} = c.{f}" for f in OBSERVATION_FIELDS)
        differs = " OR ".join(f"s.{f} IS DISTINCT FROM o.{f}" for f in OBSERVATION_FIELDS)
        with self._transaction():
            ingest_id = int(
                con.execute("SELECT coalesce(max(id), 0) + 1 FROM ingests").fetchone()[0]  # type: ignore[index]
            )
            self._check_kinds(batches)
            stored = {
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT symbol FROM observations WHERE symbol IN (SELECT unnest(?))",
                    [symbols],
                ).fetchall()
            }
            fresh = [s for s in symbols if s not in stored]
            counts: dict[str, tuple[int, int]] = {}
            con.register("pk_staging", staging)
            try:
                if fresh:
                    # series with nothing stored yet: every row is new, no comparison needed
                    where = "" if not stored else "WHERE symbol IN (SELECT unnest(?))"
                    con.execute(
                        f"""INSERT INTO observations
                            SELECT symbol, date, {_FIELDS_SQL}, ? FROM pk_staging {where}""",
                        [ingest_id, fresh] if stored else [ingest_id],
                    )
                    counts.update({s: (n, 0) for s, n in _lengths(batches).items() if s in fresh})
                if stored:
                    con.execute(
                        f"""CREATE OR REPLACE TEMP TABLE pk_changed AS
                            SELECT s.*, o.symbol IS NULL AS is_new
                            FROM pk_staging s LEFT JOIN observations o
                              ON o.symbol = s.symbol AND o.date = s.date
                            WHERE s.symbol IN (SELECT unnest(?))
                              AND (o.symbol IS NULL OR {differs})""",
                        [sorted(stored)],
                    )
            finally:
                con.unregister("pk_staging")
            if stored:
                for sym, ins, upd in con.execute(
                    """SELECT symbol, count(*) FILTER (WHERE is_new),
                              count(*) FILTER (WHERE NOT is_new)
                       FROM pk_changed GROUP BY symbol"""
                ).fetchall():
                    counts[sym] = (int(ins), int(upd))
                con.execute(
                    f"""UPDATE observations SET {assign}, ingest_id = ?
                        FROM pk_changed c
                        WHERE NOT c.is_new AND observations.symbol = c.symbol
                          AND observations.date = c.date""",
                    [ingest_id],
                )
                con.execute(
                    f"""INSERT INTO observations
                        SELECT symbol, date, {_FIELDS_SQL}, ? FROM pk_changed WHERE is_new""",
                    [ingest_id],
                )
                con.execute("DROP TABLE pk_changed")
            now = _now()
            if batches:
                metas = pa.table(
                    {
                        name: pa.array([getattr(b.meta, name) for b in batches], type=pa.string())
                        for name in (
                            "symbol",
                            "kind",
                            "unit",
                            "frequency",
                            "calendar",
                            "source",
                            "description",
                        )
                    }
                )
                con.register("pk_meta", metas)
                try:
                    con.execute(
                        """INSERT INTO series
                           SELECT symbol, kind, unit, frequency, calendar, source, description,
                                  NULL, NULL, 0, ? FROM pk_meta
                           ON CONFLICT (symbol) DO UPDATE SET kind = excluded.kind,
                             unit = excluded.unit, frequency = excluded.frequency,
                             calendar = excluded.calendar, source = excluded.source,
                             description = excluded.description,
                             updated_at = excluded.updated_at""",
                        [now],
                    )
                finally:
                    con.unregister("pk_meta")
                con.execute(
                    """UPDATE series SET first_date = a.f, last_date = a.l, n_obs = a.n
                       FROM (SELECT symbol AS sym, min(date) AS f, max(date) AS l, count(*) AS n
                             FROM observations WHERE symbol IN (SELECT unnest(?))
                             GROUP BY symbol) a
                       WHERE series.symbol = a.sym""",
                    [symbols],
                )
            lengths = _lengths(batches)
            for sym in symbols:
                ins, upd = counts.get(sym, (0, 0))
                rows.append({"symbol": sym, "rows": lengths[sym], "inserted": ins, "updated": upd})
            inserted = sum(r["inserted"] for r in rows)
            updated = sum(r["updated"] for r in rows)
            con.execute(
                "INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?, 'ok', ?, NULL)",
                [ingest_id, source, target, started, _now(), inserted, updated, sha256],
            )
            self._bump_data_version()
        per_series = pd.DataFrame(rows, columns=["symbol", "rows", "inserted", "updated"])
        per_series = per_series.set_index("symbol")
        total = int(per_series["rows"].sum()) if len(per_series) else 0
        return IngestReport(
            ingest_id=ingest_id,
            source=source,
            target=target,
            inserted=inserted,
            updated=updated,
            unchanged=total - inserted - updated,
            per_series=per_series,
            runtime_s=time.perf_counter() - t0,
            provenance=Provenance(parameters={"source": source, "target": target}),
        )

    def _check_kinds(self, batches: Sequence[SeriesData]) -> None:
        existing = dict(self._con.execute("SELECT symbol, kind FROM series").fetchall())
        for b in batches:
            old = existing.get(b.meta.symbol)
            if old is not None and old != b.meta.kind:
                raise InputError(
                    f"symbol {b.meta.symbol!r} is stored as kind {old!r}; "
                    f"cannot import it as {b.meta.kind!r} (use another --symbol)"
                )

    def delete(self, symbols: Iterable[str]) -> int:
        """Delete series and their observations in one transaction; return rows removed."""
        self._require_writable()
        syms = list(symbols)
        for s in syms:
            self.series_info(s)
        with self._transaction():
            n = self._con.execute(
                "SELECT count(*) FROM observations WHERE symbol IN (SELECT unnest(?))", [syms]
            ).fetchone()[0]  # type: ignore[index]
            self._con.execute("DELETE FROM observations WHERE symbol IN (SELECT unnest(?))", [syms])
            self._con.execute("DELETE FROM series WHERE symbol IN (SELECT unnest(?))", [syms])
            self._bump_data_version()
        return int(n)

    def _bump_data_version(self) -> None:
        """Count one more committed write of data (call inside the write's transaction)."""
        self._con.execute(
            """INSERT INTO meta VALUES ('data_version', '1')
               ON CONFLICT (key) DO UPDATE
               SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS VARCHAR)"""
        )

    def _require_writable(self) -> None:
        if self.read_only:
            raise StoreError(f"store {self.path} is open read-only")

    # ------------------------------------------------------------------ reads
    def list_series(self, asof: Any = None) -> pd.DataFrame:
        """Return one row per series with its metadata, dates and row count.

        With ``asof``, dates and counts cover only observations up to that date, and series
        that start later are left out.
        """
        end = optional_date(asof, "asof")
        if end is None:
            query = """SELECT symbol, kind, unit, frequency, calendar, source, description,
                              first_date, last_date, n_obs, updated_at
                       FROM series ORDER BY symbol"""
            params: list[Any] = []
        else:
            query = """SELECT s.symbol, s.kind, s.unit, s.frequency, s.calendar, s.source,
                              s.description, o.f AS first_date, o.l AS last_date, o.n AS n_obs,
                              s.updated_at
                       FROM series s JOIN (
                           SELECT symbol, min(date) AS f, max(date) AS l, count(*) AS n
                           FROM observations WHERE date <= ? GROUP BY symbol
                       ) o ON o.symbol = s.symbol
                       ORDER BY s.symbol"""
            params = [end]
        df = self._con.execute(query, params).df()
        for col in ("first_date", "last_date"):
            df[col] = pd.to_datetime(df[col])
        return df.set_index("symbol")

    def symbols(self) -> list[str]:
        """Return the stored symbols, sorted."""
        return [r[0] for r in self._con.execute("SELECT symbol FROM series ORDER BY 1").fetchall()]

    def series_info(self, symbol: str) -> dict[str, Any]:
        """Return the metadata row of ``symbol`` as a dict.

        Raises
        ------
        UnknownSymbolError
            If the symbol is not stored (the message suggests close matches).
        """
        cur = self._con.execute(
            """SELECT symbol, kind, unit, frequency, calendar, source, description,
                      first_date, last_date, n_obs, updated_at FROM series WHERE symbol = ?""",
            [symbol],
        )
        row = cur.fetchone()
        if row is None:
            raise UnknownSymbolError(symbol, self._suggest(symbol))
        cols = [d[0] for d in cur.description]
        return dict(zip(cols, row))

    def _infos(self, symbols: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Return the metadata rows of several symbols (one query), in the order given."""
        cur = self._con.execute(
            """SELECT symbol, kind, unit, frequency, calendar, source, description,
                      first_date, last_date, n_obs, updated_at FROM series
               WHERE symbol IN (SELECT unnest(?))""",
            [list(symbols)],
        )
        cols = [d[0] for d in cur.description]
        found = {row[0]: dict(zip(cols, row, strict=True)) for row in cur.fetchall()}
        for sym in symbols:
            if sym not in found:
                self.series_info(sym)  # raises, suggesting close matches
        return {sym: found[sym] for sym in symbols}

    def _suggest(self, symbol: str) -> str:
        import difflib

        close = difflib.get_close_matches(symbol.upper(), self.symbols(), n=3, cutoff=0.5)
        if close:
            return "did you mean " + ", ".join(close) + "?"
        return "run 'powderkeg data list' to see what is stored"

    def history(
        self,
        symbol: str,
        start: Any = None,
        end: Any = None,
    ) -> pd.DataFrame:
        """Return the stored fields of one series between ``start`` and ``end`` (inclusive).

        Prices give ``open``, ``high``, ``low``, ``close``, ``volume`` (fields the source
        never provides are left out, ``close`` is always there); macro series give
        ``value``. The index is the observation date.
        """
        info = self.series_info(symbol)
        s, e = optional_date(start, "start"), optional_date(end, "end")
        keep = list(OBSERVATION_FIELDS[:5]) if info["kind"] == "price" else ["value"]
        where: list[str] = ["symbol = ?"]
        params: list[Any] = [symbol]
        if s is not None:
            where.append("date >= ?")
            params.append(s.date())
        if e is not None:
            where.append("date <= ?")
            params.append(e.date())
        raw = self._con.execute(
            f"""SELECT date, {", ".join(keep)} FROM observations
                WHERE {" AND ".join(where)} ORDER BY date""",
            params,
        ).fetchnumpy()
        index = pd.DatetimeIndex(pd.to_datetime(np.asarray(raw["date"])), name="date")
        main = "close" if info["kind"] == "price" else "value"
        cols = {}
        for fld in keep:
            values = _floats(raw[fld])
            if fld == main or not np.isnan(values).all() or not len(values):
                cols[fld] = values
        return pd.DataFrame(cols, index=index)

    def frame(
        self,
        symbols: str | Sequence[str],
        start: Any = None,
        end: Any = None,
        field: str | None = None,
        calendar: str = "intersection",
        *,
        asof_publication: bool = True,
        unit: str | None = None,
    ) -> pd.DataFrame:
        """Return an aligned frame of the main value of several series.

        Parameters
        ----------
        symbols : str or sequence of str
            Symbols (or a universe name such as ``"ai"``).
        start, end : date-like, optional
            Inclusive bounds on the (aligned) dates.
        field : str, optional
            ``open``, ``high``, ``low``, ``close``, ``volume`` or ``value``; by default
            each series' main value (``close`` for prices, ``value`` for macro series).
        calendar : str, default "intersection"
            Alignment policy, see :func:`powderkeg.data.calendars.align`.
        asof_publication : bool, default True
            Date macro observations by when they were published (no look-ahead).
        unit : str, optional
            Convert every series with a convertible unit (e.g. ``"USD millions"``).

        Returns
        -------
        DataFrame
            Date-indexed, one float64 column per symbol in the order given; ``attrs``
            holds ``units`` and ``calendar``.
        """
        from powderkeg.data.universe import expand

        syms = expand(symbols)
        infos = self._infos(syms)
        if field is not None and field not in OBSERVATION_FIELDS:
            raise InputError(f"field must be one of {', '.join(OBSERVATION_FIELDS)}; got {field!r}")
        s, e = optional_date(start, "start"), optional_date(end, "end")
        select = field if field else "coalesce(close, value)"
        # rows come back ordered by the symbol's position k in ``syms``, then by date
        if s is None:
            raw = self._con.execute(
                f"""SELECT list_position($syms, symbol) AS k, date, {select} AS v
                    FROM observations
                    WHERE symbol IN (SELECT unnest($syms)) AND ($hi IS NULL OR date <= $hi)
                      AND {select} IS NOT NULL
                    ORDER BY k, date""",
                {"syms": syms, "hi": e},
            ).fetchnumpy()
        else:
            # Rows from a margin before ``start`` (values published later than observed can
            # fall inside the window), plus each series' last value before the margin, which
            # the forward-filling policies carry into the window.
            margin = (s - _FRAME_MARGIN).date()
            raw = self._con.execute(
                f"""SELECT list_position($syms, symbol) AS k, date, v FROM (
                      SELECT symbol, date, {select} AS v FROM observations
                      WHERE symbol IN (SELECT unnest($syms)) AND date >= $lo
                        AND ($hi IS NULL OR date <= $hi) AND {select} IS NOT NULL
                      UNION ALL
                      SELECT symbol, max(date), arg_max({select}, date) FROM observations
                      WHERE symbol IN (SELECT unnest($syms)) AND date < $lo
                        AND {select} IS NOT NULL
                      GROUP BY symbol)
                    ORDER BY k, date""",
                {"syms": syms, "lo": margin, "hi": e},
            ).fetchnumpy()
        series: dict[str, pd.Series] = {}
        codes = np.asarray(raw["k"], dtype=np.int64)
        dates = pd.DatetimeIndex(pd.to_datetime(np.asarray(raw["date"])))
        values = _floats(raw["v"])
        cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
        for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(codes)], strict=True):
            if hi <= lo:
                continue
            sym = syms[int(codes[lo]) - 1]
            ser = pd.Series(values[lo:hi], index=dates[lo:hi], name=sym)
            info = infos[sym]
            if asof_publication and info["kind"] == "macro":
                ser = calendars.publish_dates(ser, sym, info["frequency"])
            series[sym] = ser
        for sym in syms:
            series.setdefault(sym, pd.Series(dtype="float64", index=dates[:0], name=sym))
        unit_map = {sym: infos[sym]["unit"] or "" for sym in syms}
        if unit is not None:
            for sym in syms:
                if units.convertible(unit_map[sym], unit):
                    series[sym] = series[sym] * units.factor(unit_map[sym], unit)
                    unit_map[sym] = unit
        out = calendars.align([series[x] for x in syms], calendar)
        if s is not None:
            out = out.loc[out.index >= s]
        if e is not None:  # values observed by ``end`` but published after it
            out = out.loc[out.index <= e]
        out.attrs["units"] = unit_map
        out.attrs["calendar"] = calendar
        return out

    def provenance(self, symbols: Iterable[str]) -> list[dict[str, Any]]:
        """Return, per symbol, its source and when it was last fetched or imported."""
        syms = list(symbols)
        rows = self._con.execute(
            """SELECT s.symbol, s.source, s.unit, s.first_date, s.last_date, max(i.finished_at)
               FROM series s LEFT JOIN observations o ON o.symbol = s.symbol
               LEFT JOIN ingests i ON i.id = o.ingest_id
               WHERE s.symbol IN (SELECT unnest(?))
               GROUP BY ALL ORDER BY s.symbol""",
            [syms],
        ).fetchall()
        return [
            {
                "symbol": r[0],
                "source": r[1],
                "unit": r[2],
                "first": r[3],
                "last": r[4],
                "fetched_at": r[5],
            }
            for r in rows
        ]

    def data_version(self) -> int:
        """Return the version of the stored data: it changes with every committed write.

        Every import or update (:meth:`ingest`) and every :meth:`delete` adds one in the
        same transaction as the data it writes, so a rolled-back write leaves it as it was
        and reads never change it. The result cache (:meth:`cache_put`) does not count.
        One primary-key lookup, cheap enough to check before every read.

        Returns
        -------
        int
            0 for a store that was never written to.

        Examples
        --------
        >>> store = Store(":memory:")
        >>> store.data_version()
        0
        """
        row = self._con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        return 0 if row is None else int(row[0])

    def ingests(self) -> pd.DataFrame:
        """Return the ingest log, newest first."""
        return self._con.execute("SELECT * FROM ingests ORDER BY id DESC").df()

    def counts(self) -> dict[str, int]:
        """Return row counts of every table (used to check that failures write nothing)."""
        return {
            t: int(self._con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
            for t in ("series", "observations", "ingests", "cache")
        }

    def content_digest(self) -> str:
        """Return a digest of the whole content, to check that a failed write changed nothing.

        Every row of every table is rendered as text in key order and hashed, so any
        change to a value, a key or the ingest log changes the digest.
        """
        import hashlib

        h = hashlib.sha256()
        for table, order in (
            ("meta", "key"),
            ("series", "symbol"),
            ("observations", "symbol, date"),
            ("ingests", "id"),
            ("cache", "namespace, key"),
        ):
            row = self._con.execute(
                f"""SELECT count(*), md5(coalesce(
                        string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY {order}), ''))
                    FROM {table} t"""
            ).fetchone()
            h.update(f"{table}:{row}\n".encode())
        return h.hexdigest()

    # ------------------------------------------------------------------ cache
    def cache_get(self, namespace: str, key: str) -> Any:
        """Return a cached JSON payload, or ``None``."""
        row = self._con.execute(
            "SELECT payload FROM cache WHERE namespace = ? AND key = ?", [namespace, key]
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def cache_put(self, namespace: str, key: str, payload: Any) -> None:
        """Store a JSON-serialisable payload under ``(namespace, key)`` (one transaction)."""
        if self.read_only:
            return
        text = json.dumps(payload)
        with self._transaction():
            self._con.execute(
                "INSERT OR REPLACE INTO cache VALUES (?, ?, ?, ?)", [namespace, key, _now(), text]
            )


class _Transaction:
    """BEGIN/COMMIT around a block; ROLLBACK (and re-raise as StoreError if DuckDB failed)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __enter__(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if exc_type is None:
            try:
                self.con.execute("COMMIT")
            except duckdb.Error as commit_exc:
                self._rollback()
                raise StoreError(
                    f"store write failed and was rolled back: {commit_exc}"
                ) from commit_exc
            return
        self._rollback()
        if isinstance(exc, duckdb.Error):
            raise StoreError(f"store write failed and was rolled back: {exc}") from exc

    def _rollback(self) -> None:
        # the failed statement may already have ended the transaction
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _floats(column: Any) -> np.ndarray:
    """Return a fetched column as float64 with NULLs (masked entries) as NaN."""
    return np.ma.filled(np.ma.asarray(column, dtype=np.float64), np.nan)


def _lengths(batches: Sequence[SeriesData]) -> dict[str, int]:
    return {b.meta.symbol: len(b.frame) for b in batches}


def _staging_table(batches: Sequence[SeriesData]) -> pa.Table:
    """Concatenate the batches into one Arrow table (missing values as nulls)."""
    lengths = np.array([len(b.frame) for b in batches], dtype=np.int64)
    symbols = pa.array([b.meta.symbol for b in batches], type=pa.string())
    codes = np.repeat(np.arange(len(batches), dtype=np.int32), lengths)
    columns: dict[str, pa.Array] = {
        "symbol": pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32()), symbols),
    }
    dates = [b.frame.index.to_numpy().astype("datetime64[D]") for b in batches]
    columns["date"] = pa.array(
        np.concatenate(dates) if dates else np.zeros(0, dtype="datetime64[D]"), type=pa.date32()
    )
    for fld in OBSERVATION_FIELDS:
        parts = [
            b.frame[fld].to_numpy(np.float64) if fld in b.frame else np.full(len(b.frame), np.nan)
            for b in batches
        ]
        values = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float64)
        columns[fld] = pa.array(values, type=pa.float64(), from_pandas=True)
    return pa.table(columns)
