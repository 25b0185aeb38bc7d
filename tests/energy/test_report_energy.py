"""The Energy report section on the real store."""

from __future__ import annotations

import pandas as pd

from powderkeg.report.context import ReportContext
from powderkeg.report.sections.energy import section


def test_section(real_store) -> None:  # type: ignore[no-untyped-def]
    ctx = ReportContext(store=real_store, asof=pd.Timestamp("2025-06-30"))
    sec = section(ctx)
    assert sec.key == "energy"
    labels = [h.label for h in sec.headlines]
    assert labels == [
        "Hashprice",
        "Mining vs AI per MWh (all-in)",
        "GPU lease NPV, base vs ai-correction",
    ]
    assert sec.parameters["asof"] == "2025-06-30"
    figs = [b for b in sec.blocks if not isinstance(b, str)]
    assert len(figs) == 4  # hashprice history, mining vs AI, dispatch, lease cash flows
    hist = figs[0].data[0]
    assert str(pd.Timestamp(hist.x[-1]).date()) == "2025-06-30"
    assert 20 < hist.y[-1] < 120  # USD/PH/day in mid-2025
    assert "BTC-USD" in ctx.used_symbols
