"""HTTP routes: health, series, aligned frames, imports and job status.

The series and frame reads are cached (:class:`~powderkeg.api.cache.CachedRead`) until the
data changes; health, imports and job status are answered afresh every time.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from powderkeg.api.cache import CachedRead
from powderkeg.api.deps import StoreDep, TokenDep, result_json, symbols_param
from powderkeg.api.security import confine
from powderkeg.data.inventory import inventory, series_view
from powderkeg.results import jsonable

DateQ = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")]


class ImportRequest(BaseModel):
    """Import files from the server's import directory."""

    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(
        min_length=1, max_length=50, description="Paths relative to the import directory."
    )
    symbol: str | None = Field(default=None, max_length=40)
    kind: str | None = Field(default=None, pattern="^(price|macro)$")
    unit: str = Field(default="", max_length=40)


def register_routes(app: FastAPI) -> None:
    """Attach every route to ``app``."""
    reads = APIRouter(route_class=CachedRead)

    @app.get("/api/health", tags=["meta"])
    def health(store: StoreDep) -> dict[str, Any]:
        """Liveness and the store's size."""
        return {"status": "ok", "series": len(store.symbols()), "read_only": store.read_only}

    @reads.get("/api/series", tags=["data"])
    def list_series(store: StoreDep) -> dict[str, Any]:
        """Every stored series with kind, unit, dates and row count (as ``data list``)."""
        return result_json(inventory(store))

    @reads.get("/api/series/{symbol}", tags=["data"])
    def show_series(
        store: StoreDep,
        symbol: Annotated[str, Path(max_length=40)],
        start: DateQ = None,
        end: DateQ = None,
    ) -> dict[str, Any]:
        """One series' metadata and observations (as ``data show``)."""
        return result_json(series_view(store, symbol, start, end))

    @reads.get("/api/frame", tags=["data"])
    def frame(
        store: StoreDep,
        symbols: Annotated[str, Query(max_length=500, description="Comma-separated symbols")],
        start: DateQ = None,
        end: DateQ = None,
        calendar: Annotated[str, Query(max_length=20)] = "intersection",
    ) -> dict[str, Any]:
        """An aligned frame of main values."""
        df = store.frame(symbols_param(symbols), start, end, calendar=calendar)
        return {"calendar": calendar, "units": df.attrs.get("units"), "rows": jsonable(df)}

    app.include_router(reads)

    @app.post("/api/data/import", tags=["data"], status_code=201)
    def import_files(request: Request, body: ImportRequest, _auth: TokenDep) -> dict[str, Any]:
        """Import files from the allowed directory in one transaction (needs the token)."""
        from powderkeg.data.sources.files import ColumnSpec, read_series_file

        allowed = request.app.state.settings.import_dir
        files = [confine(p, allowed) for p in body.paths]
        if body.symbol and len(files) > 1:
            raise HTTPException(422, "symbol can only be given with a single file")
        batches = [
            read_series_file(f, symbol=body.symbol, spec=ColumnSpec(kind=body.kind), unit=body.unit)
            for f in files
        ]
        store = request.app.state.runtime["store"]
        with store.thread_view() as view:
            report = view.ingest(batches, source="api", target=",".join(body.paths))
        return result_json(report)

    @app.get("/api/jobs/{job_id}", tags=["jobs"])
    def get_job(
        request: Request, job_id: Annotated[str, Path(pattern="^[0-9a-f]{32}$")]
    ) -> dict[str, Any]:
        """A job's status, progress and (when finished) result."""
        found = request.app.state.runtime["jobs"].get(job_id)
        if found is None:
            raise HTTPException(404, "no such job")
        return found
