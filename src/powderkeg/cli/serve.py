"""``powderkeg serve``: the JSON API and the dashboard (extra ``web``)."""

from __future__ import annotations

from typing import Annotated

import typer

from powderkeg.cli.console import CliState, emit, stderr


def register(app: typer.Typer) -> None:
    """Attach ``serve`` to the main app."""
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Interface to bind (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    import_dir: Annotated[
        str | None, typer.Option("--import-dir", help="The only directory file imports may read.")
    ] = None,
) -> None:
    """Serve the JSON API (OpenAPI at /docs and /openapi.json) and the dashboard at /.

    Binds 127.0.0.1 unless --host says otherwise. Writes (imports, jobs) need
    [bold]POWDERKEG_API_TOKEN[/bold]; without it the server is read-only. With --json the
    start-up line is one JSON document on stdout (url, host, port, read_only).

    Examples: [bold]powderkeg serve[/bold] (read-only, http://127.0.0.1:8000/) ·
    [bold]POWDERKEG_API_TOKEN=s3cret powderkeg serve --port 8001 --import-dir ./inbox[/bold] ·
    then [bold]curl 'http://127.0.0.1:8001/api/link/corr?a=BTC-USD&b=^IXIC&window=30'[/bold]
    """
    import uvicorn

    from powderkeg import config
    from powderkeg.api.app import create_app, settings_from_env

    state: CliState = ctx.obj
    settings = settings_from_env(state.db or str(config.default_db_path()), import_dir)
    mode = "read-write (token set)" if settings.token else "read-only (no POWDERKEG_API_TOKEN)"
    if state.json:
        emit(
            {
                "url": f"http://{host}:{port}/",
                "host": host,
                "port": port,
                "read_only": settings.token is None,
                "docs": f"http://{host}:{port}/docs",
            },
            state,
        )
    elif not state.quiet:
        stderr.print(f"powderkeg API on http://{host}:{port}  [{mode}]")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
