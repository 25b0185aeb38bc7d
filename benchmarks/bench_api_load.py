"""Bounded load test of the JSON API on loopback.

Starts uvicorn on 127.0.0.1 (a free port) over a synthetic store, then sends a fixed number of
read requests (default 200, all in flight at once, over a mix of endpoints) with httpx's
AsyncClient, and reports errors plus p50/p99 latency. Stops by itself: the request count is
fixed and the whole run has a deadline.

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
from pathlib import Path

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


async def fire(base: str, n: int, concurrency: int, deadline: float) -> tuple[list[float], int]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    errors = 0

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=deadline) as client:

        async def one(i: int) -> None:
            nonlocal errors
            async with gate:
                t0 = time.perf_counter()
                try:
                    r = await client.get(URLS[i % len(URLS)])
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - t0)
                errors += not ok

        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(n))), timeout=deadline)
    return latencies, errors


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
            base = f"http://127.0.0.1:{port}"
            asyncio.run(fire(base, len(URLS), len(URLS), args.deadline))  # warm-up
            t0 = time.perf_counter()
            lat, errors = asyncio.run(fire(base, args.requests, args.concurrency, args.deadline))
            wall = time.perf_counter() - t0
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    lat_ms = sorted(x * 1000 for x in lat)
    p50 = statistics.median(lat_ms)
    p99 = lat_ms[min(len(lat_ms) - 1, round(0.99 * (len(lat_ms) - 1)))]
    print(
        f"API load: {len(lat_ms)} requests, {args.concurrency} concurrent, {errors} errors, "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {lat_ms[-1]:.0f} ms, "
        f"{len(lat_ms) / wall:.0f} req/s over {wall:.1f} s"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
