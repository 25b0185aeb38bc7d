"""Single-series commands refuse universe names (found by the fuzzer) on every surface."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from powderkeg.cli.main import run
from powderkeg.data.store import Store
from powderkeg.exceptions import UnknownSymbolError
from powderkeg.service import bubble, link, liq
from powderkeg.service._inputs import one_series, stored_series


def test_one_series_names_the_argument_and_the_members() -> None:
    with pytest.raises(UnknownSymbolError, match="symbol must name one stored series") as info:
        one_series("Liquidity")
    assert "WALCL" in str(info.value)
    assert one_series("BTC-USD") == "BTC-USD"


def test_stored_series_is_the_close(real_store: Store) -> None:
    close = stored_series(real_store, "NVDA")
    assert close.name == "NVDA"
    assert close.notna().all() and len(close) > 1000
    with pytest.raises(UnknownSymbolError, match="NOPE"):
        stored_series(real_store, "NOPE")


@pytest.mark.parametrize(
    "call",
    [
        lambda s: bubble.psy(s, "liquidity", cv="none"),
        lambda s: bubble.psy_work(s, "ai"),
        lambda s: bubble.lppls(s, "ai"),
        lambda s: bubble.signals(s, "crypto", psy=False, lppls=False),
        lambda s: liq.beta(s, "mag7"),
        lambda s: link.corr(s, "BTC-USD", "ai"),
        lambda s: link.spurious(s, "ai", "NVDA"),
        lambda s: link.regimes(s, "BTC-USD", "ai"),
    ],
    ids=["psy", "psy_work", "lppls", "signals", "liq_beta", "corr", "spurious", "regimes"],
)
def test_service_refuses_universe(real_store: Store, call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownSymbolError, match="is a universe"):
        call(real_store)


@pytest.mark.parametrize(
    "args",
    [
        ["bubble", "psy", "liquidity", "--cv", "none"],
        ["bubble", "lppls", "ai"],
        ["bubble", "signals", "ai"],
        ["liq", "beta", "crypto"],
        ["link", "corr", "ai", "BTC-USD"],
    ],
)
def test_cli_exit_2_naming_the_argument(
    args: list[str], real_store_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "copy.duckdb"  # bubble psy opens the store for writing (its cache)
    shutil.copy(real_store_path, db)
    assert run(["--db", str(db), *args]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "symbol must name one stored series" in err
    assert f"'{args[2]}' is a universe" in err
