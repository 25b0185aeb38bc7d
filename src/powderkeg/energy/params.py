"""Energy-economics parameters: shipped defaults with sources, and strict YAML overrides.

The defaults live in ``defaults.yaml`` (package data): one entry per parameter with its
``value``, ``unit``, public ``source`` and ``date``. A user parameters file has the same
sections and keys; each value is a number or a mapping with ``value`` (and optionally
``source``, ``date``, ``unit``). Unknown sections and keys are rejected with an error naming
the file and the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from powderkeg.exceptions import InputError

#: Parameter sections of ``defaults.yaml`` (besides ``difficulty_anchors``).
SECTIONS = ("mining", "compute", "lease", "stress_ai_correction")

#: Allowed range per parameter: (minimum, maximum, minimum is exclusive).
_BOUNDS: dict[str, tuple[float | None, float | None, bool]] = {
    "fees_btc_per_block": (0.0, None, False),
    "efficiency_j_per_th": (0.0, None, True),
    "power_price_usd_mwh": (None, None, False),
    "mining_pue": (1.0, None, False),
    "asic_price_usd_per_th": (0.0, None, False),
    "asic_life_years": (0.0, None, True),
    "gpu_hour_price_usd": (0.0, None, False),
    "utilisation": (0.0, 1.0, False),
    "power_per_gpu_kw": (0.0, None, True),
    "pue": (1.0, None, False),
    "capex_per_gpu_usd": (0.0, None, False),
    "depreciation_years": (0.0, None, True),
    "opex_per_gpu_year_usd": (0.0, None, False),
    "annual_default_probability": (0.0, 1.0, False),
    "recovery_rate": (0.0, 1.0, False),
    "gpu_rent_haircut": (0.0, 1.0, False),
    "ramp_months": (0.0, None, True),
    "utilisation_drop": (0.0, 1.0, False),
    "residual_haircut": (0.0, 1.0, False),
}


@dataclass(frozen=True)
class Param:
    """One parameter: value, unit, public source and the source's date."""

    value: float
    unit: str
    source: str
    date: str


@dataclass(frozen=True)
class DifficultyAnchor:
    """A published network difficulty (in trillions) on a date, with its source."""

    date: pd.Timestamp
    difficulty_t: float
    source: str


@dataclass(frozen=True)
class EnergyParams:
    """The parameter set in force: sections of :class:`Param` and the difficulty anchors.

    Attributes
    ----------
    sections : dict
        ``{section: {name: Param}}`` for :data:`SECTIONS`.
    difficulty_anchors : list of DifficultyAnchor
        Sorted by date.
    origin : tuple of str
        Files (or ``"cli"``) whose overrides were applied, in order.
    """

    sections: dict[str, dict[str, Param]]
    difficulty_anchors: tuple[DifficultyAnchor, ...]
    origin: tuple[str, ...] = field(default_factory=tuple)

    def get(self, section: str, name: str) -> float:
        """Return the value of ``section.name``."""
        return self.sections[section][name].value

    def values(self, section: str) -> dict[str, float]:
        """Return ``{name: value}`` for one section."""
        return {k: p.value for k, p in self.sections[section].items()}

    def override(self, mapping: Mapping[str, Any], origin: str) -> EnergyParams:
        """Return a copy with the overrides in ``mapping`` applied (strictly validated).

        Parameters
        ----------
        mapping : mapping
            ``{section: {name: number | {value, source?, date?, unit?}}}`` and optionally
            ``difficulty_anchors: [{date, difficulty_t, source}]``.
        origin : str
            The file (or ``"cli"``) the overrides come from; named in error messages.
        """
        if not isinstance(mapping, Mapping):
            raise InputError(f"{origin}: parameters must be a mapping of sections")
        sections = {s: dict(v) for s, v in self.sections.items()}
        anchors = self.difficulty_anchors
        for sec, entries in mapping.items():
            if sec == "difficulty_anchors":
                anchors = _parse_anchors(entries, origin)
                continue
            if sec not in sections:
                known = ", ".join((*SECTIONS, "difficulty_anchors"))
                raise InputError(f"{origin}: unknown section {sec!r} (known: {known})")
            if entries is None:
                continue
            if not isinstance(entries, Mapping):
                raise InputError(f"{origin}: section {sec!r} must be a mapping of parameters")
            for name, raw in entries.items():
                if name not in sections[sec]:
                    known = ", ".join(sections[sec])
                    raise InputError(f"{origin}: unknown key '{sec}.{name}' (known: {known})")
                sections[sec][name] = _parse_override(sections[sec][name], raw, sec, name, origin)
        return EnergyParams(sections, anchors, (*self.origin, origin))

    def set_values(self, section: str, values: Mapping[str, float | None]) -> EnergyParams:
        """Apply CLI overrides (``None`` values are skipped); the source becomes 'command line'."""
        given = {
            k: {"value": v, "source": "command line"} for k, v in values.items() if v is not None
        }
        if not given:
            return self
        return self.override({section: given}, "command line")

    def to_dict(self) -> dict[str, Any]:
        """Return every parameter with its unit, source and date (JSON-safe)."""
        out: dict[str, Any] = {
            sec: {k: dataclasses.asdict(p) for k, p in params.items()}
            for sec, params in self.sections.items()
        }
        out["difficulty_anchors"] = [
            {
                "date": a.date.strftime("%Y-%m-%d"),
                "difficulty_t": a.difficulty_t,
                "source": a.source,
            }
            for a in self.difficulty_anchors
        ]
        out["origin"] = list(self.origin)
        return out


def _check_value(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where}: '{name}' must be a number, got {value!r}")
    out = float(value)
    if out != out or out in (float("inf"), float("-inf")):
        raise InputError(f"{where}: '{name}' must be finite, got {value!r}")
    lo, hi, exclusive = _BOUNDS.get(name.split(".")[-1], (None, None, False))
    if lo is not None and (out < lo or (exclusive and out == lo)):
        op = ">" if exclusive else ">="
        raise InputError(f"{where}: '{name}' must be {op} {lo}, got {out}")
    if hi is not None and out > hi:
        raise InputError(f"{where}: '{name}' must be <= {hi}, got {out}")
    return out


def _parse_override(base: Param, raw: Any, sec: str, name: str, origin: str) -> Param:
    key = f"{sec}.{name}"
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"value", "unit", "source", "date"}
        if unknown:
            raise InputError(
                f"{origin}: unknown key '{key}.{sorted(unknown)[0]}' (known: value, unit, "
                "source, date)"
            )
        if "value" not in raw:
            raise InputError(f"{origin}: '{key}' needs a 'value'")
        value = _check_value(raw["value"], key, origin)
        unit = str(raw.get("unit", base.unit))
        if unit != base.unit:
            raise InputError(f"{origin}: '{key}' must be in {base.unit}, got unit {unit!r}")
        return Param(value, base.unit, str(raw.get("source", origin)), str(raw.get("date", "")))
    return Param(_check_value(raw, key, origin), base.unit, origin, "")


def _parse_anchors(entries: Any, origin: str) -> tuple[DifficultyAnchor, ...]:
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{origin}: 'difficulty_anchors' must be a non-empty list")
    out = []
    for i, item in enumerate(entries):
        where = f"difficulty_anchors[{i}]"
        if not isinstance(item, Mapping):
            raise InputError(f"{origin}: '{where}' must be a mapping")
        unknown = set(item) - {"date", "difficulty_t", "source"}
        if unknown:
            raise InputError(
                f"{origin}: unknown key '{where}.{sorted(unknown)[0]}' "
                "(known: date, difficulty_t, source)"
            )
        if "date" not in item or "difficulty_t" not in item:
            raise InputError(f"{origin}: '{where}' needs 'date' and 'difficulty_t'")
        try:
            date = pd.Timestamp(str(item["date"])).normalize()
        except (TypeError, ValueError):
            raise InputError(f"{origin}: '{where}.date' is not a date: {item['date']!r}") from None
        diff = _check_value(item["difficulty_t"], f"{where}.difficulty_t", origin)
        if diff <= 0:
            raise InputError(f"{origin}: '{where}.difficulty_t' must be > 0, got {diff}")
        out.append(DifficultyAnchor(date, diff, str(item.get("source", origin))))
    out.sort(key=lambda a: a.date)
    return tuple(out)


def _read_yaml(text: str, origin: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{origin}{line}: invalid YAML ({getattr(exc, 'problem', exc)})") from None


def default_params() -> EnergyParams:
    """Return the shipped defaults (``powderkeg/energy/defaults.yaml``)."""
    text = resources.files("powderkeg.energy").joinpath("defaults.yaml").read_text("utf-8")
    raw = _read_yaml(text, "defaults.yaml")
    sections: dict[str, dict[str, Param]] = {}
    for sec in SECTIONS:
        sections[sec] = {
            name: Param(
                float(e["value"]),
                str(e["unit"]),
                " ".join(str(e["source"]).split()),
                str(e["date"]),
            )
            for name, e in raw[sec].items()
        }
    anchors = _parse_anchors(raw["difficulty_anchors"], "defaults.yaml")
    return EnergyParams(sections, anchors, ())


def read_yaml_file(path: str | Path) -> Any:
    """Read a YAML file, raising :class:`InputError` naming the file (and line) on failure."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: file not found")
    return _read_yaml(p.read_text(encoding="utf-8"), str(p))


def load_params(path: str | Path | None = None) -> EnergyParams:
    """Return the defaults, overridden by the parameters file ``path`` when given."""
    params = default_params()
    if path is None:
        return params
    raw = read_yaml_file(path)
    if raw is None:
        return params
    return params.override(raw, str(path))
