"""GET endpoints for every analytic; query parameters mirror the CLI options.

``GET /api/link/corr?a=BTC-USD&b=^IXIC&window=30&asof=2025-12-10`` returns the document that
``powderkeg --json link corr BTC-USD ^IXIC --window 30 --asof 2025-12-10`` prints. Options
that are repeatable on the CLI (``--control``, ``--lag``, ``--extra``) are repeated query
parameters (``?control=DGS10&control=DTWEXBGS``); multi-symbol commands take ``symbols``
repeated the same way.

Every endpoint here is a pure read of the store: its successful answers are cached
(:class:`~powderkeg.api.cache.CachedRead`) until the data changes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request

from powderkeg.api.cache import CachedRead
from powderkeg.api.deps import StoreDep, result_json
from powderkeg.service import bubble, energy, link, liq

Date = Annotated[
    str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="A date, YYYY-MM-DD.")
]
Symbol = Annotated[str, Query(min_length=1, max_length=40, description="A stored symbol.")]
Calendar = Annotated[
    str,
    Query(
        min_length=1,
        max_length=20,
        description="intersection (default), union-ffill, or an exchange code such as XNYS.",
    ),
]
SymbolList = Annotated[
    list[str], Query(min_length=2, max_length=12, description="Repeat: symbols=A&symbols=B.")
]
Controls = Annotated[
    list[str] | None,
    Query(max_length=8, description="Control series (repeatable), or NETLIQ."),
]
Dating = Annotated[Literal["publication", "observation"] | None, Query()]
Seed = Annotated[int, Query(ge=0, le=2**32 - 1)]
Bootstrap = Annotated[int, Query(ge=0, le=2000, description="Resamples (0 = none).")]
HacLags = Annotated[int | None, Query(ge=0, le=100)]
Start = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="First date.")]


def sample(
    start: Start = None, asof: Date = None, calendar: Calendar = "intersection"
) -> dict[str, Any]:
    """The sample of the return-based linkage endpoints: first date, last date, calendar."""
    return {"start": start, "asof": asof, "calendar": calendar}


Sample = Annotated[dict[str, Any], Depends(sample)]

CV_NOT_CACHED = (
    "critical values for these settings are not computed yet: submit POST /api/jobs/bubble/psy "
    "with the same settings (token required), or ask for cv=none"
)


def register_read_routes(app: FastAPI) -> None:
    """Attach the analytics endpoints to ``app``."""
    router = APIRouter(route_class=CachedRead)

    # ------------------------------------------------------------------------- linkage
    @router.get("/api/link/corr", tags=["linkage"])
    def link_corr(
        store: StoreDep,
        a: Symbol,
        b: Symbol,
        window: Annotated[
            str,
            Query(
                pattern=r"^(\d{1,5}|\d{1,4}[DWMY])$",
                description="Observations (30) or a calendar span (90D, 13W, 3M, 1Y).",
            ),
        ] = "30",
        method: Literal["pearson", "spearman", "kendall"] = "pearson",
        on: Literal["returns", "levels"] = "returns",
        returns: Literal["log", "simple"] = "log",
        calendar: Calendar = "intersection",
        asof: Date = None,
        ewma_halflife: Annotated[float | None, Query(gt=0, le=10_000)] = None,
    ) -> dict[str, Any]:
        """Rolling correlation of two series (as ``link corr``)."""
        return result_json(
            link.corr(
                store,
                a,
                b,
                window=window,
                method=method,
                on=on,
                returns_kind=returns,
                calendar=calendar,
                asof=asof,
                ewma_halflife=ewma_halflife,
            )
        )

    @router.get("/api/link/spurious", tags=["linkage"])
    def link_spurious(
        store: StoreDep,
        a: Symbol,
        b: Symbol,
        window: Annotated[int, Query(ge=10, le=10_000)] = 63,
        asof: Date = None,
        max_lag: Annotated[int, Query(ge=0, le=60)] = 5,
        calendar: Calendar = "intersection",
    ) -> dict[str, Any]:
        """Is a level correlation spurious? (as ``link spurious``)."""
        return result_json(
            link.spurious(store, a, b, window=window, asof=asof, max_lag=max_lag, calendar=calendar)
        )

    @router.get("/api/link/claims", tags=["linkage"])
    def link_claims(
        store: StoreDep,
        name: Annotated[
            str, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,40}$", description="A shipped claims file.")
        ] = "press-2025",
        asof: Date = None,
    ) -> dict[str, Any]:
        """Check a shipped claims file against the store (as ``link claims NAME``)."""
        from powderkeg.exceptions import InputError
        from powderkeg.linkage.claims import shipped_claims

        names = list(shipped_claims())
        if name not in names:
            raise InputError(f"name must be one of the shipped claim files: {', '.join(names)}")
        return result_json(link.claims(store, name, asof=asof))

    @router.get("/api/link/beta", tags=["linkage"])
    def link_beta(
        store: StoreDep,
        asset: Symbol,
        market: Symbol,
        sample: Sample,
        threshold: Annotated[float, Query(ge=-1, le=1)] = 0.0,
        hac_lags: HacLags = None,
        bootstrap: Bootstrap = 0,
        seed: Seed = 0,
    ) -> dict[str, Any]:
        """Up- and down-market betas (as ``link beta``)."""
        return result_json(
            link.beta(
                store,
                asset,
                market,
                threshold=threshold,
                hac_lags=hac_lags,
                bootstrap=bootstrap,
                seed=seed,
                **sample,
            )
        )

    @router.get("/api/link/tail", tags=["linkage"])
    def link_tail(
        store: StoreDep,
        a: Symbol,
        b: Symbol,
        sample: Sample,
        q: Annotated[float, Query(gt=0, lt=0.5)] = 0.05,
        window: Annotated[int, Query(ge=0, le=10_000)] = 250,
        bootstrap: Bootstrap = 200,
        seed: Seed = 0,
    ) -> dict[str, Any]:
        """Lower-tail dependence (as ``link tail``)."""
        return result_json(
            link.tail(
                store,
                a,
                b,
                q=q,
                window=window,
                bootstrap=bootstrap,
                seed=seed,
                **sample,
            )
        )

    @router.get("/api/link/leadlag", tags=["linkage"])
    def link_leadlag(
        store: StoreDep,
        a: Symbol,
        b: Symbol,
        sample: Sample,
        max_lag: Annotated[int, Query(ge=1, le=60)] = 10,
    ) -> dict[str, Any]:
        """Cross-correlations over ±k lags (as ``link leadlag``)."""
        return result_json(link.leadlag(store, a, b, max_lag=max_lag, **sample))

    @router.get("/api/link/granger", tags=["linkage"])
    def link_granger(
        store: StoreDep,
        a: Symbol,
        b: Symbol,
        sample: Sample,
        control: Controls = None,
        max_lag: Annotated[int, Query(ge=1, le=30)] = 10,
        lag: Annotated[list[int] | None, Query(max_length=30)] = None,
        select: Literal["aic", "bic", "max"] = "aic",
        hac: bool = False,
        hac_lags: HacLags = None,
        control_dating: Dating = None,
    ) -> dict[str, Any]:
        """Granger causality in both directions (as ``link granger``)."""
        return result_json(
            link.granger(
                store,
                a,
                b,
                controls=control or (),
                max_lag=max_lag,
                lags=lag,
                select=select,
                hac=hac,
                hac_lags=hac_lags,
                control_dating=control_dating,
                **sample,
            )
        )

    @router.get("/api/link/partial", tags=["linkage"])
    def link_partial(
        store: StoreDep,
        a: Symbol,
        b: Symbol,
        control: Annotated[list[str], Query(min_length=1, max_length=8)],
        sample: Sample,
        control_dating: Dating = None,
    ) -> dict[str, Any]:
        """Correlation after regressing out controls (as ``link partial``)."""
        return result_json(
            link.partial(
                store,
                a,
                b,
                controls=control,
                control_dating=control_dating,
                **sample,
            )
        )

    @router.get("/api/link/event", tags=["linkage"])
    def link_event(
        store: StoreDep,
        symbols: Annotated[list[str], Query(min_length=1, max_length=12)],
        date: Annotated[str, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")],
        sample: Sample,
        market: Symbol = "^GSPC",
        estimation: Annotated[int, Query(ge=10, le=2000)] = 120,
        window: Annotated[str, Query(pattern=r"^ ?-?\d{1,3} ?, ?-?\d{1,3} ?$")] = "-1,5",
        gap: Annotated[int, Query(ge=0, le=250)] = 0,
    ) -> dict[str, Any]:
        """Market-model abnormal returns around a date (as ``link event``)."""
        return result_json(
            link.event(
                store,
                symbols,
                date=date,
                market=market,
                estimation=estimation,
                window=window,
                gap=gap,
                **sample,
            )
        )

    @router.get("/api/link/dcc", tags=["linkage"])
    def link_dcc(
        store: StoreDep,
        symbols: SymbolList,
        sample: Sample,
        asymmetric: bool = False,
        dist: Literal["normal", "t"] = "normal",
        mean: Literal["constant", "zero"] = "constant",
        forecast: Annotated[int | None, Query(ge=1, le=1000)] = None,
    ) -> dict[str, Any]:
        """DCC/ADCC-GARCH(1,1) conditional correlations (as ``link dcc``)."""
        return result_json(
            link.dcc(
                store,
                symbols,
                asymmetric=asymmetric,
                dist=dist,
                mean=mean,
                forecast=forecast,
                **sample,
            )
        )

    @router.get("/api/link/regimes", tags=["linkage"])
    def link_regimes(
        store: StoreDep,
        a: Symbol,
        b: Symbol,
        sample: Sample,
        window: Annotated[int, Query(ge=5, le=2000)] = 60,
        on: Literal["corr", "vol"] = "corr",
    ) -> dict[str, Any]:
        """Two-state Markov regimes of the link (as ``link regimes``)."""
        return result_json(link.regimes(store, a, b, window=window, on=on, **sample))

    # ------------------------------------------------------------------------- bubbles
    @router.get(
        "/api/bubble/psy",
        tags=["bubbles"],
        responses={409: {"description": "Critical values not computed yet (submit the job)."}},
    )
    def bubble_psy(
        request: Request,
        store: StoreDep,
        symbol: Symbol,
        freq: Literal["D", "W", "M"] = "D",
        min_window: Annotated[int | None, Query(ge=3, le=100_000)] = None,
        lags: Annotated[int, Query(ge=0, le=24)] = 0,
        ic: Literal["aic", "bic"] | None = None,
        trend: Literal["c", "ct"] = "c",
        cv: Annotated[
            Literal["mc", "wild", "none"],
            Query(description="mc/wild read stored critical values (see the job); none skips."),
        ] = "mc",
        reps: Annotated[int, Query(ge=10, le=1_000_000)] = 2000,
        seed: Seed = 1,
        level: Literal["90%", "95%", "99%"] = "95%",
        min_duration: Annotated[int | None, Query(ge=1, le=10_000)] = None,
        start: Start = None,
        asof: Date = None,
        log: bool = True,
    ) -> dict[str, Any]:
        """PSY GSADF/BSADF (as ``bubble psy``) with critical values read from the store.

        A read never starts a simulation: with ``cv=mc`` or ``cv=wild`` the critical values
        must already be stored (run ``powderkeg bubble psy`` or ``POST /api/jobs/bubble/psy``
        with the same settings), otherwise the answer is 409.
        """
        limit = request.app.state.settings.max_psy_work // 100
        series: dict[str, Any] = {
            "freq": freq,
            "min_window": min_window,
            "lags": lags,
            "ic": ic,
            "trend": trend,
            "start": start,
            "asof": asof,
            "log": log,
        }
        work = bubble.psy_work(store, symbol, **series)
        if work > limit:
            raise HTTPException(
                422,
                detail=[
                    {
                        "loc": ["query", "min_window"],
                        "msg": f"{work} ADF regressions exceed this server's read limit of "
                        f"{limit}: raise min_window, shorten the sample or use freq=W",
                        "type": "value_error",
                    }
                ],
            )
        try:
            result = bubble.psy(
                store,
                symbol,
                cv=cv,
                reps=reps,
                seed=seed,
                level=level,
                min_duration=min_duration,
                simulate=False,
                **series,
            )
        except bubble.CriticalValuesNotCachedError:
            raise HTTPException(409, CV_NOT_CACHED) from None
        return result_json(result)

    @router.get("/api/bubble/lppls", tags=["bubbles"])
    def bubble_lppls(
        store: StoreDep,
        symbol: Symbol,
        end: Date = None,
        window: Annotated[int, Query(ge=12, le=2000)] = 120,
        starts: Annotated[int, Query(ge=1, le=32, description="Nelder-Mead starts.")] = 4,
        seed: Seed = 1,
    ) -> dict[str, Any]:
        """One LPPLS fit of the last ``window`` prices (as ``bubble lppls``).

        The confidence indicator (hundreds of fits) is a job: ``POST /api/jobs/bubble/lppls``.
        """
        return result_json(
            bubble.lppls(store, symbol, end=end, window=window, n_starts=starts, seed=seed)
        )

    # ----------------------------------------------------------------------- liquidity
    @router.get("/api/liq/net", tags=["liquidity"])
    def liq_net(store: StoreDep, start: Start = None, asof: Date = None) -> dict[str, Any]:
        """Fed net liquidity = WALCL − TGA − RRP (as ``liq net``)."""
        return result_json(liq.net(store, start=start, asof=asof))

    @router.get("/api/liq/beta", tags=["liquidity"])
    def liq_beta(
        store: StoreDep,
        symbol: Symbol = "BTC-USD",
        max_lag_weeks: Annotated[int, Query(ge=0, le=52)] = 12,
        start: Start = None,
        asof: Date = None,
        extra: Annotated[list[Literal["m2", "stablecoin"]] | None, Query(max_length=2)] = None,
        hac_lags: HacLags = None,
        alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
        measure: Literal["log", "level"] = "log",
        sample_on: Literal["publication", "wednesday"] = "publication",
    ) -> dict[str, Any]:
        """Weekly liquidity beta at lags 0..N (as ``liq beta``)."""
        return result_json(
            liq.beta(
                store,
                symbol,
                max_lag_weeks=max_lag_weeks,
                start=start,
                asof=asof,
                extras=extra or (),
                hac_lags=hac_lags,
                alpha=alpha,
                measure=measure,
                sample_on=sample_on,
            )
        )

    @router.get("/api/liq/money", tags=["liquidity"])
    def liq_money(store: StoreDep, asof: Date = None) -> dict[str, Any]:
        """M2 and stablecoin supply growth (as ``liq money``)."""
        return result_json(liq.money(store, asof=asof))

    @router.get("/api/liq/capital", tags=["liquidity"])
    def liq_capital(
        store: StoreDep,
        window: Annotated[int, Query(ge=5, le=2520)] = 63,
        asof: Date = None,
        min_score: Annotated[float, Query(ge=0, le=5)] = 4.0,
    ) -> dict[str, Any]:
        """Capital-scarcity ('reverse QE') monitor (as ``liq capital``)."""
        return result_json(liq.capital(store, window=window, asof=asof, min_score=min_score))

    # -------------------------------------------------------------------------- energy
    @router.get("/api/energy/mining-vs-ai", tags=["energy"])
    def energy_mining_vs_ai(
        store: StoreDep,
        asof: Date = None,
        btc_price: Annotated[float | None, Query(gt=0, description="USD, skips the store.")] = None,
        hashrate: Annotated[float | None, Query(gt=0, description="Network EH/s.")] = None,
        difficulty: Annotated[float | None, Query(gt=0, description="In trillions.")] = None,
        fees: Annotated[float | None, Query(ge=0, description="BTC per block.")] = None,
        power_price: Annotated[float | None, Query(ge=0, description="USD/MWh.")] = None,
        efficiency: Annotated[float | None, Query(gt=0, description="J/TH.")] = None,
        gpu_hour_price: Annotated[float | None, Query(ge=0, description="USD.")] = None,
        utilisation: Annotated[float | None, Query(ge=0, le=1)] = None,
        pue: Annotated[float | None, Query(ge=1, le=5)] = None,
    ) -> dict[str, Any]:
        """Revenue and margin per MWh of mining vs AI hosting (as ``energy mining-vs-ai``).

        Parameters come from the shipped defaults and these overrides (no parameter files).
        """
        from contextlib import nullcontext

        return result_json(
            energy.mining_vs_ai(
                lambda: nullcontext(store),
                asof=asof,
                btc_price=btc_price,
                hashrate=hashrate,
                difficulty=difficulty,
                fees=fees,
                power_price=power_price,
                efficiency=efficiency,
                gpu_hour_price=gpu_hour_price,
                utilisation=utilisation,
                pue=pue,
            )
        )

    app.include_router(router)
