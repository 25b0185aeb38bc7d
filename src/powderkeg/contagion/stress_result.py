"""The result of a stress run: the payload assembled from chunk summaries and its Result API.

:func:`assemble_payload` merges the :class:`~.chunks.ChunkSummary` of every chunk (in task
order) into the JSON payload of a run (DESIGN.md keys: ``paths``, ``seed``, ``defaults``,
``losses``, ``asset_drawdowns``, ``btc``, ``runtime_s``...), which is what the store caches;
:class:`StressResult` presents it (summary, frames, the loss histogram).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg.contagion.agent_scenario import AGENT_MAX_ROUNDS, AGENT_MODEL_VERSION
from powderkeg.contagion.chunks import ChunkSummary
from powderkeg.contagion.draws import Layout
from powderkeg.contagion.reduced_kernel import MODEL_VERSION
from powderkeg.contagion.scenario_spec import Scenario, scenario_hash
from powderkeg.results import Provenance, Result, Summary, Table
from powderkeg.scenarios.two_phase import QUANTILES, qlabel

#: BTC paths kept for the fan chart (the first ones; paths are i.i.d.).
FAN_PATHS = 2000


def _q(x: np.ndarray) -> dict[str, float]:
    qs = np.quantile(x, QUANTILES) if x.size else np.full(len(QUANTILES), np.nan)
    return {qlabel(q): float(v) for q, v in zip(QUANTILES, qs)}


@dataclass
class StressResult(Result):
    """A stress run: losses and defaults by institution type, fire sales, BTC (DESIGN.md keys).

    The payload is built once from the chunks (or read back from the cache) and holds
    everything the summary, frame and figures need.
    """

    payload: dict[str, Any]
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return self.payload

    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return str(self.payload["scenario"]["name"])

    def losses_frame(self) -> pd.DataFrame:
        """Losses (USD bn, with their decomposition) and defaults by institution group."""
        rows = []
        for key, d in self.payload["losses"]["by_group"].items():
            dd = self.payload["defaults"]["by_group"][key]
            rows.append(
                {
                    "group": key,
                    "label": d["label"],
                    "type": d["type"],
                    "members": dd["members"],
                    "capital": d["capital"],
                    "mean loss": d["mean"],
                    "p95 loss": d["q95"],
                    "direct": d["direct"],
                    "fire sales": d["fire_sales"],
                    "credit": d["credit"],
                    "mean defaults": dd["mean"],
                    "P(default)": dd["p_any"],
                }
            )
        return pd.DataFrame(rows).set_index("group")

    def assets_frame(self) -> pd.DataFrame:
        """Fire sales (USD bn) and drawdowns by asset."""
        rows = []
        for key, d in self.payload["asset_drawdowns"].items():
            fs = self.payload["fire_sales"][key]
            rows.append(
                {
                    "asset": key,
                    "sold mean": fs["mean"],
                    "sold p95": fs["q95"],
                    "max dd q50": d["q50"],
                    "max dd q95": d["q95"],
                    "price T q50": d["price_at_horizon"]["q50"],
                }
            )
        return pd.DataFrame(rows).set_index("asset")

    def to_frame(self) -> pd.DataFrame:
        """Losses and defaults by institution group."""
        return self.losses_frame()

    def summary(self) -> Summary:
        """Headline facts, the group and asset tables."""
        p = self.payload
        btc = p["btc"]
        liq = p["defaults"]["liquidated_positions"]
        facts: list[tuple[str, Any]] = [
            ("scenario", f"{p['scenario']['name']} ({p['scenario']['hash']})"),
            ("paths x institutions x assets x days",
             f"{p['paths']} x {p['institutions']} x {len(p['asset_drawdowns'])} x {p['days']}"),
            ("groups", ", ".join(f"{k} = {v['label']}"
                                 for k, v in p["losses"]["by_group"].items())),
            ("expected total loss (USD bn)", p["losses"]["total"]["mean"]),
            ("95% / 99% total loss (USD bn)",
             f"{p['losses']['total']['q95']:,.0f} / {p['losses']['total']['q99']:,.0f}"),
            ("expected institution defaults", p["defaults"]["total"]["mean"]),
            ("P(at least one institution default)", p["defaults"]["total"]["p_any"]),
            ("liquidated leveraged positions, mean (of members)",
             f"{liq['mean']:.1f} of {liq['members']}"),
            ("stablecoin redemptions, mean (USD bn)", p["stablecoin_redemptions"]["mean"]),
            ("Treasury and bill sales, mean (USD bn)", p["treasury_sales"]["mean"]),
            ("P(policy acts within horizon)", p["policy"]["p_action"]),
            (f"P(BTC survives first hit: trough > -{btc['survive_threshold']:.0%})",
             btc["p_survive_first_hit"]),
            ("P(BTC above start at horizon)", btc["p_above_start"]),
            ("BTC median max drawdown", btc["drawdown"]["q50"]),
            ("seed", p["seed"]),
            ("runtime (s)", p["runtime_s"]),
        ]  # fmt: skip
        if p.get("cached"):
            facts.append(("cached", f"yes (computed in {p['compute_s']:.2f} s)"))
        lf = self.losses_frame()
        decomposed = lf["direct"].notna().all()
        btc_tab = pd.DataFrame(
            {
                "max drawdown": btc["drawdown"],
                "price at T (start = 1)": btc["price_at_horizon"],
            }
        )
        btc_tab.index.name = "quantile"
        return Summary(
            f"Stress run: {p['scenario']['title']}",
            facts=facts,
            tables=[
                Table.from_frame(
                    "Losses and defaults by institution group (USD bn)",
                    lf[
                        [
                            "members",
                            "capital",
                            "mean loss",
                            "p95 loss",
                            "mean defaults",
                            "P(default)",
                        ]
                    ],
                ),
                *(
                    [
                        Table.from_frame(
                            "Mean loss decomposition (USD bn)",
                            lf[["direct", "fire sales", "credit"]],
                        )
                    ]
                    if decomposed
                    else []
                ),
                Table.from_frame("Fire sales (USD bn) and drawdowns by asset", self.assets_frame()),
                Table.from_frame("BTC", btc_tab),
            ],
            notes=[
                f"Engine: {p['engine']}. "
                + (
                    "Losses are capital losses C0 - C_T (direct revaluation + fire-sale impact "
                    "+ counterparty write-downs); defaults are C <= 0."
                    if decomposed
                    else "Losses are book-equity losses E0 - E_T net of fund distributions; "
                    "defaults are insolvency or failure to pay (margin calls, redemptions)."
                ),
                "Every figure is drawn per path within its scenario range; see provenance "
                "for sources and evidence grades.",
                *(
                    [
                        f"The agent engine's sub-round limit ({p['rounds_used_max']}) bound on "
                        "some day: sales had not stopped within the day (spectral radius >= 1?)."
                    ]
                    if not decomposed and p["rounds_used_max"] >= AGENT_MAX_ROUNDS
                    else []
                ),
            ],
        )

    def plot(self) -> Any:
        """The loss distribution (histogram of total losses across paths)."""
        return loss_histogram(self.payload)


def loss_histogram(payload: dict[str, Any]) -> Any:
    """Plotly bar chart of the stored total-loss histogram."""
    import plotly.graph_objects as go

    h = payload["losses"]["histogram"]
    edges = np.asarray(h["edges"])
    mids = 0.5 * (edges[1:] + edges[:-1])
    fig = go.Figure(go.Bar(x=mids, y=h["counts"], width=np.diff(edges), marker_color="#d9480f"))
    fig.update_layout(
        title=f"{payload['scenario']['title']}: distribution of total losses",
        xaxis_title="total capital loss (USD bn)",
        yaxis_title="paths",
        height=380,
        bargap=0.02,
    )
    return fig


def assemble_payload(
    scn: Scenario,
    layout: Layout,
    chunks: list[ChunkSummary],
    *,
    paths: int,
    seed: int,
    days: int,
    runtime: float,
    engine: str = "reduced",
) -> dict[str, Any]:
    """The JSON payload of a run from its chunks' summaries (in task order).

    Parameters
    ----------
    scn : Scenario
        The scenario run.
    layout : Layout
        Its layout (groups, members, assets).
    chunks : list of ChunkSummary
        One summary per chunk, in task order.
    paths, seed, days : int
        The run's size and root seed.
    runtime : float
        Wall time so far (seconds).
    engine : {"reduced", "agent"}, default "reduced"
        The engine that produced the chunks.

    Returns
    -------
    dict
        The payload of a :class:`StressResult` (JSON-safe).
    """
    G = len(layout.group_keys)
    loss_g = np.concatenate([c.loss_by_group for c in chunks])
    defaults_g = np.concatenate([c.defaults_by_group for c in chunks])
    parts = np.sum([c.loss_parts for c in chunks], axis=0)
    cap0 = np.sum([c.capital0_by_group for c in chunks], axis=0)
    hist = np.sum([c.default_hist for c in chunks], axis=0)
    sales = np.concatenate([c.sales for c in chunks])
    dd = np.concatenate([c.drawdown for c in chunks])
    final = np.concatenate([c.final_price for c in chunks])
    first = np.concatenate([c.btc_first_hit for c in chunks])
    fan_paths = np.concatenate([c.btc_paths for c in chunks])[:FAN_PATHS]
    red = np.concatenate([c.redemptions_total for c in chunks])
    tsy = np.concatenate([c.treasury_total for c in chunks])
    red_d = np.sum([c.redemptions_daily for c in chunks], axis=0)
    tsy_d = np.sum([c.treasury_daily for c in chunks], axis=0)
    rec_d = np.sum([c.recovery_daily for c in chunks], axis=0)
    pivot = np.concatenate([c.pivot for c in chunks])
    total = loss_g.sum(axis=1)
    n_def = defaults_g[:, ~layout.positions].sum(axis=1)
    n_liq = defaults_g[:, layout.positions].sum(axis=1)
    members = np.bincount(layout.member_group, minlength=G)
    lo, hi = float(total.min()), float(total.max())
    if hi <= lo:
        hi = lo + 1.0
    counts, edges = np.histogram(total, bins=40, range=(lo, hi))
    by_group = {}
    defaults = {}
    for g, key in enumerate(layout.group_keys):
        by_group[key] = {
            "label": layout.group_labels[g],
            "type": layout.group_types[g],
            "capital": float(cap0[g] / paths),
            "mean": float(loss_g[:, g].mean()),
            **_q(loss_g[:, g]),
            "q99": float(np.quantile(loss_g[:, g], 0.99)),
            # the agent engine does not decompose losses (NaN parts -> None)
            **{
                name: None if np.isnan(parts[g, j]) else float(parts[g, j] / paths)
                for j, name in enumerate(("direct", "fire_sales", "credit"))
            },
        }
        defaults[key] = {
            "label": layout.group_labels[g],
            "type": layout.group_types[g],
            "positions": bool(layout.positions[g]),
            "members": int(members[g]),
            "mean": float(defaults_g[:, g].mean()),
            "p_any": float(np.mean(defaults_g[:, g] > 0)),
            "q95": float(np.quantile(defaults_g[:, g], 0.95)),
            "by_day": (hist[:, g] / paths).tolist(),
        }
    by_type: dict[str, dict[str, float]] = {}
    for g, typ in enumerate(layout.group_types):
        d = by_type.setdefault(typ, {"loss_mean": 0.0, "defaults_mean": 0.0, "members": 0})
        d["loss_mean"] += float(loss_g[:, g].mean())
        d["defaults_mean"] += float(defaults_g[:, g].mean())
        d["members"] += int(members[g])
    assets = {}
    fire_sales = {}
    for k, key in enumerate(layout.asset_keys):
        assets[key] = {
            "label": layout.asset_labels[k],
            "kind": layout.asset_kinds[k],
            "mean": float(dd[:, k].mean()),
            **_q(dd[:, k]),
            "price_at_horizon": _q(final[:, k]),
        }
        fire_sales[key] = {
            "label": layout.asset_labels[k],
            "mean": float(sales[:, k].mean()),
            **_q(sales[:, k]),
        }
    b = layout.btc
    fan = np.quantile(np.exp(fan_paths), QUANTILES, axis=0)
    thr = scn.btc.survive_threshold
    return {
        "scenario": {
            "name": scn.name,
            "title": scn.title,
            "hash": scenario_hash(scn),
            "start_date": scn.start_date,
        },
        "engine": (
            f"powderkeg reduced system kernel ({MODEL_VERSION})"
            if engine == "reduced"
            else f"powderkeg agent engine ({AGENT_MODEL_VERSION}), full model-spec §7 schedule"
        ),
        "paths": paths,
        "seed": seed,
        "days": days,
        "institutions": layout.n_institutions,
        "defaults": {
            "total": {
                "mean": float(n_def.mean()),
                "p_any": float(np.mean(n_def > 0)),
                **_q(n_def),
            },
            "liquidated_positions": {
                "members": int(members[layout.positions].sum()),
                "mean": float(n_liq.mean()),
                "p_any": float(np.mean(n_liq > 0)),
            },
            "by_group": defaults,
            "by_type": {k: v["defaults_mean"] for k, v in by_type.items()},
        },
        "losses": {
            "total": {
                "mean": float(total.mean()),
                **_q(total),
                "q99": float(np.quantile(total, 0.99)),
            },
            "by_group": by_group,
            "by_type": {k: v["loss_mean"] for k, v in by_type.items()},
            "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        },
        "fire_sales": fire_sales,
        "stablecoin_redemptions": {
            "mean": float(red.mean()),
            **_q(red),
            "daily_mean": (red_d / paths).tolist(),
        },
        "treasury_sales": {
            "mean": float(tsy.mean()),
            **_q(tsy),
            "daily_mean": (tsy_d / paths).tolist(),
        },
        "asset_drawdowns": assets,
        "btc": {
            "asset": layout.asset_keys[b],
            "survive_threshold": thr,
            "p_survive_first_hit": float(np.mean(first > -thr)),
            "p_above_start": float(np.mean(final[:, b] > 1.0)),
            "drawdown": _q(dd[:, b]),
            "first_hit": _q(first),
            "price_at_horizon": _q(final[:, b]),
            "fan": {qlabel(q): fan[i].tolist() for i, q in enumerate(QUANTILES)},
            "fan_paths": int(fan_paths.shape[0]),
        },
        "policy": {
            "enabled": scn.policy.enabled,
            "p_action": float(pivot.mean()),
            "share_in_recovery_by_day": (rec_d / paths).tolist(),
        },
        "rounds_used_max": max(c.rounds_used for c in chunks),
        "runtime_s": round(runtime, 3),
        "compute_s": round(runtime, 3),
        "cached": False,
    }
