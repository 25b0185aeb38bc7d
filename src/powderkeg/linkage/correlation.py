r"""Rolling, calendar-span and EWMA correlation, for one pair or a whole universe.

A correlation figure means nothing without its recipe, so every result here states the
**method** (Pearson, Spearman, Kendall or EWMA), what it was computed **on** (log or simple
returns, or price levels), the **calendar** that aligned the two series (default
``intersection``: only dates on which both have a close, so BTC's Friday-to-Monday move is one
return) and the **sample** (number of observations, first and last date).

Windows
-------
An ``int`` window counts observations (rows of the aligned frame). A string such as
``"90D"``, ``"13W"``, ``"3M"`` or ``"1Y"`` is a calendar span: the window ending at date
:math:`t` holds the observations dated in :math:`(t - \text{span}, t]` (pandas'
``rolling("90D")`` convention), so its size varies.

Missing values
--------------
A window holding a missing value in either series gives NaN, as pandas'
``rolling(window).corr()`` does with its default ``min_periods=window``. Calendar-span windows
need at least ``min_obs`` observations (default 3).

Confidence interval
-------------------
Fisher's transform :math:`z = \operatorname{artanh} r` is approximately normal with standard
error :math:`1/\sqrt{n-3}` (Pearson), :math:`\sqrt{1.06/(n-3)}` (Spearman) or
:math:`\sqrt{0.437/(n-4)}` (Kendall) (Fieller, Hartley & Pearson 1957); the interval is
:math:`\tanh(z \pm z_{1-\alpha/2}\,\mathrm{se})`. It assumes independent observations; returns
are close to that, price levels are not (their interval is far too narrow).

References
----------
Fisher, R. A. (1921). On the "probable error" of a coefficient of correlation deduced from a
small sample. *Metron* 1, 3-32.
Fieller, E. C., Hartley, H. O. & Pearson, E. S. (1957). Tests for rank correlation
coefficients. I. *Biometrika* 44(3/4), 470-481.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import special

from powderkeg._validation import check_float, check_int, check_option, optional_date
from powderkeg.exceptions import InputError, InsufficientDataError
from powderkeg.linkage import _corr_kernels as kernels
from powderkeg.results import Provenance, Result, Summary, Table
from powderkeg.transforms import RETURN_KINDS, returns

METHODS = ("pearson", "spearman", "kendall")
ON = ("returns", "levels")
_METHOD_CODES = {
    "pearson": kernels.PEARSON,
    "spearman": kernels.SPEARMAN,
    "kendall": kernels.KENDALL,
}
_SPAN_RE = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)
_SPAN_UNITS = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}


_CALENDAR_NOTES = {
    "intersection": "dates on which both have a close",
    "union-ffill": "all dates, each series carried forward",
    "union": "all dates, gaps left missing",
}


def describe_calendar(calendar: str) -> str:
    """The calendar policy with a short explanation, e.g. 'intersection (dates on which ...)'."""
    note = _CALENDAR_NOTES.get(calendar, "sessions of that exchange")
    return f"{calendar} ({note})"


@dataclass(frozen=True)
class WindowSpec:
    """A rolling window: a number of observations or a calendar span.

    Attributes
    ----------
    label : str
        As given (``"30"``, ``"90D"``, ``"3M"``).
    size : int or None
        Observations per window (count windows).
    offset : DateOffset or None
        Calendar span (span windows).
    """

    label: str
    size: int | None = None
    offset: pd.DateOffset | None = None

    @property
    def is_span(self) -> bool:
        """True for a calendar span."""
        return self.offset is not None

    def describe(self) -> str:
        """Human-readable description, e.g. '30 observations' or 'calendar span 3M'."""
        if self.size is not None:
            return f"{self.size} observations"
        return f"calendar span {self.label} (observations dated in (t - {self.label}, t])"

    def bounds(self, index: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
        """Start (inclusive) and end (exclusive) row of the window ending at every row.

        Count windows that would start before the first row get ``start = end`` (empty).
        """
        n = len(index)
        ends = np.arange(1, n + 1, dtype=np.int64)
        if self.size is not None:
            starts = ends - self.size
            starts[starts < 0] = ends[starts < 0]
            return starts, ends
        lower = pd.DatetimeIndex(index) - cast(pd.DateOffset, self.offset)
        starts = np.searchsorted(index.to_numpy(), lower.to_numpy(), side="right")
        return starts.astype(np.int64), ends


def parse_window(window: int | str) -> WindowSpec:
    """Parse a window given as an observation count or a calendar span.

    Parameters
    ----------
    window : int or str
        ``30`` or ``"30"`` (observations, at least 3), or ``"90D"``, ``"13W"``, ``"3M"``,
        ``"1Y"`` (calendar span).

    Returns
    -------
    WindowSpec
    """
    if isinstance(window, str) and window.strip().isdigit():
        window = int(window.strip())
    if isinstance(window, (int, np.integer)) and not isinstance(window, bool):
        size = check_int(window, "window", minimum=3)
        return WindowSpec(str(size), size=size)
    if isinstance(window, str):
        m = _SPAN_RE.match(window)
        if m:
            count = int(m.group(1))
            unit = m.group(2).upper()
            if count < 1:
                raise InputError(f"window span must be positive, got {window!r}")
            kwargs: dict[str, Any] = {_SPAN_UNITS[unit]: count}
            offset = pd.DateOffset(**kwargs)
            return WindowSpec(f"{count}{unit}", offset=offset)
    raise InputError(
        f"window must be a number of observations (e.g. 30) or a calendar span like 90D, 13W, "
        f"3M or 1Y; got {window!r}"
    )


def _pair_frame(x: pd.Series, y: pd.Series) -> pd.DataFrame:
    frame = pd.concat([x.astype("float64"), y.astype("float64")], axis=1, join="outer")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise InputError("x and y must be date-indexed Series")
    return frame.sort_index()


def rolling_corr(
    x: pd.Series,
    y: pd.Series,
    window: int | str | WindowSpec,
    method: str = "pearson",
    *,
    min_obs: int = 3,
) -> pd.Series:
    r"""Rolling correlation of two date-indexed series.

    Parameters
    ----------
    x, y : Series
        Date-indexed values (aligned on their index; a date missing in one is a missing value).
    window : int, str or WindowSpec
        Observations (``30``) or a calendar span (``"90D"``, ``"3M"``).
    method : {"pearson", "spearman", "kendall"}
        Pearson's :math:`r`; Spearman's :math:`\rho` (Pearson on average ranks within each
        window); Kendall's :math:`\tau_b` (tie-corrected).
    min_obs : int, default 3
        Fewest observations a calendar-span window may hold.

    Returns
    -------
    Series
        The correlation over the window ending at each date (NaN where the window is
        incomplete or holds a missing value).

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.date_range("2025-01-01", periods=4)
    >>> rolling_corr(pd.Series([1.0, 2, 3, 5], idx), pd.Series([2.0, 4, 6, 6], idx), 3).round(3)
    2025-01-01      NaN
    2025-01-02      NaN
    2025-01-03    1.000
    2025-01-04    0.756
    Freq: D, Name: pearson corr, dtype: float64
    """
    check_option(method, "method", METHODS)
    spec = window if isinstance(window, WindowSpec) else parse_window(window)
    min_obs = check_int(min_obs, "min_obs", minimum=2)
    frame = _pair_frame(x, y)
    starts, ends = spec.bounds(pd.DatetimeIndex(frame.index))
    out = np.empty(len(frame))
    xs = np.ascontiguousarray(frame.iloc[:, 0].to_numpy(dtype=np.float64))
    ys = np.ascontiguousarray(frame.iloc[:, 1].to_numpy(dtype=np.float64))
    need = spec.size if spec.size is not None else min_obs
    kernels.window_corr(xs, ys, starts, ends, _METHOD_CODES[method], need, out)
    return pd.Series(out, index=frame.index, name=f"{method} corr")


def ewma_corr(x: pd.Series, y: pd.Series, halflife: float) -> pd.Series:
    r"""Exponentially weighted correlation with the given half-life (in observations).

    The decay is :math:`\alpha = 1 - 2^{-1/h}` per row; weights are normalised over the
    observations seen so far (pandas ``ewm(halflife=h, adjust=True).corr()``).

    Parameters
    ----------
    x, y : Series
        Date-indexed values.
    halflife : float
        Half-life :math:`h > 0` in observations; typical values 10-60 for daily returns.

    Returns
    -------
    Series
    """
    h = check_float(halflife, "halflife", minimum=0.0, exclusive_minimum=True)
    frame = _pair_frame(x, y)
    alpha = 1.0 - math.exp(-math.log(2.0) / h)
    out = np.empty(len(frame))
    kernels.ewma_corr(
        np.ascontiguousarray(frame.iloc[:, 0].to_numpy(dtype=np.float64)),
        np.ascontiguousarray(frame.iloc[:, 1].to_numpy(dtype=np.float64)),
        alpha,
        out,
    )
    return pd.Series(out, index=frame.index, name=f"ewma corr (halflife {h:g})")


def rolling_corr_matrix(
    frame: pd.DataFrame | np.ndarray,
    window: int,
    *,
    parallel: bool | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    r"""All-pairs rolling Pearson correlation of the columns of ``frame``.

    Parameters
    ----------
    frame : DataFrame or ndarray of shape (T, N)
        Values (e.g. returns of a whole universe), one column per series.
    window : int
        Observations per window (at least 2).
    parallel : bool, optional
        Split each step's N x N update over threads (default: when N >= 256, where the
        per-step work outweighs the cost of a parallel region).
    out : ndarray of shape (T, N, N), optional
        A C-contiguous float64 buffer to write into (reusing one avoids allocating and
        first-touching 8 T N^2 bytes on every call).

    Returns
    -------
    ndarray of shape (T, N, N)
        ``out[t, i, j]`` is the correlation of columns ``i`` and ``j`` over rows
        ``t - window + 1 .. t``; NaN before the first full window and wherever that window holds
        a missing value in column ``i`` or ``j`` (pandas ``rolling(window).corr()``, whose
        (T*N, N) frame this array equals after ``reshape(T*N, N)``).

    Notes
    -----
    Cost is O(T N^2) with a windowed Welford update of the centred co-moments (see
    :mod:`powderkeg.linkage._corr_kernels`); memory is the (T, N, N) float64 result,
    8 T N^2 bytes (5 GB for T = 2500, N = 500).
    """
    arr = np.asarray(frame, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"frame must be 2-dimensional (T, N), got shape {arr.shape}")
    window = check_int(window, "window", minimum=2)
    missing = ~np.isfinite(arr)
    filled = pd.DataFrame(np.where(missing, np.nan, arr)).ffill().bfill().fillna(0.0)
    # Correlation is shift-invariant; centring each column keeps the rounding error of the
    # running means (about eps * |mean|) small next to the spread within a window.
    z = filled.to_numpy(dtype=np.float64)
    z = np.ascontiguousarray(z - z.mean(axis=0))
    shape = (arr.shape[0], arr.shape[1], arr.shape[1])
    if out is None:
        out = np.empty(shape)
    elif out.shape != shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise InputError(f"out must be a C-contiguous float64 array of shape {shape}")
    if parallel is None:
        parallel = arr.shape[1] >= 256
    kernel = (
        kernels.rolling_corr_matrix_parallel if parallel else kernels.rolling_corr_matrix_serial
    )
    kernel(z, np.ascontiguousarray(missing), window, out)
    return out


def aligned_pair(
    prices: pd.DataFrame, a: str, b: str, asof: Any
) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """Columns ``a`` and ``b`` of ``prices`` where both are present, up to ``asof``."""
    for sym in (a, b):
        if sym not in prices.columns:
            raise InputError(f"{sym!r} is not a column of prices")
    end_req = optional_date(asof, "asof")
    pair = prices[[a, b]].dropna()
    if end_req is not None:
        pair = pair.loc[pair.index <= end_req]
    return pair, end_req


def fisher_ci(
    r: float, n: float, method: str = "pearson", level: float = 0.95
) -> tuple[float, float]:
    r"""Confidence interval for a correlation by Fisher's z transform.

    Parameters
    ----------
    r : float
        The correlation.
    n : float
        Observations (or an effective sample size).
    method : {"pearson", "spearman", "kendall"}
        Chooses the standard error of :math:`\operatorname{artanh} r` (see module notes).
    level : float, default 0.95
        Coverage.

    Returns
    -------
    (low, high)
        NaN when ``n`` is too small or ``r`` is not finite.
    """
    check_option(method, "method", METHODS)
    if not math.isfinite(r) or abs(r) >= 1.0:
        return (math.nan, math.nan) if not math.isfinite(r) else (r, r)
    if method == "kendall":
        if n <= 4:
            return math.nan, math.nan
        se = math.sqrt(0.437 / (n - 4))
    else:
        if n <= 3:
            return math.nan, math.nan
        se = math.sqrt((1.06 if method == "spearman" else 1.0) / (n - 3))
    q = float(special.ndtri(0.5 + level / 2.0))
    z = math.atanh(r)
    return math.tanh(z - q * se), math.tanh(z + q * se)


def corr_pvalue(r: float, n: float, method: str = "pearson") -> float:
    r"""Two-sided p-value of :math:`H_0: \rho = 0`.

    Pearson and Spearman use :math:`t = r\sqrt{(n-2)/(1-r^2)}` with :math:`n-2` degrees of
    freedom (as :func:`scipy.stats.pearsonr` / ``spearmanr``); Kendall uses the normal
    approximation :math:`z = 3\tau\sqrt{n(n-1)} / \sqrt{2(2n+5)}` (no tie correction).
    """
    if not math.isfinite(r) or n < 3:
        return math.nan
    if method == "kendall":
        z = 3.0 * r * math.sqrt(n * (n - 1)) / math.sqrt(2.0 * (2.0 * n + 5.0))
        return float(2.0 * special.ndtr(-abs(z)))
    if abs(r) >= 1.0:
        return 0.0
    t = r * math.sqrt((n - 2) / (1.0 - r * r))
    return float(2.0 * special.stdtr(n - 2, -abs(t)))


def _effective_n(n: int, alpha: float) -> float:
    """Kish effective sample size of exponential weights over ``n`` observations."""
    lam = 1.0 - alpha
    if lam <= 0.0:
        return 1.0
    s1 = (1.0 - lam**n) / (1.0 - lam)
    s2 = (1.0 - lam ** (2 * n)) / (1.0 - lam * lam)
    return s1 * s1 / s2


@dataclass
class RollingCorrelationResult(Result):
    """A correlation at an as-of date with its rolling history and its recipe.

    JSON keys: ``value`` (at ``end``, the last aligned date on or before ``asof``), ``n``,
    ``start``, ``end``, ``method``, ``on``, ``window``, ``series`` (rolling values with dates),
    ``calendar``, ``symbols``, ``asof``, ``returns``, ``ci``, ``pvalue``, ``ewma_halflife``,
    ``statement``.
    """

    symbols: tuple[str, str]
    method: str
    on: str
    returns_kind: str | None
    window: str
    window_description: str
    calendar: str
    asof: pd.Timestamp | None
    end: pd.Timestamp
    start: pd.Timestamp
    n: int
    value: float
    ci_low: float
    ci_high: float
    pvalue: float
    series: pd.Series
    ci_level: float = 0.95
    ewma_halflife: float | None = None
    n_effective: float | None = None
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def what(self) -> str:
        """What was correlated, e.g. 'daily log returns' or 'price levels'."""
        if self.on == "levels":
            return "price levels"
        return f"{self.returns_kind} returns (between consecutive aligned dates)"

    @property
    def method_label(self) -> str:
        """Method with its parameters, e.g. 'Pearson' or 'EWMA Pearson (half-life 30)'."""
        if self.ewma_halflife is not None:
            return f"EWMA Pearson (half-life {self.ewma_halflife:g} obs)"
        return {"pearson": "Pearson", "spearman": "Spearman", "kendall": "Kendall tau-b"}[
            self.method
        ]

    def statement(self) -> str:
        """One quotable sentence with method, data, calendar and sample."""
        a, b = self.symbols
        span = (
            f"{self.n} observations, weighted with half-life {self.ewma_halflife:g}"
            f" (effective n {self.n_effective:.0f})"
            if self.ewma_halflife is not None and self.n_effective is not None
            else f"{self.n} observations"
        )
        ci = (
            f"; {self.ci_level:.0%} CI [{self.ci_low:.2f}, {self.ci_high:.2f}]"
            if math.isfinite(self.ci_low)
            else ""
        )
        return (
            f"{a} vs {b}: {self.method_label} correlation of {self.what} = {self.value:.3f} "
            f"over {span} from {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d} "
            f"(window {self.window}; calendar {describe_calendar(self.calendar)}){ci}."
        )

    def _payload(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "n": self.n,
            "start": self.start,
            "end": self.end,
            "method": self.method if self.ewma_halflife is None else "ewma-pearson",
            "on": self.on,
            "window": self.window,
            "series": self.series.dropna(),
            "calendar": self.calendar,
            "symbols": list(self.symbols),
            "asof": self.asof,
            "returns": self.returns_kind,
            "ci": {
                "level": self.ci_level,
                "low": self.ci_low,
                "high": self.ci_high,
                "method": "Fisher z, assumes independent observations",
            },
            "pvalue": self.pvalue,
            "ewma_halflife": self.ewma_halflife,
            "n_effective": self.n_effective,
            "statement": self.statement(),
        }

    def summary(self) -> Summary:
        """Facts with the recipe; notes with the caveats."""
        a, b = self.symbols
        facts: list[tuple[str, Any]] = [
            ("correlation", self.value),
            (f"{self.ci_level:.0%} CI (Fisher z)", f"[{self.ci_low:.3f}, {self.ci_high:.3f}]"),
            ("p-value (rho = 0)", self.pvalue),
            ("method", self.method_label),
            ("on", self.what),
            ("window", f"{self.window} ({self.window_description})"),
            ("sample", f"n = {self.n}, {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}"),
            ("calendar", describe_calendar(self.calendar)),
        ]
        if self.asof is not None:
            facts.append(("as of (requested)", f"{self.asof:%Y-%m-%d}"))
        valid = self.series.dropna()
        notes = [self.statement()]
        if self.on == "levels":
            notes.append(
                "Correlations of price levels are dominated by shared trends and say little "
                "about co-movement; see `powderkeg link spurious`."
            )
        notes.append("The interval assumes independent observations (returns, not levels).")
        tables = []
        if len(valid):
            tables.append(
                Table(
                    "rolling history",
                    ["", "value", "date"],
                    [
                        ["min", float(valid.min()), valid.idxmin()],
                        ["median", float(valid.median()), None],
                        ["max", float(valid.max()), valid.idxmax()],
                        ["first", float(valid.iloc[0]), valid.index[0]],
                    ],
                )
            )
        return Summary(f"Correlation {a} vs {b}", facts, tables, notes)

    def to_frame(self) -> pd.DataFrame:
        """The rolling series as a DataFrame with a ``date`` index and a ``corr`` column."""
        return self.series.rename("corr").rename_axis("date").to_frame()

    def plot(self) -> Any:
        """Line chart of the rolling correlation."""
        from powderkeg.figures import line_chart

        a, b = self.symbols
        fig = line_chart(
            {f"{self.method_label}, {self.on}": self.series.dropna()},
            f"{a} vs {b}: rolling correlation (window {self.window}, {self.calendar})",
            "correlation",
        )
        fig.add_hline(y=0.0, line_dash="dot", line_color="grey")
        return fig


def correlate(
    prices: pd.DataFrame,
    a: str,
    b: str,
    *,
    window: int | str = 30,
    method: str = "pearson",
    on: str = "returns",
    returns_kind: str = "log",
    asof: Any = None,
    ewma_halflife: float | None = None,
    calendar: str | None = None,
    ci_level: float = 0.95,
    provenance: Provenance | None = None,
) -> RollingCorrelationResult:
    """Correlation of two price series at an as-of date, with its rolling history.

    Parameters
    ----------
    prices : DataFrame
        Aligned prices with columns ``a`` and ``b`` (e.g. ``store.frame([a, b])``); rows
        where either is missing are dropped.
    a, b : str
        Column names.
    window : int or str, default 30
        Observations or a calendar span (ignored for EWMA).
    method : {"pearson", "spearman", "kendall"}
    on : {"returns", "levels"}
    returns_kind : {"log", "simple"}
    asof : date-like, optional
        Use data up to this date; the value is at the last aligned date on or before it.
    ewma_halflife : float, optional
        Use an exponentially weighted Pearson correlation with this half-life instead of a
        window.
    calendar : str, optional
        Label of the alignment policy (default ``prices.attrs["calendar"]``).
    ci_level : float, default 0.95
    provenance : Provenance, optional

    Returns
    -------
    RollingCorrelationResult

    Raises
    ------
    InsufficientDataError
        When the window ending at the as-of date is incomplete.
    """
    check_option(method, "method", METHODS)
    check_option(on, "on", ON)
    check_option(returns_kind, "returns", RETURN_KINDS)
    pair, end_req = aligned_pair(prices, a, b, asof)
    data = returns(pair, returns_kind) if on == "returns" else pair
    if len(data) < 3:
        raise InsufficientDataError(
            f"only {len(data)} aligned observations of {a} and {b}"
            + (f" up to {end_req:%Y-%m-%d}" if end_req is not None else "")
        )
    cal = calendar or str(prices.attrs.get("calendar", "as given"))
    n_eff: float | None = None
    if ewma_halflife is not None:
        if method != "pearson":
            raise InputError("--ewma-halflife gives a Pearson correlation; drop --method")
        series = ewma_corr(data[a], data[b], ewma_halflife)
        h = float(ewma_halflife)
        spec_label, spec_desc = f"ewma(halflife={h:g})", f"all {len(data)} observations"
        first = 0
        n = len(data)
        n_eff = _effective_n(n, 1.0 - math.exp(-math.log(2.0) / h))
    else:
        spec = parse_window(window)
        if spec.size is not None and spec.size > len(data):
            raise InsufficientDataError(
                f"the window of {spec.size} observations is longer than the {len(data)} aligned "
                f"{'returns' if on == 'returns' else 'levels'} of {a} and {b} "
                f"({data.index[0]:%Y-%m-%d} to "
                f"{data.index[-1]:%Y-%m-%d}); use --window {len(data)} or less"
            )
        series = rolling_corr(data[a], data[b], spec, method)
        starts, ends = spec.bounds(pd.DatetimeIndex(data.index))
        first = int(starts[-1])
        n = int(ends[-1] - starts[-1])
        spec_label, spec_desc = spec.label, spec.describe()
        h = None
    value = float(series.iloc[-1])
    if not math.isfinite(value):
        raise InsufficientDataError(
            f"no {method} correlation of {a} and {b} at {data.index[-1]:%Y-%m-%d}: the window "
            f"{spec_label} holds {n} usable observations"
        )
    n_ci = n_eff if n_eff is not None else float(n)
    lo, hi = fisher_ci(value, n_ci, method, ci_level)
    prov = provenance or Provenance()
    prov.parameters.update(
        {
            "symbols": [a, b],
            "window": spec_label,
            "method": method,
            "on": on,
            "returns": returns_kind if on == "returns" else None,
            "asof": end_req,
            "ewma_halflife": h,
            "calendar": cal,
        }
    )
    return RollingCorrelationResult(
        symbols=(a, b),
        method=method,
        on=on,
        returns_kind=returns_kind if on == "returns" else None,
        window=spec_label,
        window_description=spec_desc,
        calendar=cal,
        asof=end_req,
        end=pd.Timestamp(data.index[-1]),
        start=pd.Timestamp(data.index[first]),
        n=n,
        value=value,
        ci_low=lo,
        ci_high=hi,
        pvalue=corr_pvalue(value, n_ci, method),
        series=series,
        ci_level=ci_level,
        ewma_halflife=h,
        n_effective=n_eff,
        provenance=prov,
    )
