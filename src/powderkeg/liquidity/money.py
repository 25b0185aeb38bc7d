r"""Money growth: US M2 (as of publication) and stablecoin supply as crypto-native liquidity.

M2 growth is computed from the monthly seasonally adjusted M2SL level (USD billions):

.. math::
    g^{YoY}_t = \frac{M_t}{M_{t-12}} - 1, \quad
    g^{3m}_t = \Big(\frac{M_t}{M_{t-3}}\Big)^{4} - 1, \quad
    g^{6m}_t = \Big(\frac{M_t}{M_{t-6}}\Big)^{2} - 1

Each month is known only from its H.6 publication date (observation month + 1 month 24 days,
:data:`powderkeg.data.calendars.PUBLICATION_LAGS`); an as-of date sees only the months
published by then.

Stablecoin supply is DefiLlama's aggregate of USD-pegged circulating supply (USD), growth over
30 and 90 calendar days. Its early history covers few coins (USD 110 thousand in January 2018,
when USDT alone was above USD 1 billion), so only days with at least
:data:`STABLECOIN_MIN_USD` are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import optional_date
from powderkeg.data import calendars
from powderkeg.exceptions import InsufficientDataError
from powderkeg.results import Provenance, Result, Summary, Table

M2, STABLECOIN = "M2SL", "STABLECOIN_SUPPLY"
#: Days of the DefiLlama aggregate below this level (USD) are treated as incomplete coverage.
STABLECOIN_MIN_USD = 10e9
STABLECOIN_HORIZONS = (30, 90)


def reliable_stablecoin(series: pd.Series) -> pd.Series:
    """Drop the incomplete early history of the stablecoin aggregate.

    Keeps the days from the first one at or above :data:`STABLECOIN_MIN_USD` on.
    """
    s = series.dropna()
    ok = np.flatnonzero(s.to_numpy() >= STABLECOIN_MIN_USD)
    return s.iloc[ok[0] :] if len(ok) else s.iloc[:0]


def m2_growth(levels: pd.Series, lag: pd.DateOffset | pd.offsets.BaseOffset) -> pd.DataFrame:
    """Monthly M2 growth rates with publication dates.

    Parameters
    ----------
    levels : Series
        Monthly M2 levels indexed by observation month.
    lag : DateOffset
        Publication lag (``pub_date = month + lag``).

    Returns
    -------
    DataFrame
        Indexed by month; ``pub_date``, ``level``, ``yoy``, ``ann_3m``, ``ann_6m`` (percent).
    """
    s = levels.dropna().sort_index().asfreq("MS")
    out = pd.DataFrame({"level": s})
    out.index.name = "month"
    out.insert(0, "pub_date", pd.DatetimeIndex(s.index) + lag)
    out["yoy"] = 100.0 * (s / s.shift(12) - 1.0)
    out["ann_3m"] = 100.0 * ((s / s.shift(3)) ** 4 - 1.0)
    out["ann_6m"] = 100.0 * ((s / s.shift(6)) ** 2 - 1.0)
    return out.dropna(subset=["level"])


def stablecoin_growth(supply: pd.Series) -> pd.DataFrame:
    """Stablecoin supply (USD bn) and its growth (percent) over 30 and 90 calendar days."""
    s = reliable_stablecoin(supply).sort_index()
    days = pd.date_range(s.index[0], s.index[-1], freq="D") if len(s) else s.index
    s = s.reindex(days).ffill()
    out = pd.DataFrame({"supply_bn": s / 1e9})
    out.index.name = "date"
    for h in STABLECOIN_HORIZONS:
        out[f"growth_{h}d"] = 100.0 * (s / s.shift(h) - 1.0)
    return out


@dataclass
class MoneyResult(Result):
    """M2 and stablecoin-supply growth as of a date.

    Attributes
    ----------
    m2 : DataFrame
        See :func:`m2_growth` (only months published by ``asof``).
    stablecoins : DataFrame or None
        See :func:`stablecoin_growth`; ``None`` when the store has no stablecoin series.
    asof : Timestamp
    """

    m2: pd.DataFrame
    stablecoins: pd.DataFrame | None
    asof: pd.Timestamp
    provenance: Provenance = field(default_factory=Provenance)

    def _latest(self) -> dict[str, Any]:
        m = self.m2.iloc[-1]
        out: dict[str, Any] = {
            "asof": self.asof,
            "m2": {
                "month": self.m2.index[-1],
                "published": m["pub_date"],
                "level_bn": m["level"],
                "yoy_pct": m["yoy"],
                "ann_3m_pct": m["ann_3m"],
                "ann_6m_pct": m["ann_6m"],
            },
            "stablecoins": None,
        }
        if self.stablecoins is not None and len(self.stablecoins):
            st = self.stablecoins.iloc[-1]
            out["stablecoins"] = {
                "date": self.stablecoins.index[-1],
                "supply_bn": st["supply_bn"],
                **{f"growth_{h}d_pct": st[f"growth_{h}d"] for h in STABLECOIN_HORIZONS},
            }
        return out

    def _payload(self) -> dict[str, Any]:
        return {
            **self._latest(),
            "units": {"m2": "USD billions (SA)", "stablecoins": "USD billions", "growth": "%"},
            "alignment": _ALIGNMENT,
            "m2_series": self.m2.reset_index().to_dict(orient="records"),
            "stablecoin_series": (
                None
                if self.stablecoins is None
                else self.stablecoins.reset_index().to_dict(orient="records")
            ),
        }

    def summary(self) -> Summary:
        """Latest growth rates and the last 13 published months."""
        latest = self._latest()
        m = latest["m2"]
        facts: list[tuple[str, Any]] = [
            ("as of", self.asof),
            ("M2 latest month (published)", f"{m['month']:%Y-%m} ({m['published']:%Y-%m-%d})"),
            ("M2 level (USD bn)", m["level_bn"]),
            ("M2 YoY (%)", m["yoy_pct"]),
            ("M2 3m annualised (%)", m["ann_3m_pct"]),
            ("M2 6m annualised (%)", m["ann_6m_pct"]),
        ]
        st = latest["stablecoins"]
        if st is not None:
            facts += [
                ("stablecoin supply (USD bn)", st["supply_bn"]),
                ("stablecoin 30d growth (%)", st["growth_30d_pct"]),
                ("stablecoin 90d growth (%)", st["growth_90d_pct"]),
            ]
        recent = self.m2.tail(13).copy()
        recent.index = pd.DatetimeIndex(recent.index).strftime("%Y-%m")
        recent.columns = ["published", "M2 (USD bn)", "YoY %", "3m ann. %", "6m ann. %"]
        return Summary(
            f"Money growth as of {self.asof:%Y-%m-%d}",
            facts=facts,
            tables=[Table.from_frame("M2SL by month (as published)", recent)],
            notes=[
                "Sources: M2SL (FRED H.6, monthly, seasonally adjusted, USD billions); "
                "STABLECOIN_SUPPLY (DefiLlama aggregate of USD-pegged stablecoins, USD).",
                _ALIGNMENT,
                f"Stablecoin days below USD {STABLECOIN_MIN_USD / 1e9:g} bn (incomplete early "
                "DefiLlama coverage) are not used.",
            ],
        )

    def to_frame(self) -> pd.DataFrame:
        """The monthly M2 table."""
        return self.m2

    def plot(self) -> Any:
        """M2 growth rates (top) and stablecoin supply growth (bottom)."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        from powderkeg.figures import TEMPLATE

        fig = make_subplots(
            rows=2, cols=1, subplot_titles=("M2 growth (%)", "Stablecoin supply growth (%)")
        )
        for col, label in (("yoy", "YoY"), ("ann_3m", "3m ann."), ("ann_6m", "6m ann.")):
            fig.add_trace(go.Scatter(x=self.m2["pub_date"], y=self.m2[col], name=label), 1, 1)
        if self.stablecoins is not None:
            for h in STABLECOIN_HORIZONS:
                fig.add_trace(
                    go.Scatter(
                        x=self.stablecoins.index, y=self.stablecoins[f"growth_{h}d"], name=f"{h}d"
                    ),
                    2,
                    1,
                )
        fig.update_layout(template=TEMPLATE, height=520, legend={"orientation": "h"})
        return fig


_ALIGNMENT = (
    "As of publication: an M2 month counts from its H.6 release (month + 1 month 24 days); "
    "stablecoin supply from its own day (M2 is plotted on release dates)."
)


def money(store: Any, asof: Any = None) -> MoneyResult:
    """M2 and stablecoin-supply growth from the store.

    Parameters
    ----------
    store : Store
        Must hold M2SL; STABLECOIN_SUPPLY is used when present.
    asof : date-like, optional
        Only data published by this day (default: the later of the last M2 release and the
        last stablecoin day).

    Returns
    -------
    MoneyResult
    """
    a = optional_date(asof, "asof")
    info = store.series_info(M2)
    lag = calendars.publication_lag(M2, info["frequency"])
    m2 = m2_growth(store.history(M2)["value"], lag)
    if a is not None:
        m2 = m2.loc[m2["pub_date"] <= a]
    if len(m2) < 13:
        raise InsufficientDataError("fewer than 13 published M2 months")
    stable = None
    used = [M2]
    if STABLECOIN in store.symbols():
        sup = store.frame([STABLECOIN], end=a)[STABLECOIN]
        if len(reliable_stablecoin(sup)):
            stable = stablecoin_growth(sup)
            used.append(STABLECOIN)
    if a is None:
        last = [m2["pub_date"].iloc[-1]] + ([stable.index[-1]] if stable is not None else [])
        a = pd.Timestamp(max(last))
    return MoneyResult(
        m2=m2,
        stablecoins=stable,
        asof=a,
        provenance=Provenance(sources=store.provenance(used), parameters={"asof": asof}),
    )
