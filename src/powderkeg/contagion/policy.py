"""Central-bank reaction function of the stress engine (model-spec §5.4, §6.1, §7 step 8).

A stress index ``SI_t`` is a weighted sum of scaled stress indicators; the central bank
*decides* to pivot when ``SI_t > θ`` for ``n_c`` consecutive days and *acts* ``L_p`` days
later (per-path lag). Once active it (i) cuts the policy rate by ``Δr`` (a one-off
fundamental return ``+ rate_sensitivity_k · |Δr|`` on the activation day), (ii) buys Treasury
notes every bank business day (QE, paid with newly created money, logged), (iii) opens a
liquidity facility (depth multiplier on targeted markets and discount-window loans to banks
against unencumbered HQLA). Net liquidity ``NL = WALCL − TGA − RRP`` rises one-for-one with
purchases and facility lending; assets with a liquidity beta get ``β_k Δln NL`` the next day.

Money in USD billions; no leverage is used. All parameters are [A] starting values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Bit flags of ``SimulationResult.policy_actions``.
PIVOT_DECIDED = 1
RATE_CUT = 2
QE_PURCHASE = 4
FACILITY_LOAN = 8
FACILITY_ACTIVE = 16

ACTION_NAMES = {
    PIVOT_DECIDED: "pivot decided",
    RATE_CUT: "rate cut",
    QE_PURCHASE: "Treasury purchases",
    FACILITY_LOAN: "facility loans",
    FACILITY_ACTIVE: "liquidity facility active",
}


@dataclass(frozen=True)
class PolicyParams:
    """Reaction-function parameters (model-spec §5.4, §6.3).

    Attributes
    ----------
    enabled : bool
    threshold : float
        ``θ``: pivot when ``SI > θ`` ...
    consecutive_days : int
        ... for ``n_c`` consecutive days.
    lag_days : float
        ``L_p`` (2020 analogue: 2–5 weeks; default 21 days), scaled per path.
    rate_cut : float
        ``|Δr|`` (2020: 150 bp = 0.015).
    qe_per_day : float
        Treasury-note purchases per bank business day (USD bn; 2020: ~USD 3 trn in ~3 months).
    qe_days : int
        Number of purchase days.
    facility_depth : float
        Depth multiplier on facility-targeted markets once active.
    net_liquidity0 : float
        Initial net liquidity ``WALCL − TGA − RRP`` (USD bn, late 2025 ≈ 5,700).
    fixed_day : int, optional
        A replay of history: actions start on this day on every path (decided the day
        before) whatever the stress index says.
    weights : dict
        Indicator weights of ``SI``: ``equity_drawdown`` (scale 10 %), ``credit_drawdown``
        (HY price drawdown, scale 5 %), ``treasury_dysfunction`` (dealer capacity used in
        Treasuries, scale 50 %), ``stablecoin_depeg`` (worst ``1 − p``, scale 2 %),
        ``bank_equity_loss`` (scale 10 %).
    """

    enabled: bool = True
    threshold: float = 1.0
    consecutive_days: int = 3
    lag_days: float = 21.0
    rate_cut: float = 0.015
    qe_per_day: float = 40.0
    qe_days: int = 60
    facility_depth: float = 2.0
    net_liquidity0: float = 5700.0
    fixed_day: int | None = None
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "equity_drawdown": 0.25,
            "credit_drawdown": 0.25,
            "treasury_dysfunction": 0.15,
            "stablecoin_depeg": 0.15,
            "bank_equity_loss": 0.2,
        }
    )

    #: Scales turning each indicator into a z-like score.
    scales: dict[str, float] = field(
        default_factory=lambda: {
            "equity_drawdown": 0.10,
            "credit_drawdown": 0.05,
            "treasury_dysfunction": 0.5,
            "stablecoin_depeg": 0.02,
            "bank_equity_loss": 0.10,
        }
    )


def stress_index(indicators: dict[str, np.ndarray], p: PolicyParams) -> np.ndarray:
    """``SI_t = Σ_j w_j · x_j / s_j`` over the indicators present (each (P,), >= 0)."""
    out: np.ndarray | None = None
    for name, w in p.weights.items():
        if name not in indicators:
            continue
        term = w * np.maximum(indicators[name], 0.0) / p.scales[name]
        out = term if out is None else out + term
    if out is None:
        raise KeyError("no stress indicator given")
    return out


@dataclass
class PolicyState:
    """Per-path policy state: consecutive days above θ, decision day, activation day."""

    above: np.ndarray
    decided: np.ndarray
    active_from: np.ndarray
    qe_done: np.ndarray
    net_liquidity: np.ndarray

    @classmethod
    def start(cls, n_paths: int, p: PolicyParams) -> PolicyState:
        """Calm initial state."""
        return cls(
            above=np.zeros(n_paths, dtype=np.int64),
            decided=np.full(n_paths, -1, dtype=np.int64),
            active_from=np.full(n_paths, -1, dtype=np.int64),
            qe_done=np.zeros(n_paths, dtype=np.int64),
            net_liquidity=np.full(n_paths, p.net_liquidity0),
        )

    def update(self, day: int, si: np.ndarray, lag: np.ndarray, p: PolicyParams) -> np.ndarray:
        """Register day ``day``'s stress index; return the paths deciding to pivot today.

        ``lag`` (P,) is the per-path implementation lag in days (actions start on
        ``day + lag``, at the earliest the next day).
        """
        if not p.enabled:
            return np.zeros(len(si), dtype=bool)
        if p.fixed_day is not None:
            new = (self.decided < 0) & (day >= p.fixed_day - 1)
            self.decided = np.where(new, day, self.decided)
            self.active_from = np.where(new, max(p.fixed_day, day + 1), self.active_from)
            return new
        self.above = np.where(si > p.threshold, self.above + 1, 0)
        new = (self.decided < 0) & (self.above >= p.consecutive_days)
        self.decided = np.where(new, day, self.decided)
        self.active_from = np.where(new, day + np.maximum(lag, 1), self.active_from)
        return new

    def active(self, day: int) -> np.ndarray:
        """Paths on which policy actions are in force on ``day``."""
        return (self.active_from >= 0) & (day >= self.active_from)

    def activating(self, day: int) -> np.ndarray:
        """Paths whose actions start exactly on ``day`` (rate cut day)."""
        return self.active_from == day
