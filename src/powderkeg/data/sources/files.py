"""CSV and Parquet files: column detection, tolerant parsing, errors that name file and line.

Handled quietly: blank rows, missing-value markers (``""``, ``"."`` as FRED writes, ``NA``,
``NaN``, ``null``), CRLF line endings, a UTF-8 byte-order mark, scientific notation,
unsorted dates, timezone-stamped timestamps (the wall-clock date is kept) and exact
duplicate rows. Errors (:class:`~powderkeg.exceptions.DataFileError`, naming the file and
line): no date column, an unparseable date, text in a number column, a truncated line, and
the same date twice with different values.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from powderkeg.data.records import PRICE_FIELDS, SeriesData, SeriesMeta
from powderkeg.exceptions import DataFileError, InputError

DEFAULT_MISSING = ("", ".", "NA", "N/A", "NaN", "nan", "null", "NULL", "#N/A")
DATE_NAMES = ("date", "as_of", "asof", "observation_date", "timestamp", "datetime", "time", "day")
TEXT_NAMES = ("status", "symbol", "ticker", "name", "currency", "notes")
_TZ_SUFFIX = re.compile(r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})$")
_TIME_PART = re.compile(r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
#: Files larger than this are parsed by Arrow on several threads.
_THREADED_BYTES = 8 << 20


@dataclass(frozen=True)
class ColumnSpec:
    """Which columns of a file to read, and how.

    Parameters
    ----------
    date_col : str, optional
        The date column (detected if omitted).
    value_col : str, optional
        The main value column: ``close`` for prices, the value for macro series.
    kind : {"price", "macro"}, optional
        Detected if omitted: ``price`` when the file has a close column.
    missing_values : sequence of str
        Cell contents that mean "missing".
    """

    date_col: str | None = None
    value_col: str | None = None
    kind: str | None = None
    missing_values: Sequence[str] = DEFAULT_MISSING


def file_sha256(path: str | Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_series_file(
    path: str | Path,
    *,
    symbol: str | None = None,
    spec: ColumnSpec | None = None,
    unit: str = "",
    frequency: str = "",
    calendar: str = "",
    description: str = "",
    source: str | None = None,
    sha256: str | None = None,
) -> SeriesData:
    """Read one CSV or Parquet file into a :class:`SeriesData`.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` (optionally ``.txt``/``.tsv``) or ``.parquet`` file.
    symbol : str, optional
        The symbol to store it under; defaults to the file name without extension.
    spec : ColumnSpec, optional
        Column overrides.
    unit, frequency, calendar, description : str
        Metadata recorded with the series.
    source : str, optional
        Provenance label; defaults to ``file:<absolute path>``.
    sha256 : str, optional
        Pre-computed checksum of the file.

    Returns
    -------
    SeriesData

    Raises
    ------
    DataFileError
        With the file and line of the first problem.

    Notes
    -----
    A well-formed CSV file (ISO dates, plain numbers) is parsed in one pass by the Arrow
    CSV reader. Anything unusual (time stamps, padded or odd cells, a short or long line,
    conflicting duplicates, a blank date) sends the file through a careful line-by-line
    reader, which accepts every quirk listed in the module docstring and otherwise reports
    the file and line of the first problem; both readers give identical results on the
    files they both accept.
    """
    p = Path(path)
    if not p.exists():
        raise DataFileError(str(p), None, "no such file")
    if p.is_dir():
        raise DataFileError(str(p), None, "is a directory, not a data file")
    return read_series_bytes(
        p,
        p.read_bytes(),
        symbol=symbol,
        spec=spec,
        unit=unit,
        frequency=frequency,
        calendar=calendar,
        description=description,
        source=source,
        sha256=sha256,
    )


def read_series_bytes(
    path: str | Path,
    data: bytes,
    *,
    symbol: str | None = None,
    spec: ColumnSpec | None = None,
    unit: str = "",
    frequency: str = "",
    calendar: str = "",
    description: str = "",
    source: str | None = None,
    sha256: str | None = None,
) -> SeriesData:
    """Parse the bytes of a CSV or Parquet file already read from ``path``.

    Same as :func:`read_series_file` (``path`` gives the format, the default symbol and
    the name used in messages), for callers that have verified the bytes themselves.
    """
    p = Path(path)
    spec = spec or ColumnSpec()
    parsed = _read_fast(p, data, spec, symbol)
    if parsed is None:
        parsed = _read_careful(p, data, spec, symbol)
    kind, frame = parsed
    meta = SeriesMeta(
        symbol=symbol or p.stem.upper(),
        kind=kind,
        unit=unit,
        frequency=frequency,
        calendar=calendar,
        source=source or f"file:{p.resolve()}",
        description=description,
    )
    return SeriesData(meta=meta, frame=frame, sha256=sha256 or hashlib.sha256(data).hexdigest())


def _separator(p: Path) -> str:
    return "\t" if p.suffix.lower() == ".tsv" else ","


def _is_parquet(p: Path) -> bool:
    return p.suffix.lower() in (".parquet", ".pq")


def _read_fast(
    p: Path, data: bytes, spec: ColumnSpec, symbol: str | None
) -> tuple[str, pd.DataFrame] | None:
    """Parse a well-formed CSV with Arrow; return ``None`` when the careful reader is needed.

    Returns ``None`` (never raises) whenever the file has anything the careful reader must
    judge: so the results of both readers agree and every error names a line.
    """
    if _is_parquet(p):
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sep = _separator(p)
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    end = body.find(b"\n")
    if end < 0:
        return None
    try:
        header_text = body[:end].decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        return None
    if '"' in header_text:
        return None
    raw_names = header_text.split(sep)
    names = [n.strip() for n in raw_names]
    if len(set(names)) != len(names) or "" in names:
        return None
    raw_of = dict(zip(names, raw_names, strict=True))
    date_col = None
    if spec.date_col is not None:
        date_col = _find_column(names, spec.date_col)
    else:
        for name in DATE_NAMES:
            date_col = _find_column(names, name)
            if date_col is not None:
                break
    if date_col is None:
        return None
    try:
        kind, mapping = _pick_value_columns(p, names, date_col, spec, symbol)
    except DataFileError:
        return None
    value_cols = list(dict.fromkeys(mapping.values()))
    if date_col in value_cols:
        return None
    types: dict[str, Any] = {raw_of[date_col]: pa.date32()}
    types.update({raw_of[c]: pa.float64() for c in value_cols})
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(use_threads=len(data) > _THREADED_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(types),
                null_values=list(spec.missing_values),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.column_names != list(types) or table.num_rows == 0:
        return None
    date_arr = table.column(0)
    if date_arr.null_count:
        return None
    dates = date_arr.to_numpy().astype("datetime64[ns]")
    columns = {
        raw: table.column(raw).to_numpy().astype(np.float64, copy=False) for raw in list(types)[1:]
    }
    fields = {target: columns[raw_of[col]] for target, col in mapping.items()}
    keep = np.isfinite(fields["close" if kind == "price" else "value"])
    if not keep.all():
        dates = dates[keep]
        fields = {k: v[keep] for k, v in fields.items()}
    stamps = dates.view(np.int64)
    if len(stamps) > 1 and not (stamps[1:] > stamps[:-1]).all():
        order = np.argsort(stamps, kind="stable")
        dates = dates[order]
        fields = {k: v[order] for k, v in fields.items()}
        dup = np.concatenate([[False], dates[1:] == dates[:-1]])
        if dup.any():
            values = np.column_stack(list(fields.values()))
            # position of the first row of each run of equal dates (now sorted)
            starts = np.flatnonzero(~dup)
            first = starts[np.searchsorted(starts, np.arange(len(dates)), side="right") - 1]
            ref = values[first]
            if not ((values == ref) | (np.isnan(values) & np.isnan(ref))).all():
                return None  # conflicting duplicates: the careful reader names the lines
            dates = dates[~dup]
            fields = {k: v[~dup] for k, v in fields.items()}
    return kind, pd.DataFrame(fields, index=pd.DatetimeIndex(dates, name="date"))


def _read_careful(
    p: Path, data: bytes, spec: ColumnSpec, symbol: str | None
) -> tuple[str, pd.DataFrame]:
    """Parse any supported file cell by cell; raise naming the file and line of a problem."""
    raw, lines = _read_raw(p, data)
    if raw.shape[1] == 0 or raw.empty:
        raise DataFileError(str(p), None, "the file has no data rows")

    def line_of(i: int) -> int:
        return int(lines[i])

    columns = list(raw.columns)
    date_col = _pick_date_column(p, raw, spec.date_col)
    kind, mapping = _pick_value_columns(p, columns, date_col, spec, symbol)
    missing = set(spec.missing_values)
    rows_idx = np.arange(len(raw))
    dates = _parse_dates(p, raw[date_col], rows_idx, line_of)
    fields: dict[str, np.ndarray] = {}
    for target, col in mapping.items():
        fields[target] = _parse_numbers(p, raw[col], col, missing, rows_idx, line_of)
    frame = pd.DataFrame(fields, index=pd.DatetimeIndex(dates, name="date"))
    main = "close" if kind == "price" else "value"
    has_main = np.isfinite(frame[main].to_numpy())
    frame = frame[has_main]
    src_rows = rows_idx[has_main]
    frame, _ = _dedupe(p, frame, src_rows, line_of)
    return kind, frame


def _read_raw(p: Path, data: bytes) -> tuple[pd.DataFrame, np.ndarray]:
    """Read every cell as text, skipping blank rows.

    Returns the frame and, per row, its line in the file (for Parquet: its 1-based row).
    """
    if _is_parquet(p):
        try:
            df = pd.read_parquet(io.BytesIO(data))
        except Exception as exc:
            raise DataFileError(str(p), None, f"not a readable Parquet file ({exc})") from None
        if isinstance(df.index, pd.DatetimeIndex) or df.index.name:
            df = df.reset_index()
        text = pd.DataFrame(
            {
                str(c): [
                    ""
                    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v))
                    else str(v)
                    for v in df[c].tolist()
                ]
                for c in df.columns
            },
            dtype=object,
        )
        blank = np.array([all(not v.strip() for v in r) for r in text.itertuples(index=False)])
        keep = ~blank if len(text) else np.zeros(0, dtype=bool)
        return text[keep].reset_index(drop=True), np.flatnonzero(keep) + 1
    try:
        text_data = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataFileError(str(p), line, f"not UTF-8 text ({exc.reason})") from None
    reader = csv.reader(io.StringIO(text_data, newline=""), delimiter=_separator(p))
    try:
        header = next(reader)
    except StopIteration:
        raise DataFileError(str(p), None, "the file is empty") from None
    except csv.Error as exc:
        raise DataFileError(str(p), 1, f"malformed CSV header ({exc})") from None
    names = _unique_names([h.strip() for h in header])
    ncols = len(names)
    rows: list[list[str]] = []
    lines: list[int] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataFileError(str(p), reader.line_num, f"malformed CSV ({exc})") from None
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != ncols:
            if len(row) < ncols:
                reason = f"truncated line: {len(row)} of {ncols} fields"
            else:
                reason = f"{len(row)} fields where the header has {ncols}"
            raise DataFileError(str(p), reader.line_num, reason)
        rows.append(row)
        lines.append(reader.line_num)
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    frame = pd.DataFrame({n: pd.Series(c, dtype=object) for n, c in zip(names, cols, strict=True)})
    return frame, np.asarray(lines, dtype=np.int64)


def _unique_names(names: list[str]) -> list[str]:
    """Make column names unique the way pandas does (``x``, ``x.1``, ``x.2``...)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if n in seen:
            seen[n] += 1
            candidate = f"{n}.{seen[n]}"
            while candidate in seen:
                seen[n] += 1
                candidate = f"{n}.{seen[n]}"
            seen[candidate] = 0
            out.append(candidate)
        else:
            seen[n] = 0
            out.append(n)
    return out


def _pick_date_column(p: Path, raw: pd.DataFrame, override: str | None) -> str:
    cols = list(raw.columns)
    if override is not None:
        found = _find_column(cols, override)
        if found is None:
            raise DataFileError(
                str(p), 1, f"date column {override!r} not found (columns: {', '.join(cols)})"
            )
        return found
    for name in DATE_NAMES:
        found = _find_column(cols, name)
        if found is not None:
            return found
    first = cols[0]
    sample = raw[first].head(20).str.strip()
    sample = sample[sample != ""]
    parsed = pd.to_datetime(
        sample.str.replace(_TZ_SUFFIX, "", regex=True), errors="coerce", format="mixed"
    )
    if len(sample) and parsed.notna().all():
        return first
    raise DataFileError(
        str(p), 1, f"no date column found (columns: {', '.join(cols)}); name one with --date-col"
    )


def _find_column(cols: Sequence[str], name: str) -> str | None:
    if name in cols:
        return name
    low = {c.lower(): c for c in cols}
    return low.get(name.lower())


def _pick_value_columns(
    p: Path, cols: list[str], date_col: str, spec: ColumnSpec, symbol: str | None
) -> tuple[str, dict[str, str]]:
    """Return (kind, {target field: file column})."""
    rest = [c for c in cols if c != date_col]
    close = _find_column(rest, "close")
    has_close = close is not None or _find_column(rest, "adj close") is not None
    kind = spec.kind or ("price" if has_close else "macro")
    if kind == "price":
        mapping: dict[str, str] = {}
        for f in PRICE_FIELDS:
            c = _find_column(rest, f)
            if c is not None:
                mapping[f] = c
        if spec.value_col is not None:
            c = _find_column(rest, spec.value_col)
            if c is None:
                raise DataFileError(
                    str(p),
                    1,
                    f"value column {spec.value_col!r} not found (columns: {', '.join(cols)})",
                )
            mapping["close"] = c
        elif "close" not in mapping:
            adj = _find_column(rest, "adj close")
            if adj is None:
                raise DataFileError(
                    str(p),
                    1,
                    f"no close column (columns: {', '.join(cols)}); name one with --value-col",
                )
            mapping["close"] = adj
        return "price", mapping
    if spec.value_col is not None:
        c = _find_column(rest, spec.value_col)
        if c is None:
            raise DataFileError(
                str(p), 1, f"value column {spec.value_col!r} not found (columns: {', '.join(cols)})"
            )
        return "macro", {"value": c}
    candidates = [c for c in rest if c.lower() not in TEXT_NAMES]
    for preferred in ("value", symbol or "", p.stem):
        c = _find_column(candidates, preferred) if preferred else None
        if c is not None:
            return "macro", {"value": c}
    if len(candidates) == 1:
        return "macro", {"value": candidates[0]}
    raise DataFileError(
        str(p),
        1,
        f"cannot tell which column holds the values (columns: {', '.join(cols)}); "
        "name one with --value-col",
    )


def _parse_dates(
    p: Path, col: pd.Series, rows_idx: np.ndarray, line_of: Callable[[int], int]
) -> np.ndarray:
    text = col.str.strip()
    stripped = text.str.replace(_TZ_SUFFIX, "", regex=True).str.replace(_TIME_PART, "", regex=True)
    try:
        parsed = pd.to_datetime(stripped, format="ISO8601")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(stripped, errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFileError(
            str(p),
            line_of(int(rows_idx[i])),
            f"cannot parse date {text.iloc[i]!r} in column {col.name!r}",
        )
    return parsed.dt.normalize().to_numpy(dtype="datetime64[ns]")


def _parse_numbers(
    p: Path,
    col: pd.Series,
    name: str,
    missing: set[str],
    rows_idx: np.ndarray,
    line_of: Callable[[int], int],
) -> np.ndarray:
    text = col.str.strip()
    is_missing = text.isin(missing).to_numpy()
    values = pd.to_numeric(text.where(~is_missing, None), errors="coerce").to_numpy(
        dtype=np.float64
    )
    bad = np.isnan(values) & ~is_missing
    bad &= ~text.str.lower().isin(("nan",)).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFileError(
            str(p), line_of(int(rows_idx[i])), f"not a number in column {name!r}: {text.iloc[i]!r}"
        )
    return values


def _dedupe(
    p: Path, frame: pd.DataFrame, src_rows: np.ndarray, line_of: Callable[[int], int]
) -> tuple[pd.DataFrame, np.ndarray]:
    order = np.argsort(frame.index.to_numpy(), kind="stable")
    frame = frame.iloc[order]
    src_rows = src_rows[order]
    dup = frame.index.duplicated(keep=False)
    if dup.any():
        sub = frame[dup]
        firsts = ~sub.index.duplicated(keep="first")
        ref = sub[firsts].reindex(sub.index)
        same = (sub.to_numpy() == ref.to_numpy()) | (
            np.isnan(sub.to_numpy()) & np.isnan(ref.to_numpy())
        )
        conflict = ~same.all(axis=1)
        if conflict.any():
            j = int(np.flatnonzero(conflict)[0])
            day = sub.index[j]
            lines = sorted(line_of(int(r)) for r in src_rows[dup][sub.index == day])
            raise DataFileError(
                str(p),
                lines[-1],
                f"duplicate date {day:%Y-%m-%d} with different values "
                f"(lines {', '.join(map(str, lines))})",
            )
        keep = ~frame.index.duplicated(keep="first")
        frame, src_rows = frame[keep], src_rows[keep]
    return frame, src_rows


def ensure_readable(paths: Sequence[str | Path]) -> list[Path]:
    """Check that every path exists and is a file; return them as Paths."""
    out = []
    for path in paths:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"{p}: no such file")
        out.append(p)
    return out
