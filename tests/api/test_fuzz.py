"""Schemathesis fuzzes every operation of the OpenAPI schema: no answer may be a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from powderkeg.api.app import ApiSettings, create_app
from tests.api.conftest import TOKEN

#: Examples per operation and generation mode (bounded so the test runs in well under a minute).
EXAMPLES = 10


@pytest.fixture(scope="module")
def fuzz_app(
    tmp_path_factory: pytest.TempPathFactory, synthetic_template: Path
) -> Iterator[FastAPI]:
    import shutil

    db = tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb"
    shutil.copy(synthetic_template, db)
    imports = tmp_path_factory.mktemp("fuzz-imports")
    (imports / "a.csv").write_text("date,close\n2024-01-02,1.0\n2024-01-03,1.1\n")
    app = create_app(
        ApiSettings(
            db=str(db),
            token=TOKEN,
            import_dir=imports,
            max_reps=50,
            max_queued_jobs=2,
            max_psy_work=200_000_000,
        )
    )
    with TestClient(app):  # runs the lifespan: the store and the job manager exist
        yield app


@pytest.fixture(scope="module")
def api_schema(fuzz_app: FastAPI) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def test_no_server_errors(api_schema: schemathesis.schemas.BaseSchema) -> None:
    """Valid and invalid requests for every operation; bounded and derandomized."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    failures: list[str] = []
    for operation in operations:
        strategy = st.one_of(*(operation.as_strategy(mode) for mode in MODES))

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
            response = case.call(timeout=120)  # slow shared CI machines; 5xx is what counts
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
                    f" -> {response.status_code} {response.text[:300]}"
                )

        check()
    assert not failures, "\n".join(failures)
