"""Historical episodes: a scenario of shock inputs and, beside it, the outcomes to score against.

An episode is two strictly validated YAML files in one folder:

``NAME.yaml``
    an ordinary stress scenario (:mod:`.scenario_spec`) holding **only inputs**: the balance
    sheets of the time, the shock (equity fall, stablecoin reserve impairment, asset
    collapses) and, for replays, the dates and sizes of the central bank's actions. Nothing in
    it is an outcome the model is scored on.
``NAME.outcomes.yaml``
    what happened, used only to score the model: *targets* that pair a model quantity with an
    observed series in the store (``BTC-USD``, ``HYG``, ``TLT``, ``^VIX``, ``DGS10``,
    ``STABLECOIN_SUPPLY``...) or with a published figure recorded with its source, date and
    evidence grade; and the *mechanisms* that history says fired (margin calls, fire sales,
    redemptions, stablecoin reserve sales, policy), each with its source.

Every published figure and every mechanism needs a ``source`` (a missing one is an error naming
the file and the key path, like the scenario files).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import Field, ValidationError, model_validator

from powderkeg.contagion.scenario_spec import (
    SCHEMA_VERSION,
    Grade,
    Key,
    Scenario,
    _format_errors,
    _Strict,
    load_scenario,
    read_yaml,
)
from powderkeg.exceptions import InputError

#: The mechanisms a scorecard reports, in order.
MECHANISMS = ("margin_calls", "fire_sales", "redemptions", "stablecoin_reserve_sales", "policy")
#: Model quantities that are not asset prices.
QUANTITIES = (
    "stablecoin_supply",
    "stablecoin_price",
    "stress_index",
    "liquidations",
)
#: Scorecard parts.
PARTS = ("direction", "size", "timing")

Date = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Source = Annotated[str, Field(min_length=3)]


class ModelQuantity(_Strict):
    """The model side of a target: an asset's price, a system quantity or an event.

    Exactly one of ``asset`` (a scenario asset key), ``quantity`` (one of
    :data:`QUANTITIES`) or ``event`` (``default`` of the institution ``group``) is given.
    ``transform: yield`` turns a bond price into its yield change in percentage points,
    ``−100 ln(P) / duration``; ``scale`` multiplies an asset's log change (e.g. the ratio of
    an observed fund's duration to the model asset's).
    """

    asset: Key | None = None
    quantity: Literal[QUANTITIES] | None = None  # type: ignore[valid-type]
    event: Literal["default"] | None = None
    group: Key | None = None
    transform: Literal["price", "yield"] = "price"
    duration: Annotated[float, Field(gt=0.0, le=50.0)] | None = None
    scale: Annotated[float, Field(gt=0.0, le=20.0)] = 1.0

    @model_validator(mode="after")
    def _check(self) -> ModelQuantity:
        given = [x for x in (self.asset, self.quantity, self.event) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of asset, quantity or event")
        if self.event is not None and self.group is None:
            raise ValueError("an event needs the institution group it happens to")
        if self.transform == "yield" and (self.asset is None or self.duration is None):
            raise ValueError("transform: yield needs an asset and its duration (years)")
        return self


class Published(_Strict):
    """A published outcome figure with its source, date and evidence grade (model-spec §0.1).

    ``value`` is a level (``baseline`` gives the pre-episode level it is measured against,
    e.g. 1.0 for a stablecoin's par price) or an amount (USD bn, no baseline).
    """

    value: float
    date: Date
    grade: Grade
    source: Source
    baseline: float | None = None
    unit: str | None = None
    note: str | None = None


class Observed(_Strict):
    """The observed side of a target: a stored series, a published figure or an event.

    ``measure`` is ``log`` (log change from the last value before the episode) or ``level``
    (difference, e.g. yields in percentage points).
    """

    series: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    measure: Literal["log", "level"] = "log"
    published: Published | None = None
    happened: bool | None = None
    date: Date | None = None
    source: Source | None = None

    @model_validator(mode="after")
    def _check(self) -> Observed:
        if (self.series is None) + (self.published is None) + (self.happened is None) != 2:
            raise ValueError("give exactly one of series, published or happened")
        if self.happened is not None and self.source is None:
            raise ValueError("an observed event needs a source")
        if self.happened and self.date is None:
            raise ValueError("an event that happened needs its date")
        return self


class TargetSpec(_Strict):
    """One scorecard row: a model quantity against an observation.

    ``score`` lists the parts that apply (a model stress index and the VIX share a direction
    and a timing, not a unit). ``days`` restricts an amount to a date range (inclusive).
    """

    key: Key
    label: str
    model: ModelQuantity
    observed: Observed
    score: list[Literal[PARTS]] = Field(  # type: ignore[valid-type]
        default_factory=lambda: list(PARTS)
    )
    days: tuple[Date, Date] | None = None
    note: str | None = None

    @property
    def kind(self) -> str:
        """``event``, ``amount`` (a published figure without baseline) or ``move``."""
        if self.model.event is not None:
            return "event"
        pub = self.observed.published
        if pub is not None and pub.baseline is None:
            return "amount"
        return "move"

    @model_validator(mode="after")
    def _check(self) -> TargetSpec:
        if (self.model.event is None) != (self.observed.happened is None):
            raise ValueError("an event target pairs model.event with observed.happened")
        if self.kind == "amount" and self.days is None:
            raise ValueError("an amount needs the date range it is summed over (days)")
        return self


class MechanismSpec(_Strict):
    """Whether history says a mechanism fired in the episode, with the source."""

    fired: bool
    source: Source
    date: Date | None = None


class Outcomes(_Strict):
    """The outcomes file of an episode."""

    episode: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]*$", max_length=60)]
    title: str
    window_days: Annotated[int, Field(ge=2, le=3650)]
    targets: list[TargetSpec]
    mechanisms: dict[Literal[MECHANISMS], MechanismSpec]  # type: ignore[valid-type]
    references: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Outcomes:
        if not self.targets:
            raise ValueError("an episode needs at least one target")
        keys = [t.key for t in self.targets]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"duplicate target key(s): {', '.join(dup)}")
        missing = [m for m in MECHANISMS if m not in self.mechanisms]
        if missing:
            raise ValueError(f"mechanisms: give every mechanism; missing {', '.join(missing)}")
        return self


@dataclass(frozen=True)
class Episode:
    """A validated episode: the scenario (inputs) and its outcomes (for scoring only)."""

    scenario: Scenario
    outcomes: Outcomes

    @property
    def name(self) -> str:
        """The episode's name (the scenario's)."""
        return self.scenario.name

    @property
    def start(self) -> pd.Timestamp:
        """Day 0 of the replay."""
        return pd.Timestamp(self.scenario.start_date)


def _check_against(scn: Scenario, out: Outcomes, where: str) -> None:
    assets = {a.key for a in scn.assets}
    groups = {g.key for g in scn.groups}
    problems = []
    if out.episode != scn.name:
        problems.append(f"episode: {out.episode!r} is not the scenario's name {scn.name!r}")
    if out.window_days > scn.horizon_days:
        problems.append(
            f"window_days: {out.window_days} exceeds the scenario horizon ({scn.horizon_days})"
        )
    start = pd.Timestamp(scn.start_date)
    end = start + pd.Timedelta(days=out.window_days - 1)
    for i, t in enumerate(out.targets):
        if t.model.asset is not None and t.model.asset not in assets:
            problems.append(f"targets.{i}.model.asset: unknown asset {t.model.asset!r}")
        if t.model.group is not None and t.model.group not in groups:
            problems.append(f"targets.{i}.model.group: unknown group {t.model.group!r}")
        dates = [d for d in (t.observed.date, *(t.days or ())) if d is not None]
        if t.observed.published is not None:
            dates.append(t.observed.published.date)
        for d in dates:
            if not start <= pd.Timestamp(d) <= end:
                problems.append(
                    f"targets.{i}: date {d} lies outside the window "
                    f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"
                )
    if problems:
        raise InputError("\n".join(f"{where}: {p}" for p in problems))


def builtin_dir() -> Path:
    """The folder of the built-in episodes."""
    return Path(str(resources.files("powderkeg.contagion") / "episodes"))


def builtin_names() -> list[str]:
    """Names of the built-in episodes, in chronological order."""
    return [e.name for e in load_episodes()]


def load_episode(name_or_path: str | Path) -> Episode:
    """Load a built-in episode by name, or the episode whose scenario file is at a path.

    The outcomes file is the scenario file's sibling ``NAME.outcomes.yaml``.

    Raises
    ------
    InputError
        Unknown name, missing outcomes file, YAML syntax error (with the line), schema
        violation (with the key path) or a target that does not fit the scenario.
    """
    text = str(name_or_path)
    path = Path(text)
    if path.suffix not in (".yaml", ".yml"):
        path = builtin_dir() / f"{text}.yaml"
        if not path.is_file():
            raise InputError(
                f"unknown episode {text!r}; built-in: {', '.join(builtin_names())} "
                "(or give the path of an episode's scenario .yaml file)"
            )
    scn = load_scenario(path)
    out_path = path.with_name(f"{path.stem}.outcomes.yaml")
    if not out_path.is_file():
        raise InputError(f"{path.name}: no outcomes file beside it (expected {out_path.name})")
    data = read_yaml(out_path)
    if not isinstance(data, dict):
        raise InputError(f"{out_path.name}: an outcomes file must be a mapping of keys")
    try:
        outcomes = Outcomes.model_validate(data)
    except ValidationError as exc:
        raise InputError(_format_errors(out_path.name, exc)) from None
    _check_against(scn, outcomes, out_path.name)
    return Episode(scn, outcomes)


def episodes_digest(episodes: list[Episode]) -> str:
    """A stable 16-hex-digit digest of episodes' validated scenarios and outcomes."""
    data = [
        [e.scenario.model_dump(mode="json"), e.outcomes.model_dump(mode="json")] for e in episodes
    ]
    text = json.dumps({"schema": SCHEMA_VERSION, "episodes": data}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_episodes(names: list[str] | None = None) -> list[Episode]:
    """The named episodes (default: every built-in one, oldest first)."""
    if names:
        return [load_episode(n) for n in names]
    files = [p for p in builtin_dir().glob("*.yaml") if not p.name.endswith(".outcomes.yaml")]
    return sorted((load_episode(p) for p in files), key=lambda e: e.scenario.start_date)
