"""``powderkeg bubble psy`` on the real reference data, and the report's Bubbles section."""

from __future__ import annotations

import json
import shutil
import time

import pandas as pd
import pytest


@pytest.fixture()
def store_copy(real_store_path, tmp_path):  # type: ignore[no-untyped-def]
    """A writable copy of the real-data store (the CLI caches critical values in it)."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(real_store_path, path)
    return path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from powderkeg.cli.main import run

    code = run(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_weekly_btc_json_and_cached_repeat(store_copy, capsys) -> None:  # type: ignore[no-untyped-def]
    args = [
        "--db",
        str(store_copy),
        "--json",
        "bubble",
        "psy",
        "BTC-USD",
        "--freq",
        "W",
        "--reps",
        "200",
        "--seed",
        "3",
    ]
    t0 = time.perf_counter()
    code, out, err = _run(args, capsys)
    first = time.perf_counter() - t0
    assert code == 0, err
    doc = json.loads(out)
    for key in (
        "stat",
        "pvalue",
        "critical_values",
        "nobs",
        "bsadf",
        "cv_sequence",
        "episodes",
        "provenance",
    ):
        assert key in doc
    assert doc["nobs"] > 550 and doc["min_window"] == int(
        (0.01 + 1.8 / doc["nobs"] ** 0.5) * doc["nobs"]
    )
    assert doc["provenance"]["parameters"]["freq"] == "W"
    assert doc["provenance"]["sources"][0]["symbol"] == "BTC-USD"
    # the 2017 run-up is an explosive episode in weekly BTC
    assert any(
        e["start"] < "2017-12-31" and (e["end"] is None or e["end"] > "2017-06-01")
        for e in doc["episodes"]
    )
    t0 = time.perf_counter()
    code, out2, _ = _run(args, capsys)
    assert code == 0 and json.loads(out2)["critical_values"] == doc["critical_values"]
    assert time.perf_counter() - t0 < first


def test_text_output_and_options(store_copy, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _run(
        [
            "--db",
            str(store_copy),
            "bubble",
            "psy",
            "NVDA",
            "--freq",
            "M",
            "--lags",
            "2",
            "--ic",
            "bic",
            "--reps",
            "100",
            "--start",
            "2005-01-01",
            "--asof",
            "2024-12-31",
            "--no-log",
        ],
        capsys,
    )
    assert code == 0, err
    assert "GSADF" in out and "Episodes" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["bubble", "psy", "NOPE"], "unknown symbol"),
        (["bubble", "psy", "BTC-USD", "--freq", "Q"], "--freq"),
        (["bubble", "psy", "BTC-USD", "--cv", "magic"], "--cv"),
        (["bubble", "psy", "BTC-USD", "--min-window", "2"], "min_window"),
    ],
)
def test_bad_input_exit_2(store_copy, capsys, args, needle) -> None:  # type: ignore[no-untyped-def]
    code, _, err = _run(["--db", str(store_copy), *args], capsys)
    assert code == 2
    assert needle in err


def test_report_section(store_copy) -> None:  # type: ignore[no-untyped-def]
    from powderkeg.data.store import Store
    from powderkeg.report.context import ReportContext
    from powderkeg.report.sections.bubbles import section

    with Store(store_copy) as store:
        ctx = ReportContext(store=store, seed=5, quick=True, asof=pd.Timestamp("2025-12-31"))
        t0 = time.perf_counter()
        sec = section(ctx)
        elapsed = time.perf_counter() - t0
    labels = [h.label for h in sec.headlines]
    assert labels == ["BTC-USD GSADF (p-value)", "NVDA GSADF (p-value)", "^IXIC GSADF (p-value)"]
    assert all(("episode" in h.reading) for h in sec.headlines)
    assert sum(1 for b in sec.blocks if not isinstance(b, str)) == 3
    assert {"BTC-USD", "NVDA", "^IXIC"} <= ctx.used_symbols
    assert elapsed < 30
