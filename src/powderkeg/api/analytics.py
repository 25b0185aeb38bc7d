"""Thin shared helpers: every analytic as one call on an open store, returning its Result.

Each function does exactly what the matching CLI command does between opening the store and
printing (same loaders, same provenance, same estimator call), so ``GET /api/...`` returns the
same JSON as ``powderkeg --json ...``. Where a CLI command keeps that logic inline, the steps
are mirrored here and ``tests/api/test_read_endpoints.py`` compares both outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from powderkeg.results import Result

#: Keys that differ between two identical runs (timings), dropped when comparing outputs.
VOLATILE_KEYS = frozenset({"runtime_s", "compute_s", "elapsed_s", "timing", "timings"})


def strip_volatile(payload: Any) -> Any:
    """Return ``payload`` without volatile keys (timings), recursively."""
    if isinstance(payload, dict):
        return {k: strip_volatile(v) for k, v in payload.items() if k not in VOLATILE_KEYS}
    if isinstance(payload, list):
        return [strip_volatile(v) for v in payload]
    return payload


def require_stored(store: Any, symbol: str) -> None:
    """Raise :class:`~powderkeg.exceptions.UnknownSymbolError` unless ``symbol`` is stored.

    Single-series analytics (PSY, LPPLS) need a stored series: universe names such as ``ai``
    expand to baskets in :meth:`Store.frame`, which those loaders do not expect.
    """
    store.series_info(symbol)


# ---------------------------------------------------------------------------------- linkage
def _prices(store: Any, symbols: list[str], calendar: str, asof: str | None) -> Any:
    from powderkeg._validation import optional_date

    end = optional_date(asof, "asof")
    return store.frame(symbols, end=end, calendar=calendar)


def link_corr(
    store: Any,
    a: str,
    b: str,
    *,
    window: str = "30",
    method: str = "pearson",
    on: str = "returns",
    returns_kind: str = "log",
    calendar: str = "intersection",
    asof: str | None = None,
    ewma_halflife: float | None = None,
) -> Result:
    """Rolling correlation of two stored series (``powderkeg link corr``)."""
    from powderkeg.linkage.correlation import correlate
    from powderkeg.results import Provenance

    prices = _prices(store, [a, b], calendar, asof)
    prov = Provenance(sources=store.provenance([a, b]))
    result: Result = correlate(
        prices,
        a,
        b,
        window=window,
        method=method,
        on=on,
        returns_kind=returns_kind,
        asof=asof,
        ewma_halflife=ewma_halflife,
        calendar=calendar,
        provenance=prov,
    )
    return result


def link_spurious(
    store: Any,
    a: str,
    b: str,
    *,
    window: int = 63,
    asof: str | None = None,
    max_lag: int = 5,
    calendar: str = "intersection",
) -> Result:
    """Levels vs returns, unit roots, cointegration and lead/lag (``powderkeg link spurious``)."""
    from powderkeg.linkage.spurious import spurious_check
    from powderkeg.results import Provenance

    prices = _prices(store, [a, b], calendar, asof)
    prov = Provenance(sources=store.provenance([a, b]))
    result: Result = spurious_check(
        prices, a, b, window=window, asof=asof, max_lag=max_lag, calendar=calendar, provenance=prov
    )
    return result


def link_claims(store: Any, name: str, *, asof: str | None = None) -> Result:
    """Check a shipped claims file against the store (``powderkeg link claims NAME``).

    Only shipped claim files are accepted (the API never reads arbitrary server paths).
    """
    from powderkeg._validation import optional_date
    from powderkeg.exceptions import InputError
    from powderkeg.linkage.claims import evaluate_claims, load_claims, shipped_claims

    names = list(shipped_claims())
    if name not in names:
        raise InputError(f"name must be one of the shipped claim files: {', '.join(names)}")
    parsed = load_claims(name)
    result: Result = evaluate_claims(parsed, store, asof=optional_date(asof, "asof"))
    return result


def _panel_provenance(panel: Any, parameters: dict[str, Any], seed: int | None = None) -> Any:
    from powderkeg.results import Provenance

    params = {"calendar": panel.calendar, "transforms": panel.transforms, **parameters}
    return Provenance(sources=panel.sources, parameters=params, seed=seed)


def _calendar_label(panel: Any, store: Any) -> str:
    from powderkeg.cli.link_stats import _calendar_label as label

    return str(label(panel, store))


def link_beta(
    store: Any,
    asset: str,
    market: str,
    *,
    threshold: float = 0.0,
    hac_lags: int | None = None,
    bootstrap: int = 0,
    seed: int = 0,
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Up- and down-market betas (``powderkeg link beta``)."""
    from powderkeg.linkage._inputs import load_panel
    from powderkeg.linkage.beta import asymmetric_beta

    panel = load_panel(store, [asset, market], start=start, asof=asof, calendar=calendar)
    label = _calendar_label(panel, store)
    result: Any = asymmetric_beta(
        panel.returns[asset],
        panel.returns[market],
        threshold=threshold,
        hac_lags=hac_lags,
        bootstrap=bootstrap,
        seed=seed,
        calendar=label,
        provenance=_panel_provenance(
            panel, {"threshold": threshold, "bootstrap": bootstrap, "hac_lags": hac_lags}, seed
        ),
    )
    result.method_notes.append(panel.describe())
    out: Result = result
    return out


def link_tail(
    store: Any,
    a: str,
    b: str,
    *,
    q: float = 0.05,
    window: int = 250,
    bootstrap: int = 200,
    seed: int = 0,
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Lower-tail dependence and co-crash probabilities (``powderkeg link tail``)."""
    from powderkeg.linkage._inputs import load_panel
    from powderkeg.linkage.tail import tail_dependence

    panel = load_panel(store, [a, b], start=start, asof=asof, calendar=calendar)
    label = _calendar_label(panel, store)
    result: Result = tail_dependence(
        panel.returns[a],
        panel.returns[b],
        q=q,
        bootstrap=bootstrap,
        seed=seed,
        window=window or None,
        calendar=label,
        provenance=_panel_provenance(
            panel, {"q": q, "window": window, "bootstrap": bootstrap}, seed
        ),
    )
    return result


def link_leadlag(
    store: Any,
    a: str,
    b: str,
    *,
    max_lag: int = 10,
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Cross-correlations over ±k lags (``powderkeg link leadlag``)."""
    from powderkeg.linkage._inputs import load_panel
    from powderkeg.linkage.leadlag import lead_lag

    panel = load_panel(store, [a, b], start=start, asof=asof, calendar=calendar)
    label = _calendar_label(panel, store)
    result: Result = lead_lag(
        panel.returns[a],
        panel.returns[b],
        max_lag=max_lag,
        calendar=label,
        provenance=_panel_provenance(panel, {"max_lag": max_lag}),
    )
    return result


def link_granger(
    store: Any,
    a: str,
    b: str,
    *,
    controls: Sequence[str] = (),
    max_lag: int = 10,
    lags: Sequence[int] | None = None,
    select: str = "aic",
    hac: bool = False,
    hac_lags: int | None = None,
    control_dating: str | None = None,
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Granger causality in both directions (``powderkeg link granger``)."""
    from powderkeg.linkage._inputs import load_panel
    from powderkeg.linkage.granger import granger as granger_test

    ctrl = list(controls)
    lag = list(lags) if lags else None
    panel = load_panel(
        store,
        [a, b],
        ctrl,
        start=start,
        asof=asof,
        calendar=calendar,
        control_dating=control_dating or "publication",
    )
    label = _calendar_label(panel, store)
    result: Result = granger_test(
        panel.returns[a],
        panel.returns[b],
        max_lag=max_lag,
        lags=lag,
        controls=panel.controls if ctrl else None,
        selection=select,
        hac=hac,
        hac_lags=hac_lags,
        calendar=label,
        provenance=_panel_provenance(
            panel,
            {
                "max_lag": max_lag,
                "lags": lag,
                "select": select,
                "hac": hac,
                "controls": ctrl,
                "control_dating": panel.control_dating,
            },
        ),
    )
    return result


def link_partial(
    store: Any,
    a: str,
    b: str,
    *,
    controls: Sequence[str],
    control_dating: str | None = None,
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Partial correlation after regressing out controls (``powderkeg link partial``)."""
    from powderkeg.exceptions import InputError
    from powderkeg.linkage._inputs import load_panel
    from powderkeg.linkage.partial import partial_correlation

    ctrl = list(controls)
    if not ctrl:
        raise InputError("control is required (give at least one control series)")
    panel = load_panel(
        store,
        [a, b],
        ctrl,
        start=start,
        asof=asof,
        calendar=calendar,
        control_dating=control_dating or "observation",
    )
    label = _calendar_label(panel, store)
    result: Result = partial_correlation(
        panel.returns[a],
        panel.returns[b],
        panel.controls,
        calendar=label,
        transforms={**panel.transforms, "controls dated by": panel.control_dating},
        provenance=_panel_provenance(
            panel, {"controls": ctrl, "control_dating": panel.control_dating}
        ),
    )
    return result


def parse_event_window(text: str) -> tuple[int, int]:
    """Parse ``"-1,5"`` into ``(-1, 5)`` (start <= end)."""
    from powderkeg.cli.link_stats import _parse_window

    lo, hi = _parse_window(text)
    return int(lo), int(hi)


def link_event(
    store: Any,
    symbols: Sequence[str],
    *,
    date: str,
    market: str = "^GSPC",
    estimation: int = 120,
    window: str = "-1,5",
    gap: int = 0,
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Market-model abnormal returns around a date (``powderkeg link event``)."""
    from powderkeg.linkage._inputs import load_panel
    from powderkeg.linkage.events import event_study

    span = parse_event_window(window)
    syms = list(symbols)
    panel = load_panel(store, [*syms, market], start=start, asof=asof, calendar=calendar)
    label = _calendar_label(panel, store)
    result: Result = event_study(
        panel.returns[syms],
        panel.returns[market],
        date,
        estimation=estimation,
        window=span,
        gap=gap,
        calendar=panel.calendar,
        calendar_note=f"Calendar: {label}.",
        provenance=_panel_provenance(
            panel, {"date": date, "estimation": estimation, "window": list(span), "gap": gap}
        ),
    )
    return result


def link_dcc(
    store: Any,
    symbols: Sequence[str],
    *,
    asymmetric: bool = False,
    dist: str = "normal",
    mean: str = "constant",
    start: str | None = None,
    asof: str | None = None,
    forecast: int | None = None,
    calendar: str = "intersection",
) -> Result:
    """DCC/ADCC-GARCH(1,1) conditional correlations (``powderkeg link dcc``)."""
    from powderkeg.cli.link_dcc import _log_returns
    from powderkeg.exceptions import InputError
    from powderkeg.linkage.dcc import DCC
    from powderkeg.results import Provenance

    syms = list(symbols)
    if len(syms) < 2:
        raise InputError(f"symbols: link dcc needs at least two symbols, got {len(syms)}")
    rets = _log_returns(store, syms, start, asof, calendar)
    prov = Provenance(
        sources=store.provenance(syms),
        parameters={
            "model": "ADCC" if asymmetric else "DCC",
            "dist": dist,
            "mean": mean,
            "calendar": calendar,
            "start": start,
            "asof": asof,
            "forecast": forecast,
            "returns": "log x 100",
        },
    )
    result: Result = DCC(100.0 * rets, asymmetric=asymmetric, mean=mean, dist=dist).fit(
        provenance=prov
    )
    return result


def link_regimes(
    store: Any,
    a: str,
    b: str,
    *,
    window: int = 60,
    on: str = "corr",
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Two-state Markov regimes of the link (``powderkeg link regimes``)."""
    from powderkeg.cli.link_dcc import _log_returns
    from powderkeg.linkage.regimes import regimes as fit_regimes
    from powderkeg.results import Provenance

    rets = _log_returns(store, [a, b], start, asof, calendar)
    prov = Provenance(
        sources=store.provenance([a, b]),
        parameters={"on": on, "window": window, "calendar": calendar, "start": start, "asof": asof},
    )
    result: Result = fit_regimes(rets, a, b, window=window, on=on, provenance=prov).with_extras(
        calendar=calendar
    )
    return result


# -------------------------------------------------------------------------------- bubbles
class CriticalValuesNotCachedError(Exception):
    """Raised by :class:`CacheOnlyStore` when the requested critical values are not stored."""


class CacheOnlyStore:
    """A store proxy that serves cached payloads and refuses to start a simulation.

    ``cache_get`` raises :class:`CriticalValuesNotCachedError` on a miss (so a read request
    never starts a long Monte Carlo run) and ``cache_put`` does nothing.
    """

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def cache_get(self, namespace: str, key: str) -> Any:
        """Return the cached payload or raise :class:`CriticalValuesNotCachedError`."""
        found = self._store.cache_get(namespace, key)
        if found is None:
            raise CriticalValuesNotCachedError(namespace)
        return found

    def cache_put(self, namespace: str, key: str, payload: Any) -> None:
        """Do nothing (read requests never write)."""


def psy_work(
    store: Any,
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
    per window; a Monte Carlo or bootstrap run costs ``reps`` times as much. Used to refuse
    runs larger than the server allows before they start.
    """
    from powderkeg.bubbles.psy import PsySettings
    from powderkeg.cli.bubble_psy import load_series

    require_stored(store, symbol)
    y, _ = load_series(store, symbol, freq=freq, start=start, asof=asof, log=log)
    settings = PsySettings.build(len(y), min_window=min_window, lags=lags, trend=trend, ic=ic)
    n = settings.n_points
    return n * (n + 1) // 2 * (lags + 1 if ic else 1)


def bubble_psy(
    store: Any,
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
    progress: Any = None,
) -> Result:
    """PSY GSADF test with BSADF date-stamping (``powderkeg bubble psy``, one worker).

    ``store`` is passed to the critical-value simulation as its cache: a writable store
    caches the simulation, a :class:`CacheOnlyStore` only reads it back.
    """
    from powderkeg.bubbles.psy import GSADF
    from powderkeg.cli.bubble_psy import load_series

    require_stored(store, symbol)
    y, price = load_series(store, symbol, freq=freq, start=start, asof=asof, log=log)
    sources = store.provenance([symbol])
    test = GSADF(y, min_window=min_window, lags=lags, trend=trend, ic=ic)
    result: Any = test.fit(
        None if cv == "none" else cv,
        reps=reps,
        seed=seed,
        level=level,
        min_duration=min_duration,
        workers=1,
        scheduler=None,
        progress=progress,
        store=store,
        price=price,
        sources=sources,
    )
    result.provenance.parameters.update(
        {"symbol": symbol, "freq": freq.upper(), "log": log, "workers": 1}
    )
    out: Result = result
    return out


def lppls_fits(window: int, smallest: int, step: int, days: int, outer_step: int) -> int:
    """LPPLS fits a confidence-indicator run needs (end dates x nested windows)."""
    ends = -(-days // outer_step)
    nested = max(0, (window - smallest) // step + 1)
    return ends * nested


def bubble_lppls(
    store: Any,
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
    progress: Any = None,
) -> Result:
    """LPPLS fit of the last ``window`` prices, or the confidence indicator.

    As ``powderkeg bubble lppls [--confidence]`` with one worker.
    """
    from powderkeg.bubbles.lppls import LPPLS, confidence_indicator
    from powderkeg.cli.bubble_lppls import _prices as lppls_prices

    require_stored(store, symbol)
    price = lppls_prices(store, symbol, end)
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
            workers=1,
            scheduler=None,
            progress=progress,
            sources=sources,
        )
    else:
        result = LPPLS(price.iloc[-window:]).fit(seed=seed, n_starts=n_starts, sources=sources)
    result.provenance.parameters.update({"symbol": symbol})
    out: Result = result
    return out


# ------------------------------------------------------------------------------ liquidity
def liq_net(store: Any, *, start: str | None = None, asof: str | None = None) -> Result:
    """Fed net liquidity (``powderkeg liq net``)."""
    from powderkeg.liquidity.net_liquidity import net_liquidity

    result: Result = net_liquidity(store, start=start, asof=asof)
    return result


def liq_beta(
    store: Any,
    symbol: str = "BTC-USD",
    *,
    max_lag_weeks: int = 12,
    start: str | None = None,
    asof: str | None = None,
    extras: Sequence[str] = (),
    hac_lags: int | None = None,
    alpha: float = 0.05,
    measure: str = "log",
    sample_on: str = "publication",
) -> Result:
    """Weekly liquidity beta at lags 0..N (``powderkeg liq beta``)."""
    from powderkeg.liquidity.beta import liquidity_beta

    result: Result = liquidity_beta(
        store,
        symbol,
        max_lag_weeks,
        start=start,
        asof=asof,
        extras=tuple(extras),
        hac_lags=hac_lags,
        alpha=alpha,
        measure=measure,
        sample_on=sample_on,
    )
    return result


def liq_money(store: Any, *, asof: str | None = None) -> Result:
    """M2 and stablecoin growth (``powderkeg liq money``)."""
    from powderkeg.liquidity.money import money

    result: Result = money(store, asof=asof)
    return result


def liq_capital(
    store: Any, *, window: int = 63, asof: str | None = None, min_score: float = 4.0
) -> Result:
    """Capital-scarcity monitor (``powderkeg liq capital``)."""
    from powderkeg.liquidity.capital import capital_scarcity

    result: Result = capital_scarcity(store, window, asof=asof, min_score=min_score)
    return result


# ----------------------------------------------------------------------------- contagion
def stress_scenarios() -> Result:
    """The built-in stress scenarios (``powderkeg stress list``)."""
    from powderkeg.contagion.scenario_spec import ScenarioCatalog, list_scenarios

    return ScenarioCatalog(list_scenarios())


def stress_run(
    store: Any,
    scenario: str,
    *,
    paths: int = 10_000,
    seed: int = 1,
    days: int | None = None,
    chunk: int = 1000,
    progress: Any = None,
) -> Result:
    """Monte Carlo stress run of a built-in scenario (``powderkeg stress run``, one worker).

    Only built-in scenario names are accepted (the API never reads server files); the run is
    cached in ``store`` by scenario hash, paths, days and seed, as on the CLI.
    """
    from powderkeg.contagion.montecarlo import run_stress
    from powderkeg.contagion.scenario_spec import builtin_names, load_scenario
    from powderkeg.exceptions import InputError

    names = builtin_names()
    if scenario not in names:
        raise InputError(f"scenario must be one of the built-in scenarios: {', '.join(names)}")
    result: Result = run_stress(
        load_scenario(scenario),
        paths=paths,
        seed=seed,
        days=days,
        workers=1,
        scheduler=None,
        chunk=chunk,
        progress=progress,
        store=store,
        use_cache=True,
    )
    return result
