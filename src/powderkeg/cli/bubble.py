"""``powderkeg bubble``: PSY date-stamping, LPPLS confidence and the bubble-pressure gauge."""

from __future__ import annotations

import importlib
import importlib.util

import typer

bubble_app = typer.Typer(
    help="Bubbles: PSY GSADF/BSADF, LPPLS, bubble-pressure gauge.", no_args_is_help=True
)

#: Modules that each define ``add_commands(bubble_app)``.
COMMAND_MODULES = (
    "powderkeg.cli.bubble_psy",
    "powderkeg.cli.bubble_lppls",
)


def register(app: typer.Typer) -> None:
    """Attach the ``bubble`` group to the main app."""
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name).add_commands(bubble_app)
    app.add_typer(bubble_app, name="bubble")
