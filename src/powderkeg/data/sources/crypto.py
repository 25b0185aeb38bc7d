"""Crypto exchanges through ccxt (extra ``live``): daily OHLCV with pagination.

Symbols are stored Yahoo-style (``BTC-USD``) and requested in ccxt's unified form
(``BTC/USD``); :func:`to_exchange_symbol` and :func:`from_exchange_symbol` convert. Candles
are UTC days (``timeframe='1d'``), so the series uses the "24/7 UTC day" calendar; the last
candle may be the current, unfinished day and is re-fetched by the next update.

Pagination: ``fetch_ohlcv(symbol, '1d', since, limit)`` returns at most ``limit`` candles
from ``since`` (Coinbase returns the candles inside the window ``[since, since + limit
days]``, newest first; ccxt sorts them). The cursor moves past the last candle returned,
or by a whole window when a window is empty (before a pair was listed), until it passes
``end``. ccxt's network errors and rate-limit errors are retried with the same policy as
the HTTP sources; other exchange errors fail at once. ccxt's own rate limiter
(``enableRateLimit``) spaces the requests.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from powderkeg.data.records import PRICE_FIELDS, SeriesData, SeriesMeta
from powderkeg.data.sources.base import ProviderSymbolError, RetryPolicy, call_with_retries
from powderkeg.exceptions import InputError, ProviderError

DEFAULT_EXCHANGE = "coinbase"
#: First day fetched for a pair that is not stored yet (Coinbase BTC-USD starts 2015-07-20).
DEFAULT_START = pd.Timestamp("2015-01-01")
DAY_MS = 86_400_000
#: Quote currencies that mark a Yahoo-style symbol as a crypto pair (``BTC-USD``).
QUOTES = ("USD", "USDT", "USDC", "EUR", "GBP", "BTC", "ETH")
_CRYPTO_BASES = frozenset(
    {"BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "LTC", "BCH", "AVAX", "DOT", "LINK", "USDT",
     "USDC", "BNB", "TRX", "XLM", "MATIC", "POL", "SHIB", "UNI", "ATOM", "ETC", "FIL", "NEAR"}
)  # fmt: skip


def is_crypto_symbol(symbol: str) -> bool:
    """Return True for Yahoo-style crypto pairs such as ``BTC-USD`` or ``ETH-USDT``.

    Examples
    --------
    >>> is_crypto_symbol("BTC-USD"), is_crypto_symbol("NVDA"), is_crypto_symbol("BRK-B")
    (True, False, False)
    """
    parts = symbol.upper().split("-")
    return (
        len(parts) == 2
        and parts[1] in QUOTES
        and (parts[0] in _CRYPTO_BASES or parts[1] in ("USDT", "USDC"))
    )


def to_exchange_symbol(symbol: str) -> str:
    """Convert ``BTC-USD`` to ccxt's unified ``BTC/USD``.

    Raises
    ------
    InputError
        If the symbol is not of the form ``BASE-QUOTE``.
    """
    parts = symbol.strip().upper().split("-")
    if len(parts) != 2 or not all(parts):
        raise InputError(f"crypto symbol must look like BTC-USD, got {symbol!r}")
    return f"{parts[0]}/{parts[1]}"


def from_exchange_symbol(symbol: str) -> str:
    """Convert ccxt's ``BTC/USD`` (or ``BTC/USD:USD`` for swaps) to ``BTC-USD``."""
    base, _, rest = symbol.partition("/")
    quote = rest.split(":")[0]
    if not base or not quote:
        raise InputError(f"ccxt symbol must look like BTC/USD, got {symbol!r}")
    return f"{base.upper()}-{quote.upper()}"


def make_exchange(exchange_id: str) -> Any:
    """Instantiate the ccxt exchange ``exchange_id`` with its rate limiter enabled.

    Raises
    ------
    ImportError
        If ccxt is missing (install the ``live`` extra).
    InputError
        If ccxt has no exchange of that name.
    """
    try:
        import ccxt
    except ImportError as exc:  # pragma: no cover - ccxt is in the dev environment
        raise ImportError("crypto updates need ccxt: pip install 'powderkeg[live]'") from exc
    if exchange_id not in ccxt.exchanges:
        raise InputError(
            f"--exchange: ccxt has no exchange {exchange_id!r} (e.g. coinbase, kraken, binance)"
        )
    return getattr(ccxt, exchange_id)({"enableRateLimit": True, "timeout": 30_000})


def _is_transient(exc: BaseException) -> bool:
    import ccxt

    return isinstance(exc, (ccxt.NetworkError, ccxt.RateLimitExceeded))


class CryptoSource:
    """Fetch daily candles of crypto pairs from one exchange through ccxt.

    Parameters
    ----------
    exchange : str, default "coinbase"
        ccxt exchange id.
    retry : RetryPolicy, optional
        Retry settings for network and rate-limit errors.
    sleep : callable, default time.sleep
        Sleep between retries (tests inject a fake).
    page_limit : int, default 300
        Candles asked for per request (Coinbase's maximum is 300).
    client : object, optional
        A ready ccxt exchange instance (default: :func:`make_exchange`).
    """

    def __init__(
        self,
        exchange: str = DEFAULT_EXCHANGE,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_limit: int = 300,
        client: Any = None,
        seed: int | None = None,
    ) -> None:
        self.exchange_id = exchange
        self.label = f"ccxt:{exchange}"
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.page_limit = page_limit
        self._rng = random.Random(seed)
        self._exchange = client if client is not None else make_exchange(exchange)
        self._markets_loaded = False

    def _call(self, fn: Callable[[], Any], symbol: str) -> Any:
        return call_with_retries(
            fn,
            source=self.label,
            symbol=symbol,
            is_transient=_is_transient,
            retry=self.retry,
            sleep=self.sleep,
            rng=self._rng,
        )

    def _market(self, symbol: str) -> str:
        import ccxt

        pair = to_exchange_symbol(symbol)
        if not self._markets_loaded:
            self._call(self._exchange.load_markets, symbol)
            self._markets_loaded = True
        try:
            self._exchange.market(pair)
        except ccxt.BadSymbol:
            raise ProviderSymbolError(
                f"{self.label} does not list {pair} (asked for {symbol!r})"
            ) from None
        return pair

    def _page(self, pair: str, since: int) -> Any:
        return self._exchange.fetch_ohlcv(pair, "1d", since=since, limit=self.page_limit)

    def fetch(
        self, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None = None
    ) -> SeriesData:
        """Return daily candles of ``symbol`` (``BTC-USD``) from ``start`` to ``end``.

        Raises
        ------
        ProviderSymbolError
            The exchange does not list the pair.
        ProviderError
            Network failure after retries, an exchange error, or a malformed candle.
        """
        pair = self._market(symbol)
        first = DEFAULT_START if start is None else pd.Timestamp(start)
        last = pd.Timestamp.now(tz="UTC").tz_localize(None) if end is None else pd.Timestamp(end)
        cursor = int(first.tz_localize("UTC").timestamp() * 1000)
        stop = int(last.normalize().tz_localize("UTC").timestamp() * 1000)
        rows: list[list[Any]] = []
        while cursor <= stop:
            batch = self._call(functools.partial(self._page, pair, cursor), symbol)
            if not isinstance(batch, list):
                raise ProviderError(
                    f"{self.label}: malformed response for {symbol!r}: candles are not a list"
                )
            if not batch:
                cursor += self.page_limit * DAY_MS
                continue
            rows.extend(batch)
            newest = _timestamp(batch[-1], symbol, self.label)
            cursor = max(cursor + DAY_MS, newest + DAY_MS)
        frame = _candles_frame(rows, symbol, self.label)
        frame = frame.loc[(frame.index >= first.normalize()) & (frame.index <= last.normalize())]
        quote = to_exchange_symbol(symbol).split("/")[1]
        meta = SeriesMeta(
            symbol=symbol,
            kind="price",
            unit=quote,
            frequency="D",
            calendar="24/7 UTC day",
            source=self.label,
            description=f"{self.exchange_id} {pair} daily candles (UTC days) via ccxt",
        )
        return SeriesData(meta, frame)


def _timestamp(candle: Any, symbol: str, label: str) -> int:
    if not isinstance(candle, (list, tuple)) or len(candle) < 6 or candle[0] is None:
        raise ProviderError(f"{label}: malformed candle for {symbol!r}: {str(candle)[:80]}")
    try:
        return int(candle[0])
    except (TypeError, ValueError):
        raise ProviderError(
            f"{label}: malformed candle for {symbol!r}: {str(candle)[:80]}"
        ) from None


def _candles_frame(rows: list[list[Any]], symbol: str, label: str) -> pd.DataFrame:
    stamps = [_timestamp(r, symbol, label) for r in rows]
    try:
        values = np.array(
            [[np.nan if v is None else float(v) for v in r[1:6]] for r in rows], dtype=np.float64
        ).reshape(len(rows), 5)
    except (TypeError, ValueError):
        raise ProviderError(f"{label}: malformed candle values for {symbol!r}") from None
    index = pd.DatetimeIndex(
        pd.to_datetime(np.asarray(stamps, dtype=np.int64), unit="ms").normalize(), name="date"
    )
    frame = pd.DataFrame(values, index=index, columns=list(PRICE_FIELDS))
    return frame[~frame.index.duplicated(keep="last")].sort_index()
