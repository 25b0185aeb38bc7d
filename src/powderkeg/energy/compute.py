r"""AI compute economics per MWh and the mining-versus-AI switching thresholds for one site.

A GPU drawing :math:`k` kW (server share per GPU) in a hall with power usage effectiveness
PUE uses :math:`E_g = k \cdot PUE / 1000` MWh of site power per GPU-hour, whether or not the
hour is sold (capacity is reserved). With GPU-hour price :math:`p` and utilisation :math:`u`:

* revenue per MWh :math:`p u / E_g`;
* depreciation per GPU-hour :math:`K / (8760 N)` (capex :math:`K`, straight line over
  :math:`N` years) and opex per GPU-hour :math:`O / 8760` (:math:`O` USD per GPU-year);
* operating margin per MWh :math:`(p u - O/8760)/E_g - c` and all-in margin per MWh
  :math:`(p u - O/8760 - K/(8760N))/E_g - c` at power price :math:`c`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from powderkeg._validation import check_float
from powderkeg.energy.mining import MiningEconomics, mining_economics, sensitivity_grid
from powderkeg.energy.params import EnergyParams
from powderkeg.results import Provenance, Result, Summary, Table

HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class AIEconomics:
    """Revenue, costs and margins of a GPU cluster per GPU-hour and per MWh of site power."""

    gpu_hour_price_usd: float
    utilisation: float
    power_per_gpu_kw: float
    pue: float
    capex_per_gpu_usd: float
    depreciation_years: float
    opex_per_gpu_year_usd: float
    power_price_usd_mwh: float
    mwh_per_gpu_hour: float
    revenue_usd_gpu_hour: float
    power_cost_usd_gpu_hour: float
    depreciation_usd_gpu_hour: float
    opex_usd_gpu_hour: float
    revenue_usd_mwh: float
    depreciation_usd_mwh: float
    opex_usd_mwh: float
    operating_margin_usd_mwh: float
    all_in_margin_usd_mwh: float
    breakeven_gpu_hour_price_usd: float

    def to_dict(self) -> dict[str, float]:
        """Return the fields as a dict."""
        return asdict(self)


def ai_economics(
    gpu_hour_price_usd: float,
    utilisation: float,
    power_per_gpu_kw: float,
    pue: float,
    capex_per_gpu_usd: float,
    depreciation_years: float,
    opex_per_gpu_year_usd: float,
    power_price_usd_mwh: float,
) -> AIEconomics:
    r"""Compute AI-hosting revenue and margins per GPU-hour and per MWh.

    The all-in break-even GPU-hour price is
    :math:`p^* = (c E_g + O/8760 + K/(8760N)) / u`.
    """
    p = check_float(gpu_hour_price_usd, "gpu_hour_price_usd", minimum=0.0)
    u = check_float(utilisation, "utilisation", minimum=0.0, maximum=1.0)
    kw = check_float(power_per_gpu_kw, "power_per_gpu_kw", minimum=0.0, exclusive_minimum=True)
    pue_ = check_float(pue, "pue", minimum=1.0)
    capex = check_float(capex_per_gpu_usd, "capex_per_gpu_usd", minimum=0.0)
    years = check_float(
        depreciation_years, "depreciation_years", minimum=0.0, exclusive_minimum=True
    )
    opex = check_float(opex_per_gpu_year_usd, "opex_per_gpu_year_usd", minimum=0.0)
    c = check_float(power_price_usd_mwh, "power_price_usd_mwh")
    e = kw * pue_ / 1000.0
    rev_h = p * u
    dep_h = capex / (HOURS_PER_YEAR * years)
    opex_h = opex / HOURS_PER_YEAR
    breakeven = (c * e + dep_h + opex_h) / u if u > 0 else float("inf")
    return AIEconomics(
        gpu_hour_price_usd=p,
        utilisation=u,
        power_per_gpu_kw=kw,
        pue=pue_,
        capex_per_gpu_usd=capex,
        depreciation_years=years,
        opex_per_gpu_year_usd=opex,
        power_price_usd_mwh=c,
        mwh_per_gpu_hour=e,
        revenue_usd_gpu_hour=rev_h,
        power_cost_usd_gpu_hour=c * e,
        depreciation_usd_gpu_hour=dep_h,
        opex_usd_gpu_hour=opex_h,
        revenue_usd_mwh=rev_h / e,
        depreciation_usd_mwh=dep_h / e,
        opex_usd_mwh=opex_h / e,
        operating_margin_usd_mwh=(rev_h - opex_h) / e - c,
        all_in_margin_usd_mwh=(rev_h - opex_h - dep_h) / e - c,
        breakeven_gpu_hour_price_usd=breakeven,
    )


def switching_thresholds(mining: MiningEconomics, ai: AIEconomics) -> dict[str, float]:
    r"""GPU-hour price at which AI hosting matches mining per MWh, and the BTC price back.

    With :math:`M` a margin per MWh, :math:`E_g` the MWh per GPU-hour and :math:`b/E` the BTC
    earned per MWh of mining:

    * GPU-hour price where AI equals mining:
      :math:`p^* = (M_{mining} E_g + c E_g + O/8760 [+ K/(8760N)]) / u`;
    * BTC price where mining equals AI: :math:`P^* = (M_{AI} + c [+ D_{mining}]) / (b/E)`,
      with :math:`D_{mining}` the ASIC depreciation per MWh.

    Both are given on the all-in basis (with depreciation, terms in brackets) and on the
    operating basis (without). A BTC threshold at or below zero means mining beats AI at any
    BTC price; ``inf`` (zero utilisation) means AI never catches up.
    """
    e = ai.mwh_per_gpu_hour
    u = ai.utilisation
    btc_per_mwh = mining.btc_per_th_day / mining.mwh_per_th_day
    c = mining.power_price_usd_mwh

    def gpu_price(m_mining: float, with_dep: bool) -> float:
        if u <= 0:
            return float("inf")
        cost = c * e + ai.opex_usd_gpu_hour + (ai.depreciation_usd_gpu_hour if with_dep else 0.0)
        return (m_mining * e + cost) / u

    return {
        "gpu_hour_price_all_in": gpu_price(mining.all_in_margin_usd_mwh, True),
        "gpu_hour_price_operating": gpu_price(mining.operating_margin_usd_mwh, False),
        "btc_price_all_in": (ai.all_in_margin_usd_mwh + c + mining.depreciation_usd_mwh)
        / btc_per_mwh,
        "btc_price_operating": (ai.operating_margin_usd_mwh + c) / btc_per_mwh,
    }


class MiningVsAIResult(Result):
    """Mining versus AI hosting on the same site: per-MWh economics and switching thresholds.

    Attributes
    ----------
    asof : Timestamp or None
        Date of the BTC price (``None`` when the price was given directly).
    mining : MiningEconomics
    ai : AIEconomics
    thresholds : dict
        See :func:`switching_thresholds`.
    grid : DataFrame
        Mining operating margin (USD/MWh) by BTC price (rows) and hashrate (columns, EH/s).
    hashprice_grid : DataFrame
        Hashprice (USD per PH/s per day) on the same grid.
    params : EnergyParams
    notes : list of str
    """

    def __init__(
        self,
        asof: pd.Timestamp | None,
        mining: MiningEconomics,
        ai: AIEconomics,
        params: EnergyParams,
        notes: list[str],
        provenance: Provenance,
    ) -> None:
        self.asof = asof
        self.mining = mining
        self.ai = ai
        self.params = params
        self.notes = notes
        self.thresholds = switching_thresholds(mining, ai)
        self.grid = sensitivity_grid(mining, metric="operating_margin_usd_mwh")
        self.hashprice_grid = sensitivity_grid(mining, metric="hashprice_usd_ph_day")
        self.provenance = provenance

    @property
    def winner(self) -> str:
        """'ai' or 'mining': the use with the higher all-in margin per MWh."""
        return (
            "ai"
            if self.ai.all_in_margin_usd_mwh > self.mining.all_in_margin_usd_mwh
            else ("mining")
        )

    def _payload(self) -> dict[str, Any]:
        def grid_records(frame: pd.DataFrame) -> list[dict[str, float]]:
            return [
                {"btc_price": float(p), "hashrate_eh": float(h), "value": float(frame.loc[p, h])}
                for p in frame.index
                for h in frame.columns
            ]

        return {
            "asof": self.asof,
            "btc_price": self.mining.btc_price,
            "hashrate_eh": self.mining.hashrate_eh,
            "hashprice_usd_ph_day": self.mining.hashprice_usd_ph_day,
            "hashprice_usd_th_day": self.mining.hashprice_usd_th_day,
            "mining": self.mining.to_dict(),
            "ai": self.ai.to_dict(),
            "thresholds": self.thresholds,
            "winner": self.winner,
            "sensitivity": {
                "operating_margin_usd_mwh": grid_records(self.grid),
                "hashprice_usd_ph_day": grid_records(self.hashprice_grid),
            },
            "parameters": self.params.to_dict(),
            "notes": self.notes,
        }

    def to_frame(self) -> pd.DataFrame:
        """Per-MWh revenue, costs and margins of both uses (rows: metric, columns: use)."""
        m, a = self.mining, self.ai
        return pd.DataFrame(
            {
                "mining": [
                    m.revenue_usd_mwh,
                    m.power_price_usd_mwh,
                    0.0,
                    m.depreciation_usd_mwh,
                    m.operating_margin_usd_mwh,
                    m.all_in_margin_usd_mwh,
                ],
                "ai": [
                    a.revenue_usd_mwh,
                    a.power_price_usd_mwh,
                    a.opex_usd_mwh,
                    a.depreciation_usd_mwh,
                    a.operating_margin_usd_mwh,
                    a.all_in_margin_usd_mwh,
                ],
            },
            index=pd.Index(
                ["revenue", "power", "opex", "depreciation", "operating_margin", "all_in_margin"],
                name="usd_per_mwh",
            ),
        )

    def summary(self) -> Summary:
        """Facts, the per-MWh table and the sensitivity grid."""
        m, a, t = self.mining, self.ai, self.thresholds
        facts: list[tuple[str, Any]] = [
            ("BTC price (USD)", m.btc_price),
            ("as of", self.asof.strftime("%Y-%m-%d") if self.asof is not None else "given"),
            ("network hashrate (EH/s)", m.hashrate_eh),
            ("block subsidy + fees (BTC)", m.subsidy_btc + m.fees_btc_per_block),
            ("hashprice (USD/PH/s/day)", m.hashprice_usd_ph_day),
            ("mining break-even power (USD/MWh)", m.breakeven_power_price_usd_mwh),
            ("mining break-even BTC price (USD)", m.breakeven_btc_price),
            ("AI revenue (USD/MWh)", a.revenue_usd_mwh),
            ("AI break-even GPU-hour (USD)", a.breakeven_gpu_hour_price_usd),
            ("better use per MWh (all-in)", self.winner),
            ("GPU-hour price where AI = mining (all-in)", t["gpu_hour_price_all_in"]),
            ("BTC price where mining = AI (all-in)", t["btc_price_all_in"]),
        ]
        table = Table.from_frame("Per MWh of site power (USD)", self.to_frame())
        grid = self.grid.copy()
        grid.columns = [f"{c:g} EH/s" for c in grid.columns]
        grid_table = Table.from_frame(
            "Mining operating margin (USD/MWh) by BTC price and hashrate", grid
        )
        return Summary("Mining vs AI hosting", facts, [table, grid_table], list(self.notes))

    def plot(self) -> Any:
        """Grouped bars: revenue, costs and margins per MWh for mining and AI hosting."""
        import plotly.graph_objects as go

        frame = self.to_frame()
        fig = go.Figure()
        for use, label in (("mining", "Bitcoin mining"), ("ai", "AI hosting")):
            fig.add_trace(go.Bar(x=list(frame.index), y=frame[use].to_numpy(), name=label))
        fig.update_layout(
            title="Mining vs AI hosting per MWh of site power",
            template="plotly_white",
            barmode="group",
            yaxis_title="USD per MWh",
            height=360,
            margin={"l": 50, "r": 20, "t": 50, "b": 40},
            legend={"orientation": "h"},
        )
        return fig


def mining_vs_ai(
    params: EnergyParams,
    *,
    btc_price: float,
    asof: pd.Timestamp | None = None,
    hashrate_eh: float | None = None,
    difficulty_t: float | None = None,
    provenance: Provenance | None = None,
) -> MiningVsAIResult:
    """Compare mining and AI hosting per MWh with the parameters in force.

    Parameters
    ----------
    params : EnergyParams
        Defaults with any overrides (power price, efficiency, GPU economics...).
    btc_price : float
        USD per BTC (from the store as of ``asof`` in the CLI).
    asof : Timestamp, optional
        Date of the price; it also sets the subsidy epoch and, when neither ``hashrate_eh``
        nor ``difficulty_t`` is given, the hashrate from the difficulty anchors.
    hashrate_eh, difficulty_t : float, optional
        Network hashrate (EH/s) or difficulty (trillions); at most one.
    """
    from powderkeg.energy.mining import (
        hashrate_from_difficulty,
        hashrate_path_eh,
        subsidy_on,
    )
    from powderkeg.exceptions import InputError

    if hashrate_eh is not None and difficulty_t is not None:
        raise InputError("give either --hashrate or --difficulty, not both")
    date = asof if asof is not None else pd.Timestamp.now().normalize()
    notes: list[str] = []
    if hashrate_eh is not None:
        eh = check_float(hashrate_eh, "hashrate", minimum=0.0, exclusive_minimum=True)
        notes.append(f"Network hashrate given: {eh:g} EH/s.")
    elif difficulty_t is not None:
        d = check_float(difficulty_t, "difficulty", minimum=0.0, exclusive_minimum=True)
        eh = hashrate_from_difficulty(d * 1e12) / 1e18
        notes.append(f"Hashrate from difficulty {d:g} T: D*2^32/600 = {eh:.1f} EH/s.")
    else:
        eh = float(hashrate_path_eh(params.difficulty_anchors, [date]).iloc[0])
        first, last = params.difficulty_anchors[0], params.difficulty_anchors[-1]
        where = "interpolated between published difficulty anchors"
        if date > last.date:
            where = f"held at the last published anchor ({last.date:%Y-%m-%d}, {last.source})"
        elif date < first.date:
            where = f"held at the first published anchor ({first.date:%Y-%m-%d})"
        notes.append(
            f"Hashrate {eh:.1f} EH/s on {date:%Y-%m-%d}, {where}; override with "
            "--hashrate or --difficulty."
        )
    mp, cp = params.values("mining"), params.values("compute")
    subsidy = subsidy_on(date)
    mining = mining_economics(
        btc_price,
        eh,
        subsidy,
        mp["fees_btc_per_block"],
        mp["efficiency_j_per_th"],
        mp["power_price_usd_mwh"],
        mining_pue=mp["mining_pue"],
        asic_price_usd_per_th=mp["asic_price_usd_per_th"],
        asic_life_years=mp["asic_life_years"],
    )
    ai = ai_economics(
        cp["gpu_hour_price_usd"],
        cp["utilisation"],
        cp["power_per_gpu_kw"],
        cp["pue"],
        cp["capex_per_gpu_usd"],
        cp["depreciation_years"],
        cp["opex_per_gpu_year_usd"],
        mp["power_price_usd_mwh"],
    )
    fee_source = params.sections["mining"]["fees_btc_per_block"].source
    notes.append(
        f"Block subsidy {subsidy:g} BTC on {date:%Y-%m-%d} (halving schedule); fees "
        f"{mp['fees_btc_per_block']:g} BTC/block ({fee_source})."
    )
    notes.append(
        "Both uses pay the same power price per MWh of site power; all-in margins include "
        "straight-line hardware depreciation (and GPU opex); operating margins exclude it."
    )
    prov = provenance if provenance is not None else Provenance()
    prov.parameters.update({"btc_price": btc_price, "hashrate_eh": eh, "asof": asof})
    return MiningVsAIResult(asof, mining, ai, params, notes, prov)
