r"""GPU lease and tokenised-compute valuation: expected cash flows, NPV, IRR and duration.

The lessor (or the holder of compute tokens) pays ``price`` at month 0 for the net cash flows
of a lease of :math:`T` months. In month :math:`t` the scheduled net cash flow is
:math:`R_t u_t - C` (rent at full use times utilisation, less the lessor's operating cost).
The lessee defaults with a constant monthly hazard :math:`h` (from an annual probability
:math:`q` as :math:`h = 1 - (1-q)^{1/12}`), so it survives month :math:`t` with probability
:math:`S_t = (1-h)^t`. On default in month :math:`t` (before that month's payment) the lessor
recovers a share :math:`\delta` of the remaining scheduled rent
:math:`\sum_{j \ge t} R_j u_j`, paid in month :math:`t`. The lessor owns the hardware and
receives its residual value :math:`V` at month :math:`T` in every state. Expected cash flow:

.. math::

    E[CF_t] = S_t (R_t u_t - C) + (S_{t-1} - S_t)\,\delta \sum_{j=t}^{T} R_j u_j
              + \mathbb{1}[t = T]\, V.

With the annual discount rate :math:`r` compounded monthly, :math:`r_m = (1+r)^{1/12} - 1`:

* NPV :math:`= -\text{price} + \sum_t E[CF_t] (1+r_m)^{-t}`;
* IRR: the monthly :math:`y_m` solving :math:`\sum_{t\ge0} CF_t (1+y_m)^{-t} = 0`
  (:math:`CF_0 = -\text{price}`), reported annualised as :math:`(1+y_m)^{12} - 1`;
* Macaulay duration (years) :math:`D = \sum_t (t/12) PV_t / \sum_t PV_t` with
  :math:`PV_t = E[CF_t](1+r_m)^{-t}`; modified duration :math:`D / (1 + r_m)`.

The ``ai-correction`` stress phases in a GPU-rent haircut and a utilisation drop linearly
over ``ramp_months``, raises the default probability, lowers recovery and cuts the residual.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from powderkeg.energy.params import EnergyParams
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table

STRESSES = ("ai-correction",)


class LeaseSpec(BaseModel):
    """A GPU lease (or a tokenised claim on one): the contract and its credit terms."""

    model_config = ConfigDict(extra="forbid")

    name: str = "lease"
    gpus: int | None = Field(default=None, ge=1)
    price_usd: float = Field(gt=0)
    monthly_rent_usd: float = Field(ge=0)
    term_months: int = Field(ge=1, le=600)
    utilisation: float = Field(default=1.0, ge=0, le=1)
    monthly_opex_usd: float = Field(default=0.0, ge=0)
    annual_default_probability: float | None = Field(default=None, ge=0, lt=1)
    monthly_default_hazard: float | None = Field(default=None, ge=0, lt=1)
    recovery_rate: float | None = Field(default=None, ge=0, le=1)
    residual_value_usd: float = Field(default=0.0, ge=0)
    discount_rate: float = Field(gt=-1, le=10)
    params: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_hazard(self) -> LeaseSpec:
        if self.annual_default_probability is not None and self.monthly_default_hazard is not None:
            raise ValueError("give annual_default_probability or monthly_default_hazard, not both")
        return self


def read_lease(path: str | Path) -> LeaseSpec:
    """Read and validate a lease YAML file (unknown keys are rejected, naming the key)."""
    from powderkeg.energy.dispatch import _format_validation
    from powderkeg.energy.params import read_yaml_file

    p = Path(path)
    raw = read_yaml_file(p)
    if not isinstance(raw, Mapping):
        raise InputError(f"{p}: a lease file must be a mapping of keys")
    try:
        return LeaseSpec.model_validate(raw)
    except ValidationError as exc:
        raise _format_validation(exc, str(p)) from None


def monthly_hazard(annual_probability: float) -> float:
    """Constant monthly hazard with the given annual default probability: 1-(1-q)^(1/12)."""
    return 1.0 - (1.0 - float(annual_probability)) ** (1.0 / 12.0)


def monthly_rate(annual_rate: float) -> float:
    """Monthly rate equivalent to an effective annual rate: (1+r)^(1/12)-1."""
    return (1.0 + float(annual_rate)) ** (1.0 / 12.0) - 1.0


def expected_cash_flows(
    rent: np.ndarray,
    utilisation: np.ndarray,
    monthly_opex: float,
    hazard: float,
    recovery: float,
    residual: float,
) -> pd.DataFrame:
    """Expected monthly cash flows (see the module docstring), months 1..T.

    Parameters
    ----------
    rent, utilisation : array of shape (T,)
        Rent at full use and utilisation per month.
    monthly_opex, hazard, recovery, residual : float
    """
    rent = np.asarray(rent, dtype=np.float64)
    util = np.asarray(utilisation, dtype=np.float64)
    n = rent.shape[0]
    t = np.arange(1, n + 1)
    survival = (1.0 - hazard) ** t
    prev = (1.0 - hazard) ** (t - 1)
    billed = rent * util
    remaining = np.cumsum(billed[::-1])[::-1]
    operating = survival * (billed - monthly_opex)
    recovered = (prev - survival) * recovery * remaining
    resid = np.zeros(n)
    resid[-1] = residual
    return pd.DataFrame(
        {
            "month": t,
            "survival": survival,
            "rent": rent,
            "utilisation": util,
            "scheduled_net": billed - monthly_opex,
            "expected_operating": operating,
            "expected_recovery": recovered,
            "residual": resid,
            "expected_cf": operating + recovered + resid,
        }
    ).set_index("month")


def npv(price: float, cash_flows: np.ndarray, annual_rate: float) -> float:
    """NPV of ``-price`` now and monthly ``cash_flows`` (months 1..T) at an annual rate."""
    rm = monthly_rate(annual_rate)
    t = np.arange(1, len(cash_flows) + 1)
    return float(-price + np.sum(np.asarray(cash_flows) / (1.0 + rm) ** t))


def irr(price: float, cash_flows: np.ndarray) -> float:
    """Annualised IRR of ``-price`` now and monthly ``cash_flows``; NaN if none is bracketed."""
    from scipy.optimize import brentq

    flows = np.concatenate([[-float(price)], np.asarray(cash_flows, dtype=np.float64)])
    t = np.arange(flows.shape[0])

    def f(y: float) -> float:
        return float(np.sum(flows / (1.0 + y) ** t))

    lo, hi = -0.99, 1.0
    if f(lo) * f(hi) > 0:
        hi = 10.0
        if f(lo) * f(hi) > 0:
            return float("nan")
    ym = brentq(f, lo, hi, xtol=1e-14, rtol=1e-12, maxiter=500)
    return float((1.0 + ym) ** 12 - 1.0)


def durations(cash_flows: np.ndarray, annual_rate: float) -> tuple[float, float]:
    """Macaulay and modified duration (years) of monthly cash flows at an annual rate."""
    rm = monthly_rate(annual_rate)
    cf = np.asarray(cash_flows, dtype=np.float64)
    t = np.arange(1, cf.shape[0] + 1)
    pv = cf / (1.0 + rm) ** t
    total = float(np.sum(pv))
    if total <= 0:
        return float("nan"), float("nan")
    mac = float(np.sum(t / 12.0 * pv) / total)
    return mac, mac / (1.0 + rm)


@dataclass(frozen=True)
class LeaseValuation:
    """One valuation of a lease: the cash-flow table and its measures."""

    label: str
    cash_flows: pd.DataFrame
    hazard: float
    recovery: float
    residual: float
    npv: float
    irr: float
    macaulay_years: float
    modified_years: float
    expected_total: float
    loss_given_default_share: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the table)."""
        return {
            "label": self.label,
            "monthly_hazard": self.hazard,
            "recovery_rate": self.recovery,
            "residual_value_usd": self.residual,
            "npv": self.npv,
            "irr": self.irr,
            "macaulay_duration_years": self.macaulay_years,
            "modified_duration_years": self.modified_years,
            "expected_cash_total": self.expected_total,
            "default_probability_over_term": self.loss_given_default_share,
        }


def value_lease(
    spec: LeaseSpec,
    *,
    rent_multiplier: np.ndarray | None = None,
    utilisation_multiplier: np.ndarray | None = None,
    hazard: float,
    recovery: float,
    residual: float,
    label: str = "base",
) -> LeaseValuation:
    """Value the lease with optional monthly rent and utilisation multipliers."""
    n = spec.term_months
    rent = np.full(n, spec.monthly_rent_usd)
    util = np.full(n, spec.utilisation)
    if rent_multiplier is not None:
        rent = rent * rent_multiplier
    if utilisation_multiplier is not None:
        util = np.clip(util * utilisation_multiplier, 0.0, 1.0)
    table = expected_cash_flows(rent, util, spec.monthly_opex_usd, hazard, recovery, residual)
    cf = table["expected_cf"].to_numpy()
    mac, mod = durations(cf, spec.discount_rate)
    return LeaseValuation(
        label=label,
        cash_flows=table,
        hazard=hazard,
        recovery=recovery,
        residual=residual,
        npv=npv(spec.price_usd, cf, spec.discount_rate),
        irr=irr(spec.price_usd, cf),
        macaulay_years=mac,
        modified_years=mod,
        expected_total=float(cf.sum()),
        loss_given_default_share=float(1.0 - (1.0 - hazard) ** n),
    )


def ai_correction_paths(term_months: int, stress: Mapping[str, float]) -> dict[str, Any]:
    r"""Monthly multipliers of the ai-correction stress.

    The haircut :math:`H` and the utilisation drop :math:`U` phase in linearly:
    rent multiplier :math:`1 - H \min(t/M, 1)`, utilisation multiplier
    :math:`1 - U \min(t/M, 1)` for ramp :math:`M` months.
    """
    t = np.arange(1, term_months + 1)
    phase = np.minimum(t / float(stress["ramp_months"]), 1.0)
    return {
        "rent_multiplier": 1.0 - float(stress["gpu_rent_haircut"]) * phase,
        "utilisation_multiplier": 1.0 - float(stress["utilisation_drop"]) * phase,
        "hazard": monthly_hazard(float(stress["annual_default_probability"])),
        "recovery": float(stress["recovery_rate"]),
        "residual_multiplier": 1.0 - float(stress["residual_haircut"]),
    }


class LeaseResult(Result):
    """Lease valuation, base and (optionally) stressed.

    Attributes
    ----------
    spec : LeaseSpec
    base : LeaseValuation
    stressed : LeaseValuation or None
    stress : str or None
        The stress name (``"ai-correction"``).
    """

    def __init__(
        self,
        spec: LeaseSpec,
        base: LeaseValuation,
        stressed: LeaseValuation | None,
        stress: str | None,
        stress_params: dict[str, Any],
        notes: list[str],
        provenance: Provenance,
    ) -> None:
        self.spec = spec
        self.base = base
        self.stressed = stressed
        self.stress = stress
        self.stress_params = stress_params
        self.notes = notes
        self.provenance = provenance

    def _payload(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "lease": self.spec.model_dump(exclude={"params"}),
            "npv": self.base.npv,
            "irr": self.base.irr,
            "macaulay_duration_years": self.base.macaulay_years,
            "modified_duration_years": self.base.modified_years,
            "base": self.base.to_dict(),
            "stress": self.stress,
            "stressed": self.stressed.to_dict() if self.stressed is not None else None,
            "stress_parameters": self.stress_params,
            "cash_flows": self.to_frame(),
            "notes": self.notes,
        }
        return out

    def to_frame(self) -> pd.DataFrame:
        """Monthly expected cash flows (base, and stressed when run)."""
        frame = self.base.cash_flows[["survival", "expected_cf"]].rename(
            columns={"survival": "survival_base", "expected_cf": "cf_base"}
        )
        if self.stressed is not None:
            frame["survival_stressed"] = self.stressed.cash_flows["survival"]
            frame["rent_stressed"] = self.stressed.cash_flows["rent"]
            frame["cf_stressed"] = self.stressed.cash_flows["expected_cf"]
        return frame

    def summary(self) -> Summary:
        """NPV, IRR and durations side by side."""
        vals = [self.base] + ([self.stressed] if self.stressed is not None else [])
        cols = ["measure", *[v.label for v in vals]]
        rows = [
            ["NPV (USD)", *[v.npv for v in vals]],
            ["IRR (annual)", *[v.irr for v in vals]],
            ["Macaulay duration (years)", *[v.macaulay_years for v in vals]],
            ["modified duration (years)", *[v.modified_years for v in vals]],
            ["expected cash, undiscounted (USD)", *[v.expected_total for v in vals]],
            ["monthly default hazard", *[v.hazard for v in vals]],
            ["default probability over term", *[v.loss_given_default_share for v in vals]],
            ["recovery rate", *[v.recovery for v in vals]],
        ]
        facts: list[tuple[str, Any]] = [
            ("lease", self.spec.name),
            ("price (USD)", self.spec.price_usd),
            ("monthly rent at full use (USD)", self.spec.monthly_rent_usd),
            ("term (months)", self.spec.term_months),
            ("utilisation", self.spec.utilisation),
            ("discount rate (annual)", self.spec.discount_rate),
        ]
        return Summary(
            f"GPU lease valuation: {self.spec.name}",
            facts,
            [Table("Valuation", cols, rows)],
            list(self.notes),
        )

    def plot(self) -> Any:
        """Expected monthly cash flows, base and stressed."""
        import plotly.graph_objects as go

        frame = self.to_frame()
        fig = go.Figure()
        fig.add_trace(go.Bar(x=frame.index, y=frame["cf_base"], name="base"))
        if "cf_stressed" in frame:
            fig.add_trace(go.Bar(x=frame.index, y=frame["cf_stressed"], name=str(self.stress)))
        fig.update_layout(
            title=f"Expected monthly cash flows: {self.spec.name}",
            template="plotly_white",
            barmode="group",
            xaxis_title="month",
            yaxis_title="USD",
            height=340,
            margin={"l": 60, "r": 20, "t": 50, "b": 40},
            legend={"orientation": "h"},
        )
        return fig


def value_with_stress(
    spec: LeaseSpec,
    params: EnergyParams,
    stress: str | None = None,
    provenance: Provenance | None = None,
) -> LeaseResult:
    """Value a lease at base terms and, when ``stress`` is given, under that stress.

    Missing credit terms come from ``params`` (section ``lease``), the stress parameters from
    section ``stress_ai_correction``; both are overridable by the lease file's ``params``.
    """
    from powderkeg._validation import check_option

    if spec.params:
        params = params.override(spec.params, f"lease '{spec.name}' params")
    lease_defaults = params.values("lease")
    notes: list[str] = []
    if spec.monthly_default_hazard is not None:
        hazard = spec.monthly_default_hazard
    else:
        q = spec.annual_default_probability
        if q is None:
            q = lease_defaults["annual_default_probability"]
            notes.append(
                f"Annual default probability {q:.1%} from defaults "
                f"({params.sections['lease']['annual_default_probability'].source})."
            )
        hazard = monthly_hazard(q)
    recovery = spec.recovery_rate
    if recovery is None:
        recovery = lease_defaults["recovery_rate"]
        notes.append(f"Recovery rate {recovery:.0%} from defaults.")
    base = value_lease(
        spec, hazard=hazard, recovery=recovery, residual=spec.residual_value_usd, label="base"
    )
    stressed = None
    stress_params: dict[str, Any] = {}
    if stress is not None:
        check_option(stress, "--stress", STRESSES)
        values = params.values("stress_ai_correction")
        paths = ai_correction_paths(spec.term_months, values)
        stressed = value_lease(
            spec,
            rent_multiplier=paths["rent_multiplier"],
            utilisation_multiplier=paths["utilisation_multiplier"],
            hazard=max(paths["hazard"], hazard),
            recovery=min(paths["recovery"], recovery),
            residual=spec.residual_value_usd * paths["residual_multiplier"],
            label=stress,
        )
        stress_params = {
            k: {"value": p.value, "unit": p.unit, "source": p.source, "date": p.date}
            for k, p in params.sections["stress_ai_correction"].items()
        }
        notes.append(
            "ai-correction stress from powderkeg's own documented parameters (GPU rent haircut "
            f"{values['gpu_rent_haircut']:.0%} and utilisation drop "
            f"{values['utilisation_drop']:.0%} phased in over {values['ramp_months']:g} months, "
            f"annual default probability {values['annual_default_probability']:.0%}, recovery "
            f"{values['recovery_rate']:.0%}, residual haircut {values['residual_haircut']:.0%})."
        )
    notes.append(
        "Expected cash flows under a constant monthly default hazard; recovery is a share of "
        "the remaining scheduled rent at default; the residual is received at term in every "
        "state. Duration at the valuation discount rate."
    )
    prov = provenance if provenance is not None else Provenance()
    prov.parameters.update({"stress": stress, "lease": spec.name})
    return LeaseResult(spec, base, stressed, stress, stress_params, notes, prov)
