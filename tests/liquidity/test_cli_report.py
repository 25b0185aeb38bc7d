"""``powderkeg liq ...`` on the real store, and the report section."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from powderkeg.cli.main import run


def _json(capsys, argv: list[str]) -> dict:  # type: ignore[no-untyped-def, type-arg]
    code = run(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_liq_net_json(real_store_path, capsys) -> None:
    d = _json(
        capsys,
        [
            "--db",
            str(real_store_path),
            "liq",
            "net",
            "--asof",
            "2025-09-18",
            "--start",
            "2025-09-01",
            "--json",
        ],
    )
    assert d["asof"] == "2025-09-18"
    assert d["value"] == pytest.approx(5787.748, abs=1e-6)
    assert d["unit"] == "USD billions"
    assert d["series"][0]["date"] == "2025-09-01"
    assert d["provenance"]["sources"]
    # global --json works the same
    g = _json(
        capsys,
        [
            "--db",
            str(real_store_path),
            "--json",
            "liq",
            "net",
            "--asof",
            "2025-09-18",
            "--start",
            "2025-09-01",
        ],
    )
    assert g["value"] == d["value"]


def test_liq_net_text_states_sources_units_alignment(real_store_path, capsys) -> None:
    assert run(["--db", str(real_store_path), "liq", "net"]) == 0
    out = capsys.readouterr().out
    for word in ("RRPONTSYD", "USD billions", "Alignment", "carried forward", "WTREGEN"):
        assert word in out


def test_liq_beta(real_store_path, capsys) -> None:
    d = _json(
        capsys,
        ["--db", str(real_store_path), "liq", "beta", "BTC-USD", "--max-lag-weeks", "6", "--json"],
    )
    assert d["max_lag_weeks"] == 6 and len(d["lags"]) == 7
    assert d["headline_correction"] == "holm"
    assert isinstance(d["surviving_lags"], list)
    assert (
        run(["--db", str(real_store_path), "liq", "beta", "BTC-USD", "--max-lag-weeks", "3"]) == 0
    )
    out = capsys.readouterr().out
    assert "Holm" in out and "HAC" in out


def test_liq_money_and_capital(real_store_path, capsys) -> None:
    m = _json(capsys, ["--db", str(real_store_path), "liq", "money", "--json"])
    assert m["m2"]["level_bn"] > 20000
    c = _json(
        capsys,
        [
            "--db",
            str(real_store_path),
            "liq",
            "capital",
            "--window",
            "42",
            "--asof",
            "2026-04-24",
            "--json",
        ],
    )
    assert c["window"] == 42 and c["asof"] == "2026-04-24"
    assert {x["component"] for x in c["components"]} == {
        "10y yield",
        "HY OAS",
        "broad dollar",
        "net liquidity",
        "duration spread",
    }
    assert run(["--db", str(real_store_path), "liq", "capital"]) == 0
    out = capsys.readouterr().out
    assert "Thresholds" in out and "contribution" in out and "rule" in out


def test_liq_bad_input_exit_2(real_store_path, capsys) -> None:
    assert run(["--db", str(real_store_path), "liq", "beta", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err
    assert run(["--db", str(real_store_path), "liq", "net", "--asof", "soon"]) == 2
    assert "asof" in capsys.readouterr().err
    assert run(["--db", str(real_store_path), "liq", "capital", "--window", "1"]) == 2


def test_liq_help_has_examples(capsys) -> None:
    for cmd in ("net", "beta", "money", "capital"):
        assert run(["liq", cmd, "--help"]) == 0
        assert "powderkeg liq " + cmd in capsys.readouterr().out


def test_report_section_real(real_store) -> None:
    from powderkeg.report.context import ReportContext
    from powderkeg.report.sections.liquidity import section

    ctx = ReportContext(real_store, asof=pd.Timestamp("2025-12-10"))
    sec = section(ctx)
    assert sec is not None and sec.key == "liquidity"
    labels = [h.label for h in sec.headlines]
    assert labels == [
        "Fed net liquidity",
        "BTC liquidity beta (weekly)",
        "Capital scarcity ('reverse QE')",
    ]
    assert sec.headlines[0].value == "$5.69tn"
    assert "2025-12-10" in sec.headlines[0].reading
    assert {"WALCL", "RRPONTSYD", "BTC-USD", "DGS10"} <= ctx.used_symbols
    figs = [b for b in sec.blocks if not isinstance(b, str)]
    assert len(figs) == 3


def test_report_section_missing_inputs() -> None:
    from powderkeg.data.store import Store
    from powderkeg.report.context import ReportContext
    from powderkeg.report.sections.liquidity import section

    with Store(":memory:") as store:
        assert section(ReportContext(store)) is None
