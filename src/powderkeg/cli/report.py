"""``powderkeg report`` and ``powderkeg demo``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from powderkeg.cli.console import CliState, emit, progress, stdout

if TYPE_CHECKING:
    from powderkeg.report.html import WrittenReport


def register(app: typer.Typer) -> None:
    """Attach ``report`` and ``demo`` to the main app."""
    app.command("report")(report)
    app.command("demo")(demo)


def report(
    ctx: typer.Context,
    out: Annotated[str, typer.Option(help="Output HTML file.")] = "powderkeg-report.html",
    asof: Annotated[
        str | None, typer.Option(help="Render as of this date, with only data available then.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for simulations in the report.")] = 20251210,
    quick: Annotated[bool, typer.Option(help="Smaller simulations (a preview).")] = False,
) -> None:
    """Write the self-contained HTML report from the store.

    Example: [bold]powderkeg report --out report.html --asof 2025-12-10[/bold]
    """
    from powderkeg.report.html import write_report

    state: CliState = ctx.obj
    with state.open_store(read_only=False) as store, progress(state, "report") as bar:
        written = write_report(store, out, asof=asof, seed=seed, quick=quick, progress=bar)
    path = written.path.resolve()
    size = path.stat().st_size
    if state.json:
        emit({"report": str(path), "bytes": size}, state)
    elif not state.quiet:
        stdout.print(
            f"Wrote {len(written.sections)} sections ({size / 1e6:.1f} MB) to {path.as_uri()}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def demo(
    ctx: typer.Context,
    dir: Annotated[
        str, typer.Option("--dir", help="Fresh directory for the demo store and report.")
    ] = "demo-output",
    package: Annotated[
        str | None,
        typer.Option(help="Build from this datapackage.json instead of the synthetic market."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic market and simulations.")] = 7,
    quick: Annotated[bool, typer.Option(help="Smaller simulations (a preview).")] = False,
) -> None:
    """Build a store in a fresh directory, run every analytic and write powderkeg-report.html.

    Example: [bold]powderkeg demo --dir /tmp/pk --package ../shared/data/datapackage.json[/bold]
    """
    from powderkeg.data.store import Store
    from powderkeg.report.html import write_report

    state: CliState = ctx.obj
    folder = Path(dir)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "powderkeg.duckdb"
    for stale in (db, db.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    with Store(db) as store:
        if package:
            from powderkeg.data.sources.package import read_package

            with progress(state, "reading package") as bar:
                batches, sha = read_package(package, None, progress=bar)
            ingest = store.ingest(batches, source="package", target=str(package), sha256=sha)
        else:
            from powderkeg.synthetic import market

            synth = market(seed=seed)
            ingest = store.ingest(
                synth.series, source="synthetic", target=f"synthetic(seed={seed})"
            )
        with progress(state, "report") as bar:
            written = write_report(
                store, folder / "powderkeg-report.html", seed=seed, quick=quick, progress=bar
            )
    if state.json:
        emit(
            {
                "store": str(db.resolve()),
                "report": str(written.path.resolve()),
                "series": len(ingest.per_series),
                "rows": ingest.inserted,
                "headlines": [asdict(h) for h in written.headlines],
            },
            state,
        )
    elif not state.quiet:
        source = (
            f"package {Path(package).resolve()}" if package else f"synthetic market (seed {seed})"
        )
        _print_demo(source, len(ingest.per_series), ingest.inserted, db, written)


def _print_demo(source: str, series: int, rows: int, db: Path, written: WrittenReport) -> None:
    """Print what the demo loaded, the report's headlines and where to open it."""
    from rich.markup import escape
    from rich.table import Table

    path = written.path.resolve()
    stdout.print(
        f"[bold]Loaded {series} series, {rows:,} rows[/bold] from {escape(source)}",
        soft_wrap=True,
    )
    stdout.print(f"[dim]store  {escape(str(db.resolve()))}[/dim]", highlight=False, soft_wrap=True)
    table = Table.grid(padding=(0, 2))
    table.title, table.title_justify = "Headlines", "left"
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(style="bold", no_wrap=True)
    for h in written.headlines:
        table.add_row(escape(h.label), escape(h.value))
    stdout.print(table)
    stdout.print(f"[bold]Report[/bold] {escape(str(path))}", highlight=False, soft_wrap=True)
    stdout.print(f"[bold]Open[/bold]   {escape(path.as_uri())}", highlight=False, soft_wrap=True)
