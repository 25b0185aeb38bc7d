"""Read raw reference CSV files by hand (csv module), independent of the importer."""

from __future__ import annotations

import csv
from pathlib import Path

RAW = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "raw"


def raw_series(relpath: str, shared_data: Path | None = None) -> dict[str, float]:
    """Return {ISO date: value} from a two-or-more column CSV (blank values skipped)."""
    root = (shared_data / "raw") if shared_data is not None else RAW
    out: dict[str, float] = {}
    with open(root / relpath, newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                continue
            out[row[0].strip()] = float(row[1])
    return out
