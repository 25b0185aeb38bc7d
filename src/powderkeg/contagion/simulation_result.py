"""The outcome of an agent-engine run: recorded paths, per-type aggregates and the Result API.

:class:`SimulationResult` holds what :func:`~powderkeg.contagion.engine.simulate` records
for every path (prices, equity, defaults, losses, fire sales, stablecoin and Treasury flows,
policy actions, the event log) and reduces it for the Result protocol (``summary``,
``to_frame``, ``to_dict``, ``plot``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg.contagion.institutions import AgentType
from powderkeg.contagion.policy import PIVOT_DECIDED
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table

__all__ = ["SimulationResult"]


#: Outputs with a leading path axis (stacked by :meth:`SimulationResult.concat`).
PATH_ARRAYS = (
    "prices",
    "equity",
    "default_day",
    "illiquid",
    "losses",
    "fire_sales",
    "units_sold",
    "stablecoin_redemptions",
    "stablecoin_requests",
    "stablecoin_price",
    "treasury_sales",
    "policy_actions",
    "stress_index",
    "net_liquidity",
    "money_created",
    "stablecoin_supply",
    "agent_sales",
    "liquidations",
    "margin_calls",
    "redemption_requests",
)


@dataclass(frozen=True)
class SimulationResult(Result):
    """Outcome of :func:`~powderkeg.contagion.engine.simulate` (USD bn).

    Days are calendar days from ``dates[0]``.

    Attributes
    ----------
    prices : ndarray (P, days+1, K)
        Prices (initial 1) at the start (index 0) and at the end of each day.
    equity : ndarray (P, days+1, N)
        Book equity of every agent (funds: NAV).
    default_day : ndarray of int (P, N)
        Day of default (−1 if none).
    illiquid : ndarray of bool (P, N)
        Solvent but unable to restore its leverage constraint (Cont–Schaanning).
    losses : ndarray (P, N)
        ``E⁰ − E_T`` net of fund distributions (positive = loss).
    fire_sales : ndarray (P, K)
        Value sold per asset over the run (at pre-trade prices).
    units_sold : ndarray (P, K)
        Units sold per asset over the run (private sellers; initial price 1).
    stablecoin_redemptions : ndarray (P, days)
        Stablecoin redemptions paid per day (all issuers).
    stablecoin_requests : ndarray (P, days)
        Redemption requests per day (paid at once or queued).
    stablecoin_price : ndarray (P, days)
        Lowest secondary-market price across issuers.
    treasury_sales : ndarray (P, days)
        T-bill and note sales per day (private sellers, at pre-trade prices).
    policy_actions : ndarray of int (P, days)
        Bit flags (:data:`~powderkeg.contagion.policy.ACTION_NAMES`).
    stress_index : ndarray (P, days)
    net_liquidity : ndarray (P, days+1)
    money_created : ndarray (P,)
        Central-bank money creation (QE and facility loans), the one logged cash source.
    stablecoin_supply : ndarray (P, days+1)
        Tokens outstanding, all issuers (USD bn), at the start and the end of each day.
    agent_sales : ndarray (P, N, K)
        Value each agent sold of each asset over the run (at pre-trade prices).
    liquidations : ndarray (P, days)
        Value sold by crypto-leverage buckets per day (venue liquidations).
    margin_calls : ndarray (P,)
        Repo and margin-loan margin calls posted over the run (USD bn).
    redemption_requests : ndarray (P,)
        Fund and ETF redemption requests over the run (USD bn; stablecoins excluded).
    rounds : ndarray of int (days,)
        Sub-rounds used per day (max over paths).
    events : list of dict
        Event log (``day``, ``date``, ``path``, ``event``, ``agent``, ``asset``, ``amount``...)
        when recorded.
    """

    agent_names: list[str]
    agent_types: np.ndarray
    asset_names: list[str]
    dates: pd.DatetimeIndex
    prices: np.ndarray
    equity: np.ndarray
    default_day: np.ndarray
    illiquid: np.ndarray
    losses: np.ndarray
    fire_sales: np.ndarray
    units_sold: np.ndarray
    stablecoin_redemptions: np.ndarray
    stablecoin_requests: np.ndarray
    stablecoin_price: np.ndarray
    treasury_sales: np.ndarray
    policy_actions: np.ndarray
    stress_index: np.ndarray
    net_liquidity: np.ndarray
    money_created: np.ndarray
    stablecoin_supply: np.ndarray
    agent_sales: np.ndarray
    liquidations: np.ndarray
    margin_calls: np.ndarray
    redemption_requests: np.ndarray
    rounds: np.ndarray
    events: list[dict[str, Any]]
    runtime_s: float
    provenance: Provenance = field(default_factory=Provenance)

    # ------------------------------------------------------------------ helpers
    @property
    def n_paths(self) -> int:
        """``P``."""
        return int(self.prices.shape[0])

    @property
    def defaulted(self) -> np.ndarray:
        """Boolean (P, N) default indicator."""
        return self.default_day >= 0

    @property
    def type_names(self) -> list[str]:
        """Institution types present, in code order."""
        return [AgentType(t).name.lower() for t in sorted(set(self.agent_types.tolist()))]

    def by_type(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """Sum an array whose last axis is agents (N) over the agents of each type."""
        out = {}
        for t in sorted(set(self.agent_types.tolist())):
            out[AgentType(t).name.lower()] = values[..., self.agent_types == t].sum(axis=-1)
        return out

    def defaults_by_type(self) -> dict[str, np.ndarray]:
        """Number of defaulted agents per type and path."""
        return self.by_type(self.defaulted.astype(np.int64))

    def losses_by_type(self) -> dict[str, np.ndarray]:
        """Losses (USD bn) per type and path."""
        return self.by_type(self.losses)

    def asset_drawdowns(self) -> np.ndarray:
        """Maximum drawdown of each asset's price over the run (P, K), in [0, 1)."""
        peak = np.maximum.accumulate(self.prices, axis=1)
        return np.max(1.0 - self.prices / peak, axis=1)

    @classmethod
    def concat(cls, parts: list[SimulationResult]) -> SimulationResult:
        """Stack results of path chunks (same system and horizon) along the path axis."""
        if not parts:
            raise InputError("nothing to concatenate")
        first = parts[0]
        cat = {
            name: np.concatenate([getattr(p, name) for p in parts], axis=0) for name in PATH_ARRAYS
        }
        events: list[dict[str, Any]] = []
        offset = 0
        for p in parts:
            events += [{**e, "path": e["path"] + offset} for e in p.events]
            offset += p.n_paths
        return cls(
            agent_names=first.agent_names,
            agent_types=first.agent_types,
            asset_names=first.asset_names,
            dates=first.dates,
            rounds=np.max([p.rounds for p in parts], axis=0),
            events=events,
            runtime_s=float(sum(p.runtime_s for p in parts)),
            provenance=first.provenance,
            **cat,
        )

    # ------------------------------------------------------------------ Result protocol
    def _quantiles(self, x: np.ndarray) -> dict[str, float]:
        q = np.quantile(x, [0.05, 0.5, 0.95])
        return {
            "mean": float(np.mean(x)),
            "q05": float(q[0]),
            "q50": float(q[1]),
            "q95": float(q[2]),
        }

    def _payload(self) -> dict[str, Any]:
        dd = self.asset_drawdowns()
        b = self.asset_names.index("btc") if "btc" in self.asset_names else None
        btc = (
            {
                "drawdown": self._quantiles(dd[:, b]),
                "price_at_horizon": self._quantiles(self.prices[:, -1, b]),
            }
            if b is not None
            else None
        )
        return {
            "paths": self.n_paths,
            "days": int(self.prices.shape[1] - 1),
            "start": self.dates[0],
            "defaults": dict(zip(self.agent_names, self.defaulted.mean(axis=0))),
            "defaults_by_type": {k: float(v.mean()) for k, v in self.defaults_by_type().items()},
            "losses": {k: self._quantiles(v) for k, v in self.losses_by_type().items()},
            "asset_drawdowns": {
                a: self._quantiles(dd[:, k]) for k, a in enumerate(self.asset_names)
            },
            "fire_sales": dict(zip(self.asset_names, self.fire_sales.mean(axis=0))),
            "btc": btc,
            "stablecoin_redemptions": float(self.stablecoin_redemptions.sum(axis=1).mean()),
            "treasury_sales": float(self.treasury_sales.sum(axis=1).mean()),
            "policy_pivot_share": float(np.any(self.policy_actions & PIVOT_DECIDED, axis=1).mean()),
            "money_created": float(self.money_created.mean()),
            "runtime_s": self.runtime_s,
            "events": self.events,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per agent: type, default probability, mean loss and final equity."""
        return pd.DataFrame(
            {
                "type": [AgentType(t).name.lower() for t in self.agent_types],
                "default_probability": self.defaulted.mean(axis=0),
                "mean_loss": self.losses.mean(axis=0),
                "mean_final_equity": self.equity[:, -1, :].mean(axis=0),
                "illiquid_probability": self.illiquid.mean(axis=0),
            },
            index=pd.Index(self.agent_names, name="agent"),
        )

    def summary(self) -> Summary:
        """Defaults and losses by type, asset drawdowns."""
        types = self.defaults_by_type()
        losses = self.losses_by_type()
        rows = [[t, float(types[t].mean()), float(losses[t].mean())] for t in types]
        dd = self.asset_drawdowns()
        asset_rows = [
            [a, float(dd[:, k].mean()), float(self.fire_sales[:, k].mean())]
            for k, a in enumerate(self.asset_names)
        ]
        notes = []
        if np.any(self.rounds >= 0) and self.provenance.parameters.get("max_rounds") in set(
            self.rounds.tolist()
        ):
            notes.append("the sub-round limit bound on some day (spectral radius >= 1?)")
        return Summary(
            "System-wide stress simulation",
            facts=[
                ("paths", self.n_paths),
                ("days", int(self.prices.shape[1] - 1)),
                ("mean defaults", float(self.defaulted.sum(axis=1).mean())),
                (
                    "policy pivot share",
                    float(np.any(self.policy_actions & PIVOT_DECIDED, axis=1).mean()),
                ),
                ("runtime (s)", self.runtime_s),
            ],
            tables=[
                Table("By institution type", ["type", "mean defaults", "mean loss (USD bn)"], rows),
                Table(
                    "Assets", ["asset", "mean max drawdown", "mean fire sales (USD bn)"], asset_rows
                ),
            ],
            notes=notes,
        )

    def plot(self) -> Any:
        """Median and 5–95 % band of every tradable asset's price path."""
        import plotly.graph_objects as go

        fig = go.Figure()
        x = list(self.dates)
        for k, a in enumerate(self.asset_names):
            q = np.quantile(self.prices[:, :, k], [0.05, 0.5, 0.95], axis=0)
            fig.add_trace(go.Scatter(x=x, y=q[1], name=a, mode="lines"))
            if self.n_paths > 1:
                fig.add_trace(
                    go.Scatter(
                        x=x + x[::-1],
                        y=list(q[2]) + list(q[0][::-1]),
                        fill="toself",
                        opacity=0.15,
                        showlegend=False,
                        line={"width": 0},
                        name=f"{a} 5–95 %",
                    )
                )
        fig.update_layout(title="Prices (start = 1)", yaxis_title="price")
        return fig
