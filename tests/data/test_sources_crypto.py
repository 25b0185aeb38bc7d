"""ccxt crypto source against recorded Coinbase responses replayed with ``responses``."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import responses

from powderkeg.data.sources.base import ProviderSymbolError, RetryPolicy
from powderkeg.data.sources.crypto import (
    CryptoSource,
    from_exchange_symbol,
    is_crypto_symbol,
    make_exchange,
    to_exchange_symbol,
)
from powderkeg.exceptions import InputError, ProviderError
from tests.data.test_sources_base import RECORDINGS, FakeTime

API = "https://api.coinbase.com"
CANDLES = re.compile(
    r"https://api\.coinbase\.com/api/v3/brokerage/market/products/([A-Z-]+)/candles"
)


def recording(name: str) -> str:
    return (RECORDINGS / "coinbase" / name).read_text()


def candle_window(request):  # type: ignore[no-untyped-def]
    """Serve the recorded candles inside [start, end], newest first, like the server."""
    q = parse_qs(urlsplit(request.url).query)
    start, end = int(q["start"][0]), int(q["end"][0])
    product = CANDLES.match(request.url).group(1)  # type: ignore[union-attr]
    if product != "BTC-USD":
        return (400, {}, json.dumps({"error": "INVALID_ARGUMENT", "message": "bad product"}))
    rows = json.loads(recording("candles_btc_usd.json"))["candles"]
    picked = [c for c in rows if start <= int(c["start"]) <= end]
    return (200, {"Content-Type": "application/json"}, json.dumps({"candles": picked}))


def register_markets(rs: responses.RequestsMock) -> None:
    q = responses.matchers.query_param_matcher
    for path, name in [
        ("/v2/currencies", "currencies.json"),
        ("/v2/currencies/crypto", "currencies_crypto.json"),
        ("/v2/exchange-rates", "exchange_rates.json"),
    ]:
        rs.get(API + path, body=recording(name), content_type="application/json")
    products = API + "/api/v3/brokerage/market/products"
    rs.get(
        products,
        body=recording("products_future.json"),
        match=[q({"product_type": "FUTURE"})],
        content_type="application/json",
    )
    rs.get(products, body=recording("products.json"), content_type="application/json")


@pytest.fixture()
def coinbase() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        register_markets(rs)
        rs.add_callback(responses.GET, CANDLES, callback=candle_window)
        yield rs


def fast_exchange() -> object:
    """ccxt's coinbase without its rate limiter (it would sleep ~0.2 s per replayed request)."""
    import ccxt

    return ccxt.coinbase({"enableRateLimit": False})


def coinbase_closes(shared_data: Path) -> dict[str, float]:
    path = shared_data / "raw" / "dylanlayden__finance-terminal" / "watch_btcusd.csv"
    with open(path, newline="") as fh:
        return {r["as_of"]: float(r["value"]) for r in csv.DictReader(fh)}


def test_symbol_mapping() -> None:
    assert to_exchange_symbol("btc-usd") == "BTC/USD"
    assert from_exchange_symbol("BTC/USD") == "BTC-USD"
    assert from_exchange_symbol("ETH/USDC:USDC") == "ETH-USDC"
    assert is_crypto_symbol("ETH-USD") and is_crypto_symbol("PEPE-USDT")
    assert not is_crypto_symbol("BRK-B") and not is_crypto_symbol("NVDA")
    with pytest.raises(InputError, match="BTC-USD"):
        to_exchange_symbol("BTCUSD")
    with pytest.raises(InputError, match="--exchange"):
        make_exchange("no-such-exchange")


def test_paginated_daily_candles(coinbase: responses.RequestsMock, shared_data: Path) -> None:
    src = CryptoSource("coinbase", page_limit=7, sleep=FakeTime().sleep, client=fast_exchange())
    data = src.fetch("BTC-USD", pd.Timestamp("2025-12-01"), pd.Timestamp("2025-12-29"))
    candle_calls = [c for c in coinbase.calls if "/candles" in c.request.url]
    assert len(candle_calls) == 5  # 29 days in pages of 7 candles
    starts = [int(parse_qs(urlsplit(c.request.url).query)["start"][0]) for c in candle_calls]
    assert starts == [
        int(pd.Timestamp(f"2025-12-{d:02d}", tz="UTC").timestamp()) for d in (1, 8, 15, 22, 29)
    ]
    ref = coinbase_closes(shared_data)
    days = list(data.frame.index.strftime("%Y-%m-%d"))
    assert days == [f"2025-12-{d:02d}" for d in range(1, 30)]
    assert all(data.frame.loc[d, "close"] == ref[d] for d in days)
    # open is the previous UTC day's close in the recording
    assert data.frame["open"].iloc[1:].tolist() == data.frame["close"].iloc[:-1].tolist()
    assert (data.frame["high"] >= data.frame[["open", "close"]].max(axis=1)).all()
    assert data.meta.unit == "USD" and data.meta.calendar == "24/7 UTC day"
    assert data.meta.source == "ccxt:coinbase" and data.meta.kind == "price"


def test_empty_windows_before_listing_are_skipped(coinbase: responses.RequestsMock) -> None:
    src = CryptoSource("coinbase", page_limit=10, sleep=FakeTime().sleep, client=fast_exchange())
    data = src.fetch("BTC-USD", pd.Timestamp("2025-11-01"), pd.Timestamp("2025-12-05"))
    assert data.frame.index[0] == pd.Timestamp("2025-12-01") and len(data) == 5


def test_unlisted_pair_is_input_error(coinbase: responses.RequestsMock) -> None:
    src = CryptoSource("coinbase", sleep=FakeTime().sleep, client=fast_exchange())
    with pytest.raises(ProviderSymbolError, match="does not list DOGE/USD") as info:
        src.fetch("DOGE-USD", pd.Timestamp("2025-12-01"))
    assert isinstance(info.value, InputError)


def test_503_is_retried_then_succeeds() -> None:
    ft = FakeTime()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        register_markets(rs)
        rs.get(CANDLES, status=503, body="Service Unavailable")
        rs.add_callback(responses.GET, CANDLES, callback=candle_window)
        src = CryptoSource(
            "coinbase",
            sleep=ft.sleep,
            retry=RetryPolicy(attempts=3),
            seed=0,
            client=fast_exchange(),
        )
        data = src.fetch("BTC-USD", pd.Timestamp("2025-12-20"), pd.Timestamp("2025-12-22"))
    assert len(data) == 3 and len(ft.sleeps) == 1 and 0.5 <= ft.sleeps[0] <= 1.0


def test_persistent_503_names_exchange_and_symbol() -> None:
    ft = FakeTime()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rs:
        register_markets(rs)
        rs.get(CANDLES, status=503, body="Service Unavailable")
        src = CryptoSource(
            "coinbase", sleep=ft.sleep, retry=RetryPolicy(attempts=3), client=fast_exchange()
        )
        with pytest.raises(ProviderError, match=r"ccxt:coinbase.*'BTC-USD'.*after 3 attempt"):
            src.fetch("BTC-USD", pd.Timestamp("2025-12-20"))
    assert len(ft.sleeps) == 2


class StubExchange:
    """A stand-in ccxt exchange returning a fixed fetch_ohlcv payload (ccxt itself drops
    undatable candles and swallows non-JSON bodies, so malformed output is injected here)."""

    def __init__(self, payload: object) -> None:
        self.payload = payload

    def load_markets(self) -> dict[str, object]:
        return {"BTC/USD": {}}

    def market(self, symbol: str) -> dict[str, object]:
        return {"symbol": symbol}

    def fetch_ohlcv(self, *args: object, **kwargs: object) -> object:
        return self.payload


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ({"candles": []}, "candles are not a list"),
        ([[None, 1.0, 2.0, 0.5, 1.5, 10.0]], "malformed candle for 'BTC-USD'"),
        ([[1764547200000, 1.0, 2.0]], "malformed candle for 'BTC-USD'"),
        ([[1764547200000, "x", 2.0, 0.5, 1.5, 10.0]], "malformed candle values"),
    ],
)
def test_malformed_candles_raise_provider_error(payload: object, match: str) -> None:
    src = CryptoSource("coinbase", client=StubExchange(payload), sleep=FakeTime().sleep)
    with pytest.raises(ProviderError, match=match):
        src.fetch("BTC-USD", pd.Timestamp("2025-12-01"), pd.Timestamp("2025-12-01"))
