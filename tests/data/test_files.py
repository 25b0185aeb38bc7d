"""The CSV/Parquet reader: quirks it must accept, errors that must name file and line.

Every accepted file is read by both the fast (Arrow) and the careful (line-by-line) reader,
and the two results must be identical.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from powderkeg.data.sources import files
from powderkeg.data.sources.files import ColumnSpec, read_series_file
from powderkeg.exceptions import DataFileError

RAW = "raw/guydekowski__market-lab/BTC_USD.csv"


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def _read(
    path: Path,
    spec: ColumnSpec | None = None,
    symbol: str | None = None,
    *,
    fast: bool | None = None,
):
    """Read with the public reader; check the fast and careful readers agree exactly.

    ``fast`` says whether the fast reader must accept the file (None: either way).
    """
    spec = spec or ColumnSpec()
    series = read_series_file(path, spec=spec, symbol=symbol)
    data = path.read_bytes()
    kind, careful = files._read_careful(path, data, spec, symbol)
    assert kind == series.meta.kind
    pd.testing.assert_frame_equal(careful.astype("float64"), series.frame, check_exact=True)
    quick = files._read_fast(path, data, spec, symbol)
    if fast is not None:
        assert (quick is not None) == fast
    if quick is not None:
        assert quick[0] == kind
        pd.testing.assert_frame_equal(quick[1], careful, check_exact=True)
    return series


def _error(path: Path, spec: ColumnSpec | None = None) -> DataFileError:
    with pytest.raises(DataFileError) as info:
        read_series_file(path, spec=spec)
    err = info.value
    assert err.path == str(path)
    assert str(path) in str(err)
    return err


# ---------------------------------------------------------------------------- quirks


def test_crlf_and_bom_are_accepted(tmp_path: Path) -> None:
    text = "\ufeffdate,value\r\n2024-01-02,1.5\r\n2024-01-03,2.5\r\n"
    s = _read(_write(tmp_path, "crlf.csv", text), fast=True)
    assert s.meta.kind == "macro"
    assert list(s.frame.index.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]
    assert s.frame["value"].tolist() == [1.5, 2.5]


def test_blank_rows_and_fred_dots_are_dropped(tmp_path: Path) -> None:
    text = "DATE,VALUE\n2024-01-01,.\n\n2024-01-02,3\n,\n2024-01-03,\n   \n2024-01-04,4\n\n"
    s = _read(_write(tmp_path, "fred.csv", text), fast=False)  # ",," rows: careful reader
    assert s.frame.index.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-01-04"]
    assert s.frame["value"].tolist() == [3.0, 4.0]
    text = "DATE,VALUE\n2024-01-01,.\n\n2024-01-02,3\n2024-01-03,\n\n2024-01-04,4\n\n"
    s = _read(_write(tmp_path, "fred2.csv", text), fast=True)
    assert s.frame["value"].tolist() == [3.0, 4.0]


def test_scientific_notation(tmp_path: Path) -> None:
    text = (
        "as_of,value,status\n2024-01-01,3.07879e+11,ok\n2024-01-02,1E-3,ok\n2024-01-03,-2.5e2,ok\n"
    )
    s = _read(_write(tmp_path, "sci.csv", text), fast=True)
    assert s.frame["value"].tolist() == [307879000000.0, 0.001, -250.0]


def test_unsorted_dates_are_sorted(tmp_path: Path) -> None:
    text = "date,close\n2024-01-03,3\n2024-01-01,1\n2024-01-02,2\n"
    s = _read(_write(tmp_path, "unsorted.csv", text), fast=True)
    assert s.meta.kind == "price"
    assert s.frame.index.is_monotonic_increasing
    assert s.frame["close"].tolist() == [1.0, 2.0, 3.0]


def test_timezone_stamps_keep_the_wall_clock_date(tmp_path: Path) -> None:
    text = (
        "timestamp,close\n"
        "2024-01-02T23:30:00-05:00,1\n"  # 04:30 UTC on the 3rd: the local date is kept
        "2024-01-03 00:30:00+01:00,2\n"  # 23:30 UTC on the 2nd
        "2024-01-04T12:00:00Z,3\n"
        "2024-01-05 09:30:00,4\n"
    )
    s = _read(_write(tmp_path, "tz.csv", text), fast=False)
    assert s.frame.index.strftime("%Y-%m-%d").tolist() == [
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
    ]
    assert s.frame.index.tz is None
    assert s.frame["close"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_exact_duplicate_rows_are_deduplicated(tmp_path: Path) -> None:
    text = "date,close,volume\n2024-01-01,1,10\n2024-01-02,2,20\n2024-01-01,1,10\n2024-01-02,2,20\n"
    s = _read(_write(tmp_path, "dupes.csv", text), fast=True)
    assert len(s) == 2
    assert s.frame["volume"].tolist() == [10.0, 20.0]


def test_missing_markers_and_padding(tmp_path: Path) -> None:
    text = "date,value\n2024-01-01, 1.25 \n2024-01-02,NA\n2024-01-03, . \n 2024-01-04 ,null\n"
    s = _read(_write(tmp_path, "pad.csv", text))
    assert s.frame["value"].tolist() == [1.25]


def test_quoted_fields_and_text_columns(tmp_path: Path) -> None:
    text = (
        'Date,Symbol,Close,Adj Close\n"2024-01-02","NV, DA","10.5",10.4\n2024-01-03,NVDA,11,10.9\n'
    )
    s = _read(_write(tmp_path, "quoted.csv", text))
    assert s.meta.kind == "price"
    assert s.frame["close"].tolist() == [10.5, 11.0]


def test_adj_close_is_used_when_there_is_no_close(tmp_path: Path) -> None:
    text = "Date,Adj Close,Volume\n2024-01-02,10.4,5\n"
    s = _read(_write(tmp_path, "adj.csv", text))
    assert s.frame["close"].tolist() == [10.4]
    assert s.frame["volume"].tolist() == [5.0]


def test_tsv_and_undeclared_date_column(tmp_path: Path) -> None:
    text = "when\tlevel\n2024-01-02\t7\n2024-01-03\t8\n"
    s = _read(_write(tmp_path, "level.tsv", text))
    assert s.meta.symbol == "LEVEL"
    assert s.frame["value"].tolist() == [7.0, 8.0]


def test_overrides_pick_columns_and_kind(tmp_path: Path) -> None:
    text = "d,a,b\n2024-01-02,1,10\n2024-01-03,2,20\n"
    path = _write(tmp_path, "two.csv", text)
    s = _read(path, ColumnSpec(date_col="d", value_col="b", kind="price"), symbol="TWO")
    assert (s.meta.symbol, s.meta.kind) == ("TWO", "price")
    assert s.frame["close"].tolist() == [10.0, 20.0]
    with pytest.raises(DataFileError, match="cannot tell which column"):
        read_series_file(path)


def test_parquet_import(tmp_path: Path) -> None:
    idx = pd.to_datetime(["2024-01-03", "2024-01-01", "2024-01-02"])
    df = pd.DataFrame({"close": [3.0, 1.0, np.nan], "volume": [30.0, 10.0, 20.0]}, index=idx)
    df.index.name = "date"
    path = tmp_path / "prices.parquet"
    df.to_parquet(path)
    s = read_series_file(path)
    assert s.meta.kind == "price"
    assert s.frame.index.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-01-03"]
    assert s.frame["close"].tolist() == [1.0, 3.0]
    assert s.frame["volume"].tolist() == [10.0, 30.0]


def test_parquet_with_timezone_aware_timestamps(tmp_path: Path) -> None:
    stamps = pd.to_datetime(["2024-01-02 23:00", "2024-01-03 23:00"]).tz_localize(
        "America/New_York"
    )
    df = pd.DataFrame({"timestamp": stamps, "value": [1.0, 2.0]})
    path = tmp_path / "tz.parquet"
    df.to_parquet(path)
    s = read_series_file(path)
    assert s.frame.index.strftime("%Y-%m-%d").tolist() == ["2024-01-02", "2024-01-03"]
    assert s.frame["value"].tolist() == [1.0, 2.0]


#: One real file of each source layout and quirk (the careful reader is slow on big files).
LAYOUTS = (
    "btc-usd",  # date,open,high,low,close,volume
    "btc-usd-coinbase",  # as_of,value,status read as a price
    "stablecoin-supply",  # scientific notation
    "nvda-unadjusted",  # Date,Symbol,...,Close,Adj Close,Volume
    "dxy",  # rows with a date and blank values
    "tga-daily",  # CRLF line endings
    "wm2ns",  # blank values
    "walcl",
    "m2sl",
    "sp500-shiller",  # many value columns, value_field SP500
)


def test_every_real_file_takes_the_fast_path_and_matches_the_careful_reader(
    shared_data: Path,
) -> None:
    desc = json.loads((shared_data / "datapackage.json").read_text())
    assert {r["name"] for r in desc["resources"]} >= set(LAYOUTS)
    for res in desc["resources"]:
        ser = res["series"]
        path = shared_data / res["path"]
        spec = ColumnSpec(
            date_col=ser["date_field"],
            value_col=ser["value_field"],
            kind=ser["kind"],
            missing_values=tuple(res["schema"]["missingValues"]),
        )
        data = path.read_bytes()
        fast = files._read_fast(path, data, spec, ser["symbol"])
        assert fast is not None, res["name"]  # the real files are all well-formed
        if res["name"] not in LAYOUTS:
            continue
        careful = files._read_careful(path, data, spec, ser["symbol"])
        assert fast[0] == careful[0] == ser["kind"]
        pd.testing.assert_frame_equal(fast[1], careful[1], check_exact=True)


def test_values_equal_the_raw_text(shared_data: Path) -> None:
    path = shared_data / RAW
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    s = read_series_file(path)
    assert len(s) == len(rows)
    for i in (0, 1, len(rows) // 2, len(rows) - 1):
        row = rows[i]
        stored = s.frame.loc[pd.Timestamp(row["date"])]
        for fld in ("open", "high", "low", "close", "volume"):
            assert stored[fld] == float(row[fld])


# ---------------------------------------------------------------------------- errors


def _btc_copy(tmp_path: Path, shared_data: Path) -> tuple[Path, list[str]]:
    lines = (shared_data / RAW).read_text().splitlines()
    return tmp_path / "btc.csv", lines


def test_truncated_line_names_the_line(tmp_path: Path, shared_data: Path) -> None:
    path, lines = _btc_copy(tmp_path, shared_data)
    lines[99] = ",".join(lines[99].split(",")[:3])  # file line 100
    path.write_text("\n".join(lines) + "\n")
    err = _error(path)
    assert err.line == 100
    assert "truncated line: 3 of 6 fields" in str(err)


def test_truncated_last_line(tmp_path: Path, shared_data: Path) -> None:
    path, lines = _btc_copy(tmp_path, shared_data)
    path.write_text("\n".join(lines) + "\n" + lines[-1][:14])  # cut mid-row, no newline
    err = _error(path)
    assert err.line == len(lines) + 1


def test_text_in_a_number_column(tmp_path: Path, shared_data: Path) -> None:
    path, lines = _btc_copy(tmp_path, shared_data)
    fields = lines[56].split(",")
    fields[4] = "12x.5"
    lines[56] = ",".join(fields)  # file line 57
    path.write_text("\n".join(lines) + "\n")
    err = _error(path)
    assert err.line == 57
    assert "not a number in column 'close': '12x.5'" in str(err)


def test_conflicting_duplicate_date(tmp_path: Path, shared_data: Path) -> None:
    path, lines = _btc_copy(tmp_path, shared_data)
    fields = lines[9].split(",")
    fields[4] = str(float(fields[4]) + 1)
    lines.append(",".join(fields))
    path.write_text("\n".join(lines) + "\n")
    err = _error(path)
    assert err.line == len(lines)
    assert f"duplicate date {fields[0]} with different values (lines 10, {len(lines)})" in str(err)


def test_bad_date(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.csv", "date,value\n2024-01-01,1\n\n2024-13-45,2\n")
    err = _error(path)
    assert err.line == 4
    assert "cannot parse date '2024-13-45'" in str(err)


def test_blank_date_with_a_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "blank.csv", "date,value\r\n2024-01-01,1\r\n,2\r\n")
    assert _error(path).line == 3


def test_missing_date_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "nodate.csv", "open,close\n1.5,2.5\n3.5,4.5\n")
    err = _error(path)
    assert err.line == 1
    assert "no date column found" in str(err)
    err = _error(path, ColumnSpec(date_col="Date"))
    assert "date column 'Date' not found" in str(err)


def test_too_many_fields(tmp_path: Path) -> None:
    path = _write(tmp_path, "wide.csv", "date,value\n2024-01-01,1\n2024-01-02,2,3\n")
    err = _error(path)
    assert err.line == 3
    assert "3 fields where the header has 2" in str(err)


def test_line_numbers_count_quoted_newlines(tmp_path: Path) -> None:
    text = 'date,value,note\n2024-01-01,1,"two\nlines"\n2024-01-02,oops,x\n'
    assert _error(_write(tmp_path, "multi.csv", text)).line == 4


def test_not_utf8(tmp_path: Path) -> None:
    path = _write(tmp_path, "latin.csv", b"date,value\n2024-01-01,1\n2024-01-02,\xe9\n")
    err = _error(path)
    assert err.line == 3
    assert "not UTF-8" in str(err)


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    assert "empty" in str(_error(_write(tmp_path, "empty.csv", "")))
    assert "no data rows" in str(_error(_write(tmp_path, "header.csv", "date,value\n")))
    with pytest.raises(DataFileError, match="no such file"):
        read_series_file(tmp_path / "missing.csv")
