"""``powderkeg energy``: mining versus AI per MWh, site dispatch and GPU-lease valuation."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from powderkeg.cli.console import CliState, emit

energy_app = typer.Typer(
    help="Compute and energy economics: Bitcoin mining vs AI hosting, dispatch, GPU leases.",
    no_args_is_help=True,
)

BTC = "BTC-USD"


def register(app: typer.Typer) -> None:
    """Attach the ``energy`` group to the main app."""
    app.add_typer(energy_app, name="energy")


def _btc_from_store(state: CliState, asof: str | None) -> tuple[float, Any, list[dict[str, Any]]]:
    """BTC-USD close on or before ``asof`` (last stored close without it), its date, sources."""
    from powderkeg._validation import optional_date
    from powderkeg.exceptions import InsufficientDataError

    end = optional_date(asof, "--asof")
    with state.open_store(read_only=True) as store:
        frame = store.frame([BTC], end=end)
        sources = store.provenance([BTC])
    close = frame[BTC].dropna() if BTC in frame else frame.iloc[:, 0].dropna()
    if close.empty:
        raise InsufficientDataError(f"no {BTC} close on or before {asof}; pass --btc-price")
    return float(close.iloc[-1]), close.index[-1], sources


def _params(path: str | None, **cli: dict[str, float | None]) -> Any:
    from powderkeg.energy.params import load_params

    params = load_params(path)
    for section, values in cli.items():
        params = params.set_values(section, values)
    return params


@energy_app.command("mining-vs-ai")
def mining_vs_ai_cmd(
    ctx: typer.Context,
    asof: Annotated[
        str | None, typer.Option(help="BTC price (store close) and subsidy as of this date.")
    ] = None,
    btc_price: Annotated[
        float | None, typer.Option("--btc-price", help="BTC price in USD (skips the store).")
    ] = None,
    hashrate: Annotated[
        float | None, typer.Option(help="Network hashrate, EH/s (default: difficulty anchors).")
    ] = None,
    difficulty: Annotated[
        float | None, typer.Option(help="Network difficulty in trillions (instead of hashrate).")
    ] = None,
    fees: Annotated[float | None, typer.Option(help="Average fees per block, BTC.")] = None,
    power_price: Annotated[
        float | None, typer.Option("--power-price", help="Power price, USD/MWh.")
    ] = None,
    efficiency: Annotated[float | None, typer.Option(help="Fleet efficiency, J/TH.")] = None,
    gpu_hour_price: Annotated[
        float | None, typer.Option("--gpu-hour-price", help="GPU-hour price, USD.")
    ] = None,
    utilisation: Annotated[
        float | None, typer.Option(help="Share of GPU-hours sold (0-1).")
    ] = None,
    pue: Annotated[float | None, typer.Option(help="Data-centre PUE for the GPUs.")] = None,
    params_file: Annotated[
        str | None, typer.Option("--params", help="Parameters YAML overriding defaults.yaml.")
    ] = None,
) -> None:
    """Hashprice, revenue and margin per MWh of mining vs AI hosting, and switching prices.

    Example: [bold]powderkeg energy mining-vs-ai --asof 2025-12-10 --power-price 45
    --efficiency 17.5 --gpu-hour-price 2.1[/bold]
    """
    from powderkeg._validation import check_float, optional_date
    from powderkeg.energy.compute import mining_vs_ai
    from powderkeg.results import Provenance

    state: CliState = ctx.obj
    params = _params(
        params_file,
        mining={
            "fees_btc_per_block": fees,
            "power_price_usd_mwh": power_price,
            "efficiency_j_per_th": efficiency,
        },
        compute={"gpu_hour_price_usd": gpu_hour_price, "utilisation": utilisation, "pue": pue},
    )
    if btc_price is not None:
        price = check_float(btc_price, "--btc-price", minimum=0.0, exclusive_minimum=True)
        date = optional_date(asof, "--asof")
        prov = Provenance(parameters={"btc_price_source": "command line"})
    else:
        price, date, sources = _btc_from_store(state, asof)
        prov = Provenance(sources=sources, parameters={"btc_price_source": f"{BTC} close"})
    result = mining_vs_ai(
        params,
        btc_price=price,
        asof=date,
        hashrate_eh=hashrate,
        difficulty_t=difficulty,
        provenance=prov,
    )
    emit(result, state)


@energy_app.command("dispatch")
def dispatch_cmd(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="Site YAML (see energy/examples/site.yaml).")],
    asof: Annotated[
        str | None, typer.Option(help="BTC price (store close) as of this date.")
    ] = None,
    btc_price: Annotated[
        float | None, typer.Option("--btc-price", help="BTC price in USD (skips the store).")
    ] = None,
    hashrate: Annotated[float | None, typer.Option(help="Network hashrate, EH/s.")] = None,
    params_file: Annotated[
        str | None, typer.Option("--params", help="Parameters YAML overriding defaults.yaml.")
    ] = None,
) -> None:
    """Optimal hour-by-hour use of a site's power: mining, AI, selling back or idling (LP).

    Example: [bold]powderkeg energy dispatch src/powderkeg/energy/examples/site.yaml
    --asof 2025-07-14[/bold]
    """
    from powderkeg._validation import check_float, optional_date
    from powderkeg.energy.compute import mining_vs_ai
    from powderkeg.energy.dispatch import dispatch, read_site
    from powderkeg.results import Provenance

    state: CliState = ctx.obj
    spec, profile = read_site(site)
    params = _params(params_file)
    if spec.params:
        params = params.override(spec.params, f"{site} (params)")
    need_btc = spec.mining_revenue_usd_mwh is None
    sources: list[dict[str, Any]] = []
    if btc_price is not None:
        price = check_float(btc_price, "--btc-price", minimum=0.0, exclusive_minimum=True)
        date = optional_date(asof, "--asof")
    elif need_btc:
        price, date, sources = _btc_from_store(state, asof)
    else:
        price, date = 0.0, optional_date(asof, "--asof")
    econ = mining_vs_ai(params, btc_price=price, asof=date, hashrate_eh=hashrate)
    notes = [n for n in econ.notes if n.startswith("Hashrate")] if need_btc else []
    if need_btc:
        notes.insert(0, f"BTC price {price:,.2f} USD" + (f" on {date:%Y-%m-%d}." if date else "."))
    prov = Provenance(sources=sources, parameters={"site": site, "btc_price": price})
    result = dispatch(
        spec,
        profile,
        econ.mining.revenue_usd_mwh,
        econ.ai.revenue_usd_mwh,
        notes=notes,
        provenance=prov,
    )
    emit(result, state)


@energy_app.command("lease")
def lease_cmd(
    ctx: typer.Context,
    lease: Annotated[str, typer.Argument(help="Lease YAML (see energy/examples/lease.yaml).")],
    stress: Annotated[
        str | None, typer.Option(help="Also value under a stress: ai-correction.")
    ] = None,
    params_file: Annotated[
        str | None, typer.Option("--params", help="Parameters YAML overriding defaults.yaml.")
    ] = None,
) -> None:
    """NPV, IRR and duration of a GPU lease (or tokenised compute), optionally stressed.

    Example: [bold]powderkeg energy lease src/powderkeg/energy/examples/lease.yaml
    --stress ai-correction[/bold]
    """
    from powderkeg.energy.leases import read_lease, value_with_stress
    from powderkeg.results import Provenance

    state: CliState = ctx.obj
    spec = read_lease(lease)
    params = _params(params_file)
    result = value_with_stress(
        spec, params, stress, provenance=Provenance(parameters={"lease_file": lease})
    )
    emit(result, state)
