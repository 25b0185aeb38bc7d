"""Result objects for listing the store and showing one series."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from powderkeg.data.store import Store
from powderkeg.results import Provenance, Result, Summary, Table


@dataclass
class Inventory(Result):
    """Every stored series with kind, unit, frequency, first/last date and row count."""

    table: pd.DataFrame
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        rows = self.table.reset_index()
        return {"series": rows.to_dict(orient="records"), "count": len(rows)}

    def summary(self) -> Summary:
        """A table of the stored series."""
        cols = ["kind", "unit", "frequency", "first_date", "last_date", "n_obs"]
        return Summary(
            f"{len(self.table)} series in the store",
            tables=[Table.from_frame("Series", self.table[cols])],
        )

    def to_frame(self) -> pd.DataFrame:
        """The series table."""
        return self.table


def inventory(store: Store) -> Inventory:
    """Return the :class:`Inventory` of ``store``."""
    return Inventory(store.list_series(), Provenance(parameters={"store": store.path}))


@dataclass
class SeriesView(Result):
    """One series' metadata and (a window of) its observations."""

    info: dict[str, Any]
    observations: pd.DataFrame
    tail: int
    provenance: Provenance = field(default_factory=Provenance)

    def _payload(self) -> dict[str, Any]:
        return {"info": self.info, "observations": self.observations}

    def summary(self) -> Summary:
        """Metadata facts and the last ``tail`` observations."""
        obs = self.observations.tail(self.tail) if self.tail else self.observations
        obs = obs.copy()
        obs.index = pd.DatetimeIndex(obs.index).strftime("%Y-%m-%d")
        return Summary(
            f"{self.info['symbol']}",
            facts=[(k, v) for k, v in self.info.items() if k != "symbol"],
            tables=[
                Table.from_frame(f"Observations ({len(obs)} of {len(self.observations)})", obs)
            ],
        )

    def to_frame(self) -> pd.DataFrame:
        """The observations."""
        return self.observations


def series_view(
    store: Store, symbol: str, start: Any = None, end: Any = None, tail: int = 10
) -> SeriesView:
    """Return a :class:`SeriesView` of ``symbol`` between ``start`` and ``end``."""
    info = store.series_info(symbol)
    obs = store.history(symbol, start, end)
    return SeriesView(info, obs, tail, Provenance(sources=store.provenance([symbol])))
