"""The `scorecard` command line: exit codes, one-line errors, progress and warnings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from scorecard_fixtures import PARIS, Inputs, assert_one_error_line, ix

REPO = Path(__file__).resolve().parents[1]


def _ready(inputs: Inputs) -> Inputs:
    inputs.add("interactions", ix("a", "2026-01-05 10:00", first="2026-01-05 10:20"), ix("b", "2026-02-05 10:00"))
    inputs.write()
    return inputs


def _subprocess(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "scorecard.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_input_error_in_a_subprocess_exits_2_with_one_line(tmp_path):
    proc = _subprocess(tmp_path, "-q", "build", "--data", "missing", "--db", "db.duckdb")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_error_line(proc.stderr, "missing", "input folder not found")


def test_config_error_in_a_subprocess_exits_3(tmp_path):
    (tmp_path / "bad.yml").write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    proc = _subprocess(tmp_path, "build", "--config", "bad.yml", "--data", ".", "--db", "db.duckdb")
    assert proc.returncode == 3
    assert proc.stderr.startswith("error: bad.yml: invalid configuration")
    assert "timezone" in proc.stderr and "Traceback" not in proc.stderr


def test_build_prints_progress_and_a_summary_line(inputs, cli):
    _ready(inputs)
    code, out, err = cli("build", "--data", inputs.dir, "--db", inputs.database)
    assert code == 0, err
    assert out.startswith("8 rows loaded, 0 quarantined, 2 periods (1 complete), 6 units, cut-off 2026-02-05 10:00")
    assert err == ""  # -q: no progress lines, no warnings
    from scorecard.cli import main

    assert main(["build", "--data", str(inputs.dir), "--db", str(inputs.database)]) == 0


def test_progress_lines_without_quiet(inputs, tmp_path, monkeypatch, capsys):
    from scorecard.cli import main

    _ready(inputs)
    monkeypatch.chdir(tmp_path)
    assert main(["build", "--data", str(inputs.dir), "--db", str(inputs.database)]) == 0
    err = capsys.readouterr().err
    assert "read interactions.csv: 2 rows" in err and "validated interactions" in err and "computed scores" in err


def test_warnings_go_to_stderr(inputs, cli, tmp_path):
    _ready(inputs)
    config = tmp_path / "seven.yml"
    config.write_text("targets:\n  - {kpi: ces, weight: 5}\n", encoding="utf-8")
    code, out, err = cli("build", "--config", config, "--data", inputs.dir, "--db", inputs.database)
    assert code == 0
    assert err.startswith("warning: 7 KPIs carry weight")
    assert "rows loaded" in out


def test_config_errors_exit_3(inputs, cli, tmp_path):
    _ready(inputs)
    cases = {
        "unknown.yml": ("colour: blue\n", "colour: unknown key"),
        "unit.yml": ("targets:\n  - {kpi: csat, unit: Atlantis, target: 90, amber: 85}\n", "unknown unit 'Atlantis'"),
        "amber.yml": ("targets:\n  - {kpi: csat, target: 90, amber: 95}\n", "amber (95) must be below target (90)"),
    }
    for name, (text, fragment) in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        code, out, err = cli("build", "--config", tmp_path / name, "--data", inputs.dir, "--db", inputs.database)
        assert code == 3, (name, err)
        assert err.startswith("error: ") and fragment in err and "Traceback" not in err
        assert not inputs.database.exists()
    code, _, err = cli("build", "--config", tmp_path / "absent.yml", "--data", inputs.dir, "--db", inputs.database)
    assert code == 3 and "configuration file not found" in err


def test_default_config_is_the_one_in_the_working_directory(inputs, cli, tmp_path):
    _ready(inputs)
    (tmp_path / "scorecard.yml").write_text(
        f"data: {inputs.dir}\ndatabase: here.duckdb\ntimezone: Europe/Paris\n", encoding="utf-8"
    )
    code, out, err = cli("build")
    assert code == 0, err
    assert (tmp_path / "here.duckdb").exists()
    from scorecard.warehouse import connect

    with connect(tmp_path / "here.duckdb") as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'timezone'").fetchone() == ("Europe/Paris",)


def test_compute_export_and_quarantine_commands(inputs, cli, tmp_path):
    _ready(inputs)
    assert cli("build", "--data", inputs.dir, "--db", inputs.database)[0] == 0
    config = tmp_path / "targets.yml"
    config.write_text("targets:\n  - {kpi: frt_median, target: 10, amber: 15}\nmin_sample: 1\n", encoding="utf-8")
    code, out, err = cli("compute", "--config", config, "--db", inputs.database)
    assert code == 0, err
    assert "rows loaded" in out
    from scorecard.warehouse import connect

    with connect(inputs.database) as con:
        row = con.execute(
            "SELECT target, status FROM results WHERE period = '2026-01' AND unit_id = ? AND kpi_id = 'frt_median'",
            [PARIS],
        ).fetchone()
    assert row == (10, "red")  # 20 minutes against 10/15
    code, out, _ = cli("quarantine", "--db", inputs.database)
    assert (code, out.strip()) == (0, "no rows quarantined")
    code, out, _ = cli("export", "--db", inputs.database, "--out", tmp_path / "s.csv", "--period", "2026-01")
    assert code == 0 and out.startswith("90 rows →")


def test_commands_on_a_missing_database_exit_2(cli, tmp_path):
    for command in (["export", "--out", "x.csv"], ["quarantine"], ["compute"]):
        code, out, err = cli(*command, "--db", tmp_path / "none.duckdb")
        assert code == 2, command
        assert_one_error_line(err, "none.duckdb", "database not found", "scorecard build")


# --- the configuration comes with the data --------------------------------------------------------------


def _timezone(database: Path) -> str:
    from scorecard.warehouse import connect

    with connect(database) as con:
        return con.execute("SELECT value FROM meta WHERE key = 'timezone'").fetchone()[0]


def test_build_uses_the_data_folders_configuration_else_the_defaults(inputs, cli, tmp_path):
    _ready(inputs)
    (tmp_path / "scorecard.yml").write_text("timezone: Asia/Tokyo\n", encoding="utf-8")  # not the data's
    code, out, err = cli("build", "--data", inputs.dir, "--db", inputs.database)
    assert code == 0, err
    assert _timezone(inputs.database) == "UTC"  # built-in defaults
    (inputs.dir / "scorecard.yml").write_text("timezone: Europe/Paris\n", encoding="utf-8")
    code, out, err = cli("build", "--data", inputs.dir, "--db", inputs.database)
    assert code == 0, err
    assert _timezone(inputs.database) == "Europe/Paris"


def test_compute_uses_the_configuration_of_the_folder_the_database_was_built_from(inputs, cli):
    _ready(inputs)
    (inputs.dir / "scorecard.yml").write_text("min_sample: 1\n", encoding="utf-8")
    assert cli("build", "--data", inputs.dir, "--db", inputs.database)[0] == 0
    (inputs.dir / "scorecard.yml").write_text(
        "min_sample: 1\ntargets:\n  - {kpi: frt_median, target: 10, amber: 15}\n", encoding="utf-8"
    )
    code, out, err = cli("compute", "--db", inputs.database)
    assert code == 0, err
    from scorecard.warehouse import connect

    with connect(inputs.database) as con:
        assert con.execute(
            "SELECT target, status FROM results WHERE period = '2026-01' AND unit_id = ? AND kpi_id = 'frt_median'",
            [PARIS],
        ).fetchone() == (10, "red")


def test_an_unknown_unit_in_the_data_folders_configuration_exits_3_naming_it(inputs, cli):
    _ready(inputs)
    config = inputs.dir / "scorecard.yml"
    config.write_text("targets:\n  - {kpi: csat, unit: EMEA/Atlantis, target: 90, amber: 85}\n", encoding="utf-8")
    code, out, err = cli("build", "--data", inputs.dir, "--db", inputs.database)
    assert code == 3
    assert_one_error_line(err, str(config), "targets[0] (csat)", "unknown unit 'EMEA/Atlantis'")


# --- scorecard check ----------------------------------------------------------------------------------


def test_check_reports_tables_reasons_kpis_months_and_configuration(inputs, cli, tmp_path):
    inputs.add(
        "interactions",
        ix("a", "2026-01-05 10:00", first="2026-01-05 10:20"),
        ix("b", "2026-02-05 10:00"),
        ix("c", "2026-01-06 10:00", unit_id="EMEA/Atlantis"),
        ix("d", "2026-01-07 10:00", unit_id="Nowhere"),
        ix("e", "2026-01-08 10:00", unit_id="Nowhere"),
        ix("a", "2026-01-09 10:00"),
    )
    inputs.write()
    code, out, err = cli("check", inputs.dir)
    assert code == 0, err
    assert out.startswith(f"Configuration: built-in defaults (no scorecard.yml in {inputs.dir})\n")
    assert "a publish writes: site _site, database data/scorecard.duckdb, executed notebooks reports" in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("interactions "))
    assert line.split()[-3:] == ["6", "4", "2"]  # read, set aside, kept
    assert "3 unknown unit_id" in out and "1 duplicate interaction_id" in out
    examples = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("e.g.")]
    assert examples[:2] == ['e.g. row 3 (c): "EMEA/Atlantis"', 'e.g. row 4 (d): "Nowhere"']  # two of three
    assert sum("Nowhere" in e for e in examples) == 1
    assert "survey_responses   (no file, optional)" in out
    assert "KPIs that can be computed (" in out
    for kpi, why in (
        ("csat", "table survey_responses missing"),
        ("sla_frt", "table sla_policies missing"),
        ("aht", "interactions.csv: column handle_time_s missing or empty"),
    ):
        assert re.search(rf"^  {kpi}\s+{re.escape(why)}", out, re.M), kpi
    assert "Months found: 2 (2026-01, 2026-02), 6 units, data cut-off 2026-02-05 10:00" in out
    assert "complete: 1 (2026-01)" in out and "incomplete: 2026-02" in out
    assert "Site: _site: nothing published yet; a publish adds 1 complete month(s)" in out
    assert out.rstrip().endswith("OK: a publish would succeed (1 complete month(s) × 6 units).")
    assert not (tmp_path / "data").exists() and not (tmp_path / "_site").exists()  # nothing written


def test_check_names_the_data_folders_configuration_and_fails_like_a_publish(inputs, cli):
    _ready(inputs)
    config = inputs.dir / "scorecard.yml"
    config.write_text("timezone: Europe/Paris\n", encoding="utf-8")
    code, out, err = cli("check", "--data", inputs.dir)
    assert code == 0 and out.startswith(f"Configuration: {config} (in the data folder)\n  time zone Europe/Paris")
    config.write_text("targets:\n  - {kpi: csat, unit: Atlantis, target: 90, amber: 85}\n", encoding="utf-8")
    code, out, err = cli("check", inputs.dir)
    assert code == 3 and out.startswith(f"Configuration: {config}")
    assert_one_error_line(err, "targets[0] (csat)", "unknown unit 'Atlantis'")
    (inputs.dir / "interactions.csv").unlink()
    code, out, err = cli("check", inputs.dir)
    assert code == 2 and "interactions" in err


def test_check_without_a_complete_month_exits_2(inputs, cli):
    inputs.add("interactions", ix("a", "2026-01-05 10:00"), ix("b", "2026-01-25 10:00"))
    inputs.write()
    code, out, err = cli("check", inputs.dir)
    assert code == 2
    assert "complete: 0" in out and "NOT READY" in out


def test_publish_refuses_a_site_holding_other_units(inputs, cli, tmp_path):
    import json

    _ready(inputs)
    site = tmp_path / "site"
    site.mkdir()
    manifest = {"schema": 1, "periods": [{"period": "2025-01", "revision": 1, "units": [{"unit_id": "EMEA"}]}]}
    (site / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    before = (site / "manifest.json").read_bytes()
    code, out, err = cli("publish", "--data", inputs.dir, "--site", site, "--db", inputs.database)
    assert code == 4
    assert_one_error_line(err, str(site), "other units ('EMEA')", "another folder")
    assert (site / "manifest.json").read_bytes() == before and sorted(site.iterdir()) == [site / "manifest.json"]


def test_check_says_what_a_publish_would_do_to_the_site(inputs, cli, tmp_path):
    import json

    _ready(inputs)
    site = tmp_path / "site"
    site.mkdir()
    entry = {"period": "2025-12", "revision": 1, "units": [{"unit_id": PARIS}]}
    (site / "manifest.json").write_text(json.dumps({"schema": 1, "periods": [entry]}), encoding="utf-8")
    code, out, err = cli("check", inputs.dir, "--site", site)
    assert code == 0, err
    assert f"Site: {site}: 1 month(s) published; a publish adds 1 complete month(s) (2026-01)" in out
    entry["units"] = [{"unit_id": "Elsewhere"}]
    (site / "manifest.json").write_text(json.dumps({"schema": 1, "periods": [entry]}), encoding="utf-8")
    code, out, err = cli("check", inputs.dir, "--site", site)
    assert code == 4
    assert "holds the scorecard of other units ('Elsewhere'): a publish there would be refused" in out
    assert "NOT READY" in out


# --- scorecard init ----------------------------------------------------------------------------------


def _zendesk_folder(base: Path, day: int = 25) -> Path:
    """A Zendesk ticket export under its own file name, as a European Excel saves it: cp1252, `;`, DD/MM."""
    from test_presets import EXPORTS

    header, rows, _, _ = EXPORTS["zendesk"]
    folder = base / "exports"
    folder.mkdir()
    text = "\n".join([header, *rows]).replace(",", ";")
    text = re.sub(
        r"2026-01-(\d\d) (\d\d:\d\d):00",
        lambda m: f"{day if m.group(1) == '05' else day + 1:02d}/01/2026 {m.group(2)}",
        text,
    )
    (folder / "Tickets export 2026-01.csv").write_bytes((text + "\r\n").encode("cp1252"))
    return folder


def test_init_recognises_an_export_and_writes_a_starter_that_builds(tmp_path, cli):
    import yaml

    from scorecard.catalog import load_catalog

    folder = _zendesk_folder(tmp_path)
    code, out, err = cli("init", folder)
    assert code == 0, err
    assert "interactions: Tickets export 2026-01.csv, 2 rows, preset zendesk" in out
    assert f"units found in Tickets export 2026-01.csv: EU/Berlin Team, {PARIS}" in out
    config = yaml.safe_load((folder / "scorecard.yml").read_text(encoding="utf-8"))
    assert config["columns"] == {"interactions": "zendesk"}
    assert config["tables"]["interactions"] == {
        "file": "Tickets export 2026-01.csv",
        "encoding": "cp1252",
        "delimiter": ";",
        "timestamp_format": "%d/%m/%Y %H:%M",
    }
    weighted = {k.id: (k.target, k.amber, k.weight) for k in load_catalog().kpis if k.weight > 0}
    assert {t["kpi"]: (t["target"], t["amber"], t["weight"]) for t in config["targets"]} == weighted
    assert (folder / "org_units.csv").read_text(encoding="utf-8").splitlines()[:2] == [
        "unit_id,unit_name,parent_id",
        "All units,All units,",
    ]
    code, out, err = cli("build", "--config", folder / "scorecard.yml", "--db", tmp_path / "db.duckdb")
    assert code == 0, err
    assert out.startswith("5 rows loaded, 0 quarantined")


def test_init_offers_both_date_orders_when_the_data_cannot_tell(tmp_path, cli):
    folder = _zendesk_folder(tmp_path, day=5)
    code, out, err = cli("init", folder)
    assert code == 0, err
    assert "day or month first? set timestamp_format" in out
    text = (folder / "scorecard.yml").read_text(encoding="utf-8")
    assert '    # timestamp_format: "%d/%m/%Y %H:%M"' in text and '    # timestamp_format: "%m/%d/%Y %H:%M"' in text
    assert "\n    timestamp_format:" not in text


def test_init_never_overwrites_a_configuration(tmp_path, cli):
    folder = _zendesk_folder(tmp_path)
    (folder / "scorecard.yml").write_text("timezone: Europe/Paris\n", encoding="utf-8")
    code, out, err = cli("init", folder)
    assert code == 0
    assert "exists: left unchanged" in err
    assert (folder / "scorecard.yml").read_text(encoding="utf-8") == "timezone: Europe/Paris\n"


def test_init_on_contract_named_files(inputs, cli):
    import yaml

    _ready(inputs)
    code, out, err = cli("init", inputs.dir)
    assert code == 0, err
    assert "units found in org_units.csv: EU, EU/Berlin Team" in out
    config = yaml.safe_load((inputs.dir / "scorecard.yml").read_text(encoding="utf-8"))
    assert config["columns"] == {} and config["tables"] == {} and config["data"] == "."
    assert not (inputs.dir / "org_units.csv").read_text(encoding="utf-8").startswith("unit_id,unit_name,parent_id\nAll")


def test_init_recognises_a_workbook_by_its_header_and_names_its_sheet(inputs, cli):
    import pandas as pd
    import yaml

    _ready(inputs)
    frame = pd.read_csv(inputs.dir / "interactions.csv", dtype=str, keep_default_na=False)
    (inputs.dir / "interactions.csv").unlink()
    with pd.ExcelWriter(inputs.dir / "Export 2026.xlsx") as writer:
        frame.to_excel(writer, sheet_name="Tickets", index=False)
        pd.DataFrame({"about": ["exported by the help desk"]}).to_excel(writer, sheet_name="About", index=False)
    code, out, err = cli("init", inputs.dir)
    assert code == 0, err
    assert "interactions: Export 2026.xlsx, 2 rows" in out
    config = yaml.safe_load((inputs.dir / "scorecard.yml").read_text(encoding="utf-8"))
    assert config["tables"]["interactions"] == {"file": "Export 2026.xlsx", "sheet": "Tickets"}
    code, out, err = cli("build", "--config", inputs.dir / "scorecard.yml", "--db", inputs.database)
    assert code == 0, err
