"""Bubble detection: PSY date-stamping, LPPLS confidence and bubble gauges.

Examples
--------
>>> import powderkeg as pk
>>> res = pk.bubbles.GSADF(prices).fit(cv="mc", reps=2000, seed=1)  # doctest: +SKIP
"""

from powderkeg.bubbles.critical_values import CriticalValues, MonteCarloCV, WildBootstrapCV
from powderkeg.bubbles.lppls import (
    LPPLS,
    LPPLSConfidence,
    LPPLSFilter,
    LPPLSFit,
    SearchBounds,
    confidence_indicator,
)
from powderkeg.bubbles.psy import GSADF, GSADFResult

__all__ = [
    "GSADF",
    "LPPLS",
    "CriticalValues",
    "GSADFResult",
    "LPPLSConfidence",
    "LPPLSFilter",
    "LPPLSFit",
    "MonteCarloCV",
    "SearchBounds",
    "WildBootstrapCV",
    "confidence_indicator",
]
