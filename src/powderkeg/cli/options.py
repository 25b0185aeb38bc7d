"""Options that several commands share, spelled and explained once."""

from __future__ import annotations

from typing import Annotated

import typer

Start = Annotated[
    str | None, typer.Option("--start", help="First date used (YYYY-MM-DD; default: all).")
]
Asof = Annotated[
    str | None, typer.Option("--asof", help="Last date used (YYYY-MM-DD; default: latest).")
]
Calendar = Annotated[
    str,
    typer.Option(
        "--calendar",
        help="intersection (default: common dates; returns span gaps), union-ffill, or an "
        "exchange code such as XNYS.",
    ),
]
Workers = Annotated[int, typer.Option("--workers", help="Local processes.")]
Scheduler = Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed (same seed, same numbers).")]
