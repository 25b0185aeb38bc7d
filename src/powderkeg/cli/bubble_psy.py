"""``powderkeg bubble psy``: PSY GSADF test and BSADF date-stamping of one stored series."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from powderkeg.cli.console import CliState, emit, progress


def load_series(
    store: Any,
    symbol: str,
    *,
    freq: str = "D",
    start: str | None = None,
    asof: str | None = None,
    log: bool = True,
) -> tuple[Any, Any]:
    """Return ``(y, price)``: the (log) series to test and its price levels.

    Reads the symbol's main value (close for prices) up to ``asof``, resamples to ``freq``
    with :func:`powderkeg.data.calendars.resample` and cuts at ``start``.
    """
    import numpy as np

    from powderkeg._validation import check_option, optional_date
    from powderkeg.data import calendars
    from powderkeg.exceptions import InputError, InsufficientDataError

    check_option(freq.upper(), "--freq", ("D", "W", "M"))
    s, e = optional_date(start, "--start"), optional_date(asof, "--asof")
    import pandas as pd

    frame = store.frame([symbol], end=e)
    price = pd.Series(calendars.resample(frame[symbol].dropna(), freq.upper()), name=symbol)
    if s is not None:
        price = price.loc[price.index >= s]
    if len(price) < 20:
        raise InsufficientDataError(
            f"{symbol} has {len(price)} observations in the chosen range; PSY needs at least 20"
        )
    if log:
        if bool((price <= 0).any()):
            raise InputError(f"{symbol} has non-positive values; use --no-log")
        y = pd.Series(np.log(price.to_numpy()), index=price.index, name=symbol)
    else:
        y = price.copy()
    return y, price


def add_commands(bubble_app: typer.Typer) -> None:
    """Attach ``psy`` to the ``bubble`` group."""

    @bubble_app.command("psy")
    def psy(
        ctx: typer.Context,
        symbol: Annotated[str, typer.Argument(help="Stored symbol, e.g. BTC-USD or NVDA.")],
        freq: Annotated[
            str, typer.Option("--freq", help="D (as stored), W (Friday) or M (month end).")
        ] = "D",
        min_window: Annotated[
            int | None,
            typer.Option(
                "--min-window",
                help="Minimum window in observations (default floor((0.01+1.8/sqrt T) T)).",
            ),
        ] = None,
        lags: Annotated[int, typer.Option("--lags", help="ADF lags (the maximum with --ic).")] = 0,
        ic: Annotated[
            str | None, typer.Option("--ic", help="Choose lags per window: aic or bic.")
        ] = None,
        trend: Annotated[str, typer.Option("--trend", help="c or ct.")] = "c",
        cv: Annotated[
            str,
            typer.Option("--cv", help="mc (Monte Carlo), wild (Phillips-Shi) or none."),
        ] = "mc",
        reps: Annotated[int, typer.Option("--reps", help="Replications.")] = 2000,
        seed: Annotated[int, typer.Option("--seed", help="Seed (same seed, same numbers).")] = 1,
        level: Annotated[
            str, typer.Option("--level", help="Date-stamping level: 90%, 95% or 99%.")
        ] = "95%",
        min_duration: Annotated[
            int | None,
            typer.Option("--min-duration", help="Minimum episode length (default log T)."),
        ] = None,
        workers: Annotated[
            int, typer.Option("--workers", help="Local processes for the simulation.")
        ] = 1,
        scheduler: Annotated[
            str | None, typer.Option("--scheduler", help="Dask scheduler address.")
        ] = None,
        start: Annotated[str | None, typer.Option("--start", help="First date.")] = None,
        asof: Annotated[str | None, typer.Option("--asof", help="Last date.")] = None,
        log: Annotated[
            bool, typer.Option("--log/--no-log", help="Test log prices (default) or levels.")
        ] = True,
    ) -> None:
        """PSY GSADF test with BSADF date-stamping of explosive episodes.

        Example: [bold]powderkeg bubble psy BTC-USD --freq W --reps 2000 --seed 1[/bold]
        """
        from powderkeg._validation import check_int, check_option
        from powderkeg.bubbles.psy import GSADF

        state: CliState = ctx.obj
        check_option(cv, "--cv", ("mc", "wild", "none"))
        check_int(workers, "--workers", minimum=1)
        check_int(reps, "--reps", minimum=10)
        if ic is not None:
            check_option(ic.lower(), "--ic", ("aic", "bic"))
        with state.open_store() as store:
            y, price = load_series(store, symbol, freq=freq, start=start, asof=asof, log=log)
            sources = store.provenance([symbol])
            test = GSADF(y, min_window=min_window, lags=lags, trend=trend, ic=ic)
            label = "Monte Carlo" if cv == "mc" else "wild bootstrap"
            with progress(state, f"{label} critical values") as update:
                result = test.fit(
                    None if cv == "none" else cv,
                    reps=reps,
                    seed=seed,
                    level=level,
                    min_duration=min_duration,
                    workers=workers,
                    scheduler=scheduler,
                    progress=update,
                    store=store,
                    price=price,
                    sources=sources,
                )
        result.provenance.parameters.update(
            {"symbol": symbol, "freq": freq.upper(), "log": log, "workers": workers}
        )
        emit(result, state)
