"""Load a 10-year aligned frame of 20 symbols: ``Store.frame`` vs pandas re-parsing the CSVs.

powderkeg reads the closes of 20 price series (BTC, ETH, AI stocks, index and bond ETFs)
from a store holding the whole reference data package and aligns them on their common
dates (``calendar="intersection"``). The peer does what a script without a store does:
``pd.read_csv`` of the 20 files (date and close columns only, dates parsed), slicing the
window and an inner ``pd.concat``. Target: the store is faster.

The script builds the store once, checks that both frames are identical, then times both
sides interleaved, round by round, in one process.

Run: ``.venv/bin/python benchmarks/bench_frame.py [--repeats 15] [--package PATH]``
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
from powderkeg.data.store import Store

SYMBOLS = (
    "BTC-USD",
    "ETH-USD",
    "NVDA",
    "ORCL",
    "AMD",
    "MU",
    "MSFT",
    "GOOGL",
    "AMZN",
    "META",
    "AAPL",
    "TSLA",
    "AVGO",
    "QQQ",
    "SPY",
    "IWM",
    "XLK",
    "GLD",
    "HYG",
    "TLT",
)
START, END = "2016-08-22", "2026-08-21"


def peer(package: Path, files: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Parse the 20 CSV files and align their closes on common dates."""
    parts = []
    for sym, res in files.items():
        ser = res["series"]
        df = pd.read_csv(
            package.parent / res["path"],
            usecols=[ser["date_field"], ser["value_field"]],
            parse_dates=[ser["date_field"]],
            index_col=ser["date_field"],
        )
        col = df[ser["value_field"]].loc[START:END].dropna()
        parts.append(col.rename(sym))
    return pd.concat(parts, axis=1, join="inner", sort=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    add_package_argument(parser)
    args = parser.parse_args()
    package: Path = args.package
    desc = json.loads(package.read_text())
    files = {
        r["series"]["symbol"]: r for r in desc["resources"] if r["series"]["symbol"] in SYMBOLS
    }
    files = {sym: files[sym] for sym in SYMBOLS}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        import_package(path, package)
        with Store(path, read_only=True) as store:
            ours = store.frame(list(SYMBOLS), START, END)
            theirs = peer(package, files)
            pd.testing.assert_frame_equal(
                ours,
                theirs.astype("float64"),
                check_freq=False,
                check_index_type=False,
                check_names=False,
            )
            t_ours, t_peer = interleaved(
                args.repeats,
                lambda _: store.frame(list(SYMBOLS), START, END),
                lambda _: peer(package, files),
            )
    print(f"{len(SYMBOLS)} symbols, {START} to {END}: {ours.shape[0]} aligned dates")
    print(f"repeats: {args.repeats} (min / median / max)")
    print(f"  powderkeg Store.frame (intersection):   {stats(t_ours, 2)}")
    print(f"  pandas read_csv x20 + slice + concat:    {stats(t_peer, 2)}")
    ratio = np.median(t_peer) / np.median(t_ours)
    print(f"store is {ratio:.1f}x faster than re-parsing (median); target > 1x")


if __name__ == "__main__":
    main()
