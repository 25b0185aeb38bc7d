"""Runtime configuration: where the store lives and which environment variables matter."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "POWDERKEG_HOME"
ENV_DISABLE_NUMBA = "POWDERKEG_DISABLE_NUMBA"
DB_FILENAME = "powderkeg.duckdb"


def home() -> Path:
    """Return the powderkeg home directory (``$POWDERKEG_HOME`` or ``~/.powderkeg``)."""
    env = os.environ.get(ENV_HOME)
    return Path(env).expanduser() if env else Path.home() / ".powderkeg"


def default_db_path() -> Path:
    """Return the default store location, ``<home>/powderkeg.duckdb``."""
    return home() / DB_FILENAME
