"""Episode files: strict validation, inputs only, and clear errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from powderkeg.contagion.episode_spec import (
    MECHANISMS,
    builtin_dir,
    builtin_names,
    episodes_digest,
    load_episode,
    load_episodes,
)
from powderkeg.exceptions import InputError


def test_the_four_episodes_load_in_order() -> None:
    assert builtin_names() == ["march-2020", "terra-2022", "svb-2023", "oct-2025"]
    for ep in load_episodes():
        assert ep.outcomes.episode == ep.name
        assert set(ep.outcomes.mechanisms) == set(MECHANISMS)
        assert all(m.source for m in ep.outcomes.mechanisms.values())
        assert ep.outcomes.window_days <= ep.scenario.horizon_days


def test_outcomes_are_scored_against_the_reference_series() -> None:
    scored = {"BTC-USD", "ETH-USD", "HYG", "TLT", "^VIX", "DGS10", "STABLECOIN_SUPPLY"}
    for ep in load_episodes():
        targets = {t.observed.series for t in ep.outcomes.targets} - {None}
        assert targets and targets <= scored
        assert "BTC-USD" in targets


def test_replay_inputs_are_dated_inside_the_horizon() -> None:
    svb = load_episode("svb-2023")
    assert svb.scenario.policy.action_date == "2023-03-12"
    imp = svb.scenario.shock.impairments[0]
    assert (imp.start, imp.end) == ("2023-03-10", "2023-03-12")
    terra = load_episode("terra-2022")
    assert terra.scenario.shock.asset_paths[0].asset == "luna"
    assert terra.scenario.policy.enabled is False


@pytest.fixture()
def episode_copy(tmp_path: Path) -> Path:
    for name in ("svb-2023.yaml", "svb-2023.outcomes.yaml"):
        shutil.copy(builtin_dir() / name, tmp_path / name)
    return tmp_path / "svb-2023.yaml"


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_user_episode_by_path(episode_copy: Path) -> None:
    ep = load_episode(episode_copy)
    assert ep.name == "svb-2023"
    assert episodes_digest([ep]) == episodes_digest([load_episode("svb-2023")])


def test_published_figure_without_source(episode_copy: Path) -> None:
    out = episode_copy.with_name("svb-2023.outcomes.yaml")
    _edit(out, lambda d: d["targets"][0]["observed"]["published"].pop("source"))
    with pytest.raises(
        InputError,
        match=r"svb-2023.outcomes.yaml: targets.0.observed.published.source: required key",
    ):
        load_episode(episode_copy)


def test_mechanism_without_source_or_missing(episode_copy: Path) -> None:
    out = episode_copy.with_name("svb-2023.outcomes.yaml")
    _edit(out, lambda d: d["mechanisms"]["policy"].pop("source"))
    with pytest.raises(InputError, match=r"mechanisms.policy.source: required key is missing"):
        load_episode(episode_copy)
    _edit(out, lambda d: d["mechanisms"].pop("policy"))
    with pytest.raises(InputError, match="give every mechanism; missing policy"):
        load_episode(episode_copy)


def test_target_that_does_not_fit_the_scenario(episode_copy: Path) -> None:
    out = episode_copy.with_name("svb-2023.outcomes.yaml")
    _edit(out, lambda d: d["targets"][1]["model"].update(asset="gold"))
    with pytest.raises(InputError, match=r"targets.1.model.asset: unknown asset 'gold'"):
        load_episode(episode_copy)


def test_dates_outside_the_window(episode_copy: Path) -> None:
    out = episode_copy.with_name("svb-2023.outcomes.yaml")
    _edit(out, lambda d: d["targets"][0]["observed"]["published"].update(date="2024-01-01"))
    with pytest.raises(InputError, match="date 2024-01-01 lies outside the window"):
        load_episode(episode_copy)
    _edit(episode_copy, lambda d: d["policy"].update(action_date="2030-01-01"))
    with pytest.raises(InputError, match=r"policy.action_date: 2030-01-01 lies outside"):
        load_episode(episode_copy)


def test_missing_outcomes_file_and_unknown_name(episode_copy: Path) -> None:
    episode_copy.with_name("svb-2023.outcomes.yaml").unlink()
    with pytest.raises(InputError, match="no outcomes file beside it"):
        load_episode(episode_copy)
    with pytest.raises(InputError, match="unknown episode 'lehman-2008'; built-in: march-2020"):
        load_episode("lehman-2008")


def test_event_needs_its_date_and_source(episode_copy: Path) -> None:
    out = episode_copy.with_name("svb-2023.outcomes.yaml")
    event = {
        "key": "bank_fails",
        "label": "a bank fails",
        "model": {"event": "default", "group": "banks"},
        "observed": {"happened": True, "source": "FDIC press release 2023-03-10"},
    }
    _edit(out, lambda d: d["targets"].append(event))
    with pytest.raises(InputError, match="an event that happened needs its date"):
        load_episode(episode_copy)
