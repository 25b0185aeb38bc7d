"""POST endpoints for long jobs (token required); poll ``GET /api/jobs/{id}`` for the result.

A job's ``result`` is exactly the ``to_dict()`` document the matching CLI command prints with
``--json``. Run sizes are capped by :class:`~powderkeg.api.app.ApiSettings` (``max_reps``,
``max_paths``); a larger request is refused with 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from powderkeg.api.deps import TokenDep
from powderkeg.api.jobs import JobFunction, ProgressCallback, QueueFullError
from powderkeg.service import bubble, stress

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"


class JobAccepted(BaseModel):
    """The answer to a job submission."""

    id: str = Field(description="Job id; poll GET /api/jobs/{id}.")
    kind: str
    status: str
    location: str = Field(description="The URL to poll.")


class PsyJobRequest(BaseModel):
    """A PSY GSADF run with simulated critical values (as ``powderkeg bubble psy``)."""

    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=1, max_length=40, examples=["BTC-USD"])
    freq: Literal["D", "W", "M"] = "D"
    min_window: int | None = Field(default=None, ge=3, le=100_000)
    lags: int = Field(default=0, ge=0, le=24)
    ic: Literal["aic", "bic"] | None = None
    trend: Literal["c", "ct"] = "c"
    cv: Literal["mc", "wild"] = "mc"
    reps: int = Field(default=2000, ge=10, description="Replications (at most max_reps).")
    seed: int = Field(default=1, ge=0, le=2**32 - 1)
    level: Literal["90%", "95%", "99%"] = "95%"
    min_duration: int | None = Field(default=None, ge=1, le=10_000)
    start: str | None = Field(default=None, pattern=DATE_PATTERN)
    asof: str | None = Field(default=None, pattern=DATE_PATTERN)
    log: bool = True


class GaugeJobRequest(BaseModel):
    """The bubble-pressure gauge (as ``powderkeg bubble gauge``)."""

    model_config = ConfigDict(extra="forbid")
    asof: str | None = Field(default=None, pattern=DATE_PATTERN)
    fundamentals: Literal["example"] | None = Field(
        default=None, description="'example' for the shipped ai-2025.yaml figures."
    )
    weights: str | None = Field(default=None, max_length=300, examples=["psy=2,vix=0"])
    psy: bool = True
    reps: int = Field(default=499, ge=10, description="PSY replications (at most max_reps).")
    lppls_days: int = Field(default=5, ge=1, le=20)
    seed: int = Field(default=1, ge=0, le=2**32 - 1)


class SignalsJobRequest(BaseModel):
    """Precision and recall of PSY and LPPLS flags (as ``powderkeg bubble signals``)."""

    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=1, max_length=40, examples=["^IXIC"])
    freq: Literal["D", "W", "M"] = "M"
    drawdown: float = Field(default=0.2, gt=0, le=1)
    horizon: int = Field(default=60, ge=1, le=3650, description="Calendar days.")
    psy: bool = True
    lppls: bool = True
    threshold: float = Field(default=0.1, ge=0, le=1)
    reps: int = Field(default=499, ge=10, description="PSY replications (at most max_reps).")
    start: str | None = Field(default=None, pattern=DATE_PATTERN)
    end: str | None = Field(default=None, pattern=DATE_PATTERN)
    seed: int = Field(default=1, ge=0, le=2**32 - 1)


class StressJobRequest(BaseModel):
    """A Monte Carlo stress run of a built-in scenario (as ``powderkeg stress run``)."""

    model_config = ConfigDict(extra="forbid")
    scenario: str = Field(
        min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$", examples=["ai-correction"]
    )
    paths: int = Field(default=10_000, ge=1, description="Monte Carlo paths (at most max_paths).")
    seed: int = Field(default=1, ge=0, le=2**32 - 1)
    days: int | None = Field(default=None, ge=1, le=3650)
    chunk: int = Field(default=1000, ge=1, le=100_000)


class ValidateJobRequest(BaseModel):
    """Historical episode replays scored against history (as ``powderkeg stress validate``)."""

    model_config = ConfigDict(extra="forbid")
    episodes: list[str] | None = Field(
        default=None,
        max_length=20,
        examples=[["march-2020", "svb-2023"]],
        description="Episodes to replay (default: every built-in episode).",
    )
    paths: int = Field(default=128, ge=8, le=2000, description="Agent-engine paths per episode.")
    seed: int = Field(default=1, ge=0, le=2**32 - 1)
    calibration: Literal["shipped", "none"] = Field(
        default="shipped", description="'shipped' (fitted, with held-out replays) or 'none'."
    )


class ReverseJobRequest(BaseModel):
    """A reverse stress test of a built-in scenario (as ``powderkeg stress reverse``)."""

    model_config = ConfigDict(extra="forbid")
    scenario: str = Field(
        min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9-]*$", examples=["ai-correction"]
    )
    target: Literal[
        "stablecoin-treasury-sales", "bank-default", "btc-below-50", "hedge-fund-default"
    ]
    paths: int = Field(default=128, ge=8, le=5000, description="Agent-engine paths per scale.")
    seed: int = Field(default=1, ge=0, le=2**32 - 1)
    days: int | None = Field(default=None, ge=1, le=3650)
    tolerance: float = Field(default=0.02, ge=1e-4, le=1.0)
    max_scale: float | None = Field(default=None, gt=0, le=100)


class LpplsJobRequest(BaseModel):
    """The LPPLS confidence indicator (as ``powderkeg bubble lppls --confidence``)."""

    model_config = ConfigDict(extra="forbid")
    symbol: str = Field(min_length=1, max_length=40, examples=["NVDA"])
    end: str | None = Field(default=None, pattern=DATE_PATTERN)
    window: int = Field(default=120, ge=12, le=2000, description="Largest window (obs).")
    smallest: int = Field(default=30, ge=12, le=2000)
    step: int = Field(default=5, ge=1, le=500)
    days: int = Field(default=60, ge=1, le=2000, description="End dates: the last N obs.")
    outer_step: int = Field(default=1, ge=1, le=500)
    starts: int = Field(default=4, ge=1, le=32, description="Nelder-Mead starts per fit.")
    seed: int = Field(default=1, ge=0, le=2**32 - 1)


def too_large(field: str, value: int, limit: int) -> HTTPException:
    """A 422 in FastAPI's validation shape for a run larger than the server allows."""
    return HTTPException(
        422,
        detail=[
            {
                "loc": ["body", field],
                "msg": f"{field}={value} exceeds this server's limit of {limit}",
                "type": "less_than_equal",
                "ctx": {"le": limit},
            }
        ],
    )


def submit_job(
    request: Request,
    response: Response,
    kind: str,
    parameters: dict[str, Any],
    work: Callable[[Any, ProgressCallback], Any],
) -> JobAccepted:
    """Queue ``work(store_view, progress)`` (which returns a Result) as a job.

    The job opens its own view of the shared store in the worker thread, so writes (cached
    critical values) and reads stay on one DuckDB connection per thread.
    """
    runtime = request.app.state.runtime
    store = runtime["store"]

    def run(progress: ProgressCallback) -> dict[str, Any]:
        with store.thread_view() as view:
            result = work(view, progress)
        payload: dict[str, Any] = result.to_dict()
        return payload

    func: JobFunction = run
    try:
        job = runtime["jobs"].submit(kind, parameters, func)
    except QueueFullError as exc:
        raise HTTPException(429, f"too many jobs: {exc}; retry later") from None
    location = f"/api/jobs/{job.id}"
    response.headers["Location"] = location
    return JobAccepted(id=job.id, kind=kind, status=job.status, location=location)


def available_scenarios() -> list[str]:
    """Names of the built-in stress scenarios."""
    from powderkeg.contagion.scenario_spec import builtin_names

    return list(builtin_names())


def check_builtin_scenario(name: str) -> None:
    """422 naming the built-in scenarios unless ``name`` is one (no server files by path)."""
    if name not in available_scenarios():
        raise HTTPException(
            422,
            detail=[
                {
                    "loc": ["body", "scenario"],
                    "msg": "scenario must be one of: " + ", ".join(available_scenarios()),
                    "type": "enum",
                }
            ],
        )


def register_job_routes(app: FastAPI) -> None:
    """Attach the job submission endpoints to ``app``."""
    limits = app.state.settings
    kinds: list[dict[str, str]] = [
        {"kind": "stress", "title": "Stress scenario", "path": "/api/jobs/stress"},
        {
            "kind": "stress-validate",
            "title": "Model validation (episode replays)",
            "path": "/api/jobs/stress/validate",
        },
        {
            "kind": "stress-reverse",
            "title": "Reverse stress test",
            "path": "/api/jobs/stress/reverse",
        },
        {"kind": "bubble-psy", "title": "PSY critical values", "path": "/api/jobs/bubble/psy"},
        {"kind": "bubble-lppls", "title": "LPPLS confidence", "path": "/api/jobs/bubble/lppls"},
        {
            "kind": "bubble-gauge",
            "title": "Bubble-pressure gauge",
            "path": "/api/jobs/bubble/gauge",
        },
        {
            "kind": "bubble-signals",
            "title": "Signal evaluation",
            "path": "/api/jobs/bubble/signals",
        },
    ]

    @app.get("/api/jobs", tags=["jobs"])
    def list_job_kinds() -> dict[str, Any]:
        """The job kinds this server runs, the shipped stress scenarios and the run limits."""
        return {
            "kinds": kinds,
            "scenarios": available_scenarios(),
            "limits": {
                "max_reps": limits.max_reps,
                "max_paths": limits.max_paths,
                "max_queued_jobs": limits.max_queued_jobs,
            },
        }

    @app.post("/api/jobs/bubble/psy", tags=["jobs"], status_code=202)
    def submit_psy(
        request: Request, response: Response, body: PsyJobRequest, _auth: TokenDep
    ) -> JobAccepted:
        """Run PSY with Monte Carlo or wild-bootstrap critical values (stored for reuse).

        Afterwards ``GET /api/bubble/psy`` with the same settings answers from the store.
        """
        if body.reps > limits.max_reps:
            raise too_large("reps", body.reps, limits.max_reps)
        params = body.model_dump()
        sizing = {k: params[k] for k in ("freq", "min_window", "lags", "ic", "trend", "start")}
        with request.app.state.runtime["store"].thread_view() as view:
            cost = (
                bubble.psy_work(view, body.symbol, asof=body.asof, log=body.log, **sizing)
                * body.reps
            )
        if cost > limits.max_psy_work:
            raise too_large("reps", body.reps, body.reps * limits.max_psy_work // cost)

        def work(view: Any, progress: ProgressCallback) -> Any:
            return bubble.psy(view, progress=progress, **params)

        return submit_job(request, response, "bubble-psy", params, work)

    @app.post("/api/jobs/bubble/gauge", tags=["jobs"], status_code=202)
    def submit_gauge(
        request: Request, response: Response, body: GaugeJobRequest, _auth: TokenDep
    ) -> JobAccepted:
        """Bubble-pressure gauge with every component and contribution (as ``bubble gauge``).

        Only the shipped example fundamentals can be used (the API never reads server files).
        """
        if body.reps > limits.max_reps:
            raise too_large("reps", body.reps, limits.max_reps)
        params = body.model_dump()

        def work(view: Any, progress: ProgressCallback) -> Any:
            return bubble.gauge(view, progress=progress, **params)

        return submit_job(request, response, "bubble-gauge", params, work)

    @app.post("/api/jobs/bubble/signals", tags=["jobs"], status_code=202)
    def submit_signals(
        request: Request, response: Response, body: SignalsJobRequest, _auth: TokenDep
    ) -> JobAccepted:
        """Precision and recall of PSY and LPPLS flags (as ``bubble signals``)."""
        if body.reps > limits.max_reps:
            raise too_large("reps", body.reps, limits.max_reps)
        if body.psy:
            with request.app.state.runtime["store"].thread_view() as view:
                cost = bubble.psy_work(
                    view, body.symbol, freq=body.freq, start=body.start, asof=body.end
                )
            if cost * body.reps > limits.max_psy_work:
                raise too_large("reps", body.reps, limits.max_psy_work // max(cost, 1))
        params = body.model_dump()
        symbol = params.pop("symbol")

        def work(view: Any, progress: ProgressCallback) -> Any:
            return bubble.signals(view, symbol, **params)

        return submit_job(request, response, "bubble-signals", {"symbol": symbol, **params}, work)

    @app.get("/api/stress/scenarios", tags=["contagion"])
    def stress_scenarios() -> dict[str, Any]:
        """The built-in stress scenarios (as ``stress list``)."""
        return stress.scenarios().to_dict()

    @app.post("/api/jobs/stress", tags=["jobs"], status_code=202)
    def submit_stress(
        request: Request, response: Response, body: StressJobRequest, _auth: TokenDep
    ) -> JobAccepted:
        """Run a stress scenario by Monte Carlo (as ``stress run``; cached in the store)."""
        if body.paths > limits.max_paths:
            raise too_large("paths", body.paths, limits.max_paths)
        check_builtin_scenario(body.scenario)
        params = body.model_dump()
        run_plan = stress.plan(body.scenario, paths=body.paths, chunk=body.chunk, days=body.days)

        def work(view: Any, progress: ProgressCallback) -> Any:
            return stress.run(view, run_plan, seed=body.seed, progress=progress)

        return submit_job(request, response, "stress", params, work)

    @app.post("/api/jobs/stress/validate", tags=["jobs"], status_code=202)
    def submit_validate(
        request: Request, response: Response, body: ValidateJobRequest, _auth: TokenDep
    ) -> JobAccepted:
        """Replay historical episodes through the agent engine and score them (cached)."""
        from powderkeg.contagion.episode_spec import builtin_names

        unknown = sorted(set(body.episodes or []) - set(builtin_names()))
        if unknown:
            raise HTTPException(
                422,
                detail=[
                    {
                        "loc": ["body", "episodes"],
                        "msg": f"unknown episode(s) {', '.join(unknown)}; built-in: "
                        + ", ".join(builtin_names()),
                        "type": "enum",
                    }
                ],
            )
        params = body.model_dump()

        def work(view: Any, progress: ProgressCallback) -> Any:
            return stress.validate(view, progress=progress, **params)

        return submit_job(request, response, "stress-validate", params, work)

    @app.post("/api/jobs/stress/reverse", tags=["jobs"], status_code=202)
    def submit_reverse(
        request: Request, response: Response, body: ReverseJobRequest, _auth: TokenDep
    ) -> JobAccepted:
        """Smallest AI-equity shock at which the target happens on half the paths."""
        check_builtin_scenario(body.scenario)
        params = body.model_dump()
        args = {k: v for k, v in params.items() if k != "scenario"}

        def work(view: Any, progress: ProgressCallback) -> Any:
            return stress.reverse(body.scenario, progress=progress, **args)

        return submit_job(request, response, "stress-reverse", params, work)

    @app.get("/api/stress/calibration", tags=["contagion"])
    def stress_calibration() -> dict[str, Any]:
        """The shipped calibration: fitted multipliers, their folds and held-out errors."""
        from powderkeg.contagion.calibration import load_calibration

        return load_calibration().payload

    @app.post("/api/jobs/bubble/lppls", tags=["jobs"], status_code=202)
    def submit_lppls(
        request: Request, response: Response, body: LpplsJobRequest, _auth: TokenDep
    ) -> JobAccepted:
        """LPPLS confidence indicator over nested windows (as ``bubble lppls --confidence``).

        The number of fits (end dates x nested windows) is capped by ``max_reps``.
        """
        fits = bubble.lppls_fits(body.window, body.smallest, body.step, body.days, body.outer_step)
        if fits > limits.max_reps:
            raise HTTPException(
                422,
                detail=[
                    {
                        "loc": ["body", "days"],
                        "msg": f"{fits} LPPLS fits (end dates x nested windows) exceed this "
                        f"server's limit of {limits.max_reps}: lower days, raise outer_step "
                        "or step",
                        "type": "less_than_equal",
                    }
                ],
            )
        params = body.model_dump()
        args = {k: v for k, v in params.items() if k != "starts"}

        def work(view: Any, progress: ProgressCallback) -> Any:
            return bubble.lppls(
                view, confidence=True, n_starts=body.starts, progress=progress, **args
            )

        return submit_job(request, response, "bubble-lppls", params, work)
