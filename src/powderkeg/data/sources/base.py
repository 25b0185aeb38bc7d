"""Shared HTTP plumbing for live sources: rate limiting, retries, redaction, typed errors.

Every network call of the live sources (FRED, Yahoo Finance) goes through one
:class:`HttpClient`, which

* waits on a per-host token bucket (:class:`RateLimiter`) before each request;
* retries timeouts, connection errors, HTTP 429 and 5xx with exponential backoff and
  jitter, honouring a ``Retry-After`` header (seconds or HTTP date);
* raises :class:`~powderkeg.exceptions.ProviderError` after the last attempt, naming the
  source, the symbol, the attempts made and the last HTTP status;
* raises :class:`ProviderSymbolError` (an :class:`~powderkeg.exceptions.InputError`, so the
  CLI exits with code 2) when the provider says the symbol does not exist;
* redacts secrets (``api_key=...`` query parameters and every registered secret value) from
  every message it produces and from the ``httpx`` log records.

The clock and the sleep function are injectable so tests run without waiting, and the
``httpx.Client`` is injectable so tests can replay recorded responses (``respx``).
:func:`call_with_retries` applies the same retry policy to non-HTTP callables (the ccxt
exchange clients).
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
import pandas as pd

from powderkeg._version import __version__
from powderkeg.data.records import SeriesData
from powderkeg.exceptions import InputError, ProviderError

T = TypeVar("T")

#: Query parameters whose values are secrets wherever they appear.
SECRET_PARAMS = ("api_key", "apikey", "api-key", "token", "access_token", "secret", "password")
_SECRET_RE = re.compile(
    r"(?i)\b(" + "|".join(re.escape(p) for p in SECRET_PARAMS) + r")(=|%3D|:\s*|\"\s*:\s*\")"
    r"([^&\s\"',;)]+)"
)
REDACTED = "***"

#: Default request rates (requests per second) of the hosts we talk to.
DEFAULT_RATES: dict[str, float] = {
    "api.stlouisfed.org": 2.0,  # FRED allows 120 requests per minute per key
    "fred.stlouisfed.org": 1.0,
    "query1.finance.yahoo.com": 1.0,
    "query2.finance.yahoo.com": 1.0,
}
DEFAULT_RATE = 2.0
USER_AGENT = f"powderkeg/{__version__} (+https://github.com/powderkeg)"


class ProviderSymbolError(ProviderError, InputError):
    """The provider does not know the requested symbol (bad input: CLI exit code 2)."""


class LiveSource(Protocol):
    """What :func:`powderkeg.data.sources.update.update` needs from a live source."""

    #: Provenance label stored in ``series.source`` (``"fred"``, ``"yahoo"``, ``"ccxt:coinbase"``).
    label: str

    def fetch(
        self, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None = None
    ) -> SeriesData:
        """Return the observations of ``symbol`` from ``start`` to ``end`` (inclusive)."""


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with secret query parameters and known secret values replaced.

    Parameters
    ----------
    text : str
        Any message, URL or log line.
    secrets : iterable of str
        Literal secret values (API keys) to remove wherever they appear.

    Examples
    --------
    >>> redact("https://x.org/a?series_id=WALCL&api_key=abc123&file_type=json")
    'https://x.org/a?series_id=WALCL&api_key=***&file_type=json'
    """
    out = _SECRET_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, REDACTED)
    return out


class _RedactingFilter(logging.Filter):
    """Redact secrets from ``httpx``/``httpcore`` log records (they log full request URLs)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(
                redact(str(a), self.secrets) if not isinstance(a, (int, float)) else a for a in args
            )
        record.msg = redact(str(record.msg), self.secrets)
        return True


_LOG_FILTER = _RedactingFilter()
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).addFilter(_LOG_FILTER)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a failing request.

    Parameters
    ----------
    attempts : int, default 5
        Total attempts (the first try included).
    base_delay : float, default 1.0
        Backoff before the second attempt, in seconds; doubled on every further attempt.
    max_delay : float, default 30.0
        Cap of one backoff wait.
    max_retry_after : float, default 120.0
        Longest ``Retry-After`` the client agrees to wait; a longer one fails at once.
    retry_statuses : frozenset of int
        HTTP statuses worth retrying.
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    retry_statuses: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504})

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InputError(f"attempts must be >= 1, got {self.attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise InputError("base_delay and max_delay must be >= 0")

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Return the wait before retry number ``retry`` (1-based): equal-jitter exponential.

        The wait is uniform on ``[d/2, d]`` with ``d = min(max_delay, base_delay * 2**(retry-1))``.
        """
        d = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return d / 2.0 + rng.uniform(0.0, d / 2.0)


class RateLimiter:
    """A token bucket: at most ``rate`` requests per second on average, bursts of ``burst``.

    Parameters
    ----------
    rate : float
        Tokens added per second.
    burst : float, default 1.0
        Bucket capacity.
    clock, sleep : callable
        Monotonic clock and sleep function (injectable for tests).
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise InputError(f"rate must be > 0 and burst >= 1, got rate={rate}, burst={burst}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; return the time slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            wait = 0.0
            if self._tokens < 1.0:
                wait = (1.0 - self._tokens) / self.rate
                self._sleep(wait)
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
                self._last = now
                # a sleep function that does not advance the clock still pays for the token
                self._tokens = max(self._tokens, 1.0)
            self._tokens -= 1.0
            return wait


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the wait in seconds asked for by a ``Retry-After`` header, or ``None``.

    Accepts delta-seconds (``"7"``) and HTTP dates (``"Wed, 21 Oct 2015 07:28:00 GMT"``);
    ``now`` is the current POSIX time (defaults to :func:`time.time`).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class HttpClient:
    """A rate-limited, retrying HTTP client shared by the live sources.

    Parameters
    ----------
    client : httpx.Client, optional
        The transport (default: a new ``httpx.Client`` with ``timeout``); pass one built on a
        mock transport to replay recorded responses.
    retry : RetryPolicy
        Retry settings.
    rates : mapping of str to float, optional
        Requests per second by host (default :data:`DEFAULT_RATES`, others
        :data:`DEFAULT_RATE`).
    sleep, clock : callable
        Sleep function and monotonic clock (tests inject fakes so nothing waits).
    seed : int, optional
        Seed of the jitter generator.
    timeout : float, default 30.0
        Seconds per request when ``client`` is not given.
    secrets : iterable of str
        Values to redact from every message (API keys).
    """

    client: httpx.Client | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rates: Mapping[str, float] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    seed: int | None = None
    timeout: float = 30.0
    secrets: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._owns_client = self.client is None
        self._http = self.client or httpx.Client(
            timeout=self.timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT}
        )
        self._rng = random.Random(self.seed)
        self._limiters: dict[str, RateLimiter] = {}
        self.requests_made = 0
        for s in list(self.secrets):
            self.add_secret(s)

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the underlying ``httpx.Client`` if this object created it."""
        if self._owns_client:
            self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_secret(self, secret: str) -> None:
        """Register a secret value to be redacted from messages and ``httpx`` logs."""
        if secret:
            self.secrets.add(secret)
            _LOG_FILTER.secrets.add(secret)

    def redact(self, text: str) -> str:
        """Redact secret parameters and registered secrets from ``text``."""
        return redact(text, self.secrets)

    def limiter(self, host: str) -> RateLimiter:
        """Return (creating on first use) the token bucket of ``host``."""
        if host not in self._limiters:
            rates = DEFAULT_RATES if self.rates is None else self.rates
            self._limiters[host] = RateLimiter(
                rates.get(host, DEFAULT_RATE), clock=self.clock, sleep=self.sleep
            )
        return self._limiters[host]

    # ------------------------------------------------------------------ requests
    def get(
        self,
        url: str,
        *,
        source: str,
        symbol: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        not_found: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """GET ``url`` with rate limiting and retries; return the successful response.

        Parameters
        ----------
        url : str
            The endpoint.
        source, symbol : str
            Named in error messages (``"fred"``, ``"WALCL"``).
        params, headers : mapping, optional
            Query parameters and extra headers.
        not_found : callable, optional
            Given a non-retryable error response, return True when it means "unknown
            symbol"; a :class:`ProviderSymbolError` is raised then. By default HTTP 404 does.

        Raises
        ------
        ProviderSymbolError
            The provider does not know ``symbol``.
        ProviderError
            Any other failure, after the last retry for transient ones.
        """
        host = urlsplit(url).hostname or ""
        policy = self.retry
        last_problem = ""
        for attempt in range(1, policy.attempts + 1):
            self.limiter(host).acquire()
            self.requests_made += 1
            retry_after: float | None = None
            try:
                resp = self._http.get(url, params=params, headers=headers)
            except httpx.TransportError as exc:
                kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "connection error"
                last_problem = f"{kind} ({type(exc).__name__}: {self.redact(str(exc))})"
            else:
                status = resp.status_code
                if status < 400:
                    return resp
                if status not in policy.retry_statuses:
                    snippet = self.redact(_body_snippet(resp))
                    msg = (
                        f"{source}: request for {symbol!r} failed with HTTP {status}"
                        f"{': ' + snippet if snippet else ''} ({self.redact(str(resp.url))})"
                    )
                    is_missing = not_found(resp) if not_found is not None else status == 404
                    if is_missing:
                        raise ProviderSymbolError(
                            f"{source} does not know symbol {symbol!r} (HTTP {status})"
                            f"{': ' + snippet if snippet else ''}"
                        )
                    raise ProviderError(msg)
                last_problem = f"HTTP {status}"
                retry_after = parse_retry_after(resp.headers.get("Retry-After"))
                if retry_after is not None and retry_after > policy.max_retry_after:
                    raise ProviderError(
                        f"{source}: request for {symbol!r} got HTTP {status} and was asked to "
                        f"retry after {retry_after:.0f} s (more than {policy.max_retry_after:.0f} "
                        f"s); try again later"
                    )
            if attempt == policy.attempts:
                break
            wait = policy.backoff(attempt, self._rng)
            if retry_after is not None:
                wait = max(wait, retry_after)
            self.sleep(wait)
        raise ProviderError(
            f"{source}: request for {symbol!r} failed after {policy.attempts} attempt(s); "
            f"last error: {last_problem}"
        )

    def get_json(self, url: str, *, source: str, symbol: str, **kwargs: Any) -> Any:
        """GET and decode a JSON body; a body that is not JSON raises :class:`ProviderError`."""
        resp = self.get(url, source=source, symbol=symbol, **kwargs)
        try:
            return resp.json()
        except ValueError:
            raise ProviderError(
                f"{source}: malformed response for {symbol!r}: body is not JSON "
                f"({self.redact(_body_snippet(resp))!r})"
            ) from None


def _body_snippet(resp: httpx.Response, limit: int = 200) -> str:
    """Return a short, single-line excerpt of a response body (JSON error fields if any)."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("error_message", "message", "description", "error"):
            val = data.get(key)
            if isinstance(val, str) and val:
                return " ".join(val.split())[:limit]
            if isinstance(val, dict):
                inner = val.get("description") or val.get("message")
                if isinstance(inner, str) and inner:
                    return " ".join(inner.split())[:limit]
        chart = data.get("chart")
        if isinstance(chart, dict) and isinstance(chart.get("error"), dict):
            inner = chart["error"].get("description")
            if isinstance(inner, str):
                return " ".join(inner.split())[:limit]
    try:
        text = resp.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return ""
    return " ".join(text.split())[:limit]


def call_with_retries(
    fn: Callable[[], T],
    *,
    source: str,
    symbol: str,
    is_transient: Callable[[BaseException], bool],
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    secrets: Iterable[str] = (),
) -> T:
    """Call ``fn`` with the retry policy of :class:`HttpClient`, for non-httpx clients.

    Parameters
    ----------
    fn : callable
        The call to make (no arguments).
    source, symbol : str
        Named in the error after the last attempt.
    is_transient : callable
        True for exceptions worth retrying; others are re-raised as :class:`ProviderError`
        at once.
    retry, sleep, rng, secrets
        Policy, sleep function, jitter generator and values to redact.
    """
    policy = retry or RetryPolicy()
    gen = rng or random.Random()
    last = ""
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except (ProviderError, InputError):
            raise
        except Exception as exc:
            text = redact(f"{type(exc).__name__}: {exc}", secrets)
            if not is_transient(exc):
                raise ProviderError(f"{source}: request for {symbol!r} failed: {text}") from None
            last = text
        if attempt < policy.attempts:
            sleep(policy.backoff(attempt, gen))
    raise ProviderError(
        f"{source}: request for {symbol!r} failed after {policy.attempts} attempt(s); "
        f"last error: {last}"
    )
