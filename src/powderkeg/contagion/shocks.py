"""Per-path inputs of the agent engine (:func:`~powderkeg.contagion.engine.simulate`).

The engine is deterministic given its inputs: all randomness lives in :class:`Shocks`
(exogenous daily log returns, per-path parameter multipliers and stablecoin reserve
impairment).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from powderkeg._validation import as_float_array
from powderkeg.contagion.system import System
from powderkeg.exceptions import InputError

__all__ = ["MULTIPLIERS", "Shocks"]

#: Per-path parameter multipliers :class:`Shocks` accepts.
MULTIPLIERS = ("depth", "haircut", "redemption", "stablecoin_run", "policy_lag")


@dataclass(frozen=True)
class Shocks:
    """Per-path inputs of :func:`~powderkeg.contagion.engine.simulate` (no randomness inside).

    Attributes
    ----------
    returns : ndarray (P, days, K)
        Exogenous daily log returns of every asset's fundamental price (for ``marked``
        books: their fair-value marks). Returns of closed markets are carried to the next
        open day.
    multipliers : dict of ndarray (P,)
        Per-path parameter multipliers (default 1): ``depth`` (market depth), ``haircut``
        (initial repo haircuts), ``redemption`` (fund redemption sensitivities),
        ``stablecoin_run`` (stablecoin stress redemptions), ``policy_lag`` (central-bank lag).
    impairment : ndarray (P, days), optional
        Share of stablecoin issuers' bank deposits that is inaccessible on each day (e.g. a
        reserve bank closed over a weekend); lowers coverage but is not a loss.
    """

    returns: np.ndarray
    multipliers: dict[str, np.ndarray] = field(default_factory=dict)
    impairment: np.ndarray | None = None

    @property
    def n_paths(self) -> int:
        """``P``."""
        return int(self.returns.shape[0])

    @classmethod
    def zeros(cls, paths: int, days: int, n_assets: int) -> Shocks:
        """No exogenous shock (steady-state input)."""
        return cls(np.zeros((paths, days, n_assets)))

    @classmethod
    def one_day(
        cls, system: System, returns: dict[str, float], *, days: int, day: int = 0, paths: int = 1
    ) -> Shocks:
        """A single-day shock ``{asset: log return}`` on ``day``, the same on every path."""
        arr = np.zeros((paths, days, system.n_assets))
        for name, r in returns.items():
            arr[:, day, system.asset_index(name)] = r
        return cls(arr)

    def multiplier(self, name: str) -> np.ndarray:
        """The (P,) multiplier ``name`` (ones when absent)."""
        m = self.multipliers.get(name)
        return np.ones(self.n_paths) if m is None else m

    def take(self, rows: slice | np.ndarray) -> Shocks:
        """The shocks of a subset of paths (a slice or an index array)."""
        return Shocks(
            self.returns[rows],
            {k: v[rows] for k, v in self.multipliers.items()},
            None if self.impairment is None else self.impairment[rows],
        )

    def validated(self, days: int, n_assets: int) -> Shocks:
        """Check shapes and values; return a float64 copy."""
        r = as_float_array(self.returns, "shocks.returns", ndim=3)
        if r.shape[1:] != (days, n_assets):
            raise InputError(
                f"shocks.returns must have shape (paths, {days}, {n_assets}), got {r.shape}"
            )
        mult = {}
        for name, v in self.multipliers.items():
            if name not in MULTIPLIERS:
                raise InputError(f"unknown multiplier {name!r}; supported: {MULTIPLIERS}")
            arr = as_float_array(v, f"multipliers[{name!r}]")
            if arr.shape != (r.shape[0],) or np.any(arr < 0):
                raise InputError(f"multiplier {name!r} must be {r.shape[0]} values >= 0")
            if name == "depth" and np.any(arr <= 0):
                raise InputError("depth multiplier must be > 0")
            mult[name] = arr
        imp = None
        if self.impairment is not None:
            imp = as_float_array(self.impairment, "shocks.impairment", ndim=2)
            if imp.shape != (r.shape[0], days) or np.any((imp < 0) | (imp > 1)):
                raise InputError(f"impairment must be ({r.shape[0]}, {days}) values in [0, 1]")
        return Shocks(r, mult, imp)
