"""Liquidity analytics: Fed net liquidity, money growth and BTC's liquidity beta.

Examples
--------
>>> import powderkeg as pk
>>> pk.liquidity.net_liquidity(store).latest  # doctest: +SKIP
"""

from powderkeg.liquidity.beta import liquidity_beta
from powderkeg.liquidity.capital import capital_scarcity
from powderkeg.liquidity.net_liquidity import net_liquidity

__all__ = ["capital_scarcity", "liquidity_beta", "net_liquidity"]
