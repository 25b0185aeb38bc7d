"""Linkage analytics: is BTC chained to the AI trade, or only to liquidity.

Examples
--------
>>> import powderkeg as pk
>>> prices = store.frame(["BTC-USD", "^IXIC"])  # doctest: +SKIP
>>> pk.linkage.correlate(prices, "BTC-USD", "^IXIC", window=30).value  # doctest: +SKIP
"""

from powderkeg.linkage.beta import asymmetric_beta
from powderkeg.linkage.correlation import correlate, rolling_corr, rolling_corr_matrix
from powderkeg.linkage.dcc import DCC, DCCResult
from powderkeg.linkage.events import event_study
from powderkeg.linkage.leadlag import lead_lag
from powderkeg.linkage.partial import partial_correlation
from powderkeg.linkage.regimes import MarkovSwitching
from powderkeg.linkage.spurious import spurious_check
from powderkeg.linkage.tail import tail_dependence

__all__ = [
    "DCC",
    "DCCResult",
    "MarkovSwitching",
    "asymmetric_beta",
    "correlate",
    "event_study",
    "lead_lag",
    "partial_correlation",
    "rolling_corr",
    "rolling_corr_matrix",
    "spurious_check",
    "tail_dependence",
]
