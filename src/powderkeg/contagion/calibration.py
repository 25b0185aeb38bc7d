"""``stress calibrate``: fit the free parameters to historical episodes, with held-out errors.

The parameters are the multipliers of :mod:`.multipliers` (price impact, fund redemptions,
stablecoin runs, the response to central-bank liquidity). The objective is the mean over
episodes of each episode's mean squared scorecard error (:func:`.validation.episode_error`:
size errors of moves and amounts in log points, event-probability errors), so every episode
weighs the same whatever its number of targets. The search is a coordinate descent on a grid
of half powers of two (``1/8 … 4`` by default) started from the priors (all 1), with common random
numbers (every evaluation replays the same seeded paths), until a full pass changes nothing.
A small shrinkage towards the priors (:data:`SHRINKAGE` per squared doubling) keeps a
parameter at its sourced value unless the episodes clearly ask for another.

Honest out-of-sample checks: the same search is run once on all episodes (the calibrated
values, *in-sample* errors) and once per episode on all the others (leave-one-episode-out);
the held-out error of an episode is its error under the parameters fitted without it. The
spread of the leave-one-out fits gives each parameter's uncertainty (jackknife standard error
of its logarithm, and the range of the folds). All fits run in lock-step so that each step's
replays go to the workers in one batch, and no (episode, parameters) pair is replayed twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from powderkeg.contagion.episode_spec import Episode
from powderkeg.contagion.multipliers import Multipliers
from powderkeg.contagion.observed import ObservedTarget, observe
from powderkeg.contagion.replay import replay_many
from powderkeg.contagion.validation import episode_error, score_target
from powderkeg.data.store import Store
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table

#: Grid of log2 multipliers searched per parameter (half doublings from 1/8 to 4).
GRID = (-3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0)
#: Paths per replay during calibration (common random numbers keep comparisons sharp).
CALIBRATION_PATHS = 128
#: Largest number of coordinate-descent passes.
MAX_PASSES = 4
#: Penalty per squared doubling away from a prior: moving a parameter by a factor 2 must
#: lower the mean squared error by more than this (a 0.1 log-point error) to be worth it.
SHRINKAGE = 0.01
#: The calibration shipped with powderkeg (written by ``powderkeg stress calibrate --write``).
SHIPPED = "calibration.yaml"

Key = tuple[str, tuple[float, ...]]


@dataclass(frozen=True)
class Calibration:
    """Calibrated multipliers, their leave-one-episode-out folds and errors.

    Attributes
    ----------
    multipliers : Multipliers
        Fitted on every episode.
    folds : dict of Multipliers
        Fitted without the named episode.
    payload : dict
        Everything else (errors, uncertainty, settings), as written to the YAML file.
    """

    multipliers: Multipliers
    folds: dict[str, Multipliers]
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short description for scorecards."""
        created = self.payload.get("created", "?")
        eps = ", ".join(self.payload.get("episodes", []))
        return f"calibrated {created} on {eps}"


def shipped_path() -> Path:
    """Where the shipped calibration lives (package data)."""
    return Path(str(resources.files("powderkeg.contagion") / SHIPPED))


def load_calibration(path: str | Path | None = None) -> Calibration:
    """Read a calibration file (default: the shipped one).

    Raises
    ------
    InputError
        Missing or malformed file (the message names it).
    """
    p = shipped_path() if path is None else Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{p}: cannot read the calibration ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{p}: invalid YAML ({exc})") from None
    try:
        mult = Multipliers.from_dict(data["multipliers"])
        folds = {k: Multipliers.from_dict(v) for k, v in data["folds"].items()}
    except (KeyError, TypeError) as exc:
        raise InputError(f"{p}: not a powderkeg calibration (missing {exc})") from None
    return Calibration(mult, folds, data)


class _Evaluator:
    """Memoised, batched replays: error of (episode, multipliers) pairs."""

    def __init__(
        self,
        episodes: list[Episode],
        store: Store | None,
        *,
        paths: int,
        seed: int,
        workers: int,
        scheduler: str | None,
        progress: Any,
    ) -> None:
        self.episodes = {e.name: e for e in episodes}
        self.observed: dict[str, dict[str, ObservedTarget]] = {
            e.name: {t.key: observe(store, e, t) for t in e.outcomes.targets} for e in episodes
        }
        self.paths, self.seed = paths, seed
        self.workers, self.scheduler, self.progress = workers, scheduler, progress
        self.errors: dict[Key, float] = {}
        self.batches = 0

    @staticmethod
    def key(name: str, m: Multipliers) -> Key:
        return name, tuple(m.to_dict().values())

    def error(self, name: str, m: Multipliers) -> float:
        return self.errors[self.key(name, m)]

    def run(self, pairs: list[tuple[str, Multipliers]]) -> None:
        todo = {
            self.key(n, m): (self.episodes[n], m)
            for n, m in pairs
            if self.key(n, m) not in self.errors
        }
        if not todo:
            return
        self.batches += 1
        runs = replay_many(
            todo, paths=self.paths,
            seed=self.seed, workers=self.workers, scheduler=self.scheduler,
            progress=self.progress, label=f"calibration batch {self.batches}",
        )  # fmt: skip
        for k, model in runs.items():
            ep = self.episodes[k[0]]
            scores = {
                t.key: score_target(ep, t, self.observed[ep.name][t.key], model)
                for t in ep.outcomes.targets
            }
            self.errors[k] = episode_error(ep, scores)


def _loss(ev: _Evaluator, names: list[str], m: Multipliers) -> float:
    """Mean squared episode error plus the shrinkage towards the priors."""
    mse = float(np.mean([ev.error(n, m) ** 2 for n in names]))
    return mse + SHRINKAGE * float(sum(np.log2(v) ** 2 for v in m.to_dict().values()))


def _search(
    ev: _Evaluator, fits: dict[str, list[str]], parameters: list[str], grid: tuple[float, ...]
) -> dict[str, Multipliers]:
    """Coordinate descent of every fit in lock-step (one batch of replays per step)."""
    current = {f: Multipliers() for f in fits}
    ev.run([(n, Multipliers()) for names in fits.values() for n in names])
    for _ in range(MAX_PASSES):
        changed = False
        for p in parameters:
            cands = {f: [current[f].replace(**{p: 2.0**k}) for k in grid] for f in fits}
            ev.run([(n, m) for f, names in fits.items() for m in cands[f] for n in names])
            for f, names in fits.items():
                best = min(
                    cands[f], key=lambda m: (_loss(ev, names, m), abs(np.log(getattr(m, p))))
                )
                if best != current[f]:
                    current[f], changed = best, True
        if not changed:
            break
    return current


def calibrate(
    episodes: list[Episode],
    store: Store | None,
    *,
    parameters: list[str] | None = None,
    grid: tuple[float, ...] = GRID,
    paths: int = CALIBRATION_PATHS,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Any = None,
) -> CalibrationResult:
    """Fit the multipliers to ``episodes`` with leave-one-episode-out checks (module doc).

    Parameters
    ----------
    episodes : list of Episode
        At least two (one to hold out, one to fit).
    store : Store or None
        Observed series.
    parameters : list of str, optional
        Which multipliers to fit (default: all of :class:`~.multipliers.Multipliers`).
    grid : tuple of float
        log2 values searched per parameter.
    paths, seed, workers, scheduler, progress
        Replay size, seed and backend (identical results on every backend).

    Returns
    -------
    CalibrationResult
    """
    names = [e.name for e in episodes]
    if len(names) < 2:
        raise InputError("calibration needs at least two episodes (one is held out at a time)")
    params = Multipliers.names() if parameters is None else list(parameters)
    bad = set(params) - set(Multipliers.names())
    if bad:
        raise InputError(
            f"unknown parameter(s) {', '.join(sorted(bad))}; "
            f"known: {', '.join(Multipliers.names())}"
        )
    if not grid or 0 not in grid:
        raise InputError("the grid must contain 0 (the priors)")
    ev = _Evaluator(episodes, store, paths=paths, seed=seed, workers=workers,
                    scheduler=scheduler, progress=progress)  # fmt: skip
    fits = {"all": names, **{n: [x for x in names if x != n] for n in names}}
    fitted = _search(ev, fits, params, tuple(sorted(grid)))
    ev.run([(n, m) for m in fitted.values() for n in names])
    prior = Multipliers()
    errors = {
        n: {
            "prior": ev.error(n, prior),
            "in_sample": ev.error(n, fitted["all"]),
            "held_out": ev.error(n, fitted[n]),
        }
        for n in names
    }
    logs = np.log([[getattr(fitted[n], p) for p in params] for n in names])
    k = len(names)
    se = np.sqrt((k - 1) / k * ((logs - logs.mean(axis=0)) ** 2).sum(axis=0))
    uncertainty = {
        p: {
            "jackknife_factor": float(np.exp(se[j])),
            "fold_low": float(np.exp(logs[:, j].min())),
            "fold_high": float(np.exp(logs[:, j].max())),
        }
        for j, p in enumerate(params)
    }
    total = {
        kind: float(np.sqrt(np.mean([errors[n][kind] ** 2 for n in names])))
        for kind in ("prior", "in_sample", "held_out")
    }
    payload = {
        "created": dt.date.today().isoformat(),
        "episodes": names,
        "parameters": params,
        "grid": [round(2.0**g, 6) for g in sorted(grid)],
        "paths": paths,
        "seed": seed,
        "engine": "agent",
        "multipliers": fitted["all"].to_dict(),
        "uncertainty": uncertainty,
        "folds": {n: fitted[n].to_dict() for n in names},
        "errors": errors,
        "total": total,
        "shrinkage": SHRINKAGE,
        "replays": len(ev.errors),
    }
    provenance = Provenance(
        sources=[{"name": f"episode {n}"} for n in names],
        parameters={"paths": paths, "grid": payload["grid"], "parameters": params},
        seed=seed,
    )
    return CalibrationResult(payload, provenance)


@dataclass
class CalibrationResult(Result):
    """Calibrated multipliers with in-sample and leave-one-episode-out errors."""

    payload: dict[str, Any]
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return self.payload

    def to_frame(self) -> pd.DataFrame:
        """Errors per episode (prior, in-sample, held-out)."""
        return pd.DataFrame(self.payload["errors"]).T.rename_axis("episode")

    def calibration(self) -> Calibration:
        """The fitted values as a :class:`Calibration`."""
        p = self.payload
        return Calibration(
            Multipliers.from_dict(p["multipliers"]),
            {k: Multipliers.from_dict(v) for k, v in p["folds"].items()},
            p,
        )

    def write(self, path: str | Path) -> Path:
        """Write the calibration YAML (read back by :func:`load_calibration`)."""
        out = Path(path)
        text = yaml.safe_dump(self.payload, sort_keys=False, allow_unicode=True)
        header = (
            "# powderkeg calibration of the agent engine's free parameters against historical\n"
            "# episodes (powderkeg stress calibrate). Multipliers apply to the scenarios'\n"
            "# sourced priors; folds are the leave-one-episode-out fits; errors are RMSE in\n"
            "# log points (events: probability).\n"
        )
        out.write_text(header + text, encoding="utf-8")
        return out

    def summary(self) -> Summary:
        """Fitted multipliers with uncertainty, and the error table."""
        p = self.payload
        params = Table(
            "Calibrated multipliers (1 = sourced priors)",
            ["parameter", "fitted", "jackknife x/÷", "leave-one-out range"],
            [
                [k, p["multipliers"][k], u["jackknife_factor"],
                 f"{u['fold_low']:g} – {u['fold_high']:g}"]
                for k, u in p["uncertainty"].items()
            ],
        )  # fmt: skip
        errs = Table(
            "Error by episode (RMSE, log points; events: probability)",
            ["episode", "priors", "in-sample", "held-out", "fitted without it"],
            [
                [n, e["prior"], e["in_sample"], e["held_out"],
                 ", ".join(f"{k}={v:g}" for k, v in p["folds"][n].items())]
                for n, e in p["errors"].items()
            ],
        )  # fmt: skip
        t = p["total"]
        return Summary(
            "Calibration against historical episodes",
            facts=[
                ("episodes", ", ".join(p["episodes"])),
                ("paths per replay", p["paths"]),
                ("seed", p["seed"]),
                ("replays", p["replays"]),
                (
                    "RMSE priors / in-sample / held-out",
                    f"{t['prior']:.3f} / {t['in_sample']:.3f} / {t['held_out']:.3f}",
                ),
            ],
            tables=[params, errs],
            notes=[
                "Coordinate descent on a grid of half powers of two with common random numbers; "
                "held-out errors come from fits that never saw the episode.",
                "Held-out error above in-sample error measures overfitting; a parameter whose "
                "leave-one-out range is wide is identified by few episodes.",
            ],
        )
