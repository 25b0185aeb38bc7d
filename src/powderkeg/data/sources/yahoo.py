"""Yahoo Finance daily bars from the chart endpoint ``/v8/finance/chart/{symbol}``.

Why not yfinance
----------------
yfinance (extra ``live``) fetches daily bars from this same endpoint. It is not used here
because it cannot be driven honestly from recorded responses: it talks through a
``curl_cffi`` session (browser TLS impersonation) that ``respx``/``responses`` cannot
intercept; a plain ``requests`` session is accepted, but yfinance then performs its own
cookie-and-crumb handshake (``fc.yahoo.com``, ``/v1/test/getcrumb``, consent pages), keeps
a process-wide singleton session and writes a timezone cache to the user's disk. A
recording of that exchange would test yfinance's internals rather than powderkeg, and
would break whenever they change. Calling the chart endpoint with ``httpx`` keeps one
transport for every live source (the same rate limiter, retries, redaction and error
messages) and lets the tests replay the real JSON format with ``respx``.

The price of that choice: Yahoo sometimes throttles clients that do not look like a
browser (HTTP 429); those responses are retried with backoff like any other 429 and end in
a :class:`~powderkeg.exceptions.ProviderError` naming the symbol when they persist.

Adjustment
----------
Like ``yfinance``'s default ``auto_adjust=True`` (and the Yahoo files in the reference data),
open/high/low/close are scaled by ``adjclose / close`` so the series is split- and
dividend-adjusted; volume is left as reported. Because dividend adjustment rescales the
whole history at each ex-date, an incremental update only rewrites the re-fetched window:
older stored rows keep the previous scale (a small seam). Re-fetch with an early ``since``
to rebuild a series on one scale.

Dates are the exchange's local session dates (``meta.exchangeTimezoneName``); Yahoo's
crypto pairs (``BTC-USD``) are dated by UTC day. A bar for the current, unfinished session
may be included; the next update re-fetches it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd

from powderkeg.data.records import PRICE_FIELDS, SeriesData, SeriesMeta
from powderkeg.data.sources.base import HttpClient, ProviderSymbolError
from powderkeg.exceptions import ProviderError

CHART_URL = "https://query2.finance.yahoo.com/v8/finance/chart/{symbol}"
#: Yahoo answers bare API clients with HTTP 429 more often; it serves a browser-like agent.
BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
_EXCHANGE_CALENDARS = {
    "NMS": "XNAS sessions",
    "NGM": "XNAS sessions",
    "NCM": "XNAS sessions",
    "NIM": "XNAS sessions",
    "NAS": "XNAS sessions",
    "NYQ": "XNYS sessions",
    "PCX": "XNYS sessions",
    "ASE": "XNYS sessions",
    "SNP": "XNYS sessions",
    "CXI": "XNYS sessions",
    "CCC": "24/7 UTC day",
}


class YahooSource:
    """Fetch daily OHLCV bars of Yahoo-style symbols (``NVDA``, ``^IXIC``, ``BTC-USD``).

    Parameters
    ----------
    client : HttpClient
        The shared HTTP client.
    adjust : bool, default True
        Scale open/high/low/close by ``adjclose / close`` (split and dividend adjusted).
    """

    label = "yahoo"

    def __init__(self, client: HttpClient, *, adjust: bool = True) -> None:
        self.client = client
        self.adjust = adjust

    def fetch(
        self, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None = None
    ) -> SeriesData:
        """Return daily bars of ``symbol`` from ``start`` to ``end`` (inclusive).

        Raises
        ------
        ProviderSymbolError
            Yahoo does not know the symbol.
        ProviderError
            Network failure after retries, or a malformed payload.
        """
        period1 = 0 if start is None else int(pd.Timestamp(start).tz_localize("UTC").timestamp())
        stop = pd.Timestamp.now(tz="UTC").normalize() if end is None else pd.Timestamp(end)
        period2 = int(
            (stop.tz_localize(None) + pd.Timedelta(days=2)).tz_localize("UTC").timestamp()
        )
        params = {
            "period1": period1,
            "period2": period2,
            "interval": "1d",
            "includePrePost": "false",
            "events": "div,splits",
        }
        payload = self.client.get_json(
            CHART_URL.format(symbol=quote(symbol, safe="")),
            source=self.label,
            symbol=symbol,
            params=params,
            headers={"User-Agent": BROWSER_UA},
        )
        meta_json, frame = parse_chart(payload, symbol, adjust=self.adjust)
        if start is not None:
            frame = frame.loc[frame.index >= start]
        if end is not None:
            frame = frame.loc[frame.index <= end]
        return SeriesData(_meta(symbol, meta_json, self.label, self.adjust), frame)


def parse_chart(
    payload: Any, symbol: str, *, adjust: bool = True
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Parse a ``/v8/finance/chart`` JSON document into its ``meta`` and a bar frame.

    Parameters
    ----------
    payload : object
        The decoded JSON.
    symbol : str
        The requested symbol (for messages).
    adjust : bool, default True
        Apply ``adjclose / close`` to open/high/low/close.

    Returns
    -------
    meta : dict
        Yahoo's ``meta`` block (currency, exchange, timezone...).
    frame : DataFrame
        Date-indexed float64 ``open, high, low, close, volume``.
    """
    chart = payload.get("chart") if isinstance(payload, dict) else None
    if not isinstance(chart, dict):
        raise ProviderError(f"yahoo: malformed response for {symbol!r}: no 'chart' object")
    err = chart.get("error")
    if err:
        desc = err.get("description", "") if isinstance(err, dict) else str(err)
        code = err.get("code", "") if isinstance(err, dict) else ""
        if str(code).lower() == "not found":
            raise ProviderSymbolError(f"yahoo does not know symbol {symbol!r}: {desc}")
        raise ProviderError(f"yahoo: error for {symbol!r}: {code} {desc}".rstrip())
    results = chart.get("result")
    if not isinstance(results, list) or not results or not isinstance(results[0], dict):
        raise ProviderError(f"yahoo: malformed response for {symbol!r}: empty 'chart.result'")
    res = results[0]
    raw_meta = res.get("meta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    stamps = res.get("timestamp") or []
    if not stamps:  # no bars in the requested window
        return meta, _empty_frame()
    try:
        quote_block = res["indicators"]["quote"][0]
        columns = {f: _column(quote_block[f], len(stamps)) for f in PRICE_FIELDS}
        adjclose = None
        if adjust and res["indicators"].get("adjclose"):
            adjclose = _column(res["indicators"]["adjclose"][0]["adjclose"], len(stamps))
        ts = np.asarray(stamps, dtype=np.int64)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ProviderError(
            f"yahoo: malformed response for {symbol!r}: bad 'indicators' block ({exc})"
        ) from None
    tz = meta.get("exchangeTimezoneName") or "UTC"
    try:
        local = pd.to_datetime(ts, unit="s", utc=True).tz_convert(tz)
    except (KeyError, ValueError):
        raise ProviderError(
            f"yahoo: malformed response for {symbol!r}: bad timezone {tz!r}"
        ) from None
    index = pd.DatetimeIndex(local.tz_localize(None).normalize(), name="date")
    frame = pd.DataFrame(columns, index=index)
    if adjclose is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = adjclose / frame["close"].to_numpy()
        ratio = np.where(np.isfinite(ratio), ratio, 1.0)
        for f in ("open", "high", "low", "close"):
            frame[f] = frame[f].to_numpy() * ratio
    frame = frame[~frame.index.duplicated(keep="last")].sort_index()
    return meta, frame


def _column(values: Any, n: int) -> np.ndarray:
    if not isinstance(values, list) or len(values) != n:
        raise ValueError(f"expected a list of {n} values")
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _empty_frame() -> pd.DataFrame:
    index = pd.DatetimeIndex([], name="date")
    return pd.DataFrame({f: pd.Series(dtype="float64") for f in PRICE_FIELDS}, index=index)


def _meta(symbol: str, meta: dict[str, Any], label: str, adjust: bool) -> SeriesMeta:
    itype = str(meta.get("instrumentType", "")).upper()
    exch = str(meta.get("exchangeName", ""))
    unit = "index points" if itype == "INDEX" else str(meta.get("currency") or "")
    crypto = itype == "CRYPTOCURRENCY" or exch == "CCC"
    calendar = _EXCHANGE_CALENDARS.get(exch) or (
        f"{meta.get('fullExchangeName') or exch} sessions" if exch else ""
    )
    name = meta.get("longName") or meta.get("shortName") or symbol
    adj = "split and dividend adjusted" if adjust else "unadjusted"
    return SeriesMeta(
        symbol=symbol,
        kind="price",
        unit=unit,
        frequency="D" if crypto else "B",
        calendar=calendar,
        source=label,
        description=f"Yahoo Finance daily bars of {name}, {adj}",
    )
