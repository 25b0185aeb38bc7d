"""Data layer: the DuckDB store, calendars, units, universes and sources."""
