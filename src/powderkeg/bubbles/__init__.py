"""Bubble detection: PSY date-stamping, LPPLS confidence and bubble gauges."""
