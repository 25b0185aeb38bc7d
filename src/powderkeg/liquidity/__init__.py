"""Liquidity analytics: Fed net liquidity, money growth and BTC's liquidity beta."""
