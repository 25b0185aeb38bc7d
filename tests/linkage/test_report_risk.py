"""The linkage report's DCC, beta and co-crash blocks agree with the analytics they quote."""

from __future__ import annotations

import pandas as pd
import pytest

from powderkeg.data.store import Store
from powderkeg.linkage.tail import tail_dependence
from powderkeg.report.context import ReportContext
from powderkeg.report.sections.linkage import section
from powderkeg.synthetic import market
from powderkeg.transforms import returns


@pytest.fixture(scope="module")
def synthetic_store() -> Store:
    store = Store(":memory:")
    store.ingest(market(seed=11).series, source="synthetic", target="test")
    return store


def test_linkage_section_quotes_its_analytics(synthetic_store: Store) -> None:
    sec = section(ReportContext(store=synthetic_store))
    heads = {h.label: h for h in sec.headlines}
    prices = synthetic_store.frame(["BTC-USD", "NVDA", "^IXIC"])
    start = prices.index[-1] - pd.DateOffset(years=6)
    rets = returns(prices.loc[prices.index >= start], "log")
    tail = tail_dependence(rets["BTC-USD"], rets["NVDA"], q=0.05)
    assert heads["P(BTC crash | NVDA crash)"].value == f"{tail.co_crash['a_given_b']:.0%}"
    assert "DCC(1,1)" in heads["BTC–NVDA conditional correlation (DCC)"].reading
    dcc_value = float(heads["BTC–NVDA conditional correlation (DCC)"].value)
    assert -1.0 < dcc_value < 1.0
    figures = [b for b in sec.blocks if not isinstance(b, str)]
    assert len(figures) >= 4  # returns-vs-levels, DCC path, betas, co-crash path


def test_linkage_section_absent_without_inputs() -> None:
    assert section(ReportContext(store=Store(":memory:"))) is None
