"""powderkeg: a risk lab for the AI-equity / crypto / liquidity complex.

Examples
--------
>>> import powderkeg as pk
>>> store = pk.Store(":memory:")
>>> store.list_series().empty
True
"""

from __future__ import annotations

__version__ = "0.1.0"

from powderkeg.data.store import Store
from powderkeg.data.universe import UNIVERSES, universe

__all__ = ["UNIVERSES", "Store", "__version__", "universe"]
