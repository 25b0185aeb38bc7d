r"""Loading helper for the linkage statistics: aligned returns, baskets and control changes.

One call, :func:`load_panel`, turns symbols (or universe names) and optional controls into a
date-indexed frame of *changes* ready for the estimators:

* price series → log returns on the chosen calendar (under ``intersection`` a return spans the
  gap between consecutive common dates, so BTC's Friday→Monday move is one return);
* a universe name (``ai``) → the equal-weight basket, rebalanced every period:
  :math:`r^{\mathrm{basket}}_t = \ln\bigl(1 + \tfrac1N \sum_i (e^{r_{it}} - 1)\bigr)`;
* controls are sampled *as of* each date of the asset calendar (last published value, never
  past the control's last observation) and transformed over the same intervals: first
  differences for rates and spreads (unit ``percent``) and for the net-liquidity proxy, log
  changes for everything else (prices, indices such as DTWEXBGS);
* ``NETLIQ`` is the net-liquidity proxy WALCL − TGA − RRPONTSYD, computed in USD millions
  (RRP is published in billions and converted) and reported in USD billions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import check_option
from powderkeg.data.universe import UNIVERSES
from powderkeg.exceptions import InputError, InsufficientDataError

NET_LIQUIDITY = "NETLIQ"
NET_LIQUIDITY_PARTS = ("WALCL", "TGA", "RRPONTSYD")


@dataclass
class Panel:
    """Aligned changes of assets and controls, with what is needed to describe the sample."""

    returns: pd.DataFrame
    controls: pd.DataFrame
    calendar: str
    transforms: dict[str, str]
    control_dating: str = "publication"
    sources: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)

    @property
    def sample(self) -> str:
        """Human-readable sample description."""
        idx = self.returns.index
        if not len(idx):
            return "empty"
        return f"{idx[0]:%Y-%m-%d} to {idx[-1]:%Y-%m-%d}, {len(idx)} returns"

    def describe(self) -> str:
        """One line saying how each column was built."""
        parts = [f"{k}: {v}" for k, v in self.transforms.items()]
        if len(self.controls.columns):
            parts.append(f"controls dated by {self.control_dating}")
        return "; ".join(parts)


def index_bounds(index: pd.Index) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last date of a DatetimeIndex (NaT for other indexes)."""
    if isinstance(index, pd.DatetimeIndex) and len(index):
        return pd.Timestamp(index[0]), pd.Timestamp(index[-1])
    nat: Any = pd.NaT
    return nat, nat


def span_text(start: pd.Timestamp, end: pd.Timestamp, nobs: int) -> str:
    """'2024-01-02 to 2025-12-31 (500 returns)', or '500 returns' without dates."""
    if pd.isna(start) or pd.isna(end):
        return f"{nobs} returns"
    return f"{start:%Y-%m-%d} to {end:%Y-%m-%d} ({nobs} returns)"


def _transform_kind(info: dict[str, Any]) -> str:
    unit = str(info.get("unit") or "").lower()
    if info.get("kind") == "macro" and ("percent" in unit or unit == "%"):
        return "diff"
    return "log"


def _change(level: pd.Series | pd.DataFrame, kind: str) -> Any:
    if kind == "diff":
        return level.diff()
    return np.log(level / level.shift(1))


def _sampled(level: pd.Series, dates: pd.DatetimeIndex) -> pd.Series:
    """Last value known on each of ``dates``; NaN after the series' last observation."""
    level = level.dropna()
    out = level.reindex(level.index.union(dates)).ffill().reindex(dates)
    if len(level):
        out[dates > level.index[-1]] = np.nan
    return out


def load_panel(
    store: Any,
    symbols: Sequence[str],
    controls: Sequence[str] = (),
    *,
    start: Any = None,
    asof: Any = None,
    calendar: str = "intersection",
    control_dating: str = "publication",
) -> Panel:
    """Load aligned returns of ``symbols`` (universe names become baskets) and control changes.

    Parameters
    ----------
    store : Store
        An open store.
    symbols : sequence of str
        Asset symbols; a universe name (``ai``, ``mag7``...) gives its equal-weight basket.
    controls : sequence of str
        Control series (any stored symbol, or ``NETLIQ``).
    start, asof : date-like, optional
        First and last price date used.
    calendar : str
        Calendar policy passed to :meth:`Store.frame`.
    control_dating : {"publication", "observation"}
        Date macro controls by when they were published (no look-ahead; for predictive
        tests such as Granger) or by the day they describe (for contemporaneous measures such
        as partial correlation: the 10-year yield of day t moves with day t's returns, though
        FRED publishes it the next morning).

    Returns
    -------
    Panel
        ``returns`` (one column per entry of ``symbols``) and ``controls`` on the same dates,
        rows with any missing value removed.
    """
    check_option(control_dating, "control_dating", ("publication", "observation"))
    published = control_dating == "publication"
    if len(set(symbols)) != len(symbols):
        raise InputError(f"symbols must be distinct, got {list(symbols)}")
    members: dict[str, list[str]] = {}
    flat: list[str] = []
    for sym in symbols:
        group = list(UNIVERSES[sym.lower()]) if sym.lower() in UNIVERSES else [sym]
        members[sym] = group
        flat += [s for s in group if s not in flat]
    prices = store.frame(flat, start=start, end=asof, calendar=calendar)
    if len(prices) < 3:
        raise InsufficientDataError(
            f"only {len(prices)} aligned dates for {', '.join(flat)} on calendar {calendar!r}"
        )
    transforms: dict[str, str] = {}
    kinds = {s: _transform_kind(store.series_info(s)) for s in flat}
    changes = pd.DataFrame({s: _change(prices[s], kinds[s]) for s in flat}, index=prices.index)
    returns = pd.DataFrame(index=prices.index)
    for sym, group in members.items():
        if len(group) == 1 and group[0] == sym:
            returns[sym] = changes[sym]
            transforms[sym] = "log return" if kinds[sym] == "log" else "first difference"
        else:
            simple = changes[group].apply(np.expm1)
            returns[sym] = np.log1p(simple.mean(axis=1, skipna=False))
            transforms[sym] = f"equal-weight basket of {', '.join(group)} (log return)"
    ctrl = pd.DataFrame(index=prices.index)
    extra_sources: list[str] = []
    for name in controls:
        if name.upper() == NET_LIQUIDITY:
            parts = store.frame(
                list(NET_LIQUIDITY_PARTS),
                end=asof,
                calendar="union-ffill",
                unit="USD millions",
                asof_publication=published,
            )
            level = (parts["WALCL"] - parts["TGA"] - parts["RRPONTSYD"]) / 1000.0
            ctrl[NET_LIQUIDITY] = _sampled(level, prices.index).diff()
            transforms[NET_LIQUIDITY] = (
                "net liquidity WALCL - TGA - RRPONTSYD (USD billions), first difference"
            )
            extra_sources += list(NET_LIQUIDITY_PARTS)
            continue
        if name in members:
            raise InputError(f"control {name!r} is also one of the analysed series")
        kind = _transform_kind(store.series_info(name))
        level = store.frame([name], end=asof, calendar="union", asof_publication=published)[name]
        ctrl[name] = _change(_sampled(level, prices.index), kind)
        transforms[name] = "log change" if kind == "log" else "first difference"
        extra_sources.append(name)
    both = pd.concat([returns, ctrl], axis=1).iloc[1:]
    both = both.replace([np.inf, -np.inf], np.nan).dropna(how="any")
    if len(both) < 3:
        raise InsufficientDataError(
            "fewer than 3 dates where every series and control has a value; "
            "check the symbols' date ranges"
        )
    sources = store.provenance(flat + [s for s in extra_sources if s not in flat])
    return Panel(
        returns=both[list(returns.columns)],
        controls=both[list(ctrl.columns)],
        calendar=calendar,
        transforms=transforms,
        control_dating=control_dating,
        sources=sources,
        members=members,
    )
