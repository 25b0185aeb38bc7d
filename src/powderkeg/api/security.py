"""API security: bearer tokens compared in constant time, path confinement, size limits."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from fastapi import HTTPException, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ENV_TOKEN = "POWDERKEG_API_TOKEN"
REDACTED = "***"


def configured_token() -> str | None:
    """Return the API token from ``$POWDERKEG_API_TOKEN`` (``None`` or empty = read-only)."""
    token = os.environ.get(ENV_TOKEN, "")
    return token or None


def check_bearer(request: Request, token: str | None) -> None:
    """Raise 403 if the server is read-only, 401 if the bearer token is missing or wrong."""
    if token is None:
        raise HTTPException(
            403, "this server is read-only: set POWDERKEG_API_TOKEN to allow writes"
        )
    header = request.headers.get("authorization", "")
    scheme, _, supplied = header.partition(" ")
    if scheme.lower() != "bearer" or not supplied:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    if not hmac.compare_digest(supplied.encode(), token.encode()):
        raise HTTPException(401, "invalid bearer token", headers={"WWW-Authenticate": "Bearer"})


def confine(path: str, allowed_dir: Path | None) -> Path:
    """Resolve ``path`` inside ``allowed_dir``; refuse anything outside it (403)."""
    if allowed_dir is None:
        raise HTTPException(403, "file imports are disabled: start the server with --import-dir")
    base = allowed_dir.resolve()
    candidate = (base / path).resolve()
    if candidate != base and base not in candidate.parents:
        raise HTTPException(403, "path is outside the allowed import directory")
    if not candidate.is_file():
        raise HTTPException(404, "no such file in the import directory")
    return candidate


class BodySizeLimit:
    """ASGI middleware: reject requests whose body exceeds ``max_bytes`` with 413.

    A plain ASGI middleware (no task or stream per request), so requests without a body,
    such as cached reads, pass through at no cost.

    Parameters
    ----------
    app : ASGI application
        The application behind it.
    max_bytes : int
        Largest accepted body.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length, then the actual body, before handing on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                await JSONResponse({"detail": "invalid Content-Length"}, 400)(scope, receive, send)
                return
            if too_big:
                await self._refuse(scope, receive, send)
                return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            received: list[Message] = []
            size = 0
            while not received or received[-1].get("more_body", False):
                message = await receive()
                received.append(message)
                if message["type"] != "http.request":  # the client went away
                    break
                size += len(message.get("body", b""))
                if size > self.max_bytes:
                    await self._refuse(scope, receive, send)
                    return

            async def replay() -> Message:
                return received.pop(0) if received else await receive()

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"detail": "request body too large"}, 413)(scope, receive, send)


#: Environment variables whose values are secrets wherever they appear.
SECRET_ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD")


def known_secrets(token: str | None = None) -> list[str]:
    """The API token plus every secret-looking environment value (``FRED_API_KEY``...).

    Values shorter than 8 characters are left out (they would redact ordinary words).
    """
    found = [token] if token else []
    for name, value in os.environ.items():
        if name.upper().endswith(SECRET_ENV_SUFFIXES) and len(value) >= 8:
            found.append(value)
    return sorted(set(found), key=len, reverse=True)


def redact(text: str, secrets: list[str | None]) -> str:
    """Replace every configured secret in ``text`` by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
