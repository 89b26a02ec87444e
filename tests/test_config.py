"""Configuration: defaults, validation messages that name the key, and the weighted-KPI warning."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from scorecard_fixtures import Inputs, ix

from scorecard.config import PACKAGED_NOTEBOOKS, PACKAGED_PROJECT, Config, TargetRule, load_config
from scorecard.configsource import choose
from scorecard.errors import ConfigError, InputError

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


def test_the_defaults_publish_with_the_packaged_project_and_write_to_the_working_directory():
    config = Config()
    assert config.project == PACKAGED_PROJECT and config.project.is_file()
    assert (config.notebooks / "unit.ipynb").is_file() and (config.notebooks / "period.ipynb").is_file()
    # the repository's top-level files are the same files (one source)
    assert config.project.read_bytes() == (REPO / "_quarto.yml").read_bytes()
    assert (config.notebooks / "unit.ipynb").read_bytes() == (REPO / "notebooks" / "unit.ipynb").read_bytes()
    assert config.data is None
    assert (config.site, config.database, config.reports) == (
        Path("_site"),
        Path("data/scorecard.duckdb"),
        Path("reports"),
    )
    with pytest.raises(InputError, match="no input folder"):
        config.input_folder()


def test_paths_set_in_a_file_are_relative_to_it_and_the_others_are_not(tmp_path):
    config = load_config(write(tmp_path, "site: public\ndatabase: state/sc.duckdb\n"))
    assert config.site == tmp_path / "public" and config.database == tmp_path / "state" / "sc.duckdb"
    assert config.reports == Path("reports") and config.data is None  # unset: the working directory
    assert config.project == PACKAGED_PROJECT and config.notebooks == PACKAGED_NOTEBOOKS
    assert config.source == str(tmp_path / "scorecard.yml")


def test_the_demo_configuration_keeps_only_rules_for_its_units(tmp_path):
    from scorecard.demo import CONFIG_TEMPLATE, write_config

    full = load_config(
        write_config(tmp_path / "full.yml", {"EMEA/Dublin Key Accounts", "APAC & Remote/Accessibility Desk"})
    )
    assert full.timezone == "Europe/Paris"
    assert {r.unit for r in full.targets} == {None, "EMEA/Dublin Key Accounts", "APAC & Remote/Accessibility Desk"}
    assert len(full.targets) == len(load_config(CONFIG_TEMPLATE).targets)
    fewer = load_config(write_config(tmp_path / "fewer.yml", {"EMEA/Dublin Key Accounts"}))
    assert {r.unit for r in fewer.targets} == {None, "EMEA/Dublin Key Accounts"}
    assert len(fewer.targets) == len(full.targets) - 1
    assert (fewer.data, fewer.site) == (None, Path("_site"))  # the template sets no paths


# --- which configuration a run uses -----------------------------------------------------------------------


def test_choose_an_explicit_file_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "exports"
    data.mkdir()
    (data / "scorecard.yml").write_text("timezone: Asia/Tokyo\n", encoding="utf-8")
    other = tmp_path / "etc" / "cx.yml"
    other.parent.mkdir()
    other.write_text("timezone: America/New_York\ndata: ../elsewhere\n", encoding="utf-8")
    chosen = choose(other, data)
    assert chosen.config.timezone == "America/New_York" and chosen.path == other
    assert chosen.config.data == data  # the folder given wins over `data:` in the file
    assert "given with --config" in chosen.describe()
    assert choose(other).config.data == tmp_path / "etc" / ".." / "elsewhere"  # relative to the file


def test_choose_the_data_folders_file_then_the_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scorecard.yml").write_text("timezone: Europe/Paris\n", encoding="utf-8")  # not used with a folder
    data = tmp_path / "exports"
    data.mkdir()
    chosen = choose(None, data)
    assert chosen.path is None and chosen.config.timezone == "UTC" and chosen.config.targets == []
    assert chosen.config.data == data
    assert "built-in defaults" in chosen.describe() and "no scorecard.yml in" in chosen.describe()
    (data / "scorecard.yml").write_text("timezone: Asia/Tokyo\nsite: ../pub\n", encoding="utf-8")
    chosen = choose(None, data)
    assert chosen.path == data / "scorecard.yml" and chosen.config.timezone == "Asia/Tokyo"
    assert chosen.config.site == data / ".." / "pub" and chosen.config.database == Path("data/scorecard.duckdb")
    assert chosen.describe().endswith("(in the data folder)")
    # neither a file nor a folder: a scorecard.yml in the working directory, else the defaults
    assert choose().config.timezone == "Europe/Paris" and choose().path == Path("scorecard.yml")
    (tmp_path / "scorecard.yml").unlink()
    assert choose().path is None and choose().config.data is None


def test_choose_the_folder_a_database_was_built_from(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "scorecard.yml").write_text("min_sample: 3\n", encoding="utf-8")
    chosen = choose(recorded_data=tmp_path / "d")
    assert chosen.config.min_sample == 3 and chosen.config.data is None
    assert "built from" in chosen.describe()


def test_an_unknown_unit_in_a_rule_names_the_file_the_rule_and_the_unit(tmp_path):
    inp = Inputs(tmp_path / "in")
    inp.add("interactions", ix("a", "2026-01-05 10:00"))
    path = write(
        tmp_path,
        "targets:\n  - {kpi: csat, target: 90, amber: 85}\n"
        "  - {kpi: fcr, unit: EMEA/Atlantis, target: 80, amber: 70}\n",
    )
    with pytest.raises(ConfigError) as exc:
        inp.build(load_config(path))
    message = str(exc.value)
    assert message.startswith(f"{path}: targets[1] (fcr): unknown unit 'EMEA/Atlantis'")
    assert "targets[0]" not in message


def test_a_full_configuration(tmp_path):
    config = load_config(
        write(
            tmp_path,
            """
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
""",
        )
    )
    assert config.timezone == "America/New_York"
    assert (config.survey_window_days, config.min_sample) == (14, 5)
    assert config.cutoff == datetime.fromisoformat("2026-03-01T00:00:00+00:00")
    assert config.data == tmp_path / "inputs"  # relative to the configuration file
    assert config.database == Path("/abs/db.duckdb")
    assert (config.quadrants.importance, config.quadrants.gap) == (20, 30)
    assert config.columns == {"interactions": {"Ticket ID": "interaction_id"}}
    assert config.targets[0] == TargetRule(
        kpi="csat", unit="EU/Paris Équipe", effective_from="2026-02", target=90, amber=85, weight=30, owner="Ana"
    )
    assert config.targets[1].effective_from == "2026-03"


def test_an_empty_file_gives_the_defaults(tmp_path):
    assert load_config(write(tmp_path, "# nothing\n")).timezone == "UTC"


@pytest.mark.parametrize(
    "text,where",
    [
        ("colour: blue\n", "colour: unknown key"),
        ("quadrants: {gap: 25, split: 3}\n", "quadrants.split: unknown key"),
        ("targets:\n  - {kpi: csat, target: 90, amber: 85, colour: red}\n", "targets[0].colour: unknown key"),
    ],
)
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


@pytest.mark.parametrize(
    "text,fragment",
    [
        ("targets:\n  - {kpi: happiness, target: 1, amber: 0}\n", "unknown KPI 'happiness'"),
        ("targets:\n  - {kpi: volume, target: 100, amber: 50}\n", "volume is context only"),
        ("targets:\n  - {kpi: csat, weight: -1}\n", "targets[0].weight"),
        ("columns:\n  tickets: {id: interaction_id}\n", "unknown table 'tickets'"),
        ("survey_window_days: -1\n", "survey_window_days"),
        ("min_sample: 0\n", "min_sample"),
        ("quadrants: {gap: 100}\n", "quadrants.gap"),
        ("- a\n- b\n", "expected a mapping"),
        ("timezone: [unclosed\n", "not valid YAML"),
    ],
)
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
    assert _summary(tmp_path, []).warnings == []  # the catalog weights six KPIs


def test_more_than_six_weighted_kpis_warn(tmp_path):
    summary = _summary(tmp_path, [TargetRule(kpi="ces", weight=5)])
    assert len(summary.warnings) == 1
    assert "7 KPIs carry weight" in summary.warnings[0]
    assert "four to six" in summary.warnings[0]


def test_dropping_a_weight_to_zero_removes_the_warning(tmp_path):
    summary = _summary(tmp_path, [TargetRule(kpi="ces", weight=5), TargetRule(kpi="enps", weight=0)])
    assert summary.warnings == []
