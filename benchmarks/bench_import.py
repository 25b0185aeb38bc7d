"""Import the whole reference data package: powderkeg vs plain pandas parsing of the same files.

powderkeg's side is the full ``data import-package`` path: verify every file's size and
SHA-256, parse it (column detection, missing values, duplicate and order checks), and write
all 57 series in one transaction into a fresh DuckDB store (opening and closing it
included). The peer only parses: ``pd.read_csv`` of each file and ``pd.to_datetime`` of its
date column, nothing checked and nothing stored. Target: powderkeg within 2x of the peer.

Both sides run interleaved, round by round, in one process; the script first checks that
both see the same number of rows with a main value.

Run: ``.venv/bin/python benchmarks/bench_import.py [--repeats 7] [--package PATH]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _common import add_package_argument, import_package, interleaved, stats


def ours(package: Path, folder: Path, round_no: int) -> int:
    """Verify, parse and store the package in a fresh store; return the rows written."""
    path = folder / f"bench-{round_no}.duckdb"
    report = import_package(path, package)
    path.unlink()
    return report.inserted


def peer(package: Path, desc: dict[str, Any]) -> int:
    """Parse every file with pandas; return the rows with a main value."""
    rows = 0
    for res in desc["resources"]:
        ser = res["series"]
        df = pd.read_csv(package.parent / res["path"])
        df[ser["date_field"]] = pd.to_datetime(df[ser["date_field"]])
        rows += int(df[ser["value_field"]].notna().sum())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    add_package_argument(parser)
    args = parser.parse_args()
    package: Path = args.package
    desc = json.loads(package.read_text())
    n_files = len(desc["resources"])
    size = sum((package.parent / r["path"]).stat().st_size for r in desc["resources"])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours_rows = ours(package, folder, -1)  # warm-up (imports, page cache)
        peer_rows = peer(package, desc)
        if ours_rows != peer_rows:
            raise SystemExit(f"row counts differ: powderkeg {ours_rows}, pandas {peer_rows}")
        t_ours, t_peer = interleaved(
            args.repeats, lambda i: ours(package, folder, i), lambda _: peer(package, desc)
        )
    ratios = np.asarray(t_ours) / np.asarray(t_peer)
    print(f"data package: {n_files} files, {size / 1e6:.1f} MB, {ours_rows:,} rows with a value")
    print(f"repeats: {args.repeats} (min / median / max)")
    print(f"  powderkeg import-package (verify+parse+store): {stats(t_ours, 1)}")
    print(f"  pandas read_csv + to_datetime (parse only):    {stats(t_peer, 1)}")
    print(
        f"ratio powderkeg / pandas: median {np.median(t_ours) / np.median(t_peer):.2f}x "
        f"(per round {ratios.min():.2f}-{ratios.max():.2f}); target <= 2x"
    )


if __name__ == "__main__":
    main()
