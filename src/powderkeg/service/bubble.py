"""Bubble commands (``powderkeg bubble ...``, ``GET /api/bubble/...``) as functions of a store.

PSY, LPPLS and the signal backtest test one stored series (a universe name is refused); the
gauge reads its own basket of series. The cost helpers (:func:`psy_work`, :func:`lppls_fits`)
let a server refuse runs larger than it allows before they start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from powderkeg.exceptions import PowderkegError

if TYPE_CHECKING:
    import pandas as pd

    from powderkeg.data.store import Store
    from powderkeg.parallel import ProgressCallback
    from powderkeg.results import Result


class CriticalValuesNotCachedError(PowderkegError):
    """PSY critical values were asked for without simulation and are not in the store."""


class _CacheOnly:
    """The store as a critical-value cache that never simulates: a miss raises."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def cache_get(self, namespace: str, key: str) -> Any:
        """Return the cached payload or raise :class:`CriticalValuesNotCachedError`."""
        found = self._store.cache_get(namespace, key)
        if found is None:
            raise CriticalValuesNotCachedError(namespace)
        return found

    def cache_put(self, namespace: str, key: str, payload: Any) -> None:
        """Do nothing (a read never writes)."""


def _psy_series(
    store: Store, symbol: str, freq: str, start: str | None, asof: str | None, log: bool
) -> tuple[pd.Series, pd.Series]:
    """Return ``(y, price)``: the (log) series PSY tests and its price levels.

    Reads the symbol's main value (close for prices) up to ``asof``, resamples to ``freq``
    with :func:`powderkeg.data.calendars.resample` and cuts at ``start``.
    """
    import numpy as np
    import pandas as pd

    from powderkeg._validation import check_option, optional_date
    from powderkeg.data import calendars
    from powderkeg.exceptions import InputError, InsufficientDataError
    from powderkeg.service._inputs import stored_series

    check_option(freq.upper(), "--freq", ("D", "W", "M"))
    s, e = optional_date(start, "--start"), optional_date(asof, "--asof")
    values = stored_series(store, symbol, e)
    price = pd.Series(calendars.resample(values, freq.upper()), name=symbol)
    if s is not None:
        price = price.loc[price.index >= s]
    if len(price) < 20:
        raise InsufficientDataError(
            f"{symbol} has {len(price)} observations in the chosen range; PSY needs at least 20"
        )
    if not log:
        return price.copy(), price
    if bool((price <= 0).any()):
        raise InputError(f"{symbol} has non-positive values; use --no-log")
    return pd.Series(np.log(price.to_numpy()), index=price.index, name=symbol), price


def psy_work(
    store: Store,
    symbol: str,
    *,
    freq: str = "D",
    min_window: int | None = None,
    lags: int = 0,
    ic: str | None = None,
    trend: str = "c",
    start: str | None = None,
    asof: str | None = None,
    log: bool = True,
) -> int:
    """Number of ADF regressions one BSADF sequence of these settings needs.

    ``n_points * (n_points + 1) / 2`` windows, times ``lags + 1`` when the lag order is chosen
    per window; a Monte Carlo or bootstrap run costs ``reps`` times as much.
    """
    from powderkeg.bubbles.bsadf import PsySettings

    y, _ = _psy_series(store, symbol, freq, start, asof, log)
    settings = PsySettings.build(len(y), min_window=min_window, lags=lags, trend=trend, ic=ic)
    n = settings.n_points
    return n * (n + 1) // 2 * (lags + 1 if ic else 1)


def psy(
    store: Store,
    symbol: str,
    *,
    freq: str = "D",
    min_window: int | None = None,
    lags: int = 0,
    ic: str | None = None,
    trend: str = "c",
    cv: str = "mc",
    reps: int = 2000,
    seed: int = 1,
    level: str = "95%",
    min_duration: int | None = None,
    start: str | None = None,
    asof: str | None = None,
    log: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    simulate: bool = True,
) -> Result:
    """PSY GSADF test with BSADF date-stamping of one series (``bubble psy``).

    Critical values are cached in ``store`` (it must be writable); with ``simulate=False``
    they are only read back from it, and a miss raises
    :class:`CriticalValuesNotCachedError` instead of starting a Monte Carlo run.
    """
    from powderkeg._validation import check_int, check_option
    from powderkeg.bubbles.psy import GSADF

    check_option(cv, "--cv", ("mc", "wild", "none"))
    check_int(workers, "--workers", minimum=1)
    check_int(reps, "--reps", minimum=10)
    if ic is not None:
        check_option(ic.lower(), "--ic", ("aic", "bic"))
    y, price = _psy_series(store, symbol, freq, start, asof, log)
    test = GSADF(y, min_window=min_window, lags=lags, trend=trend, ic=ic)
    result = test.fit(
        None if cv == "none" else cv,
        reps=reps,
        seed=seed,
        level=level,
        min_duration=min_duration,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        store=store if simulate else _CacheOnly(store),
        price=price,
        sources=store.provenance([symbol]),
    )
    result.provenance.parameters.update(
        {"symbol": symbol, "freq": freq.upper(), "log": log, "workers": workers}
    )
    return result


def lppls_fits(window: int, smallest: int, step: int, days: int, outer_step: int) -> int:
    """LPPLS fits a confidence-indicator run needs (end dates x nested windows)."""
    ends = -(-days // outer_step)
    nested = max(0, (window - smallest) // step + 1)
    return ends * nested


def lppls(
    store: Store,
    symbol: str,
    *,
    end: str | None = None,
    confidence: bool = False,
    window: int = 120,
    smallest: int = 30,
    step: int = 5,
    days: int = 60,
    outer_step: int = 1,
    n_starts: int = 4,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
) -> Result:
    """LPPLS fit of the last ``window`` prices, or the confidence indicator (``bubble lppls``)."""
    from powderkeg._validation import check_int, optional_date
    from powderkeg.bubbles.lppls import LPPLS, confidence_indicator
    from powderkeg.service._inputs import stored_series

    check_int(workers, "--workers", minimum=1)
    check_int(window, "--window", minimum=12)
    price = stored_series(store, symbol, optional_date(end, "--end"))
    sources = store.provenance([symbol])
    result: Any
    if confidence:
        result = confidence_indicator(
            price,
            window=window,
            smallest=smallest,
            step=step,
            days=days,
            outer_step=outer_step,
            seed=seed,
            n_starts=n_starts,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            sources=sources,
        )
    else:
        result = LPPLS(price.iloc[-window:]).fit(seed=seed, n_starts=n_starts, sources=sources)
    result.provenance.parameters.update({"symbol": symbol})
    out: Result = result
    return out


def parse_weights(text: str | None) -> dict[str, float]:
    """Parse gauge weight overrides written ``name=value,name=value``."""
    from powderkeg.exceptions import InputError

    out: dict[str, float] = {}
    if not text:
        return out
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep:
            raise InputError(f"--weights expects name=value pairs, got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"--weights: {value!r} is not a number") from None
    return out


def gauge(
    store: Store,
    *,
    asof: str | None = None,
    fundamentals: str | None = None,
    weights: str | None = None,
    psy: bool = True,
    reps: int = 499,
    lppls_days: int = 5,
    seed: int = 1,
    workers: int = 1,
    progress: ProgressCallback | None = None,
) -> Result:
    """Bubble-pressure gauge with every component and contribution (``bubble gauge``).

    ``fundamentals`` is a capex/revenue/debt file (.yaml or .csv), or ``"example"`` for the
    shipped ``ai-2025.yaml``; ``weights`` overrides weights as ``psy=2,vix=0``.
    """
    from powderkeg.bubbles.gauges import bubble_gauge, example_fundamentals_path

    fund: Any = example_fundamentals_path() if fundamentals == "example" else fundamentals
    return bubble_gauge(
        store,
        asof=asof,
        weights=parse_weights(weights),
        fundamentals=fund,
        psy=psy,
        psy_reps=reps,
        lppls_days=lppls_days,
        seed=seed,
        workers=workers,
        progress=progress,
    )


def signals(
    store: Store,
    symbol: str,
    *,
    freq: str = "M",
    drawdown: float = 0.2,
    horizon: int = 60,
    psy: bool = True,
    lppls: bool = True,
    threshold: float = 0.1,
    reps: int = 499,
    start: str | None = None,
    end: str | None = None,
    seed: int = 1,
    workers: int = 1,
    progress: ProgressCallback | None = None,
) -> Result:
    """Precision and recall of PSY and LPPLS flags against later drawdowns (``bubble signals``).

    An event is a fall of at least ``drawdown`` within ``horizon`` calendar days.
    """
    from powderkeg._validation import optional_date
    from powderkeg.bubbles.signals import evaluate_signals
    from powderkeg.service._inputs import stored_series

    price = stored_series(store, symbol, optional_date(end, "--end"))
    sources = store.provenance([symbol])
    s = optional_date(start, "--start")
    if s is not None:
        price = price.loc[price.index >= s]
    result = evaluate_signals(
        price,
        freq=freq,
        drawdown=drawdown,
        horizon_days=horizon,
        psy=psy,
        psy_reps=reps,
        lppls=lppls,
        lppls_threshold=threshold,
        seed=seed,
        workers=workers,
        progress=progress,
        sources=sources,
    )
    result.provenance.parameters.update({"symbol": symbol})
    return result
