"""``powderkeg report`` and ``powderkeg demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from powderkeg.cli.console import CliState, emit, progress


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
        path = write_report(store, out, asof=asof, seed=seed, quick=quick, progress=bar)
    emit({"report": str(path.resolve()), "bytes": path.stat().st_size}, state)


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
            path = write_report(
                store, folder / "powderkeg-report.html", seed=seed, quick=quick, progress=bar
            )
    emit(
        {
            "store": str(db.resolve()),
            "report": str(path.resolve()),
            "series": len(ingest.per_series),
            "rows": ingest.inserted,
        },
        state,
    )
