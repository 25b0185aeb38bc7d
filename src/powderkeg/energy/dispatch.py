r"""Hour-by-hour dispatch of a site's power between mining, AI, selling back and idling.

The site description (a YAML file, see ``examples/site.yaml``) gives the capacities, the
supply contract and an hourly profile of power prices (and optionally available MW, e.g.
curtailed renewables). For each hour :math:`t` the linear program chooses mining
:math:`m_t`, AI :math:`a_t` and sold :math:`s_t` MW (idle is the remainder):

.. math::

    \max \sum_t m_t (R_m - k_t) + a_t (R_a - k_t) + s_t (v_t - k_t)

subject to :math:`m_t + a_t + s_t \le A_t`, :math:`0 \le m_t \le \bar m`,
:math:`\underline a \le a_t \le \bar a`, :math:`0 \le s_t \le \bar s` and, optionally,
:math:`|a_t - a_{t-1}| \le \rho` (AI ramp limit). :math:`R_m, R_a` are the revenues per MWh
of mining and AI (short-run: hardware is sunk), :math:`k_t` the marginal cost of energy and
:math:`v_t` the value of energy sold back:

* ``supply: spot`` — the site buys at the hourly price: :math:`k_t = p_t`; nothing is sold;
* ``supply: ppa`` — energy from a fixed-price contract at :math:`c`: :math:`k_t = c`
  (or 0 with ``take_or_pay: true``, where :math:`c A_t` is paid whatever the use) and
  unused contract energy is sold back (demand response) at :math:`v_t = p_t - f`.

Solved with HiGHS (``scipy.optimize.linprog(method="highs")``).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from powderkeg.exceptions import DataFileError, InputError
from powderkeg.results import Provenance, Result, Summary, Table

USES = ("mining", "ai", "sell")


class ProfileHour(BaseModel):
    """One hour of the profile: the power price and optionally the available MW."""

    model_config = ConfigDict(extra="forbid")

    price: float
    available_mw: float | None = Field(default=None, ge=0)


class SiteSpec(BaseModel):
    """A site: capacities (MW), supply contract, revenue overrides and the hourly profile."""

    model_config = ConfigDict(extra="forbid")

    name: str = "site"
    capacity_mw: float = Field(gt=0)
    supply: Literal["spot", "ppa"] = "spot"
    ppa_price_usd_mwh: float | None = None
    take_or_pay: bool = False
    sell_fee_usd_mwh: float = Field(default=0.0, ge=0)
    export_mw: float = Field(default=0.0, ge=0)
    mining_mw: float = Field(ge=0)
    ai_mw: float = Field(default=0.0, ge=0)
    ai_min_mw: float = Field(default=0.0, ge=0)
    ai_ramp_mw_per_h: float | None = Field(default=None, gt=0)
    mining_revenue_usd_mwh: float | None = None
    ai_revenue_usd_mwh: float | None = None
    start: str | None = None
    params: dict[str, Any] | None = None
    profile: str | list[float | ProfileHour]

    @model_validator(mode="after")
    def _consistent(self) -> SiteSpec:
        if self.ai_min_mw > self.ai_mw:
            raise ValueError(f"ai_min_mw ({self.ai_min_mw}) exceeds ai_mw ({self.ai_mw})")
        if self.supply == "ppa" and self.ppa_price_usd_mwh is None:
            raise ValueError("supply 'ppa' needs ppa_price_usd_mwh")
        if self.supply == "spot" and self.export_mw > 0:
            raise ValueError("export_mw needs supply 'ppa' (a spot buyer has nothing to sell)")
        if self.supply == "spot" and self.take_or_pay:
            raise ValueError("take_or_pay applies to supply 'ppa' only")
        return self


_UNION_TAGS = {"str", "float", "int", "ProfileHour"}


def _format_validation(exc: ValidationError, origin: str) -> InputError:
    """Turn a pydantic error into one message naming the file and the key.

    Unknown keys are reported first; union branches (``str``, ``float``...) are dropped from
    the key path and the most specific (deepest) error is kept.
    """
    errors = exc.errors()
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    err = extra[0] if extra else max(errors, key=lambda e: len(e["loc"]))
    parts = [str(p) for p in err["loc"] if str(p) not in _UNION_TAGS and "[" not in str(p)]
    loc = ".".join(parts)
    if err["type"] == "extra_forbidden":
        return InputError(f"{origin}: unknown key '{loc}'")
    where = f"key '{loc}': " if loc else ""
    return InputError(f"{origin}: {where}{err['msg']}")


def read_site(path: str | Path) -> tuple[SiteSpec, pd.DataFrame]:
    """Read a site YAML file and its profile; return the spec and the hourly profile frame.

    The profile frame has columns ``price`` and ``available_mw`` (the site capacity where not
    given) and an hourly ``DatetimeIndex`` from ``start`` (default 2025-01-01 00:00).
    """
    from powderkeg.energy.params import read_yaml_file

    p = Path(path)
    raw = read_yaml_file(p)
    if not isinstance(raw, Mapping):
        raise InputError(f"{p}: a site file must be a mapping of keys")
    try:
        spec = SiteSpec.model_validate(raw)
    except ValidationError as exc:
        raise _format_validation(exc, str(p)) from None
    if isinstance(spec.profile, str):
        csv_path = Path(spec.profile)
        if not csv_path.is_absolute():
            csv_path = p.parent / csv_path
        prices, avail = read_profile_csv(csv_path)
    else:
        prices, avail = [], []
        for item in spec.profile:
            if isinstance(item, ProfileHour):
                prices.append(item.price)
                avail.append(item.available_mw)
            else:
                prices.append(float(item))
                avail.append(None)
    return spec, profile_frame(spec, prices, avail, origin=str(p))


def read_profile_csv(path: Path) -> tuple[list[float], list[float | None]]:
    """Read an hourly profile CSV with a ``price`` column and optional ``available_mw``."""
    if not path.is_file():
        raise InputError(f"{path}: profile file not found")
    prices: list[float] = []
    avail: list[float | None] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        if "price" not in cols:
            raise DataFileError(str(path), 1, f"needs a 'price' column, found {cols}")
        for line, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            try:
                prices.append(float(row["price"]))
                a = row.get("available_mw", "")
                avail.append(float(a) if a else None)
            except ValueError:
                raise DataFileError(str(path), line, f"not a number in {row}") from None
    return prices, avail


def profile_frame(
    spec: SiteSpec, prices: list[float], avail: list[float | None], origin: str = "profile"
) -> pd.DataFrame:
    """Build the hourly profile frame; check finiteness and that the AI minimum fits."""
    if not prices:
        raise InputError(f"{origin}: the profile has no hours")
    price = np.asarray(prices, dtype=np.float64)
    available = np.array(
        [spec.capacity_mw if a is None else min(float(a), spec.capacity_mw) for a in avail],
        dtype=np.float64,
    )
    if not np.all(np.isfinite(price)) or not np.all(np.isfinite(available)):
        raise InputError(f"{origin}: the profile has missing or infinite values")
    short = np.flatnonzero(available < spec.ai_min_mw - 1e-9)
    if short.size:
        hours = ", ".join(str(int(h)) for h in short[:5])
        raise InputError(
            f"{origin}: available power is below ai_min_mw ({spec.ai_min_mw} MW) in hour(s) "
            f"{hours}; the committed AI load cannot be served"
        )
    start = pd.Timestamp(spec.start) if spec.start else pd.Timestamp("2025-01-01")
    idx = pd.date_range(start, periods=len(price), freq="h", name="hour")
    return pd.DataFrame({"price": price, "available_mw": available}, index=idx)


def unit_values(
    spec: SiteSpec, price: np.ndarray, mining_rev: float, ai_rev: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-MWh net value of mining, AI and selling each hour, and the fixed cost per hour.

    Returns ``(mining, ai, sell, fixed)`` arrays; see the module docstring.
    """
    t = price.shape[0]
    if spec.supply == "spot":
        k = price
        sell = np.full(t, -np.inf)
    else:
        c = float(spec.ppa_price_usd_mwh or 0.0)
        k = np.zeros(t) if spec.take_or_pay else np.full(t, c)
        sell = price - spec.sell_fee_usd_mwh - k
    return mining_rev - k, ai_rev - k, sell, np.zeros(t)


def _fixed_cost(spec: SiteSpec, available: np.ndarray) -> np.ndarray:
    if spec.supply == "ppa" and spec.take_or_pay:
        return float(spec.ppa_price_usd_mwh or 0.0) * available
    return np.zeros_like(available)


def solve_lp(spec: SiteSpec, profile: pd.DataFrame, mining_rev: float, ai_rev: float) -> np.ndarray:
    """Solve the dispatch LP with HiGHS; return an array of shape (hours, 3): m, a, s (MW)."""
    from scipy import sparse
    from scipy.optimize import linprog

    price = profile["price"].to_numpy()
    avail = profile["available_mw"].to_numpy()
    t = price.shape[0]
    vm, va, vs, _ = unit_values(spec, price, mining_rev, ai_rev)
    export = spec.export_mw if spec.supply == "ppa" else 0.0
    vs = np.where(np.isfinite(vs), vs, 0.0)
    c = -np.concatenate([vm, va, vs])
    eye = sparse.identity(t, format="csr")
    blocks = [sparse.hstack([eye, eye, eye], format="csr")]
    rhs = [avail]
    if spec.ai_ramp_mw_per_h is not None and t > 1:
        diff = sparse.diags([-np.ones(t - 1), np.ones(t - 1)], [0, 1], shape=(t - 1, t))
        zero = sparse.csr_matrix((t - 1, t))
        blocks.append(sparse.hstack([zero, diff, zero], format="csr"))
        blocks.append(sparse.hstack([zero, -diff, zero], format="csr"))
        rhs += [np.full(t - 1, spec.ai_ramp_mw_per_h)] * 2
    a_ub = sparse.vstack(blocks, format="csr")
    b_ub = np.concatenate(rhs)
    bounds = [(0.0, spec.mining_mw)] * t + [(spec.ai_min_mw, spec.ai_mw)] * t + [(0.0, export)] * t
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if res.status != 0:
        from powderkeg.exceptions import PowderkegError

        raise PowderkegError(f"dispatch LP failed: {res.message}")
    x = np.asarray(res.x, dtype=np.float64).reshape(3, t).T
    return np.clip(x, 0.0, None)


def greedy_allocation(
    spec: SiteSpec, profile: pd.DataFrame, mining_rev: float, ai_rev: float
) -> np.ndarray:
    """The greedy rule: hour by hour, serve the AI floor, then fill uses by net value per MWh.

    The AI floor is the committed minimum or, with a ramp limit, the previous hour's AI load
    less the ramp (and the ceiling the previous load plus the ramp), so the rule respects the
    ramp whenever the available power allows. Returns an array (hours, 3): m, a, s (MW).
    """
    price = profile["price"].to_numpy()
    avail = profile["available_mw"].to_numpy()
    vm, va, vs, _ = unit_values(spec, price, mining_rev, ai_rev)
    export = spec.export_mw if spec.supply == "ppa" else 0.0
    ramp = spec.ai_ramp_mw_per_h
    out = np.zeros((price.shape[0], 3))
    prev: float | None = None
    for t in range(price.shape[0]):
        lo, hi = spec.ai_min_mw, spec.ai_mw
        if ramp is not None and prev is not None:
            lo, hi = max(lo, prev - ramp), min(hi, prev + ramp)
        lo = min(lo, avail[t])
        out[t, 1] = lo
        left = avail[t] - lo
        caps = {0: spec.mining_mw, 1: max(hi - lo, 0.0), 2: export}
        vals = {0: vm[t], 1: va[t], 2: vs[t]}
        for j in sorted(vals, key=lambda j: -vals[j]):
            if vals[j] <= 0 or left <= 0:
                break
            take = min(caps[j], left)
            out[t, j] += take
            left -= take
        prev = out[t, 1]
    return out


def allocation_value(
    spec: SiteSpec, profile: pd.DataFrame, x: np.ndarray, mining_rev: float, ai_rev: float
) -> float:
    """Net value (USD) of an allocation ``x`` (hours, 3), including any take-or-pay cost."""
    price = profile["price"].to_numpy()
    vm, va, vs, _ = unit_values(spec, price, mining_rev, ai_rev)
    vs = np.where(np.isfinite(vs), vs, 0.0)
    fixed = _fixed_cost(spec, profile["available_mw"].to_numpy())
    return float(np.sum(x[:, 0] * vm + x[:, 1] * va + x[:, 2] * vs) - np.sum(fixed))


class DispatchResult(Result):
    """Optimal hourly allocation of a site's power, with revenue by use.

    Attributes
    ----------
    site : SiteSpec
    allocation : DataFrame
        Hourly ``price``, ``available_mw``, ``mining_mw``, ``ai_mw``, ``sell_mw``,
        ``idle_mw`` and the net value of the hour (``value_usd``).
    mining_revenue_usd_mwh, ai_revenue_usd_mwh : float
        Revenue per MWh used by the optimiser.
    revenue : dict
        ``mining``, ``ai``, ``sell`` gross revenues, ``energy_cost``, ``fixed_cost``, ``net``.
    greedy_net : float
        Net value of the greedy rule on the same profile (a baseline).
    mine_only_net : float
        Net value of mining whenever its margin is positive (AI at its minimum, nothing sold).
    """

    def __init__(
        self,
        site: SiteSpec,
        allocation: pd.DataFrame,
        mining_rev: float,
        ai_rev: float,
        revenue: dict[str, float],
        greedy_net: float,
        mine_only_net: float,
        notes: list[str],
        provenance: Provenance,
    ) -> None:
        self.site = site
        self.allocation = allocation
        self.mining_revenue_usd_mwh = mining_rev
        self.ai_revenue_usd_mwh = ai_rev
        self.revenue = revenue
        self.greedy_net = greedy_net
        self.mine_only_net = mine_only_net
        self.notes = notes
        self.provenance = provenance

    def _payload(self) -> dict[str, Any]:
        site = self.site.model_dump(exclude={"profile", "params"})
        return {
            "site": site,
            "hours": len(self.allocation),
            "mining_revenue_usd_mwh": self.mining_revenue_usd_mwh,
            "ai_revenue_usd_mwh": self.ai_revenue_usd_mwh,
            "revenue": self.revenue,
            "net_usd": self.revenue["net"],
            "greedy_net_usd": self.greedy_net,
            "mine_only_net_usd": self.mine_only_net,
            "energy_mwh": {
                use: float(self.allocation[f"{use}_mw"].sum()) for use in (*USES, "idle")
            },
            "allocation": self.allocation,
            "notes": self.notes,
        }

    def to_frame(self) -> pd.DataFrame:
        """The hourly allocation."""
        return self.allocation.copy()

    def summary(self) -> Summary:
        """Revenue by use, energy by use and the comparison with simple rules."""
        alloc = self.allocation
        facts: list[tuple[str, Any]] = [
            ("site", self.site.name),
            ("hours", len(alloc)),
            ("supply", self.site.supply + (" (take-or-pay)" if self.site.take_or_pay else "")),
            ("mining revenue (USD/MWh)", self.mining_revenue_usd_mwh),
            ("AI revenue (USD/MWh)", self.ai_revenue_usd_mwh),
            ("net value, optimal (USD)", self.revenue["net"]),
            ("net value, greedy rule (USD)", self.greedy_net),
            ("net value, mine-only rule (USD)", self.mine_only_net),
        ]
        rows = [
            ["mining", float(alloc["mining_mw"].sum()), self.revenue["mining"]],
            ["ai", float(alloc["ai_mw"].sum()), self.revenue["ai"]],
            ["sell back", float(alloc["sell_mw"].sum()), self.revenue["sell"]],
            ["idle", float(alloc["idle_mw"].sum()), 0.0],
            ["energy cost", float("nan"), -self.revenue["energy_cost"]],
            ["fixed (take-or-pay)", float("nan"), -self.revenue["fixed_cost"]],
            ["net", float("nan"), self.revenue["net"]],
        ]
        table = Table("Revenue by use", ["use", "MWh", "USD"], rows)
        return Summary(f"Site dispatch: {self.site.name}", facts, [table], list(self.notes))

    def plot(self) -> Any:
        """Stacked hourly allocation (MW) with the power price on a second axis."""
        import plotly.graph_objects as go

        alloc = self.allocation
        fig = go.Figure()
        colours = {"mining": "#f08c00", "ai": "#1c7ed6", "sell": "#2f9e44", "idle": "#ced4da"}
        labels = {"mining": "Mining", "ai": "AI", "sell": "Sold back", "idle": "Idle"}
        for use in (*USES, "idle"):
            fig.add_trace(
                go.Scatter(
                    x=alloc.index,
                    y=alloc[f"{use}_mw"].to_numpy(),
                    name=labels[use],
                    stackgroup="mw",
                    mode="lines",
                    line={"width": 0.5, "shape": "hv", "color": colours[use]},
                )
            )
        fig.add_trace(
            go.Scatter(
                x=alloc.index,
                y=alloc["price"].to_numpy(),
                name="Power price (USD/MWh)",
                yaxis="y2",
                mode="lines",
                line={"color": "#c92a2a", "shape": "hv"},
            )
        )
        fig.update_layout(
            title=f"Dispatch of {self.site.name}",
            template="plotly_white",
            height=380,
            yaxis={"title": "MW"},
            yaxis2={"title": "USD/MWh", "overlaying": "y", "side": "right"},
            margin={"l": 50, "r": 60, "t": 50, "b": 40},
            legend={"orientation": "h"},
        )
        return fig


def dispatch(
    spec: SiteSpec,
    profile: pd.DataFrame,
    mining_revenue_usd_mwh: float,
    ai_revenue_usd_mwh: float,
    *,
    notes: list[str] | None = None,
    provenance: Provenance | None = None,
) -> DispatchResult:
    """Solve the site's dispatch and report revenue by use.

    Parameters
    ----------
    spec : SiteSpec
    profile : DataFrame
        From :func:`read_site` / :func:`profile_frame`.
    mining_revenue_usd_mwh, ai_revenue_usd_mwh : float
        Revenue per MWh of each use (spec overrides win when set).
    """
    rm = (
        spec.mining_revenue_usd_mwh
        if spec.mining_revenue_usd_mwh is not None
        else (mining_revenue_usd_mwh)
    )
    ra = spec.ai_revenue_usd_mwh if spec.ai_revenue_usd_mwh is not None else ai_revenue_usd_mwh
    x = solve_lp(spec, profile, rm, ra)
    price = profile["price"].to_numpy()
    avail = profile["available_mw"].to_numpy()
    vm, va, vs, _ = unit_values(spec, price, rm, ra)
    k = rm - vm  # marginal energy cost per MWh consumed
    fixed = _fixed_cost(spec, avail)
    sell_price = price - spec.sell_fee_usd_mwh
    alloc = profile.copy()
    alloc["mining_mw"] = x[:, 0]
    alloc["ai_mw"] = x[:, 1]
    alloc["sell_mw"] = x[:, 2]
    alloc["idle_mw"] = np.clip(avail - x.sum(axis=1), 0.0, None)
    alloc["value_usd"] = (
        x[:, 0] * vm + x[:, 1] * va + x[:, 2] * np.where(np.isfinite(vs), vs, 0.0) - fixed
    )
    revenue = {
        "mining": float(np.sum(x[:, 0] * rm)),
        "ai": float(np.sum(x[:, 1] * ra)),
        "sell": float(np.sum(x[:, 2] * sell_price)),
        "energy_cost": float(np.sum(x.sum(axis=1) * k)),
        "fixed_cost": float(np.sum(fixed)),
    }
    revenue["net"] = (
        revenue["mining"]
        + revenue["ai"]
        + revenue["sell"]
        - revenue["energy_cost"]
        - revenue["fixed_cost"]
    )
    greedy = allocation_value(spec, profile, greedy_allocation(spec, profile, rm, ra), rm, ra)
    mine_only = np.zeros_like(x)
    mine_only[:, 1] = spec.ai_min_mw
    mine_only[:, 0] = np.where(vm > 0, np.minimum(spec.mining_mw, avail - spec.ai_min_mw), 0.0)
    out_notes = list(notes or [])
    out_notes.append(
        "Short-run dispatch: revenues per MWh exclude hardware depreciation (sunk for the "
        "hour); solved as one linear program with HiGHS."
    )
    return DispatchResult(
        spec,
        alloc,
        rm,
        ra,
        revenue,
        greedy,
        allocation_value(spec, profile, mine_only, rm, ra),
        out_notes,
        provenance if provenance is not None else Provenance(),
    )
