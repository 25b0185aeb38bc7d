"""Stress scenarios as strictly validated YAML files (model-spec §8 inputs, §0.1 evidence grades).

A scenario names the assets, the institution groups and their balance sheets, the lending links
between groups, the AI-equity shock, the policy reaction and the two-phase BTC parameters.
Every number is a *figure*::

    leverage: {value: 1.9, range: [1.6, 2.3], grade: S, source: "Fed FSR Nov 2025 Table 3.1"}

with a ``source`` and an evidence grade (``V`` verified, ``S`` secondary, ``R`` recalled,
``A`` assumption; model-spec §0.1; and ``C`` calibrated against historical episodes by
``powderkeg stress calibrate``, which also records its ``prior`` and the ``calibrated``
parameter whose multiplier it carries). Figures graded ``R``, ``A`` or ``C`` must carry a
``range`` (they are uncertain by definition and the Monte Carlo draws them within it); the
value must lie inside its range. Unknown keys, missing sources and out-of-range values are
rejected with an :class:`~powderkeg.exceptions.InputError` naming the file and the key path
(``ai-correction.yaml: groups.0.leverage.range: ...``).

Built-in scenarios ship as package data in ``powderkeg/contagion/scenarios/*.yaml``; users pass
a path to their own file. :func:`scenario_hash` is a stable digest of the validated content
(independent of key order, comments and formatting) used to key cached runs.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table

Grade = Literal["V", "S", "R", "A", "C"]
AssetKind = Literal["equity", "credit", "treasury", "bill", "crypto", "cash"]
GroupType = Literal[
    "bank",
    "broker_dealer",
    "hedge_fund",
    "private_credit",
    "asset_manager",
    "insurer",
    "stablecoin_issuer",
    "ai_issuer",
]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]

#: Schema version written into the hash (bump when the meaning of a field changes).
SCHEMA_VERSION = 2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Figure(_Strict):
    """One number with its provenance: value, optional range, evidence grade and source."""

    value: float
    range: tuple[float, float] | None = None
    grade: Grade
    source: Annotated[str, Field(min_length=3)]
    unit: str | None = None
    note: str | None = None
    prior: float | None = None
    calibrated: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Figure:
        if not math.isfinite(self.value):
            raise ValueError("value must be finite")
        if self.range is not None:
            lo, hi = self.range
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
                raise ValueError(f"range must be [low, high] with low <= high, got [{lo}, {hi}]")
            if not lo <= self.value <= hi:
                raise ValueError(f"value {self.value} lies outside its range [{lo}, {hi}]")
        elif self.grade in ("R", "A", "C"):
            raise ValueError(
                f"a figure graded {self.grade} (model-spec §0.1) must give a range to draw from"
            )
        given = (self.prior is not None, self.calibrated is not None)
        if self.grade == "C" and not all(given):
            raise ValueError(
                "a calibrated figure (grade C) gives its prior and the calibrated parameter"
            )
        if self.grade != "C" and any(given):
            raise ValueError(
                "only a calibrated figure (grade C) has a prior and a calibrated parameter"
            )
        return self

    @property
    def low(self) -> float:
        """Lower end of the range (the value when there is none)."""
        return self.range[0] if self.range else self.value

    @property
    def high(self) -> float:
        """Upper end of the range (the value when there is none)."""
        return self.range[1] if self.range else self.value

    def scaled(self, factor: float) -> Figure:
        """The same figure with value and range multiplied by ``factor`` (for sensitivities)."""
        rng = None if self.range is None else tuple(sorted(x * factor for x in self.range))
        return self.model_copy(update={"value": self.value * factor, "range": rng})

    def clipped(self, lo: float, hi: float) -> Figure:
        """The same figure with value and range clipped to ``[lo, hi]`` (a schema's bounds)."""
        value = min(max(self.value, lo), hi)
        rng = None if self.range is None else tuple(min(max(x, lo), hi) for x in self.range)
        return self.model_copy(update={"value": value, "range": rng})


def _bounds(lo: float, hi: float) -> AfterValidator:
    def check(fig: Figure) -> Figure:
        if fig.low < lo or fig.high > hi:
            raise ValueError(f"must lie in [{lo:g}, {hi:g}], got [{fig.low:g}, {fig.high:g}]")
        return fig

    return AfterValidator(check)


# Figures restricted to a domain (errors name the exact key path).
Money = Annotated[Figure, _bounds(1e-6, 1e9)]
Depth = Annotated[Figure, _bounds(1e-6, 1e18)]
MoneyOrZero = Annotated[Figure, _bounds(0.0, 1e9)]
Fraction = Annotated[Figure, _bounds(0.0, 1.0)]
DepthMultiplier = Annotated[Figure, _bounds(0.01, 1.0)]
PolicyMultiplier = Annotated[Figure, _bounds(0.01, 100.0)]
Leverage = Annotated[Figure, _bounds(1.0, 1000.0)]
DailyVol = Annotated[Figure, _bounds(0.0, 0.5)]
DailyDrift = Annotated[Figure, _bounds(-0.1, 0.1)]
Loading = Annotated[Figure, _bounds(-20.0, 20.0)]
Days = Annotated[Figure, _bounds(1.0, 3650.0)]
Sensitivity = Annotated[Figure, _bounds(0.0, 20.0)]
Drawdown = Annotated[Figure, _bounds(0.0, 0.95)]
Trigger = Annotated[Figure, _bounds(1e-4, 0.99)]
LiquidityDrift = Annotated[Figure, _bounds(-0.05, 0.05)]
JumpMean = Annotated[Figure, _bounds(-0.9, 0.9)]
Chi = Annotated[Figure, _bounds(0.0, 5.0)]
Rate = Annotated[Figure, _bounds(0.0, 0.5)]
HalfLife = Annotated[Figure, _bounds(0.5, 1e12)]


class AssetSpec(_Strict):
    """A tradable asset class: depth, stress behaviour and exogenous return loadings.

    ``depth`` is the market depth D_k in USD bn (§1.4), ``stress_depth`` the multiplier g_k at
    peak stress, ``policy_depth`` the multiplier once policy acts (facilities, §5.4),
    ``ai_beta`` the loading of the asset's exogenous daily log return on the AI factor,
    ``vol`` its idiosyncratic daily volatility, ``recovery_drift`` its daily log drift
    once policy acts and ``impact_half_life`` the half-life in days of fire-sale price impact
    (§1.4 extension: equities 5–20 days, crypto 1–3 days; 1e12 is permanent impact as in
    Cont–Schaanning).
    """

    key: Key
    label: str
    kind: AssetKind
    depth: Depth
    stress_depth: DepthMultiplier
    policy_depth: PolicyMultiplier
    ai_beta: Loading
    vol: DailyVol
    recovery_drift: DailyDrift
    impact_half_life: HalfLife


class RedemptionSpec(_Strict):
    """Daily redemption (run) rates of a fund or stablecoin issuer (§3.3.3, §4.3).

    Fraction of the balance sheet redeemed per day: ``base + nav · max(0, −NAV return) +
    btc · max(0, −BTC return yesterday) + depeg · 1[capital below half its initial value]``,
    capped at 1 (the depeg term stands for the break-the-buck threshold of §4.3: the market
    sees the capital buffer eroding). Redemptions are paid pro rata from marketable holdings
    (sold into the market) and illiquid assets (deposits withdrawn), so equity only moves by
    the price impact. ``impairment`` (stablecoin issuers, agent engine) is ``ρ_imp``, the
    daily redemptions per unit of coverage shortfall ``max(0, 1 − κ)`` (model-spec §4.3;
    0.35 when absent).
    """

    base: Rate
    nav: Sensitivity
    btc: Sensitivity
    depeg: Fraction
    impairment: Sensitivity | None = None


class GroupSpec(_Strict):
    """A group of similar institutions (split into ``count`` members by a Zipf size law).

    Member i of n gets the share ``i^(−size_exponent) / Σ_j j^(−size_exponent)`` of the group's
    assets and leverage ``leverage · (1 + leverage_spread · z_i)`` with z evenly spaced on
    [−1, 1] (capped at 0.97 λ_max so nobody starts in breach).

    ``total_assets`` (USD bn, the group's balance sheet), ``leverage`` (A/E at the start),
    ``max_leverage`` (λ_max, A/E; deleveraging targets 0.95 λ_max, §1.3), ``marketable_share``
    (tradable part of assets; the rest I is illiquid: loans, deposits, private credit),
    ``illiquid_ai_beta`` (daily log revaluation of I per unit AI-factor return), ``portfolio``
    (weights of the marketable part over asset keys, summing to 1) and optional redemptions.
    ``positions: true`` marks leveraged positions on derivative venues rather than
    institutions (crypto leveraged traders): their "defaults" are liquidations and are
    reported apart from institution defaults.
    """

    key: Key
    label: str
    type: GroupType
    count: Annotated[int, Field(ge=1, le=10_000)]
    size_exponent: Annotated[float, Field(ge=0.0, le=3.0)] = 1.0
    leverage_spread: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    total_assets: Money
    leverage: Leverage
    max_leverage: Leverage
    marketable_share: Fraction
    illiquid_ai_beta: Loading
    portfolio: dict[Key, Annotated[float, Field(ge=0.0, le=1.0)]]
    redemptions: RedemptionSpec | None = None
    positions: bool = False

    @model_validator(mode="after")
    def _check(self) -> GroupSpec:
        total = sum(self.portfolio.values())
        if self.portfolio and abs(total - 1.0) > 1e-6:
            raise ValueError(f"portfolio weights must sum to 1, got {total:.6g}")
        if not self.portfolio and self.marketable_share.high > 0:
            raise ValueError("a group with marketable assets needs a portfolio")
        return self


class LendingSpec(_Strict):
    """Loans from one group to another (e.g. bank loans to NBFIs, §2.4).

    The claim is part of the lender's illiquid assets; on the borrower's default the lender
    writes down ``lgd`` of it once (M2, no double counting with M1).
    """

    lender: Key
    borrower: Key
    amount: MoneyOrZero
    lgd: Fraction


class ImpairmentSpec(_Strict):
    """Stablecoin reserves locked at a failed bank (model-spec §4.2–4.3; USDC at SVB, 2023).

    From ``start`` to ``end`` (inclusive) the share ``share`` of every issuer's bank deposits
    is inaccessible: it lowers coverage and cannot pay redemptions, but is not a loss.
    """

    start: str
    end: str
    share: Fraction

    @model_validator(mode="after")
    def _check(self) -> ImpairmentSpec:
        for v in (self.start, self.end):
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
                raise ValueError(f"dates must look like 2023-03-10, got {v!r}")
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class AssetPathSpec(_Strict):
    """An exogenous move of one asset on top of its factor loading (e.g. LUNA in May 2022).

    ``total_return`` is spread evenly in log terms over ``days`` days from ``start``.
    """

    asset: Key
    start: str
    days: Annotated[int, Field(ge=1, le=3650)]
    total_return: Annotated[Figure, _bounds(-0.999999, 10.0)]

    @model_validator(mode="after")
    def _check(self) -> AssetPathSpec:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", self.start):
            raise ValueError(f"start must look like 2022-05-08, got {self.start!r}")
        return self


class ShockSpec(_Strict):
    """The AI-equity correction: cumulative size, duration and daily volatility of the factor.

    ``liquidity_drift`` is the daily Δln L before any policy action (negative = tightening).
    Replays of history add ``impairments`` (stablecoin reserves locked at a failed bank) and
    ``asset_paths`` (exogenous moves of single assets).
    """

    ai_drawdown: Drawdown
    shock_days: Days
    ai_vol: DailyVol
    liquidity_drift: LiquidityDrift
    impairments: list[ImpairmentSpec] = Field(default_factory=list)
    asset_paths: list[AssetPathSpec] = Field(default_factory=list)


class PolicySpec(_Strict):
    """Policy reaction (§5.4): pivot on the AI-factor drawdown, action after a lag, QE.

    A replay of history gives ``action_date``, the day the central bank actually acted: the
    action then starts on that date on every path, whatever the trigger says, and ``qe_size``
    is the net-liquidity injection that followed.
    """

    enabled: bool
    trigger_drawdown: Trigger
    trigger_days: Annotated[int, Field(ge=1, le=365)]
    lag_days: Days
    qe_size: MoneyOrZero
    net_liquidity: Money
    ramp_days: Annotated[int, Field(ge=1, le=3650)]
    ai_recovery_drift: DailyDrift
    action_date: str | None = None

    @field_validator("action_date")
    @classmethod
    def _action_date(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError(f"action_date must look like 2020-03-23, got {v!r}")
        return v


class BtcSpec(_Strict):
    """Two-phase BTC parameters (model-spec §6.3) and the asset that carries them."""

    asset: Key
    survive_threshold: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    beta_s: Loading
    beta_r: Loading
    eta: Loading
    delta: Loading
    chi: Chi
    gamma_sc: Loading
    sigma_s: DailyVol
    sigma_r: DailyVol
    jump_intensity: Fraction
    jump_mean: JumpMean
    jump_sd: Fraction


class Scenario(_Strict):
    """A validated stress scenario."""

    name: Key | Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=60)]
    title: str
    description: str
    start_date: str
    horizon_days: Annotated[int, Field(ge=1, le=3650)]
    execution: Fraction
    rounds_per_day: Annotated[int, Field(ge=1, le=50)] = 3
    references: list[str] = Field(default_factory=list)
    assets: list[AssetSpec]
    groups: list[GroupSpec]
    lending: list[LendingSpec] = Field(default_factory=list)
    shock: ShockSpec
    policy: PolicySpec
    btc: BtcSpec
    inputs: dict[Key, Figure] = Field(default_factory=dict)

    @field_validator("start_date")
    @classmethod
    def _date(cls, v: str) -> str:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            raise ValueError(f"start_date must look like 2025-12-10, got {v!r}")
        return v

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        if not self.assets:
            raise ValueError("a scenario needs at least one asset")
        if not self.groups:
            raise ValueError("a scenario needs at least one institution group")
        akeys = [a.key for a in self.assets]
        gkeys = [g.key for g in self.groups]
        for what, keys in (("asset", akeys), ("group", gkeys)):
            dup = {k for k in keys if keys.count(k) > 1}
            if dup:
                raise ValueError(f"duplicate {what} key(s): {', '.join(sorted(dup))}")
        for i, g in enumerate(self.groups):
            bad = sorted(set(g.portfolio) - set(akeys))
            if bad:
                raise ValueError(
                    f"groups.{i}.portfolio: unknown asset(s) {', '.join(bad)} "
                    f"(assets: {', '.join(akeys)})"
                )
        by_key = {g.key: g for g in self.groups}
        for i, link in enumerate(self.lending):
            for role in ("lender", "borrower"):
                k = getattr(link, role)
                if k not in by_key:
                    raise ValueError(f"lending.{i}.{role}: unknown group {k!r}")
            if link.lender == link.borrower:
                raise ValueError(f"lending.{i}: a group cannot lend to itself")
        claims: dict[str, float] = {}
        for link in self.lending:
            claims[link.lender] = claims.get(link.lender, 0.0) + link.amount.high
        for k, amount in claims.items():
            g = by_key[k]
            illiquid = g.total_assets.low * (1.0 - g.marketable_share.high)
            if amount > illiquid + 1e-9:
                raise ValueError(
                    f"group {k!r} lends up to {amount:g} bn but its illiquid assets can be as "
                    f"low as {illiquid:g} bn (loans are illiquid assets)"
                )
        if self.btc.asset not in akeys:
            raise ValueError(f"btc.asset: unknown asset {self.btc.asset!r}")
        for i, path in enumerate(self.shock.asset_paths):
            if path.asset not in akeys:
                raise ValueError(f"shock.asset_paths.{i}.asset: unknown asset {path.asset!r}")
        last = pd.Timestamp(self.start_date) + pd.Timedelta(days=self.horizon_days - 1)
        dated = [("policy.action_date", self.policy.action_date)]
        dated += [
            (f"shock.impairments.{i}.start", x.start) for i, x in enumerate(self.shock.impairments)
        ]
        dated += [
            (f"shock.asset_paths.{i}.start", x.start) for i, x in enumerate(self.shock.asset_paths)
        ]
        for key, d in dated:
            if d is not None and not pd.Timestamp(self.start_date) <= pd.Timestamp(d) <= last:
                raise ValueError(
                    f"{key}: {d} lies outside the horizon {self.start_date} – {last:%Y-%m-%d}"
                )
        return self

    def day_of(self, date: str) -> int:
        """Calendar day of ``date`` counted from ``start_date`` (day 0)."""
        return int((pd.Timestamp(date) - pd.Timestamp(self.start_date)).days)

    # ------------------------------------------------------------------ helpers
    @property
    def n_institutions(self) -> int:
        """Number of institutions (members of all groups)."""
        return sum(g.count for g in self.groups)

    def figures(self) -> Iterator[tuple[str, Figure]]:
        """Every figure with its dotted key path, in a fixed (document) order."""
        yield from _walk(self, "")

    def sources(self) -> list[dict[str, Any]]:
        """The figures' sources and grades (for provenance)."""
        out = []
        for key, f in self.figures():
            row = {"key": key, "value": f.value, "range": f.range, "grade": f.grade}
            if f.prior is not None:
                row.update(prior=f.prior, calibrated=f.calibrated)
            out.append({**row, "source": f.source})
        return out


def _walk(obj: Any, prefix: str) -> Iterator[tuple[str, Figure]]:
    if isinstance(obj, Figure):
        yield prefix, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _walk(getattr(obj, name), f"{prefix}.{name}" if prefix else name)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from _walk(item, f"{prefix}.{i}")
    elif isinstance(obj, dict):
        for k in obj:
            yield from _walk(obj[k], f"{prefix}.{k}")


# --------------------------------------------------------------------------- loading
def _format_errors(where: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (not part of the scenario schema)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        msg = msg.removeprefix("Value error, ")
        lines.append(f"{where}: {loc}: {msg}")
    return "\n".join(lines)


def parse_scenario(data: Any, where: str = "<scenario>") -> Scenario:
    """Validate a mapping as a :class:`Scenario`; errors name ``where`` and the key path."""
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: a scenario must be a mapping of keys, got {type(data).__name__}"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(_format_errors(where, exc)) from None


def builtin_dir() -> Path:
    """The folder of built-in scenario files."""
    return Path(str(resources.files("powderkeg.contagion") / "scenarios"))


def builtin_names() -> list[str]:
    """Names of the built-in scenarios (file stems)."""
    return sorted(p.stem for p in builtin_dir().glob("*.yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name, or a user scenario from a YAML file.

    Raises
    ------
    InputError
        Unknown name, unreadable file, YAML syntax error (with the line) or schema violation
        (with the key path).
    """
    text_name = str(name_or_path)
    path = Path(text_name)
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        candidate = builtin_dir() / f"{text_name}.yaml"
        if not candidate.is_file():
            raise InputError(
                f"unknown scenario {text_name!r}; built-in: {', '.join(builtin_names())} "
                "(or give a path to a .yaml file)"
            )
        path = candidate
    if not path.is_file():
        raise InputError(f"scenario file not found: {path}")
    return parse_scenario(read_yaml(path), path.name)


def read_yaml(path: Path) -> Any:
    """The YAML document in ``path``; errors name the file (and the line of a syntax error)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise InputError(
            f"{path.name}{line}: invalid YAML ({getattr(exc, 'problem', exc)})"
        ) from None


def list_scenarios() -> list[Scenario]:
    """The built-in scenarios, validated."""
    return [load_scenario(n) for n in builtin_names()]


def scenario_hash(scenario: Scenario) -> str:
    """A stable 16-hex-digit digest of the validated scenario (schema version included)."""
    payload = {"schema": SCHEMA_VERSION, "scenario": scenario.model_dump(mode="json")}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ScenarioCatalog(Result):
    """The list of scenarios (``stress list``)."""

    def __init__(self, scenarios: list[Scenario]) -> None:
        self.scenarios = scenarios
        self.provenance = Provenance(
            sources=[{"name": "built-in scenarios", "path": str(builtin_dir())}]
        )

    def _payload(self) -> dict[str, Any]:
        return {"scenarios": self.to_frame().reset_index().to_dict(orient="records")}

    def to_frame(self) -> pd.DataFrame:
        """One row per scenario."""
        rows = [
            {
                "name": s.name,
                "title": s.title,
                "institutions": s.n_institutions,
                "assets": len(s.assets),
                "horizon_days": s.horizon_days,
                "policy": "pivot" if s.policy.enabled else "no pivot",
                "hash": scenario_hash(s),
                "description": s.description,
            }
            for s in self.scenarios
        ]
        return pd.DataFrame(rows).set_index("name")

    def summary(self) -> Summary:
        """A table of the scenarios and their descriptions."""
        frame = self.to_frame()[["institutions", "assets", "horizon_days", "policy"]]
        return Summary(
            "Stress scenarios",
            tables=[Table.from_frame("Built-in scenarios", frame)],
            notes=[f"{s.name}: {s.title}. {s.description}" for s in self.scenarios]
            + ["Run one with: powderkeg stress run NAME [--paths N]; or pass your own YAML file."],
        )
