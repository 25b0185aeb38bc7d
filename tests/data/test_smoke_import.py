from __future__ import annotations

from powderkeg.data.sources.package import read_package
from powderkeg.data.store import Store
from tests.conftest import PACKAGE


def test_package_import_counts_rows_and_is_idempotent(real_store_path) -> None:
    with Store(real_store_path) as store:
        listing = store.list_series()
        assert len(listing) == 57
        assert listing.loc["BTC-USD", "n_obs"] == 4357
        assert str(listing.loc["BTC-USD", "first_date"].date()) == "2014-09-17"
        batches, _ = read_package(PACKAGE, ["btc-usd", "walcl"])
        report = store.ingest(batches, source="package", target="again")
        assert (report.inserted, report.updated) == (0, 0)
        assert report.unchanged == 4357 + 1225
