"""Shipped defaults carry sources; overrides are strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from powderkeg.energy.params import SECTIONS, default_params, load_params
from powderkeg.exceptions import InputError


def test_every_default_has_source_and_date() -> None:
    params = default_params()
    for sec in SECTIONS:
        assert params.sections[sec]
        for name, p in params.sections[sec].items():
            assert p.source and len(p.source) > 15, name
            assert p.date[:2] in ("19", "20"), name
            assert p.unit, name
    assert len(params.difficulty_anchors) >= 5
    assert all(a.source for a in params.difficulty_anchors)


def test_override_file(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(
        "mining:\n  power_price_usd_mwh: 42\ncompute:\n  pue:\n    value: 1.2\n"
        "    source: my DC\n    date: '2025-01-01'\n"
        "difficulty_anchors:\n  - {date: '2025-01-01', difficulty_t: 100}\n"
    )
    params = load_params(f)
    assert params.get("mining", "power_price_usd_mwh") == 42.0
    assert params.sections["mining"]["power_price_usd_mwh"].source == str(f)
    assert params.sections["compute"]["pue"].source == "my DC"
    assert len(params.difficulty_anchors) == 1
    assert params.origin == (str(f),)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("minig:\n  x: 1\n", "unknown section 'minig'"),
        ("mining:\n  power_prize: 1\n", "unknown key 'mining.power_prize'"),
        ("compute:\n  utilisation: 1.5\n", "'compute.utilisation' must be <= 1.0"),
        ("compute:\n  pue: {value: 1.2, unit: kW}\n", "must be in ratio"),
        ("compute:\n  pue: {value: 1.2, colour: red}\n", "unknown key 'compute.pue.colour'"),
        ("mining:\n  efficiency_j_per_th: fast\n", "must be a number"),
        ("mining: [1, 2\n", "line"),
    ],
)
def test_strict_errors_name_file_and_key(tmp_path: Path, text: str, match: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(InputError, match=match) as info:
        load_params(f)
    assert str(f) in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(InputError, match="not found"):
        load_params("/nonexistent/params.yaml")
