"""The ``powderkeg`` command: global options, sub-commands, exit codes.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input. Errors go to stderr and
never show a traceback unless ``--debug``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import click
import typer

from powderkeg._version import __version__
from powderkeg.cli.console import CliState, error
from powderkeg.exceptions import InputError, PowderkegError

app = typer.Typer(
    name="powderkeg",
    help="A risk lab for the AI-equity / crypto / liquidity complex.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

#: (command group, module defining ``app`` or ``register(app)``)
COMMAND_MODULES = (
    "powderkeg.cli.data",
    "powderkeg.cli.link",
    "powderkeg.cli.liq",
    "powderkeg.cli.bubble",
    "powderkeg.cli.stress",
    "powderkeg.cli.energy",
    "powderkeg.cli.report",
    "powderkeg.cli.serve",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"powderkeg {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Store file (default $POWDERKEG_HOME/powderkeg.duckdb).",
            envvar="POWDERKEG_DB",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON document.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A risk lab for the AI-equity / crypto / liquidity complex."""
    ctx.obj = CliState(db=db, json=json_out, quiet=quiet, debug=debug)


def _register() -> None:
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        module.register(app)


_register()


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console-script entry point)."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        # without standalone mode an Exit (e.g. from --version) comes back as its exit code
        rv = command.main(args=args, prog_name="powderkeg", standalone_mode=False)
    except (click.exceptions.Exit, typer.Exit) as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except (click.exceptions.Abort, typer.Abort):
        error("aborted")
        return 1
    except (click.ClickException, typer.TyperException) as exc:
        # bad usage: unknown option, missing argument, bad value (typer vendors click)
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            error(str(exc))
        return 2
    except InputError as exc:
        if debug:
            raise
        error(str(exc))
        return 2
    except PowderkegError as exc:
        if debug:
            raise
        error(str(exc))
        return 1
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except Exception as exc:
        if debug:
            raise
        error(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1
    return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
