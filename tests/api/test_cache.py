"""The read cache: hits, keys, invalidation by imports, no errors kept, one computation."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi import HTTPException, Response
from fastapi.testclient import TestClient

from powderkeg.api.app import ApiSettings, create_app
from powderkeg.api.cache import CACHE_HEADER, CachedRead, ReadCache, cache_key
from powderkeg.data.records import SeriesData, SeriesMeta
from powderkeg.data.store import Store
from powderkeg.exceptions import InputError
from tests.api.conftest import TOKEN, auth

CORR = "/api/link/corr?a=BTC-USD&b=NVDA&window=30"


def answer(client: TestClient, url: str) -> tuple[int, str | None, bytes]:
    r = client.get(url)
    return r.status_code, r.headers.get(CACHE_HEADER), r.content


def ingest(client: TestClient, *batches: SeriesData) -> None:
    """Import through the server's own store (as an import or update would)."""
    store: Store = client.app.state.runtime["store"]  # type: ignore[attr-defined]
    with store.thread_view() as view:
        view.ingest(list(batches), source="test", target="test")


def price(symbol: str, dates: list[str], closes: list[float]) -> SeriesData:
    frame = pd.DataFrame({"close": closes}, index=pd.DatetimeIndex(pd.to_datetime(dates)))
    return SeriesData(SeriesMeta(symbol, kind="price", unit="USD"), frame)


class TestHits:
    def test_second_identical_read_is_a_hit_with_the_same_bytes(self, reader: TestClient) -> None:
        first = reader.get(CORR)
        second = reader.get(CORR)
        assert first.status_code == second.status_code == 200
        assert (first.headers[CACHE_HEADER], second.headers[CACHE_HEADER]) == ("miss", "hit")
        assert second.content == first.content
        assert second.json() == first.json()
        for name in ("content-type", "content-length"):
            assert second.headers[name] == first.headers[name]

    def test_hit_is_the_uncached_answer(self, store_path: Path, reader: TestClient) -> None:
        url = "/api/series/NVDA?start=2019-06-01"
        reader.get(url)
        hit = reader.get(url)
        assert hit.headers[CACHE_HEADER] == "hit"
        # a server whose cache keeps nothing computes every answer afresh
        with TestClient(create_app(ApiSettings(db=str(store_path), cache_bytes=0))) as fresh:
            uncached = fresh.get(url)
            assert uncached.headers[CACHE_HEADER] == "miss"
            assert fresh.get(url).headers[CACHE_HEADER] == "miss"
        assert hit.content == uncached.content

    @pytest.mark.parametrize(
        "url",
        [
            "/api/series",
            "/api/series/NVDA",
            "/api/frame?symbols=BTC-USD,NVDA&start=2019-06-01",
            "/api/link/leadlag?a=BTC-USD&b=NVDA&max_lag=5",
            "/api/liq/net?start=2019-01-01",
            "/api/bubble/psy?symbol=NVDA&freq=W&cv=none",
        ],
    )
    def test_read_endpoints_are_cached(self, reader: TestClient, url: str) -> None:
        assert answer(reader, url)[:2] == (200, "miss")
        assert answer(reader, url)[:2] == (200, "hit")

    def test_same_parameters_in_another_order_or_spelling_share_a_key(
        self, reader: TestClient
    ) -> None:
        reader.get("/api/link/corr?a=BTC-USD&b=^IXIC&window=60&method=spearman")
        for url in (
            "/api/link/corr?method=spearman&window=60&b=^IXIC&a=BTC-USD",
            "/api/link/corr?a=BTC-USD&b=%5EIXIC&window=60&method=spearman",
        ):
            assert answer(reader, url)[1] == "hit", url

    @pytest.mark.parametrize(
        "other",
        [
            "/api/link/corr?a=BTC-USD&b=NVDA&window=60",
            "/api/link/corr?a=NVDA&b=BTC-USD&window=30",
            "/api/link/corr?a=BTC-USD&b=NVDA&window=30&method=kendall",
            "/api/link/corr?a=BTC-USD&b=NVDA&window=30&asof=2019-06-28",
        ],
    )
    def test_different_parameters_are_different_keys(self, reader: TestClient, other: str) -> None:
        _, state, body = answer(reader, CORR)
        assert state == "miss"
        status, state, other_body = answer(reader, other)
        assert (status, state) == (200, "miss")
        assert other_body != body
        assert answer(reader, CORR)[1] == "hit"

    def test_order_of_a_repeated_parameter_is_part_of_the_key(self, reader: TestClient) -> None:
        ab = "/api/link/dcc?symbols=BTC-USD&symbols=NVDA&start=2019-01-01"
        ba = "/api/link/dcc?symbols=NVDA&symbols=BTC-USD&start=2019-01-01"
        assert answer(reader, ab)[:2] == (200, "miss")
        assert answer(reader, ba)[:2] == (200, "miss")


class TestInvalidation:
    def test_import_between_two_reads_shows_the_new_symbol(self, writer: TestClient) -> None:
        before = writer.get("/api/series").json()
        assert writer.get("/api/series").headers[CACHE_HEADER] == "hit"
        ingest(writer, price("NEWCO", ["2019-01-02", "2019-01-03"], [10.0, 11.0]))
        after = writer.get("/api/series")
        assert after.headers[CACHE_HEADER] == "miss"
        assert "NEWCO" not in str(before)
        assert "NEWCO" in after.text

    def test_update_between_two_reads_shows_the_changed_value(self, writer: TestClient) -> None:
        url = "/api/series/NVDA?start=2019-06-03&end=2019-06-07"
        rows = writer.get(url).json()["observations"]
        day, close = rows[-1]["date"], rows[-1]["close"]
        assert writer.get(url).headers[CACHE_HEADER] == "hit"
        ingest(writer, price("NVDA", [day], [close + 1.0]))
        after = writer.get(url)
        assert after.headers[CACHE_HEADER] == "miss"
        assert after.json()["observations"][-1]["close"] == pytest.approx(close + 1.0)

    def test_import_through_the_api_invalidates(self, store_path: Path, tmp_path: Path) -> None:
        allowed = tmp_path / "imports"
        allowed.mkdir()
        (allowed / "new.csv").write_text("date,close\n2019-01-02,1.0\n2019-01-03,1.1\n")
        settings = ApiSettings(db=str(store_path), token=TOKEN, import_dir=allowed)
        with TestClient(create_app(settings)) as client:
            client.get("/api/series")
            assert client.get("/api/series").headers[CACHE_HEADER] == "hit"
            r = client.post(
                "/api/data/import", json={"paths": ["new.csv"], "symbol": "NEWX"}, headers=auth()
            )
            assert r.status_code == 201, r.text
            assert CACHE_HEADER not in r.headers
            after = client.get("/api/series")
            assert after.headers[CACHE_HEADER] == "miss"
            assert "NEWX" in after.text

    def test_failed_import_keeps_the_cache(self, writer: TestClient) -> None:
        writer.get(CORR)
        with pytest.raises(InputError, match="stored as kind"):
            ingest(
                writer,
                SeriesData(
                    SeriesMeta("NVDA", kind="macro"),
                    pd.DataFrame({"value": [1.0]}, index=pd.DatetimeIndex(["2019-01-02"])),
                ),
            )
        assert writer.get(CORR).headers[CACHE_HEADER] == "hit"

    def test_a_new_day_invalidates(
        self, reader: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # answers may default to today (energy mining-vs-ai without asof)
        url = "/api/energy/mining-vs-ai?btc_price=100000&difficulty=150"
        reader.get(url)
        assert reader.get(url).headers[CACHE_HEADER] == "hit"

        class Tomorrow(dt.date):
            @classmethod
            def today(cls) -> Tomorrow:
                day = dt.date.today() + dt.timedelta(days=1)
                return cls(day.year, day.month, day.day)

        monkeypatch.setattr("powderkeg.api.app.dt", SimpleNamespace(date=Tomorrow))
        assert reader.get(url).headers[CACHE_HEADER] == "miss"


class TestNotCached:
    @pytest.mark.parametrize(
        ("url", "status"),
        [
            ("/api/link/corr?a=BTC-USD&b=NOPE", 404),
            ("/api/link/corr?a=BTC-USD&b=NVDA&method=magic", 422),
            ("/api/link/corr?a=BTC-USD&b=NVDA&calendar=NOPE", 422),
            ("/api/bubble/psy?symbol=NVDA&freq=W&cv=mc&reps=100&seed=5", 409),
        ],
    )
    def test_errors_are_not_cached(self, reader: TestClient, url: str, status: int) -> None:
        cache: ReadCache = reader.app.state.runtime["cache"]  # type: ignore[attr-defined]
        first = reader.get(url)
        second = reader.get(url)
        assert first.status_code == second.status_code == status
        assert CACHE_HEADER not in first.headers and CACHE_HEADER not in second.headers
        assert first.json() == second.json()
        assert len(cache) == 0

    def test_missing_symbol_answers_once_imported(self, writer: TestClient) -> None:
        url = "/api/series/LATER"
        assert writer.get(url).status_code == 404
        ingest(writer, price("LATER", ["2019-01-02"], [5.0]))
        assert answer(writer, url)[:2] == (200, "miss")

    @pytest.mark.parametrize("url", ["/api/health", "/api/jobs", "/api/stress/scenarios"])
    def test_other_reads_are_answered_afresh(self, reader: TestClient, url: str) -> None:
        for _ in range(2):
            r = reader.get(url)
            assert r.status_code == 200
            assert CACHE_HEADER not in r.headers

    def test_jobs_are_not_cached(self, writer: TestClient) -> None:
        body = {"symbol": "NVDA", "freq": "W", "reps": 20, "seed": 1}
        first = writer.post("/api/jobs/bubble/psy", json=body, headers=auth())
        second = writer.post("/api/jobs/bubble/psy", json=body, headers=auth())
        assert first.status_code == second.status_code == 202
        assert first.json()["id"] != second.json()["id"]
        for r in (first, second, writer.get(first.headers["location"])):
            assert CACHE_HEADER not in r.headers

    def test_only_get_routes_can_be_cached(self) -> None:
        with pytest.raises(ValueError, match="only GET"):
            CachedRead("/x", lambda: None, methods=["POST"])


def test_concurrent_identical_reads_compute_once(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from powderkeg.service import link

    calls: list[str] = []
    original = link.leadlag

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(link, "leadlag", counted)
    app = create_app(ApiSettings(db=str(store_path)))

    async def run() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                url = "/api/link/leadlag?a=BTC-USD&b=NVDA&max_lag=5"
                return list(await asyncio.gather(*(client.get(url) for _ in range(20))))

    responses = asyncio.run(run())
    assert calls == ["BTC-USD"]
    assert {r.status_code for r in responses} == {200}
    assert sorted(r.headers[CACHE_HEADER] for r in responses) == ["hit"] * 19 + ["miss"]
    assert len({r.content for r in responses}) == 1


# ------------------------------------------------------------------------------ ReadCache


class Version:
    """A version the tests change by hand."""

    def __init__(self) -> None:
        self.value = 1
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.value


def ok(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def run_answers(cache: ReadCache, *calls: tuple[str, Any]) -> list[Response]:
    async def main() -> list[Response]:
        return list(await asyncio.gather(*(cache.answer(key, c) for key, c in calls)))

    return asyncio.run(main())


@pytest.fixture()
def version() -> Iterator[Version]:
    yield Version()


def test_cache_key_normalises_the_query() -> None:
    assert cache_key("/p", b"b=1&a=2") == cache_key("/p", b"a=2&b=1")
    assert cache_key("/p", b"b=%5EX") == cache_key("/p", b"b=^X")
    assert cache_key("/p", b"s=A&s=B") != cache_key("/p", b"s=B&s=A")
    assert cache_key("/p", b"s=A&t=1&s=B") == cache_key("/p", b"t=1&s=A&s=B")
    assert cache_key("/p", b"a=1") != cache_key("/q", b"a=1")
    assert cache_key("/p", b"a=") != cache_key("/p", b"")


def test_version_change_drops_every_entry(version: Version) -> None:
    cache = ReadCache(version)

    async def one() -> Response:
        return ok(b"1")

    assert run_answers(cache, ("k", one))[0].headers[CACHE_HEADER] == "miss"
    assert run_answers(cache, ("k", one))[0].headers[CACHE_HEADER] == "hit"
    version.value = 2
    assert run_answers(cache, ("k", one))[0].headers[CACHE_HEADER] == "miss"
    assert len(cache) == 1


def test_concurrent_calls_share_one_version_read(version: Version) -> None:
    cache = ReadCache(version)

    async def one() -> Response:
        return ok(b"1")

    run_answers(cache, *[(f"k{i}", one) for i in range(50)])
    assert version.reads == 1
    run_answers(cache, ("k0", one))
    assert version.reads == 2


def test_exception_reaches_every_waiting_call_and_is_not_kept(version: Version) -> None:
    cache = ReadCache(version)
    calls = 0

    async def failing() -> Response:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise HTTPException(404, "no such thing")

    async def main() -> list[Any]:
        tasks = [cache.answer("k", failing) for _ in range(5)]
        return list(await asyncio.gather(*tasks, return_exceptions=True))

    outcomes = asyncio.run(main())
    assert calls == 1
    assert all(isinstance(o, HTTPException) and o.status_code == 404 for o in outcomes)
    assert len(cache) == 0
    with pytest.raises(HTTPException):
        run_answers(cache, ("k", failing))
    assert calls == 2


def test_non_200_answers_are_not_kept(version: Version) -> None:
    cache = ReadCache(version)

    async def accepted() -> Response:
        return Response(b"{}", status_code=202)

    first, second = run_answers(cache, ("k", accepted), ("k", accepted))
    assert first.status_code == second.status_code == 202
    assert len(cache) == 0


def test_least_recently_used_entries_go_first(version: Version) -> None:
    cache = ReadCache(version, max_entries=2, max_bytes=10)

    def body(data: bytes) -> Any:
        async def compute() -> Response:
            return ok(data)

        return compute

    run_answers(cache, ("a", body(b"aaa")))
    run_answers(cache, ("b", body(b"bbb")))
    run_answers(cache, ("a", body(b"aaa")))  # a is now the most recent
    run_answers(cache, ("c", body(b"ccc")))  # over max_entries: b goes
    assert [r.headers[CACHE_HEADER] for r in run_answers(cache, ("a", body(b"")))] == ["hit"]
    assert [r.headers[CACHE_HEADER] for r in run_answers(cache, ("b", body(b"bbb")))] == ["miss"]
    assert len(cache) == 2 and cache.size_bytes <= 10
    run_answers(cache, ("big", body(b"x" * 11)))  # larger than max_bytes: never kept
    assert len(cache) == 2
    run_answers(cache, ("d", body(b"dddddddd")))  # over max_bytes: the oldest go
    assert cache.size_bytes <= 10
    assert [r.headers[CACHE_HEADER] for r in run_answers(cache, ("d", body(b"")))] == ["hit"]
