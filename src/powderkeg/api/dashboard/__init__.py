"""The browser dashboard: static pages served by the API app, with no external requests.

``/`` is the single-page dashboard (linkage, bubbles, liquidity, stress/job views), its script
and style sheet live next to this module, and ``/static/plotly.min.js`` is the Plotly bundle
of the installed ``plotly`` package. A Content-Security-Policy limits every page to this origin.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

#: Only this origin: scripts, styles, data requests (Plotly needs inline styles and data: URLs).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}


def _asset(name: str) -> str:
    return (resources.files("powderkeg.api.dashboard") / name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled with the installed plotly package."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"plotly.min.js not found in the plotly package at {path}")
    return path


def register_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its assets under ``/static/``."""

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(_asset("index.html"), headers=HEADERS)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(
            plotly_js_path(),
            media_type="text/javascript",
            headers={**HEADERS, "Cache-Control": "public, max-age=86400"},
        )

    @app.get("/static/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        if name not in ASSETS:
            raise HTTPException(404, "no such asset")
        return Response(_asset(name), media_type=ASSETS[name], headers=HEADERS)
