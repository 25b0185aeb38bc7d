"""What report sections receive and return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from powderkeg.data.store import Store


@dataclass
class Headline:
    """One number for the executive summary, with a one-line reading."""

    label: str
    value: str
    reading: str


@dataclass
class Section:
    """A report section: headlines for the summary, HTML blocks and Plotly figures.

    ``blocks`` is a list of HTML fragments or Plotly figures, rendered in order.
    """

    key: str
    title: str
    intro: str = ""
    headlines: list[Headline] = field(default_factory=list)
    blocks: list[Any] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReportContext:
    """Inputs shared by every section builder.

    Attributes
    ----------
    store : Store
        The data.
    asof : Timestamp or None
        Render the report as of this date, using only data available then.
    seed : int
        Seed for any simulation a section runs.
    quick : bool
        Use smaller simulation sizes (tests, previews).
    """

    store: Store
    asof: pd.Timestamp | None = None
    seed: int = 20251210
    quick: bool = False
    used_symbols: set[str] = field(default_factory=set)

    def available(self, *symbols: str) -> bool:
        """Return True when every symbol is stored."""
        have = set(self.store.symbols())
        return all(s in have for s in symbols)

    def frame(self, symbols: list[str], **kwargs: Any) -> pd.DataFrame:
        """``store.frame`` cut at ``asof``, recording the symbols for the provenance appendix."""
        self.used_symbols.update(symbols)
        end = kwargs.pop("end", None)
        if self.asof is not None:
            end = self.asof if end is None else min(pd.Timestamp(end), self.asof)
        return self.store.frame(symbols, end=end, **kwargs)
