"""The model's free parameters that matter most, as multipliers on a scenario's figures.

Four multipliers (1 = the scenario's sourced priors) are fitted to history by
:mod:`.calibration`:

``price_impact``
    divides every asset's market depth ``D_k`` (model-spec §1.4: the constant ``c`` of
    ``D = c·ADV·√τ/σ`` is uncertain, 0.3–1.0 [R]); 2 means twice the impact per dollar sold;
``fund_redemptions``
    scales funds' redemption sensitivity to NAV losses (``redemptions.nav``, §3.3.3);
``stablecoin_runs``
    scales stablecoin holders' withdrawal sensitivities: to BTC falls (``btc``, ρ_cr), below
    the break-the-buck threshold (``depeg``, ρ_thr) and to a coverage shortfall
    (``impairment``, ρ_imp; §4.3);
``liquidity_response``
    scales how strongly BTC responds to central-bank liquidity once policy acts (``eta``,
    ``delta`` and ``gamma_sc`` of the two-phase block, §6.1): the "second wave".

:func:`apply` returns the scenario with its figures scaled (values and ranges, clipped to the
schema's bounds), so every engine, the cache key and the provenance see the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from powderkeg.contagion.scenario_spec import Figure, Scenario
from powderkeg.exceptions import InputError

#: Model-spec §4.3 default of ρ_imp (daily redemptions per unit of coverage shortfall).
RHO_IMPAIRMENT = 0.35


@dataclass(frozen=True)
class Multipliers:
    """Multipliers of the calibrated parameters (1 = priors); see the module doc."""

    price_impact: float = 1.0
    fund_redemptions: float = 1.0
    stablecoin_runs: float = 1.0
    liquidity_response: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, (int, float)) and 1e-3 <= v <= 1e3):
                raise InputError(
                    f"multiplier {f.name} must be a number in [0.001, 1000], got {v!r}"
                )

    @classmethod
    def names(cls) -> list[str]:
        """The parameters, in order."""
        return [f.name for f in fields(cls)]

    def to_dict(self) -> dict[str, float]:
        """The multipliers as a plain dict."""
        return {k: float(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Multipliers:
        """Multipliers from a mapping (unknown names are an error)."""
        unknown = set(data) - set(cls.names())
        if unknown:
            raise InputError(
                f"unknown calibration parameter(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(cls.names())}"
            )
        return cls(**{k: float(v) for k, v in data.items()})

    def replace(self, **changes: float) -> Multipliers:
        """A copy with some multipliers changed."""
        return Multipliers(**{**self.to_dict(), **changes})


def _scaled(fig: Figure, m: float, lo: float, hi: float, what: str) -> Figure:
    """``fig`` times ``m`` (value and range) clipped to ``[lo, hi]``, the source annotated."""
    if m == 1.0:
        return fig
    out = fig.scaled(m).clipped(lo, hi)
    return out.model_copy(update={"note": f"prior {fig.value:g} x {m:g} ({what})"})


def apply(scn: Scenario, mult: Multipliers) -> Scenario:
    """The scenario with the multipliers applied to its figures (see the module doc)."""
    if mult == Multipliers():
        return scn
    assets = [
        a.model_copy(update={"depth": _scaled(a.depth, 1.0 / mult.price_impact, 1e-6, 1e18,
                                              "price impact")})
        for a in scn.assets
    ]  # fmt: skip
    groups = []
    for g in scn.groups:
        red = g.redemptions
        if red is None:
            groups.append(g)
            continue
        if g.type == "stablecoin_issuer":
            m = mult.stablecoin_runs
            imp = red.impairment or Figure(
                value=RHO_IMPAIRMENT,
                range=(0.5 * RHO_IMPAIRMENT, 2.0 * RHO_IMPAIRMENT),
                grade="A",
                source="model-spec §4.3: ρ_imp 0.35 per unit of coverage shortfall",
            )
            red = red.model_copy(
                update={
                    "btc": _scaled(red.btc, m, 0.0, 20.0, "stablecoin runs"),
                    "depeg": _scaled(red.depeg, m, 0.0, 1.0, "stablecoin runs"),
                    "impairment": _scaled(imp, m, 0.0, 20.0, "stablecoin runs"),
                }
            )
        else:
            red = red.model_copy(
                update={"nav": _scaled(red.nav, mult.fund_redemptions, 0.0, 20.0,
                                       "fund redemptions")}
            )  # fmt: skip
        groups.append(g.model_copy(update={"redemptions": red}))
    m = mult.liquidity_response
    btc = scn.btc.model_copy(
        update={
            name: _scaled(getattr(scn.btc, name), m, -20.0, 20.0, "liquidity response")
            for name in ("eta", "delta", "gamma_sc")
        }
    )
    return scn.model_copy(update={"assets": assets, "groups": groups, "btc": btc})
