"""Linkage analytics: is BTC chained to the AI trade, or to liquidity?"""
