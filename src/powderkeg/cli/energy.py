"""``powderkeg energy``: mining versus AI per MWh, site dispatch and GPU-lease valuation."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from powderkeg.cli.console import CliState, emit

if TYPE_CHECKING:
    from powderkeg.data.store import Store

energy_app = typer.Typer(
    help="Compute and energy economics: Bitcoin mining vs AI hosting, dispatch, GPU leases.",
    no_args_is_help=True,
)

BtcPrice = Annotated[
    float | None, typer.Option("--btc-price", help="BTC price in USD (skips the store).")
]
ParamsFile = Annotated[
    str | None, typer.Option("--params", help="Parameters YAML overriding defaults.yaml.")
]


def register(app: typer.Typer) -> None:
    """Attach the ``energy`` group to the main app."""
    app.add_typer(energy_app, name="energy")


def _store_opener(state: CliState) -> Callable[[], Store]:
    """Open the store read-only, only when a command needs the BTC close from it."""
    return partial(state.open_store, read_only=True)


@energy_app.command("mining-vs-ai")
def mining_vs_ai_cmd(
    ctx: typer.Context,
    asof: Annotated[
        str | None, typer.Option(help="BTC price (store close) and subsidy as of this date.")
    ] = None,
    btc_price: BtcPrice = None,
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
    params_file: ParamsFile = None,
) -> None:
    """Hashprice, revenue and margin per MWh of mining vs AI hosting, and switching prices.

    Example: [bold]powderkeg energy mining-vs-ai --asof 2025-12-10 --power-price 45
    --efficiency 17.5 --gpu-hour-price 2.1[/bold]
    """
    from powderkeg.service import energy

    state: CliState = ctx.obj
    result = energy.mining_vs_ai(
        _store_opener(state),
        asof=asof,
        btc_price=btc_price,
        hashrate=hashrate,
        difficulty=difficulty,
        fees=fees,
        power_price=power_price,
        efficiency=efficiency,
        gpu_hour_price=gpu_hour_price,
        utilisation=utilisation,
        pue=pue,
        params_file=params_file,
    )
    emit(result, state)


@energy_app.command("dispatch")
def dispatch_cmd(
    ctx: typer.Context,
    site: Annotated[str, typer.Argument(help="Site YAML (see energy/examples/site.yaml).")],
    asof: Annotated[
        str | None, typer.Option(help="BTC price (store close) as of this date.")
    ] = None,
    btc_price: BtcPrice = None,
    hashrate: Annotated[float | None, typer.Option(help="Network hashrate, EH/s.")] = None,
    difficulty: Annotated[
        float | None, typer.Option(help="Network difficulty in trillions (instead of hashrate).")
    ] = None,
    params_file: ParamsFile = None,
) -> None:
    """Optimal hour-by-hour use of a site's power: mining, AI, selling back or idling (LP).

    Example: [bold]powderkeg energy dispatch src/powderkeg/energy/examples/site.yaml
    --asof 2025-07-14[/bold]
    """
    from powderkeg.service import energy

    state: CliState = ctx.obj
    result = energy.dispatch(
        _store_opener(state),
        site,
        asof=asof,
        btc_price=btc_price,
        hashrate=hashrate,
        difficulty=difficulty,
        params_file=params_file,
    )
    emit(result, state)


@energy_app.command("lease")
def lease_cmd(
    ctx: typer.Context,
    lease: Annotated[str, typer.Argument(help="Lease YAML (see energy/examples/lease.yaml).")],
    stress: Annotated[
        str | None, typer.Option(help="Also value under a stress: ai-correction.")
    ] = None,
    params_file: ParamsFile = None,
) -> None:
    """NPV, IRR and duration of a GPU lease (or tokenised compute), optionally stressed.

    Example: [bold]powderkeg energy lease src/powderkeg/energy/examples/lease.yaml
    --stress ai-correction[/bold]
    """
    from powderkeg.service import energy

    state: CliState = ctx.obj
    emit(energy.lease(lease, stress=stress, params_file=params_file), state)
