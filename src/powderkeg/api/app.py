"""The FastAPI application: read endpoints, long jobs, imports, and the dashboard.

Secure by default: ``powderkeg serve`` binds to 127.0.0.1; every mutating endpoint (imports,
job submission) needs ``Authorization: Bearer $POWDERKEG_API_TOKEN`` (compared in constant
time); without a configured token the server is read-only; import paths are confined to
``import_dir``; request bodies and run sizes are capped. Secrets never appear in responses.
"""

from __future__ import annotations

import datetime as dt
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from powderkeg._version import __version__
from powderkeg.api.cache import ReadCache
from powderkeg.api.dashboard import register_dashboard
from powderkeg.api.job_routes import register_job_routes
from powderkeg.api.jobs import JOB_NAMESPACE, JobManager
from powderkeg.api.read_routes import register_read_routes
from powderkeg.api.routes import register_routes
from powderkeg.api.security import BodySizeLimit, configured_token, known_secrets, redact
from powderkeg.data.store import Store
from powderkeg.exceptions import InputError, PowderkegError, UnknownSymbolError


@dataclass
class ApiSettings:
    """Server settings.

    Attributes
    ----------
    db : str
        The store file.
    token : str or None
        Bearer token for mutating endpoints (``None`` = read-only server).
    import_dir : Path or None
        The only directory file imports may read from.
    max_body_bytes : int
        Largest accepted request body.
    max_paths : int
        Largest Monte Carlo run (stress paths) a job may request.
    max_reps : int
        Largest number of replications (PSY critical values, LPPLS fits) a job may request.
    max_queued_jobs : int
        Queued or running jobs allowed at once (more are refused with 429).
    max_psy_work : int
        Largest PSY job in ADF regressions (``reps`` x windows x lag orders); a read of
        the statistics alone may use a hundredth of it.
    cache_entries : int
        Most read answers kept in memory (see :class:`~powderkeg.api.cache.ReadCache`).
    cache_bytes : int
        Most bytes of read answers kept in memory.
    """

    db: str
    token: str | None = None
    import_dir: Path | None = None
    max_body_bytes: int = 1_000_000
    max_paths: int = 20_000
    max_reps: int = 5_000
    max_queued_jobs: int = 8
    max_psy_work: int = 20_000_000_000
    cache_entries: int = 512
    cache_bytes: int = 64_000_000


def create_app(settings: ApiSettings) -> FastAPI:
    """Build the application for ``settings`` (one store per process, a view per request).

    Successful answers of the read endpoints are kept in a :class:`ReadCache` until the
    store's data version (or the date, which some answers default to) changes.
    """
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        store = Store(settings.db, read_only=settings.token is None and Path(settings.db).exists())
        state["store"] = store

        def persist(job_id: str, payload: dict[str, Any]) -> None:
            if not store.read_only:
                with store.thread_view() as view:
                    view.cache_put(JOB_NAMESPACE, job_id, payload)

        def load(job_id: str) -> dict[str, Any] | None:
            with store.thread_view() as view:
                found = view.cache_get(JOB_NAMESPACE, job_id)
            return found if isinstance(found, dict) else None

        state["jobs"] = JobManager(
            persist, load, max_queued=settings.max_queued_jobs, secrets=lambda: secrets()
        )
        versions = store.thread_view()  # only read on the event loop's thread

        def version() -> tuple[int, dt.date]:
            return versions.data_version(), dt.date.today()

        state["cache"] = ReadCache(
            version, max_entries=settings.cache_entries, max_bytes=settings.cache_bytes
        )
        yield
        state["jobs"].shutdown()
        versions.close()
        store.close()

    def secrets() -> list[str | None]:
        return list(known_secrets(settings.token))

    app = FastAPI(
        title="powderkeg",
        version=__version__,
        description="Linkage, liquidity, bubbles and contagion for the AI-equity / crypto complex.",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.state.settings = settings
    app.state.runtime = state

    @app.exception_handler(UnknownSymbolError)
    async def _unknown(request: Request, exc: UnknownSymbolError) -> JSONResponse:
        return JSONResponse({"detail": redact(str(exc), secrets())}, status_code=404)

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: InputError) -> JSONResponse:
        msg = redact(str(exc), secrets())
        loc = input_error_location(msg, list(request.query_params.keys()))
        return JSONResponse({"detail": [{"loc": loc, "msg": msg, "type": "value_error"}]}, 422)

    @app.exception_handler(PowderkegError)
    async def _failed(request: Request, exc: PowderkegError) -> JSONResponse:
        return JSONResponse({"detail": redact(str(exc), secrets())}, status_code=500)

    register_routes(app)
    register_read_routes(app)
    register_job_routes(app)
    register_dashboard(app)
    return app


def input_error_location(message: str, params: list[str]) -> list[str]:
    """Name the argument an :class:`InputError` message is about: ``["query", name]``.

    Library messages name the argument as the CLI or the Python API spells it (``--window``,
    ``window``, ``min_window``); the first request parameter so named wins, else the message's
    own leading option name, else just ``["query"]``.
    """
    import re

    lowered = message.lower()
    names = sorted(set(params), key=len, reverse=True)
    option = [(n, f"--{n.replace('_', '-')}") for n in names]
    bare = [(n, n) for n in names if len(n) > 1]
    for name, spelling in option + bare:
        if re.search(rf"(?<![\w-]){re.escape(spelling.lower())}(?![\w-])", lowered):
            return ["query", name]
    lead = re.match(r"^\s*(--?[a-z][a-z0-9-]*|[a-z_][a-z0-9_]*)\b", message, re.IGNORECASE)
    if lead and (lead.group(1).startswith("-") or "_" in lead.group(1)):
        return ["query", lead.group(1).lstrip("-").replace("-", "_")]
    return ["query"]


def settings_from_env(db: str, import_dir: str | None = None) -> ApiSettings:
    """Settings from the environment (token) and arguments."""
    return ApiSettings(
        db=db,
        token=configured_token(),
        import_dir=Path(import_dir) if import_dir else None,
    )
