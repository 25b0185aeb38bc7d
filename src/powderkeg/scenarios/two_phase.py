r"""Two-phase Bitcoin path: shock, lagged policy pivot, liquidity-driven recovery (model-spec §6).

Reduced form of M6. With log price :math:`x_t = \ln P_{BTC,t}` and regimes S (shock) and R
(recovery), one day is

.. math::

    \text{S } (t < t_p + L_p):\quad
    \Delta x_t = \mu_S + \beta_S r_{AI,t} + \eta\,\Delta\ln L_t
                 - \gamma_F \frac{q^{forced}_t}{D_{BTC,t}} + J_t + \sigma_S \varepsilon_t

    \text{R } (t \ge t_p + L_p):\quad
    \Delta x_t = \eta\,\Delta\ln L_t + \beta_R r_{eq,t} - \delta\,\Delta\ln DXY_t
                 + \gamma_{SC}\,\Delta\ln S^{stable}_t + \mu_R + \sigma_R \varepsilon_t

(§6.1). The liquidity term in phase S is zero unless the scenario tightens liquidity
(``liquidity_drift < 0``, the 2022 "no pivot" counterfactual of §6.2). Supporting blocks:

* AI factor: log drift :math:`\ln(1 - s)/T_s` for the first :math:`T_s` days (the correction of
  size :math:`s`), then zero; from the policy action on, ``ai_recovery_drift``; daily volatility
  ``ai_vol``. Broad equities: :math:`r_{eq} = \beta_{eq} r_{AI} + \sigma_{eq} \varepsilon`.
* Policy (§5.4, stress index reduced to the AI-factor drawdown): the pivot :math:`t_p` is the
  first day on which the drawdown from peak has been at least θ for :math:`n_c` consecutive days;
  the action takes effect on day :math:`t_p + L_p` (:math:`L_p \ge 1`).
* Liquidity (§5.1): from the action, net liquidity rises by :math:`\ln(1 + Q/NL_0)` spread
  evenly over ``qe_ramp_days``; before, it drifts by ``liquidity_drift`` per day.
  Dollar: :math:`\Delta\ln DXY = -\chi\,\Delta\ln L` (§5.4).
* Forced selling (reduced-form leveraged-holder block): :math:`q^{forced}_t = \kappa H
  \max(0, -r_{AI,t})` (USD bn) sold into depth :math:`D_{BTC,t} = D^0 (1 - s_t (1 - g))`, where
  :math:`s_t = \min(1, dd_t/θ)` and g is the stressed-depth multiplier (§1.4).
* Jumps: compound Poisson in phase S, :math:`J_t = 1[u_t < λ_J](m_J + s_J z_t)`.
* Stablecoin supply: :math:`\Delta\ln S_t = -ρ_0 - ρ_{cr}\max(0, -\Delta x_{t-1})
  + ψ\,\Delta\ln L_t` (§4.3 redemptions, §6.1 feedback).

The simulator is RNG-free: random numbers come in a :class:`TwoPhaseDraws`, so the same draws
give the same paths (common random numbers across parameter grids) and chunks run anywhere.
Time is in calendar days; BTC trades every day.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import check_float, check_int
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table

#: Largest number of paths a single run accepts.
MAX_PATHS = 1_000_000
#: Longest horizon in days.
MAX_DAYS = 3650
#: Quantiles reported for drawdowns, prices and the fan chart.
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def qlabel(q: float) -> str:
    """The key of a quantile: 0.05 -> "q05"."""
    return f"q{round(q * 100):02d}"


#: Model-spec references of the parameters (for provenance and help texts).
PARAMETER_SOURCES: dict[str, str] = {
    "beta_s": "model-spec §6.3: 2.0 (1.5–2.5), analogues 2020/2022 [A]",
    "beta_r": "model-spec §6.3: 1.0 (0.5–1.5) [A]",
    "eta": "model-spec §6.3/§5.3: 3 on NL (1.5–8) [A]",
    "delta": "model-spec §6.3: 1.5 (0–3) [A]",
    "lag_days": "model-spec §6.3: 21 days (7–60), 2020 analogue [R]",
    "sigma_s": "model-spec §6.3: 5% daily (3–8%) [A]",
    "sigma_r": "model-spec §6.3: 3% daily (2–4%) [A]",
    "jump_intensity": "model-spec §6.3: 1/60 per day, Oct-2025 and Mar-2020 [A]",
    "jump_mean": "model-spec §6.3: −10% [A]",
    "stress_depth": "model-spec §1.4/§6.3: D_BTC stressed/normal 0.05–0.1 [A]",
    "depth": "model-spec §1.4: ~$500–600 bn square-root depth in normal times [A]",
    "forced_holdings": "model-spec §3.4: BTC open interest > $50 bn before 10 Oct 2025 [S]",
    "chi": "model-spec §5.5: χ = 0.3 (0–0.6) [A]",
    "trigger_drawdown": "model-spec §5.4: pivot when the stress index exceeds θ [A]",
    "qe_size": "model-spec §5.4: 2020 QE ≈ +$3 trn in ~3 months [V/S]; default half of it [A]",
    "net_liquidity": (
        "model-spec §5.1: WALCL ~$6.6 trn − TGA ~$0.85 trn − RRP ≈ 0 (late 2025) [V/A]"
    ),
}


@dataclass(frozen=True)
class TwoPhaseParams:
    """Parameters of the two-phase path (model-spec §6.3; daily units, money in USD bn).

    Attributes
    ----------
    ai_shock : float
        Size of the AI-equity correction, a fraction (0.3 = −30% over ``shock_days``).
    shock_days : int
        Days over which the correction unfolds.
    ai_vol, ai_recovery_drift : float
        AI-factor daily volatility, and its daily log drift once policy acts.
    equity_beta, equity_vol : float
        Broad equities ``r_eq = equity_beta · r_AI + equity_vol · ε``.
    beta_s, beta_r, eta, delta, chi, gamma_sc, gamma_f : float
        §6.1 loadings (β_S on the AI factor in S, β_R on equities in R, η on Δln L,
        δ on Δln DXY, χ = −Δln DXY/Δln L, γ_SC on stablecoin supply, γ_F on forced sales).
    mu_s, mu_r, sigma_s, sigma_r : float
        Daily drifts and volatilities by regime.
    jump_intensity, jump_mean, jump_sd : float
        Liquidation-cascade jumps (phase S): daily probability, mean and s.d. of the log jump.
    forced_holdings, forced_sensitivity, depth, stress_depth : float
        Leveraged BTC book H (USD bn), κ (share liquidated per unit AI fall), normal depth
        D⁰ (USD bn) and the stressed-depth multiplier g.
    policy : bool
        Whether the central bank pivots at all (False = 2022 counterfactual).
    trigger_drawdown, trigger_days, lag_days : float, int, int
        θ, n_c and L_p (days, at least 1).
    qe_size, net_liquidity, qe_ramp_days, liquidity_drift : float, float, int, float
        QE size Q and net liquidity NL₀ (USD bn), ramp length, and the pre-policy daily Δln L.
    action_day : int, optional
        A replay of history: the day the central bank acted, on every path (the trigger is
        then not used; the pivot is recorded the day before).
    stable_base_redemption, stable_btc_sensitivity, stable_liquidity_beta : float
        ρ₀ (per day), ρ_cr and ψ of the stablecoin-supply block.
    """

    ai_shock: float = 0.30
    shock_days: int = 20
    ai_vol: float = 0.025
    ai_recovery_drift: float = 0.001
    equity_beta: float = 0.6
    equity_vol: float = 0.008
    beta_s: float = 2.0
    beta_r: float = 1.0
    eta: float = 3.0
    delta: float = 1.5
    chi: float = 0.3
    gamma_sc: float = 0.5
    gamma_f: float = 1.0
    mu_s: float = 0.0
    mu_r: float = 0.0
    sigma_s: float = 0.05
    sigma_r: float = 0.03
    jump_intensity: float = 1.0 / 60.0
    jump_mean: float = -0.10
    jump_sd: float = 0.05
    forced_holdings: float = 50.0
    forced_sensitivity: float = 1.0
    depth: float = 550.0
    stress_depth: float = 0.1
    policy: bool = True
    trigger_drawdown: float = 0.15
    trigger_days: int = 3
    lag_days: int = 21
    qe_size: float = 1500.0
    net_liquidity: float = 5800.0
    qe_ramp_days: int = 90
    liquidity_drift: float = 0.0
    action_day: int | None = None
    stable_base_redemption: float = 0.0005
    stable_btc_sensitivity: float = 0.05
    stable_liquidity_beta: float = 1.0

    def __post_init__(self) -> None:
        check_float(self.ai_shock, "ai_shock", minimum=0.0, maximum=0.95)
        check_int(self.shock_days, "shock_days", minimum=1, maximum=MAX_DAYS)
        check_int(self.trigger_days, "trigger_days", minimum=1, maximum=MAX_DAYS)
        check_int(self.lag_days, "lag_days (policy lag)", minimum=1, maximum=MAX_DAYS)
        check_int(self.qe_ramp_days, "qe_ramp_days", minimum=1, maximum=MAX_DAYS)
        if self.action_day is not None:
            check_int(self.action_day, "action_day", minimum=0, maximum=MAX_DAYS)
        for name in ("ai_vol", "equity_vol", "sigma_s", "sigma_r", "jump_sd", "chi"):
            check_float(getattr(self, name), name, minimum=0.0, maximum=1.0)
        check_float(self.jump_intensity, "jump_intensity", minimum=0.0, maximum=1.0)
        check_float(self.stress_depth, "stress_depth", minimum=1e-3, maximum=1.0)
        check_float(self.depth, "depth", minimum=0.0, exclusive_minimum=True)
        check_float(self.net_liquidity, "net_liquidity", minimum=0.0, exclusive_minimum=True)
        check_float(self.qe_size, "qe_size", minimum=0.0)
        check_float(self.forced_holdings, "forced_holdings", minimum=0.0)
        check_float(self.forced_sensitivity, "forced_sensitivity", minimum=0.0)
        check_float(self.trigger_drawdown, "trigger_drawdown", minimum=1e-4, maximum=0.99)
        for name in ("beta_s", "beta_r", "eta", "delta", "gamma_sc", "gamma_f", "equity_beta"):
            check_float(getattr(self, name), name)
        for name in ("mu_s", "mu_r", "ai_recovery_drift", "liquidity_drift", "jump_mean"):
            check_float(getattr(self, name), name, minimum=-1.0, maximum=1.0)
        for name in ("stable_base_redemption", "stable_btc_sensitivity"):
            check_float(getattr(self, name), name, minimum=0.0, maximum=1.0)
        check_float(self.stable_liquidity_beta, "stable_liquidity_beta")

    def replace(self, **changes: Any) -> TwoPhaseParams:
        """Return a copy with some fields changed (validated again)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise InputError(f"unknown two-phase parameter(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict."""
        return dataclasses.asdict(self)


#: Parameters that may vary per path (passed as arrays of shape (P,) in ``overrides``).
VARIABLE_PARAMETERS = (
    *(
        f.name
        for f in dataclasses.fields(TwoPhaseParams)
        if f.name not in ("policy", "shock_days", "trigger_days", "lag_days", "qe_ramp_days")
    ),
    "lag_days",
    "shock_days",
)


@dataclass(frozen=True)
class TwoPhaseDraws:
    """The random numbers of a batch of paths, each array of shape (P, T).

    ``ai``, ``equity``, ``btc`` and ``jump_size`` are standard normal; ``jump`` is uniform on
    [0, 1). Drawn in a fixed order from one generator so a seed fixes every path.
    """

    ai: np.ndarray
    equity: np.ndarray
    btc: np.ndarray
    jump: np.ndarray
    jump_size: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n_paths: int, days: int) -> TwoPhaseDraws:
        """Draw the random numbers for ``n_paths`` paths of ``days`` days."""
        shape = (n_paths, days)
        return cls(
            ai=rng.standard_normal(shape),
            equity=rng.standard_normal(shape),
            btc=rng.standard_normal(shape),
            jump=rng.random(shape),
            jump_size=rng.standard_normal(shape),
        )

    @property
    def shape(self) -> tuple[int, int]:
        """(paths, days)."""
        return (int(self.ai.shape[0]), int(self.ai.shape[1]))


@dataclass(frozen=True)
class TwoPhasePaths:
    """Simulated paths (P paths, T days).

    Attributes
    ----------
    log_price : ndarray (P, T+1)
        ``x_t − x_0`` (BTC log price relative to the start).
    returns : ndarray (P, T)
        ``Δx_t`` including the forced-sale term.
    exogenous : ndarray (P, T)
        ``Δx_t`` without the forced-sale term (what a system engine adds its own impact to).
    drift : ndarray (P, T)
        The conditional mean of ``Δx_t`` excluding the AI/equity loadings, jumps and noise:
        ``μ_S + η Δln L`` in S and ``μ_R + η Δln L − δ Δln DXY + γ_SC Δln S`` in R.
    ai_returns, equity_returns, liquidity : ndarray (P, T)
        ``r_AI``, ``r_eq`` and ``Δln L``.
    ai_drawdown : ndarray (P, T)
        AI-factor drawdown from its running peak at the end of each day (fraction).
    recovery : ndarray of bool (P, T)
        True on days in regime R.
    pivot_day, action_day : ndarray of int (P,)
        ``t_p`` and ``t_p + L_p`` (−1 where policy never pivots within the horizon).
    stablecoin_supply : ndarray (P, T+1)
        ``ln S_t − ln S_0``.
    forced_sales : ndarray (P, T)
        ``q^forced`` (USD bn per day).
    """

    log_price: np.ndarray
    returns: np.ndarray
    exogenous: np.ndarray
    drift: np.ndarray
    ai_returns: np.ndarray
    equity_returns: np.ndarray
    liquidity: np.ndarray
    ai_drawdown: np.ndarray
    recovery: np.ndarray
    pivot_day: np.ndarray
    action_day: np.ndarray
    stablecoin_supply: np.ndarray
    forced_sales: np.ndarray

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return int(self.returns.shape[0])

    @property
    def days(self) -> int:
        """Number of days."""
        return int(self.returns.shape[1])

    def first_hit(self) -> np.ndarray:
        """Trough of the price relative to the start before regime R (whole path if none).

        Returns ``min_t P_t / P_0 − 1`` over ``t <= t_p + L_p`` (fraction, <= 0).
        """
        T = self.days
        end = np.where(self.action_day >= 0, np.minimum(self.action_day, T), T)
        t = np.arange(T + 1)
        masked = np.where(t[None, :] <= end[:, None], self.log_price, np.inf)
        return np.expm1(masked.min(axis=1))


def _as_path_array(value: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(f"per-path parameter {name} must have shape ({n},), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"per-path parameter {name} has missing or infinite values")
    return arr


def _exogenous_input(value: Any, n: int, days: int, name: str) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 1:
        arr = np.broadcast_to(arr, (n, arr.shape[0]))
    if arr.shape != (n, days):
        raise InputError(f"{name} must have shape ({days},) or ({n}, {days}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} has missing or infinite values")
    return arr


def simulate_two_phase(
    params: TwoPhaseParams,
    draws: TwoPhaseDraws,
    *,
    overrides: Mapping[str, Any] | None = None,
    ai_returns: Any = None,
    equity_returns: Any = None,
    liquidity: Any = None,
) -> TwoPhasePaths:
    """Simulate two-phase BTC paths from given random numbers (no RNG inside).

    Parameters
    ----------
    params : TwoPhaseParams
        Scalar parameters.
    draws : TwoPhaseDraws
        Random numbers, arrays of shape (P, T).
    overrides : mapping, optional
        Per-path values (arrays of shape (P,)) of any name in :data:`VARIABLE_PARAMETERS`
        (e.g. drawn within their model-spec ranges by a Monte Carlo driver). ``lag_days`` and
        ``shock_days`` are rounded to whole days (at least 1).
    ai_returns, equity_returns, liquidity : array-like (T,) or (P, T), optional
        Exogenous daily AI-factor log returns, equity log returns and Δln L (a historical
        replay). When ``ai_returns`` is given, ``equity_returns`` defaults to it; the policy
        pivot still fires from the AI-factor drawdown.

    Returns
    -------
    TwoPhasePaths
    """
    n, T = draws.shape
    ov = dict(overrides or {})
    unknown = set(ov) - set(VARIABLE_PARAMETERS)
    if unknown:
        raise InputError(f"cannot vary per path: {', '.join(sorted(unknown))}")

    def par(name: str) -> np.ndarray:
        return _as_path_array(ov.get(name, getattr(params, name)), n, name)

    r_ai_in = _exogenous_input(ai_returns, n, T, "ai_returns")
    r_eq_in = _exogenous_input(equity_returns, n, T, "equity_returns")
    if r_eq_in is None and r_ai_in is not None:
        r_eq_in = r_ai_in
    dl_in = _exogenous_input(liquidity, n, T, "liquidity")

    shock = par("ai_shock")
    if np.any((shock < 0) | (shock >= 1)):
        raise InputError("ai_shock must be in [0, 1)")
    shock_days = np.maximum(np.rint(par("shock_days")), 1.0)
    lag = np.maximum(np.rint(par("lag_days")), 1.0).astype(np.int64)
    shock_drift = np.log1p(-shock) / shock_days
    ai_vol, ai_rec = par("ai_vol"), par("ai_recovery_drift")
    eq_beta, eq_vol = par("equity_beta"), par("equity_vol")
    beta_s, beta_r, eta = par("beta_s"), par("beta_r"), par("eta")
    delta, chi, gamma_sc, gamma_f = par("delta"), par("chi"), par("gamma_sc"), par("gamma_f")
    mu_s, mu_r, sig_s, sig_r = par("mu_s"), par("mu_r"), par("sigma_s"), par("sigma_r")
    lam_j, m_j, s_j = par("jump_intensity"), par("jump_mean"), par("jump_sd")
    hold, kappa = par("forced_holdings"), par("forced_sensitivity")
    depth0, g_stress = par("depth"), par("stress_depth")
    theta, qe, nl0 = par("trigger_drawdown"), par("qe_size"), par("net_liquidity")
    liq_drift = par("liquidity_drift")
    rho0, rho_cr, psi = (
        par("stable_base_redemption"),
        par("stable_btc_sensitivity"),
        par("stable_liquidity_beta"),
    )
    ramp = int(params.qe_ramp_days)
    qe_daily = np.log1p(qe / nl0) / ramp

    r_ai = np.empty((n, T))
    r_eq = np.empty((n, T))
    dl = np.empty((n, T))
    dx = np.empty((n, T))
    exo = np.empty((n, T))
    drift = np.empty((n, T))
    dd_rec = np.empty((n, T))
    rec = np.zeros((n, T), dtype=bool)
    forced = np.empty((n, T))
    dls = np.empty((n, T))
    fixed_day = params.action_day if params.policy else None
    fixed = fixed_day is not None
    pivot = np.full(n, -1 if fixed_day is None else max(fixed_day - 1, 0), dtype=np.int64)
    action = np.full(n, -1 if fixed_day is None else fixed_day, dtype=np.int64)
    cum_ai = np.zeros(n)
    peak = np.zeros(n)
    consec = np.zeros(n, dtype=np.int64)
    dd = np.zeros(n)
    prev_dx = np.zeros(n)
    for t in range(T):
        in_r = (action >= 0) & (t >= action)
        rec[:, t] = in_r
        stress_level = np.minimum(1.0, dd / theta)  # yesterday's stress
        # AI factor and equities
        if r_ai_in is None:
            base = np.where(t < shock_days, shock_drift, 0.0)
            r_ai[:, t] = np.where(in_r, ai_rec, base) + ai_vol * draws.ai[:, t]
        else:
            r_ai[:, t] = r_ai_in[:, t]
        if r_eq_in is None:
            r_eq[:, t] = eq_beta * r_ai[:, t] + eq_vol * draws.equity[:, t]
        else:
            r_eq[:, t] = r_eq_in[:, t]
        # liquidity and the dollar
        if dl_in is None:
            ramping = in_r & (t - action < ramp)
            dl[:, t] = np.where(ramping, qe_daily, np.where(in_r, 0.0, liq_drift))
        else:
            dl[:, t] = dl_in[:, t]
        d_dxy = -chi * dl[:, t]
        dls[:, t] = -rho0 - rho_cr * np.maximum(0.0, -prev_dx) + psi * dl[:, t]
        # forced selling into stressed depth (phase S only)
        depth_t = depth0 * (1.0 - stress_level * (1.0 - g_stress))
        q = np.where(in_r, 0.0, kappa * hold * np.maximum(0.0, -r_ai[:, t]))
        forced[:, t] = q
        jump = np.where(draws.jump[:, t] < lam_j, m_j + s_j * draws.jump_size[:, t], 0.0)
        drift_s = mu_s + eta * dl[:, t]
        drift_r = mu_r + eta * dl[:, t] - delta * d_dxy + gamma_sc * dls[:, t]
        drift[:, t] = np.where(in_r, drift_r, drift_s)
        exo_s = drift_s + beta_s * r_ai[:, t] + jump + sig_s * draws.btc[:, t]
        exo_r = drift_r + beta_r * r_eq[:, t] + sig_r * draws.btc[:, t]
        exo[:, t] = np.where(in_r, exo_r, exo_s)
        dx[:, t] = exo[:, t] - np.where(in_r, 0.0, gamma_f * q / depth_t)
        prev_dx = dx[:, t]
        # stress index and the pivot (end of day t)
        cum_ai += r_ai[:, t]
        peak = np.maximum(peak, cum_ai)
        dd = -np.expm1(cum_ai - peak)
        dd_rec[:, t] = dd
        consec = np.where(dd >= theta, consec + 1, 0)
        if params.policy and not fixed:
            fire = (pivot < 0) & (consec >= params.trigger_days)
            pivot = np.where(fire, t, pivot)
            action = np.where(fire, t + lag, action)
    log_price = np.concatenate([np.zeros((n, 1)), np.cumsum(dx, axis=1)], axis=1)
    supply = np.concatenate([np.zeros((n, 1)), np.cumsum(dls, axis=1)], axis=1)
    return TwoPhasePaths(
        log_price=log_price,
        returns=dx,
        exogenous=exo,
        drift=drift,
        ai_returns=r_ai,
        equity_returns=r_eq,
        liquidity=dl,
        ai_drawdown=dd_rec,
        recovery=rec,
        pivot_day=pivot,
        action_day=action,
        stablecoin_supply=supply,
        forced_sales=forced,
    )


# --------------------------------------------------------------------------- uncertainty
#: Model-spec ranges drawn per path (triangular with the default as mode), §6.3 and §5.
UNCERTAIN_RANGES: dict[str, tuple[float, float]] = {
    "beta_s": (1.5, 2.5),
    "beta_r": (0.5, 1.5),
    "eta": (1.5, 8.0),
    "delta": (0.0, 3.0),
    "sigma_s": (0.03, 0.08),
    "sigma_r": (0.02, 0.04),
    "stress_depth": (0.05, 0.3),
    "chi": (0.0, 0.6),
}


def draw_parameters(
    params: TwoPhaseParams, rng: np.random.Generator, n: int, names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Draw uncertain parameters per path within their model-spec ranges.

    Each parameter is triangular on its range with the current value as mode (clipped into
    the range), drawn in the fixed order of :data:`UNCERTAIN_RANGES`.
    """
    out = {}
    for name, (lo, hi) in UNCERTAIN_RANGES.items():
        u = rng.random(n)
        if names is not None and name not in names:
            continue
        mode = float(np.clip(getattr(params, name), lo, hi))
        out[name] = triangular_ppf(u, lo, mode, hi)
    return out


def triangular_ppf(u: np.ndarray, lo: float, mode: float, hi: float) -> np.ndarray:
    """Inverse CDF of the triangular distribution on [lo, hi] with the given mode.

    Using uniforms and the inverse CDF keeps draws monotone in (lo, mode, hi) for the same
    uniforms, so scaled parameter ranges give common random numbers.
    """
    u = np.asarray(u, dtype=np.float64)
    if hi <= lo:
        return np.full(u.shape, float(lo))
    c = (mode - lo) / (hi - lo)
    left = lo + np.sqrt(u * (hi - lo) * (mode - lo))
    right = hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - mode))
    return np.where(u < c, left, right)


# --------------------------------------------------------------------------- runs
def _chunk_paths(
    params: TwoPhaseParams, n: int, days: int, seed: np.random.SeedSequence, vary: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Simulate one chunk; return (log_price, first_hit, pivot_day, action_day, regime_share)."""
    p_seed, d_seed = seed.spawn(2)
    overrides = draw_parameters(params, np.random.default_rng(p_seed), n) if vary else {}
    draws = TwoPhaseDraws.draw(np.random.default_rng(d_seed), n, days)
    paths = simulate_two_phase(params, draws, overrides=overrides)
    return (
        paths.log_price,
        paths.first_hit(),
        paths.pivot_day,
        paths.action_day,
        paths.recovery.mean(axis=1),
    )


def _run_chunks(
    params: TwoPhaseParams,
    paths: int,
    days: int,
    seed: int,
    vary: bool,
    chunk: int = 2000,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Any = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from powderkeg.parallel import chunk_sizes, map_chunks, spawn_seeds

    sizes = chunk_sizes(paths, chunk)
    seeds = spawn_seeds(seed, len(sizes))
    tasks = [(params, n, days, s, vary) for n, s in zip(sizes, seeds)]
    out = map_chunks(
        _chunk_paths, tasks, workers=workers, scheduler=scheduler, progress=progress, label="paths"
    )
    return (
        np.concatenate([o[0] for o in out]),
        np.concatenate([o[1] for o in out]),
        np.concatenate([o[2] for o in out]),
        np.concatenate([o[3] for o in out]),
    )


@dataclass
class BtcScenarioResult(Result):
    """Two-phase BTC scenario: fan chart, survival and second-wave probabilities, grid.

    Attributes
    ----------
    params : TwoPhaseParams
    paths, seed, days : int
    survive_threshold : float
        "Survives the first hit" means the trough before regime R stays above
        ``−survive_threshold``.
    start_price : float
        Price at day 0 (the latest stored BTC close, or 100 as an index).
    fan : DataFrame
        Price quantiles by day (columns ``q05 … q95``).
    first_hit, final_return : ndarray (P,)
        Per-path trough before R and return at the horizon (fractions).
    pivot_share, action_day_median : float
    grid : DataFrame
        ``ai_shock``, ``lag_weeks``, ``p_survive``, ``p_gain`` for the sensitivity grid.
    """

    params: TwoPhaseParams
    paths: int
    seed: int
    days: int
    survive_threshold: float
    start_price: float
    fan: pd.DataFrame
    first_hit: np.ndarray
    final_return: np.ndarray
    pivot_share: float
    action_day_median: float
    grid: pd.DataFrame
    runtime_s: float
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def p_survive(self) -> float:
        """P(trough before the policy regime above −threshold)."""
        return float(np.mean(self.first_hit > -self.survive_threshold))

    @property
    def p_gain(self) -> float:
        """P(price at the horizon above the start)."""
        return float(np.mean(self.final_return > 0.0))

    def _payload(self) -> dict[str, Any]:
        qs = {qlabel(q): q for q in QUANTILES}
        return {
            "paths": self.paths,
            "seed": self.seed,
            "days": self.days,
            "ai_shock": self.params.ai_shock,
            "policy_lag_days": self.params.lag_days,
            "start_price": self.start_price,
            "survive_threshold": self.survive_threshold,
            "p_survive_first_hit": self.p_survive,
            "p_gain_second_wave": self.p_gain,
            "p_pivot": self.pivot_share,
            "action_day_median": self.action_day_median,
            "first_hit": {k: float(np.quantile(self.first_hit, q)) for k, q in qs.items()},
            "return_at_horizon": {
                k: float(np.quantile(self.final_return, q)) for k, q in qs.items()
            },
            "price_at_horizon": {
                k: float(self.start_price * (1 + np.quantile(self.final_return, q)))
                for k, q in qs.items()
            },
            "fan": self.fan.reset_index().to_dict(orient="list"),
            "grid": self.grid.to_dict(orient="records"),
            "runtime_s": self.runtime_s,
        }

    def to_frame(self) -> pd.DataFrame:
        """The fan chart quantiles by day."""
        return self.fan

    def summary(self) -> Summary:
        """Probabilities, quantiles and the sensitivity grid."""
        qs = pd.DataFrame(
            {
                "trough before policy": np.quantile(self.first_hit, QUANTILES),
                "return at horizon": np.quantile(self.final_return, QUANTILES),
                "price at horizon": self.start_price
                * (1 + np.quantile(self.final_return, QUANTILES)),
            },
            index=pd.Index([f"{int(q * 100)}%" for q in QUANTILES], name="quantile"),
        )
        grid = self.grid.copy()
        grid["ai_shock"] = [f"-{v:.0%}" for v in grid["ai_shock"]]
        return Summary(
            f"Two-phase BTC path (AI correction -{self.params.ai_shock:.0%}, "
            f"policy lag {self.params.lag_days} d)",
            facts=[
                ("paths", self.paths),
                ("horizon (days)", self.days),
                (f"P(survives first hit: trough > -{self.survive_threshold:.0%})", self.p_survive),
                ("P(gains from second wave: above start at horizon)", self.p_gain),
                ("P(policy pivot within horizon)", self.pivot_share),
                ("median day policy acts", self.action_day_median),
                ("seed", self.seed),
            ],
            tables=[
                Table.from_frame("Quantiles", qs),
                Table.from_frame("Sensitivity: AI correction x policy lag", grid, index=False),
            ],
            notes=[
                "Reduced form of model-spec §6: β_S, β_R, η, δ, χ, σ and the stressed depth "
                "are drawn per path within their §6.3 ranges.",
                "The grid uses the same random numbers in every cell (common random numbers).",
            ],
        )

    def plot(self) -> Any:
        """Plotly fan chart: 5–95% and 25–75% bands and the median."""
        return fan_chart(self.fan, title="BTC two-phase path: quantile fan")


def fan_chart(fan: pd.DataFrame, title: str) -> Any:
    """A Plotly fan chart from a frame with columns q05, q25, q50, q75, q95 indexed by day."""
    import plotly.graph_objects as go

    x = fan.index.to_numpy()
    fig = go.Figure()
    for lo, hi, alpha, name in (("q05", "q95", 0.18, "5–95%"), ("q25", "q75", 0.35, "25–75%")):
        fig.add_trace(go.Scatter(x=x, y=fan[hi], line={"width": 0}, showlegend=False))
        fig.add_trace(
            go.Scatter(
                x=x,
                y=fan[lo],
                fill="tonexty",
                fillcolor=f"rgba(217,72,15,{alpha})",
                line={"width": 0},
                name=name,
            )
        )
    fig.add_trace(go.Scatter(x=x, y=fan["q50"], line={"color": "#d9480f"}, name="median"))
    fig.update_layout(title=title, xaxis_title="day", yaxis_title="BTC price", height=420)
    return fig


def fan_frame(log_price: np.ndarray, start_price: float) -> pd.DataFrame:
    """Quantiles of ``start_price · exp(log_price)`` by day."""
    qs = np.quantile(log_price, QUANTILES, axis=0)
    return pd.DataFrame(
        {qlabel(q): start_price * np.exp(v) for q, v in zip(QUANTILES, qs)},
        index=pd.RangeIndex(log_price.shape[1], name="day"),
    )


def run_btc_scenario(
    params: TwoPhaseParams | None = None,
    *,
    paths: int = 5000,
    days: int = 365,
    seed: int = 1,
    survive_threshold: float = 0.5,
    start_price: float = 100.0,
    grid_shocks: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5),
    grid_lag_weeks: Sequence[int] = (1, 3, 6, 9),
    grid_paths: int = 1000,
    vary: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Any = None,
) -> BtcScenarioResult:
    """Run the two-phase BTC scenario and its AI-shock × policy-lag sensitivity grid.

    Parameters
    ----------
    params : TwoPhaseParams, optional
        Central parameters (defaults of model-spec §6.3).
    paths, days, seed : int
        Monte Carlo size, horizon (calendar days) and seed. Paths are simulated in seeded
        chunks (``SeedSequence.spawn``) so results do not depend on ``workers``.
    survive_threshold : float, default 0.5
        Drawdown that counts as not surviving the first hit.
    start_price : float
        Price at day 0 for the fan chart.
    grid_shocks, grid_lag_weeks, grid_paths
        The sensitivity grid (each cell uses the same seed: common random numbers).
    vary : bool, default True
        Draw the §6.3 uncertain parameters per path within their ranges.
    """
    params = params or TwoPhaseParams()
    paths = check_int(paths, "--paths", minimum=1, maximum=MAX_PATHS)
    days = check_int(days, "--days", minimum=2, maximum=MAX_DAYS)
    grid_paths = check_int(grid_paths, "grid_paths", minimum=1, maximum=MAX_PATHS)
    thr = check_float(survive_threshold, "survive threshold", minimum=0.0, maximum=1.0)
    start_price = check_float(start_price, "start price", minimum=0.0, exclusive_minimum=True)
    t0 = time.perf_counter()
    grid_cells = [(s, w) for s in grid_shocks for w in grid_lag_weeks]
    total = math.ceil(paths / 2000) + len(grid_cells)
    done = 0

    def tick(d: int, _t: int, label: str) -> None:
        if progress is not None:
            progress(done + d, total, label)

    logp, hit, pivot, action = _run_chunks(
        params, paths, days, seed, vary, workers=workers, scheduler=scheduler, progress=tick
    )
    done += math.ceil(paths / 2000)
    rows = []
    for s, w in grid_cells:
        cell = params.replace(ai_shock=float(s), lag_days=int(w) * 7)
        c_logp, c_hit, _, _ = _run_chunks(cell, grid_paths, days, seed, vary)
        rows.append(
            {
                "ai_shock": float(s),
                "lag_weeks": int(w),
                "p_survive": float(np.mean(c_hit > -thr)),
                "p_gain": float(np.mean(c_logp[:, -1] > 0.0)),
                "median_return": float(np.expm1(np.median(c_logp[:, -1]))),
            }
        )
        done += 1
        tick(0, total, "grid")
    acted = action[action >= 0]
    return BtcScenarioResult(
        params=params,
        paths=paths,
        seed=seed,
        days=days,
        survive_threshold=thr,
        start_price=start_price,
        fan=fan_frame(logp, start_price),
        first_hit=hit,
        final_return=np.expm1(logp[:, -1]),
        pivot_share=float(np.mean(pivot >= 0)),
        action_day_median=float(np.median(acted)) if acted.size else float("nan"),
        grid=pd.DataFrame(rows),
        runtime_s=round(time.perf_counter() - t0, 3),
        provenance=Provenance(
            sources=[
                {"name": "model-spec §6 (M6 two-phase BTC path)", "parameters": PARAMETER_SOURCES}
            ],
            parameters={**params.to_dict(), "vary_uncertain": vary, "ranges": UNCERTAIN_RANGES},
            seed=seed,
        ),
    )


# --------------------------------------------------------------------------- 2020 replay
@dataclass(frozen=True)
class ReplayOutcome:
    """The 2020 replay: simulated trough and recovery against the §6.2 targets."""

    trough: float
    trough_day: float
    recovery_days: float
    recovered_share: float
    observed_trough: float
    observed_recovery_days: float
    pivot_day: float
    action_day: float
    start: pd.Timestamp


def replay_2020(
    store: Any,
    *,
    params: TwoPhaseParams | None = None,
    paths: int = 2000,
    seed: int = 2020,
    start: str = "2020-02-14",
    days: int = 200,
    equity: str = "^IXIC",
    liquidity: str = "WALCL",
) -> ReplayOutcome:
    """Replay the 2020 shock with the observed equity and Fed balance-sheet paths (§6.5).

    The AI factor and broad equities are both the stored ``equity`` index (daily log returns
    on a 7-day calendar, flat on weekends); Δln L is the daily-interpolated log change of
    ``liquidity`` (weekly WALCL, as published). Parameters are the defaults (the pivot
    still fires endogenously from the equity drawdown). Returns the median simulated trough
    (fraction), the median number of days from the start until the price is back at its
    start level, and the observed BTC figures from the store for comparison.
    """
    params = params or TwoPhaseParams()
    s = pd.Timestamp(start)
    end = s + pd.Timedelta(days=days)
    frame = store.frame(
        [equity, liquidity, "BTC-USD"],
        start=s - pd.Timedelta(days=30),
        end=end,
        calendar="union-ffill",
    )
    frame = frame.loc[(frame.index >= s) & (frame.index <= end)]
    frame = frame.reindex(pd.date_range(s, end, freq="D")).ffill().bfill()
    if frame.isna().any().any() or len(frame) < days + 1:
        raise InputError(f"the store lacks {equity}, {liquidity} or BTC-USD around {start}")
    r_eq = np.diff(np.log(frame[equity].to_numpy()))[:days]
    d_l = np.diff(np.log(frame[liquidity].to_numpy()))[:days]
    root = np.random.SeedSequence(seed)
    draws = TwoPhaseDraws.draw(np.random.default_rng(root), paths, days)
    sim = simulate_two_phase(params, draws, ai_returns=r_eq, equity_returns=r_eq, liquidity=d_l)
    lp = sim.log_price
    troughs = np.expm1(lp.min(axis=1))
    trough_day = lp.argmin(axis=1)
    rec_days = np.full(paths, np.nan)
    for i in range(paths):
        after = np.flatnonzero(lp[i, trough_day[i] :] >= 0.0)
        if after.size:
            rec_days[i] = trough_day[i] + after[0]
    btc = frame["BTC-USD"].to_numpy()
    obs_rel = btc / btc[0]
    obs_tday = int(np.argmin(obs_rel))
    obs_after = np.flatnonzero(obs_rel[obs_tday:] >= 1.0)
    acted = sim.action_day[sim.action_day >= 0]
    pivots = sim.pivot_day[sim.pivot_day >= 0]
    return ReplayOutcome(
        trough=float(np.median(troughs)),
        trough_day=float(np.median(trough_day)),
        recovery_days=float(np.nanmedian(rec_days)) if np.isfinite(rec_days).any() else np.inf,
        recovered_share=float(np.mean(np.isfinite(rec_days))),
        observed_trough=float(obs_rel.min() - 1.0),
        observed_recovery_days=float(obs_tday + obs_after[0]) if obs_after.size else np.inf,
        pivot_day=float(np.median(pivots)) if pivots.size else float("nan"),
        action_day=float(np.median(acted)) if acted.size else float("nan"),
        start=s,
    )
