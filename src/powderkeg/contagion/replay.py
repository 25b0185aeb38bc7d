"""Episode replays through the agent engine: per-path model moves of every scored quantity.

A replay runs an episode's scenario (its inputs only) through the full agent engine
(:mod:`.agent_scenario`, model-spec §7 schedule) for the episode's window, in seeded chunks
of paths (serially, on local processes or on Dask, identical results), and keeps for every
target of the outcomes file what the scorecard needs:

* asset targets: the daily log price change (times ``scale``), or the yield change in
  percentage points ``−100 ln(P) / duration``;
* ``stablecoin_supply``: the log change of tokens outstanding; ``stablecoin_price``: the log
  of the lowest issuer's secondary price; ``stress_index``: the engine's stress index;
  ``liquidations``: crypto-leverage liquidations per day (USD bn);
* events: the first day a member of the group defaults (−1 if none);

and, per path, how much each mechanism did: margin calls (repo and margin-loan calls plus
venue liquidations), fire sales (all private sales), redemptions (fund and stablecoin
requests), stablecoin reserve sales (reserve assets sold by issuers) and policy (any central
bank action).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from powderkeg.contagion.agent_scenario import AgentMapping, chunk_inputs, run_engine
from powderkeg.contagion.chunks import single_blas_thread
from powderkeg.contagion.episode_spec import MECHANISMS, Episode, Outcomes, TargetSpec
from powderkeg.contagion.institutions import AgentType
from powderkeg.contagion.multipliers import Multipliers, apply
from powderkeg.contagion.policy import FACILITY_LOAN, QE_PURCHASE, RATE_CUT
from powderkeg.contagion.scenario_spec import Scenario, parse_scenario
from powderkeg.contagion.simulation_result import SimulationResult
from powderkeg.parallel import chunk_sizes, map_chunks, spawn_seeds

K = TypeVar("K", bound=Hashable)

#: Paths per replay task.
REPLAY_CHUNK = 32
#: A mechanism "fires" on a path when it moves at least this share of the balance sheets it
#: acts on (:func:`mechanism_bases`).
MATERIALITY = 0.001
#: Smallest remaining share of stablecoin supply kept in log changes (all redeemed: ln 1e-6).
SUPPLY_FLOOR = 1e-6
#: Sales below this (USD bn) are no sale at all (a reverse-stress target, e.g. an issuer
#: selling Treasuries, happens once it sells more).
FIRED_THRESHOLD = 0.01


@dataclass
class ReplayPaths:
    """Per-path model outcomes of one episode (P paths, T window days).

    Attributes
    ----------
    series : dict of ndarray (P, T)
        Daily moves (or amounts) of each non-event target, by target key.
    events : dict of ndarray (P,)
        First day of each event target (−1: never).
    mechanisms : dict of ndarray (P,)
        Size of each mechanism per path (USD bn; policy: 1.0 when the central bank acted).
    rounds_max : int
        Most sub-rounds used on a day.
    """

    series: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    mechanisms: dict[str, np.ndarray]
    rounds_max: int

    @property
    def n_paths(self) -> int:
        """``P``."""
        return int(next(iter(self.mechanisms.values())).shape[0])

    def take(self, rows: np.ndarray) -> ReplayPaths:
        """The paths ``rows`` (e.g. a bootstrap resample)."""
        return ReplayPaths(
            series={k: v[rows] for k, v in self.series.items()},
            events={k: v[rows] for k, v in self.events.items()},
            mechanisms={k: v[rows] for k, v in self.mechanisms.items()},
            rounds_max=self.rounds_max,
        )

    @classmethod
    def concat(cls, parts: list[ReplayPaths]) -> ReplayPaths:
        """Stack chunks along the path axis (in task order)."""
        first = parts[0]
        return cls(
            series={k: np.concatenate([p.series[k] for p in parts]) for k in first.series},
            events={k: np.concatenate([p.events[k] for p in parts]) for k in first.events},
            mechanisms={
                k: np.concatenate([p.mechanisms[k] for p in parts]) for k in first.mechanisms
            },
            rounds_max=max(p.rounds_max for p in parts),
        )


def _target_paths(
    target: TargetSpec, res: SimulationResult, mapping: AgentMapping, T: int
) -> np.ndarray:
    m = target.model
    if m.asset is not None:
        k = int(mapping.asset_index[mapping.layout.asset_keys.index(m.asset)])
        lp = np.log(res.prices[:, 1 : T + 1, k])
        if m.transform == "yield":
            assert m.duration is not None
            return -100.0 * lp / m.duration
        return m.scale * lp
    if m.quantity == "stablecoin_supply":
        s = res.stablecoin_supply
        # a path on which every token is redeemed ends at a finite floor, not -inf
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(s[:, :1] > 0, s[:, 1 : T + 1] / s[:, :1], 1.0)
        return np.log(np.maximum(ratio, SUPPLY_FLOOR))
    if m.quantity == "stablecoin_price":
        return np.log(res.stablecoin_price[:, :T])
    if m.quantity == "stress_index":
        return res.stress_index[:, :T]
    if m.quantity == "liquidations":
        return res.liquidations[:, :T]
    raise AssertionError(f"unhandled model quantity {m}")


def _mechanisms(res: SimulationResult, mapping: AgentMapping) -> dict[str, np.ndarray]:
    issuers = res.agent_types == int(AgentType.STABLECOIN)
    acted = (res.policy_actions & (RATE_CUT | QE_PURCHASE | FACILITY_LOAN)) > 0
    out = {
        "margin_calls": res.margin_calls + res.liquidations.sum(axis=1),
        "fire_sales": res.fire_sales.sum(axis=1),
        "redemptions": res.redemption_requests + res.stablecoin_requests.sum(axis=1),
        "stablecoin_reserve_sales": res.agent_sales[:, issuers].sum(axis=(1, 2)),
        "policy": acted.any(axis=1).astype(np.float64),
    }
    assert tuple(out) == MECHANISMS
    return out


def mechanism_bases(scn: Scenario) -> dict[str, float]:
    """The balance sheets (USD bn, central figures) each mechanism acts on.

    Margin calls: leveraged trading books (hedge-fund groups, crypto positions included);
    fire sales: the system's marketable assets; redemptions: funds and stablecoin issuers
    with redemption terms; stablecoin reserve sales: the issuers' reserves. A mechanism
    "fires" on a path when its size reaches :data:`MATERIALITY` of its base.
    """
    assets = {g.key: g.total_assets.value for g in scn.groups}
    return {
        "margin_calls": sum(assets[g.key] for g in scn.groups if g.type == "hedge_fund"),
        "fire_sales": sum(assets[g.key] * g.marketable_share.value for g in scn.groups),
        "redemptions": sum(assets[g.key] for g in scn.groups if g.redemptions is not None),
        "stablecoin_reserve_sales": sum(
            assets[g.key] for g in scn.groups if g.type == "stablecoin_issuer"
        ),
    }


def summarise_replay(
    outcomes: Outcomes, res: SimulationResult, mapping: AgentMapping
) -> ReplayPaths:
    """Reduce an engine result over the episode window to :class:`ReplayPaths`."""
    T = outcomes.window_days
    gi = mapping.layout.member_group
    series, events = {}, {}
    for target in outcomes.targets:
        if target.model.group is not None:
            g = mapping.layout.group_keys.index(target.model.group)
            d = res.default_day[:, : len(gi)][:, gi == g]
            d = np.where((d >= 0) & (d < T), d, np.iinfo(np.int64).max)
            first = d.min(axis=1)
            events[target.key] = np.where(first == np.iinfo(np.int64).max, -1, first)
        else:
            series[target.key] = _target_paths(target, res, mapping, T)
    return ReplayPaths(series, events, _mechanisms(res, mapping), int(res.rounds.max()))


def replay_chunk(
    scenario: dict[str, Any],
    outcomes: dict[str, Any],
    n: int,
    seed: np.random.SeedSequence,
) -> ReplayPaths:
    """Simulate one seeded chunk of ``n`` paths of an episode (module level: pickles)."""
    scn = parse_scenario(scenario, "<replay>")
    out = Outcomes.model_validate(outcomes)
    days = out.window_days
    with single_blas_thread():
        system, mapping, shocks = chunk_inputs(scn, n, days, seed)
        res = run_engine(scn, system, shocks, days)
    return summarise_replay(out, res, mapping)


def replay_tasks(
    episode: Episode, multipliers: Multipliers, *, paths: int, seed: int, chunk: int = REPLAY_CHUNK
) -> list[tuple[Any, ...]]:
    """The chunk tasks of one replay (for :func:`replay_chunk` through ``map_chunks``).

    Chunk ``i`` uses child ``i`` of ``SeedSequence(seed)`` whatever the multipliers, so
    replays with different multipliers share their random numbers (common random numbers).
    """
    scn = apply(episode.scenario, multipliers).model_dump(mode="json")
    out = episode.outcomes.model_dump(mode="json")
    sizes = chunk_sizes(paths, chunk)
    return [(scn, out, n, s) for n, s in zip(sizes, spawn_seeds(seed, len(sizes)))]


def replay_many(
    jobs: Mapping[K, tuple[Episode, Multipliers]],
    *,
    paths: int = 128,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Any = None,
    label: str = "episode replays",
) -> dict[K, ReplayPaths]:
    """Replay every job's episode with its multipliers, in one batch of chunks.

    Parameters
    ----------
    jobs : mapping
        Any keys to ``(episode, multipliers)``; every replay uses the same seeded chunks
        (common random numbers across jobs).
    paths, seed : int
        Monte Carlo paths per job and root seed.
    workers, scheduler
        Backend of :func:`powderkeg.parallel.map_chunks` (same results on every backend).
    progress : callable, optional
        ``progress(done, total, label)`` after each chunk.
    label : str
        Progress label.

    Returns
    -------
    dict
        The jobs' keys to their :class:`ReplayPaths`.
    """
    tasks: list[tuple[Any, ...]] = []
    owner: list[K] = []
    for key, (episode, mult) in jobs.items():
        batch = replay_tasks(episode, mult, paths=paths, seed=seed)
        tasks += batch
        owner += [key] * len(batch)
    parts = map_chunks(
        replay_chunk, tasks, workers=workers, scheduler=scheduler, progress=progress, label=label
    )
    grouped: dict[K, list[ReplayPaths]] = {}
    for key, part in zip(owner, parts):
        grouped.setdefault(key, []).append(part)
    return {key: ReplayPaths.concat(chunks) for key, chunks in grouped.items()}
