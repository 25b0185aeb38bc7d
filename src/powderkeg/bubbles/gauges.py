r"""The bubble-pressure gauge: explosive regimes, LPPLS confidence, stress and fundamentals.

Every component is a raw value, a documented normalisation to a score in :math:`[0, 1]`
(1 = more bubble pressure or fragility) and a weight; the gauge is the weighted mean of the
available components,

.. math::

    G = \sum_i \frac{w_i}{\sum_{j \in \mathcal{A}} w_j} s_i, \qquad
    \text{contribution}_i = \frac{w_i s_i}{\sum_{j \in \mathcal{A}} w_j},

over the set :math:`\mathcal{A}` of components with data, so the printed contributions sum
to the gauge. Components without data are listed with their reason and get no weight.

Components (default weights in :data:`DEFAULT_WEIGHTS`)
------------------------------------------------------
``psy``
    Share of tracked series (AI basket, indices, crypto) in a PSY/BSADF explosive episode at
    the last date (weekly log prices, Monte Carlo critical values at 95%).
``lppls``
    Mean LPPLS bubble confidence over the tracked series (last ``lppls_days`` end dates).
``near_peak``
    :math:`1 - \min(\overline{dd}/0.3, 1)` with :math:`\overline{dd}` the mean drawdown from
    the 252-observation high: close to the peak = pressure not yet released.
``hy_spread``, ``vix``
    Percentile of the latest HY option-adjusted spread (BAMLH0A0HYM2, extended after its
    last date by BAMLH0A0HYM2.RECENT) and of ^VIX in their own history (high = stress).
``btc_ai_corr``
    Percentile of the latest 63-day correlation of BTC and AI-basket daily log returns in its
    history since 2015 (high = crowded, shared risk appetite).
``liquidity_drain``
    Percentile of minus the 13-week % change of Fed net liquidity (falling = pressure).
``capex_revenue``, ``debt_growth``
    From a fundamentals file: :math:`\min(\max((K/R - 1)/(\text{ref} - 1), 0), 1)` with
    capex-to-revenue :math:`K/R` and ``ref`` = 10 (configurable); debt growth
    :math:`g` scored :math:`\min(\max(g / 0.5, 0), 1)`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import check_float, optional_date
from powderkeg.exceptions import DataFileError, InputError, InsufficientDataError, PowderkegError
from powderkeg.parallel import ProgressCallback
from powderkeg.results import Provenance, Result, Summary, Table

__all__ = [
    "DEFAULT_WEIGHTS",
    "GROUPS",
    "Fundamentals",
    "GaugeResult",
    "bubble_gauge",
    "example_fundamentals_path",
    "load_fundamentals",
    "percentile_of_last",
    "psy_available",
]

GROUPS: dict[str, tuple[str, ...]] = {
    "AI basket": ("NVDA", "AMD", "AVGO", "ORCL", "MU", "MSFT", "GOOGL", "AMZN", "META"),
    "indices": ("^IXIC", "^NDX", "^GSPC"),
    "crypto": ("BTC-USD", "ETH-USD"),
}

DEFAULT_WEIGHTS: dict[str, float] = {
    "psy": 2.0,
    "lppls": 2.0,
    "near_peak": 1.0,
    "hy_spread": 1.0,
    "vix": 1.0,
    "btc_ai_corr": 1.0,
    "liquidity_drain": 1.0,
    "capex_revenue": 1.0,
    "debt_growth": 1.0,
}

METRICS = ("capex", "revenue", "debt")


def psy_available() -> bool:
    """Whether :mod:`powderkeg.bubbles.psy` can be imported."""
    try:
        from powderkeg.bubbles import psy  # noqa: F401
    except ImportError:
        return False
    return True


def example_fundamentals_path() -> Path:
    """The shipped example fundamentals file (``ai-2025.yaml``)."""
    return Path(str(resources.files("powderkeg.bubbles") / "fundamentals" / "ai-2025.yaml"))


def percentile_of_last(series: pd.Series) -> float:
    """Share of the series' values at or below its last value (NaN for fewer than 20)."""
    s = series.dropna()
    if len(s) < 20:
        return math.nan
    return float((s.to_numpy() <= s.iloc[-1]).mean())


@dataclass
class Fundamentals:
    """Figures per entity (company or sector), year and metric, each with a source.

    ``table`` columns: ``entity``, ``year``, ``metric`` (capex, revenue, debt), ``value``
    (USD billions), ``source``, ``note``.
    """

    table: pd.DataFrame
    path: str

    def totals(self, metric: str, year: int) -> float:
        """Sum of ``metric`` over entities in ``year`` (NaN if none)."""
        sel = self.table[(self.table["metric"] == metric) & (self.table["year"] == year)]
        return float(sel["value"].sum()) if len(sel) else math.nan

    def latest_year(self, metric: str) -> int | None:
        """The latest year with a ``metric`` figure."""
        sel = self.table[self.table["metric"] == metric]
        return int(sel["year"].max()) if len(sel) else None

    def capex_revenue(self) -> tuple[float, int | None]:
        """Capex / revenue in the latest year having both."""
        years = sorted(
            set(self.table.loc[self.table["metric"] == "capex", "year"])
            & set(self.table.loc[self.table["metric"] == "revenue", "year"])
        )
        if not years:
            return math.nan, None
        y = int(years[-1])
        return self.totals("capex", y) / self.totals("revenue", y), y

    def debt_growth(self) -> tuple[float, int | None]:
        """Growth of total debt of entities reporting debt in the last two years."""
        debt = self.table[self.table["metric"] == "debt"]
        if debt.empty:
            return math.nan, None
        y = int(debt["year"].max())
        now = debt[debt["year"] == y].set_index("entity")["value"]
        before = debt[debt["year"] == y - 1].set_index("entity")["value"]
        common = now.index.intersection(before.index)
        if not len(common) or before[common].sum() <= 0:
            return math.nan, y
        return float(now[common].sum() / before[common].sum() - 1.0), y


def load_fundamentals(path: str | Path) -> Fundamentals:
    """Read a fundamentals file (YAML or CSV).

    YAML: a mapping with ``figures:``, a list of ``{entity, year, metric, value, source}``
    (optional ``note``); CSV: the same columns. ``metric`` is one of capex, revenue, debt;
    ``value`` in USD billions. Every figure needs a non-empty ``source``.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--fundamentals: no such file {str(p)!r}")
    rows: list[dict[str, Any]]
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            doc = yaml.safe_load(p.read_text())
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            raise DataFileError(str(p), None if line is None else line + 1, str(exc)) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("figures"), list):
            raise DataFileError(str(p), None, "expected a mapping with a 'figures' list")
        rows = doc["figures"]
        where = [f"figure {i + 1}" for i in range(len(rows))]
    elif p.suffix.lower() == ".csv":
        with p.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        where = [f"line {i + 2}" for i in range(len(rows))]
    else:
        raise InputError(f"--fundamentals must be .yaml, .yml or .csv, got {p.name!r}")
    out = []
    for row, loc in zip(rows, where):
        if not isinstance(row, dict):
            raise DataFileError(str(p), None, f"{loc}: expected a mapping")
        missing = [k for k in ("entity", "year", "metric", "value", "source") if not row.get(k)]
        if missing:
            raise DataFileError(str(p), None, f"{loc}: missing {', '.join(missing)}")
        metric = str(row["metric"]).strip().lower()
        if metric not in METRICS:
            raise DataFileError(str(p), None, f"{loc}: metric must be one of {METRICS}")
        try:
            value = float(row["value"])
            year = int(row["year"])
        except (TypeError, ValueError):
            raise DataFileError(str(p), None, f"{loc}: year and value must be numbers") from None
        if not math.isfinite(value) or value < 0:
            raise DataFileError(str(p), None, f"{loc}: value must be a non-negative number")
        out.append(
            {
                "entity": str(row["entity"]),
                "year": year,
                "metric": metric,
                "value": value,
                "source": str(row["source"]),
                "note": str(row.get("note") or ""),
            }
        )
    if not out:
        raise DataFileError(str(p), None, "no figures")
    return Fundamentals(pd.DataFrame(out), str(p))


@dataclass
class _Component:
    name: str
    group: str
    value: float
    display: str
    normalisation: str
    score: float
    weight: float
    reason: str = ""


def _unavailable(
    name: str, group: str, normalisation: str, weight: float, reason: str
) -> _Component:
    """A component without data: NaN value and score, listed with ``reason``."""
    return _Component(name, group, math.nan, "n/a", normalisation, math.nan, weight, reason)


def _score_clip(x: float) -> float:
    return float(min(max(x, 0.0), 1.0)) if math.isfinite(x) else math.nan


def _hy_oas(store: Any, asof: pd.Timestamp | None) -> pd.Series:
    from powderkeg.liquidity.capital import _hy_oas as spliced

    return spliced(store, asof)


def _series(store: Any, symbol: str, asof: pd.Timestamp | None) -> pd.Series:
    return store.frame([symbol], end=asof)[symbol].dropna()


def _series_rows(
    store: Any,
    symbols: list[tuple[str, str]],
    asof: pd.Timestamp | None,
    *,
    psy: bool,
    psy_reps: int,
    lppls_days: int,
    seed: int,
    workers: int,
    progress: ProgressCallback | None,
) -> tuple[pd.DataFrame, list[str]]:
    """Per-series PSY episode flag, LPPLS confidence and drawdown."""
    from powderkeg.bubbles.lppls import confidence_indicator
    from powderkeg.data import calendars

    notes: list[str] = []
    cv_cache: dict[Any, Any] = {}
    GSADF: Any = None
    if psy:
        if psy_available():
            from powderkeg.bubbles.psy import GSADF
        else:
            notes.append("PSY is unavailable (powderkeg.bubbles.psy cannot be imported)")
            psy = False
    rows = []
    by = "in the store" if asof is None else f"up to {asof:%Y-%m-%d}"
    for k, (group, sym) in enumerate(symbols):
        price = _series(store, sym, asof)
        if price.empty:  # the series starts after the as-of date
            notes.append(f"{sym}: no observations {by}; left out")
            if progress is not None:
                progress(k + 1, len(symbols), sym)
            continue
        row: dict[str, Any] = {
            "symbol": sym,
            "group": group,
            "last": price.index[-1],
            "psy_episode": None,
            "bsadf": math.nan,
            "psy_cv": math.nan,
            "lppls_bubble": math.nan,
            "drawdown": math.nan,
        }
        tail = price.iloc[-252:]
        row["drawdown"] = float(1.0 - tail.iloc[-1] / tail.max())
        if psy and GSADF is not None:
            weekly = pd.Series(calendars.resample(price, "W")).iloc[-520:]
            if len(weekly) >= 60:
                test = GSADF(np.log(weekly))
                key = test.settings
                if key not in cv_cache:
                    cv_cache[key] = test.critical_values("mc", psy_reps, seed)
                res = test.fit(critical_values=cv_cache[key], level="95%")
                row["bsadf"] = float(res.bsadf.iloc[-1])
                row["psy_cv"] = float(res.cv_sequence.iloc[-1])
                row["psy_episode"] = bool(row["bsadf"] > row["psy_cv"])
        if len(price) >= 130:
            ci = confidence_indicator(
                price, days=lppls_days, seed=seed, n_starts=3, workers=workers
            )
            row["lppls_bubble"] = float(ci.indicator["bubble"].mean())
        rows.append(row)
        if progress is not None:
            progress(k + 1, len(symbols), sym)
    if not rows:
        raise InsufficientDataError(f"none of the gauge's series has observations {by}")
    return pd.DataFrame(rows).set_index("symbol"), notes


def bubble_gauge(
    store: Any,
    *,
    asof: Any = None,
    weights: dict[str, float] | None = None,
    fundamentals: str | Path | Fundamentals | None = None,
    capex_revenue_ref: float = 10.0,
    groups: dict[str, tuple[str, ...]] | None = None,
    psy: bool = True,
    psy_reps: int = 499,
    lppls_days: int = 5,
    seed: int = 1,
    workers: int = 1,
    progress: ProgressCallback | None = None,
) -> GaugeResult:
    """Compute the bubble-pressure gauge from the store (see the module docstring).

    Parameters
    ----------
    store : Store
    asof : date-like, optional
        Use data up to this date (default: everything).
    weights : dict, optional
        Override weights by component name (unknown names are rejected; 0 drops one).
    fundamentals : path or Fundamentals, optional
        Capex, revenue and debt figures (YAML/CSV, see :func:`load_fundamentals`).
    capex_revenue_ref : float, default 10
        Capex/revenue ratio that scores 1.
    groups : dict, optional
        Group name -> symbols (default :data:`GROUPS`); symbols not in the store are skipped.
    psy, psy_reps : bool, int
        Run the PSY test (weekly, last 520 weeks) with this many Monte Carlo replications.
    lppls_days : int, default 5
        End dates averaged for each series' LPPLS confidence.
    seed, workers, progress
        Seeds, local processes for LPPLS fits, progress callback ``(done, total, label)``.
    """
    a = optional_date(asof, "asof")
    w = dict(DEFAULT_WEIGHTS)
    for name, val in (weights or {}).items():
        if name not in w:
            raise InputError(f"unknown gauge weight {name!r}; known: {', '.join(w)}")
        w[name] = check_float(val, f"weight {name}", minimum=0.0)
    check_float(capex_revenue_ref, "capex_revenue_ref", minimum=1.0, exclusive_minimum=True)
    known = set(store.symbols())
    grp = groups or GROUPS
    symbols = [(g, s) for g, syms in grp.items() for s in syms if s in known]
    if not symbols:
        raise InputError("none of the gauge's series is in the store")
    series, notes = _series_rows(
        store,
        symbols,
        a,
        psy=psy,
        psy_reps=psy_reps,
        lppls_days=lppls_days,
        seed=seed,
        workers=workers,
        progress=progress,
    )
    comps: list[_Component] = []

    psy_flags = series["psy_episode"].dropna()
    if len(psy_flags):
        share = float(psy_flags.astype(bool).mean())
        in_ep = ", ".join(psy_flags.index[psy_flags.astype(bool)]) or "none"
        comps.append(
            _Component(
                "psy",
                "explosiveness",
                share,
                f"{int(psy_flags.astype(bool).sum())}/{len(psy_flags)} in episode ({in_ep})",
                "share of series",
                share,
                w["psy"],
            )
        )
    else:
        comps.append(
            _unavailable(
                "psy", "explosiveness", "share of series", w["psy"], "PSY unavailable or disabled"
            )
        )
    conf = series["lppls_bubble"].dropna()
    val = float(conf.mean()) if len(conf) else math.nan
    comps.append(
        _Component(
            "lppls",
            "explosiveness",
            val,
            f"mean over {len(conf)} series",
            "identity (confidence in [0, 1])",
            _score_clip(val),
            w["lppls"],
            "" if len(conf) else "no series with enough data",
        )
    )
    dd = float(series["drawdown"].mean())
    comps.append(
        _Component(
            "near_peak",
            "explosiveness",
            dd,
            f"mean drawdown {dd:.1%}",
            "1 - min(drawdown / 30%, 1)",
            _score_clip(1 - min(dd / 0.3, 1.0)),
            w["near_peak"],
        )
    )

    for name, sym, label in (("hy_spread", "BAMLH0A0HYM2", "HY OAS"), ("vix", "^VIX", "VIX")):
        if sym in known:
            # the long HY OAS history ends early; extend it by BAMLH0A0HYM2.RECENT
            s = _hy_oas(store, a).dropna() if name == "hy_spread" else _series(store, sym, a)
            if s.empty:
                comps.append(
                    _unavailable(
                        name, "stress", "percentile", w[name], f"no {sym} observations by then"
                    )
                )
                continue
            pct = percentile_of_last(s)
            comps.append(
                _Component(
                    name,
                    "stress",
                    float(s.iloc[-1]),
                    f"{label} {s.iloc[-1]:.2f} on {s.index[-1]:%Y-%m-%d}",
                    f"percentile since {s.index[0]:%Y}",
                    pct,
                    w[name],
                )
            )
        else:
            comps.append(
                _unavailable(name, "stress", "percentile", w[name], f"{sym} not in the store")
            )
    comps.append(_corr_component(store, known, grp, a, w["btc_ai_corr"]))
    comps.append(_liquidity_component(store, a, w["liquidity_drain"]))

    fund: Fundamentals | None = None
    if fundamentals is not None:
        fund = (
            fundamentals
            if isinstance(fundamentals, Fundamentals)
            else load_fundamentals(fundamentals)
        )
    if fund is not None:
        ratio, year = fund.capex_revenue()
        score = _score_clip((ratio - 1.0) / (capex_revenue_ref - 1.0))
        comps.append(
            _Component(
                "capex_revenue",
                "fundamentals",
                ratio,
                f"capex {fund.totals('capex', year or 0):,.0f}bn / revenue "
                f"{fund.totals('revenue', year or 0):,.0f}bn in {year}"
                if year
                else "n/a",
                f"(ratio - 1) / ({capex_revenue_ref:g} - 1), clipped",
                score,
                w["capex_revenue"],
                "" if year else "no year with both capex and revenue",
            )
        )
        growth, gyear = fund.debt_growth()
        comps.append(
            _Component(
                "debt_growth",
                "fundamentals",
                growth,
                f"{growth:+.1%} in {gyear}" if math.isfinite(growth) else "n/a",
                "growth / 50%, clipped",
                _score_clip(growth / 0.5),
                w["debt_growth"],
                "" if math.isfinite(growth) else "no debt figures for two consecutive years",
            )
        )
    else:
        for name in ("capex_revenue", "debt_growth"):
            comps.append(_unavailable(name, "fundamentals", "-", w[name], "no --fundamentals file"))

    table = pd.DataFrame([c.__dict__ for c in comps]).set_index("name")
    ok = table["score"].notna() & (table["weight"] > 0)
    total_w = float(table.loc[ok, "weight"].sum())
    table["used"] = ok
    table["weight_share"] = np.where(ok, table["weight"] / total_w if total_w else np.nan, 0.0)
    table["contribution"] = np.where(ok, table["weight_share"] * table["score"].fillna(0), 0.0)
    gauge = float(table["contribution"].sum()) if total_w else math.nan
    return GaugeResult(
        gauge=gauge,
        components=table,
        series=series,
        fundamentals=None if fund is None else fund.table,
        notes=notes,
        provenance=Provenance(
            sources=store.provenance(
                sorted(
                    {s for _, s in symbols}
                    | ({"BAMLH0A0HYM2", "BAMLH0A0HYM2.RECENT", "^VIX"} & known)
                )
            ),
            parameters={
                "asof": a,
                "weights": w,
                "psy": psy,
                "psy_reps": psy_reps,
                "lppls_days": lppls_days,
                "capex_revenue_ref": capex_revenue_ref,
                "fundamentals": None if fund is None else fund.path,
            },
            seed=seed,
        ),
    )


def _corr_component(
    store: Any,
    known: set[str],
    groups: dict[str, tuple[str, ...]],
    asof: pd.Timestamp | None,
    weight: float,
) -> _Component:
    from powderkeg.linkage.correlation import rolling_corr

    ai = [s for s in groups.get("AI basket", ()) if s in known]
    if "BTC-USD" not in known or not ai:
        return _unavailable(
            "btc_ai_corr",
            "stress",
            "percentile",
            weight,
            "BTC-USD or the AI basket is not in the store",
        )
    frame = store.frame(["BTC-USD", *ai], start="2015-01-01", end=asof)
    rets = np.log(frame).diff().dropna(how="any")
    basket = rets[ai].mean(axis=1)
    corr = rolling_corr(rets["BTC-USD"], basket, 63).dropna()
    if corr.empty:
        return _unavailable("btc_ai_corr", "stress", "percentile", weight, "too few common dates")
    pct = percentile_of_last(corr)
    return _Component(
        "btc_ai_corr",
        "stress",
        float(corr.iloc[-1]),
        f"63-day corr {corr.iloc[-1]:.2f} on {corr.index[-1]:%Y-%m-%d}",
        f"percentile since {corr.index[0]:%Y}",
        pct,
        weight,
    )


def _liquidity_component(store: Any, asof: pd.Timestamp | None, weight: float) -> _Component:
    try:
        from powderkeg.liquidity.net_liquidity import net_liquidity

        res = net_liquidity(store, asof=asof)
    except (ImportError, PowderkegError) as exc:
        return _unavailable(
            "liquidity_drain", "stress", "percentile", weight, f"net liquidity unavailable: {exc}"
        )
    weekly = res.daily["net_liquidity"].resample("W-WED").last().dropna()
    change = weekly.pct_change(13).dropna()
    if change.empty:
        return _unavailable(
            "liquidity_drain",
            "stress",
            "percentile",
            weight,
            "fewer than 13 weeks of net liquidity",
        )
    pct = percentile_of_last(-change)
    return _Component(
        "liquidity_drain",
        "stress",
        float(change.iloc[-1]),
        f"13-week change {change.iloc[-1]:+.1%} to {change.index[-1]:%Y-%m-%d}",
        f"percentile of -change since {change.index[0]:%Y}",
        pct,
        weight,
    )


@dataclass
class GaugeResult(Result):
    """The bubble-pressure gauge with every component, normalisation, weight and contribution.

    JSON keys: ``gauge``, ``components`` (``name``, ``group``, ``value``, ``display``,
    ``normalisation``, ``score``, ``weight``, ``weight_share``, ``contribution``, ``used``,
    ``reason``), ``series`` (per symbol: ``psy_episode``, ``bsadf``, ``psy_cv``,
    ``lppls_bubble``, ``drawdown``), ``fundamentals`` (figures with sources), ``notes``.
    """

    gauge: float
    components: pd.DataFrame
    series: pd.DataFrame
    fundamentals: pd.DataFrame | None
    notes: list[str]
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return {
            "gauge": self.gauge,
            "components": self.components.reset_index().to_dict(orient="records"),
            "series": self.series.reset_index().to_dict(orient="records"),
            "fundamentals": None
            if self.fundamentals is None
            else self.fundamentals.to_dict(orient="records"),
            "notes": self.notes,
        }

    def summary(self) -> Summary:
        """The printable summary."""
        comp = self.components.reset_index()
        rows = [
            [
                r["name"],
                r["group"],
                r["display"],
                r["normalisation"],
                r["score"],
                r["weight"],
                r["contribution"],
                r["reason"] or ("" if r["used"] else "unused"),
            ]
            for _, r in comp.iterrows()
        ]
        rows.append(
            ["total", "", "", "", "", float(comp.loc[comp["used"], "weight"].sum()), self.gauge, ""]
        )
        ser = self.series.reset_index()
        srows = [
            [
                r["symbol"],
                r["group"],
                "n/a"
                if r["psy_episode"] is None or pd.isna(r["psy_episode"])
                else ("yes" if r["psy_episode"] else "no"),
                r["bsadf"],
                r["psy_cv"],
                r["lppls_bubble"],
                r["drawdown"],
            ]
            for _, r in ser.iterrows()
        ]
        tables = [
            Table(
                "Components (contribution = weight share x score; they sum to the gauge)",
                [
                    "component",
                    "group",
                    "value",
                    "normalisation",
                    "score",
                    "weight",
                    "contribution",
                    "note",
                ],
                rows,
            ),
            Table(
                "Series",
                ["symbol", "group", "PSY episode", "BSADF", "cv 95%", "LPPLS bubble", "drawdown"],
                srows,
            ),
        ]
        if self.fundamentals is not None:
            tables.append(
                Table(
                    "Fundamentals (USD bn)",
                    ["entity", "year", "metric", "value", "source"],
                    self.fundamentals[["entity", "year", "metric", "value", "source"]]
                    .to_numpy()
                    .tolist(),
                )
            )
        notes = [
            *self.notes,
            "Scores are in [0, 1], 1 = more bubble pressure or fragility; weights are "
            "renormalised over the components with data.",
        ]
        return Summary("Bubble-pressure gauge", [("gauge", self.gauge)], tables, notes)

    def to_frame(self) -> pd.DataFrame:
        """The result as a DataFrame."""
        return self.components.copy()

    def plot(self) -> Any:
        """A Plotly figure (not shown)."""
        import plotly.graph_objects as go

        used = self.components[self.components["used"]]
        fig = go.Figure(go.Bar(x=used.index, y=used["contribution"], name="contribution"))
        fig.update_layout(
            title=f"Bubble-pressure gauge: {self.gauge:.2f}", yaxis_title="contribution"
        )
        return fig
