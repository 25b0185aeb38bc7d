"""Answers of the read endpoints, kept in memory until the store's data changes.

A read endpoint is a pure function of the stored data and its request, so its answer can be
reused until an import or update commits. :class:`ReadCache` keeps the bytes of successful
answers (status 200) under a key made of the endpoint path and its normalised query string,
valid for one *version* (the store's :meth:`~powderkeg.data.store.Store.data_version`, with
the date for answers that default to today); when the version changes, every entry is dropped.
Identical requests that arrive while the answer is being computed wait for that one
computation instead of repeating it. Errors are never kept.

Routes opt in by being :class:`CachedRead` routes; every answer they give carries the header
``X-Powderkeg-Cache: hit`` or ``miss``. Token-guarded and mutating endpoints are never cached.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Request, Response
from fastapi.routing import APIRoute

CACHE_HEADER = "X-Powderkeg-Cache"


def cache_key(path: str, query_string: bytes) -> str:
    """The cache key of a request: its path and its query parameters sorted by name.

    Parameters are decoded the way the application reads them, so ``%5E`` and ``^`` or
    ``b=1&a=2`` and ``a=2&b=1`` give one key; the order of a repeated parameter
    (``symbols=A&symbols=B``) is kept, since it is the order of the answer.

    Parameters
    ----------
    path : str
        The request path (decoded).
    query_string : bytes
        The raw query string.

    Returns
    -------
    str
    """
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    pairs.sort(key=lambda pair: pair[0])
    return f"{path}?{urlencode(pairs)}"


@dataclass(frozen=True)
class CachedAnswer:
    """The body and headers of a successful answer."""

    body: bytes
    headers: tuple[tuple[str, str], ...]

    def response(self) -> Response:
        """A new 200 response with these bytes, marked as a cache hit."""
        return Response(self.body, headers={**dict(self.headers), CACHE_HEADER: "hit"})


class ReadCache:
    """A bounded LRU of successful read answers, valid for one version of the data.

    Not thread-safe: every call happens on the event loop of the server. The version is
    read there too, once for all the requests that are being handled when the read starts
    (so it still sees every write committed before any of them arrived).

    Parameters
    ----------
    version : callable
        Returns the current version of what the answers depend on; when it differs from
        the one the entries were computed for, they are all dropped.
    max_entries : int, default 512
        Most answers kept; the least recently used go first.
    max_bytes : int, default 64_000_000
        Most bytes of answer bodies kept; an answer larger than this is never kept.
    """

    def __init__(
        self,
        version: Callable[[], Hashable],
        max_entries: int = 512,
        max_bytes: int = 64_000_000,
    ) -> None:
        self._version = version
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._valid_for: Hashable = None
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._bytes = 0
        self._pending: dict[tuple[Hashable, str], asyncio.Future[CachedAnswer | None]] = {}
        self._next_read: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Bytes of the bodies kept."""
        return self._bytes

    async def answer(self, key: str, compute: Callable[[], Awaitable[Response]]) -> Response:
        """Answer from the cache, or ``await compute()`` once for all identical requests.

        Parameters
        ----------
        key : str
            The request's :func:`cache_key`.
        compute : callable
            Computes the answer (the endpoint itself).

        Returns
        -------
        Response
            The cached bytes (``hit``), the computed response (``miss``), or the answer of
            an identical request computed meanwhile (``hit``).

        Raises
        ------
        Exception
            Whatever ``compute`` raised, also for the identical requests that waited for it;
            nothing is kept.
        """
        while True:
            version = await self.current_version()
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found.response()
            pending = self._pending.get((version, key))
            if pending is None:
                return await self._compute(version, key, compute)
            try:
                shared = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if pending.cancelled():  # the computing request went away: try again
                    continue
                raise
            if shared is not None:
                return shared.response()
            # the answer was not cacheable (not a 200): compute this one on its own

    async def current_version(self) -> Hashable:
        """The version the entries are valid for, read after this call started.

        One read serves every call made before it starts; a version that differs from the
        last one read drops every entry.
        """
        if self._next_read is None:
            loop = asyncio.get_running_loop()
            self._next_read = loop.create_future()
            loop.call_soon(self._read_version, self._next_read)
        await asyncio.shield(self._next_read)
        # the latest read (maybe newer than the awaited one) also started after this call
        return self._valid_for

    def _read_version(self, future: asyncio.Future[None]) -> None:
        self._next_read = None  # calls from now on wait for the next read
        try:
            version = self._version()
        except Exception as exc:
            future.set_exception(exc)
            return
        if version != self._valid_for:
            self._entries.clear()
            self._bytes = 0
            self._valid_for = version
        future.set_result(None)

    async def _compute(
        self, version: Hashable, key: str, compute: Callable[[], Awaitable[Response]]
    ) -> Response:
        future: asyncio.Future[CachedAnswer | None] = asyncio.get_running_loop().create_future()
        self._pending[(version, key)] = future
        try:
            response = await compute()
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marks it retrieved: only the waiting requests re-raise it
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._pending[(version, key)]
        answer = _cacheable(response)
        future.set_result(answer)
        if answer is not None and version == self._valid_for:
            self._keep(key, answer)
        response.headers[CACHE_HEADER] = "miss"
        return response

    def _keep(self, key: str, answer: CachedAnswer) -> None:
        size = len(answer.body)
        if size > self.max_bytes or self.max_entries < 1:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._entries[key] = answer
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)


def _cacheable(response: Response) -> CachedAnswer | None:
    """The answer to keep, or ``None`` (not a 200, or a streamed body)."""
    body: Any = getattr(response, "body", None)
    if response.status_code != 200 or not isinstance(body, bytes | memoryview):
        return None
    return CachedAnswer(bytes(body), tuple(response.headers.items()))


class CachedRead(APIRoute):
    """A GET route whose successful answers come from the application's :class:`ReadCache`.

    The cache is ``request.app.state.runtime["cache"]`` (created with the store when the
    application starts). Use it as the ``route_class`` of a router of pure read endpoints.

    Raises
    ------
    ValueError
        If the route answers other methods than GET (and HEAD).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        methods = self.methods or set()
        if methods - {"GET", "HEAD"}:
            raise ValueError(f"only GET routes can be cached, not {sorted(methods)}")

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The endpoint's handler behind the cache."""
        compute = super().get_route_handler()

        async def handler(request: Request) -> Response:
            cache: ReadCache = request.app.state.runtime["cache"]
            key = cache_key(request.scope["path"], request.scope["query_string"])
            return await cache.answer(key, lambda: compute(request))

        return handler
