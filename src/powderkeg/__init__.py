"""powderkeg: a risk lab for the AI-equity / crypto / liquidity complex.

Examples
--------
>>> import powderkeg as pk
>>> store = pk.Store(":memory:")
>>> store.list_series().empty
True
"""

from __future__ import annotations

import importlib
from types import ModuleType

from powderkeg._version import __version__
from powderkeg.data.store import Store
from powderkeg.data.universe import UNIVERSES, universe

#: Analytics packages, imported on first use so that ``import powderkeg`` (and the CLI) stay fast.
_LAZY = ("bubbles", "contagion", "energy", "linkage", "liquidity", "scenarios", "synthetic")

__all__ = ["UNIVERSES", "Store", "__version__", "universe", *_LAZY]


def __getattr__(name: str) -> ModuleType:
    if name in _LAZY:
        return importlib.import_module(f"powderkeg.{name}")
    raise AttributeError(f"module 'powderkeg' has no attribute {name!r}")
