"""Named baskets of symbols ("universes")."""

from __future__ import annotations

from collections.abc import Sequence

UNIVERSES: dict[str, tuple[str, ...]] = {
    "ai": ("NVDA", "AMD", "AVGO", "ORCL", "MU", "MSFT", "GOOGL", "AMZN", "META"),
    "mag7": ("AAPL", "MSFT", "GOOGL", "AMZN", "META", "NVDA", "TSLA"),
    "crypto": ("BTC-USD", "ETH-USD"),
    "indices": ("^IXIC", "^NDX", "^GSPC"),
    "liquidity": ("WALCL", "TGA", "RRPONTSYD", "M2SL", "DGS10", "BAMLH0A0HYM2", "DTWEXBGS"),
}


def universe(name: str) -> list[str]:
    """Return the symbols of a named universe.

    Known names: ``ai``, ``mag7``, ``crypto``, ``indices`` and ``liquidity``.

    Examples
    --------
    >>> universe("crypto")
    ['BTC-USD', 'ETH-USD']
    """
    from powderkeg.exceptions import InputError

    key = name.lower()
    if key not in UNIVERSES:
        raise InputError(f"unknown universe {name!r}; known: {', '.join(UNIVERSES)}")
    return list(UNIVERSES[key])


def expand(symbols: str | Sequence[str]) -> list[str]:
    """Expand universe names (case-insensitive) in a list of symbols, keeping order, no repeats."""
    items = [symbols] if isinstance(symbols, str) else list(symbols)
    out: list[str] = []
    for item in items:
        for sym in UNIVERSES.get(item.lower(), (item,)):
            if sym not in out:
                out.append(sym)
    return out
