"""Energy commands (``powderkeg energy ...``, ``GET /api/energy/...``) as functions.

The BTC price comes from the command line or, only when it is needed, from the store's
BTC-USD close: these functions take ``open_store``, a callable returning the store as a
context manager, and call it only then (so ``--btc-price`` works without any store).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from powderkeg.data.store import Store
    from powderkeg.energy.params import EnergyParams
    from powderkeg.results import Provenance, Result

#: Opens the store (as a context manager) when the BTC price must be read from it.
StoreOpener = Callable[[], AbstractContextManager["Store"]]

BTC = "BTC-USD"


def _btc_price(
    open_store: StoreOpener, asof: str | None, given: float | None
) -> tuple[float, pd.Timestamp | None, Provenance]:
    """The BTC price, its date and its provenance.

    ``given`` (from the command line) if set, else the BTC-USD close on or before ``asof``.
    """
    from powderkeg._validation import check_float, optional_date
    from powderkeg.exceptions import InsufficientDataError
    from powderkeg.results import Provenance
    from powderkeg.service._inputs import stored_series

    date = optional_date(asof, "--asof")
    if given is not None:
        price = check_float(given, "--btc-price", minimum=0.0, exclusive_minimum=True)
        return price, date, Provenance(parameters={"btc_price_source": "command line"})
    with open_store() as store:
        close = stored_series(store, BTC, date)
        sources = store.provenance([BTC])
    if close.empty:
        raise InsufficientDataError(f"no {BTC} close on or before {asof}; pass --btc-price")
    prov = Provenance(sources=sources, parameters={"btc_price_source": f"{BTC} close"})
    return float(close.iloc[-1]), close.index[-1], prov


def _params(path: str | None, **overrides: dict[str, float | None]) -> EnergyParams:
    """Parameters from ``defaults.yaml``, a YAML file, then per-section overrides."""
    from powderkeg.energy.params import load_params

    params = load_params(path)
    for section, values in overrides.items():
        params = params.set_values(section, values)
    return params


def mining_vs_ai(
    open_store: StoreOpener,
    *,
    asof: str | None = None,
    btc_price: float | None = None,
    hashrate: float | None = None,
    difficulty: float | None = None,
    fees: float | None = None,
    power_price: float | None = None,
    efficiency: float | None = None,
    gpu_hour_price: float | None = None,
    utilisation: float | None = None,
    pue: float | None = None,
    params_file: str | None = None,
) -> Result:
    """Revenue and margin per MWh of mining vs AI hosting (``energy mining-vs-ai``)."""
    from powderkeg.energy.compute import mining_vs_ai as compare

    params = _params(
        params_file,
        mining={
            "fees_btc_per_block": fees,
            "power_price_usd_mwh": power_price,
            "efficiency_j_per_th": efficiency,
        },
        compute={"gpu_hour_price_usd": gpu_hour_price, "utilisation": utilisation, "pue": pue},
    )
    price, date, prov = _btc_price(open_store, asof, btc_price)
    return compare(
        params,
        btc_price=price,
        asof=date,
        hashrate_eh=hashrate,
        difficulty_t=difficulty,
        provenance=prov,
    )


def dispatch(
    open_store: StoreOpener,
    site: str,
    *,
    asof: str | None = None,
    btc_price: float | None = None,
    hashrate: float | None = None,
    difficulty: float | None = None,
    params_file: str | None = None,
) -> Result:
    """Optimal hour-by-hour use of a site's power (``energy dispatch``)."""
    from powderkeg._validation import optional_date
    from powderkeg.energy.compute import mining_vs_ai as compare
    from powderkeg.energy.dispatch import dispatch as optimise
    from powderkeg.energy.dispatch import read_site
    from powderkeg.results import Provenance

    spec, profile = read_site(site)
    params = _params(params_file)
    if spec.params:
        params = params.override(spec.params, f"{site} (params)")
    need_btc = spec.mining_revenue_usd_mwh is None
    sources: list[dict[str, Any]] = []
    if btc_price is not None or need_btc:
        price, date, prov = _btc_price(open_store, asof, btc_price)
        sources = prov.sources
    else:
        price, date = 0.0, optional_date(asof, "--asof")
    econ = compare(
        params, btc_price=price, asof=date, hashrate_eh=hashrate, difficulty_t=difficulty
    )
    notes = [n for n in econ.notes if n.startswith("Hashrate")] if need_btc else []
    if need_btc:
        notes.insert(0, f"BTC price {price:,.2f} USD" + (f" on {date:%Y-%m-%d}." if date else "."))
    return optimise(
        spec,
        profile,
        econ.mining.revenue_usd_mwh,
        econ.ai.revenue_usd_mwh,
        notes=notes,
        provenance=Provenance(sources=sources, parameters={"site": site, "btc_price": price}),
    )


def lease(lease_file: str, *, stress: str | None = None, params_file: str | None = None) -> Result:
    """NPV, IRR and duration of a GPU lease, optionally stressed (``energy lease``)."""
    from powderkeg.energy.leases import read_lease, value_with_stress
    from powderkeg.results import Provenance

    return value_with_stress(
        read_lease(lease_file),
        _params(params_file),
        stress,
        provenance=Provenance(parameters={"lease_file": lease_file}),
    )
