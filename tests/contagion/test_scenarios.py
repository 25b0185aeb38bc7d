"""Scenario YAML schema: strict validation, sources and ranges, catalogue, stable hash."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from powderkeg.contagion.scenario_spec import (
    builtin_dir,
    builtin_names,
    list_scenarios,
    load_scenario,
    parse_scenario,
    scenario_hash,
)
from powderkeg.exceptions import InputError

BUILTIN = ["ai-correction", "covid-2020", "oracle-shock", "tightening-2022"]


def _raw(name: str = "ai-correction") -> dict:
    return yaml.safe_load((builtin_dir() / f"{name}.yaml").read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _error(tmp_path: Path, data: dict) -> str:
    with pytest.raises(InputError) as exc:
        load_scenario(_write(tmp_path, data))
    return str(exc.value)


def test_builtins_load_with_sources_grades_and_ranges() -> None:
    assert builtin_names() == BUILTIN
    for scn in list_scenarios():
        figures = list(scn.figures())
        assert len(figures) > 100
        for key, fig in figures:
            assert len(fig.source) >= 3, key
            assert fig.grade in "VSRAC"
            if fig.grade in ("R", "A", "C"):
                assert fig.range is not None, key
            if fig.range is not None:
                assert fig.range[0] <= fig.value <= fig.range[1], key
        assert scn.description and scn.title


def test_ai_correction_calibrated_to_model_spec_section_8() -> None:
    scn = load_scenario("ai-correction")
    assert scn.inputs["hedge_fund_borrowing"].value == 6200
    assert scn.inputs["bank_loans_to_nbfi"].range == (1000, 1700)
    hf = next(g for g in scn.groups if g.key == "hedge_funds")
    # leverage consistent with $12.47 trn assets and ~$6.2 trn borrowing
    borrowing = hf.total_assets.value * (1 - 1 / hf.leverage.value)
    assert 6000 <= borrowing <= 6500
    bank_nbfi = sum(
        x.amount.value
        for x in scn.lending
        if x.lender == "banks" and x.borrower in ("hedge_funds", "private_credit")
    )
    assert 1000 <= bank_nbfi <= 1700
    assert scn.btc.beta_s.value == 2.0 and scn.btc.beta_s.range == (1.5, 2.5)
    assert scn.policy.lag_days.value == 21 and scn.policy.lag_days.range == (7, 60)


def test_calibrated_figures_name_their_prior_and_parameter(tmp_path: Path) -> None:
    data = _raw()
    data["btc"]["eta"].pop("prior")
    msg = _error(tmp_path, data)
    assert "bad.yaml: btc.eta: a calibrated figure (grade C) gives its prior" in msg
    data = _raw()
    data["btc"]["beta_s"]["prior"] = 2.0  # graded A: a prior means nothing there
    assert "btc.beta_s: only a calibrated figure (grade C) has a prior" in _error(tmp_path, data)


def test_unknown_key_rejected_with_file_and_key_path(tmp_path: Path) -> None:
    data = _raw()
    data["groups"][2]["levrage"] = 3.0
    msg = _error(tmp_path, data)
    assert "bad.yaml" in msg and "groups.2.levrage" in msg and "unknown key" in msg
    data = _raw()
    data["shock"]["ai_drawdown"]["sorce"] = "typo"
    msg = _error(tmp_path, data)
    assert "shock.ai_drawdown.sorce" in msg


def test_missing_source_rejected(tmp_path: Path) -> None:
    data = _raw()
    del data["groups"][0]["leverage"]["source"]
    msg = _error(tmp_path, data)
    assert "bad.yaml: groups.0.leverage.source: required key is missing" in msg


def test_assumption_without_range_rejected(tmp_path: Path) -> None:
    data = _raw()
    del data["btc"]["eta"]["range"]
    msg = _error(tmp_path, data)
    assert "btc.eta" in msg and "must give a range" in msg


def test_value_outside_its_range_rejected(tmp_path: Path) -> None:
    data = _raw()
    data["groups"][2]["leverage"]["value"] = 9.0
    msg = _error(tmp_path, data)
    assert "groups.2.leverage" in msg and "outside its range" in msg


def test_out_of_domain_values_rejected(tmp_path: Path) -> None:
    data = _raw()
    data["groups"][0]["marketable_share"] = {"value": 1.5, "grade": "V", "source": "typo"}
    msg = _error(tmp_path, data)
    assert "groups.0.marketable_share" in msg and "must lie in [0, 1]" in msg
    data = _raw()
    data["assets"][0]["depth"]["value"] = -5
    data["assets"][0]["depth"]["range"] = [-10, 8000]
    assert "assets.0.depth" in _error(tmp_path, data)
    data = _raw()
    data["horizon_days"] = 0
    assert "horizon_days" in _error(tmp_path, data)


def test_cross_references_checked(tmp_path: Path) -> None:
    data = _raw()
    data["groups"][0]["portfolio"] = {"treasuries": 0.5, "gold": 0.5}
    assert "unknown asset(s) gold" in _error(tmp_path, data)
    data = _raw()
    data["groups"][0]["portfolio"] = {"treasuries": 0.5, "tbills": 0.4}
    assert "sum to 1" in _error(tmp_path, data)
    data = _raw()
    data["lending"][0]["borrower"] = "nobody"
    assert "lending.0.borrower: unknown group 'nobody'" in _error(tmp_path, data)
    data = _raw()
    data["lending"][2]["amount"] = {"value": 5000, "grade": "S", "source": "too big"}
    assert "lends up to" in _error(tmp_path, data)
    data = _raw()
    data["btc"]["asset"] = "gold"
    assert "btc.asset" in _error(tmp_path, data)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken.yaml, line \d+: invalid YAML"):
        load_scenario(path)
    with pytest.raises(InputError, match="a scenario must be a mapping"):
        parse_scenario(["not", "a", "mapping"], "list.yaml")


def test_unknown_name_lists_builtins() -> None:
    with pytest.raises(InputError, match=r"unknown scenario 'nope'.*ai-correction"):
        load_scenario("nope")
    with pytest.raises(InputError, match="not found"):
        load_scenario("missing-file.yaml")


def test_user_file_loads(tmp_path: Path) -> None:
    data = _raw("oracle-shock")
    data["name"] = "my-shock"
    scn = load_scenario(_write(tmp_path, data, "mine.yaml"))
    assert scn.name == "my-shock"


def test_hash_is_stable_and_content_sensitive(tmp_path: Path) -> None:
    scn = load_scenario("ai-correction")
    h = scenario_hash(scn)
    assert len(h) == 16 and h == scenario_hash(load_scenario("ai-correction"))
    data = _raw()
    reordered = dict(reversed(list(data.items())))  # key order and formatting do not matter
    path = tmp_path / "same.yaml"
    path.write_text(yaml.safe_dump(reordered, default_flow_style=True, width=70), "utf-8")
    assert scenario_hash(load_scenario(path)) == h
    data["shock"]["ai_drawdown"]["value"] = 0.36
    assert scenario_hash(load_scenario(_write(tmp_path, data, "diff.yaml"))) != h
    hashes = {scenario_hash(s) for s in list_scenarios()}
    assert len(hashes) == len(BUILTIN)
