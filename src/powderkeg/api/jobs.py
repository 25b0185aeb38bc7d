"""Long jobs for the API.

Jobs are submitted with POST, run in a worker thread, expose their progress, and are stored
in the store's cache so they survive a restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from powderkeg.api.security import redact
from powderkeg.results import jsonable

log = logging.getLogger("powderkeg.api.jobs")

JOB_NAMESPACE = "api-jobs"
ProgressCallback = Callable[[int, int, str], None]
JobFunction = Callable[[ProgressCallback], dict[str, Any]]


@dataclass
class Job:
    """A submitted job and its state."""

    id: str
    kind: str
    parameters: dict[str, Any]
    status: str = "queued"
    done: int = 0
    total: int = 0
    label: str = ""
    submitted_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    finished_at: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self, with_result: bool = True) -> dict[str, Any]:
        """JSON view of the job."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "parameters": self.parameters,
            "status": self.status,
            "progress": {"done": self.done, "total": self.total, "label": self.label},
            "submitted_at": self.submitted_at,
            "finished_at": self.finished_at,
            "error": self.error,
        }
        if with_result:
            out["result"] = self.result
        return jsonable(out)


class QueueFullError(Exception):
    """Raised by :meth:`JobManager.submit` when ``max_queued`` jobs are already pending."""


class JobManager:
    """Runs jobs in a small thread pool and persists them through ``persist``.

    A job is persisted when submitted (``queued``) and when it ends (``finished`` or
    ``failed``), so its record survives a restart; a record read back from the store that is
    still ``queued`` or ``running`` belongs to a process that stopped, and is reported as
    ``interrupted``. Error messages are redacted of ``secrets()`` (token, API keys).
    """

    def __init__(
        self,
        persist: Callable[[str, dict[str, Any]], None],
        load: Callable[[str], dict[str, Any] | None],
        workers: int = 1,
        max_queued: int = 16,
        secrets: Callable[[], list[str | None]] | None = None,
    ) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pk-job")
        self._persist = persist
        self._load = load
        self._secrets = secrets or (lambda: [])
        self.max_queued = max_queued

    def active(self) -> int:
        """Number of queued or running jobs."""
        with self._lock:
            return sum(j.status in ("queued", "running") for j in self._jobs.values())

    def submit(self, kind: str, parameters: dict[str, Any], func: JobFunction) -> Job:
        """Queue ``func(progress)``; return the job record.

        Raises
        ------
        QueueFullError
            If ``max_queued`` jobs are already queued or running.
        """
        job = Job(id=uuid.uuid4().hex, kind=kind, parameters=parameters)
        with self._lock:
            pending = sum(j.status in ("queued", "running") for j in self._jobs.values())
            if pending >= self.max_queued:
                raise QueueFullError(f"{pending} jobs are already queued or running")
            self._jobs[job.id] = job
        self._persist(job.id, job.to_dict())
        self._pool.submit(self._run, job, func)
        return job

    def _run(self, job: Job, func: JobFunction) -> None:
        job.status = "running"

        def progress(done: int, total: int, label: str = "") -> None:
            job.done, job.total, job.label = done, total, label

        try:
            job.result = jsonable(func(progress))
            job.status = "finished"
        except Exception as exc:  # the job failed; record why (no traceback to clients)
            job.error = redact(f"{type(exc).__name__}: {exc}", self._secrets())
            job.status = "failed"
            log.warning("job %s (%s) failed: %s", job.id, job.kind, job.error)
        job.finished_at = dt.datetime.now(dt.UTC).isoformat()
        self._persist(job.id, job.to_dict())

    def get(self, job_id: str) -> dict[str, Any] | None:
        """Return a job (running ones from memory, finished ones from the store)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job.to_dict()
        found = self._load(job_id)
        if found is not None and found.get("status") in ("queued", "running"):
            found = {**found, "status": "interrupted", "error": "the server stopped first"}
        return found

    def shutdown(self) -> None:
        """Stop accepting jobs and wait for running ones."""
        self._pool.shutdown(wait=True, cancel_futures=True)
