r"""LPPLS: the log-periodic power law singularity model and its confidence indicator.

Model (Johansen-Ledoit-Sornette 2000, in the Filimonov-Sornette 2013 linearised form)

.. math::

    \ln p(t) = A + B (t_c - t)^m + C_1 (t_c - t)^m \cos(\omega \ln(t_c - t))
             + C_2 (t_c - t)^m \sin(\omega \ln(t_c - t)),

with critical time :math:`t_c`, exponent :math:`m` and log-frequency :math:`\omega`.
:math:`B < 0` is a super-exponential rise (a bubble), :math:`B > 0` an accelerating decline
(an anti-bubble). :math:`A, B, C_1, C_2` are solved in closed form for each
:math:`(t_c, m, \omega)`; the three nonlinear parameters are searched from a seeded Latin
hypercube screened for the best distinct starts, each refined by Nelder-Mead in a bounded box
(see :mod:`powderkeg.bubbles._lppls_kernels`).

Time is measured in observations (trading days for equities, calendar days for crypto, months
for monthly data): :math:`t = 0, 1, \dots, n-1`. A critical time ``tc`` is reported both in
observations after the window end (``tc_ahead``) and as a date, extrapolated with the series'
average spacing between observations.

Qualification (Sornette et al. 2015)
------------------------------------
A fit on the window :math:`[t_1, t_2]` (span :math:`\Delta = t_2 - t_1`) is *qualified* when
every condition of :class:`LPPLSFilter` holds: :math:`m` and :math:`\omega` in their ranges,
:math:`t_2 - \text{tc\_before}\,\Delta \le t_c \le t_2 + \text{tc\_after}\,\Delta`,
the number of oscillations :math:`O = \frac{\omega}{2\pi}\ln\frac{t_c - t_1}{t_c - t_2}`
at least ``min_oscillations``, the damping :math:`D = \frac{m|B|}{\omega|C|}` (with
:math:`C = \sqrt{C_1^2 + C_2^2}`) at least ``min_damping``, the root-mean-square relative
price error :math:`\sqrt{\overline{(\hat p/p - 1)^2}}` at most ``max_rel_error``, and the
optimiser converged. A fit whose objective is never finite is *failed*: its parameters are
NaN and it is never counted in a confidence indicator.

Confidence indicator
--------------------
For each end date :math:`t_2` the model is fitted on nested windows ending at :math:`t_2`
(lengths ``window, window - step, ...`` down to, but not including, ``smallest``; the
``lppls`` package's convention, e.g. 18 windows of 120, 115, ..., 35 observations). The
bubble confidence is the share of the valid (not failed) fits that are qualified with
:math:`B < 0`; the anti-bubble confidence the share qualified with :math:`B > 0`
(Sornette et al. 2015). Note that ``lppls`` divides by the number of fits with the same sign
of :math:`B` instead, and counts its all-zero failed fits.

References
----------
Johansen, A., Ledoit, O. and Sornette, D. (2000). Crashes as critical points. *International
Journal of Theoretical and Applied Finance* 3(2), 219-255.

Filimonov, V. and Sornette, D. (2013). A stable and robust calibration scheme of the
log-periodic power law model. *Physica A* 392(17), 3698-3707.

Sornette, D., Demos, G., Zhang, Q., Cauwels, P., Filimonov, V. and Zhang, Q. (2015).
Real-time prediction and post-mortem analysis of the Shanghai 2015 stock market bubble and
crash. *Journal of Investment Strategies* 4(4), 77-95.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import as_series, check_float, check_int, optional_date
from powderkeg.bubbles import _lppls_kernels as kernels
from powderkeg.exceptions import ConvergenceError, InputError, InsufficientDataError
from powderkeg.parallel import ProgressCallback, map_chunks
from powderkeg.results import Provenance, Result, Summary, Table

__all__ = [
    "LPPLS",
    "LPPLSConfidence",
    "LPPLSFilter",
    "LPPLSFit",
    "SearchBounds",
    "confidence_indicator",
    "latin_hypercube",
    "lppls_curve",
    "nested_sizes",
    "qualify",
]

#: Fewest observations a window may have (seven parameters plus some degrees of freedom).
MIN_WINDOW = 12


@dataclass(frozen=True)
class SearchBounds:
    r"""The box searched for the nonlinear parameters of a window ``[t1, t2]``.

    Parameters
    ----------
    tc : (float, float), default (-0.2, 0.5)
        Critical time relative to the window end, in fractions of the window span
        :math:`\Delta = t_2 - t_1`: :math:`t_c \\in [t_2 + lo\,\Delta, t_2 + hi\,\Delta]`.
    m : (float, float), default (0.001, 1.0)
        Exponent. Slightly wider than the qualification range so that fits piling up at a
        bound are rejected by the filter rather than accepted at the bound.
    omega : (float, float), default (1.0, 30.0)
        Log-frequency.
    """

    tc: tuple[float, float] = (-0.2, 0.5)
    m: tuple[float, float] = (0.001, 1.0)
    omega: tuple[float, float] = (1.0, 30.0)

    def __post_init__(self) -> None:
        for name in ("tc", "m", "omega"):
            lo, hi = getattr(self, name)
            check_float(lo, f"bounds.{name}[0]")
            check_float(hi, f"bounds.{name}[1]")
            if not lo < hi:
                raise InputError(f"bounds.{name} must be (low, high) with low < high, got {lo, hi}")
        if self.m[0] <= 0:
            raise InputError(f"bounds.m must be positive, got {self.m}")
        if self.omega[0] <= 0:
            raise InputError(f"bounds.omega must be positive, got {self.omega}")

    def box(self) -> np.ndarray:
        """The six numbers the nested-fit kernel takes."""
        return np.array([*self.tc, *self.m, *self.omega], dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {k: list(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class LPPLSFilter:
    r"""Qualification conditions of a fit (every one is applied; set a bound to disable it).

    Parameters
    ----------
    m : (float, float), default (0.01, 0.99)
    omega : (float, float), default (2.0, 25.0)
    tc_before, tc_after : float, default 0.05 and 0.5
        :math:`t_c` must lie in :math:`[t_2 - \text{tc\_before}\,\Delta,
        t_2 + \text{tc\_after}\,\Delta]`. Sornette et al. (2015) use an after-window of
        ``0.1``; ``lppls`` uses ``min(252 days, 0.5 Δ)``.
    min_oscillations : float, default 2.5
    min_damping : float, default 0.5
    max_rel_error : float, default 0.1
        Largest root-mean-square relative price error of the fit.
    require_converged : bool, default True
        Reject fits whose final Nelder-Mead run hit its evaluation budget.
    """

    m: tuple[float, float] = (0.01, 0.99)
    omega: tuple[float, float] = (2.0, 25.0)
    tc_before: float = 0.05
    tc_after: float = 0.5
    min_oscillations: float = 2.5
    min_damping: float = 0.5
    max_rel_error: float = 0.1
    require_converged: bool = True

    def __post_init__(self) -> None:
        for name in ("m", "omega"):
            lo, hi = getattr(self, name)
            check_float(lo, f"filters.{name}[0]")
            check_float(hi, f"filters.{name}[1]")
            if not lo < hi:
                raise InputError(
                    f"filters.{name} must be (low, high) with low < high, got {lo, hi}"
                )
        check_float(self.tc_before, "filters.tc_before")
        check_float(self.tc_after, "filters.tc_after")
        if -self.tc_before > self.tc_after:
            raise InputError("filters: the tc window is empty (-tc_before > tc_after)")
        check_float(self.min_oscillations, "filters.min_oscillations")
        check_float(self.min_damping, "filters.min_damping")
        check_float(self.max_rel_error, "filters.max_rel_error", minimum=0.0)

    @classmethod
    def from_dict(cls, config: dict[str, Any] | None) -> LPPLSFilter:
        """Build from a dict, rejecting unknown keys (listing the supported ones)."""
        if config is None:
            return cls()
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(config) - known)
        if unknown:
            raise InputError(
                f"unknown LPPLS filter keys {unknown}; supported: {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in config.items()
        }
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def latin_hypercube(n: int, seed: int | np.random.Generator | None) -> np.ndarray:
    """A seeded Latin hypercube of ``n`` points in the unit cube :math:`[0, 1]^3`.

    Each coordinate has exactly one point in each of the ``n`` strata
    :math:`[i/n, (i+1)/n)`, at a uniform position within it.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = np.empty((n, 3))
    for k in range(3):
        out[:, k] = (rng.permutation(n) + rng.random(n)) / n
    return out


def lppls_curve(
    t: np.ndarray, tc: float, m: float, omega: float, a: float, b: float, c1: float, c2: float
) -> np.ndarray:
    """Evaluate the LPPLS log price at times ``t`` (``|tc - t|`` floored at 1e-8)."""
    d = np.maximum(np.abs(tc - np.asarray(t, dtype=np.float64)), 1e-8)
    f = d**m
    ph = omega * np.log(d)
    return np.asarray(a + f * (b + c1 * np.cos(ph) + c2 * np.sin(ph)))


def nested_sizes(window: int, smallest: int, step: int) -> np.ndarray:
    """Window lengths ``window, window - step, ...`` greater than ``smallest``.

    The ``lppls`` convention: ``nested_sizes(120, 30, 5)`` gives 18 lengths, 120 down to 35.
    """
    window = check_int(window, "window", minimum=MIN_WINDOW)
    smallest = check_int(smallest, "smallest", minimum=MIN_WINDOW - 1)
    step = check_int(step, "step", minimum=1)
    if smallest >= window:
        raise InputError(f"smallest must be < window, got smallest={smallest}, window={window}")
    sizes = np.arange(window, smallest, -step, dtype=np.int64)
    return sizes[sizes >= MIN_WINDOW]


def _derived(
    tc: np.ndarray,
    m: np.ndarray,
    omega: np.ndarray,
    b: np.ndarray,
    c1: np.ndarray,
    c2: np.ndarray,
    t1: np.ndarray,
    t2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(C, oscillations, damping)`` for arrays of fits (NaN where undefined)."""
    c = np.hypot(c1, c2)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (tc - t1) / (tc - t2)
        osc = np.where(
            ratio > 0, omega / (2 * np.pi) * np.log(np.where(ratio > 0, ratio, 1.0)), np.nan
        )
        damp = np.where(c > 0, m * np.abs(b) / (omega * np.where(c > 0, c, 1.0)), np.inf)
    return c, osc, damp


def qualify(fits: pd.DataFrame, filters: LPPLSFilter) -> tuple[np.ndarray, list[list[str]]]:
    """Apply the qualification conditions to a frame of fits.

    ``fits`` needs the columns ``tc, m, omega, B, oscillations, damping, rel_error,
    converged, t1, t2, failed`` (times in observations). Returns the qualified flags and,
    per fit, the list of reasons it is not qualified (empty when qualified; ``["failed: ..."]``
    for failed fits).
    """
    n = len(fits)
    span = fits["t2"].to_numpy() - fits["t1"].to_numpy()
    t2 = fits["t2"].to_numpy()
    tc = fits["tc"].to_numpy()
    checks: list[tuple[str, np.ndarray]] = [
        (
            f"m outside [{filters.m[0]}, {filters.m[1]}]",
            ~((fits["m"] >= filters.m[0]) & (fits["m"] <= filters.m[1])).to_numpy(),
        ),
        (
            f"omega outside [{filters.omega[0]}, {filters.omega[1]}]",
            ~((fits["omega"] >= filters.omega[0]) & (fits["omega"] <= filters.omega[1])).to_numpy(),
        ),
        (
            f"tc outside [t2 - {filters.tc_before} span, t2 + {filters.tc_after} span]",
            ~((tc >= t2 - filters.tc_before * span) & (tc <= t2 + filters.tc_after * span)),
        ),
        (
            f"oscillations < {filters.min_oscillations}",
            ~(fits["oscillations"].to_numpy() >= filters.min_oscillations),
        ),
        (f"damping < {filters.min_damping}", ~(fits["damping"].to_numpy() >= filters.min_damping)),
        (
            f"relative error > {filters.max_rel_error}",
            ~(fits["rel_error"].to_numpy() <= filters.max_rel_error),
        ),
    ]
    if filters.require_converged:
        checks.append(("optimizer did not converge", ~fits["converged"].to_numpy(dtype=bool)))
    failed = fits["failed"].to_numpy(dtype=bool)
    bad = np.zeros(n, dtype=bool)
    for _, mask in checks:
        bad |= mask
    reasons: list[list[str]] = []
    for i in range(n):
        if failed[i]:
            reasons.append(["failed: the objective was not finite at any start"])
        elif bad[i]:
            reasons.append([label for label, mask in checks if mask[i]])
        else:
            reasons.append([])
    return ~bad & ~failed, reasons


def _records(
    raw: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    t1: np.ndarray,
    t2: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
) -> pd.DataFrame:
    """Turn kernel output rows into a frame of fits with derived quantities."""
    cols = {name: raw[:, k] for k, name in enumerate(kernels.OUT_FIELDS)}
    frame = pd.DataFrame(cols)
    frame["failed"] = ~np.isfinite(frame["sse"].to_numpy())
    frame["converged"] = frame["converged"].fillna(0.0).astype(bool)
    frame["n_evals"] = frame["n_evals"].fillna(0).astype(np.int64)
    frame["t1"] = t1
    frame["t2"] = t2
    c, osc, damp = _derived(
        frame["tc"].to_numpy(),
        frame["m"].to_numpy(),
        frame["omega"].to_numpy(),
        frame["B"].to_numpy(),
        frame["C1"].to_numpy(),
        frame["C2"].to_numpy(),
        t1,
        t2,
    )
    frame["C"] = c
    frame["oscillations"] = osc
    frame["damping"] = damp
    rel = np.full(len(frame), np.nan)
    for i in range(len(frame)):
        if frame["failed"].iat[i]:
            continue
        s, e = int(starts[i]), int(ends[i])
        fitted = lppls_curve(t[s : e + 1], *raw[i, :7])
        rel[i] = float(np.sqrt(np.mean(np.expm1(fitted - y[s : e + 1]) ** 2)))
    frame["rel_error"] = rel
    frame.loc[frame["failed"], ["sse", "rel_error"]] = np.nan
    return frame


class LPPLS:
    r"""The LPPLS model on a price series.

    Parameters
    ----------
    prices : Series or array-like of shape (n,)
        Positive prices (a DatetimeIndex dates the fit and ``tc``). Fitted in logs.
    bounds : SearchBounds, optional
        The search box (default :class:`SearchBounds()`).
    filters : LPPLSFilter or dict, optional
        Qualification conditions (default :class:`LPPLSFilter()`).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(200.0)
    >>> p = np.exp(lppls_curve(t, 215.0, 0.5, 9.0, 1.0, -0.05, 0.002, 0.002))
    >>> fit = LPPLS(p).fit(seed=1)
    >>> abs(fit.tc_ahead - 16.0) < 2
    True
    """

    def __init__(
        self,
        prices: Any,
        *,
        bounds: SearchBounds | None = None,
        filters: LPPLSFilter | dict[str, Any] | None = None,
    ) -> None:
        series = as_series(prices, "prices").dropna()
        if len(series) < MIN_WINDOW:
            raise InsufficientDataError(
                f"LPPLS needs at least {MIN_WINDOW} prices, got {len(series)}"
            )
        values = series.to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)) or bool((values <= 0).any()):
            raise InputError("prices must be finite and positive (LPPLS fits log prices)")
        self.prices = series
        self.y = np.log(values)
        self.t = np.arange(len(values), dtype=np.float64)
        self.bounds = bounds if bounds is not None else SearchBounds()
        self.filters = (
            filters if isinstance(filters, LPPLSFilter) else LPPLSFilter.from_dict(filters)
        )

    @property
    def spacing(self) -> pd.Timedelta | None:
        """Average time between observations (None without a DatetimeIndex)."""
        idx = self.prices.index
        if not isinstance(idx, pd.DatetimeIndex) or len(idx) < 2:
            return None
        return (idx[-1] - idx[0]) / (len(idx) - 1)

    def date_at(self, position: float, anchor: int) -> Any:
        """The date of a (fractional) observation position, extrapolated from ``anchor``."""
        if not math.isfinite(position):
            return None
        idx = self.prices.index
        step = self.spacing
        if step is None:
            return position
        return (idx[anchor] + (position - anchor) * step).normalize()

    def fit(
        self,
        seed: int | None = None,
        n_starts: int = 4,
        *,
        n_screen: int = 64,
        max_evals: int = 400,
        xtol: float = 1e-4,
        ftol: float = 1e-10,
        raise_on_failure: bool = False,
        sources: list[dict[str, Any]] | None = None,
    ) -> LPPLSFit:
        """Calibrate the model on the whole series.

        Parameters
        ----------
        seed : int, optional
            Seed of the Latin-hypercube screening design (same seed, same fit).
        n_starts : int, default 4
            Distinct screened points refined by Nelder-Mead.
        n_screen : int, default 64
            Size of the screening design.
        max_evals : int, default 400
            Evaluation budget of the final Nelder-Mead polish (each start gets a quarter).
        xtol, ftol : float
            Nelder-Mead tolerances in unit box coordinates and relative objective.
        raise_on_failure : bool, default False
            Raise :class:`~powderkeg.exceptions.ConvergenceError` for a failed fit instead of
            returning a failed result.
        """
        n_starts = check_int(n_starts, "n_starts", minimum=1)
        n_screen = check_int(n_screen, "n_screen", minimum=n_starts)
        max_evals = check_int(max_evals, "max_evals", minimum=20)
        design = latin_hypercube(n_screen, seed)
        n = len(self.y)
        t0 = time.perf_counter()
        out = np.empty((1, 1, kernels.N_OUT))
        kernels.nested_fits(
            self.t,
            self.y,
            np.array([n - 1]),
            np.array([n]),
            self.bounds.box(),
            design,
            n_starts,
            max_evals,
            float(xtol),
            float(ftol),
            out,
        )
        runtime = time.perf_counter() - t0
        frame = _records(
            out[0],
            self.t,
            self.y,
            np.array([0.0]),
            np.array([float(n - 1)]),
            np.array([0]),
            np.array([n - 1]),
        )
        qualified, reasons = qualify(frame, self.filters)
        row = frame.iloc[0]
        failed = bool(row["failed"])
        if failed and raise_on_failure:
            raise ConvergenceError("LPPLS fit failed: the objective was not finite at any start")
        status = "failed" if failed else ("qualified" if qualified[0] else "unqualified")
        params = {k: float(row[k]) for k in ("tc", "m", "omega", "A", "B", "C1", "C2", "C")}
        return LPPLSFit(
            prices=self.prices,
            params=params,
            tc_ahead=float(row["tc"]) - (n - 1),
            tc_date=self.date_at(float(row["tc"]), n - 1),
            sse=float(row["sse"]),
            rel_error=float(row["rel_error"]),
            oscillations=float(row["oscillations"]),
            damping=float(row["damping"]),
            converged=bool(row["converged"]),
            n_evals=int(row["n_evals"]),
            status=status,
            reasons=reasons[0],
            runtime_s=runtime,
            provenance=Provenance(
                sources=list(sources or []),
                parameters={
                    "n_starts": n_starts,
                    "n_screen": n_screen,
                    "max_evals": max_evals,
                    "xtol": xtol,
                    "ftol": ftol,
                    "bounds": self.bounds.to_dict(),
                    "filters": self.filters.to_dict(),
                    "nobs": n,
                },
                seed=seed,
            ),
        )

    def confidence(self, **kwargs: Any) -> LPPLSConfidence:
        """The confidence indicator of this series; see :func:`confidence_indicator`."""
        return confidence_indicator(self, **kwargs)


@dataclass
class LPPLSFit(Result):
    """One LPPLS calibration: parameters, objective, qualification and reasons.

    JSON keys: ``status`` (``qualified``, ``unqualified`` or ``failed``), ``qualified``,
    ``reasons``, ``params`` (``tc`` in observations from the window start, ``m``, ``omega``,
    ``A``, ``B``, ``C1``, ``C2``, ``C``; NaN -> null when failed), ``tc_ahead``
    (observations after the last price), ``tc_date``, ``sse``, ``rel_error``,
    ``oscillations``, ``damping``, ``converged``, ``n_evals``, ``start``, ``end``, ``nobs``,
    ``runtime_s``.
    """

    prices: pd.Series
    params: dict[str, float]
    tc_ahead: float
    tc_date: Any
    sse: float
    rel_error: float
    oscillations: float
    damping: float
    converged: bool
    n_evals: int
    status: str
    reasons: list[str]
    runtime_s: float
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def qualified(self) -> bool:
        """Whether every qualification condition holds."""
        return self.status == "qualified"

    @property
    def regime(self) -> str:
        """``bubble`` (B < 0), ``anti-bubble`` (B > 0) or ``none`` (failed)."""
        b = self.params["B"]
        if not math.isfinite(b):
            return "none"
        return "bubble" if b < 0 else "anti-bubble"

    def fitted(self) -> pd.Series:
        """The fitted price path (NaN when failed)."""
        n = len(self.prices)
        p = self.params
        if self.status == "failed":
            values = np.full(n, np.nan)
        else:
            values = np.exp(
                lppls_curve(
                    np.arange(n, dtype=np.float64),
                    p["tc"],
                    p["m"],
                    p["omega"],
                    p["A"],
                    p["B"],
                    p["C1"],
                    p["C2"],
                )
            )
        return pd.Series(values, index=self.prices.index, name="fitted")

    def _payload(self) -> dict[str, Any]:
        idx = self.prices.index
        return {
            "status": self.status,
            "qualified": self.qualified,
            "reasons": self.reasons,
            "regime": self.regime,
            "params": self.params,
            "tc_ahead": self.tc_ahead,
            "tc_date": self.tc_date,
            "sse": self.sse,
            "rel_error": self.rel_error,
            "oscillations": self.oscillations,
            "damping": self.damping,
            "converged": self.converged,
            "n_evals": self.n_evals,
            "start": idx[0],
            "end": idx[-1],
            "nobs": len(self.prices),
            "runtime_s": self.runtime_s,
        }

    def summary(self) -> Summary:
        """The printable summary."""
        idx = self.prices.index
        name = str(self.prices.name or "series")
        p = self.params
        facts: list[tuple[str, Any]] = [
            ("window", f"{_fmt_date(idx[0])} to {_fmt_date(idx[-1])} ({len(idx)} obs)"),
            ("status", self.status),
            ("regime", self.regime),
            (
                "tc",
                f"{_fmt_date(self.tc_date)} ({self.tc_ahead:+.1f} obs after the end)"
                if math.isfinite(self.tc_ahead)
                else "n/a",
            ),
            ("m", p["m"]),
            ("omega", p["omega"]),
            ("B", p["B"]),
            ("C", p["C"]),
            ("oscillations", self.oscillations),
            ("damping", self.damping),
            ("SSE", self.sse),
            ("relative error", self.rel_error),
            ("evaluations", self.n_evals),
        ]
        notes = [f"not qualified: {r}" for r in self.reasons]
        notes.append("Time is in observations; tc dates are extrapolated with the average spacing.")
        return Summary(f"LPPLS fit: {name}", facts, [], notes)

    def to_frame(self) -> pd.DataFrame:
        """The result as a DataFrame."""
        fitted = self.fitted()
        return pd.DataFrame(
            {
                "price": self.prices.to_numpy(),
                "fitted": fitted.to_numpy(),
                "log_residual": np.log(self.prices.to_numpy()) - np.log(fitted.to_numpy()),
            },
            index=self.prices.index,
        )

    def plot(self) -> Any:
        """A Plotly figure (not shown)."""
        import plotly.graph_objects as go

        fig = go.Figure()
        fig.add_trace(go.Scatter(x=self.prices.index, y=self.prices, name="price"))
        fig.add_trace(go.Scatter(x=self.prices.index, y=self.fitted(), name="LPPLS fit"))
        if (
            self.tc_date is not None
            and math.isfinite(self.tc_ahead)
            and isinstance(self.tc_date, pd.Timestamp)
        ):
            fig.add_vline(x=self.tc_date, line_dash="dash", annotation_text="tc")
        fig.update_layout(title=f"LPPLS fit ({self.status})", yaxis_type="log")
        return fig


def _nested_task(
    t: np.ndarray,
    y: np.ndarray,
    ends: np.ndarray,
    sizes: np.ndarray,
    box: np.ndarray,
    design: np.ndarray,
    n_starts: int,
    max_evals: int,
    xtol: float,
    ftol: float,
) -> np.ndarray:
    """One chunk of end dates (a module-level function so process pools can pickle it)."""
    out = np.empty((len(ends), len(sizes), kernels.N_OUT))
    kernels.nested_fits(t, y, ends, sizes, box, design, n_starts, max_evals, xtol, ftol, out)
    return out


def confidence_indicator(
    prices: Any,
    *,
    window: int = 120,
    smallest: int = 30,
    step: int = 5,
    outer_step: int = 1,
    days: int | None = None,
    end: Any = None,
    seed: int | None = None,
    n_starts: int = 4,
    n_screen: int = 64,
    max_evals: int = 400,
    xtol: float = 1e-4,
    ftol: float = 1e-10,
    bounds: SearchBounds | None = None,
    filters: LPPLSFilter | dict[str, Any] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
    sources: list[dict[str, Any]] | None = None,
) -> LPPLSConfidence:
    """LPPLS bubble and anti-bubble confidence over nested windows, for each end date.

    Parameters
    ----------
    prices : Series, array-like or LPPLS
        Positive prices (or a model, whose bounds and filters are used).
    window, smallest, step : int, default 120, 30, 5
        Nested window lengths (see :func:`nested_sizes`).
    outer_step : int, default 1
        Spacing of the end dates in observations.
    days : int, optional
        Only the last ``days`` observations as end dates (default: every date with a full
        ``window`` of history).
    end : date-like, optional
        Ignore prices after this date.
    seed : int, optional
        Seed of the screening design shared by every fit (identical results whatever
        ``workers`` or ``scheduler``).
    n_starts, n_screen, max_evals, xtol, ftol
        Per-fit search settings, see :meth:`LPPLS.fit`.
    bounds, filters
        Search box and qualification conditions.
    workers, scheduler, progress
        Parallel execution, see :func:`powderkeg.parallel.map_chunks`.

    Returns
    -------
    LPPLSConfidence
    """
    if isinstance(prices, LPPLS):
        model = prices
        if bounds is not None or filters is not None:
            model = LPPLS(
                model.prices,
                bounds=bounds or model.bounds,
                filters=filters if filters is not None else model.filters,
            )
    else:
        series = as_series(prices, "prices")
        e = optional_date(end, "end")
        if e is not None:
            if not isinstance(series.index, pd.DatetimeIndex):
                raise InputError("end needs date-indexed prices")
            series = series.loc[series.index <= e]
        model = LPPLS(series, bounds=bounds, filters=filters)
    sizes = nested_sizes(window, smallest, step)
    outer_step = check_int(outer_step, "outer_step", minimum=1)
    workers = check_int(workers, "workers", minimum=1)
    n = len(model.y)
    if n < window:
        raise InsufficientDataError(f"{n} prices is fewer than window={window}")
    first_end = window - 1
    if days is not None:
        days = check_int(days, "days", minimum=1)
        first_end = max(first_end, n - days)
    # end positions: every outer_step-th, counted back from the last price
    ends = np.arange(n - 1, first_end - 1, -outer_step, dtype=np.int64)[::-1].copy()
    n_starts = check_int(n_starts, "n_starts", minimum=1)
    n_screen = check_int(n_screen, "n_screen", minimum=n_starts)
    design = latin_hypercube(n_screen, seed)
    n_chunks = min(len(ends), max(1, workers) * 4 if (workers > 1 or scheduler) else 8)
    chunks = [c for c in np.array_split(ends, n_chunks) if len(c)]
    box = model.bounds.box()
    tasks = [
        (model.t, model.y, c, sizes, box, design, n_starts, max_evals, float(xtol), float(ftol))
        for c in chunks
    ]
    t0 = time.perf_counter()
    parts = map_chunks(
        _nested_task,
        tasks,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        label="LPPLS fits",
    )
    runtime = time.perf_counter() - t0
    raw = np.concatenate(parts, axis=0)  # (n_ends, n_sizes, N_OUT)
    n_ends, n_sizes = raw.shape[:2]
    end_pos = np.repeat(ends, n_sizes)
    size_rep = np.tile(sizes, n_ends)
    start_pos = end_pos - size_rep + 1
    fits = _records(
        raw.reshape(-1, kernels.N_OUT),
        model.t,
        model.y,
        start_pos.astype(np.float64),
        end_pos.astype(np.float64),
        start_pos,
        end_pos,
    )
    qualified, reasons = qualify(fits, model.filters)
    idx = model.prices.index
    fits.insert(0, "end", [idx[int(i)] for i in end_pos])
    fits.insert(1, "window", size_rep)
    fits.insert(2, "start", [idx[int(i)] for i in start_pos])
    fits["tc_ahead"] = fits["tc"] - fits["t2"]
    fits["tc_date"] = [model.date_at(tc, int(e)) for tc, e in zip(fits["tc"], end_pos)]
    fits["qualified"] = qualified
    fits["status"] = np.where(
        fits["failed"], "failed", np.where(qualified, "qualified", "unqualified")
    )
    fits["reasons"] = ["; ".join(r) for r in reasons]
    fits["absurd_tc"] = ~fits["failed"] & (
        (fits["tc"] < fits["t1"]) | (fits["tc"] > fits["t2"] + (fits["t2"] - fits["t1"]))
    )
    indicator = _aggregate(fits, model, ends)
    return LPPLSConfidence(
        indicator=indicator,
        fits=fits,
        prices=model.prices,
        sizes=[int(s) for s in sizes],
        filters=model.filters,
        bounds=model.bounds,
        runtime_s=runtime,
        provenance=Provenance(
            sources=list(sources or []),
            parameters={
                "window": int(window),
                "smallest": int(smallest),
                "step": int(step),
                "outer_step": outer_step,
                "days": days,
                "end": optional_date(end, "end"),
                "n_starts": n_starts,
                "n_screen": n_screen,
                "max_evals": max_evals,
                "xtol": xtol,
                "ftol": ftol,
                "workers": workers,
                "bounds": model.bounds.to_dict(),
                "filters": model.filters.to_dict(),
            },
            seed=seed,
        ),
    )


def _aggregate(fits: pd.DataFrame, model: LPPLS, ends: np.ndarray) -> pd.DataFrame:
    """Per end date: confidence, counts and the distribution of qualified tc."""
    rows = []
    idx = model.prices.index
    for e, grp in fits.groupby("t2", sort=True):
        valid = ~grp["failed"]
        n_valid = int(valid.sum())
        q = grp["qualified"].to_numpy()
        b = grp["B"].to_numpy()
        pos = int(np.sum(q & (b < 0)))
        neg = int(np.sum(q & (b > 0)))
        tc_q = grp.loc[grp["qualified"] & (grp["B"] < 0), "tc_ahead"].to_numpy()
        e_i = int(float(e))  # type: ignore[arg-type]
        quant = np.quantile(tc_q, [0.1, 0.5, 0.9]) if len(tc_q) else np.full(3, np.nan)
        rows.append(
            {
                "date": idx[e_i],
                "price": float(model.prices.iloc[e_i]),
                "bubble": pos / n_valid if n_valid else np.nan,
                "anti_bubble": neg / n_valid if n_valid else np.nan,
                "n_fits": len(grp),
                "n_valid": n_valid,
                "n_failed": len(grp) - n_valid,
                "n_bubble": pos,
                "n_anti_bubble": neg,
                "tc_ahead_q10": quant[0],
                "tc_ahead_median": quant[1],
                "tc_ahead_q90": quant[2],
                "tc_date_median": model.date_at(e_i + quant[1], e_i),
            }
        )
    return pd.DataFrame(rows).set_index("date")


@dataclass
class LPPLSConfidence(Result):
    """The LPPLS confidence indicator with every underlying fit.

    JSON keys: ``bubble`` and ``anti_bubble`` (the latest values), ``asof``, ``series`` (per
    end date: ``bubble``, ``anti_bubble``, counts, quantiles of ``tc_ahead`` of the qualified
    bubble fits, ``tc_date_median``), ``n_fits``, ``n_failed``, ``qualified_rate``,
    ``absurd_tc_rate``, ``reasons`` (how often each condition rejected a fit), ``sizes``,
    ``filters``, ``bounds``, ``runtime_s``.
    """

    indicator: pd.DataFrame
    fits: pd.DataFrame
    prices: pd.Series
    sizes: list[int]
    filters: LPPLSFilter
    bounds: SearchBounds
    runtime_s: float
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def latest(self) -> pd.Series:
        """The last row of :attr:`indicator`."""
        return self.indicator.iloc[-1]

    @property
    def qualified_rate(self) -> float:
        """Share of valid fits that are qualified."""
        valid = ~self.fits["failed"]
        return float(self.fits.loc[valid, "qualified"].mean()) if valid.any() else math.nan

    @property
    def absurd_tc_rate(self) -> float:
        """Share of all fits with tc before the window start or over one span after its end."""
        return float(self.fits["absurd_tc"].mean())

    def reason_counts(self) -> dict[str, int]:
        """How many fits each condition rejected (a fit can fail several)."""
        counts: dict[str, int] = {}
        for text in self.fits["reasons"]:
            for r in filter(None, text.split("; ")):
                counts[r] = counts.get(r, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def _payload(self) -> dict[str, Any]:
        last = self.latest
        return {
            "asof": self.indicator.index[-1],
            "bubble": float(last["bubble"]),
            "anti_bubble": float(last["anti_bubble"]),
            "series": self.indicator,
            "n_fits": len(self.fits),
            "n_failed": int(self.fits["failed"].sum()),
            "qualified_rate": self.qualified_rate,
            "absurd_tc_rate": self.absurd_tc_rate,
            "reasons": self.reason_counts(),
            "sizes": self.sizes,
            "filters": self.filters.to_dict(),
            "bounds": self.bounds.to_dict(),
            "runtime_s": self.runtime_s,
        }

    def summary(self) -> Summary:
        """The printable summary."""
        name = str(self.prices.name or "series")
        last = self.latest
        facts: list[tuple[str, Any]] = [
            ("as of", _fmt_date(self.indicator.index[-1])),
            ("bubble confidence", float(last["bubble"])),
            ("anti-bubble confidence", float(last["anti_bubble"])),
            ("median tc (qualified bubble fits)", _fmt_date(last["tc_date_median"])),
            ("end dates", len(self.indicator)),
            ("fits", len(self.fits)),
            ("failed fits (excluded)", int(self.fits["failed"].sum())),
            ("qualified rate", self.qualified_rate),
            ("window lengths", f"{self.sizes[0]} .. {self.sizes[-1]} ({len(self.sizes)})"),
            ("runtime (s)", self.runtime_s),
        ]
        tail = self.indicator.tail(10)[
            ["price", "bubble", "anti_bubble", "n_valid", "tc_ahead_median"]
        ]
        rejected = [[k, v] for k, v in list(self.reason_counts().items())[:8]]
        tables = [
            Table.from_frame("Last end dates", tail),
            Table("Why fits were not qualified", ["condition", "fits"], rejected),
        ]
        notes = [
            "Confidence = qualified fits with B<0 (bubble) or B>0 (anti-bubble) / valid fits; "
            "failed fits are excluded from the denominator.",
            f"Filters: {self.filters.to_dict()}",
        ]
        return Summary(f"LPPLS confidence indicator: {name}", facts, tables, notes)

    def to_frame(self) -> pd.DataFrame:
        """The result as a DataFrame."""
        return self.indicator.copy()

    def plot(self) -> Any:
        """A Plotly figure (not shown)."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4])
        fig.add_trace(go.Scatter(x=self.prices.index, y=self.prices, name="price"), 1, 1)
        fig.add_trace(
            go.Bar(
                x=self.indicator.index,
                y=self.indicator["bubble"],
                name="bubble confidence",
                marker_color="crimson",
            ),
            2,
            1,
        )
        fig.add_trace(
            go.Bar(
                x=self.indicator.index,
                y=-self.indicator["anti_bubble"],
                name="anti-bubble confidence",
                marker_color="seagreen",
            ),
            2,
            1,
        )
        fig.update_yaxes(type="log", row=1, col=1)
        fig.update_layout(title=f"LPPLS confidence: {self.prices.name or ''}")
        return fig


def _fmt_date(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, pd.Timestamp):
        return "n/a" if pd.isna(value) else value.strftime("%Y-%m-%d")
    return str(value)
