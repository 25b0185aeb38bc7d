"""Loading one stored series, shared by the single-series commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from powderkeg.data.store import Store


def one_series(symbol: str) -> str:
    """Return ``symbol``, refusing a universe name where one series is needed.

    :meth:`Store.frame` expands universe names (``ai``, ``liquidity``...) into their
    members, which a single-series command cannot use.

    Raises
    ------
    UnknownSymbolError
        If ``symbol`` names a universe (the message lists its members).
    """
    from powderkeg.data.universe import UNIVERSES
    from powderkeg.exceptions import UnknownSymbolError

    members = UNIVERSES.get(symbol.lower())
    if members is not None:
        raise UnknownSymbolError(
            symbol,
            f"symbol must name one stored series; {symbol!r} is a universe of "
            f"{len(members)}: {', '.join(members)}",
        )
    return symbol


def stored_series(store: Store, symbol: str, end: pd.Timestamp | None = None) -> pd.Series:
    """The main values of one stored series (close for prices) up to ``end``, NaNs dropped.

    Raises
    ------
    UnknownSymbolError
        If ``symbol`` is a universe name or is not stored.
    """
    frame = store.frame([one_series(symbol)], end=end)
    values = frame[symbol].dropna()
    values.name = symbol
    return values
