"""``stress validate``: replay historical episodes and score the model against what happened.

For every episode (:mod:`.episode_spec`) the scenario's inputs are replayed through the agent
engine (:mod:`.replay`) with the calibrated parameters, and each target is scored
(:mod:`.scorecard`) against the observation (:mod:`.observed`): direction right or wrong,
size error, timing error, and whether the observation lies in the model's 5–95 % band. A
scorecard also lists which mechanisms fired in the model next to what history says. With a
calibration that has leave-one-episode-out folds, each episode is replayed a second time with
the parameters fitted *without* it: its held-out error is the honest one.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg.contagion.episode_spec import MECHANISMS, Episode, TargetSpec
from powderkeg.contagion.multipliers import Multipliers
from powderkeg.contagion.observed import ObservedTarget, observe
from powderkeg.contagion.replay import MATERIALITY, ReplayPaths, mechanism_bases, replay_many
from powderkeg.contagion.scorecard import (
    TargetScore,
    score_amount,
    score_event,
    score_moves,
)
from powderkeg.contagion.validation_charts import episode_chart
from powderkeg.data.store import Store
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table

#: Default paths per episode replay.
VALIDATION_PATHS = 128
#: Bootstrap resamples of the paths for the Monte Carlo standard errors, and their seed.
BOOTSTRAP = 200
BOOTSTRAP_SEED = 20231012
#: Band quantiles of the model paths drawn in the charts.
CHART_QUANTILES = (0.05, 0.5, 0.95)


def score_target(
    episode: Episode, target: TargetSpec, obs: ObservedTarget, model: ReplayPaths
) -> TargetScore | None:
    """Score one target (None when it cannot be scored, see ``obs.missing``)."""
    if obs.missing is not None or obs.extreme is None:
        return None
    if target.kind == "event":
        day = None if not obs.happened else obs.extreme.day
        return score_event(bool(obs.happened), day, model.events[target.key])
    x = model.series[target.key]
    if target.kind == "amount":
        assert target.days is not None
        lo, hi = episode.scenario.day_of(target.days[0]), episode.scenario.day_of(target.days[1])
        amounts = x[:, lo : hi + 1].sum(axis=1)
        days = lo + np.argmax(x[:, lo : hi + 1], axis=1)
        return score_amount(obs.extreme.value, obs.extreme.day, amounts, days)
    return score_moves(obs.extreme, x)


def objective_term(target: TargetSpec, score: TargetScore) -> float | None:
    """Squared error of a target for calibration (None when size is not scored).

    Moves and amounts: the size error (log points, or pp for yields); events: the error of
    the event probability, ``p − 1[happened]``.
    """
    if target.kind == "event":
        return (score.model - score.observed) ** 2
    if "size" not in target.score or not math.isfinite(score.size_error):
        return None
    return score.size_error**2


def episode_error(episode: Episode, scores: dict[str, TargetScore | None]) -> float:
    """Root mean squared error of an episode's scored targets (see :func:`objective_term`)."""
    terms = [
        objective_term(t, s)
        for t in episode.outcomes.targets
        if (s := scores.get(t.key)) is not None
    ]
    vals = [v for v in terms if v is not None]
    if not vals:
        raise InputError(f"{episode.name}: no target can be scored (is the data imported?)")
    return float(np.sqrt(np.mean(vals)))


def monte_carlo_errors(
    episode: Episode, observed: dict[str, ObservedTarget], model: ReplayPaths
) -> tuple[dict[str, float], float | None]:
    """Bootstrap standard errors (over paths) of each size error and of the episode RMSE.

    The paths are resampled with replacement :data:`BOOTSTRAP` times (fixed seed) and every
    target re-scored: the spread says how much of an error is Monte Carlo noise.
    """
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    sizes: dict[str, list[float]] = {}
    errors = []
    for _ in range(BOOTSTRAP):
        sample = model.take(rng.integers(0, model.n_paths, model.n_paths))
        scores = {}
        for t in episode.outcomes.targets:
            s = scores[t.key] = score_target(episode, t, observed[t.key], sample)
            if s is not None and math.isfinite(s.size_error):
                sizes.setdefault(t.key, []).append(s.size_error)
        with contextlib.suppress(InputError):  # no target scored: no episode error
            errors.append(episode_error(episode, scores))
    se = {k: float(np.std(v, ddof=1)) for k, v in sizes.items()}
    return se, (float(np.std(errors, ddof=1)) if errors else None)


def _row(target: TargetSpec, obs: ObservedTarget, s: TargetScore | None,
         held: TargetScore | None, se: float | None) -> dict[str, Any]:  # fmt: skip
    parts = set(target.score)
    row: dict[str, Any] = {
        "key": target.key,
        "label": target.label,
        "kind": target.kind,
        "unit": "pp" if target.observed.measure == "level" else (
            "USD bn" if target.kind == "amount" else "probability" if target.kind == "event"
            else "log"
        ),
        "source": obs.source,
        "missing": obs.missing,
    }  # fmt: skip
    if s is None:
        return row
    row.update(
        observed=s.observed,
        observed_day=s.observed_day,
        model=s.model,
        model_low=s.model_low,
        model_high=s.model_high,
        model_day=s.model_day,
        direction_right=s.direction_right if "direction" in parts else None,
        size_error=s.size_error if "size" in parts and target.kind != "event" else None,
        size_se=se if "size" in parts and target.kind != "event" else None,
        timing_error=s.timing_error if "timing" in parts else None,
        covered=s.covered if "size" in parts else None,
        held_out_model=None if held is None else held.model,
        held_out_size_error=(
            None if held is None or "size" not in parts or target.kind == "event"
            else held.size_error
        ),
    )  # fmt: skip
    return row


def _chart(target: TargetSpec, obs: ObservedTarget, model: ReplayPaths) -> dict[str, Any] | None:
    if target.kind != "move" or target.key not in model.series:
        return None
    q = np.quantile(model.series[target.key], CHART_QUANTILES, axis=0)
    observed = None if obs.moves is None else [None if np.isnan(v) else float(v) for v in obs.moves]
    point = None
    if obs.moves is None and obs.extreme is not None:
        point = {"day": obs.extreme.day, "value": obs.extreme.value}
    return {
        "key": target.key,
        "label": target.label,
        "model": {f"q{round(p * 100):02d}": q[i].tolist() for i, p in enumerate(CHART_QUANTILES)},
        "observed": observed,
        "observed_point": point,
    }


def score_episode(
    episode: Episode,
    model: ReplayPaths,
    store: Store | None,
    held_out: ReplayPaths | None = None,
) -> dict[str, Any]:
    """The scorecard of one episode as a JSON-safe dict (targets, mechanisms, charts)."""
    rows, charts, scores, held_scores = [], [], {}, {}
    observed = {t.key: observe(store, episode, t) for t in episode.outcomes.targets}
    size_se, error_se = monte_carlo_errors(episode, observed, model)
    for target in episode.outcomes.targets:
        obs = observed[target.key]
        s = score_target(episode, target, obs, model)
        h = None if held_out is None else score_target(episode, target, obs, held_out)
        scores[target.key], held_scores[target.key] = s, h
        rows.append(_row(target, obs, s, h, size_se.get(target.key)))
        chart = _chart(target, obs, model)
        if chart is not None:
            charts.append(chart)
    mechanisms = []
    bases = mechanism_bases(episode.scenario)
    for name in MECHANISMS:
        spec = episode.outcomes.mechanisms[name]
        amount = model.mechanisms[name]
        threshold = 0.5 if name == "policy" else MATERIALITY * bases[name]
        share = float(np.mean(amount >= threshold))
        mechanisms.append(
            {
                "mechanism": name,
                "model_share": share,
                "model_fired": share >= 0.5,
                "model_mean": float(np.mean(amount)),
                "threshold": threshold,
                "history_fired": spec.fired,
                "agree": (share >= 0.5) == spec.fired,
                "source": spec.source,
            }
        )
    scored = [r for r in rows if r.get("direction_right") is not None]
    sized = [abs(r["size_error"]) for r in rows if r.get("size_error") is not None]
    timed = [abs(r["timing_error"]) for r in rows if r.get("timing_error") is not None]
    try:
        error = episode_error(episode, scores)
        held_error = None if held_out is None else episode_error(episode, held_scores)
    except InputError:
        error, held_error = None, None
    return {
        "episode": episode.name,
        "title": episode.outcomes.title,
        "start": episode.scenario.start_date,
        "window_days": episode.outcomes.window_days,
        "paths": model.n_paths,
        "rounds_max": model.rounds_max,
        "targets": rows,
        "mechanisms": mechanisms,
        "charts": charts,
        "direction_right": sum(bool(r["direction_right"]) for r in scored),
        "direction_scored": len(scored),
        "mean_abs_size_error": float(np.mean(sized)) if sized else None,
        "mean_abs_timing_error": float(np.mean(timed)) if timed else None,
        "mechanisms_agree": sum(m["agree"] for m in mechanisms),
        "error": error,
        "error_se": error_se,
        "held_out_error": held_error,
    }


@dataclass
class ValidationResult(Result):
    """Scorecards of episode replays (``stress validate``)."""

    payload: dict[str, Any]
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return self.payload

    def to_frame(self) -> pd.DataFrame:
        """One row per episode and target."""
        rows = [
            {"episode": e["episode"], **{k: v for k, v in r.items() if k != "source"}}
            for e in self.payload["episodes"]
            for r in e["targets"]
        ]
        return pd.DataFrame(rows).set_index(["episode", "key"])

    def summary(self) -> Summary:
        """One scorecard table per episode, mechanisms, and the overall errors."""
        p = self.payload
        tables = [
            Table(
                "Episodes",
                ["episode", "direction right", "mean |size error|", "mean |timing error| (d)",
                 "mechanisms agree", "RMSE (± MC s.e.)", "RMSE held-out"],
                [
                    [e["episode"], f"{e['direction_right']}/{e['direction_scored']}",
                     e["mean_abs_size_error"], e["mean_abs_timing_error"],
                     f"{e['mechanisms_agree']}/{len(e['mechanisms'])}",
                     _pm(e["error"], e["error_se"]), e["held_out_error"]]
                    for e in p["episodes"]
                ],
            )
        ]  # fmt: skip
        for e in p["episodes"]:
            tables.append(
                Table(
                    f"{e['title']} ({e['start']}, {e['window_days']} days, {e['paths']} paths)",
                    ["target", "observed (day)", "model median path [5-95%] (day)", "direction",
                     "size error (± MC s.e.)", "timing error (d)", "held-out size error"],
                    [_table_row(r) for r in e["targets"]],
                )
            )  # fmt: skip
            tables.append(
                Table(
                    f"{e['episode']}: mechanisms (model share of paths vs history)",
                    ["mechanism", "model", "share of paths", "history", "agree"],
                    [
                        [m["mechanism"], "fired" if m["model_fired"] else "-", m["model_share"],
                         "fired" if m["history_fired"] else "-", "yes" if m["agree"] else "NO"]
                        for m in e["mechanisms"]
                    ],
                )
            )  # fmt: skip
        cal = p["calibration"]
        facts: list[tuple[str, Any]] = [
            ("episodes", len(p["episodes"])),
            ("engine", "agent (full model-spec §7 schedule)"),
            ("paths per episode", p["paths"]),
            ("seed", p["seed"]),
            ("calibration", cal["label"]),
        ]
        facts += [(f"  {k}", v) for k, v in cal["multipliers"].items()]
        notes = [
            "Moves are log changes from the last value before the episode (yields: percentage "
            "points); a target's extreme is its largest move over the window; the model value "
            "is the extreme of the median path, with the 5-95% band of paths on that day.",
            "Size errors are model minus observed; held-out errors use parameters fitted "
            "without the episode (leave-one-episode-out). ± is the Monte Carlo standard error "
            f"(bootstrap of the paths, {BOOTSTRAP} resamples): errors within about two of it "
            "are noise, not model error.",
            f"A mechanism fires on a path when it moves at least {MATERIALITY:.1%} of the "
            "balance sheets it acts on (margin calls: leveraged trading books; fire sales: "
            "marketable assets; redemptions: funds and issuers; reserve sales: issuers' "
            "reserves); it fired in the model when it did on at least half the paths.",
            "Scenario files hold only inputs; outcomes come from the store and from published "
            "figures recorded with their sources in the episodes' outcomes files.",
        ]
        missing = [
            f"{e['episode']}: {r['key']} not scored ({r['missing']})"
            for e in p["episodes"]
            for r in e["targets"]
            if r.get("missing")
        ]
        return Summary(
            "Model validation: historical episode replays", facts, tables, notes + missing
        )

    def plot(self, episode: str | None = None) -> Any:
        """Model band (5–95 %, median) against the observed path for each target of an episode."""
        eps = self.payload["episodes"]
        chosen = (
            eps[0] if episode is None else next((e for e in eps if e["episode"] == episode), None)
        )
        if chosen is None:
            raise InputError(
                f"unknown episode {episode!r}; replayed: {', '.join(e['episode'] for e in eps)}"
            )
        return episode_chart(chosen)


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:+.{digits}f}"
    return str(x)


def _pm(x: float | None, se: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:+.3f}" if se is None else f"{x:+.3f} ± {se:.3f}"


def _table_row(r: dict[str, Any]) -> list[Any]:
    if r.get("missing"):
        return [r["label"], f"not scored: {r['missing']}", "", "", "", "", ""]
    obs_day = "" if r["observed_day"] is None else f" (d{r['observed_day']})"
    mod_day = "" if r["model_day"] is None else f" (d{r['model_day']})"
    model = (
        f"{r['model']:.3f}{mod_day}"
        if r["kind"] == "event"
        else f"{r['model']:+.3f} [{r['model_low']:+.3f}, {r['model_high']:+.3f}]{mod_day}"
    )
    direction = {True: "right", False: "WRONG", None: "-"}[r["direction_right"]]
    return [
        r["label"],
        f"{r['observed']:+.3f}{obs_day}",
        model,
        direction,
        _pm(r["size_error"], r["size_se"]),
        _fmt(r["timing_error"]),
        _fmt(r["held_out_size_error"]),
    ]


def run_validation(
    episodes: list[Episode],
    store: Store | None,
    *,
    multipliers: Multipliers,
    folds: dict[str, Multipliers] | None = None,
    calibration_label: str = "priors",
    paths: int = VALIDATION_PATHS,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Any = None,
) -> ValidationResult:
    """Replay ``episodes`` and score them (see the module doc).

    Parameters
    ----------
    episodes : list of Episode
    store : Store or None
        Observed series (``BTC-USD``, ``HYG``...); targets whose series is missing are listed
        as not scored.
    multipliers : Multipliers
        Parameters of the main replay (the calibrated ones, or priors).
    folds : dict, optional
        Leave-one-episode-out parameters by episode name (held-out replays).
    paths, seed, workers, scheduler, progress
        Monte Carlo size, seed and backend (identical results on every backend).

    Returns
    -------
    ValidationResult
    """
    if not episodes:
        raise InputError("no episode to validate")
    jobs: dict[tuple[str, str], tuple[Episode, Multipliers]] = {}
    for ep in episodes:
        jobs[(ep.name, "main")] = (ep, multipliers)
        if folds is not None and ep.name in folds:
            jobs[(ep.name, "held_out")] = (ep, folds[ep.name])
    runs = replay_many(
        jobs, paths=paths, seed=seed, workers=workers, scheduler=scheduler, progress=progress
    )
    cards = [
        score_episode(ep, runs[(ep.name, "main")], store, runs.get((ep.name, "held_out")))
        for ep in episodes
    ]
    payload = {
        "paths": paths,
        "seed": seed,
        "engine": "agent",
        "calibration": {"label": calibration_label, "multipliers": multipliers.to_dict()},
        "episodes": cards,
    }
    provenance = Provenance(
        sources=[
            {"name": f"episode {ep.name}", "scenario": ep.scenario.start_date,
             "references": ep.outcomes.references}
            for ep in episodes
        ]
        + (store.provenance(_symbols(episodes, store)) if store is not None else []),
        parameters={"paths": paths, "engine": "agent", "calibration": calibration_label,
                    **multipliers.to_dict()},
        seed=seed,
    )  # fmt: skip
    return ValidationResult(payload, provenance)


def _symbols(episodes: list[Episode], store: Store) -> list[str]:
    have = set(store.symbols())
    return sorted(
        {
            t.observed.series
            for ep in episodes
            for t in ep.outcomes.targets
            if t.observed.series is not None and t.observed.series in have
        }
    )
