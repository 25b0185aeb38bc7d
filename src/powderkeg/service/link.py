"""Linkage commands (``powderkeg link ...``, ``GET /api/link/...``) as functions of a store.

Correlation, the spurious-correlation check, DCC and regimes read aligned prices with
:meth:`Store.frame`; beta, tail, lead/lag, Granger, partial correlation and event studies
read aligned returns (universe names become baskets) with
:func:`powderkeg.linkage._inputs.load_panel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import pandas as pd

    from powderkeg.data.store import Store
    from powderkeg.linkage._inputs import Panel
    from powderkeg.results import Provenance, Result


# ------------------------------------------------------------------------------- loaders
def _prices(store: Store, symbols: list[str], calendar: str, asof: str | None) -> pd.DataFrame:
    """Aligned prices up to ``asof`` (each symbol one stored series, not a universe)."""
    from powderkeg._validation import optional_date
    from powderkeg.service._inputs import one_series

    syms = [one_series(s) for s in symbols]
    return store.frame(syms, end=optional_date(asof, "--asof"), calendar=calendar)


def _log_returns(
    store: Store, symbols: list[str], start: str | None, asof: str | None, calendar: str
) -> pd.DataFrame:
    """Aligned log returns (the first aligned date is dropped), cut at ``start``/``asof``."""
    from powderkeg._validation import optional_date
    from powderkeg.exceptions import InputError
    from powderkeg.transforms import returns

    if len(set(symbols)) != len(symbols):
        raise InputError(f"symbols must be distinct, got {', '.join(symbols)}")
    s, e = optional_date(start, "--start"), optional_date(asof, "--asof")
    prices = store.frame(symbols, end=e, calendar=calendar).dropna()
    out = cast("pd.DataFrame", returns(prices, "log"))
    if s is not None:
        out = out.loc[out.index >= s]
    return out


def _panel(
    store: Store,
    symbols: list[str],
    sample: tuple[str | None, str | None, str],
    controls: Sequence[str] = (),
    control_dating: str = "publication",
) -> tuple[Panel, str]:
    """Aligned returns of ``symbols`` over ``sample`` = ``(start, asof, calendar)``.

    Returns the panel and its calendar label, with a word on mixed 24/7 and session assets.
    """
    from powderkeg.linkage._inputs import load_panel

    start, asof, calendar = sample
    panel = load_panel(
        store,
        symbols,
        list(controls),
        start=start,
        asof=asof,
        calendar=calendar,
        control_dating=control_dating,
    )
    cal = panel.calendar
    members = [s for group in panel.members.values() for s in group]
    cals = {s: str(store.series_info(s).get("calendar") or "") for s in members}
    always = [s for s, c in cals.items() if "24/7" in c]
    if always and len(always) < len(members) and cal == "intersection":
        cal = (
            f"intersection of trading dates ({', '.join(always)} 24/7 UTC closes sampled on "
            "equity session dates; a return spans the gap, e.g. Friday to Monday)"
        )
    return panel, cal


def _panel_provenance(
    panel: Panel, parameters: dict[str, Any], seed: int | None = None
) -> Provenance:
    from powderkeg.results import Provenance

    params = {"calendar": panel.calendar, "transforms": panel.transforms, **parameters}
    return Provenance(sources=panel.sources, parameters=params, seed=seed)


def parse_event_window(text: str) -> tuple[int, int]:
    """Parse an event window such as ``"-1,5"`` into ``(-1, 5)`` (start <= end)."""
    from powderkeg.exceptions import InputError

    parts = text.replace(" ", "").split(",")
    try:
        lo, hi = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (None, None)
    except ValueError:
        lo, hi = None, None
    if lo is None or hi is None or lo > hi:
        raise InputError(f"--window must look like -1,5 (start <= end), got {text!r}")
    return lo, hi


# ---------------------------------------------------------------------- price commands
def corr(
    store: Store,
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
    """Rolling correlation of two series (``link corr``)."""
    from powderkeg._validation import check_option
    from powderkeg.linkage.correlation import METHODS, ON, correlate
    from powderkeg.results import Provenance
    from powderkeg.transforms import RETURN_KINDS

    check_option(method, "--method", METHODS)
    check_option(on, "--on", ON)
    check_option(returns_kind, "--returns", RETURN_KINDS)
    return correlate(
        _prices(store, [a, b], calendar, asof),
        a,
        b,
        window=window,
        method=method,
        on=on,
        returns_kind=returns_kind,
        asof=asof,
        ewma_halflife=ewma_halflife,
        calendar=calendar,
        provenance=Provenance(sources=store.provenance([a, b])),
    )


def spurious(
    store: Store,
    a: str,
    b: str,
    *,
    window: int = 63,
    asof: str | None = None,
    max_lag: int = 5,
    calendar: str = "intersection",
) -> Result:
    """Levels vs returns, unit roots, cointegration and lead/lag (``link spurious``)."""
    from powderkeg.linkage.spurious import spurious_check
    from powderkeg.results import Provenance

    return spurious_check(
        _prices(store, [a, b], calendar, asof),
        a,
        b,
        window=window,
        asof=asof,
        max_lag=max_lag,
        calendar=calendar,
        provenance=Provenance(sources=store.provenance([a, b])),
    )


def claims(store: Store, file: str, *, asof: str | None = None) -> Result:
    """Check a claims file, or a shipped one by name, against the store (``link claims``)."""
    from powderkeg._validation import optional_date
    from powderkeg.linkage.claims import evaluate_claims, load_claims

    parsed = load_claims(file)
    return evaluate_claims(parsed, store, asof=optional_date(asof, "--asof"))


def dcc(
    store: Store,
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
    """DCC/ADCC-GARCH(1,1) conditional correlations on log returns x 100 (``link dcc``)."""
    from powderkeg._validation import check_int, check_option
    from powderkeg.exceptions import InputError
    from powderkeg.linkage.dcc import DCC, DISTS, MEANS
    from powderkeg.results import Provenance

    check_option(dist, "--dist", DISTS)
    check_option(mean, "--mean", MEANS)
    if forecast is not None:
        check_int(forecast, "--forecast", minimum=1, maximum=1000)
    syms = list(symbols)
    if len(syms) < 2:
        raise InputError(f"link dcc needs at least two symbols, got {len(syms)}")
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
    return DCC(100.0 * rets, asymmetric=asymmetric, mean=mean, dist=dist).fit(provenance=prov)


def regimes(
    store: Store,
    a: str,
    b: str,
    *,
    window: int = 60,
    on: str = "corr",
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Two-state Markov regimes of the link (``link regimes``)."""
    from powderkeg._validation import check_int, check_option
    from powderkeg.linkage.regimes import ON
    from powderkeg.linkage.regimes import regimes as fit_regimes
    from powderkeg.results import Provenance
    from powderkeg.service._inputs import one_series

    check_option(on, "--on", ON)
    check_int(window, "--window", minimum=5)
    rets = _log_returns(store, [one_series(a), one_series(b)], start, asof, calendar)
    prov = Provenance(
        sources=store.provenance([a, b]),
        parameters={"on": on, "window": window, "calendar": calendar, "start": start, "asof": asof},
    )
    result = fit_regimes(rets, a, b, window=window, on=on, provenance=prov)
    return result.with_extras(calendar=calendar)


# --------------------------------------------------------------------- return commands
def beta(
    store: Store,
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
    """Up- and down-market betas, capture ratios and the test of equal betas (``link beta``)."""
    from powderkeg.linkage.beta import asymmetric_beta

    panel, label = _panel(store, [asset, market], (start, asof, calendar))
    result = asymmetric_beta(
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
    return result


def tail(
    store: Store,
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
    """Lower-tail dependence and co-crash probabilities (``link tail``)."""
    from powderkeg.linkage.tail import tail_dependence

    panel, label = _panel(store, [a, b], (start, asof, calendar))
    return tail_dependence(
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


def leadlag(
    store: Store,
    a: str,
    b: str,
    *,
    max_lag: int = 10,
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Cross-correlations over ±k lags with Bartlett bands (``link leadlag``)."""
    from powderkeg.linkage.leadlag import lead_lag

    panel, label = _panel(store, [a, b], (start, asof, calendar))
    return lead_lag(
        panel.returns[a],
        panel.returns[b],
        max_lag=max_lag,
        calendar=label,
        provenance=_panel_provenance(panel, {"max_lag": max_lag}),
    )


def granger(
    store: Store,
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
    """Granger causality in both directions, optionally given controls (``link granger``)."""
    from powderkeg.linkage.granger import granger as granger_test

    ctrl = list(controls)
    lag = list(lags) if lags is not None else None
    panel, label = _panel(
        store, [a, b], (start, asof, calendar), ctrl, control_dating or "publication"
    )
    return granger_test(
        panel.returns[a],
        panel.returns[b],
        max_lag=max_lag,
        lags=lag or None,
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


def partial(
    store: Store,
    a: str,
    b: str,
    *,
    controls: Sequence[str],
    control_dating: str | None = None,
    start: str | None = None,
    asof: str | None = None,
    calendar: str = "intersection",
) -> Result:
    """Correlation of A and B returns after regressing out controls (``link partial``)."""
    from powderkeg.exceptions import InputError
    from powderkeg.linkage.partial import partial_correlation

    ctrl = list(controls)
    if not ctrl:
        raise InputError("--control is required (give at least one control series)")
    panel, label = _panel(
        store, [a, b], (start, asof, calendar), ctrl, control_dating or "observation"
    )
    return partial_correlation(
        panel.returns[a],
        panel.returns[b],
        panel.controls,
        calendar=label,
        transforms={**panel.transforms, "controls dated by": panel.control_dating},
        provenance=_panel_provenance(
            panel, {"controls": ctrl, "control_dating": panel.control_dating}
        ),
    )


def event(
    store: Store,
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
    """Market-model abnormal returns and CARs around a date (``link event``)."""
    from powderkeg.linkage.events import event_study

    span = parse_event_window(window)
    syms = list(symbols)
    panel, label = _panel(store, [*syms, market], (start, asof, calendar))
    return event_study(
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
