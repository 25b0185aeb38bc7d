"""Liquidity analytics: Fed net liquidity, money growth and BTC's liquidity beta.

Examples
--------
>>> import powderkeg as pk
>>> pk.liquidity.liquidity_beta(store, "BTC-USD")  # doctest: +SKIP
"""

from powderkeg.liquidity.beta import liquidity_beta
from powderkeg.liquidity.capital import capital_scarcity

__all__ = ["capital_scarcity", "liquidity_beta"]
