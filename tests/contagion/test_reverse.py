"""Reverse stress test against scenarios whose threshold is known in closed form."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from powderkeg.cli.main import run
from powderkeg.contagion.reverse import reverse_stress, scaled_scenario
from powderkeg.contagion.scenario_spec import parse_scenario
from powderkeg.exceptions import InputError

D = 0.35  # the scenario's AI-equity fall at scale 1


def fig(value: float, grade: str = "A") -> dict[str, Any]:
    return {"value": value, "range": [value, value], "grade": grade, "source": "closed-form test"}


def asset(key: str, kind: str, beta: float) -> dict[str, Any]:
    return {
        "key": key, "label": key, "kind": kind, "depth": fig(1e12), "stress_depth": fig(1.0),
        "policy_depth": fig(1.0), "ai_beta": fig(beta), "vol": fig(0.0),
        "recovery_drift": fig(0.0), "impact_half_life": fig(1e12),
    }  # fmt: skip


def closed_form(leverage: float) -> dict[str, Any]:
    """One bank holding only AI equities, no price impact, no noise, no jumps, no policy.

    The AI factor falls by ``scale·D`` on day 0 (a Wednesday, markets open). The bank (assets
    100, equity 100/leverage, never deleveraging: λ_max = 1000) is insolvent once
    ``100·scale·D > 100/leverage``; BTC moves by ``β_S = 2`` times the factor's log return, so
    it is 50% down once ``(1 − scale·D)² ≤ 1/2``.
    """
    btc = {k: fig(0.0) for k in ("beta_r", "eta", "delta", "chi", "gamma_sc", "sigma_s",
                                 "sigma_r", "jump_intensity", "jump_mean", "jump_sd")}  # fmt: skip
    btc.update(asset="btc", beta_s=fig(2.0))
    return {
        "name": "closed-form",
        "title": "closed form",
        "description": "one bank, one equity factor, BTC at twice the factor",
        "start_date": "2025-12-10",
        "horizon_days": 5,
        "execution": fig(0.5),
        "shock": {"ai_drawdown": fig(D), "shock_days": fig(1), "ai_vol": fig(0.0),
                  "liquidity_drift": fig(0.0)},
        "policy": {"enabled": False, "trigger_drawdown": fig(0.15), "trigger_days": 3,
                   "lag_days": fig(21), "qe_size": fig(0.0), "net_liquidity": fig(5000),
                   "ramp_days": 10, "ai_recovery_drift": fig(0.0)},
        "btc": btc,
        "assets": [asset("ai_equity", "equity", 1.0), asset("btc", "crypto", 0.0)],
        "groups": [{"key": "banks", "label": "a bank", "type": "bank", "count": 1,
                    "total_assets": fig(100.0), "leverage": fig(leverage),
                    "max_leverage": fig(1000.0), "marketable_share": fig(1.0),
                    "illiquid_ai_beta": fig(0.0), "portfolio": {"ai_equity": 1.0}}],
    }  # fmt: skip


def test_bank_default_threshold_is_the_equity_buffer() -> None:
    scn = parse_scenario(closed_form(leverage=10.0))
    res = reverse_stress(scn, "bank-default", paths=8, tolerance=0.01)
    p = res.payload
    exact = 0.1 / D  # loss 100·s·D exceeds equity 10
    assert p["reached"] is True
    lo, hi = p["bracket"]
    assert lo < exact <= hi and hi - lo <= 0.01
    assert p["scale"] == hi
    assert p["ai_drawdown"] == pytest.approx(hi * D)
    assert p["probability_at_scale"] == 1.0 and p["se_at_scale"] == 0.0
    probs = {r["scale"]: r["probability"] for r in p["evaluations"]}
    assert probs[0.0] == 0.0
    assert all(v == (1.0 if s > exact else 0.0) for s, v in probs.items())


def test_btc_below_half_threshold() -> None:
    scn = parse_scenario(closed_form(leverage=2.0))
    res = reverse_stress(scn, "btc-below-50", paths=8, tolerance=0.005)
    exact = (1.0 - math.sqrt(0.5)) / D  # (1 − s·D)² = 1/2
    lo, hi = res.payload["bracket"]
    assert lo < exact <= hi and hi - lo <= 0.005
    assert "from scale" in res.payload["message"]


def test_not_reached_is_explicit() -> None:
    # equity 98% of assets: the bank survives any fall up to 95%
    scn = parse_scenario(closed_form(leverage=1.02))
    res = reverse_stress(scn, "bank-default", paths=8)
    p = res.payload
    assert p["reached"] is False and p["scale"] is None and p["ai_drawdown"] is None
    assert p["max_scale"] == pytest.approx(0.95 / D)
    assert p["message"].startswith("not reached up to scale 2.714 (AI equities -95%)")
    assert "not reached" in res.summary().as_text()


@pytest.mark.enable_socket
def test_serial_processes_and_dask_give_the_same_answer() -> None:
    """A random scenario (ai-correction): the same seeded chunks whichever backend runs them."""
    from powderkeg.contagion.scenario_spec import load_scenario

    scn = load_scenario("ai-correction")
    kw = {"paths": 64, "tolerance": 1.0, "days": 30}
    serial = reverse_stress(scn, "btc-below-50", **kw)
    pooled = reverse_stress(scn, "btc-below-50", workers=2, **kw)
    dask = reverse_stress(scn, "btc-below-50", workers=2, scheduler="dask-local", **kw)
    assert len(serial.payload["evaluations"]) >= 3
    for other in (pooled, dask):
        assert other.payload["evaluations"] == serial.payload["evaluations"]
        assert other.payload["scale"] == serial.payload["scale"]


def test_scaled_scenario_caps_the_fall() -> None:
    scn = parse_scenario(closed_form(leverage=10.0))
    big = scaled_scenario(scn, 10.0).shock.ai_drawdown
    assert big.value == 0.95 and big.range == (0.95, 0.95)
    assert scaled_scenario(scn, 0.5).shock.ai_drawdown.value == pytest.approx(0.175)


def test_unknown_target_is_a_clear_error() -> None:
    with pytest.raises(InputError, match=r"unknown --target 'bank-run'.*bank-default"):
        reverse_stress(parse_scenario(closed_form(10.0)), "bank-run")


def test_cli_json_and_bad_target_exit_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "closed.yaml"
    path.write_text(yaml.safe_dump(closed_form(10.0)))
    db = str(tmp_path / "s.duckdb")
    argv = ["--db", db, "--json", "stress", "reverse", str(path), "--target", "bank-default",
            "--paths", "8", "--tolerance", "0.05"]  # fmt: skip
    assert run(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["reached"] is True and data["target"] == "bank-default"
    assert data["bracket"][0] < 0.1 / D <= data["bracket"][1]
    assert run(["--db", db, "stress", "reverse", str(path), "--target", "nope"]) == 2
    assert "unknown --target 'nope'" in capsys.readouterr().err
    assert run(["--db", db, "stress", "reverse", str(path), "--target", "bank-default",
                "--paths", "2"]) == 2  # fmt: skip
    assert "--paths must be >= 8" in capsys.readouterr().err


def test_api_reverse_job_matches_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from powderkeg.api.app import ApiSettings, create_app
    from tests.api.conftest import TOKEN, auth, strip_volatile
    from tests.api.test_jobs import wait

    argv = ["--db", str(tmp_path / "cli.duckdb"), "--json", "stress", "reverse", "ai-correction",
            "--target", "btc-below-50", "--paths", "8", "--tolerance", "0.5"]  # fmt: skip
    assert run(argv) == 0
    expected = json.loads(capsys.readouterr().out)
    body = {"scenario": "ai-correction", "target": "btc-below-50", "paths": 8, "tolerance": 0.5}
    with TestClient(create_app(ApiSettings(db=str(tmp_path / "api.duckdb"), token=TOKEN))) as c:
        r = c.post("/api/jobs/stress/reverse", json=body, headers=auth())
        assert r.status_code == 202, r.text
        job = wait(c, r.json()["id"], timeout=120)
        bad = c.post(
            "/api/jobs/stress/reverse", json={**body, "scenario": "lehman-2008"}, headers=auth()
        )
        odd = c.post("/api/jobs/stress/reverse", json={**body, "target": "nope"}, headers=auth())
    assert job["status"] == "finished", job
    assert strip_volatile(job["result"]) == strip_volatile(expected)
    assert bad.status_code == 422 and "scenario must be one of" in bad.text
    assert odd.status_code == 422
