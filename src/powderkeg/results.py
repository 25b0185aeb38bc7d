"""The Result protocol shared by every analytic.

Every result object offers the same surface, consumed alike by the CLI, the HTML report,
the JSON API and notebooks:

``summary()``
    a :class:`Summary` (title, key/value facts, tables, notes) rendering to text and HTML;
``to_frame()``
    a tidy :class:`pandas.DataFrame`;
``to_dict()``
    a JSON-safe ``dict`` (numbers, strings, lists, dicts, ``None`` for NaN);
``plot()``
    a Plotly figure (not shown);
``__str__`` / ``_repr_html_``
    the summary as text / HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from powderkeg._version import __version__


def jsonable(obj: Any) -> Any:
    """Convert ``obj`` to JSON-safe Python values.

    NaN and infinities become ``None``; dates become ISO strings; numpy scalars and arrays,
    pandas Series (to ``[{"date": ..., "value": ...}]``) and DataFrames (to records) are
    converted recursively.
    """
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, bool):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        val = float(obj)
        return val if math.isfinite(val) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        if obj is pd.NaT:
            return None
        if obj == obj.normalize() and obj.tzinfo is None:
            return obj.strftime("%Y-%m-%d")
        return obj.isoformat()
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, np.datetime64):
        return jsonable(pd.Timestamp(obj))
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, pd.Series):
        return [
            {"date": jsonable(k), "value": jsonable(v)} for k, v in zip(obj.index, obj.to_numpy())
        ]
    if isinstance(obj, pd.DataFrame):
        if isinstance(obj.index, pd.DatetimeIndex) and obj.index.name is None:
            obj = obj.rename_axis("date")
        frame = obj.reset_index() if not isinstance(obj.index, pd.RangeIndex) else obj
        return [jsonable(rec) for rec in frame.to_dict(orient="records")]
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    return str(obj)


def format_value(value: Any, digits: int = 4) -> str:
    """Format a scalar for display: floats to ``digits`` significant figures, NaN as 'n/a'."""
    if value is None:
        return "n/a"
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(float(value)):
            return "n/a"
        v = float(value)
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.{digits}g}"
        return f"{v:,.{digits}f}".rstrip("0").rstrip(".") if abs(v) < 1e4 else f"{v:,.2f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


@dataclass
class Table:
    """A small table: a title, column names and rows of display values."""

    title: str
    columns: list[str]
    rows: list[list[Any]]

    @classmethod
    def from_frame(cls, title: str, frame: pd.DataFrame, index: bool = True) -> Table:
        """Build a table from a DataFrame (the index becomes the first column if ``index``)."""
        df = frame.reset_index() if index else frame
        return cls(title, [str(c) for c in df.columns], df.to_numpy().tolist())


@dataclass
class Summary:
    """A printable summary: title, facts (key/value), tables and notes."""

    title: str
    facts: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_text(self) -> str:
        """Render as plain text."""
        lines = [self.title, "=" * len(self.title)]
        width = max((len(k) for k, _ in self.facts), default=0)
        lines += [f"{k:<{width}}  {format_value(v)}" for k, v in self.facts]
        for table in self.tables:
            cells = [[format_value(c) for c in row] for row in table.rows]
            widths = [
                max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(table.columns)
            ]
            lines += ["", table.title]
            lines.append("  ".join(h.ljust(w) for h, w in zip(table.columns, widths)))
            lines.append("  ".join("-" * w for w in widths))
            lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
        if self.notes:
            lines.append("")
            lines += [f"* {n}" for n in self.notes]
        return "\n".join(lines)

    def as_html(self) -> str:
        """Render as an HTML fragment."""
        esc = html.escape
        out = ["<div class='pk-summary'>" + (f"<h3>{esc(self.title)}</h3>" if self.title else "")]
        if self.facts:
            out.append("<table class='pk-facts'>")
            out += [
                f"<tr><th>{esc(k)}</th><td>{esc(format_value(v))}</td></tr>" for k, v in self.facts
            ]
            out.append("</table>")
        for table in self.tables:
            out.append(f"<h4>{esc(table.title)}</h4><table class='pk-table'><thead><tr>")
            out += [f"<th>{esc(c)}</th>" for c in table.columns]
            out.append("</tr></thead><tbody>")
            for row in table.rows:
                out.append("<tr>" + "".join(_cell(c) for c in row) + "</tr>")
            out.append("</tbody></table>")
        if self.notes:
            out.append(
                "<ul class='pk-notes'>"
                + "".join(f"<li>{esc(n)}</li>" for n in self.notes)
                + "</ul>"
            )
        out.append("</div>")
        return "".join(out)

    def __str__(self) -> str:
        return self.as_text()


def _cell(value: Any) -> str:
    """A table cell; prose (text longer than a label) is marked to be set left-aligned."""
    opening = "<td class='txt'>" if isinstance(value, str) and len(value) > 24 else "<td>"
    return f"{opening}{html.escape(format_value(value))}</td>"


@dataclass
class Provenance:
    """Where a result came from: data sources (with fetch time), parameters, seed, version."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """Return the provenance as a JSON-safe dict."""
        return jsonable(
            {
                "sources": self.sources,
                "parameters": self.parameters,
                "seed": self.seed,
                "powderkeg_version": self.version,
            }
        )


class Result(ABC):
    """Base class implementing the Result protocol on top of three hooks.

    Subclasses implement :meth:`_payload` (the JSON keys), :meth:`summary` and
    :meth:`to_frame`; :meth:`plot` is optional.
    """

    provenance: Provenance

    @abstractmethod
    def _payload(self) -> dict[str, Any]:
        """Return the result's JSON keys (without provenance)."""

    @abstractmethod
    def summary(self) -> Summary:
        """Return the printable summary."""

    @abstractmethod
    def to_frame(self) -> pd.DataFrame:
        """Return the result as a tidy DataFrame."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict with the result's keys and its ``provenance``."""
        payload = dict(self._payload())
        payload["provenance"] = self.provenance.to_dict()
        return jsonable(payload)

    def plot(self) -> Any:
        """Return a Plotly figure of the result."""
        raise TypeError(f"{type(self).__name__} has no plot")

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()
