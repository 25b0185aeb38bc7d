"""What the route modules share: the store and token dependencies and the JSON helpers.

The application (:mod:`powderkeg.api.app`) imports the route modules, and they import this
module, never the application.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request

from powderkeg.api.security import check_bearer
from powderkeg.data.store import Store
from powderkeg.exceptions import InputError
from powderkeg.results import Result, jsonable


def store_view(request: Request) -> Iterator[Store]:
    """FastAPI dependency: a per-request view of the shared store."""
    store: Store = request.app.state.runtime["store"]
    view = store.thread_view()
    try:
        yield view
    finally:
        view.close()


def require_token(request: Request) -> None:
    """FastAPI dependency for mutating endpoints."""
    check_bearer(request, request.app.state.settings.token)


StoreDep = Annotated[Store, Depends(store_view)]
TokenDep = Annotated[None, Depends(require_token)]


def result_json(result: Result | dict[str, Any]) -> dict[str, Any]:
    """The JSON document of a result (the same as ``--json`` on the CLI)."""
    return result.to_dict() if isinstance(result, Result) else jsonable(result)


def symbols_param(value: str, name: str = "symbols") -> list[str]:
    """Split a comma-separated list of symbols."""
    items = [s.strip() for s in value.split(",") if s.strip()]
    if not items:
        raise InputError(f"{name} must list at least one symbol")
    return items
