"""A synthetic market with planted, documented ground truth.

:func:`market` simulates daily data for the symbols of the reference store (crypto on a 24/7
calendar, equities and indices on XNYS sessions, liquidity and macro series on their own
calendars and units) with features whose true values are known, so estimators can be tested
against them:

* volatility clustering: every price follows a GARCH(1,1) with standardised Student-t
  innovations (fat tails);
* a factor structure: a market factor and an AI factor drive the AI stocks and the indices;
* a regime switch in the correlation of BTC and NVDA shocks at a known date;
* a liquidity factor: daily changes of net liquidity (WALCL - TGA - RRP, in one unit) move
  BTC (and ETH) with a known beta;
* a planted explosive bubble and collapse in NVDA (an explosive AR root, as in the data
  generating process of Phillips, Shi and Yu 2015) with known origination, peak and end.

Everything is drawn from one :class:`numpy.random.Generator` seeded by ``seed``: the same
seed gives identical data. See :class:`GroundTruth` for the exact definition of every
planted quantity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.holiday import USFederalHolidayCalendar

from powderkeg._validation import check_date, check_float, check_int
from powderkeg.data.calendars import sessions
from powderkeg.data.records import SeriesData, SeriesMeta
from powderkeg.data.universe import expand
from powderkeg.exceptions import InputError

#: Degrees of freedom of the Student-t innovations (common to every price series).
T_DOF = 5.0
#: Loading of NVDA's Gaussian shock on the AI factor (BTC's AI loading is rho / this).
_NVDA_AI = 0.75
#: Correlation of BTC and NVDA shocks before and after the switch.
RHO_BEFORE, RHO_AFTER = 0.1, 0.6
#: BTC weekly log return per USD trillion of net-liquidity change (ETH: 1.25 times this).
LIQUIDITY_BETA = 0.8
#: Positions of the planted events as fractions of the sample (rounded to XNYS sessions).
SWITCH_AT = 0.40
BUBBLE_AT = (0.74, 0.84, 0.87)
#: Log gain of the bubble from origination to peak (about x10), the initial deviation of the
#: log price from the bubble's anchor, and the share of the log gain lost in the collapse.
BUBBLE_LOG_GAIN = float(np.log(10.0))
BUBBLE_X0 = 0.4
BUBBLE_GIVEBACK = 0.6

CALENDAR_247 = "24/7 UTC day"
CALENDAR_XNYS = "XNYS sessions"
CALENDAR_FED = "US federal business days"


@dataclass(frozen=True)
class _Equity:
    symbol: str
    mkt: float  # loading of the Gaussian shock on the market factor
    ai: float  # loading on the AI factor
    vol: float  # annualised unconditional volatility
    drift: float  # annual log drift
    price: float  # first close
    alpha: float = 0.06
    beta: float = 0.92
    volume: float = 3e7
    unit: str = "USD"


_EQUITIES: tuple[_Equity, ...] = (
    _Equity("NVDA", 0.45, _NVDA_AI, 0.45, 0.30, 25.0, volume=4e8),
    _Equity("AMD", 0.45, 0.60, 0.50, 0.25, 11.0, volume=6e7),
    _Equity("AVGO", 0.50, 0.50, 0.30, 0.20, 18.0, volume=2e7),
    _Equity("ORCL", 0.55, 0.35, 0.25, 0.10, 35.0, volume=1.5e7),
    _Equity("MU", 0.45, 0.55, 0.45, 0.15, 22.0, volume=2e7),
    _Equity("MSFT", 0.70, 0.35, 0.25, 0.20, 60.0, volume=2.5e7),
    _Equity("GOOGL", 0.65, 0.35, 0.27, 0.15, 40.0, volume=3e7),
    _Equity("AMZN", 0.60, 0.35, 0.30, 0.18, 38.0, volume=6e7),
    _Equity("META", 0.55, 0.35, 0.35, 0.15, 118.0, volume=2e7),
    _Equity("AAPL", 0.70, 0.20, 0.27, 0.20, 28.0, volume=1e8),
    _Equity("TSLA", 0.45, 0.20, 0.55, 0.30, 14.0, volume=1e8),
    _Equity("^IXIC", 0.85, 0.45, 0.20, 0.12, 5400.0, 0.10, 0.88, 2.5e9, "index points"),
    _Equity("^NDX", 0.82, 0.52, 0.21, 0.14, 4900.0, 0.10, 0.88, 2.0e9, "index points"),
    _Equity("^GSPC", 0.97, 0.15, 0.16, 0.09, 2250.0, 0.10, 0.88, 3.5e9, "index points"),
)
# (symbol, annual vol, annual log drift, first close, alpha, beta, typical USD volume)
_CRYPTO = (
    ("BTC-USD", 0.70, 0.45, 1000.0, 0.08, 0.90, 2e10),
    ("ETH-USD", 0.90, 0.45, 8.0, 0.08, 0.90, 1e10),
)
_ETH_ON_BTC = 0.85


@dataclass(frozen=True)
class GroundTruth:
    """The planted features of a :class:`SyntheticMarket`.

    Attributes
    ----------
    correlation_switch : Timestamp
        The XNYS session from which the BTC-NVDA shock correlation is ``correlation_after``
        (days strictly before it have ``correlation_before``).
    correlation_before, correlation_after : float
        The population correlation of the standardised innovations ``z`` of BTC and NVDA
        (see ``shocks``) on common days (XNYS sessions): BTC's innovation of calendar day
        ``t`` with NVDA's innovation of session ``t``, for sessions before
        ``correlation_switch`` and from it on. It is also the conditional correlation of the
        two GARCH return shocks ``sigma * z``. Raw daily log returns (BTC over calendar day
        ``t``, NVDA over the session ending on ``t``) add independent volatility paths, the
        liquidity term of BTC and the NVDA bubble drift, so their plain Pearson correlation is
        lower (about 0.5 after the switch for the default market); standardising by the
        conditional volatility (``volatility`` or a fitted GARCH/DCC) recovers the truth.
    liquidity_beta : float
        BTC's log return per USD trillion change of net liquidity. Net liquidity on calendar
        day ``d`` is ``WALCL - TGA - 1000 * RRPONTSYD`` in USD millions (RRPONTSYD is in USD
        billions), with TGA and RRPONTSYD at their last value on or before ``d`` and WALCL
        interpolated linearly between consecutive Wednesday levels (so it equals the published
        level on Wednesdays). BTC's daily log return contains exactly
        ``liquidity_beta * (NL[d] - NL[d-1]) / 1e6``; hence the Wednesday-to-Wednesday BTC log
        return equals ``liquidity_beta`` times the weekly change of net liquidity (Wednesday
        WALCL minus the last TGA and RRP on or before that Wednesday) in USD trillions, plus
        terms independent of it. ETH has ``1.25 * liquidity_beta``. ``net_liquidity`` holds
        the daily series.
    bubble_symbol : str
        The symbol carrying the explosive bubble (``"NVDA"``).
    bubble_start : Timestamp
        Origination: the last normal session. The log price of ``bubble_symbol`` is a random
        walk with drift (GARCH shocks) plus a bubble component ``b`` that is zero up to
        ``bubble_start``. From the next session to ``bubble_peak`` the deviation
        ``x = b + BUBBLE_X0`` is explosive, ``x[t] = bubble_delta * x[t-1]`` with
        ``bubble_delta > 1``, starting at ``x = BUBBLE_X0`` and adding ``BUBBLE_LOG_GAIN``
        (a tenfold price rise) by the peak; so the log price ``y`` satisfies
        ``y[t] - a[t] = bubble_delta * (y[t-1] - a[t-1]) + r[t]`` around the random walk
        ``a`` (as in the explosive-root DGP of Phillips, Shi and Yu 2015).
    bubble_peak : Timestamp
        The last explosive session (the realised maximum lies within a few sessions of it).
    bubble_end : Timestamp
        The last session of the collapse: after the peak ``x[t] = bubble_collapse_root *
        x[t-1]`` (root below 1), giving back ``BUBBLE_GIVEBACK`` (60 %) of the log gain, a
        fall of about 75 % from the peak; afterwards ``b`` stays constant and the log price
        is a random walk with drift again.
    bubble_delta, bubble_collapse_root : float
        The explosive and collapse roots (per session).
    garch : dict of str to tuple
        Per price symbol ``(omega, alpha, beta, nu)``: ``r[t] = sigma[t] * z[t]``,
        ``sigma[t]**2 = omega + alpha * r[t-1]**2 + beta * sigma[t-1]**2``, ``z``
        standardised Student-t with ``nu`` degrees of freedom; per calendar day for crypto,
        per session for equities and indices, in log-return units.
    loadings : dict of str to dict
        Loadings of each symbol's Gaussian shock on the factors ``"mkt"``, ``"ai"`` and
        ``"crypto"`` (BTC's ``"ai"`` loading is given for both regimes as ``"ai_before"`` and
        ``"ai_after"``).
    shocks : DataFrame
        The standardised innovations ``z`` per symbol on calendar days (NaN for equities on
        non-sessions).
    volatility : DataFrame
        The conditional volatilities ``sigma`` per symbol (same layout as ``shocks``).
    net_liquidity : Series
        Net liquidity in USD millions on calendar days, as defined under ``liquidity_beta``.
    """

    correlation_switch: pd.Timestamp
    correlation_before: float
    correlation_after: float
    liquidity_beta: float
    bubble_symbol: str
    bubble_start: pd.Timestamp
    bubble_peak: pd.Timestamp
    bubble_end: pd.Timestamp
    bubble_delta: float
    bubble_collapse_root: float
    garch: dict[str, tuple[float, float, float, float]]
    loadings: dict[str, dict[str, float]]
    shocks: pd.DataFrame
    volatility: pd.DataFrame
    net_liquidity: pd.Series


@dataclass(frozen=True)
class SyntheticMarket:
    """Synthetic series (``source="synthetic"``) and the truth planted in them.

    Attributes
    ----------
    series : list of SeriesData
        Ready for :meth:`powderkeg.data.store.Store.ingest`.
    truth : GroundTruth
        The planted features.
    seed : int
        The seed that generated them.
    """

    series: list[SeriesData]
    truth: GroundTruth
    seed: int

    @property
    def symbols(self) -> list[str]:
        """The symbols, in generation order."""
        return [s.meta.symbol for s in self.series]

    def get(self, symbol: str) -> SeriesData:
        """Return one series by symbol."""
        for s in self.series:
            if s.meta.symbol == symbol:
                return s
        raise InputError(f"unknown synthetic symbol {symbol!r}; known: {', '.join(self.symbols)}")

    def frame(self, symbols: str | Sequence[str] | None = None) -> pd.DataFrame:
        """Return a wide frame of main values (``close`` or ``value``), outer-joined on dates.

        Parameters
        ----------
        symbols : str or sequence of str, optional
            Symbols or universe names; all series by default.

        Returns
        -------
        DataFrame
            One column per symbol in the order given; NaN where a series has no observation.
        """
        syms = self.symbols if symbols is None else expand(symbols)
        cols = [self.get(s).frame[self.get(s).main_field].rename(s) for s in syms]
        return pd.concat(cols, axis=1, join="outer").sort_index()


# --------------------------------------------------------------------------- helpers


def _std_t(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standardised Student-t draws (unit variance) with T_DOF degrees of freedom."""
    return rng.standard_t(T_DOF, size=shape) * np.sqrt((T_DOF - 2.0) / T_DOF)


def _garch(
    z: np.ndarray, omega: np.ndarray, alpha: np.ndarray, beta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Run GARCH(1,1) recursions column-wise from the unconditional variance."""
    r = np.empty_like(z)
    sig = np.empty_like(z)
    s2 = omega / (1.0 - alpha - beta)
    for t in range(z.shape[0]):
        sig[t] = np.sqrt(s2)
        r[t] = sig[t] * z[t]
        s2 = omega + alpha * r[t] ** 2 + beta * s2
    return r, sig


def _ohlcv(
    rng: np.random.Generator,
    log_close: np.ndarray,
    first: float,
    sigma: np.ndarray,
    volume: float,
    gap: bool,
) -> dict[str, np.ndarray]:
    """Open/high/low/volume around closes: low <= open, close <= high."""
    n = len(log_close)
    close = np.exp(log_close)
    prev = np.concatenate([[first], close[:-1]])
    opening = prev * np.exp(rng.normal(0.0, 0.3, n) * sigma) if gap else prev
    hi = np.maximum(opening, close) * np.exp(np.abs(rng.normal(0.0, 0.5, n)) * sigma)
    lo = np.minimum(opening, close) * np.exp(-np.abs(rng.normal(0.0, 0.5, n)) * sigma)
    rel = sigma / np.median(sigma)
    vol = volume * np.exp(0.6 * np.log(rel) + rng.normal(0.0, 0.25, n))
    return {"open": opening, "high": hi, "low": lo, "close": close, "volume": np.round(vol)}


def _fed_business_days(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    holidays = USFederalHolidayCalendar().holidays(start, end)
    days = pd.bdate_range(start, end)
    return days[~days.isin(holidays)]


def _ramp(frac: np.ndarray, points: Sequence[tuple[float, float]]) -> np.ndarray:
    """Piecewise-linear path through ``(fraction, level)`` points."""
    xs, ys = zip(*points)
    return np.interp(frac, xs, ys)


def _momentum_path(
    rng: np.random.Generator,
    target: np.ndarray,
    noise: np.ndarray,
    phi: float = 0.6,
    theta: float = 0.03,
) -> np.ndarray:
    """Level pulled towards ``target`` with persistent (AR(1)) daily changes."""
    x = np.empty_like(target)
    x[0] = target[0]
    d = 0.0
    eps = rng.standard_normal(len(target)) * noise
    for t in range(1, len(target)):
        d = phi * d + theta * (target[t - 1] - x[t - 1]) + eps[t]
        x[t] = x[t - 1] + d
    return x


def _round_sig(x: np.ndarray, digits: int) -> np.ndarray:
    mag = np.floor(np.log10(np.abs(x)))
    scale = 10.0 ** (digits - 1 - mag)
    return np.round(x * scale) / scale


def _macro(
    symbol: str, unit: str, freq: str, cal: str, idx: pd.DatetimeIndex, values: np.ndarray
) -> SeriesData:
    meta = SeriesMeta(symbol, "macro", unit, freq, cal, "synthetic", f"synthetic {symbol}")
    return SeriesData(meta, pd.DataFrame({"value": values}, index=idx))


# --------------------------------------------------------------------------- pieces


@dataclass(frozen=True)
class _Timeline:
    days: pd.DatetimeIndex  # calendar days
    sessions: pd.DatetimeIndex  # XNYS sessions
    fed_days: pd.DatetimeIndex  # US federal business days
    weds: pd.DatetimeIndex  # Wednesdays
    months: pd.DatetimeIndex  # month starts (from the month of the first day)
    day_pos: np.ndarray  # position of each session among the calendar days
    i_switch: int
    i_bubble: tuple[int, int, int]

    def frac(self, idx: pd.DatetimeIndex) -> np.ndarray:
        """Position of dates as a fraction of the sample."""
        span = float((self.days[-1] - self.days[0]).days)
        return np.asarray((idx - self.days[0]).days, dtype=float) / span


def _timeline(first: pd.Timestamp, years: float) -> _Timeline:
    last = first + pd.Timedelta(days=round(years * 365.25) - 1)
    days = pd.date_range(first, last, freq="D")
    sess = sessions("XNYS", first, last).as_unit(days.unit)
    n = len(sess)

    def at(frac: float) -> int:
        return min(round(frac * (n - 1)), n - 1)

    return _Timeline(
        days=days,
        sessions=sess,
        fed_days=_fed_business_days(first, last),
        weds=pd.date_range(first, last, freq="W-WED"),
        months=pd.date_range(first.to_period("M").to_timestamp(), last, freq="MS"),
        day_pos=days.get_indexer(sess),
        i_switch=at(SWITCH_AT),
        i_bubble=(at(BUBBLE_AT[0]), at(BUBBLE_AT[1]), at(BUBBLE_AT[2])),
    )


def _shocks(
    rng: np.random.Generator, tl: _Timeline
) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, float]]]:
    """Standardised multivariate-t innovations: crypto on calendar days, equities on sessions.

    Gaussian shocks get a factor structure (market, AI, crypto factors) and are divided by one
    common ``sqrt(chi2(nu) / nu)`` per day, so every margin is Student-t and the correlations
    are those of the Gaussian shocks.
    """
    n_days, n_eq = len(tl.days), len(_EQUITIES)
    gauss = rng.standard_normal((n_days, 3 + n_eq + 1))  # mkt, ai, crypto, idio..., eth idio
    mix = np.sqrt(rng.chisquare(T_DOF, n_days) / T_DOF)
    scale = (np.sqrt((T_DOF - 2.0) / T_DOF) / mix)[:, None]
    f_mkt, f_ai, f_cry = gauss[:, 0], gauss[:, 1], gauss[:, 2]
    g_eq = np.empty((n_days, n_eq))
    loadings: dict[str, dict[str, float]] = {}
    for j, e in enumerate(_EQUITIES):
        idio = np.sqrt(1.0 - e.mkt**2 - e.ai**2)
        g_eq[:, j] = e.mkt * f_mkt + e.ai * f_ai + idio * gauss[:, 3 + j]
        loadings[e.symbol] = {"mkt": e.mkt, "ai": e.ai, "crypto": 0.0}
    c_before, c_after = RHO_BEFORE / _NVDA_AI, RHO_AFTER / _NVDA_AI
    c_ai = np.where(tl.days < tl.sessions[tl.i_switch], c_before, c_after)
    g_btc = c_ai * f_ai + np.sqrt(1.0 - c_ai**2) * f_cry
    g_eth = _ETH_ON_BTC * g_btc + np.sqrt(1.0 - _ETH_ON_BTC**2) * gauss[:, -1]
    loadings["BTC-USD"] = {
        "mkt": 0.0,
        "ai_before": c_before,
        "ai_after": c_after,
        "crypto_before": float(np.sqrt(1.0 - c_before**2)),
        "crypto_after": float(np.sqrt(1.0 - c_after**2)),
    }
    loadings["ETH-USD"] = {"btc": _ETH_ON_BTC}
    z_cr = np.column_stack([g_btc, g_eth]) * scale
    z_eq = (g_eq * scale)[tl.day_pos]
    return z_cr, z_eq, loadings


def _liquidity(
    rng: np.random.Generator, tl: _Timeline
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
    """WALCL (weekly, USD mn), TGA (USD mn), RRP (USD bn) and daily net liquidity (USD mn)."""
    s_frac = float(tl.frac(tl.sessions[[tl.i_switch]])[0])
    w_frac = tl.frac(tl.weds)
    burst = 12.0 * 7.0 / float((tl.days[-1] - tl.days[0]).days)  # twelve weeks of QE
    step = np.select(
        [w_frac < s_frac, w_frac < s_frac + burst, w_frac < s_frac + 0.25],
        [-3_000.0, 200_000.0, 20_000.0],
        -15_000.0,
    )
    walcl = np.round(4_450_000.0 + np.cumsum(step + rng.normal(0.0, 10_000.0, len(tl.weds))))
    b_frac = tl.frac(tl.fed_days)
    tga_target = _ramp(
        b_frac,
        [(0.0, 350_000.0), (s_frac, 350_000.0), (s_frac + 0.05, 1_500_000.0),
         (s_frac + 0.15, 1_500_000.0), (s_frac + 0.22, 700_000.0), (1.0, 750_000.0)],
    )  # fmt: skip
    noise = np.full(len(b_frac), 8_000.0)
    tga = np.round(np.maximum(_momentum_path(rng, tga_target, noise), 2e4))
    rrp_target = _ramp(
        b_frac,
        [(0.0, 0.0), (s_frac + 0.15, 0.0), (s_frac + 0.28, 2_200.0),
         (s_frac + 0.35, 2_200.0), (1.0, 400.0)],
    )  # fmt: skip
    rrp_core = _momentum_path(rng, rrp_target, 1.0 + 0.004 * rrp_target)
    rrp_small = 0.3 * np.exp(0.5 * rng.standard_normal(len(b_frac)))
    rrp = np.round(np.maximum(rrp_core, 0.0) + rrp_small, 3)
    days = tl.days
    net = (
        pd.Series(walcl, tl.weds).reindex(days).interpolate(limit_area="inside").ffill().bfill()
        - pd.Series(tga, tl.fed_days).reindex(days).ffill().bfill()
        - 1000.0 * pd.Series(rrp, tl.fed_days).reindex(days).ffill().bfill()
    ).rename("net_liquidity")
    return walcl, tga, rrp, net


def _bubble(tl: _Timeline) -> tuple[np.ndarray, float, float]:
    """The bubble component of the log price on sessions, the explosive and collapse roots."""
    i_start, i_peak, i_end = tl.i_bubble
    x0, gain = BUBBLE_X0, BUBBLE_LOG_GAIN
    delta = ((x0 + gain) / x0) ** (1.0 / max(i_peak - i_start, 1))
    kappa = (1.0 - BUBBLE_GIVEBACK * gain / (x0 + gain)) ** (1.0 / max(i_end - i_peak, 1))
    b = np.zeros(len(tl.sessions))
    b[i_start + 1 : i_peak + 1] = x0 * (delta ** np.arange(1, i_peak - i_start + 1) - 1.0)
    b[i_peak + 1 : i_end + 1] = (x0 + gain) * kappa ** np.arange(1, i_end - i_peak + 1) - x0
    b[i_end + 1 :] = b[i_end]
    return b, float(delta), float(kappa)


def _other_macro(rng: np.random.Generator, tl: _Timeline) -> list[SeriesData]:
    """M2SL, DGS10, BAMLH0A0HYM2, DTWEXBGS and STABLECOIN_SUPPLY."""
    s_frac = float(tl.frac(tl.sessions[[tl.i_switch]])[0])
    m_frac = tl.frac(tl.months)
    m_growth = np.where((m_frac >= s_frac) & (m_frac < s_frac + 0.125), 0.015, 0.005)
    m2 = 13_200.0 * np.exp(np.cumsum(m_growth + rng.normal(0.0, 0.002, len(m_frac))))
    b_frac = tl.frac(tl.fed_days)
    n_b = len(b_frac)
    dgs_target = _ramp(b_frac, [(0, 2.4), (s_frac, 1.8), (s_frac + 0.02, 0.7),
                                (0.62, 1.5), (0.72, 4.2), (1.0, 4.0)])  # fmt: skip
    dgs10 = np.maximum(_momentum_path(rng, dgs_target, np.full(n_b, 0.04), 0.1, 0.05), 0.3)
    after = np.maximum(b_frac - s_frac, 0.0) * float((tl.days[-1] - tl.days[0]).days)
    oas_target = np.log(3.8 + np.where(b_frac >= s_frac, 5.0 * np.exp(-after / 40.0), 0.0))
    oas = np.exp(_momentum_path(rng, oas_target, np.full(n_b, 0.015), 0.1, 0.05))
    dollar = 115.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0035, n_b)))
    d_frac = tl.frac(tl.days)
    stable = 5e9 + 1.6e11 / (1.0 + np.exp(-(d_frac - 0.55) * 12.0))
    stable = stable * np.exp(np.cumsum(rng.normal(0.0, 0.003, len(d_frac))))
    fed = tl.fed_days
    return [
        _macro("M2SL", "USD billions", "MS", "monthly", tl.months, np.round(m2, 1)),
        _macro("DGS10", "percent", "B", CALENDAR_FED, fed, np.round(dgs10, 3)),
        _macro("BAMLH0A0HYM2", "percent", "B", CALENDAR_FED, fed, np.round(oas, 3)),
        _macro("DTWEXBGS", "index", "B", CALENDAR_FED, fed, np.round(dollar, 4)),
        _macro("STABLECOIN_SUPPLY", "USD", "D", CALENDAR_247, tl.days, _round_sig(stable, 6)),
    ]


def _price(
    symbol: str,
    unit: str,
    frequency: str,
    calendar: str,
    index: pd.DatetimeIndex,
    fields: dict[str, np.ndarray],
) -> SeriesData:
    meta = SeriesMeta(
        symbol, "price", unit, frequency, calendar, "synthetic", f"synthetic {symbol}"
    )
    return SeriesData(meta, pd.DataFrame(fields, index=index))


# --------------------------------------------------------------------------- market


def market(
    seed: int = 7, start: str | pd.Timestamp = "2017-01-02", years: float = 8.0
) -> SyntheticMarket:
    """Simulate a synthetic market with known ground truth.

    Parameters
    ----------
    seed : int, default 7
        Seed of the random generator; the same seed gives identical data.
    start : date-like, default "2017-01-02"
        First calendar day.
    years : float, default 8.0
        Length of the sample in years (at least 2).

    Returns
    -------
    SyntheticMarket
        ``series`` (BTC-USD, ETH-USD, the ``ai`` universe, AAPL, TSLA, ^IXIC, ^NDX, ^GSPC,
        ^VIX, WALCL, TGA, RRPONTSYD, M2SL, DGS10, BAMLH0A0HYM2, DTWEXBGS, STABLECOIN_SUPPLY)
        and ``truth`` (:class:`GroundTruth`). Crypto and STABLECOIN_SUPPLY cover every
        calendar day, equities and indices the XNYS sessions, TGA, RRPONTSYD, DGS10,
        BAMLH0A0HYM2 and DTWEXBGS the US federal business days, WALCL the Wednesdays and
        M2SL the month starts (from the month of ``start``).

    Examples
    --------
    >>> m = market(seed=1, years=2)
    >>> m.truth.bubble_symbol
    'NVDA'
    """
    seed = check_int(seed, "seed", minimum=0)
    first = check_date(start, "start")
    years = check_float(years, "years", minimum=2.0)
    rng = np.random.default_rng(seed)
    tl = _timeline(first, years)
    z_cr, z_eq, loadings = _shocks(rng, tl)

    def params(vol: float, periods: int, a: float, b: float) -> tuple[float, float, float, float]:
        return ((vol**2 / periods) * (1.0 - a - b), a, b, T_DOF)

    garch = {e.symbol: params(e.vol, 252, e.alpha, e.beta) for e in _EQUITIES}
    garch.update({c[0]: params(c[1], 365, c[4], c[5]) for c in _CRYPTO})
    eq_syms = [e.symbol for e in _EQUITIES]
    cr_syms = [c[0] for c in _CRYPTO]
    p_eq = np.array([garch[s][:3] for s in eq_syms]).T
    p_cr = np.array([garch[s][:3] for s in cr_syms]).T
    r_eq, s_eq = _garch(z_eq, p_eq[0], p_eq[1], p_eq[2])
    r_cr, s_cr = _garch(z_cr, p_cr[0], p_cr[1], p_cr[2])
    walcl, tga, rrp, net = _liquidity(rng, tl)
    d_net = np.concatenate([[0.0], np.diff(net.to_numpy())]) / 1e6  # USD trillions

    series: list[SeriesData] = []
    for k, (sym, _vol, drift, price, _a, _b, volume) in enumerate(_CRYPTO):
        beta_liq = LIQUIDITY_BETA * (1.0 if k == 0 else 1.25)
        logp = np.log(price) + np.cumsum(drift / 365.0 + r_cr[:, k] + beta_liq * d_net)
        fields = _ohlcv(rng, logp, price, s_cr[:, k], volume, gap=False)
        series.append(_price(sym, "USD", "D", CALENDAR_247, tl.days, fields))

    bubble, delta, kappa = _bubble(tl)
    for j, e in enumerate(_EQUITIES):
        logp = np.log(e.price) + np.cumsum(e.drift / 252.0 + r_eq[:, j])
        if e.symbol == "NVDA":
            logp = logp + bubble
        fields = _ohlcv(rng, logp, e.price, s_eq[:, j], e.volume, gap=True)
        series.append(_price(e.symbol, e.unit, "B", CALENDAR_XNYS, tl.sessions, fields))

    # VIX: the S&P 500's next-day conditional volatility, annualised, plus a premium
    gs = eq_syms.index("^GSPC")
    om, al, be, _ = garch["^GSPC"]
    sig_next = np.sqrt(om + al * r_eq[:, gs] ** 2 + be * s_eq[:, gs] ** 2)
    n_sess = len(tl.sessions)
    vix_close = 100.0 * np.sqrt(252.0) * sig_next * np.exp(0.15 + rng.normal(0.0, 0.08, n_sess))
    vix = _ohlcv(rng, np.log(vix_close), float(vix_close[0]), np.full(n_sess, 0.05), 1.0, True)
    vix["volume"] = np.zeros(n_sess)
    series.append(_price("^VIX", "index points", "B", CALENDAR_XNYS, tl.sessions, vix))

    series += [
        _macro("WALCL", "USD millions", "W-WED", "weekly, Wednesday level", tl.weds, walcl),
        _macro("TGA", "USD millions", "B", CALENDAR_FED, tl.fed_days, tga),
        _macro("RRPONTSYD", "USD billions", "B", CALENDAR_FED, tl.fed_days, rrp),
    ]
    series += _other_macro(rng, tl)

    shocks = pd.DataFrame(np.nan, index=tl.days, columns=cr_syms + eq_syms)
    vols = shocks.copy()
    shocks.iloc[:, :2], vols.iloc[:, :2] = z_cr, s_cr
    shocks.iloc[tl.day_pos, 2:], vols.iloc[tl.day_pos, 2:] = z_eq, s_eq
    i_start, i_peak, i_end = tl.i_bubble
    truth = GroundTruth(
        correlation_switch=tl.sessions[tl.i_switch],
        correlation_before=RHO_BEFORE,
        correlation_after=RHO_AFTER,
        liquidity_beta=LIQUIDITY_BETA,
        bubble_symbol="NVDA",
        bubble_start=tl.sessions[i_start],
        bubble_peak=tl.sessions[i_peak],
        bubble_end=tl.sessions[i_end],
        bubble_delta=delta,
        bubble_collapse_root=kappa,
        garch=garch,
        loadings=loadings,
        shocks=shocks,
        volatility=vols,
        net_liquidity=net,
    )
    return SyntheticMarket(series=series, truth=truth, seed=seed)
