"""Bounded load test of the JSON API on loopback, with a cold and a warm read cache.

Starts uvicorn on 127.0.0.1 (a free port) over a synthetic store, then sends a fixed number of
read requests (default 200, all in flight at once, over a mix of endpoints, each on its own
connection), twice: the *cold* wave meets an empty read cache, the *warm* wave repeats the
same requests. Reports errors, p50/p99 latency and the ``X-Powderkeg-Cache`` answers of each,
and whether the warm wave meets its target (no errors, p50 under 500 ms).
Before the cold wave every endpoint is called once with an extra ``warmup`` parameter (a
different cache key), so the process is warm (imports, compiled kernels) and the cache of the
measured URLs is still empty. Stops by itself: the request count is fixed and the whole run
has a deadline.

    python benchmarks/bench_api_load.py [--requests 200] [--concurrency 200] [--deadline 120]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

URLS = [
    "/api/health",
    "/api/series",
    "/api/series/NVDA?start=2019-01-01",
    "/api/link/corr?a=BTC-USD&b=NVDA&window=30",
    "/api/link/corr?a=BTC-USD&b=^IXIC&window=60&method=spearman",
    "/api/link/leadlag?a=BTC-USD&b=NVDA&max_lag=5",
    "/api/liq/net",
    "/api/frame?symbols=BTC-USD,NVDA&start=2019-06-01",
]


def build_store(folder: Path) -> Path:
    from powderkeg.data.store import Store
    from powderkeg.synthetic import market

    path = folder / "bench.duckdb"
    with Store(path) as store:
        store.ingest(market(seed=5, years=4).series, source="synthetic", target="bench")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The warm wave's target: median latency in milliseconds (and no errors).
WARM_P50_MS = 500


@dataclass
class Wave:
    """Latencies, errors and cache answers of one wave of requests."""

    latencies: list[float]
    errors: int
    cache: Counter[str]
    wall: float

    @property
    def p50_ms(self) -> float:
        """Median latency in milliseconds."""
        return statistics.median(self.latencies) * 1000

    def report(self, name: str, concurrency: int) -> str:
        """One line: errors, p50, p99, max, throughput and the cache answers."""
        lat_ms = sorted(x * 1000 for x in self.latencies)
        p99 = lat_ms[min(len(lat_ms) - 1, round(0.99 * (len(lat_ms) - 1)))]
        answers = ", ".join(f"{k} {v}" for k, v in sorted(self.cache.items()))
        return (
            f"{name}: {len(lat_ms)} requests, {concurrency} concurrent, {self.errors} errors, "
            f"p50 {self.p50_ms:.0f} ms, p99 {p99:.0f} ms, max {lat_ms[-1]:.0f} ms, "
            f"{len(lat_ms) / self.wall:.0f} req/s over {self.wall:.2f} s (cache: {answers})"
        )


async def get(port: int, url: str) -> tuple[int, str]:
    """GET ``url`` on a new connection; return the status and the ``X-Powderkeg-Cache`` value.

    A plain HTTP/1.1 exchange on asyncio streams: a client that costs next to nothing, so
    the figures are the server's (httpx's pool spends more time per request than a cached
    answer takes, and shares this process with the server).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        target = quote(url, safe="/?&=,:")
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        await reader.read()  # the body, up to the server closing the connection
    finally:
        writer.close()
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
    return int(head[0].split(" ", 2)[1]), headers.get("x-powderkeg-cache", "uncached")


async def fire(port: int, urls: list[str], n: int, concurrency: int, deadline: float) -> Wave:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    cache: Counter[str] = Counter()
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        async with gate:
            t0 = time.perf_counter()
            try:
                status, answer = await get(port, urls[i % len(urls)])
                ok = status == 200
                cache[answer] += 1
            except (OSError, ValueError, asyncio.IncompleteReadError):
                ok = False
            latencies.append(time.perf_counter() - t0)
            errors += not ok

    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), timeout=deadline)
    return Wave(latencies, errors, cache, time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--deadline", type=float, default=120.0)
    args = parser.parse_args()

    import uvicorn

    from powderkeg.api.app import ApiSettings, create_app

    with tempfile.TemporaryDirectory() as tmp:
        db = build_store(Path(tmp))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(ApiSettings(db=str(db))),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                backlog=1024,
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            warmup = [f"{u}{'&' if '?' in u else '?'}warmup=1" for u in URLS]
            asyncio.run(fire(port, warmup, len(URLS), len(URLS), args.deadline))
            cold, warm = (
                asyncio.run(fire(port, URLS, args.requests, args.concurrency, args.deadline))
                for _ in range(2)
            )
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    met = warm.errors == 0 and warm.p50_ms < WARM_P50_MS
    print(f"API load over {len(URLS)} endpoints on loopback:")
    print("  " + cold.report("cold (empty cache)", args.concurrency))
    print("  " + warm.report("warm (same requests again)", args.concurrency))
    print(f"  warm target (0 errors, p50 < {WARM_P50_MS} ms): {'met' if met else 'NOT met'}")
    return 1 if cold.errors or warm.errors else 0


if __name__ == "__main__":
    sys.exit(main())
