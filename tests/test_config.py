"""Configuration: defaults, validation messages that name the key, and the weighted-KPI warning."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from scorecard.config import Config, TargetRule, load_config
from scorecard.errors import ConfigError
from scorecard_fixtures import Inputs, ix

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scorecard.yml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as exc:
        load_config(write(tmp_path, text))
    return str(exc.value)


def test_defaults():
    config = load_config(None)
    assert config == Config()
    assert (config.timezone, config.survey_window_days, config.min_sample) == ("UTC", 7, 30)
    assert (config.quadrants.importance, config.quadrants.gap) == (None, 25)
    assert config.cutoff is None and config.targets == [] and config.columns == {}


def test_the_repository_configuration_loads():
    config = load_config(REPO / "scorecard.yml")
    assert config.timezone == "Europe/Paris"
    assert config.data == REPO / "data" / "demo"


def test_a_full_configuration(tmp_path):
    config = load_config(write(tmp_path, """
timezone: America/New_York
survey_window_days: 14
min_sample: 5
cutoff: 2026-03-01T00:00:00+00:00
data: inputs
database: /abs/db.duckdb
quadrants: {importance: 20, gap: 30}
columns:
  interactions: {"Ticket ID": interaction_id}
targets:
  - {kpi: csat, unit: "EU/Paris Équipe", effective_from: "2026-02", target: 90, amber: 85, weight: 30, owner: Ana}
  - {kpi: frt_median, effective_from: 2026-03, target: 30, amber: 60}
"""))
    assert config.timezone == "America/New_York"
    assert (config.survey_window_days, config.min_sample) == (14, 5)
    assert config.cutoff == datetime.fromisoformat("2026-03-01T00:00:00+00:00")
    assert config.data == tmp_path / "inputs"           # relative to the configuration file
    assert config.database == Path("/abs/db.duckdb")
    assert (config.quadrants.importance, config.quadrants.gap) == (20, 30)
    assert config.columns == {"interactions": {"Ticket ID": "interaction_id"}}
    assert config.targets[0] == TargetRule(kpi="csat", unit="EU/Paris Équipe", effective_from="2026-02",
                                           target=90, amber=85, weight=30, owner="Ana")
    assert config.targets[1].effective_from == "2026-03"


def test_an_empty_file_gives_the_defaults(tmp_path):
    assert load_config(write(tmp_path, "# nothing\n")).timezone == "UTC"


@pytest.mark.parametrize("text,where", [
    ("colour: blue\n", "colour: unknown key"),
    ("quadrants: {gap: 25, split: 3}\n", "quadrants.split: unknown key"),
    ("targets:\n  - {kpi: csat, target: 90, amber: 85, colour: red}\n", "targets[0].colour: unknown key"),
])
def test_unknown_key_is_named(tmp_path, text, where):
    message = config_error(tmp_path, text)
    assert "invalid configuration" in message
    assert where in message


@pytest.mark.parametrize("zone", ["Europe/Pariss", "CET+1", "", "../etc/passwd"])
def test_bad_timezone(tmp_path, zone):
    message = config_error(tmp_path, f"timezone: '{zone}'\n")
    assert "timezone" in message and "unknown time zone" in message


@pytest.mark.parametrize("value", ["'2026-1'", "'2026-13'", "'26-01'", "2026-01-01", "'2026-01-01'", "202601"])
def test_bad_effective_from(tmp_path, value):
    message = config_error(tmp_path, f"targets:\n  - {{kpi: csat, effective_from: {value}, target: 90, amber: 85}}\n")
    assert "targets[0].effective_from" in message


def test_effective_from_message_says_what_is_expected(tmp_path):
    message = config_error(tmp_path, "targets:\n  - {kpi: csat, effective_from: '2026-13', target: 90, amber: 85}\n")
    assert "expected a month as YYYY-MM, got '2026-13'" in message


@pytest.mark.parametrize("text,fragment", [
    ("targets:\n  - {kpi: happiness, target: 1, amber: 0}\n", "unknown KPI 'happiness'"),
    ("targets:\n  - {kpi: volume, target: 100, amber: 50}\n", "volume is context only"),
    ("targets:\n  - {kpi: csat, weight: -1}\n", "targets[0].weight"),
    ("columns:\n  tickets: {id: interaction_id}\n", "unknown table 'tickets'"),
    ("survey_window_days: -1\n", "survey_window_days"),
    ("min_sample: 0\n", "min_sample"),
    ("quadrants: {gap: 100}\n", "quadrants.gap"),
    ("- a\n- b\n", "expected a mapping"),
    ("timezone: [unclosed\n", "not valid YAML"),
])
def test_invalid_settings(tmp_path, text, fragment):
    message = config_error(tmp_path, text)
    assert fragment in message
    assert str(tmp_path / "scorecard.yml") in message


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.yml")


# --- the weighted-KPI warning ---------------------------------------------------------------------------

def _summary(tmp_path, targets):
    inp = Inputs(tmp_path)
    inp.add("interactions", ix("a", "2026-01-05 10:00"))
    return inp.build(targets=targets).summary


def test_six_weighted_kpis_give_no_warning(tmp_path):
    assert _summary(tmp_path, []).warnings == []   # the catalog weights six KPIs


def test_more_than_six_weighted_kpis_warn(tmp_path):
    summary = _summary(tmp_path, [TargetRule(kpi="ces", weight=5)])
    assert len(summary.warnings) == 1
    assert "7 KPIs carry weight" in summary.warnings[0]
    assert "four to six" in summary.warnings[0]


def test_dropping_a_weight_to_zero_removes_the_warning(tmp_path):
    summary = _summary(tmp_path, [TargetRule(kpi="ces", weight=5), TargetRule(kpi="enps", weight=0)])
    assert summary.warnings == []
