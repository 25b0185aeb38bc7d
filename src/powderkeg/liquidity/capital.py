"""Capital-scarcity ("reverse QE") monitor, model-spec §5.5.

The thesis: AI capex financed in the bond market drains idle capital; once the ON RRP buffer is
gone, the remainder crowds out other holdings, raising yields and credit spreads and hitting
long-duration speculative assets (BTC, high-multiple tech) harder than assets that earn cash
today (memory makers). This monitor checks whether the data over a window show that pattern.

Five components, each compared with a printed threshold over the last ``window`` NYSE sessions
(all macro series as of publication):

=====================  ==========================================  ===================
component              measure                                     condition (default)
=====================  ==========================================  ===================
10y yield (DGS10)      change, bp                                  > +10 bp
HY OAS (BAMLH0A0HYM2)  change, bp                                  > +10 bp
Broad dollar DTWEXBGS  log change, %                               > 0 %
Net liquidity          log change, %                               < 0 %
Duration spread        long-duration basket − cash-flow basket,    < 0 %
                       equal-weighted log returns, %
=====================  ==========================================  ===================

Every component has weight 1; its contribution is 1 when its condition holds, else 0. The
regime is **shown** when the duration spread is negative *and* the score is at least
``min_score`` (default 4 of 5). No other weights exist. ON RRP is printed as context (the
idle-capital buffer of §5.5 step 1), not scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import check_int, optional_date
from powderkeg.data import calendars
from powderkeg.exceptions import InsufficientDataError
from powderkeg.results import Provenance, Result, Summary, Table

LONG_DURATION = ("BTC-USD", "NVDA", "AMD", "TSLA")
CASH_FLOW = ("MU", "SNDK.UNADJ")
HY, HY_RECENT = "BAMLH0A0HYM2", "BAMLH0A0HYM2.RECENT"
#: Default thresholds (units as in the component table).
THRESHOLDS = {
    "dgs10_bp": 10.0,
    "hy_oas_bp": 10.0,
    "dollar_pct": 0.0,
    "net_liquidity_pct": 0.0,
    "duration_spread_pct": 0.0,
}
#: A basket member counts only if it has a close within this many days of both window ends.
MAX_STALE_DAYS = 5


def value_at(series: pd.Series, day: pd.Timestamp) -> tuple[float, pd.Timestamp | None]:
    """The last value on or before ``day`` and its date (``nan, None`` if there is none)."""
    s = series.dropna()
    pos = int(s.index.searchsorted(day, side="right")) - 1
    if pos < 0:
        return float("nan"), None
    return float(s.iloc[pos]), pd.Timestamp(s.index[pos])


@dataclass
class Component:
    """One scored component."""

    name: str
    measure: str
    start_value: float
    end_value: float
    change: float
    unit: str
    condition: str
    threshold: float
    met: bool
    weight: float = 1.0

    @property
    def contribution(self) -> float:
        """``weight`` if the condition holds, else 0."""
        return self.weight if self.met else 0.0


@dataclass
class CapitalScarcityResult(Result):
    """The monitor's components, baskets and verdict over one window."""

    asof: pd.Timestamp
    start: pd.Timestamp
    window: int
    components: list[Component]
    members: pd.DataFrame
    min_score: float
    rrp_bn: float
    excluded: list[str]
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def score(self) -> float:
        """Sum of contributions."""
        return float(sum(c.contribution for c in self.components))

    @property
    def regime(self) -> bool:
        """True when the spread condition holds and the score reaches ``min_score``."""
        spread = next(c for c in self.components if c.name == "duration spread")
        return bool(spread.met and self.score >= self.min_score)

    def verdict(self) -> str:
        """One sentence with the score and the rule."""
        state = "SHOWN" if self.regime else "NOT shown"
        return (
            f"Capital-scarcity regime {state} over {self.start:%Y-%m-%d} to {self.asof:%Y-%m-%d}: "
            f"score {self.score:g}/{len(self.components)} (rule: duration spread < 0 and score "
            f">= {self.min_score:g})."
        )

    def component_frame(self) -> pd.DataFrame:
        """One row per component with values, threshold, condition and contribution."""
        return pd.DataFrame(
            [
                {
                    "component": c.name,
                    "measure": c.measure,
                    "start": c.start_value,
                    "end": c.end_value,
                    "change": c.change,
                    "unit": c.unit,
                    "condition": c.condition,
                    "threshold": c.threshold,
                    "met": c.met,
                    "weight": c.weight,
                    "contribution": c.contribution,
                }
                for c in self.components
            ]
        ).set_index("component")

    def _payload(self) -> dict[str, Any]:
        return {
            "asof": self.asof,
            "start": self.start,
            "window": self.window,
            "regime": self.regime,
            "score": self.score,
            "max_score": float(sum(c.weight for c in self.components)),
            "min_score": self.min_score,
            "verdict": self.verdict(),
            "components": self.component_frame().reset_index().to_dict(orient="records"),
            "baskets": self.members.reset_index().to_dict(orient="records"),
            "excluded": self.excluded,
            "rrp_bn": self.rrp_bn,
        }

    def summary(self) -> Summary:
        """Components with values, thresholds and contributions; basket members; verdict."""
        frame = self.component_frame()
        comp = frame[["change", "unit", "condition", "met", "contribution"]]
        levels = frame.loc[frame["start"].notna(), ["measure", "start", "end"]]
        notes = [
            self.verdict(),
            "Each component has weight 1; contribution = weight if its condition holds. "
            "Thresholds: " + "; ".join(f"{c.name} {c.condition}" for c in self.components) + ".",
            "Sources: DGS10 (%), BAMLH0A0HYM2 (HY OAS, %, extended by BAMLH0A0HYM2.RECENT), "
            "DTWEXBGS (index), net liquidity WALCL − TGA − RRP (USD bn), closes of the basket "
            "members. Macro series as of publication; window in NYSE sessions.",
        ]
        if self.excluded:
            notes.append(
                "Excluded (no close within "
                f"{MAX_STALE_DAYS} days of a window end): {', '.join(self.excluded)}."
            )
        return Summary(
            f"Capital-scarcity ('reverse QE') monitor, {self.window} sessions to "
            f"{self.asof:%Y-%m-%d}",
            facts=[
                ("window", f"{self.start:%Y-%m-%d} to {self.asof:%Y-%m-%d}"),
                ("score", f"{self.score:g} / {len(self.components)}"),
                ("regime shown", self.regime),
                ("ON RRP (USD bn, context: idle-capital buffer)", self.rrp_bn),
            ],
            tables=[
                Table.from_frame("Components (condition = threshold test)", comp),
                Table.from_frame("Levels at the window ends", levels),
                Table.from_frame("Basket members (log return over the window, %)", self.members),
            ],
            notes=notes,
        )

    def to_frame(self) -> pd.DataFrame:
        """The component table."""
        return self.component_frame()

    def plot(self) -> Any:
        """Each component's change against its threshold."""
        import plotly.graph_objects as go

        from powderkeg.figures import TEMPLATE

        comp = self.component_frame()
        labels = [f"{n} ({u})" for n, u in zip(comp.index, comp["unit"])]
        fig = go.Figure(
            go.Bar(
                x=labels,
                y=comp["change"],
                marker_color=["#d9480f" if m else "#868e96" for m in comp["met"]],
                name="change",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=[c.threshold for c in self.components],
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 30, "color": "#1d2330"},
                name="threshold",
            )
        )
        fig.update_layout(
            title="Capital-scarcity components over the window (orange: condition met)",
            template=TEMPLATE,
            height=340,
            margin={"l": 50, "r": 20, "t": 50, "b": 60},
        )
        return fig


def _hy_oas(store: Any, end: pd.Timestamp | None) -> pd.Series:
    """HY OAS, the long history extended by the recent file after its last date."""
    have = set(store.symbols())
    main = store.frame([HY], end=end)[HY] if HY in have else pd.Series(dtype="float64")
    if HY_RECENT in have:
        rec = store.frame([HY_RECENT], end=end)[HY_RECENT]
        if len(main):
            rec = rec.loc[rec.index > main.index[-1]]
        main = pd.concat([main, rec])
    return main.rename(HY)


def capital_scarcity(
    store: Any,
    window: int = 63,
    *,
    asof: Any = None,
    long_duration: tuple[str, ...] = LONG_DURATION,
    cash_flow: tuple[str, ...] = CASH_FLOW,
    thresholds: dict[str, float] | None = None,
    min_score: float = 4.0,
) -> CapitalScarcityResult:
    """Check whether the last ``window`` sessions show a capital-scarcity regime.

    Parameters
    ----------
    store : Store
    window : int, default 63
        NYSE sessions (about three months).
    asof : date-like, optional
        End of the window (default: the last day on which every macro component has been
        published, so none is stale).
    long_duration, cash_flow : tuple of str
        Basket members (equal-weighted log returns); members without closes near both window
        ends are excluded and listed.
    thresholds : dict, optional
        Overrides of :data:`THRESHOLDS`.
    min_score : float, default 4
        Score needed (with a negative duration spread) to call the regime.

    Returns
    -------
    CapitalScarcityResult
    """
    from powderkeg.liquidity.net_liquidity import net_liquidity

    w = check_int(window, "window", minimum=5, maximum=2520)
    th = dict(THRESHOLDS)
    th.update(thresholds or {})
    a = optional_date(asof, "asof")
    dgs10 = store.frame(["DGS10"], end=a)["DGS10"]
    hy = _hy_oas(store, a)
    usd = store.frame(["DTWEXBGS"], end=a)["DTWEXBGS"]
    nl = net_liquidity(store, asof=a)
    nl_series = nl.daily["net_liquidity"]
    if a is None:
        a = min(pd.Timestamp(s.index[-1]) for s in (dgs10, hy, usd, nl_series) if len(s))
    sess = calendars.sessions("XNYS", a - pd.Timedelta(days=int(w * 1.6) + 30), a)
    if len(sess) < w + 1:
        raise InsufficientDataError(f"fewer than {w + 1} NYSE sessions before {a:%Y-%m-%d}")
    start = pd.Timestamp(sess[-(w + 1)])

    def level_change(s: pd.Series, name: str) -> tuple[float, float]:
        v0, d0 = value_at(s, start)
        v1, d1 = value_at(s, a)
        if d0 is None or d1 is None:
            raise InsufficientDataError(f"{name} has no value on or before {start:%Y-%m-%d}")
        return v0, v1

    y0, y1 = level_change(dgs10, "DGS10")
    h0, h1 = level_change(hy, HY)
    u0, u1 = level_change(usd, "DTWEXBGS")
    n0, n1 = level_change(nl_series, "net liquidity")

    rows, excluded = [], []
    for basket, basket_members in (("long duration", long_duration), ("cash flow", cash_flow)):
        for sym in basket_members:
            if sym not in store.symbols():
                excluded.append(sym)
                continue
            close = store.frame([sym], end=a)[sym]
            p0, d0 = value_at(close, start)
            p1, d1 = value_at(close, a)
            stale = (
                d0 is None
                or d1 is None
                or (start - d0).days > MAX_STALE_DAYS
                or (a - d1).days > MAX_STALE_DAYS
            )
            if stale:
                excluded.append(sym)
                continue
            rows.append(
                {
                    "symbol": sym,
                    "basket": basket,
                    "start_close": p0,
                    "end_close": p1,
                    "log_return_pct": 100.0 * np.log(p1 / p0),
                }
            )
    members = pd.DataFrame(
        rows, columns=["symbol", "basket", "start_close", "end_close", "log_return_pct"]
    ).set_index("symbol")
    means = members.groupby("basket")["log_return_pct"].mean()
    if "long duration" not in means or "cash flow" not in means:
        raise InsufficientDataError(
            "each basket needs at least one member with closes at both window ends "
            f"(excluded: {', '.join(excluded) or 'none'})"
        )
    spread = float(means["long duration"] - means["cash flow"])
    comps = [
        Component(
            "10y yield",
            "DGS10 change",
            y0,
            y1,
            100 * (y1 - y0),
            "bp",
            f"> +{th['dgs10_bp']:g} bp (rising)",
            th["dgs10_bp"],
            100 * (y1 - y0) > th["dgs10_bp"],
        ),
        Component(
            "HY OAS",
            "BAMLH0A0HYM2 change",
            h0,
            h1,
            100 * (h1 - h0),
            "bp",
            f"> +{th['hy_oas_bp']:g} bp (widening)",
            th["hy_oas_bp"],
            100 * (h1 - h0) > th["hy_oas_bp"],
        ),
        Component(
            "broad dollar",
            "DTWEXBGS log change",
            u0,
            u1,
            100 * np.log(u1 / u0),
            "%",
            f"> {th['dollar_pct']:g} % (strengthening)",
            th["dollar_pct"],
            100 * np.log(u1 / u0) > th["dollar_pct"],
        ),
        Component(
            "net liquidity",
            "WALCL − TGA − RRP log change (USD bn levels)",
            n0,
            n1,
            100 * np.log(n1 / n0),
            "%",
            f"< {th['net_liquidity_pct']:g} % (falling)",
            th["net_liquidity_pct"],
            100 * np.log(n1 / n0) < th["net_liquidity_pct"],
        ),
        Component(
            "duration spread",
            f"long-duration mean {means['long duration']:.2f}% − cash-flow mean "
            f"{means['cash flow']:.2f}%",
            float("nan"),
            float("nan"),
            spread,
            "%",
            f"< {th['duration_spread_pct']:g} % (long duration lagging)",
            th["duration_spread_pct"],
            spread < th["duration_spread_pct"],
        ),
    ]
    rrp_bn = float(value_at(nl.daily["rrp"], a)[0])
    used = [
        "DGS10",
        HY,
        HY_RECENT,
        "DTWEXBGS",
        "WALCL",
        "TGA",
        "WTREGEN",
        "RRPONTSYD",
        *members.index,
    ]
    return CapitalScarcityResult(
        asof=a,
        start=start,
        window=w,
        components=comps,
        members=members,
        min_score=float(min_score),
        rrp_bn=rrp_bn,
        excluded=excluded,
        provenance=Provenance(
            sources=store.provenance(used),
            parameters={
                "window": w,
                "asof": a,
                "long_duration": list(long_duration),
                "cash_flow": list(cash_flow),
                "thresholds": th,
                "min_score": min_score,
            },
        ),
    )
