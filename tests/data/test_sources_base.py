"""HTTP plumbing of the live sources: rate limiting, retries, redaction, typed errors."""

from __future__ import annotations

import logging
import random
import socket
import time
import traceback
from pathlib import Path

import httpx
import pytest
import respx
from pytest_socket import SocketBlockedError, SocketConnectBlockedError

from powderkeg.data.sources.base import (
    HttpClient,
    ProviderSymbolError,
    RateLimiter,
    RetryPolicy,
    call_with_retries,
    parse_retry_after,
    redact,
)
from powderkeg.exceptions import InputError, ProviderError

RECORDINGS = Path(__file__).parent / "recordings"
URL = "https://api.example.org/v1/series"


class FakeTime:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(ft: FakeTime, attempts: int = 4, **kw: object) -> HttpClient:
    """An HttpClient whose sleeps are recorded instead of waited (rates high: no throttling)."""
    return HttpClient(
        retry=RetryPolicy(attempts=attempts, base_delay=1.0, max_delay=30.0),
        rates={"api.example.org": 1000.0},
        sleep=ft.sleep,
        clock=ft.clock,
        seed=0,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_suite_refuses_real_network() -> None:
    # addopts combine --disable-socket with --allow-hosts=localhost: pytest-socket then
    # blocks connect() to any other host with SocketConnectBlockedError (SocketBlockedError
    # when sockets are disabled without an allow-list)
    with pytest.raises((SocketBlockedError, SocketConnectBlockedError)):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    client = HttpClient(retry=RetryPolicy(attempts=1))
    with pytest.raises((SocketBlockedError, SocketConnectBlockedError)):
        client.get("http://93.184.216.34/", source="test", symbol="X")
    client.close()


def test_redact_removes_key_parameters_and_literal_secrets() -> None:
    url = "https://api.stlouisfed.org/fred/x?series_id=WALCL&api_key=abcd1234secret&file_type=json"
    assert redact(url) == (
        "https://api.stlouisfed.org/fred/x?series_id=WALCL&api_key=***&file_type=json"
    )
    assert redact("token: zz99 and TOKEN=yy88") == "token: *** and TOKEN=***"
    assert redact("the key abcd1234secret leaked", ["abcd1234secret"]) == "the key *** leaked"


def test_backoff_is_exponential_with_bounded_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    rng = random.Random(3)
    for retry, cap in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        waits = [policy.backoff(retry, rng) for _ in range(200)]
        assert min(waits) >= cap / 2 and max(waits) <= cap
        assert max(waits) - min(waits) > cap / 4  # jitter actually spreads the waits


def test_retry_policy_rejects_zero_attempts() -> None:
    with pytest.raises(InputError, match="attempts"):
        RetryPolicy(attempts=0)


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=now) == pytest.approx(30.0)
    assert parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now=now) == 0.0


def test_token_bucket_spaces_requests_at_its_rate() -> None:
    ft = FakeTime()
    bucket = RateLimiter(2.0, burst=2, clock=ft.clock, sleep=ft.sleep)
    for _ in range(6):
        bucket.acquire()
    # two tokens in the bucket, then one every 0.5 s
    assert ft.sleeps == pytest.approx([0.5, 0.5, 0.5, 0.5])
    ft.now += 10.0  # idle time refills the bucket up to its burst only
    bucket.acquire()
    bucket.acquire()
    bucket.acquire()
    assert ft.sleeps[-1] == pytest.approx(0.5) and len(ft.sleeps) == 5


def test_rate_limiter_is_per_host() -> None:
    ft = FakeTime()
    client = HttpClient(rates={"a.org": 1.0, "b.org": 1.0}, sleep=ft.sleep, clock=ft.clock)
    with respx.mock() as router:
        router.get(url__regex=r"https://(a|b)\.org/.*").mock(return_value=httpx.Response(200))
        client.get("https://a.org/x", source="t", symbol="S")
        client.get("https://b.org/x", source="t", symbol="S")
        assert ft.sleeps == []
        client.get("https://a.org/y", source="t", symbol="S")
    assert ft.sleeps == pytest.approx([1.0])
    client.close()


def test_429_then_success_honours_retry_after() -> None:
    ft = FakeTime()
    client = make_client(ft)
    with respx.mock() as router:
        route = router.get(URL).mock(
            side_effect=[
                httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"),
                httpx.Response(200, json={"ok": 1}),
            ]
        )
        assert client.get_json(URL, source="test", symbol="WALCL") == {"ok": 1}
    assert route.call_count == 2
    assert ft.sleeps == [7.0]  # the server's wait, longer than the 0.5-1 s backoff


def test_timeouts_and_connection_errors_are_retried() -> None:
    ft = FakeTime()
    client = make_client(ft)
    with respx.mock() as router:
        route = router.get(URL).mock(
            side_effect=[
                httpx.ConnectTimeout("timed out"),
                httpx.ConnectError("connection refused"),
                httpx.Response(200, json=[1, 2]),
            ]
        )
        assert client.get_json(URL, source="test", symbol="X") == [1, 2]
    assert route.call_count == 3
    assert len(ft.sleeps) == 2
    assert 0.5 <= ft.sleeps[0] <= 1.0 and 1.0 <= ft.sleeps[1] <= 2.0


def test_persistent_5xx_raises_naming_source_symbol_status_and_attempts() -> None:
    ft = FakeTime()
    client = make_client(ft, attempts=4)
    with respx.mock() as router:
        route = router.get(URL).mock(return_value=httpx.Response(503, text="unavailable"))
        with pytest.raises(ProviderError) as info:
            client.get(URL, source="fred", symbol="WALCL")
    msg = str(info.value)
    assert "fred" in msg and "'WALCL'" in msg and "HTTP 503" in msg and "4 attempt" in msg
    assert route.call_count == 4 and len(ft.sleeps) == 3
    assert not isinstance(info.value, InputError)


def test_too_long_retry_after_fails_at_once() -> None:
    ft = FakeTime()
    client = make_client(ft)
    with respx.mock() as router:
        route = router.get(URL).mock(
            return_value=httpx.Response(429, headers={"Retry-After": "3600"})
        )
        with pytest.raises(ProviderError, match="retry after 3600 s"):
            client.get(URL, source="yahoo", symbol="NVDA")
    assert route.call_count == 1 and ft.sleeps == []


def test_404_is_an_input_error_and_400_a_provider_error_without_retries() -> None:
    ft = FakeTime()
    client = make_client(ft)
    with respx.mock() as router:
        router.get(URL).mock(
            side_effect=[
                httpx.Response(404, json={"message": "no such series"}),
                httpx.Response(400, json={"error_message": "Bad Request.  Variable x is bad."}),
            ]
        )
        with pytest.raises(ProviderSymbolError, match=r"does not know symbol 'ZZZ'.*no such"):
            client.get(URL, source="test", symbol="ZZZ")
        with pytest.raises(ProviderError, match=r"HTTP 400: Bad Request. Variable x is bad"):
            client.get(URL, source="test", symbol="ZZZ")
    assert sum(ft.sleeps) < 0.01  # only the 1000/s rate limiter, no backoff


def test_malformed_json_raises_provider_error() -> None:
    client = make_client(FakeTime())
    with respx.mock() as router:
        router.get(URL).mock(return_value=httpx.Response(200, text="<html>maintenance</html>"))
        with pytest.raises(ProviderError, match=r"malformed response for 'WALCL'.*not JSON"):
            client.get_json(URL, source="fred", symbol="WALCL")


def test_api_key_never_appears_in_errors_or_httpx_logs(caplog: pytest.LogCaptureFixture) -> None:
    key = "f00dfeedcafe1234"
    ft = FakeTime()
    client = make_client(ft, attempts=2, secrets={key})
    caplog.set_level(logging.INFO, logger="httpx")
    with respx.mock() as router:
        router.get(URL).mock(
            side_effect=[
                httpx.ConnectError(f"failed for {URL}?api_key={key}"),
                httpx.Response(400, text=f"bad key {key} in request"),
                httpx.Response(500, text="oops"),
                httpx.Response(500, text="oops"),
            ]
        )
        with pytest.raises(ProviderError) as first:
            client.get(URL, source="fred", symbol="WALCL", params={"api_key": key})
        with pytest.raises(ProviderError) as second:
            client.get(URL, source="fred", symbol="WALCL", params={"api_key": key})
    for exc in (first.value, second.value):
        assert key not in str(exc) and key not in repr(exc)
        # nor in the traceback --debug would print (chained exceptions included)
        assert key not in "".join(traceback.format_exception(exc))
    assert "***" in str(second.value) or "***" in str(first.value)
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in logged and key not in logged


def test_call_with_retries_retries_transient_and_wraps_others() -> None:
    ft = FakeTime()
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionError("reset")
        return "ok"

    out = call_with_retries(
        flaky,
        source="ccxt:coinbase",
        symbol="BTC-USD",
        is_transient=lambda e: isinstance(e, ConnectionError),
        retry=RetryPolicy(attempts=3),
        sleep=ft.sleep,
        rng=random.Random(1),
    )
    assert out == "ok" and calls["n"] == 3 and len(ft.sleeps) == 2

    def broken() -> str:
        raise KeyError("secret-token-value")

    with pytest.raises(ProviderError, match=r"ccxt:coinbase.*'BTC-USD'.*KeyError: '\*\*\*'"):
        call_with_retries(
            broken,
            source="ccxt:coinbase",
            symbol="BTC-USD",
            is_transient=lambda e: False,
            sleep=ft.sleep,
            secrets=["secret-token-value"],
        )


def test_real_sleep_is_not_used_by_injected_clients() -> None:
    # a 3-attempt 503 sequence with base_delay 1 s would take >= 1.5 s of real sleep
    client = make_client(FakeTime(), attempts=3)
    t0 = time.perf_counter()
    with respx.mock() as router:
        router.get(URL).mock(return_value=httpx.Response(503))
        with pytest.raises(ProviderError):
            client.get(URL, source="t", symbol="S")
    assert time.perf_counter() - t0 < 1.0
