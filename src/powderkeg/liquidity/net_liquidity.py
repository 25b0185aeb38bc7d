r"""Fed net liquidity: WALCL − TGA − RRP, aligned as of publication.

.. math:: NL_t = \mathrm{WALCL}_t - \mathrm{TGA}_t - \mathrm{RRP}_t

Every component is re-dated to the day it became public (H.4.1 Wednesday level on Thursday,
Daily Treasury Statement on the next business day, ON RRP the same afternoon; see
:data:`powderkeg.data.calendars.PUBLICATION_LAGS`) and converted to USD millions (RRPONTSYD is
published in USD billions). The daily series carries, on every calendar day, the latest
*published* value of each component; a day whose value was carried forward from an earlier
publication is flagged as imputed, with the age of the observation in days.

The TGA uses the Daily Treasury Statement closing balance (symbol ``TGA``) from its first
publication (observation 2022-04-18) and the weekly-average WTREGEN before it; a column names
the source each day used. Mixing a weekly average with Wednesday levels adds some noise before
2022 (model-spec §5.1); the weekly Wednesday-aligned series (:attr:`NetLiquidityResult.weekly`)
uses Wednesday levels of all three components wherever they exist.

The measure is a practitioners' proxy, not an official Federal Reserve statistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import optional_date
from powderkeg.data import calendars, units
from powderkeg.exceptions import InsufficientDataError
from powderkeg.results import Provenance, Result, Summary, Table

#: Component symbols (TGA_WEEKLY is the pre-2022 fallback of TGA).
WALCL, TGA_DAILY, TGA_WEEKLY, RRP = "WALCL", "TGA", "WTREGEN", "RRPONTSYD"
SYMBOLS = (WALCL, TGA_DAILY, TGA_WEEKLY, RRP)
#: Output unit of every level.
DISPLAY_UNIT = "USD billions"
#: Changes reported, in calendar days.
CHANGE_HORIZONS = {"1w": 7, "4w": 28, "13w": 91}
_COMPONENTS = ("walcl", "tga", "rrp")


@dataclass
class Published:
    """One component with observation dates, publication dates and values in USD millions.

    Attributes
    ----------
    symbol : str
        Store symbol.
    frame : DataFrame
        Columns ``obs_date``, ``pub_date``, ``value`` (USD millions), sorted by ``obs_date``.
    unit : str
        The stored unit before conversion.
    """

    symbol: str
    frame: pd.DataFrame
    unit: str


def load_component(store: Any, symbol: str, asof: pd.Timestamp | None = None) -> Published:
    """Read one component with its publication dates, converted to USD millions.

    Parameters
    ----------
    store : Store
        The data store.
    symbol : str
        ``WALCL``, ``TGA``, ``WTREGEN`` or ``RRPONTSYD``.
    asof : Timestamp, optional
        Keep only observations published on or before this date.

    Returns
    -------
    Published
    """
    info = store.series_info(symbol)
    hist = store.history(symbol, end=asof)["value"].dropna()
    lag = calendars.publication_lag(symbol, info["frequency"])
    obs = pd.DatetimeIndex(hist.index)
    pub = obs + lag if len(obs) else obs
    scale = units.factor(info["unit"] or "USD millions", "USD millions")
    frame = pd.DataFrame(
        {"obs_date": obs, "pub_date": pd.DatetimeIndex(pub), "value": hist.to_numpy() * scale}
    )
    if asof is not None:
        frame = frame.loc[frame["pub_date"] <= asof]
    return Published(symbol, frame.reset_index(drop=True), info["unit"] or "")


def _carry(comp: Published, days: pd.DatetimeIndex) -> pd.DataFrame:
    """Carry the latest published value of ``comp`` onto each day of ``days``.

    Returns columns ``value``, ``obs_date`` and ``fresh`` (published on that day).
    """
    f = comp.frame.sort_values(["pub_date", "obs_date"])
    f = f.drop_duplicates("pub_date", keep="last").set_index("pub_date")
    idx = f.index.union(days)
    carried = f[["value", "obs_date"]].reindex(idx).ffill().reindex(days)
    carried["fresh"] = days.isin(f.index)
    return carried


def daily_net_liquidity(
    walcl: Published,
    tga_daily: Published,
    tga_weekly: Published,
    rrp: Published,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Daily net liquidity as of publication, with per-component values, ages and flags.

    Parameters
    ----------
    walcl, tga_daily, tga_weekly, rrp : Published
        The components (values in USD millions, with publication dates).
    start, end : Timestamp, optional
        First and last calendar day (default: the first day every component is published,
        and the last publication date of the stalest component).

    Returns
    -------
    DataFrame
        Indexed by calendar day; columns ``net_liquidity``, ``walcl``, ``tga``, ``rrp``
        (USD billions), ``<c>_obs_date``, ``<c>_age_days``, ``<c>_imputed`` for each
        component and ``tga_source`` (``"DTS daily"`` or ``"WTREGEN weekly average"``).
    """
    parts = [walcl, rrp]
    if tga_daily.frame.empty and tga_weekly.frame.empty:
        raise InsufficientDataError("no TGA observations (neither TGA nor WTREGEN)")
    if walcl.frame.empty or rrp.frame.empty:
        raise InsufficientDataError("net liquidity needs WALCL and RRPONTSYD observations")
    tga_first = min(p.frame["pub_date"].min() for p in (tga_daily, tga_weekly) if not p.frame.empty)
    first = max(max(p.frame["pub_date"].min() for p in parts), tga_first)
    last = latest_common_publication(walcl, tga_daily, tga_weekly, rrp)
    lo = first if start is None else max(first, start)
    hi = last if end is None else end
    if hi < lo:
        raise InsufficientDataError(
            f"no day with every component published between {lo:%Y-%m-%d} and {hi:%Y-%m-%d}"
        )
    days = pd.date_range(lo, hi, freq="D")
    out = pd.DataFrame(index=days)
    out.index.name = "date"
    cw, cr = _carry(walcl, days), _carry(rrp, days)
    weekly = _carry(tga_weekly, days) if not tga_weekly.frame.empty else None
    daily = _carry(tga_daily, days) if not tga_daily.frame.empty else None
    if daily is not None:
        use_daily = daily["value"].notna().to_numpy()
    else:
        use_daily = np.zeros(len(days), dtype=bool)
    ct: pd.DataFrame
    if weekly is None and daily is not None:
        ct = daily
    elif daily is None and weekly is not None:
        ct = weekly
    elif daily is not None and weekly is not None:
        ct = pd.DataFrame(
            {
                "value": np.where(use_daily, daily["value"], weekly["value"]),
                "obs_date": np.where(
                    use_daily,
                    pd.DatetimeIndex(daily["obs_date"]).to_numpy(),
                    pd.DatetimeIndex(weekly["obs_date"]).to_numpy(),
                ),
                "fresh": np.where(use_daily, daily["fresh"], weekly["fresh"]),
            },
            index=days,
        )
    else:  # pragma: no cover - excluded by the check above
        raise InsufficientDataError("no TGA observations (neither TGA nor WTREGEN)")
    out["tga_source"] = np.where(use_daily, "DTS daily", "WTREGEN weekly average")
    for name, c in zip(_COMPONENTS, (cw, ct, cr)):
        out[name] = c["value"].astype("float64") / 1000.0
        out[f"{name}_obs_date"] = pd.to_datetime(c["obs_date"])
        out[f"{name}_age_days"] = (days - pd.DatetimeIndex(out[f"{name}_obs_date"])).days
        out[f"{name}_imputed"] = ~c["fresh"].astype(bool).to_numpy()
    out["net_liquidity"] = out["walcl"] - out["tga"] - out["rrp"]
    out = out.dropna(subset=["net_liquidity"])
    lead = ["net_liquidity", "walcl", "tga", "rrp", "tga_source"]
    rest = [c for c in out.columns if c not in lead]
    return out[lead + rest]


def latest_common_publication(
    walcl: Published, tga_daily: Published, tga_weekly: Published, rrp: Published
) -> pd.Timestamp:
    """The last day on which every component has a publication (the stalest one's last date)."""
    tga = tga_daily if not tga_daily.frame.empty else tga_weekly
    return min(p.frame["pub_date"].max() for p in (walcl, tga, rrp))


def weekly_net_liquidity(
    walcl: Published,
    tga_daily: Published,
    tga_weekly: Published,
    rrp: Published,
    asof: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Wednesday-aligned weekly net liquidity, dated by when all three levels were public.

    For each H.4.1 Wednesday ``w``: WALCL on ``w``, the TGA on ``w`` (DTS closing balance on the
    last business day on or before ``w``; before the DTS series, the WTREGEN week average
    ending ``w``) and ON RRP on the last day on or before ``w`` (model-spec §5.6: a weekly
    series uses the Wednesday RRP). ``known_on`` is the latest publication date of the three.

    Returns
    -------
    DataFrame
        Indexed by the Wednesday; columns ``net_liquidity``, ``walcl``, ``tga``, ``rrp``
        (USD billions), ``known_on`` and ``tga_source``.
    """
    w = walcl.frame.set_index("obs_date").sort_index()
    rows: dict[str, Any] = {"walcl": w["value"], "walcl_pub": w["pub_date"]}
    wed = pd.DatetimeIndex(w.index)

    def last_on_or_before(comp: Published) -> pd.DataFrame:
        f = comp.frame.set_index("obs_date").sort_index()
        pos = f.index.searchsorted(wed, side="right") - 1
        ok = pos >= 0
        vals = np.full(len(wed), np.nan)
        pubs = pd.Series(pd.NaT, index=wed, dtype="datetime64[ns]")
        vals[ok] = f["value"].to_numpy()[pos[ok]]
        pubs[ok] = pd.DatetimeIndex(f["pub_date"]).to_numpy()[pos[ok]]
        return pd.DataFrame({"value": vals, "pub": pubs.to_numpy()}, index=wed)

    r = last_on_or_before(rrp)
    out = pd.DataFrame(index=wed)
    out.index.name = "wednesday"
    out["walcl"] = rows["walcl"] / 1000.0
    out["rrp"] = r["value"] / 1000.0
    if not tga_daily.frame.empty:
        d = last_on_or_before(tga_daily)
        d.loc[wed < tga_daily.frame["obs_date"].min(), :] = np.nan
    else:
        d = pd.DataFrame({"value": np.nan, "pub": pd.NaT}, index=wed)
    wk = (
        last_on_or_before(tga_weekly)
        if not tga_weekly.frame.empty
        else pd.DataFrame({"value": np.nan, "pub": pd.NaT}, index=wed)
    )
    use_daily = d["value"].notna()
    out["tga"] = np.where(use_daily, d["value"], wk["value"]) / 1000.0
    tga_pub = pd.Series(np.where(use_daily, d["pub"], wk["pub"]), index=wed)
    out["tga_source"] = np.where(use_daily, "DTS daily", "WTREGEN weekly average")
    known = pd.concat(
        [rows["walcl_pub"], pd.to_datetime(tga_pub), pd.to_datetime(r["pub"])], axis=1
    ).max(axis=1, skipna=False)
    out["known_on"] = known
    out["net_liquidity"] = out["walcl"] - out["tga"] - out["rrp"]
    out = out.dropna(subset=["net_liquidity", "known_on"])
    if asof is not None:
        out = out.loc[out["known_on"] <= asof]
    return out[["net_liquidity", "walcl", "tga", "rrp", "known_on", "tga_source"]]


@dataclass
class NetLiquidityResult(Result):
    """Daily Fed net liquidity with components, imputation flags and recent changes.

    Attributes
    ----------
    daily : DataFrame
        The daily as-of-publication series (see :func:`daily_net_liquidity`), from ``start``.
    weekly : DataFrame
        The Wednesday-aligned weekly series (see :func:`weekly_net_liquidity`), from ``start``.
    asof : Timestamp
        The last day of the series.
    changes : DataFrame
        Change of net liquidity and components over 1, 4 and 13 weeks (USD billions and %).
    sources : dict
        Component symbol -> stored unit, for the printed note.
    """

    daily: pd.DataFrame
    weekly: pd.DataFrame
    asof: pd.Timestamp
    changes: pd.DataFrame
    sources: dict[str, str]
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def latest(self) -> pd.Series:
        """The last row of the daily series."""
        return self.daily.iloc[-1]

    def _payload(self) -> dict[str, Any]:
        last = self.latest
        series = self.daily.reset_index()
        return {
            "asof": self.asof,
            "unit": DISPLAY_UNIT,
            "value": float(last["net_liquidity"]),
            "components": {c: float(last[c]) for c in _COMPONENTS},
            "component_obs_dates": {c: last[f"{c}_obs_date"] for c in _COMPONENTS},
            "imputed": {c: bool(last[f"{c}_imputed"]) for c in _COMPONENTS},
            "tga_source": str(last["tga_source"]),
            "changes": {
                str(h): {str(k): v for k, v in row.items()} for h, row in self.changes.iterrows()
            },
            "imputed_share": {c: float(self.daily[f"{c}_imputed"].mean()) for c in _COMPONENTS},
            "alignment": _ALIGNMENT,
            "sources": self.sources,
            "series": series.to_dict(orient="records"),
            "weekly": self.weekly.reset_index().to_dict(orient="records"),
        }

    def summary(self) -> Summary:
        """Latest level, components with their observation dates, and changes."""
        last = self.latest
        comp = pd.DataFrame(
            {
                "USD bn": [last["net_liquidity"]] + [last[c] for c in _COMPONENTS],
                "observed": ["-"] + [last[f"{c}_obs_date"] for c in _COMPONENTS],
                "age (days)": ["-"] + [int(last[f"{c}_age_days"]) for c in _COMPONENTS],
                "carried forward": ["-"] + [bool(last[f"{c}_imputed"]) for c in _COMPONENTS],
            },
            index=pd.Index(["net liquidity", "WALCL", "TGA", "RRP"], name="component"),
        )
        ch = self.changes.copy()
        ch.index.name = "horizon"
        ch.columns = ["NL chg (USD bn)", "NL chg (%)", "+ΔWALCL", "−ΔTGA", "−ΔRRP"]
        return Summary(
            f"Fed net liquidity as of {self.asof:%Y-%m-%d}",
            facts=[
                ("net liquidity (USD tn)", round(float(last["net_liquidity"]) / 1000.0, 3)),
                ("4w change (USD bn)", self.changes["net_liquidity"].loc["4w"]),
                ("TGA source", str(last["tga_source"])),
                ("days in series", len(self.daily)),
                ("first day", self.daily.index[0]),
            ],
            tables=[
                Table.from_frame("Components (USD billions)", comp),
                Table.from_frame("Changes (USD billions; contributions add up)", ch),
            ],
            notes=[
                "Sources: "
                + "; ".join(f"{k} ({v})" for k, v in self.sources.items())
                + f". Levels converted to {DISPLAY_UNIT} (RRPONTSYD is published in billions, "
                "WALCL/TGA/WTREGEN in millions).",
                _ALIGNMENT,
                "TGA: Daily Treasury Statement closing balance from 2022-04-18, WTREGEN weekly "
                "average before.",
            ],
        )

    def to_frame(self) -> pd.DataFrame:
        """The daily series (one row per calendar day)."""
        return self.daily

    def plot(self) -> Any:
        """Net liquidity and its components (USD billions)."""
        import plotly.graph_objects as go

        from powderkeg.figures import TEMPLATE

        fig = go.Figure()
        d = self.daily
        fig.add_trace(go.Scatter(x=d.index, y=d["net_liquidity"], name="Net liquidity"))
        for c, label in zip(_COMPONENTS, ("WALCL", "TGA", "ON RRP")):
            fig.add_trace(go.Scatter(x=d.index, y=d[c], name=label, line={"width": 1}))
        fig.update_layout(
            title=f"Fed net liquidity = WALCL − TGA − RRP (as published, to {self.asof:%Y-%m-%d})",
            template=TEMPLATE,
            yaxis_title=DISPLAY_UNIT,
            height=380,
            legend={"orientation": "h"},
            margin={"l": 50, "r": 20, "t": 50, "b": 40},
        )
        return fig


_ALIGNMENT = (
    "Alignment: each calendar day carries the latest value published by then (WALCL Wednesday "
    "level on Thursday, TGA next business day, RRP same day); 'carried forward' marks values "
    "not published that day."
)


def load_all(store: Any, asof: pd.Timestamp | None = None) -> dict[str, Published]:
    """Load the four components published by ``asof``.

    WALCL and RRPONTSYD are required; either TGA series may be missing from the store (it is
    then empty), but not both.
    """
    have = set(store.symbols())
    out = {}
    for sym in SYMBOLS:
        if sym in (TGA_DAILY, TGA_WEEKLY) and sym not in have:
            empty = pd.DataFrame(
                {
                    "obs_date": pd.DatetimeIndex([]),
                    "pub_date": pd.DatetimeIndex([]),
                    "value": np.array([], dtype=np.float64),
                }
            )
            out[sym] = Published(sym, empty, "USD millions")
        else:
            out[sym] = load_component(store, sym, asof)
    return out


def changes_table(daily: pd.DataFrame) -> pd.DataFrame:
    """Changes of net liquidity and its components over :data:`CHANGE_HORIZONS`.

    Each change compares the last day with the day ``h`` calendar days earlier (USD billions;
    ``net_liquidity_pct`` in percent). ``from_walcl``, ``from_tga`` and ``from_rrp`` are the
    contributions (``+ΔWALCL``, ``−ΔTGA``, ``−ΔRRP``), which add up to the change. Rows are
    NaN when the series is too short.
    """
    last_day = daily.index[-1]
    rows = {}
    for label, h in CHANGE_HORIZONS.items():
        then = last_day - pd.Timedelta(days=h)
        if then < daily.index[0]:
            rows[label] = dict.fromkeys(
                ["net_liquidity", "net_liquidity_pct", "from_walcl", "from_tga", "from_rrp"],
                np.nan,
            )
            continue
        a, b = daily.loc[then], daily.iloc[-1]
        rows[label] = {
            "net_liquidity": b["net_liquidity"] - a["net_liquidity"],
            "net_liquidity_pct": 100.0 * (b["net_liquidity"] / a["net_liquidity"] - 1.0),
            "from_walcl": b["walcl"] - a["walcl"],
            "from_tga": -(b["tga"] - a["tga"]),
            "from_rrp": -(b["rrp"] - a["rrp"]),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def net_liquidity(store: Any, start: Any = None, asof: Any = None) -> NetLiquidityResult:
    """Fed net liquidity from the store, as of publication.

    Parameters
    ----------
    store : Store
        Must hold WALCL, RRPONTSYD and TGA and/or WTREGEN.
    start : date-like, optional
        First day of the returned series (changes are computed on the full history).
    asof : date-like, optional
        Use only data published on or before this day; the series ends here. Default: the
        last day on which every component had been published (the stalest component's last
        publication), so no component is carried beyond its data.

    Returns
    -------
    NetLiquidityResult

    Examples
    --------
    >>> res = net_liquidity(store, start="2024-01-01")  # doctest: +SKIP
    >>> round(res.latest["net_liquidity"])  # USD billions  # doctest: +SKIP
    """
    s, a = optional_date(start, "start"), optional_date(asof, "asof")
    comps = load_all(store, a)
    daily = daily_net_liquidity(
        comps[WALCL], comps[TGA_DAILY], comps[TGA_WEEKLY], comps[RRP], end=a
    )
    weekly = weekly_net_liquidity(comps[WALCL], comps[TGA_DAILY], comps[TGA_WEEKLY], comps[RRP], a)
    changes = changes_table(daily)
    if s is not None:
        daily = daily.loc[daily.index >= s]
        weekly = weekly.loc[weekly.index >= s]
        if daily.empty:
            raise InsufficientDataError(f"no net-liquidity data on or after {s:%Y-%m-%d}")
    sources = {p.symbol: p.unit for p in comps.values() if not p.frame.empty}
    return NetLiquidityResult(
        daily=daily,
        weekly=weekly,
        asof=pd.Timestamp(daily.index[-1]),
        changes=changes,
        sources=sources,
        provenance=Provenance(
            sources=store.provenance(list(SYMBOLS)),
            parameters={"start": s, "asof": a, "unit": DISPLAY_UNIT},
        ),
    )
