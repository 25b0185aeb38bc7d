"""Helpers shared by the data-package benchmarks (``bench_frame``, ``bench_import``)."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from powderkeg.data.sources.package import read_package
from powderkeg.data.store import IngestReport, Store

DEFAULT_PACKAGE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "datapackage.json"
)


def add_package_argument(parser: argparse.ArgumentParser) -> None:
    """``--package PATH``: the data package (default ``$POWDERKEG_SHARED_DATA`` or shared/data)."""
    parser.add_argument(
        "--package",
        type=Path,
        default=Path(os.environ.get("POWDERKEG_SHARED_DATA", DEFAULT_PACKAGE.parent))
        / "datapackage.json",
    )


def import_package(path: Path, package: Path) -> IngestReport:
    """Verify, parse and store the whole package in a new store at ``path``; the report."""
    with Store(path) as store:
        batches, sha = read_package(package)
        return store.ingest(batches, source="package", target=str(package), sha256=sha)


def interleaved(
    repeats: int, ours: Callable[[int], object], peer: Callable[[int], object]
) -> tuple[list[float], list[float]]:
    """Time ``ours(round)`` then ``peer(round)`` for each round; seconds of each side."""
    t_ours: list[float] = []
    t_peer: list[float] = []
    for i in range(repeats):
        start = time.perf_counter()
        ours(i)
        t_ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        peer(i)
        t_peer.append(time.perf_counter() - start)
    return t_ours, t_peer


def stats(times: list[float], decimals: int) -> str:
    """``min / median / max`` in milliseconds."""
    arr = np.asarray(times) * 1e3
    return " / ".join(f"{v:7.{decimals}f}" for v in (arr.min(), np.median(arr), arr.max())) + " ms"
