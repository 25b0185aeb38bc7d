"""Liquidity commands (``powderkeg liq ...``, ``GET /api/liq/...``) as functions of a store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from powderkeg.data.store import Store
    from powderkeg.results import Result


def net(store: Store, *, start: str | None = None, asof: str | None = None) -> Result:
    """Fed net liquidity = WALCL − TGA − RRP in USD billions, as published (``liq net``)."""
    from powderkeg.liquidity.net_liquidity import net_liquidity

    return net_liquidity(store, start=start, asof=asof)


def beta(
    store: Store,
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
    """Weekly liquidity beta of one series at lags 0..N (``liq beta``)."""
    from powderkeg.liquidity.beta import liquidity_beta
    from powderkeg.service._inputs import one_series

    return liquidity_beta(
        store,
        one_series(symbol),
        max_lag_weeks,
        start=start,
        asof=asof,
        extras=tuple(extras),
        hac_lags=hac_lags,
        alpha=alpha,
        measure=measure,
        sample_on=sample_on,
    )


def money(store: Store, *, asof: str | None = None) -> Result:
    """M2 growth and stablecoin supply growth (``liq money``)."""
    from powderkeg.liquidity.money import money as money_growth

    return money_growth(store, asof=asof)


def capital(
    store: Store, *, window: int = 63, asof: str | None = None, min_score: float = 4.0
) -> Result:
    """Capital-scarcity ('reverse QE') monitor (``liq capital``)."""
    from powderkeg.liquidity.capital import capital_scarcity

    return capital_scarcity(store, window, asof=asof, min_score=min_score)
