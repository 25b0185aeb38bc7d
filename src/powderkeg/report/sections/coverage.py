"""Report section: data coverage, quality and price panels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from powderkeg.data.quality import check
from powderkeg.figures import line_chart
from powderkeg.report.context import Headline, ReportContext, Section

PANELS = (("BTC-USD", "ETH-USD"), ("NVDA", "AMD", "AVGO", "ORCL", "MU"), ("^IXIC", "^GSPC", "^NDX"))


def section(ctx: ReportContext) -> Section | None:
    """Coverage table, quality flags and rebased price panels."""
    listing = ctx.store.list_series(asof=ctx.asof)
    if listing.empty:
        return None
    sec = Section("coverage", "Data coverage and quality")
    sec.intro = (
        f"{len(listing)} series, {int(listing['n_obs'].sum()):,} observations. "
        "Prices on their own calendars (crypto 24/7, equities on exchange sessions); "
        "macro series dated as of publication."
    )
    table = listing[
        ["kind", "unit", "frequency", "first_date", "last_date", "n_obs", "source"]
    ].copy()
    for col in ("first_date", "last_date"):
        table[col] = table[col].dt.strftime("%Y-%m-%d")
    sec.blocks.append(
        f"<details><summary>Series table ({len(table)} series)</summary>"
        + table.to_html(classes="pk-table", border=0, escape=True)
        + "</details>"
    )
    sec.blocks.extend(_quality_blocks(ctx))
    start = (ctx.asof or pd.Timestamp(listing["last_date"].max())) - pd.DateOffset(years=3)
    for panel in PANELS:
        syms = [s for s in panel if s in listing.index]
        if not syms:
            continue
        frame = ctx.frame(syms, start=start, calendar="union")
        rebased = {
            s: (frame[s].dropna() / frame[s].dropna().iloc[0] * 100)
            for s in syms
            if frame[s].notna().any()
        }
        sec.blocks.append(
            line_chart(rebased, f"{', '.join(syms)} (rebased to 100)", "index", log_y=True)
        )
    prices = listing[listing["kind"] == "price"]
    last = (prices if len(prices) else listing)["last_date"].max()
    macro_last = listing.loc[listing["kind"] == "macro", "last_date"].max()
    macro = f"; macro series through {macro_last:%Y-%m-%d}" if pd.notna(macro_last) else ""
    sec.headlines.append(
        Headline(
            "Prices through",
            f"{last:%Y-%m-%d}",
            f"latest market close across {len(prices)} price series{macro}",
        )
    )
    return sec


def _quality_blocks(ctx: ReportContext) -> list[str]:
    report = check(ctx.store, None)
    frame = report.to_frame()
    if ctx.asof is not None:  # only flags about data that existed then
        frame = frame[~(pd.to_datetime(frame["date"]) > ctx.asof)]
    if frame.empty:
        return ["<p>No data-quality issues found.</p>"]
    counts = frame.groupby(["symbol", "check"]).size().unstack(fill_value=0)
    total = int(np.asarray(counts.to_numpy()).sum())
    note = f"<p>{total} data-quality flags (see <code>powderkeg data check</code>).</p>"
    table = counts.to_html(classes="pk-table", border=0, escape=True)
    return [note, f"<details><summary>Flags by series and check</summary>{table}</details>"]
