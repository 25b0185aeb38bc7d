"""Long jobs: submit with the token, poll progress, results stored and kept across restarts."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from powderkeg.api.app import ApiSettings, create_app
from powderkeg.cli.main import run
from tests.api.conftest import TOKEN, auth, strip_volatile

PSY = {"symbol": "NVDA", "freq": "W", "reps": 40, "seed": 11, "cv": "mc"}


def wait(client: TestClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def test_psy_job_runs_and_matches_cli(
    store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(ApiSettings(db=str(store_path), token=TOKEN))) as client:
        r = client.post("/api/jobs/bubble/psy", json=PSY, headers=auth())
        assert r.status_code == 202, r.text
        accepted = r.json()
        assert r.headers["location"] == accepted["location"] == f"/api/jobs/{accepted['id']}"
        job = wait(client, accepted["id"])
        assert job["status"] == "finished", job
        assert job["progress"]["done"] == job["progress"]["total"] > 0
        assert job["parameters"]["reps"] == 40
        # the simulated critical values are stored: the read endpoint now answers
        read = client.get("/api/bubble/psy?symbol=NVDA&freq=W&cv=mc&reps=40&seed=11")
        assert read.status_code == 200
        assert strip_volatile(read.json()) == strip_volatile(job["result"])
    # the same run through the CLI (on a fresh copy, so it simulates again) gives the same JSON
    import shutil

    fresh = tmp_path / "fresh.duckdb"
    shutil.copy(store_path, fresh)
    capsys.readouterr()
    code = run(
        [
            "--db",
            str(fresh),
            "--json",
            "bubble",
            "psy",
            "NVDA",
            "--freq",
            "W",
            "--reps",
            "40",
            "--seed",
            "11",
        ]
    )
    expected = json.loads(capsys.readouterr().out)
    assert code == 0
    assert strip_volatile(job["result"]) == strip_volatile(expected)


def test_job_survives_restart(store_path: Path) -> None:
    settings = ApiSettings(db=str(store_path), token=TOKEN)
    with TestClient(create_app(settings)) as client:
        job_id = client.post("/api/jobs/bubble/psy", json=PSY, headers=auth()).json()["id"]
        first = wait(client, job_id)
    with TestClient(create_app(settings)) as client:
        again = client.get(f"/api/jobs/{job_id}")
    assert again.status_code == 200
    assert again.json() == first
    assert again.json()["status"] == "finished"
    # a read-only server over the same store also serves it
    with TestClient(create_app(ApiSettings(db=str(store_path)))) as client:
        assert client.get(f"/api/jobs/{job_id}").json()["result"] == first["result"]


def test_unknown_symbol_is_404_at_submission(writer: TestClient) -> None:
    r = writer.post("/api/jobs/bubble/psy", json={**PSY, "symbol": "NOPE"}, headers=auth())
    assert r.status_code == 404
    assert "NOPE" in r.json()["detail"]


def test_failed_job_reports_error(writer: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from powderkeg.exceptions import ConvergenceError
    from powderkeg.service import bubble

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise ConvergenceError("the simulation diverged")

    monkeypatch.setattr(bubble, "psy", fail)
    r = writer.post("/api/jobs/bubble/psy", json=PSY, headers=auth())
    job = wait(writer, r.json()["id"])
    assert job["status"] == "failed"
    assert job["error"] == "ConvergenceError: the simulation diverged"
    assert job["result"] is None


def test_interrupted_job_is_reported(store_path: Path) -> None:
    from powderkeg.api.jobs import JOB_NAMESPACE
    from powderkeg.data.store import Store

    record = {"id": "a" * 32, "kind": "bubble-psy", "status": "running", "result": None}
    with Store(store_path) as store:
        store.cache_put(JOB_NAMESPACE, "a" * 32, record)
    with TestClient(create_app(ApiSettings(db=str(store_path), token=TOKEN))) as client:
        job = client.get(f"/api/jobs/{'a' * 32}").json()
    assert job["status"] == "interrupted"


class TestLimits:
    def test_reps_over_limit_is_422(self, store_path: Path) -> None:
        settings = ApiSettings(db=str(store_path), token=TOKEN, max_reps=100)
        with TestClient(create_app(settings)) as client:
            r = client.post("/api/jobs/bubble/psy", json={**PSY, "reps": 101}, headers=auth())
        assert r.status_code == 422
        (err,) = r.json()["detail"]
        assert err["loc"] == ["body", "reps"]
        assert "100" in err["msg"]

    def test_work_over_limit_is_422(self, store_path: Path) -> None:
        settings = ApiSettings(db=str(store_path), token=TOKEN, max_psy_work=10_000_000)
        with TestClient(create_app(settings)) as client:
            small = client.post("/api/jobs/bubble/psy", json={**PSY, "reps": 10}, headers=auth())
            assert small.status_code == 202, small.text
            body = {**PSY, "freq": "D", "min_window": 10, "reps": 1000}
            r = client.post("/api/jobs/bubble/psy", json=body, headers=auth())
            assert r.status_code == 422
            assert r.json()["detail"][0]["loc"] == ["body", "reps"]
            read = client.get("/api/bubble/psy?symbol=NVDA&freq=D&min_window=10&cv=none")
            assert read.status_code == 422
            assert read.json()["detail"][0]["loc"] == ["query", "min_window"]
            wait(client, small.json()["id"])

    def test_reps_below_minimum_is_422(self, writer: TestClient) -> None:
        r = writer.post("/api/jobs/bubble/psy", json={**PSY, "reps": 5}, headers=auth())
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "reps"]

    def test_unknown_field_is_422(self, writer: TestClient) -> None:
        r = writer.post("/api/jobs/bubble/psy", json={**PSY, "workers": 64}, headers=auth())
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "workers"]

    def test_queue_is_bounded(self, store_path: Path) -> None:
        settings = ApiSettings(db=str(store_path), token=TOKEN, max_queued_jobs=1)
        with TestClient(create_app(settings)) as client:
            body = {**PSY, "freq": "D", "reps": 200, "seed": 99}
            first = client.post("/api/jobs/bubble/psy", json=body, headers=auth())
            second = client.post("/api/jobs/bubble/psy", json=body, headers=auth())
            assert first.status_code == 202
            assert second.status_code == 429
            wait(client, first.json()["id"], timeout=120)


def test_unknown_job_is_404(reader: TestClient) -> None:
    assert reader.get(f"/api/jobs/{'0' * 32}").status_code == 404
    assert reader.get("/api/jobs/not-an-id").status_code == 422


def test_job_kinds_and_limits(reader: TestClient) -> None:
    body = reader.get("/api/jobs").json()
    assert "bubble-psy" in [k["kind"] for k in body["kinds"]]
    assert body["limits"]["max_reps"] == ApiSettings(db="x").max_reps


class TestStress:
    def test_stress_job_matches_cli(
        self, store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        import shutil

        fresh = tmp_path / "fresh.duckdb"
        shutil.copy(store_path, fresh)
        capsys.readouterr()
        args = ["stress", "run", "ai-correction", "--paths", "100", "--seed", "3"]
        assert run(["--db", str(fresh), "--json", *args]) == 0
        expected = json.loads(capsys.readouterr().out)
        with TestClient(create_app(ApiSettings(db=str(store_path), token=TOKEN))) as client:
            scenarios = client.get("/api/stress/scenarios").json()["scenarios"]
            assert "ai-correction" in [s["name"] for s in scenarios]
            r = client.post(
                "/api/jobs/stress",
                json={"scenario": "ai-correction", "paths": 100, "seed": 3},
                headers=auth(),
            )
            assert r.status_code == 202, r.text
            job = wait(client, r.json()["id"])
        assert job["status"] == "finished", job
        assert job["kind"] == "stress"
        for key in ("paths", "seed", "defaults", "losses", "asset_drawdowns", "btc"):
            assert key in job["result"]
        assert strip_volatile(job["result"]) == strip_volatile(expected)

    def test_paths_over_limit_is_422(self, store_path: Path) -> None:
        settings = ApiSettings(db=str(store_path), token=TOKEN, max_paths=500)
        with TestClient(create_app(settings)) as client:
            r = client.post(
                "/api/jobs/stress",
                json={"scenario": "ai-correction", "paths": 501},
                headers=auth(),
            )
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "paths"]

    @pytest.mark.parametrize("name", ["no-such-scenario", "../etc/passwd", "/tmp/x.yaml"])
    def test_only_builtin_scenarios(self, writer: TestClient, name: str) -> None:
        r = writer.post("/api/jobs/stress", json={"scenario": name, "paths": 10}, headers=auth())
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "scenario"]

    def test_stress_needs_token(self, writer: TestClient) -> None:
        body = {"scenario": "ai-correction", "paths": 10}
        assert writer.post("/api/jobs/stress", json=body).status_code == 401
        assert writer.post("/api/jobs/stress", json=body, headers=auth("no")).status_code == 401

    def test_read_only_server_refuses_stress(self, reader: TestClient) -> None:
        body = {"scenario": "ai-correction", "paths": 10}
        assert reader.post("/api/jobs/stress", json=body, headers=auth()).status_code == 403


class TestLppls:
    def test_confidence_job_matches_cli(
        self, store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        args = [
            "bubble",
            "lppls",
            "NVDA",
            "--confidence",
            "--window",
            "60",
            "--smallest",
            "40",
            "--step",
            "10",
            "--days",
            "4",
            "--starts",
            "2",
        ]
        assert run(["--db", str(store_path), "--json", *args]) == 0
        expected = json.loads(capsys.readouterr().out)
        with TestClient(create_app(ApiSettings(db=str(store_path), token=TOKEN))) as client:
            body = {
                "symbol": "NVDA",
                "window": 60,
                "smallest": 40,
                "step": 10,
                "days": 4,
                "starts": 2,
            }
            r = client.post("/api/jobs/bubble/lppls", json=body, headers=auth())
            assert r.status_code == 202, r.text
            job = wait(client, r.json()["id"], timeout=120)
            assert job["status"] == "finished", job
            assert strip_volatile(job["result"]) == strip_volatile(expected)
            too_many = client.post(
                "/api/jobs/bubble/lppls", json={**body, "days": 2000, "step": 1}, headers=auth()
            )
            assert too_many.status_code == 422
            assert too_many.json()["detail"][0]["loc"] == ["body", "days"]

    def test_single_fit_read_matches_cli(
        self, store_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        capsys.readouterr()
        assert (
            run(
                [
                    "--db",
                    str(store_path),
                    "--json",
                    "bubble",
                    "lppls",
                    "NVDA",
                    "--window",
                    "80",
                    "--starts",
                    "2",
                ]
            )
            == 0
        )
        expected = json.loads(capsys.readouterr().out)
        with TestClient(create_app(ApiSettings(db=str(store_path)))) as client:
            r = client.get("/api/bubble/lppls?symbol=NVDA&window=80&starts=2")
        assert r.status_code == 200, r.text
        assert strip_volatile(r.json()) == strip_volatile(expected)


@pytest.mark.parametrize(
    ("path", "body", "args"),
    [
        (
            "/api/jobs/bubble/gauge",
            {"asof": "2025-12-10", "psy": False, "lppls_days": 1, "fundamentals": "example"},
            [
                "bubble",
                "gauge",
                "--asof",
                "2025-12-10",
                "--no-psy",
                "--lppls-days",
                "1",
                "--fundamentals",
                "example",
            ],
        ),
        (
            "/api/jobs/bubble/signals",
            {"symbol": "^IXIC", "lppls": False, "reps": 50, "start": "1990-01-01"},
            ["bubble", "signals", "^IXIC", "--no-lppls", "--reps", "50", "--start", "1990-01-01"],
        ),
    ],
    ids=["gauge", "signals"],
)
def test_bubble_jobs_match_cli(
    real_store_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    path: str,
    body: dict[str, Any],
    args: list[str],
) -> None:
    import shutil

    db = tmp_path / "real.duckdb"
    shutil.copy(real_store_path, db)
    with TestClient(create_app(ApiSettings(db=str(db), token=TOKEN))) as client:
        job = wait(client, client.post(path, json=body, headers=auth()).json()["id"], 120.0)
    assert job["status"] == "finished", job
    capsys.readouterr()
    assert run(["--db", str(db), "--json", *args]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert strip_volatile(job["result"]) == strip_volatile(cli)


def test_bubble_jobs_enforce_run_size(store_path: Path) -> None:
    settings = ApiSettings(db=str(store_path), token=TOKEN, max_psy_work=1_000_000)
    with TestClient(create_app(settings)) as client:
        big = client.post("/api/jobs/bubble/gauge", json={"reps": 10**6}, headers=auth())
        assert big.status_code == 422 and "reps" in big.text
        daily = client.post(
            "/api/jobs/bubble/signals",
            json={"symbol": "BTC-USD", "freq": "D", "reps": 100},
            headers=auth(),
        )
        assert daily.status_code == 422 and "reps" in daily.text
        assert client.post("/api/jobs/bubble/gauge", json={}).status_code == 401
