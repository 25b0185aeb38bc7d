"""``powderkeg data``: import, update, list, show and check stored series."""

from __future__ import annotations

from typing import Annotated

import typer

from powderkeg.cli.console import CliState, emit, progress

data_app = typer.Typer(
    help="Import, update, list, show and check stored series.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Attach the ``data`` group to the main app."""
    app.add_typer(data_app, name="data")


@data_app.command("import")
def import_files(
    ctx: typer.Context,
    paths: Annotated[list[str], typer.Argument(help="CSV or Parquet files.")],
    symbol: Annotated[
        str | None,
        typer.Option(help="Symbol to store under (default: file name). Only with one file."),
    ] = None,
    date_col: Annotated[
        str | None, typer.Option("--date-col", help="Date column (default: detected).")
    ] = None,
    value_col: Annotated[
        str | None,
        typer.Option(
            "--value-col", help="Value column (default: close or the single numeric column)."
        ),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="price (OHLCV) or macro (one value).")] = None,
    unit: Annotated[str, typer.Option(help="Unit of the values, e.g. 'USD millions'.")] = "",
    frequency: Annotated[str, typer.Option(help="D, B, W-WED, MS...")] = "",
) -> None:
    """Import CSV/Parquet files, all in one transaction.

    Example: [bold]powderkeg data import btc.csv --symbol BTC-USD[/bold]
    """
    from powderkeg._validation import check_option
    from powderkeg.data.sources.files import ColumnSpec, ensure_readable, read_series_file
    from powderkeg.exceptions import InputError

    state: CliState = ctx.obj
    files = ensure_readable(paths)
    if symbol and len(files) > 1:
        raise InputError("--symbol can only be used with a single file")
    if kind is not None:
        check_option(kind, "--kind", ("price", "macro"))
    spec = ColumnSpec(date_col=date_col, value_col=value_col, kind=kind)
    batches = []
    with progress(state, "parsing", len(files)) as update:
        for i, p in enumerate(files):
            batches.append(
                read_series_file(p, symbol=symbol, spec=spec, unit=unit, frequency=frequency)
            )
            update(i + 1, len(files), p.name)
    with state.open_store() as store:
        report = store.ingest(
            batches,
            source="file",
            target=" ".join(str(p) for p in files),
            sha256=batches[0].sha256 if len(batches) == 1 else None,
        )
    emit(report, state)


@data_app.command("import-package")
def import_package(
    ctx: typer.Context,
    descriptor: Annotated[str, typer.Argument(help="A datapackage.json (or its folder).")],
    resource: Annotated[
        list[str] | None, typer.Option("--resource", help="Only these resources (repeatable).")
    ] = None,
) -> None:
    """Import every resource of a Frictionless data package, verifying sizes and hashes.

    Example: [bold]powderkeg data import-package ../shared/data/datapackage.json[/bold]
    """
    from powderkeg.data.sources.package import read_package

    state: CliState = ctx.obj
    with progress(state, "reading package") as update:
        batches, sha = read_package(descriptor, resource, progress=update)
    with state.open_store() as store:
        report = store.ingest(batches, source="package", target=str(descriptor), sha256=sha)
    emit(report, state)


@data_app.command("update")
def update_series(
    ctx: typer.Context,
    symbols: Annotated[
        list[str] | None,
        typer.Argument(help="Symbols or universes (default: every stored series of the source)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="fred, yahoo or crypto (default: by symbol).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Fetch from this date (default: after the last stored date).")
    ] = None,
    exchange: Annotated[
        str, typer.Option(help="ccxt exchange id for crypto symbols.")
    ] = "coinbase",
) -> None:
    """Fetch new observations from FRED, Yahoo Finance or a crypto exchange (extra 'live').

    Example: [bold]powderkeg data update WALCL RRPONTSYD --source fred --since 2025-01-01[/bold]
    """
    from powderkeg.data.sources.update import update

    state: CliState = ctx.obj
    with state.open_store() as store, progress(state, "updating") as bar:
        report = update(
            store, symbols or [], source=source, since=since, exchange=exchange, progress=bar
        )
    emit(report, state)


@data_app.command("list")
def list_series(ctx: typer.Context) -> None:
    """List stored series with their dates and row counts.

    Example: [bold]powderkeg --json data list[/bold]
    """
    from powderkeg.data.inventory import inventory

    state: CliState = ctx.obj
    with state.open_store(read_only=True) as store:
        emit(inventory(store), state)


@data_app.command("show")
def show(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="The symbol.")],
    start: Annotated[str | None, typer.Option(help="First date.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date.")] = None,
    tail: Annotated[int, typer.Option(help="Rows to print (0 = all).")] = 10,
) -> None:
    """Show one series: metadata and observations.

    Example: [bold]powderkeg data show BTC-USD --start 2025-12-01[/bold]
    """
    from powderkeg.data.inventory import series_view

    state: CliState = ctx.obj
    with state.open_store(read_only=True) as store:
        emit(series_view(store, symbol, start, end, tail=tail), state)


@data_app.command("check")
def check(
    ctx: typer.Context,
    symbols: Annotated[list[str] | None, typer.Argument(help="Symbols (default: all).")] = None,
) -> None:
    """Check data quality: gaps, stale values, bad dates, outliers, unit suspicions.

    Example: [bold]powderkeg --json data check BTC-USD WALCL[/bold]
    """
    from powderkeg.data.quality import check as run_check

    state: CliState = ctx.obj
    with state.open_store(read_only=True) as store:
        emit(run_check(store, symbols or None), state)
