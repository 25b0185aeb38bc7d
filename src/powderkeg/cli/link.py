"""``powderkeg link``: linkage between assets (correlation, spurious guard, DCC, betas...)."""

from __future__ import annotations

import importlib
import importlib.util

import typer

link_app = typer.Typer(
    help="Linkage: is BTC chained to the AI trade, or to liquidity?", no_args_is_help=True
)

#: Modules that each define ``add_commands(link_app)``.
COMMAND_MODULES = (
    "powderkeg.cli.link_corr",
    "powderkeg.cli.link_stats",
    "powderkeg.cli.link_dcc",
)


def register(app: typer.Typer) -> None:
    """Attach the ``link`` group to the main app."""
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).add_commands(link_app)
    app.add_typer(link_app, name="link")
