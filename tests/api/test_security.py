"""Security: loopback bind, tokens (401/403, constant time), no secret leaks, path confinement,
body limits."""

from __future__ import annotations

import hmac
import logging
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from powderkeg.api.app import ApiSettings, create_app
from tests.api.conftest import TOKEN, auth

MUTATING = [
    ("/api/jobs/bubble/psy", {"symbol": "NVDA", "freq": "W", "reps": 20, "seed": 1}),
    ("/api/jobs/stress", {"scenario": "ai-correction", "paths": 10}),
    ("/api/data/import", {"paths": ["a.csv"]}),
]


def test_serve_binds_loopback_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import uvicorn

    from powderkeg.cli.main import run

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.delenv("POWDERKEG_API_TOKEN", raising=False)
    assert run(["--db", str(tmp_path / "x.duckdb"), "--quiet", "serve"]) == 0
    assert seen["host"] == "127.0.0.1"


class TestTokens:
    @pytest.mark.parametrize(("url", "body"), MUTATING)
    def test_missing_token_is_401(self, writer: TestClient, url: str, body: dict) -> None:
        r = writer.post(url, json=body)
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"

    @pytest.mark.parametrize(("url", "body"), MUTATING)
    def test_wrong_token_is_401(self, writer: TestClient, url: str, body: dict) -> None:
        for header in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN):
            r = writer.post(url, json=body, headers={"Authorization": header})
            assert r.status_code == 401, header

    @pytest.mark.parametrize(("url", "body"), MUTATING)
    def test_no_configured_token_is_403(self, reader: TestClient, url: str, body: dict) -> None:
        assert reader.post(url, json=body).status_code == 403
        assert reader.post(url, json=body, headers=auth()).status_code == 403

    def test_reads_need_no_token(self, reader: TestClient) -> None:
        assert reader.get("/api/health").json()["read_only"] is True
        assert reader.get("/api/series").status_code == 200

    def test_comparison_is_constant_time(
        self, writer: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[tuple[bytes, bytes]] = []
        real = hmac.compare_digest

        def spy(a: bytes, b: bytes) -> bool:
            calls.append((a, b))
            return real(a, b)

        monkeypatch.setattr(hmac, "compare_digest", spy)
        body = {"symbol": "NOPE", "freq": "W", "reps": 20, "seed": 1}
        assert writer.post("/api/jobs/bubble/psy", json=body, headers=auth("x")).status_code == 401
        assert calls == [(b"x", TOKEN.encode())]


def test_no_secret_in_responses_or_logs(
    store_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    fred_key = "fred-9d8c7b6a5f4e3d2c1b0a"
    monkeypatch.setenv("FRED_API_KEY", fred_key)
    monkeypatch.setenv("POWDERKEG_API_TOKEN", TOKEN)
    from powderkeg.api.app import settings_from_env

    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    with TestClient(create_app(settings_from_env(str(store_path)))) as client:
        for url in [
            "/api/health",
            "/api/series",
            "/api/jobs",
            "/openapi.json",
            "/",
            "/api/link/corr?a=BTC-USD&b=NVDA",
            "/api/link/corr?a=BTC-USD&b=NOPE",
            "/api/link/corr?a=BTC-USD&b=NVDA&calendar=BOGUS",
            "/api/series/NOPE",
            "/api/liq/net",
            "/api/bubble/psy?symbol=NVDA&reps=30",
        ]:
            bodies.append(client.get(url, headers=auth()).text)
        for token in (TOKEN + "x", ""):
            r = client.post(
                "/api/jobs/bubble/psy",
                json={"symbol": "NVDA", "reps": 20},
                headers={"Authorization": f"Bearer {token}"},
            )
            bodies.append(r.text)
        # a failing job whose exception message quotes the token: stored and served redacted
        from powderkeg.service import bubble

        def leak(*args: object, **kwargs: object) -> object:
            raise RuntimeError(f"could not authenticate with {TOKEN} and {fred_key}")

        monkeypatch.setattr(bubble, "psy", leak)
        r = client.post("/api/jobs/bubble/psy", json={"symbol": "NVDA", "reps": 20}, headers=auth())
        job_id = r.json()["id"]
        import time

        for _ in range(200):
            job = client.get(f"/api/jobs/{job_id}")
            if job.json()["status"] not in ("queued", "running"):
                break
            time.sleep(0.05)
        bodies.append(job.text)
        assert job.json()["status"] == "failed"
    out, err = capfd.readouterr()
    # every server-side record (the test client's own request log is not the server's)
    server = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logs = "\n".join(r.getMessage() for r in server) + out + err
    assert "job" in logs  # the failed job was logged
    for secret in (TOKEN, fred_key):
        for text in [*bodies, logs]:
            assert secret not in text
    assert os.environ["POWDERKEG_API_TOKEN"] == TOKEN


class TestImportConfinement:
    @pytest.fixture()
    def importer(self, store_path: Path, tmp_path: Path) -> TestClient:
        allowed = tmp_path / "imports"
        allowed.mkdir()
        (allowed / "ok.csv").write_text("date,close\n2024-01-02,1.0\n2024-01-03,1.1\n")
        secret = tmp_path / "outside.csv"
        secret.write_text("date,close\n2024-01-02,9.0\n")
        (allowed / "link.csv").symlink_to(secret)
        (allowed / "dirlink").symlink_to(tmp_path)
        settings = ApiSettings(db=str(store_path), token=TOKEN, import_dir=allowed)
        with TestClient(create_app(settings)) as client:
            yield client

    @pytest.mark.parametrize(
        "path",
        [
            "../outside.csv",
            "../../etc/passwd",
            "/etc/passwd",
            "link.csv",
            "dirlink/outside.csv",
            "sub/../../outside.csv",
        ],
    )
    def test_traversal_refused(self, importer: TestClient, path: str) -> None:
        r = importer.post("/api/data/import", json={"paths": [path]}, headers=auth())
        assert r.status_code == 403, r.text
        assert "outside" in r.json()["detail"]

    def test_inside_path_imports(self, importer: TestClient) -> None:
        r = importer.post(
            "/api/data/import", json={"paths": ["ok.csv"], "symbol": "OKX"}, headers=auth()
        )
        assert r.status_code == 201, r.text
        assert importer.get("/api/series/OKX").status_code == 200

    def test_imports_disabled_without_dir(self, writer: TestClient) -> None:
        r = writer.post("/api/data/import", json={"paths": ["ok.csv"]}, headers=auth())
        assert r.status_code == 403


class TestBodyLimit:
    def test_content_length_over_limit(self, store_path: Path) -> None:
        settings = ApiSettings(db=str(store_path), token=TOKEN, max_body_bytes=1000)
        with TestClient(create_app(settings)) as client:
            big = {"symbol": "NVDA", "padding": "x" * 5000}
            r = client.post("/api/jobs/bubble/psy", json=big, headers=auth())
            assert r.status_code == 413

    def test_chunked_body_over_limit(self, store_path: Path) -> None:
        settings = ApiSettings(db=str(store_path), token=TOKEN, max_body_bytes=1000)

        def chunks():  # no Content-Length: the body is streamed
            for _ in range(10):
                yield b"x" * 500

        with TestClient(create_app(settings)) as client:
            r = client.post("/api/jobs/bubble/psy", content=chunks(), headers=auth())
            assert r.status_code == 413

    def test_bad_content_length(self, writer: TestClient) -> None:
        r = writer.post(
            "/api/jobs/bubble/psy",
            content=b"{}",
            headers={**auth(), "Content-Length": "abc", "Content-Type": "application/json"},
        )
        assert r.status_code in (400, 413)
