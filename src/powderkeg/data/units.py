"""Unit normalisation: scale factors between monetary units.

RRP is published in USD billions while WALCL and TGA are in USD millions; every computation
that mixes series converts them to one unit first.
"""

from __future__ import annotations

from powderkeg.exceptions import InputError

_SCALES = {
    "usd": 1.0,
    "usd thousands": 1e3,
    "usd millions": 1e6,
    "usd billions": 1e9,
    "usd trillions": 1e12,
}
_ALIASES = {
    "usd mn": "usd millions",
    "usd bn": "usd billions",
    "usd tn": "usd trillions",
    "millions of dollars": "usd millions",
    "billions of dollars": "usd billions",
    "$mn": "usd millions",
    "$bn": "usd billions",
}


def _canonical(unit: str) -> str:
    key = " ".join(unit.strip().lower().split())
    return _ALIASES.get(key, key)


def convertible(from_unit: str, to_unit: str) -> bool:
    """Return True when both units are known monetary scales of the same currency."""
    return _canonical(from_unit) in _SCALES and _canonical(to_unit) in _SCALES


def factor(from_unit: str, to_unit: str) -> float:
    """Return the multiplier that converts values in ``from_unit`` to ``to_unit``.

    Examples
    --------
    >>> factor("USD billions", "USD millions")
    1000.0
    """
    a, b = _canonical(from_unit), _canonical(to_unit)
    if a not in _SCALES or b not in _SCALES:
        raise InputError(f"cannot convert {from_unit!r} to {to_unit!r}: unknown monetary unit")
    return _SCALES[a] / _SCALES[b]
