r"""PSY recursive right-tailed ADF tests: SADF, GSADF and the BSADF sequence.

For a series :math:`y_0, \dots, y_{T-1}` (usually log prices or a price-dividend ratio), the
ADF regression over the sample fraction :math:`[r_1, r_2]` is

.. math::

    \Delta y_t = \alpha + \beta y_{t-1} + \sum_{j=1}^{p} \phi_j \Delta y_{t-j}
    + \varepsilon_t ,

with the right-tailed t-ratio :math:`ADF_{r_1}^{r_2}` of :math:`\beta`. Phillips, Shi & Yu
(2015) define, for a minimum window :math:`r_0`,

.. math::

    BSADF_{r_2}(r_0) = \sup_{r_1 \in [0, r_2 - r_0]} ADF_{r_1}^{r_2}, \qquad
    GSADF(r_0) = \sup_{r_2 \in [r_0, 1]} BSADF_{r_2}(r_0), \qquad
    SADF(r_0) = \sup_{r_2 \in [r_0, 1]} ADF_{0}^{r_2} .

Conventions
-----------
* ``min_window`` counts **observations** (levels), as PSY and psymonitor do; the default is
  :math:`\lfloor (0.01 + 1.8/\sqrt{T})\,T \rfloor`. A window of ``m`` observations holds
  ``m - 1 - p`` regression rows; pyexuber's ``minw`` counts regression rows, so
  ``exuber.radf(y, minw=min_window - 1 - lags, lag=lags)`` computes the identical
  windows (and our statistics equal its to about 1e-12).
* As in exuber, a row's lagged differences come from the whole sample, so every window
  with ``p`` lags uses the same rows and the BSADF sequence has ``T - min_window + 1``
  points whatever ``p``; the first is dated at observation ``min_window`` (1-based).
* With ``ic="aic"`` or ``"bic"``, ``lags`` is the maximum order and each window picks its own
  order in ``0..lags`` by the criterion, on the window's common rows.
* ``trend="ct"`` adds a linear trend to every window regression (critical values are then
  simulated with the same regression).

References
----------
Phillips, P. C. B., Shi, S. and Yu, J. (2015). Testing for multiple bubbles: historical
episodes of exuberance and collapse in the S&P 500. *International Economic Review* 56(4),
1043-1078.
Phillips, P. C. B., Wu, Y. and Yu, J. (2011). Explosive behavior in the 1990s Nasdaq: when
did exuberance escalate asset values? *International Economic Review* 52(1), 201-226.
Phillips, P. C. B. and Shi, S. (2020). Real time monitoring of asset markets: bubbles and
crises. In *Handbook of Statistics* 42, 61-80.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import as_series, check_int, check_option
from powderkeg.bubbles.bsadf import PCNT_KEYS, PsySettings, psy_sequences
from powderkeg.bubbles.critical_values import CriticalValues, MonteCarloCV, WildBootstrapCV
from powderkeg.bubbles.datestamp import Episode, datestamp, default_min_duration
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table

__all__ = ["GSADF", "GSADFResult"]

ProgressCallback = Callable[[int, int, str], None]


def _periods_per_year(index: pd.Index) -> float | None:
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 3:
        return None
    step = float(np.median(np.diff(index.asi8))) / 86_400e9
    if step <= 0:
        return None
    if step < 1.5:  # daily: 7-day crypto or 5-day exchange sessions
        span_days = (index[-1] - index[0]).days or 1
        return len(index) / span_days * 365.25
    return 365.25 / step


class GSADF:
    r"""The PSY generalized sup ADF test, with SADF and the BSADF date-stamping sequence.

    Parameters
    ----------
    y : array-like or Series of shape (T,)
        The series to test, typically log prices (or a price-dividend ratio). A
        DatetimeIndex dates the BSADF sequence and the episodes.
    min_window : int, optional
        Minimum window in observations (default :math:`\lfloor(0.01+1.8/\sqrt T)T\rfloor`,
        e.g. 66 for T = 1000, 163 for T = 4400).
    lags : int, default 0
        ADF lag order (the maximum order with ``ic``).
    trend : {"c", "ct"}, default "c"
        Constant, or constant and linear trend, in every window regression.
    ic : {None, "aic", "bic"}
        Choose the lag order per window by AIC or BIC (up to ``lags``).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.cumsum(np.random.default_rng(0).normal(size=200))
    >>> res = GSADF(y).fit(cv="mc", reps=100, seed=1)
    >>> round(res.stat, 4) == round(float(res.bsadf.max()), 4)
    True
    """

    def __init__(
        self,
        y: Any,
        min_window: int | None = None,
        lags: int = 0,
        trend: str = "c",
        ic: str | None = None,
    ) -> None:
        series = as_series(y, "y")
        if series.isna().any():
            bad = int(series.isna().sum())
            raise InputError(f"y contains {bad} missing values; drop or fill them first")
        if not np.all(np.isfinite(series.to_numpy())):
            raise InputError("y contains infinite values")
        self.y = series
        self.settings = PsySettings.build(len(series), min_window, lags, trend, ic)
        self._seq: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def nobs(self) -> int:
        """Sample size ``T``."""
        return self.settings.nobs

    def sequences(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """BSADF, BADF and lag-order arrays (computed once)."""
        if self._seq is None:
            self._seq = psy_sequences(self.y.to_numpy(dtype=np.float64), self.settings)
        return self._seq

    @property
    def point_index(self) -> pd.Index:
        """Dates (or positions) of the BSADF points."""
        return self.y.index[self.settings.min_window - 1 :]

    def critical_values(
        self,
        cv: str = "mc",
        reps: int = 2000,
        seed: int | None = None,
        *,
        tau_b: int | None = None,
        eta: float = 1.0,
        workers: int = 1,
        scheduler: str | None = None,
        progress: ProgressCallback | None = None,
        store: Any = None,
    ) -> CriticalValues:
        """Simulate (or read from the store cache) critical values for these settings."""
        check_option(cv, "cv", ("mc", "wild"))
        if cv == "mc":
            return MonteCarloCV(
                self.settings,
                reps=reps,
                seed=seed,
                eta=eta,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                store=store,
            ).compute()
        if tau_b is None:
            ppy = _periods_per_year(self.y.index)
            default = round(2 * ppy) if ppy else self.settings.n_points // 10
            tau_b = int(min(max(default, 1), self.settings.n_points))
        return WildBootstrapCV(
            self.y.to_numpy(dtype=np.float64),
            self.settings,
            reps=reps,
            seed=seed,
            tau_b=tau_b,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
            store=store,
        ).compute()

    def fit(
        self,
        cv: str | None = "mc",
        reps: int = 2000,
        seed: int | None = None,
        *,
        level: str = "95%",
        min_duration: int | None = None,
        tau_b: int | None = None,
        eta: float = 1.0,
        workers: int = 1,
        scheduler: str | None = None,
        progress: ProgressCallback | None = None,
        store: Any = None,
        critical_values: CriticalValues | None = None,
        price: pd.Series | None = None,
        sources: list[dict[str, Any]] | None = None,
    ) -> GSADFResult:
        """Compute the statistics, critical values, p-values and date-stamped episodes.

        Parameters
        ----------
        cv : {"mc", "wild", None}, default "mc"
            Monte Carlo under the unit-root null, the Phillips-Shi wild bootstrap, or no
            critical values (statistics only).
        reps : int, default 2000
            Replications.
        seed : int, optional
            Seed (results are identical for a seed whatever ``workers``/``scheduler``).
        level : {"90%", "95%", "99%"}, default "95%"
            Level of the BSADF critical-value sequence used for date-stamping.
        min_duration : int, optional
            Minimum episode length in observations (default ``round(log(T))``).
        tau_b : int, optional
            Wild bootstrap controlling window in BSADF points (default two years).
        eta : float, default 1.0
            Monte Carlo drift exponent (drift ``T**-eta``).
        workers, scheduler, progress, store
            See :class:`~powderkeg.bubbles.critical_values.MonteCarloCV`.
        critical_values : CriticalValues, optional
            Precomputed critical values for the same settings (skips the simulation).
        price : Series, optional
            Price levels for the peaks and the figure (default ``y``).
        sources : list of dict, optional
            Data provenance to record.
        """
        check_option(level, "level", PCNT_KEYS)
        if cv is not None:
            check_option(cv, "cv", ("mc", "wild"))
        t0 = time.perf_counter()
        bsadf, badf, lag_used = self.sequences()
        t_stat = time.perf_counter() - t0
        cvs = critical_values
        if cvs is None and cv is not None:
            cvs = self.critical_values(
                cv,
                reps,
                seed,
                tau_b=tau_b,
                eta=eta,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                store=store,
            )
        if cvs is not None and cvs.settings != self.settings:
            raise InputError(
                f"critical values were simulated for {cvs.settings}, not {self.settings}"
            )
        idx = self.point_index
        bsadf_s = pd.Series(bsadf, index=idx, name="bsadf")
        badf_s = pd.Series(badf, index=idx, name="badf")
        if min_duration is None:
            min_duration = default_min_duration(self.nobs)
        min_duration = check_int(min_duration, "min_duration", minimum=1)
        price_s = self.y if price is None else price.reindex(self.y.index)
        if cvs is not None:
            cv_seq = pd.Series(cvs.sequence(level), index=idx, name="cv")
            episodes = datestamp(bsadf_s, cv_seq, price_s, min_duration, nobs=self.nobs)
        else:
            cv_seq = pd.Series(np.nan, index=idx, name="cv")
            episodes = []
        params = {
            **self.settings.to_dict(),
            "cv": None if cvs is None else cvs.method,
            "reps": None if cvs is None else cvs.reps,
            "level": level,
            "min_duration": min_duration,
            "tau_b": None if cvs is None else cvs.tau_b,
            "eta": eta if (cvs is not None and cvs.method == "mc") else None,
        }
        return GSADFResult(
            settings=self.settings,
            y=self.y,
            price=price_s,
            bsadf=bsadf_s,
            badf=badf_s,
            lag_used=pd.Series(lag_used, index=idx, name="lag"),
            cv=cvs,
            cv_sequence=cv_seq,
            episodes=episodes,
            level=level,
            min_duration=min_duration,
            runtime={"statistic_s": t_stat, "total_s": time.perf_counter() - t0},
            provenance=Provenance(
                sources=list(sources or []),
                parameters=params,
                seed=None if cvs is None else cvs.seed,
            ),
        )


@dataclass
class GSADFResult(Result):
    """Result of :meth:`GSADF.fit`: statistics, critical values, p-values and episodes.

    JSON keys: ``stat`` (GSADF), ``pvalue``, ``critical_values`` (``"90%"``, ``"95%"``,
    ``"99%"``), ``nobs``, ``sadf`` (with ``sadf_pvalue``, ``sadf_critical_values``),
    ``bsadf`` and ``cv_sequence`` (dated series), ``episodes`` (``start``, ``end``, ``peak``,
    ``duration``, ``ongoing``), the settings and ``runtime_s``.
    """

    settings: PsySettings
    y: pd.Series
    price: pd.Series
    bsadf: pd.Series
    badf: pd.Series
    lag_used: pd.Series
    cv: CriticalValues | None
    cv_sequence: pd.Series
    episodes: list[Episode]
    level: str
    min_duration: int
    runtime: dict[str, float] = field(default_factory=dict)
    provenance: Provenance = field(default_factory=Provenance)
    null_hypothesis: str = "unit root (no explosive episode)"
    alternative_hypothesis: str = "explosive root in some sub-sample (bubble)"

    @property
    def stat(self) -> float:
        """The GSADF statistic (largest BSADF)."""
        return float(np.nanmax(self.bsadf.to_numpy()))

    @property
    def sadf(self) -> float:
        """The SADF statistic (largest forward-expanding ADF)."""
        return float(np.nanmax(self.badf.to_numpy()))

    @property
    def adf(self) -> float:
        """The full-sample ADF statistic."""
        return float(self.badf.iloc[-1])

    @property
    def nobs(self) -> int:
        """Sample size."""
        return self.settings.nobs

    @property
    def pvalue(self) -> float | None:
        """Share of simulated GSADF statistics at or above :attr:`stat`."""
        return None if self.cv is None else self.cv.pvalue(self.stat, "gsadf")

    @property
    def sadf_pvalue(self) -> float | None:
        """Share of simulated SADF statistics at or above :attr:`sadf`."""
        return None if self.cv is None else self.cv.pvalue(self.sadf, "sadf")

    @property
    def critical_values(self) -> dict[str, float] | None:
        """GSADF critical values."""
        return None if self.cv is None else self.cv.gsadf_cv

    @property
    def sadf_critical_values(self) -> dict[str, float] | None:
        """SADF critical values."""
        return None if self.cv is None else self.cv.sadf_cv

    @property
    def rejected(self) -> bool | None:
        """GSADF above its critical value at :attr:`level`."""
        cvs = self.critical_values
        return None if cvs is None else bool(self.stat > cvs[self.level])

    @property
    def current(self) -> Episode | None:
        """The ongoing episode, if the last BSADF point is in one."""
        return self.episodes[-1] if self.episodes and self.episodes[-1].ongoing else None

    def headline(self, name: str = "") -> str:
        """One line: in an episode since ..., or no explosive episode (last one ...)."""
        who = f"{name}: " if name else ""
        if self.cv is None:
            return f"{who}GSADF {self.stat:.2f} (no critical values)"
        if self.current is not None:
            return f"{who}in a PSY episode since {_fmt(self.current.start)}"
        if self.episodes:
            last = self.episodes[-1]
            return f"{who}no explosive episode now; last one {_fmt(last.start)} to {_fmt(last.end)}"
        return f"{who}no explosive episode"

    def _payload(self) -> dict[str, Any]:
        return {
            "test": "GSADF",
            "stat": self.stat,
            "pvalue": self.pvalue,
            "critical_values": self.critical_values,
            "nobs": self.nobs,
            "sadf": self.sadf,
            "sadf_pvalue": self.sadf_pvalue,
            "sadf_critical_values": self.sadf_critical_values,
            "adf": self.adf,
            "rejected": self.rejected,
            "level": self.level,
            "min_window": self.settings.min_window,
            "lags": self.settings.lags,
            "ic": self.settings.ic,
            "trend": self.settings.trend,
            "cv_method": None if self.cv is None else self.cv.method,
            "reps": None if self.cv is None else self.cv.reps,
            "min_duration": self.min_duration,
            "start": self.y.index[0],
            "end": self.y.index[-1],
            "bsadf": self.bsadf,
            "cv_sequence": self.cv_sequence,
            "episodes": [e.to_dict() for e in self.episodes],
            "null_hypothesis": self.null_hypothesis,
            "alternative_hypothesis": self.alternative_hypothesis,
            "runtime_s": self.runtime.get("total_s"),
        }

    def summary(self) -> Summary:
        """Statistics, critical values and the episode table."""
        cvs = self.critical_values or {}
        scv = self.sadf_critical_values or {}
        facts: list[tuple[str, Any]] = [
            ("observations", self.nobs),
            ("sample", f"{_fmt(self.y.index[0])} to {_fmt(self.y.index[-1])}"),
            ("minimum window", self.settings.min_window),
            (
                "lags",
                self.settings.lags
                if self.settings.ic == "fixed"
                else f"<= {self.settings.lags} ({self.settings.ic.upper()})",
            ),
            ("GSADF", self.stat),
            ("GSADF p-value", self.pvalue),
            ("SADF", self.sadf),
            ("SADF p-value", self.sadf_pvalue),
        ]
        tables = []
        if self.cv is not None:
            tables.append(
                Table(
                    f"Critical values ({self.cv.method}, {self.cv.reps} reps)",
                    ["test", "statistic", *PCNT_KEYS],
                    [
                        ["GSADF", self.stat, *[cvs[k] for k in PCNT_KEYS]],
                        ["SADF", self.sadf, *[scv[k] for k in PCNT_KEYS]],
                    ],
                )
            )
        rows = [
            [
                _fmt(e.start),
                _fmt(e.peak),
                "ongoing" if e.ongoing else _fmt(e.end),
                e.duration,
                e.peak_stat,
            ]
            for e in self.episodes
        ]
        tables.append(
            Table(
                f"Episodes (BSADF above its {self.level} critical value for at least "
                f"{self.min_duration} observations)",
                ["start", "peak", "end", "duration", "max BSADF"],
                rows,
            )
        )
        notes = [self.headline()]
        if self.cv is None:
            notes.append("no critical values: pass cv='mc' or cv='wild' to date episodes")
        return Summary("PSY GSADF test (Phillips, Shi & Yu 2015)", facts, tables, notes)

    def to_frame(self) -> pd.DataFrame:
        """One row per BSADF point: y, price, BSADF, BADF, the CV sequence, in-episode flag."""
        frame = pd.DataFrame(
            {
                "y": self.y.reindex(self.bsadf.index),
                "price": self.price.reindex(self.bsadf.index),
                "bsadf": self.bsadf,
                "badf": self.badf,
                "cv": self.cv_sequence,
                "lag": self.lag_used,
            }
        )
        flag = np.zeros(len(frame), dtype=bool)
        pos = {d: i for i, d in enumerate(frame.index)}
        for e in self.episodes:
            i0 = pos[e.start]
            i1 = pos[e.end] if e.end is not None else len(frame)
            flag[i0:i1] = True
        frame["episode"] = flag
        return frame

    def plot(self, title: str = "", log_price: bool = True) -> Any:
        """Price with shaded episodes over the BSADF sequence against its CV sequence."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        def add_line(s: pd.Series, name: str, row: int, **style: str) -> None:
            trace = go.Scatter(
                x=s.index, y=s.to_numpy(), name=name, mode="lines", line={**style, "width": 1.2}
            )
            fig.add_trace(trace, row=row, col=1)

        fig = make_subplots(
            rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.55, 0.45]
        )
        add_line(self.price, "price", 1, color="#1d2330")
        add_line(self.bsadf, "BSADF", 2, color="#1c7ed6")
        if self.cv is not None:
            add_line(
                self.cv_sequence, f"{self.level} critical value", 2, color="#d9480f", dash="dash"
            )
        last = self.bsadf.index[-1]
        for e in self.episodes:
            fig.add_vrect(
                x0=e.start,
                x1=e.end if e.end is not None else last,
                fillcolor="#d9480f",
                opacity=0.18,
                line_width=0,
                row="all",
                col=1,
            )
        fig.update_layout(
            title=title or f"PSY date-stamping: GSADF {self.stat:.2f}",
            template="plotly_white",
            height=520,
            margin={"l": 50, "r": 20, "t": 50, "b": 40},
            legend={"orientation": "h"},
        )
        if log_price and bool((self.price.dropna() > 0).all()):
            fig.update_yaxes(type="log", row=1, col=1)
        fig.update_yaxes(title_text="price", row=1, col=1)
        fig.update_yaxes(title_text="BSADF", row=2, col=1)
        return fig


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)
