"""Shared fixtures: the real reference data in ../shared/data and stores built from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("POWDERKEG_SHARED_DATA", ROOT.parent / "shared" / "data"))
PACKAGE = SHARED_DATA / "datapackage.json"

os.environ.setdefault("POWDERKEG_HOME", str(ROOT / ".pytest_cache" / "powderkeg-home"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real reference data (fails loudly if it is missing)."""
    if not PACKAGE.is_file():
        raise RuntimeError(f"reference data not found at {SHARED_DATA}; set POWDERKEG_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_store_path(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A store file with the whole reference data package imported (built once per session)."""
    from powderkeg.data.sources.package import read_package
    from powderkeg.data.store import Store

    path = tmp_path_factory.mktemp("real") / "real.duckdb"
    batches, sha = read_package(shared_data / "datapackage.json")
    with Store(path) as store:
        store.ingest(batches, source="package", target=str(PACKAGE), sha256=sha)
    return path


@pytest.fixture()
def real_store(real_store_path: Path):  # type: ignore[no-untyped-def]
    """The real-data store opened read-only for one test."""
    from powderkeg.data.store import Store

    with Store(real_store_path, read_only=True) as store:
        yield store
