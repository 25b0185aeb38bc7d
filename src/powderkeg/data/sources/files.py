"""CSV and Parquet files: column detection, tolerant parsing, errors that name file and line.

Handled quietly: blank rows, missing-value markers (``""``, ``"."`` as FRED writes, ``NA``,
``NaN``, ``null``), CRLF line endings, a UTF-8 byte-order mark, scientific notation,
unsorted dates, timezone-stamped timestamps (the wall-clock date is kept) and exact
duplicate rows. Errors (:class:`~powderkeg.exceptions.DataFileError`, naming the file and
line): no date column, an unparseable date, text in a number column, a truncated line, and
the same date twice with different values.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from powderkeg.data.records import PRICE_FIELDS, SeriesData, SeriesMeta
from powderkeg.exceptions import DataFileError, InputError

DEFAULT_MISSING = ("", ".", "NA", "N/A", "NaN", "nan", "null", "NULL", "#N/A")
DATE_NAMES = ("date", "as_of", "asof", "observation_date", "timestamp", "datetime", "time", "day")
TEXT_NAMES = ("status", "symbol", "ticker", "name", "currency", "notes")
_TZ_SUFFIX = re.compile(r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})$")
_TIME_PART = re.compile(r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


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
    """
    p = Path(path)
    spec = spec or ColumnSpec()
    if not p.exists():
        raise DataFileError(str(p), None, "no such file")
    if p.is_dir():
        raise DataFileError(str(p), None, "is a directory, not a data file")
    raw, line_of = _read_raw(p)
    if raw.shape[1] == 0 or raw.empty:
        raise DataFileError(str(p), None, "the file has no data rows")
    columns = list(raw.columns)
    date_col = _pick_date_column(p, raw, spec.date_col)
    kind, mapping = _pick_value_columns(p, columns, date_col, spec, symbol)
    missing = set(spec.missing_values)

    # rows that are entirely blank are skipped; a short (truncated) row is an error
    is_blank = raw.apply(lambda c: c.isna() | (c.str.strip() == ""), axis=0).all(axis=1).to_numpy()
    truncated = raw.isna().any(axis=1).to_numpy() & ~is_blank
    if truncated.any():
        i = int(np.flatnonzero(truncated)[0])
        nfields = int(raw.iloc[i].notna().sum())
        raise DataFileError(
            str(p), line_of(i), f"truncated line: {nfields} of {len(columns)} fields"
        )
    keep = ~is_blank
    rows_idx = np.flatnonzero(keep)
    data = raw.iloc[rows_idx]
    dates = _parse_dates(p, data[date_col], rows_idx, line_of)
    fields: dict[str, np.ndarray] = {}
    for target, col in mapping.items():
        fields[target] = _parse_numbers(p, data[col], col, missing, rows_idx, line_of)
    frame = pd.DataFrame(fields, index=pd.DatetimeIndex(dates, name="date"))
    main = "close" if kind == "price" else "value"
    has_main = np.isfinite(frame[main].to_numpy())
    frame = frame[has_main]
    src_rows = rows_idx[has_main]
    frame, src_rows = _dedupe(p, frame, src_rows, line_of)
    meta = SeriesMeta(
        symbol=symbol or p.stem.upper(),
        kind=kind,
        unit=unit,
        frequency=frequency,
        calendar=calendar,
        source=source or f"file:{p.resolve()}",
        description=description,
    )
    return SeriesData(meta=meta, frame=frame, sha256=sha256 or file_sha256(p))


def _read_raw(p: Path) -> tuple[pd.DataFrame, object]:
    """Read every cell as text; return the frame and a row -> file line mapper."""
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(p)
        except Exception as exc:
            raise DataFileError(str(p), None, f"not a readable Parquet file ({exc})") from None
        if isinstance(df.index, pd.DatetimeIndex) or df.index.name:
            df = df.reset_index()
        text = df.astype(object).where(df.notna(), "").astype(str)
        return text, lambda i: None if i is None else i + 1  # "line" = row number
    sep = "\t" if suffix == ".tsv" else ","
    try:
        df = pd.read_csv(
            p,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            engine="c",
        )
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
        raise DataFileError(str(p), line, f"malformed CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise DataFileError(str(p), None, "the file is empty") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(str(p), None, f"not UTF-8 text ({exc.reason})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df, lambda i: None if i is None else i + 2  # header is line 1


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


def _parse_dates(p: Path, col: pd.Series, rows_idx: np.ndarray, line_of) -> np.ndarray:  # type: ignore[no-untyped-def]
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
    p: Path, col: pd.Series, name: str, missing: set[str], rows_idx: np.ndarray, line_of
) -> np.ndarray:  # type: ignore[no-untyped-def]
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
    p: Path, frame: pd.DataFrame, src_rows: np.ndarray, line_of
) -> tuple[pd.DataFrame, np.ndarray]:  # type: ignore[no-untyped-def]
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
            lines = sorted(
                int(line_of(int(r))) if line_of(int(r)) is not None else -1
                for r in src_rows[dup][sub.index == day]
            )
            raise DataFileError(
                str(p),
                lines[-1],
                f"duplicate date {day:%Y-%m-%d} with different values (lines {', '.join(map(str, lines))})",
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
