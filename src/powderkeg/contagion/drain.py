r"""The "reverse QE" liquidity drain from debt-financed AI capex (model-spec §5.5, module M5).

Each quarter the AI build-out needs external financing ``X_q`` (capex minus internal funds).
It is met first from an idle-capital buffer ``K`` (ON RRP, excess money-fund cash, corporate
cash above operating needs) with no price effect, then by investors selling other holdings
("crowding out"):

.. math::
    a_q = \min(X_q, \zeta K_q), \qquad K_{q+1} = K_q - a_q, \qquad c_q = X_q - a_q,

    \text{sell}_k \propto (1 - \text{conviction}_k)\,\text{liquidity}_k\,\text{holdings}_k,

    \Delta \text{TP}_q = \kappa_{TP} \cdot 100\, c_q / \text{GDP} \;\text{(bp)},

    \Delta \ln P_k = -\text{Dur}_k \, \Delta r + \beta^{liq}_k \, \Delta \ln NL .

Absorbed idle cash re-enters markets, so it raises net liquidity by the RRP share of the
buffer; crowding out does not. Everything is spread evenly over the quarter's business days.
Money is in USD billions, the term premium in basis points.

The decomposition the results report: with un-absorbed issuance of $500bn a year (about 1.7%
of a $30tn GDP) the duration-supply channel adds only ~4–13 bp a year to term premia for
``κ_TP`` in 2.5–8 bp per 1% of GDP, so large price effects need the risk-premium and leverage
channels (credit spreads, fire sales), not duration supply alone.

References
----------
Gagnon, J., Raskin, M., Remache, J. and Sack, B. (2011), "The financial market effects of the
Federal Reserve's large-scale asset purchases", International Journal of Central Banking 7(1).
Greenwood, R. and Vayanos, D. (2014), "Bond supply and excess bond returns", RFS 27(3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._validation import as_float_array, check_float
from powderkeg.exceptions import InputError
from powderkeg.results import Provenance, Result, Summary, Table


@dataclass(frozen=True)
class DrainAsset:
    """One asset class exposed to the drain.

    Attributes
    ----------
    holdings : float
        Investor holdings (USD bn) that can be sold to fund the build-out.
    conviction, liquidity : float
        In [0, 1]; sales are proportional to ``(1 - conviction) * liquidity * holdings``.
    duration : float
        Effective duration (years) applied to the term-premium change (0 for BTC).
    beta_liq : float
        Loading on log changes of net liquidity.
    """

    holdings: float
    conviction: float
    liquidity: float
    duration: float
    beta_liq: float


#: Defaults of model-spec §5.5 (durations and liquidity betas are [A] assumptions).
DEFAULT_ASSETS: dict[str, DrainAsset] = {
    "long-duration tech": DrainAsset(8_000.0, 0.4, 0.9, 40.0, 1.0),
    "cash-flow equity": DrainAsset(6_000.0, 0.7, 0.8, 12.0, 0.5),
    "BTC": DrainAsset(1_500.0, 0.3, 1.0, 0.0, 2.5),
    "IG credit": DrainAsset(4_000.0, 0.8, 0.5, 7.0, 0.3),
}


@dataclass(frozen=True)
class DrainParams:
    """Parameters of the drain (model-spec §5.5 table).

    Attributes
    ----------
    kappa_tp : float
        Term-premium change in bp per 1% of GDP of un-absorbed issuance (default 5; 2.5–8,
        Gagnon et al. 2011 [V], symmetry [A]).
    zeta : float
        Share of the idle pool absorbable per quarter (default 0.5; 0.2–1 [A]).
    gdp : float
        US GDP in USD bn (default 30,000 for 2025 [R]).
    idle_buffer : float
        Initial idle-capital buffer ``K_0`` in USD bn.
    rrp_share : float
        Share of the buffer held at the ON RRP (absorbing it raises net liquidity).
    net_liquidity : float
        Net liquidity at the start (USD bn).
    """

    kappa_tp: float = 5.0
    zeta: float = 0.5
    gdp: float = 30_000.0
    idle_buffer: float = 400.0
    rrp_share: float = 0.1
    net_liquidity: float = 5_800.0

    def __post_init__(self) -> None:
        check_float(self.kappa_tp, "kappa_tp", minimum=0.0)
        check_float(self.zeta, "zeta", minimum=0.0, maximum=1.0)
        check_float(self.gdp, "gdp", minimum=0.0, exclusive_minimum=True)
        check_float(self.idle_buffer, "idle_buffer", minimum=0.0)
        check_float(self.rrp_share, "rrp_share", minimum=0.0, maximum=1.0)
        check_float(self.net_liquidity, "net_liquidity", minimum=0.0, exclusive_minimum=True)


@dataclass(frozen=True)
class DrainResult(Result):
    """Daily paths of the drain: absorption, crowding-out sales, term premium, valuations."""

    daily: pd.DataFrame
    sales: pd.DataFrame
    log_price: pd.DataFrame
    need: pd.Series
    params: DrainParams
    assets: dict[str, DrainAsset]
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def total_need(self) -> float:
        """Σ X over the horizon (USD bn)."""
        return float(self.need.sum())

    def _payload(self) -> dict[str, Any]:
        last = self.daily.iloc[-1]
        return {
            "total_need": self.total_need,
            "absorbed": float(self.daily["absorbed"].sum()),
            "crowding_out": float(self.daily["crowding_out"].sum()),
            "idle_buffer_end": float(last["idle_buffer"]),
            "term_premium_bp": float(last["term_premium_bp"]),
            "sales_by_asset": self.sales.sum().to_dict(),
            "price_change": (np.exp(self.log_price.iloc[-1]) - 1.0).to_dict(),
            "daily": self.daily,
        }

    def to_frame(self) -> pd.DataFrame:
        """Daily absorption, crowding out, buffer, term premium and net liquidity."""
        return self.daily

    def summary(self) -> Summary:
        """Totals, the term-premium effect and price changes by asset."""
        table = pd.DataFrame(
            {
                "crowding-out sales (USD bn)": self.sales.sum(),
                "price change": np.exp(self.log_price.iloc[-1]) - 1.0,
            }
        ).rename_axis("asset")
        pay = self._payload()
        return Summary(
            "Reverse-QE liquidity drain from AI capex",
            facts=[
                ("external financing need (USD bn)", pay["total_need"]),
                ("absorbed by idle capital (USD bn)", pay["absorbed"]),
                ("crowding-out sales (USD bn)", pay["crowding_out"]),
                ("idle buffer left (USD bn)", pay["idle_buffer_end"]),
                ("term premium change (bp)", pay["term_premium_bp"]),
            ],
            tables=[Table.from_frame("By asset", table)],
            notes=[
                "Duration supply alone moves term premia by a few bp a year; large price "
                "effects need the risk-premium and leverage channels (spreads, fire sales)."
            ],
        )


def simulate_drain(
    quarterly_need: Any,
    *,
    start: Any = "2026-01-01",
    params: DrainParams | None = None,
    assets: Mapping[str, DrainAsset] | None = None,
) -> DrainResult:
    """Run the drain over consecutive quarters of external financing need.

    Parameters
    ----------
    quarterly_need : array-like of shape (Q,)
        ``X_q`` in USD bn (non-negative), one value per quarter from ``start``.
    start : date-like
        First day of the first quarter.
    params : DrainParams, optional
    assets : mapping of name to DrainAsset, optional
        Default :data:`DEFAULT_ASSETS`.

    Returns
    -------
    DrainResult

    Examples
    --------
    >>> res = simulate_drain([125.0] * 12)  # MS: ~$1.5tn over three years
    >>> round(res.total_need)
    1500
    """
    need = as_float_array(quarterly_need, "quarterly_need")
    if np.any(need < 0):
        raise InputError("quarterly_need must be non-negative")
    p = params or DrainParams()
    book = dict(assets or DEFAULT_ASSETS)
    if not book:
        raise InputError("assets must name at least one asset class")
    names = list(book)
    weight = np.array([(1 - a.conviction) * a.liquidity * a.holdings for a in book.values()])
    if weight.sum() <= 0:
        raise InputError("no asset can be sold: (1-conviction)*liquidity*holdings is 0 for all")
    weight = weight / weight.sum()
    duration = np.array([a.duration for a in book.values()])
    beta = np.array([a.beta_liq for a in book.values()])
    quarters = pd.period_range(pd.Timestamp(start), periods=len(need), freq="Q")
    rows, sales_rows, logp_rows, days = [], [], [], []
    buffer, tp, nl = p.idle_buffer, 0.0, p.net_liquidity
    logp = np.zeros(len(names))
    for q, x in zip(quarters, need):
        bdays = pd.bdate_range(q.start_time, q.end_time.normalize())
        absorbed = min(x, p.zeta * buffer)
        crowd = x - absorbed
        n = len(bdays)
        d_tp = p.kappa_tp * 100.0 * (crowd / n) / p.gdp  # bp per day
        d_nl = p.rrp_share * absorbed / n
        for day in bdays:
            d_ln_nl = np.log1p(d_nl / nl)
            buffer -= absorbed / n
            nl += d_nl
            tp += d_tp
            logp = logp - duration * d_tp / 1e4 + beta * d_ln_nl
            rows.append((absorbed / n, crowd / n, buffer, tp, nl))
            sales_rows.append(weight * crowd / n)
            logp_rows.append(logp.copy())
            days.append(day)
    index = pd.DatetimeIndex(days, name="date")
    daily = pd.DataFrame(
        rows,
        index=index,
        columns=["absorbed", "crowding_out", "idle_buffer", "term_premium_bp", "net_liquidity"],
    )
    return DrainResult(
        daily=daily,
        sales=pd.DataFrame(sales_rows, index=index, columns=names),
        log_price=pd.DataFrame(logp_rows, index=index, columns=names),
        need=pd.Series(need, index=quarters, name="need"),
        params=p,
        assets=book,
        provenance=Provenance(parameters={"params": p.__dict__, "quarters": len(need)}),
    )
