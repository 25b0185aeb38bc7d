"""Incremental, cache-first updates of stored series from FRED, Yahoo Finance and ccxt.

:func:`update` resolves the symbols (universe names expand; an empty list means every stored
series of the chosen source), picks a source per symbol, fetches only what is new and writes
everything in **one** :meth:`~powderkeg.data.store.Store.ingest` transaction: if any fetch
fails, nothing is written.

Source per symbol (unless ``source=`` is given):

1. a series stored from a live source keeps it (``fred``, ``yahoo``, ``ccxt:<exchange>``);
2. known FRED ids (:data:`~powderkeg.data.sources.fred.KNOWN_SERIES`, and ``TGA``, which
   FRED refuses with a pointer to ``WDTGAL``/``WTREGEN``) go to FRED;
3. crypto pairs such as ``BTC-USD`` go to the crypto exchange (``exchange=``);
4. everything else goes to Yahoo Finance. Other FRED ids need ``source="fred"`` once; later
   updates remember it through rule 1.

Incremental window: without ``since``, a stored series is re-fetched from
:data:`REVISION_DAYS` days before its last stored date, so late revisions are picked up
(the store counts a re-fetched row as updated only when a value changed). A series whose
last date is today, or that was already updated today from the same source, is up to date
and costs no request. Series unknown to the store are fetched in full.

Crypto pairs are fetched from ``exchange=`` (default Coinbase) even when the stored series came
from another exchange; the series' ``source`` then records the exchange of the last update.

Units: when a stored series has a unit and the provider's differs, values are converted if
both are monetary scales (``USD billions`` to ``USD millions``); otherwise the update fails
instead of mixing units in one series. A provider that reports no unit inherits the stored
one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from powderkeg._validation import check_option, optional_date
from powderkeg.data import units
from powderkeg.data.records import SeriesData
from powderkeg.data.sources.base import HttpClient, LiveSource
from powderkeg.data.sources.crypto import DEFAULT_EXCHANGE, is_crypto_symbol
from powderkeg.data.sources.fred import KNOWN_SERIES, NOT_ON_FRED
from powderkeg.data.store import IngestReport, Store
from powderkeg.data.universe import UNIVERSES
from powderkeg.exceptions import InputError, ProviderError
from powderkeg.results import Provenance

SOURCES = ("fred", "yahoo", "crypto")
#: Trailing days re-fetched before the last stored date to catch revisions.
REVISION_DAYS = 7

Progress = Callable[[int, int, str], None]


def source_kind(label: str | None) -> str | None:
    """Map a stored provenance label to a source kind (``"ccxt:coinbase"`` -> ``"crypto"``)."""
    if not label:
        return None
    if label in ("fred", "yahoo"):
        return label
    if label.startswith("ccxt:"):
        return "crypto"
    return None


def infer_source(symbol: str, stored_label: str | None = None) -> str:
    """Return the source kind for ``symbol`` (see the module notes for the rules).

    Examples
    --------
    >>> [infer_source(s) for s in ("WALCL", "BTC-USD", "NVDA", "^IXIC")]
    ['fred', 'crypto', 'yahoo', 'yahoo']
    """
    kind = source_kind(stored_label)
    if kind is not None:
        return kind
    up = symbol.upper()
    if up in KNOWN_SERIES or up in NOT_ON_FRED:
        return "fred"
    if is_crypto_symbol(up):
        return "crypto"
    return "yahoo"


def update(
    store: Store,
    symbols: Sequence[str],
    *,
    source: str | None = None,
    since: str | None = None,
    exchange: str = DEFAULT_EXCHANGE,
    progress: Progress | None = None,
    client: HttpClient | None = None,
    today: Any = None,
    crypto_client: Any = None,
) -> IngestReport:
    """Fetch new observations and write them in one transaction.

    Parameters
    ----------
    store : Store
        A writable store.
    symbols : sequence of str
        Symbols or universe names (``liquidity``, ``ai``...). Empty: every stored series whose
        source matches ``source`` (any live source if ``source`` is None).
    source : {"fred", "yahoo", "crypto"}, optional
        Force one source for every symbol (default: per symbol, see the module notes).
    since : str, optional
        Fetch from this date (overrides the incremental window and the up-to-date check).
    exchange : str, default "coinbase"
        ccxt exchange id for crypto symbols.
    progress : callable, optional
        Called as ``progress(done, total, symbol)`` after each symbol.
    client : HttpClient, optional
        The HTTP client (default: a new one, closed at the end). Its retry policy and sleep
        function are also used for the crypto exchange.
    today : date-like, optional
        The current date (UTC) for the up-to-date check; tests pin it.
    crypto_client : object, optional
        A ready ccxt exchange instance (default: created from ``exchange``).

    Returns
    -------
    IngestReport
        Counts per series; ``provenance.parameters`` lists the sources used, the symbols that
        were already up to date and those skipped.

    Raises
    ------
    InputError
        Bad arguments, or a symbol the provider does not know (CLI exit code 2).
    ProviderError
        A fetch failed after its retries (nothing is written).
    """
    if source is not None:
        check_option(source, "--source", SOURCES)
    start_override = optional_date(since, "--since")
    if not exchange or not exchange.strip():
        raise InputError("--exchange must name a ccxt exchange, e.g. coinbase")
    now = optional_date(today, "today") or pd.Timestamp(dt.datetime.now(dt.UTC).date())
    info = store.list_series()
    plan, skipped = _resolve(symbols, source, info)

    own_client = client is None
    http = client if client is not None else HttpClient()
    sources: dict[str, LiveSource] = {}
    batches: list[SeriesData] = []
    fetched: list[dict[str, Any]] = []
    up_to_date: list[str] = []
    try:
        total = len(plan)
        for i, (sym, kind) in enumerate(plan, start=1):
            stored = _row(info, sym)
            start = start_override
            if start is None and stored is not None and pd.notna(stored["last_date"]):
                if _is_current(stored, kind, exchange, now):
                    up_to_date.append(sym)
                    if progress is not None:
                        progress(i, total, sym)
                    continue
                start = pd.Timestamp(stored["last_date"]) - pd.Timedelta(days=REVISION_DAYS)
            src = _source_for(kind, sources, http, exchange, crypto_client)
            batch = src.fetch(sym, start, None)
            if stored is None and len(batch) == 0:
                raise ProviderError(f"{src.label}: no observations for {sym!r}")
            batches.append(_reconcile_units(batch, stored))
            fetched.append(
                {
                    "symbol": sym,
                    "source": src.label,
                    "requested_from": None if start is None else start.date().isoformat(),
                    "rows": len(batch),
                    "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
            )
            if progress is not None:
                progress(i, total, sym)
    finally:
        if own_client:
            http.close()

    labels = sorted({f["source"] for f in fetched})
    label = "+".join(labels) if labels else (source or "update")
    target = " ".join(b.meta.symbol for b in batches) or "(nothing to fetch)"
    report = store.ingest(batches, source=label, target=target)
    report.provenance = Provenance(
        sources=fetched,
        parameters={
            "symbols": [s for s, _ in plan],
            "source": source,
            "since": None if start_override is None else start_override.date().isoformat(),
            "exchange": exchange,
            "up_to_date": up_to_date,
            "skipped": skipped,
        },
    )
    return report


def _resolve(
    symbols: Sequence[str], source: str | None, info: pd.DataFrame
) -> tuple[list[tuple[str, str]], list[dict[str, str]]]:
    """Return ``[(symbol, kind)]`` to update and the universe members skipped (with why)."""
    stored_labels: dict[str, str] = {
        str(k): str(v) for k, v in info["source"].items() if isinstance(v, str)
    }
    skipped: list[dict[str, str]] = []
    if not symbols:
        chosen = [
            s
            for s, lab in stored_labels.items()
            if (source_kind(lab) == source if source else source_kind(lab) is not None)
        ]
        if not chosen:
            which = f"from source {source!r}" if source else "from a live source"
            raise InputError(
                f"no stored series {which}; name the symbols to update, e.g. "
                f"'powderkeg data update WALCL --source fred'"
            )
        return [(s, source or infer_source(s, stored_labels[s])) for s in chosen], skipped
    plan: list[tuple[str, str]] = []
    seen: set[str] = set()
    for item in symbols:
        if not item or not item.strip():
            raise InputError("symbols must be non-empty strings")
        members = UNIVERSES.get(item.lower())
        from_universe = members is not None
        for raw in members if members is not None else (item.strip(),):
            sym = raw if raw in stored_labels else raw.upper()
            if sym in seen:
                continue
            seen.add(sym)
            kind = source or infer_source(sym, stored_labels.get(sym))
            if from_universe and kind == "fred" and sym in NOT_ON_FRED:
                alts = ", ".join(NOT_ON_FRED[sym])
                skipped.append({"symbol": sym, "reason": f"not published by FRED (use {alts})"})
                continue
            plan.append((sym, kind))
    return plan, skipped


def _row(info: pd.DataFrame, symbol: str) -> dict[str, Any] | None:
    """Return the stored metadata of ``symbol`` as a dict, or None if it is not stored."""
    if symbol not in info.index:
        return None
    return {str(k): v for k, v in info.loc[symbol].items()}


def _is_current(stored: dict[str, Any], kind: str, exchange: str, now: pd.Timestamp) -> bool:
    """Return True when the stored series needs no request today."""
    if pd.Timestamp(stored["last_date"]) >= now:
        return True
    label = f"ccxt:{exchange}" if kind == "crypto" else kind
    updated = stored.get("updated_at")
    return (
        stored["source"] == label
        and updated is not None
        and pd.notna(updated)
        and pd.Timestamp(updated).normalize() == now
    )


def _source_for(
    kind: str,
    cache: dict[str, LiveSource],
    http: HttpClient,
    exchange: str,
    crypto_client: Any,
) -> LiveSource:
    if kind not in cache:
        if kind == "fred":
            from powderkeg.data.sources.fred import FredSource

            cache[kind] = FredSource(http)
        elif kind == "yahoo":
            from powderkeg.data.sources.yahoo import YahooSource

            cache[kind] = YahooSource(http)
        else:
            from powderkeg.data.sources.crypto import CryptoSource

            cache[kind] = CryptoSource(
                exchange, retry=http.retry, sleep=http.sleep, client=crypto_client, seed=http.seed
            )
    return cache[kind]


def _reconcile_units(batch: SeriesData, stored: dict[str, Any] | None) -> SeriesData:
    """Keep one unit per series: convert to the stored unit, inherit it, or refuse."""
    if stored is None:
        return batch
    old = str(stored["unit"] or "")
    new = batch.meta.unit
    if not old or old == new:
        return batch
    if not new:
        return SeriesData(replace(batch.meta, unit=old), batch.frame)
    if units.convertible(new, old):
        f = units.factor(new, old)
        frame = batch.frame.copy()
        for col in frame.columns:
            if col != "volume":
                frame[col] = frame[col] * f
        return SeriesData(replace(batch.meta, unit=old), frame)
    raise ProviderError(
        f"{batch.meta.source}: {batch.meta.symbol!r} comes in {new!r} but is stored in {old!r}; "
        f"refusing to mix units in one series"
    )
