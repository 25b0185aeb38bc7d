"""Exceptions and warnings raised by powderkeg.

A shallow hierarchy: every error derives from :class:`PowderkegError`, every warning from
:class:`PowderkegWarning`. The CLI maps :class:`InputError` (and its subclasses) to exit code 2
and any other :class:`PowderkegError` to exit code 1.
"""

from __future__ import annotations


class PowderkegError(Exception):
    """Base class of every error raised by powderkeg."""


class InputError(PowderkegError, ValueError):
    """Bad user input: an argument, a file or a configuration that cannot be used."""


class DataFileError(InputError):
    """A data file that cannot be imported; the message names the file and the line.

    Parameters
    ----------
    path : str
        The file.
    line : int or None
        1-based line number in the file, when the problem is on one line.
    reason : str
        What is wrong.
    """

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class UnknownSymbolError(InputError, KeyError):
    """A symbol that is not in the store."""

    def __init__(self, symbol: str, hint: str = "") -> None:
        self.symbol = symbol
        msg = f"unknown symbol {symbol!r}: it is not in the store"
        if hint:
            msg += f" ({hint})"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class InsufficientDataError(InputError):
    """Too few observations for the requested computation."""


class StoreError(PowderkegError):
    """The store could not be opened, read or written."""


class ProviderError(PowderkegError):
    """A remote data source failed (after retries) or returned something unusable."""


class ConvergenceError(PowderkegError):
    """An estimator did not converge."""


class PowderkegWarning(UserWarning):
    """Base class of every warning issued by powderkeg."""


class ConvergenceWarning(PowderkegWarning):
    """An optimiser stopped before meeting its tolerance; results may be unreliable."""


class DataQualityWarning(PowderkegWarning):
    """The data have a property (gaps, stale values, mixed units) that affects a result."""


class PerformanceWarning(PowderkegWarning):
    """A fast path (numba) is unavailable and a slower one is used."""
