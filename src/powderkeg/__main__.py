"""``python -m powderkeg``."""

import sys

from powderkeg.cli.main import run

sys.exit(run())
