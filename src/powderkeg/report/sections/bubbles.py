"""The report's Bubbles section: PSY date-stamping of BTC-USD, NVDA and the Nasdaq.

For each symbol present, GSADF on weekly log closes (Friday) with Monte Carlo critical
values seeded from ``ctx.seed`` and cached in the store (fewer replications with
``ctx.quick``), the BSADF-against-critical-value chart with shaded episodes under the
price, and a headline ("NVDA: in a PSY episode since ..." or "no explosive episode").
Weekly sampling keeps the O(T^2) simulation modest for multi-decade histories.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from powderkeg.report.context import Headline, ReportContext, Section

#: Symbols tested, in order.
SYMBOLS = ("BTC-USD", "NVDA", "^IXIC")
#: Monte Carlo replications (full report, quick report).
REPS = (499, 99)
#: Sampling frequency of the test.
FREQ = "W"
#: Most recent years used per symbol (keeps the simulation cheap for long histories).
YEARS = 15


def section(ctx: ReportContext) -> Section | None:
    """Build the Bubbles section (``None`` when none of the symbols is stored)."""
    from powderkeg.bubbles.psy import GSADF
    from powderkeg.data import calendars

    present = [s for s in SYMBOLS if ctx.available(s)]
    if not present:
        return None
    reps = REPS[1] if ctx.quick else REPS[0]
    sec = Section(
        "bubbles",
        "Bubbles: PSY explosive-episode date-stamping",
        intro=(
            "Generalized sup ADF test of Phillips, Shi & Yu (2015) on weekly log closes over "
            f"the last {YEARS} years. An episode is dated while the backward sup ADF (BSADF) "
            "sequence stays above its 95% Monte Carlo critical-value sequence for at least "
            f"log(T) weeks. Critical values: {reps} replications, seeded and cached."
        ),
        parameters={"symbols": present, "reps": reps, "freq": FREQ, "years": YEARS},
    )
    rows = []
    for sym in present:
        close = ctx.frame([sym])[sym].dropna()
        weekly = pd.Series(calendars.resample(close, FREQ), name=sym)
        if len(weekly):
            cutoff = weekly.index[-1] - np.timedelta64(int(YEARS * 365.25), "D")
            weekly = weekly.loc[weekly.index >= cutoff]
        weekly = weekly.loc[weekly.to_numpy() > 0]
        if len(weekly) < 60:
            sec.blocks.append(f"<p>{html.escape(sym)}: too few weekly observations.</p>")
            continue
        result = GSADF(np.log(weekly)).fit(
            cv="mc", reps=reps, seed=ctx.seed, store=ctx.store, price=weekly
        )
        line = result.headline(sym)
        sec.headlines.append(
            Headline(
                label=f"{sym} GSADF (p-value)",
                value=f"{result.stat:.2f} ({result.pvalue:.3f})",
                reading=line,
            )
        )
        fig = result.plot(title=f"{sym}: BSADF vs 95% critical value, episodes shaded")
        sec.blocks.append(fig)
        cvs = result.critical_values or {}
        rows.append(
            "<tr>"
            f"<td>{html.escape(sym)}</td><td>{result.nobs}</td><td>{result.stat:.2f}</td>"
            f"<td>{cvs.get('95%', float('nan')):.2f}</td><td>{result.pvalue:.3f}</td>"
            f"<td>{len(result.episodes)}</td><td>{html.escape(line)}</td></tr>"
        )
    if rows:
        sec.blocks.insert(
            0,
            "<table class='pk-table'><thead><tr><th>symbol</th><th>weeks</th><th>GSADF</th>"
            "<th>95% CV</th><th>p-value</th><th>episodes</th><th>reading</th></tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table>",
        )
    return sec
