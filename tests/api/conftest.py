"""Fixtures for the API tests: synthetic stores, app clients, a token."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from powderkeg.api.app import ApiSettings, create_app

TOKEN = "pk-test-7f3a9c-secret-token"

#: Keys that differ between two identical runs (timings), dropped when comparing outputs.
VOLATILE_KEYS = frozenset({"runtime_s", "compute_s", "elapsed_s", "timing", "timings"})


def strip_volatile(payload: Any) -> Any:
    """Return ``payload`` without volatile keys (timings), recursively."""
    if isinstance(payload, dict):
        return {k: strip_volatile(v) for k, v in payload.items() if k not in VOLATILE_KEYS}
    if isinstance(payload, list):
        return [strip_volatile(v) for v in payload]
    return payload


@pytest.fixture(scope="session")
def synthetic_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store built once from the synthetic market (seed 3, three years)."""
    from powderkeg.data.store import Store
    from powderkeg.synthetic import market

    path = tmp_path_factory.mktemp("synthetic") / "synthetic.duckdb"
    synth = market(seed=3, years=3)
    with Store(path) as store:
        store.ingest(synth.series, source="synthetic", target="synthetic(seed=3)")
    return path


@pytest.fixture()
def store_path(synthetic_template: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the synthetic store."""
    path = tmp_path / "store.duckdb"
    shutil.copy(synthetic_template, path)
    return path


@pytest.fixture()
def writer(store_path: Path) -> Iterator[TestClient]:
    """A client of a server with a token (writes and jobs allowed)."""
    with TestClient(create_app(ApiSettings(db=str(store_path), token=TOKEN))) as client:
        yield client


@pytest.fixture()
def reader(store_path: Path) -> Iterator[TestClient]:
    """A client of a read-only server (no token configured)."""
    with TestClient(create_app(ApiSettings(db=str(store_path), token=None))) as client:
        yield client


@pytest.fixture(scope="module")
def real_client(real_store_path: Path) -> Iterator[TestClient]:
    """A read-only client over the real reference data."""
    with TestClient(create_app(ApiSettings(db=str(real_store_path)))) as client:
        yield client


def auth(token: str = TOKEN) -> dict[str, str]:
    """The bearer header."""
    return {"Authorization": f"Bearer {token}"}
