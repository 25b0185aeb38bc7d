"""Contagion: fire sales, clearing, stablecoin runs, policy and the system engine."""
