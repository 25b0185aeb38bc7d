"""FRED (Federal Reserve Bank of St. Louis) macro series.

Two transports, chosen by whether an API key is available:

* the official API, ``https://api.stlouisfed.org/fred/series/observations`` (JSON), used when
  ``FRED_API_KEY`` is set (or ``api_key=`` is given); pages of 100,000 observations are
  followed with ``offset``;
* the keyless graph download, ``https://fred.stlouisfed.org/graph/fredgraph.csv?id=ID&cosd=START``
  otherwise (header ``observation_date,ID``, or ``DATE,ID`` in older files).

FRED writes ``"."`` for a missing observation (holidays in daily series); such rows are
dropped. Units, frequency and calendar of the series powderkeg uses are in
:data:`KNOWN_SERIES` (FRED does not put them in the observation payloads); unknown ids are
stored with an empty unit.

TGA
---
powderkeg's ``TGA`` is the *daily* Treasury General Account closing balance from the
Treasury's Daily Treasury Statement (USD millions). FRED does not publish that daily series:
it has the weekly H.4.1 figures ``WDTGAL`` (Wednesday level) and ``WTREGEN`` (week average),
both in USD millions. Filling ``TGA`` from either would silently mix a weekly series into a
daily one, so asking FRED for ``TGA`` raises :class:`ProviderSymbolError` pointing at those two
ids; update them under their own symbols (:func:`fred_id_for` documents the mapping).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from powderkeg.data.records import SeriesData, SeriesMeta
from powderkeg.data.sources.base import HttpClient, ProviderSymbolError
from powderkeg.exceptions import ProviderError

API_URL = "https://api.stlouisfed.org/fred/series/observations"
CSV_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv"
ENV_API_KEY = "FRED_API_KEY"
PAGE_LIMIT = 100_000
MISSING = frozenset({".", "", "NA", "#N/A"})


@dataclass(frozen=True)
class FredSeries:
    """Metadata of a known FRED series (not part of the observation payload)."""

    unit: str
    frequency: str
    calendar: str
    description: str


_BDAYS = "US federal business days"
#: Units and calendars of the FRED series powderkeg knows (values as FRED publishes them).
KNOWN_SERIES: dict[str, FredSeries] = {
    "WALCL": FredSeries("USD millions", "W-WED", "weekly, Wednesday level", "Fed total assets"),
    "WRESBAL": FredSeries("USD millions", "W-WED", "weekly average", "Reserve balances"),
    "WTREGEN": FredSeries(
        "USD millions", "W-WED", "weekly average", "Treasury General Account, week average"
    ),
    "WDTGAL": FredSeries(
        "USD millions", "W-WED", "weekly, Wednesday level", "Treasury General Account, Wednesday"
    ),
    "RRPONTSYD": FredSeries("USD billions", "B", _BDAYS, "Overnight reverse repo, Treasuries"),
    "M2SL": FredSeries("USD billions", "MS", "monthly", "M2, seasonally adjusted"),
    "WM2NS": FredSeries("USD billions", "W-MON", "weekly", "M2, weekly, not seasonally adjusted"),
    "DGS10": FredSeries("percent", "B", "US bond market days", "10-year Treasury yield"),
    "DGS2": FredSeries("percent", "B", "US bond market days", "2-year Treasury yield"),
    "EFFR": FredSeries("percent", "B", "US business days", "Effective federal funds rate"),
    "SOFR": FredSeries("percent", "B", "US business days", "Secured overnight financing rate"),
    "FEDFUNDS": FredSeries("percent", "MS", "monthly", "Federal funds rate, monthly average"),
    "T10Y2Y": FredSeries("percent", "B", "US bond market days", "10-year minus 2-year yield"),
    "BAMLH0A0HYM2": FredSeries("percent", "B", "US business days", "ICE BofA US high yield OAS"),
    "DTWEXBGS": FredSeries("index", "B", "US business days", "Nominal broad US dollar index"),
    "CPIAUCSL": FredSeries("index 1982-1984=100", "MS", "monthly", "CPI, all urban consumers"),
}

#: powderkeg symbols that FRED does not publish, with the FRED ids to use instead.
NOT_ON_FRED: dict[str, tuple[str, ...]] = {"TGA": ("WDTGAL", "WTREGEN")}


def fred_id_for(symbol: str) -> str:
    """Return the FRED id to request for a powderkeg symbol.

    Raises
    ------
    ProviderSymbolError
        For ``TGA``: the daily Treasury statement balance is not on FRED; the message names
        ``WDTGAL`` (Wednesday level) and ``WTREGEN`` (week average), both USD millions.
    """
    key = symbol.upper()
    if key in NOT_ON_FRED:
        alts = " or ".join(NOT_ON_FRED[key])
        raise ProviderSymbolError(
            f"fred does not publish {symbol!r} (the daily Treasury General Account balance from "
            f"the Daily Treasury Statement); FRED only has the weekly H.4.1 series {alts} "
            f"(USD millions): update those symbols instead"
        )
    return key


class FredSource:
    """Fetch FRED series through the API (with a key) or the keyless CSV download.

    Parameters
    ----------
    client : HttpClient
        The shared HTTP client.
    api_key : str, optional
        FRED API key; defaults to ``$FRED_API_KEY``. Without one the CSV download is used.
        The key is registered with the client so it is redacted from every message.
    page_limit : int, default 100000
        Observations per API request (FRED's maximum); further pages follow ``offset``.
    """

    label = "fred"

    def __init__(
        self, client: HttpClient, api_key: str | None = None, *, page_limit: int = PAGE_LIMIT
    ) -> None:
        self.client = client
        self.page_limit = page_limit
        key = api_key if api_key is not None else os.environ.get(ENV_API_KEY, "")
        self._api_key = key.strip()
        if self._api_key:
            client.add_secret(self._api_key)

    @property
    def uses_api(self) -> bool:
        """True when requests go to the official API (an API key is set)."""
        return bool(self._api_key)

    def fetch(
        self, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None = None
    ) -> SeriesData:
        """Return the observations of ``symbol`` between ``start`` and ``end`` (inclusive).

        Raises
        ------
        ProviderSymbolError
            FRED does not know the series (or it is ``TGA``, see the module notes).
        ProviderError
            Network failure after retries, or a malformed payload.
        """
        series_id = fred_id_for(symbol)
        if self.uses_api:
            dates, values = self._fetch_api(series_id, start, end)
        else:
            dates, values = self._fetch_csv(series_id, start, end)
        frame = pd.DataFrame({"value": values}, index=pd.DatetimeIndex(dates, name="date"))
        frame = frame[~frame.index.duplicated(keep="last")].sort_index()
        if start is not None:
            frame = frame.loc[frame.index >= start]
        if end is not None:
            frame = frame.loc[frame.index <= end]
        info = KNOWN_SERIES.get(series_id)
        meta = SeriesMeta(
            symbol=symbol,
            kind="macro",
            unit=info.unit if info else "",
            frequency=info.frequency if info else "",
            calendar=info.calendar if info else "",
            source=self.label,
            description=f"FRED {series_id}" + (f": {info.description}" if info else ""),
        )
        return SeriesData(meta, frame)

    # ------------------------------------------------------------------ API (JSON)
    def _fetch_api(
        self, series_id: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> tuple[list[pd.Timestamp], list[float]]:
        dates: list[pd.Timestamp] = []
        values: list[float] = []
        offset = 0
        while True:
            params: dict[str, str | int] = {
                "series_id": series_id,
                "api_key": self._api_key,
                "file_type": "json",
                "sort_order": "asc",
                "limit": self.page_limit,
                "offset": offset,
            }
            if start is not None:
                params["observation_start"] = start.strftime("%Y-%m-%d")
            if end is not None:
                params["observation_end"] = end.strftime("%Y-%m-%d")
            payload = self.client.get_json(
                API_URL, source=self.label, symbol=series_id, params=params, not_found=_api_missing
            )
            obs = payload.get("observations") if isinstance(payload, dict) else None
            if not isinstance(obs, list):
                raise ProviderError(
                    f"fred: malformed response for {series_id!r}: no 'observations' list"
                )
            for i, row in enumerate(obs):
                if not isinstance(row, dict) or "date" not in row or "value" not in row:
                    raise ProviderError(
                        f"fred: malformed response for {series_id!r}: observation {offset + i} "
                        f"lacks 'date' or 'value'"
                    )
                dates.append(_parse_date(row["date"], series_id, f"observation {offset + i}"))
                values.append(_parse_value(row["value"], series_id, f"observation {offset + i}"))
            count = payload.get("count")
            offset += len(obs)
            if not obs or not isinstance(count, int) or offset >= count:
                return dates, values

    # ------------------------------------------------------------------ CSV (keyless)
    def _fetch_csv(
        self, series_id: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> tuple[list[pd.Timestamp], list[float]]:
        params = {"id": series_id}
        if start is not None:
            params["cosd"] = start.strftime("%Y-%m-%d")
        if end is not None:
            params["coed"] = end.strftime("%Y-%m-%d")
        resp = self.client.get(CSV_URL, source=self.label, symbol=series_id, params=params)
        text = resp.text.lstrip("\ufeff")
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise ProviderError(f"fred: malformed response for {series_id!r}: empty CSV")
        header = [h.strip() for h in rows[0]]
        if (
            len(header) != 2
            or header[0].lower() not in ("observation_date", "date")
            or header[1].upper() != series_id
        ):
            raise ProviderError(
                f"fred: malformed response for {series_id!r}: expected a CSV header "
                f"'observation_date,{series_id}', got {','.join(header)[:80]!r}"
            )
        dates: list[pd.Timestamp] = []
        values: list[float] = []
        for lineno, row in enumerate(rows[1:], start=2):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != 2:
                raise ProviderError(
                    f"fred: malformed response for {series_id!r}: CSV line {lineno} has "
                    f"{len(row)} fields"
                )
            dates.append(_parse_date(row[0], series_id, f"CSV line {lineno}"))
            values.append(_parse_value(row[1], series_id, f"CSV line {lineno}"))
        return dates, values


def _api_missing(resp: object) -> bool:
    """FRED answers HTTP 400 "The series does not exist." for unknown ids."""
    status = getattr(resp, "status_code", 0)
    text = getattr(resp, "text", "")
    return status == 404 or (status == 400 and "does not exist" in str(text))


def _parse_date(text: object, series_id: str, where: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(str(text).strip())
    except ValueError:
        ts = None
    if ts is None or pd.isna(ts):
        raise ProviderError(
            f"fred: malformed response for {series_id!r}: bad date {text!r} at {where}"
        )
    return ts.normalize()


def _parse_value(text: object, series_id: str, where: str) -> float:
    s = str(text).strip()
    if s in MISSING:
        return np.nan
    try:
        return float(s)
    except ValueError:
        raise ProviderError(
            f"fred: malformed response for {series_id!r}: bad value {s[:30]!r} at {where}"
        ) from None
