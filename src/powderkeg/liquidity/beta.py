r"""An asset's liquidity beta across lags, with HAC errors and multiple-testing corrections.

For each lag :math:`k = 0, \dots, K` (weeks) one OLS regression

.. math:: r_t = \alpha_k + \beta_k\, \Delta \ln NL_{t-k} + \varepsilon_t

of the asset's weekly log return on the weekly log change of Fed net liquidity ``k`` weeks
earlier (optionally with the weekly log changes of M2 and stablecoin supply at the same lag as
extra regressors). Weeks are H.4.1 weeks: net liquidity is the Wednesday-aligned level
(WALCL − TGA − RRP on the Wednesday), dated on the day all three levels were public (usually
Thursday); the asset's week runs from close to close on those publication days (the last close
on or before each day). Lag 0 therefore contains the week in which the change was published;
lags ≥ 1 are predictive (the change was public before the return's week began).

Standard errors are Newey–West (Bartlett kernel, ``maxlags`` default
:math:`\lfloor 4 (n/100)^{2/9} \rfloor`, no small-sample correction) and p-values are
two-sided normal — as statsmodels ``OLS(...).fit(cov_type="HAC")``. Every lag uses the same
weeks (the first ``K`` weeks are dropped), so the regressions are comparable.

Choosing the best of ``K + 1`` lags is a multiple comparison (the popular "M2 leads BTC by
10–12 weeks" claims skip this step). The **headline correction is Holm** (family-wise error
rate, valid under any dependence between the lag tests): a lag "survives" when its Holm-adjusted
p-value is below ``alpha``. Benjamini–Hochberg (false discovery rate) adjusted p-values are
reported alongside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import check_float, check_int, check_option, optional_date
from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.liquidity.money import reliable_stablecoin
from powderkeg.results import Provenance, Result, Summary, Table
from powderkeg.stats import benjamini_hochberg, holm, newey_west_lags, ols

#: Optional extra regressors: name -> store symbol.
EXTRA_REGRESSORS = {"m2": "M2SL", "stablecoin": "STABLECOIN_SUPPLY"}
MEASURES = ("log", "level")
SAMPLE_ON = ("publication", "wednesday")
HEADLINE_CORRECTION = "holm"


# --------------------------------------------------------------------------- data
def weekly_panel(
    nl_weekly: pd.DataFrame,
    asset_close: pd.Series,
    extras: dict[str, pd.Series] | None = None,
    *,
    measure: str = "log",
    sample_on: str = "publication",
) -> pd.DataFrame:
    """Weekly levels and changes on H.4.1 publication days (or on the Wednesdays).

    Parameters
    ----------
    nl_weekly : DataFrame
        From :func:`powderkeg.liquidity.net_liquidity.weekly_net_liquidity` (``known_on``,
        ``net_liquidity``).
    asset_close : Series
        Daily closes of the asset (any calendar).
    extras : dict of Series, optional
        Other series dated as of publication (e.g. M2SL, stablecoin supply), sampled at their
        last value on or before each sampling day.
    measure : {"log", "level"}
        ``d_nl`` is Δ ln NL (``"log"``) or the change of NL in USD trillions (``"level"``).
    sample_on : {"publication", "wednesday"}
        Sample the asset on the day all three levels were public (``known_on``, default: no
        look-ahead) or on the Wednesday of the levels (matches the Wednesday-level definition,
        but the lag-0 and lag-1 weeks then overlap the day before publication).

    Returns
    -------
    DataFrame
        Indexed by the sampling day; columns ``wednesday``, ``known_on``, ``net_liquidity``,
        ``asset``, ``asset_date``, ``r_asset`` (log return), ``d_nl`` and ``d_<extra>``.
    """
    check_option(measure, "measure", MEASURES)
    check_option(sample_on, "sample_on", SAMPLE_ON)
    if sample_on == "publication":
        known = pd.DatetimeIndex(nl_weekly["known_on"])
    else:
        known = pd.DatetimeIndex(nl_weekly.index)
    close = asset_close.dropna().sort_index()
    pos = close.index.searchsorted(known, side="right") - 1
    ok = pos >= 0
    out = pd.DataFrame(index=known)
    out.index.name = "date"
    out["wednesday"] = nl_weekly.index.to_numpy()
    out["known_on"] = pd.DatetimeIndex(nl_weekly["known_on"]).to_numpy()
    out["net_liquidity"] = nl_weekly["net_liquidity"].to_numpy()
    vals = np.full(len(known), np.nan)
    vals[ok] = close.to_numpy()[pos[ok]]
    dates = np.full(len(known), np.datetime64("NaT"), dtype="datetime64[ns]")
    dates[ok] = close.index.to_numpy()[pos[ok]]
    out["asset"] = vals
    out["asset_date"] = dates
    for name, ser in (extras or {}).items():
        s = ser.dropna().sort_index()
        p = s.index.searchsorted(known, side="right") - 1
        v = np.full(len(known), np.nan)
        v[p >= 0] = s.to_numpy()[p[p >= 0]]
        out[name] = v
    out = out.loc[~out.index.duplicated(keep="last")].dropna(subset=["asset"])
    # a stale asset close (the same close on two publication days) gives no return
    out = out.loc[~out["asset_date"].duplicated(keep="last")]
    out["r_asset"] = np.log(out["asset"]).diff()
    if measure == "log":
        out["d_nl"] = np.log(out["net_liquidity"]).diff()
    else:
        out["d_nl"] = out["net_liquidity"].diff() / 1000.0  # USD bn -> USD tn
    for name in extras or {}:
        out[f"d_{name}"] = np.log(out[name]).diff()
    return out.iloc[1:]


# --------------------------------------------------------------------------- result
@dataclass
class LiquidityBetaResult(Result):
    """Liquidity betas by lag with HAC errors and Holm / Benjamini–Hochberg corrections.

    Attributes
    ----------
    symbol : str
        The asset.
    table : DataFrame
        One row per (regressor, lag): ``beta``, ``se``, ``t``, ``pvalue``, ``p_holm``,
        ``p_bh``, ``survives_holm``, ``survives_bh``, ``r2``, ``nobs``.
    panel : DataFrame
        The weekly data (see :func:`weekly_panel`).
    max_lag : int
    alpha : float
    hac_lags : int
    regressors : list of str
    measure : str
        ``"log"`` (Δ ln NL) or ``"level"`` (ΔNL in USD trillions).
    sample_on : str
        ``"publication"`` or ``"wednesday"`` (see :func:`weekly_panel`).
    """

    symbol: str
    table: pd.DataFrame
    panel: pd.DataFrame
    max_lag: int
    alpha: float
    hac_lags: int
    regressors: list[str]
    measure: str = "log"
    sample_on: str = "publication"
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def nl_table(self) -> pd.DataFrame:
        """Rows of the net-liquidity coefficient, indexed by lag."""
        return self.table.loc[self.table["regressor"] == "net_liquidity"].set_index("lag")

    @property
    def surviving_lags(self) -> list[int]:
        """Lags whose net-liquidity beta survives the headline (Holm) correction."""
        t = self.nl_table
        return [int(k) for k in t.index.to_numpy()[t["survives_holm"].to_numpy(bool)]]

    @property
    def best_lag(self) -> int:
        """The lag with the smallest raw p-value of the net-liquidity beta."""
        t = self.nl_table
        return int(t.index.to_numpy()[int(np.argmin(t["pvalue"].to_numpy()))])

    def verdict(self) -> str:
        """One sentence: which lag (if any) survives the headline correction."""
        best = self.nl_table.loc[self.best_lag]
        surv = self.surviving_lags
        head = (
            f"{self.symbol}: smallest raw p-value at lag {self.best_lag} w "
            f"(beta {best['beta']:.2f}, p {best['pvalue']:.3g}, Holm {best['p_holm']:.3g})"
        )
        if surv:
            return f"{head}; lag(s) {surv} survive Holm at {self.alpha:g}."
        return f"{head}; no lag survives Holm at {self.alpha:g} across {self.max_lag + 1} lags."

    def _payload(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "max_lag_weeks": self.max_lag,
            "alpha": self.alpha,
            "hac_maxlags": self.hac_lags,
            "regressors": self.regressors,
            "measure": self.measure,
            "sample_on": self.sample_on,
            "headline_correction": HEADLINE_CORRECTION,
            "best_lag": self.best_lag,
            "surviving_lags": self.surviving_lags,
            "surviving_lags_bh": [
                int(k) for k in self.nl_table.index[self.nl_table["survives_bh"].to_numpy(bool)]
            ],
            "verdict": self.verdict(),
            "nobs": int(self.table["nobs"].iloc[0]),
            "start": self.panel.index[self.max_lag],
            "end": self.panel.index[-1],
            "lags": self.table.to_dict(orient="records"),
            "weekly": self.panel.reset_index().to_dict(orient="records"),
        }

    def summary(self) -> Summary:
        """The lag table (net liquidity, plus extra regressors if any) and the verdict."""
        cols = ["beta", "se", "t", "pvalue", "p_holm", "p_bh", "survives_holm", "r2"]
        tables = []
        for reg in self.regressors:
            sub = self.table.loc[self.table["regressor"] == reg].set_index("lag")[cols]
            op = "Δ" if reg == "net_liquidity" and self.measure == "level" else "Δln"
            tables.append(Table.from_frame(f"{op} {reg} → {self.symbol} weekly log return", sub))
        return Summary(
            f"Liquidity beta of {self.symbol} across lags 0–{self.max_lag} weeks",
            facts=[
                ("weeks", int(self.table["nobs"].iloc[0])),
                (
                    "sample",
                    f"{self.panel.index[self.max_lag]:%Y-%m-%d} to {self.panel.index[-1]:%Y-%m-%d}",
                ),
                ("HAC lags (Newey–West)", self.hac_lags),
                ("headline correction", f"Holm (FWER), alpha {self.alpha:g}"),
                ("best lag (raw p)", self.best_lag),
                ("lags surviving Holm", ", ".join(map(str, self.surviving_lags)) or "none"),
            ],
            tables=tables,
            notes=[
                self.verdict(),
                (
                    "beta = elasticity: weekly log return per unit weekly log change of net "
                    "liquidity"
                    if self.measure == "log"
                    else "beta = weekly log return per USD trillion change of net liquidity"
                )
                + " (WALCL − TGA − RRP, Wednesday levels"
                + (
                    ", dated when all three were published); returns close-to-close on those "
                    "publication days."
                    if self.sample_on == "publication"
                    else "); returns close-to-close on the Wednesdays (lags 0-1 overlap the "
                    "day before publication)."
                ),
                "Sources: WALCL, TGA (DTS) / WTREGEN before 2022-04-18, RRPONTSYD (billions, "
                f"converted), {self.symbol} closes"
                + (", M2SL and STABLECOIN_SUPPLY as published" if len(self.regressors) > 1 else "")
                + ".",
                "Benjamini–Hochberg (FDR) adjusted p-values are shown for reference; Holm is the "
                "headline because choosing the best of several lags needs family-wise control.",
            ],
        )

    def to_frame(self) -> pd.DataFrame:
        """The lag table."""
        return self.table

    def plot(self) -> Any:
        """Two panels: levels on twin axes, and the 26-week rolling correlation of changes."""
        return liquidity_view(self.panel, self.symbol)

    def plot_lags(self) -> Any:
        """Net-liquidity beta by lag with 95% HAC confidence bars."""
        import plotly.graph_objects as go

        from powderkeg.figures import TEMPLATE

        t = self.nl_table
        colors = ["#d9480f" if s else "#868e96" for s in t["survives_holm"]]
        fig = go.Figure(
            go.Bar(
                x=t.index.to_numpy(),
                y=t["beta"],
                marker_color=colors,
                error_y={"type": "data", "array": 1.96 * t["se"].to_numpy()},
                name="beta",
            )
        )
        fig.update_layout(
            title=f"{self.symbol} beta on Δln net liquidity by lag (orange: survives Holm)",
            template=TEMPLATE,
            xaxis_title="lag (weeks)",
            yaxis_title="beta (elasticity)",
            height=320,
            margin={"l": 50, "r": 20, "t": 50, "b": 40},
        )
        return fig


def liquidity_view(panel: pd.DataFrame, symbol: str, window: int = 26) -> Any:
    """Levels and changes side by side.

    Top panel: the asset's close (log axis) and net liquidity (USD bn) on twin axes. Bottom
    panel: the ``window``-week rolling correlation of the asset's weekly log return with the
    same week's Δln net liquidity.

    Parameters
    ----------
    panel : DataFrame
        From :func:`weekly_panel`.
    symbol : str
    window : int, default 26
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from powderkeg.figures import TEMPLATE

    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.6, 0.4],
        vertical_spacing=0.08,
        specs=[[{"secondary_y": True}], [{}]],
        subplot_titles=(
            f"Levels: {symbol} (log, left) and net liquidity (USD bn, right)",
            f"{window}-week rolling correlation: weekly {symbol} log return vs Δln net liquidity",
        ),
    )
    fig.add_trace(go.Scatter(x=panel.index, y=panel["asset"], name=symbol), row=1, col=1)
    fig.add_trace(
        go.Scatter(x=panel.index, y=panel["net_liquidity"], name="Net liquidity"),
        row=1,
        col=1,
        secondary_y=True,
    )
    corr = panel["r_asset"].rolling(window).corr(panel["d_nl"])
    fig.add_trace(go.Scatter(x=corr.index, y=corr, name="rolling corr"), row=2, col=1)
    fig.add_hline(y=0.0, line={"color": "#adb5bd", "width": 1}, row=2, col=1)
    fig.update_yaxes(type="log", row=1, col=1, secondary_y=False)
    fig.update_yaxes(range=[-1, 1], row=2, col=1)
    fig.update_layout(
        template=TEMPLATE,
        height=560,
        legend={"orientation": "h"},
        margin={"l": 50, "r": 50, "t": 60, "b": 40},
    )
    return fig


def lag_regressions(
    panel: pd.DataFrame,
    max_lag: int = 12,
    regressors: tuple[str, ...] = ("net_liquidity",),
    hac_lags: int | None = None,
    alpha: float = 0.05,
) -> tuple[pd.DataFrame, int]:
    """Run the per-lag regressions on a weekly panel.

    Returns the table (one row per regressor and lag; the Holm and BH corrections are applied
    within each regressor, across its ``max_lag + 1`` lags) and the HAC bandwidth used.
    """
    cols = {"net_liquidity": "d_nl", **{k: f"d_{k}" for k in EXTRA_REGRESSORS}}
    xcols = [cols[r] for r in regressors]
    data = panel[["r_asset", *xcols]].to_numpy(dtype=np.float64)
    n = len(data) - max_lag
    if n < 30:
        raise InsufficientDataError(
            f"only {n} weekly observations after dropping {max_lag} lags; need at least 30"
        )
    y = data[max_lag:, 0]
    L = newey_west_lags(n) if hac_lags is None else hac_lags
    rows = []
    for k in range(max_lag + 1):
        X = np.column_stack([np.ones(n), data[max_lag - k : len(data) - k, 1:]])
        if not np.all(np.isfinite(X)) or not np.all(np.isfinite(y)):
            raise InsufficientDataError("missing weekly values in the regression sample")
        fit = ols(y, X, hac_lags=L)
        for j, reg in enumerate(regressors, start=1):
            rows.append(
                {
                    "regressor": reg,
                    "lag": k,
                    "beta": fit.params[j],
                    "se": fit.bse[j],
                    "t": fit.tvalues[j],
                    "pvalue": fit.pvalues[j],
                    "r2": fit.rsquared,
                    "nobs": fit.nobs,
                }
            )
    table = pd.DataFrame(rows)
    table["p_holm"] = np.nan
    table["p_bh"] = np.nan
    for reg in regressors:  # one family per regressor: its K + 1 lags
        mask = (table["regressor"] == reg).to_numpy()
        table.loc[mask, "p_holm"] = holm(table.loc[mask, "pvalue"].to_numpy())
        table.loc[mask, "p_bh"] = benjamini_hochberg(table.loc[mask, "pvalue"].to_numpy())
    table["survives_holm"] = table["p_holm"] < alpha
    table["survives_bh"] = table["p_bh"] < alpha
    return table, L


def liquidity_beta(
    store: Any,
    symbol: str = "BTC-USD",
    max_lag_weeks: int = 12,
    *,
    start: Any = None,
    asof: Any = None,
    extras: tuple[str, ...] = (),
    hac_lags: int | None = None,
    alpha: float = 0.05,
    measure: str = "log",
    sample_on: str = "publication",
) -> LiquidityBetaResult:
    """Weekly liquidity beta of ``symbol`` at lags ``0..max_lag_weeks``.

    Parameters
    ----------
    store : Store
    symbol : str, default "BTC-USD"
    max_lag_weeks : int, default 12
    start : date-like, optional
        First publication day of the weekly sample (default: the asset's first close).
    asof : date-like, optional
        Use only data published by this day.
    extras : tuple of str
        Extra regressors from :data:`EXTRA_REGRESSORS` (``"m2"``, ``"stablecoin"``): their
        weekly log changes as published, at the same lag.
    hac_lags : int, optional
        Newey–West bandwidth (default: the rule of thumb on the sample size).
    alpha : float, default 0.05
        Level of the Holm and BH decisions.
    measure : {"log", "level"}
        Regress on Δ ln NL (elasticity, default) or on ΔNL in USD trillions.
    sample_on : {"publication", "wednesday"}
        See :func:`weekly_panel`; ``"publication"`` (default) has no look-ahead.

    Returns
    -------
    LiquidityBetaResult
    """
    from powderkeg.liquidity import net_liquidity as nl

    K = check_int(max_lag_weeks, "max_lag_weeks", minimum=0, maximum=104)
    a = check_float(alpha, "alpha", minimum=0.0, maximum=1.0, exclusive_minimum=True)
    if hac_lags is not None:
        check_int(hac_lags, "hac_lags", minimum=0)
    for e in extras:
        if e not in EXTRA_REGRESSORS:
            raise InputError(f"extras must be among {', '.join(EXTRA_REGRESSORS)}; got {e!r}")
    s, end = optional_date(start, "start"), optional_date(asof, "asof")
    comps = nl.load_all(store, end)
    weekly = nl.weekly_net_liquidity(
        comps[nl.WALCL], comps[nl.TGA_DAILY], comps[nl.TGA_WEEKLY], comps[nl.RRP], end
    )
    close = store.frame([symbol], end=end)[symbol]
    extra_series = {
        e: store.frame([EXTRA_REGRESSORS[e]], end=end)[EXTRA_REGRESSORS[e]] for e in extras
    }
    if "stablecoin" in extra_series:
        extra_series["stablecoin"] = reliable_stablecoin(extra_series["stablecoin"])
    panel = weekly_panel(weekly, close, extra_series, measure=measure, sample_on=sample_on)
    if s is not None:
        panel = panel.loc[panel.index >= s]
    panel = panel.dropna(subset=["r_asset", "d_nl", *[f"d_{e}" for e in extras]])
    regs = ("net_liquidity", *extras)
    table, L = lag_regressions(panel, K, regs, hac_lags, a)
    used = [*nl.SYMBOLS, symbol, *[EXTRA_REGRESSORS[e] for e in extras]]
    return LiquidityBetaResult(
        symbol=symbol,
        table=table,
        panel=panel,
        max_lag=K,
        alpha=a,
        hac_lags=L,
        regressors=list(regs),
        measure=measure,
        sample_on=sample_on,
        provenance=Provenance(
            sources=store.provenance(used),
            parameters={
                "symbol": symbol,
                "max_lag_weeks": K,
                "start": s,
                "asof": end,
                "extras": list(extras),
                "hac_lags": L,
                "alpha": a,
                "headline_correction": HEADLINE_CORRECTION,
                "measure": measure,
                "sample_on": sample_on,
            },
        ),
    )
