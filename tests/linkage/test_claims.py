"""Claims files: strict validation, hand-computed evaluations, the shipped press claims."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from powderkeg.exceptions import DataFileError, InputError
from powderkeg.linkage.claims import (
    INSUFFICIENT,
    NOT_SUPPORTED,
    SUPPORTED,
    evaluate_claims,
    load_claims,
    parse_claims,
)

BASE = """\
claims:
  - id: first
    type: pct_change
    symbol: BTC-USD
    start: 2025-09-17
    end: 2025-12-10
    stated: -20
    tolerance: 2.5
    source: test
"""


class TestValidation:
    def test_unknown_key_names_file_index_and_line(self) -> None:
        text = (
            BASE
            + """\
  - type: correlation
    a: BTC-USD
    b: NVDA
    window: 30
    end: 2025-11-18
    on: levels
    stated: 0.9
    tolerance: 0.1
    source: test
    windw: 63
"""
        )
        with pytest.raises(DataFileError) as err:
            parse_claims(text, "x.yaml")
        msg = str(err.value)
        assert msg.startswith("x.yaml, line 19: claim 1:") and "unknown key 'windw'" in msg
        assert "allowed:" in msg and "window" in msg

    @pytest.mark.parametrize(
        ("edit", "needle"),
        [
            (("tolerance: 2.5", "tolerance: -1"), "tolerance"),
            (("    source: test\n", ""), "missing key 'source'"),
            (("type: pct_change", "type: sharpe"), "type must be one of"),
            (("start: 2025-09-17", "start: 2026-01-01"), "start must be before end"),
            (("claims:", "claim:"), "unknown top-level keys"),
            (("end: 2025-12-10", "end: someday"), "end"),
        ],
    )
    def test_rejections(self, edit: tuple[str, str], needle: str) -> None:
        with pytest.raises(DataFileError, match=needle):
            parse_claims(BASE.replace(*edit), "x.yaml")

    def test_bad_window_and_missing_file(self) -> None:
        text = BASE.replace("type: pct_change", "type: beta").replace(
            "symbol: BTC-USD\n    start: 2025-09-17",
            "symbol: NVDA\n    market: ^IXIC\n    window: 2X",
        )
        with pytest.raises(DataFileError, match="claim 0 \\(first\\): window"):
            parse_claims(text, "x.yaml")
        with pytest.raises(InputError, match="not found"):
            load_claims("no-such-claims.yaml")

    def test_shipped_press_file(self) -> None:
        cf = load_claims("press-2025")
        assert len(cf.claims) == 5 and "shipped" in cf.path
        first = cf.claims[0]
        assert first.type == "correlation" and first.on == "levels" and first.window == "3M"
        assert all(c.source for c in cf.claims)


def _prices(store, sym: str) -> pd.Series:
    return store.frame([sym])[sym].dropna()


def test_evaluations_match_hand_computations(real_store, tmp_path) -> None:
    text = """\
- id: pct
  type: pct_change
  symbol: BTC-USD
  start: 2025-09-17
  end: 2025-11-21
  stated: -27
  tolerance: 1
  source: hand
- id: dd
  type: drawdown
  symbol: NVDA
  end: 2025-11-21
  since: 2025-01-01
  stated: 25
  tolerance: 5
  source: hand
- id: beta
  type: beta
  symbol: NVDA
  market: ^IXIC
  window: 60
  end: 2025-10-31
  stated: 1.5
  tolerance: 0.3
  source: hand
- id: corr
  type: correlation
  a: BTC-USD
  b: ^IXIC
  window: 30
  end: 2025-12-10
  on: returns
  stated: 0.53
  tolerance: 0.01
  source: hand
- id: missing
  type: pct_change
  symbol: NOPE
  start: 2025-01-01
  end: 2025-02-01
  stated: 1
  tolerance: 1
  source: hand
- id: future
  type: pct_change
  symbol: BTC-USD
  start: 2030-01-01
  end: 2030-02-01
  stated: 1
  tolerance: 1
  source: hand
"""
    path = tmp_path / "hand.yaml"
    path.write_text(text)
    res = evaluate_claims(load_claims(path), real_store)
    by = {c.claim.id: c for c in res.checks}

    btc = _prices(real_store, "BTC-USD")
    pct = (btc.loc["2025-11-21"] / btc.loc["2025-09-17"] - 1) * 100
    assert by["pct"].computed == pytest.approx(pct, abs=1e-9)
    assert by["pct"].verdict == (SUPPORTED if abs(pct + 27) <= 1 else NOT_SUPPORTED)

    nvda = _prices(real_store, "NVDA").loc["2025-01-01":"2025-11-21"]
    dd = (nvda.iloc[-1] / nvda.max() - 1) * 100
    assert by["dd"].computed == pytest.approx(dd, abs=1e-9)
    assert by["dd"].sample["peak_date"] == nvda.idxmax()
    assert by["dd"].verdict == (SUPPORTED if abs(dd + 25) <= 5 else NOT_SUPPORTED)

    f = real_store.frame(["NVDA", "^IXIC"], end="2025-10-31").dropna()
    lr = np.log(f).diff().dropna().iloc[-60:]
    slope = np.polyfit(lr["^IXIC"], lr["NVDA"], 1)[0]
    assert by["beta"].computed == pytest.approx(slope, abs=1e-10)
    assert by["beta"].sample["n"] == 60

    g = real_store.frame(["BTC-USD", "^IXIC"], end="2025-12-10").dropna()
    r = np.log(g).diff().iloc[-30:]
    lev = g.iloc[-30:]
    assert by["corr"].computed == pytest.approx(r["BTC-USD"].corr(r["^IXIC"]), abs=1e-12)
    assert by["corr"].alternatives["on_levels"] == pytest.approx(
        lev["BTC-USD"].corr(lev["^IXIC"]), abs=1e-12
    )
    assert by["corr"].verdict == SUPPORTED

    assert by["missing"].verdict == INSUFFICIENT and "NOPE" in by["missing"].explanation
    assert by["future"].verdict == INSUFFICIENT
    assert res.counts()[INSUFFICIENT] == 2
    cut = evaluate_claims(load_claims(path), real_store, asof="2025-11-01")
    assert {c.claim.id: c.verdict for c in cut.checks}["corr"] == INSUFFICIENT


def test_cli_press_claims(real_store_path, capsys) -> None:
    from powderkeg.cli.main import run

    assert run(["--db", str(real_store_path), "--json", "link", "claims", "press-2025"]) == 0
    out = json.loads(capsys.readouterr().out)
    verdicts = {c["id"]: c for c in out["claims"]}
    nvda = verdicts["btc-nvda-3m-before-earnings"]
    # Neither the level (about -0.2) nor the return (about 0.3) correlation is near 0.96.
    assert nvda["verdict"] == NOT_SUPPORTED and nvda["computed"] < 0.5
    assert nvda["alternatives"]["on_returns"] < 0.5
    assert nvda["method"].startswith("Pearson on price levels")
    assert nvda["calendar"] == "intersection" and nvda["sample"]["end"] == "2025-11-18"
    assert verdicts["btc-nasdaq-30d-pearson"]["verdict"] == SUPPORTED
    assert verdicts["btc-down-20-since-sep-17"]["verdict"] == SUPPORTED
    assert verdicts["nasdaq-up-6-since-sep-17"]["verdict"] == SUPPORTED
    assert sum(out["counts"].values()) == 5

    assert run(["link", "claims", "--help"]) == 0
    assert "Example" in capsys.readouterr().out


def test_cli_claims_bad_file(real_store_path, tmp_path, capsys) -> None:
    from powderkeg.cli.main import run

    path = tmp_path / "bad.yaml"
    path.write_text(BASE.replace("source: test", "source: test\n    colour: red"))
    assert run(["--db", str(real_store_path), "link", "claims", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "claim 0" in err and "colour" in err
