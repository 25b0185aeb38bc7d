"""One chunk of a reduced-kernel stress run, and the per-path statistics every chunk sends back.

:func:`run_chunk` draws and simulates one seeded chunk of paths (at module level, so it
pickles to worker processes and Dask workers) and reduces the kernel's outcome to a
:class:`ChunkSummary`, the mergeable statistics a run reports. The agent engine's chunks
(:func:`powderkeg.contagion.agent_scenario.run_agent_chunk`) send back the same summary.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from powderkeg.contagion.draws import Layout, ShockPaths, build_chunk, chunk_draws
from powderkeg.contagion.reduced_kernel import SystemOutcome, simulate_system
from powderkeg.contagion.scenario_spec import parse_scenario


@dataclass
class ChunkSummary:
    """What one chunk sends back: per-path statistics and sums (mergeable in task order)."""

    n: int
    loss_by_group: np.ndarray  # (P, G)
    loss_parts: np.ndarray  # (G, 3) sums of direct, fire-sale, credit losses
    capital0_by_group: np.ndarray  # (G,) sum over paths
    defaults_by_group: np.ndarray  # (P, G) counts
    default_hist: np.ndarray  # (T, G) counts of new defaults per day
    sales: np.ndarray  # (P, K)
    drawdown: np.ndarray  # (P, K)
    final_price: np.ndarray  # (P, K)
    btc_first_hit: np.ndarray  # (P,)
    btc_paths: np.ndarray  # (≤ keep, T+1)
    redemptions_total: np.ndarray  # (P,)
    treasury_total: np.ndarray  # (P,)
    redemptions_daily: np.ndarray  # (T,) sum over paths
    treasury_daily: np.ndarray  # (T,) sum over paths
    recovery_daily: np.ndarray  # (T,) number of paths in regime R
    pivot: np.ndarray  # (P,) bool: policy acted within the horizon
    rounds_used: int


def run_chunk(
    scenario: dict[str, Any], n: int, days: int, seed: np.random.SeedSequence, keep: int
) -> ChunkSummary:
    """Draw and simulate one chunk of ``n`` paths (module level, so it pickles to workers).

    ``scenario`` is the validated scenario as a JSON dict; ``keep`` is how many BTC paths to
    return for the fan chart.
    """
    scn = parse_scenario(scenario, "<chunk>")
    layout = Layout.from_scenario(scn)
    values, draws, noise = chunk_draws(scn, n, days, seed)
    with single_blas_thread():
        system, shocks, _ = build_chunk(scn, layout, values, draws, noise)
        out = simulate_system(system, shocks, rounds_per_day=scn.rounds_per_day)
    return summarise_chunk(out, layout, shocks, keep)


def single_blas_thread() -> Any:
    """Limit BLAS to one thread (uses threadpoolctl when installed).

    The kernel's matrix products are tiny; BLAS threads only contend with other workers.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def summarise_chunk(
    out: SystemOutcome, layout: Layout, shocks: ShockPaths, keep: int
) -> ChunkSummary:
    """Reduce a kernel outcome to the per-path statistics a run reports."""
    gi = layout.member_group
    G = len(layout.group_keys)
    T = out.redemptions.shape[1]
    onehot = np.zeros((layout.n_institutions, G))
    onehot[np.arange(layout.n_institutions), gi] = 1.0
    loss = out.capital0 - out.capital
    defaulted = out.default_day >= 0
    hist = np.zeros((T, G))
    for g in range(G):
        days = out.default_day[:, gi == g]
        days = days[days >= 0]
        if days.size:
            hist[:, g] = np.bincount(days, minlength=T)[:T]
    lp = out.btc_log_price
    end = np.where(shocks.action_day >= 0, np.minimum(shocks.action_day, T), T)
    masked = np.where(np.arange(T + 1)[None, :] <= end[:, None], lp, np.inf)
    return ChunkSummary(
        n=int(loss.shape[0]),
        loss_by_group=loss @ onehot,
        loss_parts=np.stack(
            [
                (out.direct_loss @ onehot).sum(axis=0),
                (out.fire_loss @ onehot).sum(axis=0),
                (out.credit_loss @ onehot).sum(axis=0),
            ],
            axis=1,
        ),
        capital0_by_group=(out.capital0 @ onehot).sum(axis=0),
        defaults_by_group=defaulted.astype(np.float64) @ onehot,
        default_hist=hist,
        sales=out.sales,
        drawdown=out.max_drawdown,
        final_price=out.prices,
        btc_first_hit=np.expm1(masked.min(axis=1)),
        btc_paths=lp[:keep].copy(),
        redemptions_total=out.redemptions.sum(axis=1),
        treasury_total=out.treasury_sales.sum(axis=1),
        redemptions_daily=out.redemptions.sum(axis=0),
        treasury_daily=out.treasury_sales.sum(axis=0),
        recovery_daily=shocks.recovery.sum(axis=0).astype(np.float64),
        pivot=(shocks.action_day >= 0) & (shocks.action_day < T),
        rounds_used=out.rounds_used,
    )
