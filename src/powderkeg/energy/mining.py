r"""Bitcoin mining economics: subsidy schedule, hashrate, hashprice, margins per TH and per MWh.

Conventions
-----------
* Network hashrate from difficulty: :math:`H = D \cdot 2^{32} / 600` hashes per second
  (a block needs :math:`D \cdot 2^{32}` hashes on average; the target spacing is 600 s).
* Blocks per day at the target spacing: :math:`86400 / 600 = 144`.
* Hashprice (USD per TH/s per day), the expected revenue of 1 TH/s over one day:

  .. math:: h = P \cdot 144 \cdot (S + F) \cdot 10^{12} / H

  with :math:`P` the BTC price (USD), :math:`S` the block subsidy and :math:`F` the fees per
  block (BTC). Per PH/s: :math:`1000 h`.
* Energy of 1 TH/s for one day at efficiency :math:`e` (J/TH) and site overhead PUE:
  :math:`e \cdot 24 \cdot 10^{-6} \cdot \text{PUE}` MWh.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import check_date, check_float, check_int
from powderkeg.energy.params import DifficultyAnchor

#: Target block spacing (seconds).
BLOCK_SECONDS = 600.0
#: Blocks per day at the target spacing.
BLOCKS_PER_DAY = 86400.0 / BLOCK_SECONDS
#: Blocks between halvings.
HALVING_INTERVAL = 210_000
#: Subsidy of the first epoch in satoshis (50 BTC).
INITIAL_SUBSIDY_SAT = 50 * 100_000_000
#: Satoshis per bitcoin.
SAT_PER_BTC = 100_000_000
#: Observed halving dates (UTC) by block height.
HALVING_DATES = {
    210_000: pd.Timestamp("2012-11-28"),
    420_000: pd.Timestamp("2016-07-09"),
    630_000: pd.Timestamp("2020-05-11"),
    840_000: pd.Timestamp("2024-04-20"),
}
#: Genesis block date.
GENESIS_DATE = pd.Timestamp("2009-01-03")


def block_subsidy(height: int) -> float:
    r"""Return the block subsidy (BTC) at block ``height``.

    The subsidy is :math:`\lfloor 5\cdot10^9 / 2^{\lfloor n/210000 \rfloor} \rfloor` satoshis
    (Bitcoin Core ``GetBlockSubsidy``: a right shift, zero after 64 halvings).

    Examples
    --------
    >>> block_subsidy(0), block_subsidy(839_999), block_subsidy(840_000)
    (50.0, 6.25, 3.125)
    """
    h = check_int(height, "height", minimum=0)
    halvings = h // HALVING_INTERVAL
    if halvings >= 64:
        return 0.0
    return (INITIAL_SUBSIDY_SAT >> halvings) / SAT_PER_BTC


def estimate_height(date: Any) -> int:
    """Estimate the block height at the start of ``date`` (UTC).

    Between observed halvings the height is interpolated linearly in time; after the last
    observed halving (block 840,000 on 2024-04-20) it advances at 144 blocks per day.
    """
    ts = check_date(date, "date")
    points = [(GENESIS_DATE, 0), *sorted(((d, h) for h, d in HALVING_DATES.items()))]
    if ts <= GENESIS_DATE:
        return 0
    for (d0, h0), (d1, h1) in itertools.pairwise(points):
        if ts < d1:
            frac = (ts - d0) / (d1 - d0)
            return int(h0 + frac * (h1 - h0))
    d_last, h_last = points[-1]
    return int(h_last + (ts - d_last).days * BLOCKS_PER_DAY)


def subsidy_on(date: Any) -> float:
    """Return the block subsidy (BTC) in force on ``date`` (3.125 BTC since 2024-04-20)."""
    return block_subsidy(estimate_height(date))


def hashrate_from_difficulty(difficulty: float) -> float:
    r"""Return the network hashrate (H/s) implied by ``difficulty``: :math:`D\,2^{32}/600`."""
    d = check_float(difficulty, "difficulty", minimum=0.0, exclusive_minimum=True)
    return d * 2.0**32 / BLOCK_SECONDS


def difficulty_from_hashrate(hashrate: float) -> float:
    """Return the difficulty matching a hashrate (H/s): :math:`600 H / 2^{32}`."""
    h = check_float(hashrate, "hashrate", minimum=0.0, exclusive_minimum=True)
    return h * BLOCK_SECONDS / 2.0**32


def btc_per_th_day(hashrate: float, subsidy: float, fees: float) -> float:
    """Expected BTC earned by 1 TH/s in one day: :math:`144 (S+F) 10^{12} / H`."""
    h = check_float(hashrate, "hashrate", minimum=0.0, exclusive_minimum=True)
    return BLOCKS_PER_DAY * (subsidy + fees) * 1e12 / h


def hashprice(btc_price: float, hashrate: float, subsidy: float, fees: float) -> float:
    r"""Hashprice in USD per TH/s per day: :math:`P \cdot 144 (S+F) 10^{12} / H`.

    Parameters
    ----------
    btc_price : float
        USD per BTC.
    hashrate : float
        Network hashrate in H/s (``1 EH/s = 1e18``).
    subsidy, fees : float
        Block subsidy and average fees per block, BTC.
    """
    return float(btc_price) * btc_per_th_day(hashrate, subsidy, fees)


def mwh_per_th_day(efficiency_j_per_th: float, pue: float = 1.0) -> float:
    r"""Energy (MWh) used by 1 TH/s for a day: :math:`e \cdot 24 \cdot 10^{-6} \cdot PUE`."""
    return float(efficiency_j_per_th) * 24e-6 * float(pue)


def difficulty_path(anchors: tuple[DifficultyAnchor, ...], dates: Any) -> pd.Series:
    """Difficulty (trillions) on ``dates`` by linear interpolation between anchors.

    Before the first anchor and after the last the nearest anchor's value is held (a stated
    assumption, not a forecast).
    """
    idx = pd.DatetimeIndex(dates)
    x = np.array([a.date.value for a in anchors], dtype=np.float64)  # ns since epoch
    y = np.array([a.difficulty_t for a in anchors], dtype=np.float64)
    vals = np.interp(idx.as_unit("ns").asi8.astype(np.float64), x, y)
    return pd.Series(vals, index=idx, name="difficulty_t")


def hashrate_path_eh(anchors: tuple[DifficultyAnchor, ...], dates: Any) -> pd.Series:
    """Network hashrate (EH/s) on ``dates`` implied by :func:`difficulty_path`."""
    diff = difficulty_path(anchors, dates)
    return (diff * 1e12 * 2.0**32 / BLOCK_SECONDS / 1e18).rename("hashrate_eh")


@dataclass(frozen=True)
class MiningEconomics:
    """Mining revenue, costs and margins for one set of inputs.

    All per-MWh figures are per MWh of site power (efficiency times PUE).
    """

    btc_price: float
    hashrate_eh: float
    difficulty_t: float
    subsidy_btc: float
    fees_btc_per_block: float
    efficiency_j_per_th: float
    mining_pue: float
    power_price_usd_mwh: float
    asic_price_usd_per_th: float
    asic_life_years: float
    btc_per_th_day: float
    hashprice_usd_th_day: float
    hashprice_usd_ph_day: float
    mwh_per_th_day: float
    revenue_usd_mwh: float
    power_cost_usd_th_day: float
    depreciation_usd_th_day: float
    depreciation_usd_mwh: float
    operating_margin_usd_th_day: float
    operating_margin_usd_mwh: float
    all_in_margin_usd_th_day: float
    all_in_margin_usd_mwh: float
    breakeven_power_price_usd_mwh: float
    all_in_breakeven_power_price_usd_mwh: float
    breakeven_btc_price: float
    all_in_breakeven_btc_price: float

    def to_dict(self) -> dict[str, float]:
        """Return the fields as a dict."""
        return asdict(self)


def mining_economics(
    btc_price: float,
    hashrate_eh: float,
    subsidy_btc: float,
    fees_btc_per_block: float,
    efficiency_j_per_th: float,
    power_price_usd_mwh: float,
    *,
    mining_pue: float = 1.0,
    asic_price_usd_per_th: float = 0.0,
    asic_life_years: float = 3.0,
) -> MiningEconomics:
    r"""Compute revenue and margins of a mining fleet per TH/s-day and per MWh.

    Formulas (per TH/s and day; :math:`E = e \cdot 24\cdot10^{-6}\cdot PUE` MWh):

    * revenue :math:`h` (the hashprice), revenue per MWh :math:`h/E`;
    * power cost :math:`c E` at power price :math:`c`;
    * depreciation :math:`K / (365 L)` for ASIC price :math:`K` (USD per TH/s) over
      :math:`L` years, straight line;
    * operating margin :math:`h - cE`; all-in margin :math:`h - cE - K/(365L)`;
    * break-even power price :math:`h/E` (operating) and :math:`(h - K/(365L))/E` (all-in);
    * break-even BTC price :math:`cE / b` (operating) and :math:`(cE + K/(365L))/b` (all-in),
      with :math:`b` the BTC per TH/s-day.
    """
    price = check_float(btc_price, "btc_price", minimum=0.0)
    eh = check_float(hashrate_eh, "hashrate_eh", minimum=0.0, exclusive_minimum=True)
    eff = check_float(
        efficiency_j_per_th, "efficiency_j_per_th", minimum=0.0, exclusive_minimum=True
    )
    pue = check_float(mining_pue, "mining_pue", minimum=1.0)
    power = check_float(power_price_usd_mwh, "power_price_usd_mwh")
    life = check_float(asic_life_years, "asic_life_years", minimum=0.0, exclusive_minimum=True)
    asic = check_float(asic_price_usd_per_th, "asic_price_usd_per_th", minimum=0.0)
    subsidy = check_float(subsidy_btc, "subsidy_btc", minimum=0.0)
    fees = check_float(fees_btc_per_block, "fees_btc_per_block", minimum=0.0)
    hashrate = eh * 1e18
    b = btc_per_th_day(hashrate, subsidy, fees)
    hp = price * b
    energy = mwh_per_th_day(eff, pue)
    power_cost = power * energy
    dep = asic / (365.0 * life)
    return MiningEconomics(
        btc_price=price,
        hashrate_eh=eh,
        difficulty_t=difficulty_from_hashrate(hashrate) / 1e12,
        subsidy_btc=subsidy,
        fees_btc_per_block=fees,
        efficiency_j_per_th=eff,
        mining_pue=pue,
        power_price_usd_mwh=power,
        asic_price_usd_per_th=asic,
        asic_life_years=life,
        btc_per_th_day=b,
        hashprice_usd_th_day=hp,
        hashprice_usd_ph_day=1000.0 * hp,
        mwh_per_th_day=energy,
        revenue_usd_mwh=hp / energy,
        power_cost_usd_th_day=power_cost,
        depreciation_usd_th_day=dep,
        depreciation_usd_mwh=dep / energy,
        operating_margin_usd_th_day=hp - power_cost,
        operating_margin_usd_mwh=hp / energy - power,
        all_in_margin_usd_th_day=hp - power_cost - dep,
        all_in_margin_usd_mwh=(hp - dep) / energy - power,
        breakeven_power_price_usd_mwh=hp / energy,
        all_in_breakeven_power_price_usd_mwh=(hp - dep) / energy,
        breakeven_btc_price=power_cost / b,
        all_in_breakeven_btc_price=(power_cost + dep) / b,
    )


def sensitivity_grid(
    base: MiningEconomics,
    price_factors: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5),
    hashrate_factors: tuple[float, ...] = (0.8, 0.9, 1.0, 1.1, 1.2),
    metric: str = "operating_margin_usd_mwh",
) -> pd.DataFrame:
    """Recompute ``metric`` on a grid of BTC price and network hashrate around ``base``.

    Returns a frame indexed by BTC price (rows) with one column per hashrate (EH/s).
    """
    rows = {}
    for pf in price_factors:
        price = base.btc_price * pf
        row = {}
        for hf in hashrate_factors:
            econ = mining_economics(
                price,
                base.hashrate_eh * hf,
                base.subsidy_btc,
                base.fees_btc_per_block,
                base.efficiency_j_per_th,
                base.power_price_usd_mwh,
                mining_pue=base.mining_pue,
                asic_price_usd_per_th=base.asic_price_usd_per_th,
                asic_life_years=base.asic_life_years,
            )
            row[round(base.hashrate_eh * hf, 1)] = getattr(econ, metric)
        rows[round(price, 2)] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "btc_price"
    frame.columns.name = "hashrate_eh"
    return frame


def hashprice_history(
    btc_close: pd.Series,
    anchors: tuple[DifficultyAnchor, ...],
    fees_btc_per_block: float,
) -> pd.DataFrame:
    """Daily hashprice from BTC closes, a difficulty path and a fee assumption.

    Returns columns ``btc_price``, ``difficulty_t``, ``hashrate_eh``, ``subsidy_btc`` and
    ``hashprice_usd_ph_day``; the subsidy follows the halving schedule by date.
    """
    close = btc_close.dropna().astype("float64")
    idx = pd.DatetimeIndex(close.index)
    diff = difficulty_path(anchors, idx)
    eh = hashrate_path_eh(anchors, idx)
    subsidy = pd.Series([subsidy_on(d) for d in idx], index=idx)
    hp = (
        close.to_numpy()
        * BLOCKS_PER_DAY
        * (subsidy.to_numpy() + fees_btc_per_block)
        * 1e15
        / (eh.to_numpy() * 1e18)
    )
    return pd.DataFrame(
        {
            "btc_price": close.to_numpy(),
            "difficulty_t": diff.to_numpy(),
            "hashrate_eh": eh.to_numpy(),
            "subsidy_btc": subsidy.to_numpy(),
            "hashprice_usd_ph_day": hp,
        },
        index=idx,
    )
