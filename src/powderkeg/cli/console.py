"""Printing for the CLI: results as rich tables or JSON, errors to stderr, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from powderkeg.results import Result, Summary, format_value, jsonable


@dataclass
class CliState:
    """Global options shared by every command."""

    db: str | None = None
    json: bool = False
    quiet: bool = False
    debug: bool = False

    def open_store(self, read_only: bool = False):  # type: ignore[no-untyped-def]
        """Open the store named by ``--db`` (or the default location).

        ``read_only`` lets several reading processes share the file; a store that does not
        exist yet is created (empty) instead.
        """
        from pathlib import Path

        from powderkeg import config
        from powderkeg.data.store import Store

        path = self.db or str(config.default_db_path())
        if read_only and path != ":memory:" and not Path(path).exists():
            read_only = False
        return Store(path, read_only=read_only)


#: A command's own ``--json`` flag, the same as the global one.
JsonOut = Annotated[
    bool, typer.Option("--json", help="Print the result as one JSON document (as global --json).")
]


def json_state(ctx: typer.Context, json_out: bool) -> CliState:
    """The global options of ``ctx``, with ``--json`` also set by a command's own flag."""
    state: CliState = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    if json_out:
        state.json = True
    return state


stdout = Console(soft_wrap=False)
stderr = Console(stderr=True)


def emit(result: Result | dict[str, Any], state: CliState) -> None:
    """Print a result: one JSON document with ``--json``, rich tables otherwise."""
    if state.json:
        payload = result.to_dict() if isinstance(result, Result) else jsonable(result)
        sys.stdout.write(json.dumps(payload, indent=2, allow_nan=False) + "\n")
        return
    if state.quiet:
        return
    summary = result.summary() if isinstance(result, Result) else None
    if summary is None:
        stdout.print_json(json.dumps(jsonable(result)))
        return
    print_summary(summary)


def emit_read(state: CliState, command: Callable[..., Result], *args: Any, **kwargs: Any) -> None:
    """Print ``command(store, *args, **kwargs)`` run on the store opened read-only."""
    with state.open_store(read_only=True) as store:
        result = command(store, *args, **kwargs)
    emit(result, state)


def print_summary(summary: Summary) -> None:
    """Render a :class:`Summary` with rich."""
    stdout.print(f"[bold]{summary.title}[/bold]")
    if summary.facts:
        facts = RichTable(show_header=False, box=None, pad_edge=False)
        facts.add_column(style="cyan")
        facts.add_column()
        for key, value in summary.facts:
            facts.add_row(key, format_value(value))
        stdout.print(facts)
    for table in summary.tables:
        rt = RichTable(title=table.title, title_justify="left", header_style="bold")
        for col in table.columns:
            rt.add_column(col)
        for row in table.rows:
            rt.add_row(*[format_value(c) for c in row])
        stdout.print(rt)
    for note in summary.notes:
        stdout.print(f"[dim]* {note}[/dim]")


def error(message: str) -> None:
    """Print an error message to stderr."""
    from rich.markup import escape

    stderr.print(
        f"[bold red]error:[/bold red] {escape(message)}",
        highlight=False,
        markup=True,
        soft_wrap=True,
    )


@contextmanager
def progress(state: CliState, description: str, total: int | None = None) -> Iterator[Any]:
    """A progress bar on stderr (hidden with ``--quiet`` or ``--json``); yields an updater.

    The updater is called as ``update(done, total, label)``.
    """
    enabled = not (state.quiet or state.json)
    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[label]}"),
        console=stderr,
        disable=not enabled,
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total, label="")

        def update(done: int, total_: int, label: str = "") -> None:
            bar.update(task, completed=done, total=total_, label=label)

        yield update
