"""Scenario paths, such as the two-phase BTC path."""
