"""The benchmark's helpers (bench/run.py): table, results.json shape, floors, phases from progress
events, a tiny run (no timings asserted)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb
import pytest

from bench import run as bench
from bench.run import Step
from scorecard.progress import Event, event, phase_seconds


def test_the_floor_has_as_many_medians_as_the_kpi_sql():
    assert bench.kpi_median_count() == 2  # frt_median and resolution_median (scorecard/kpis.py)
    sql = bench.floor_sql(2)
    assert sql.count("median(") == 2 and "count(*)" in sql and "GROUP BY ALL" in sql


def test_floor_sql_runs_on_an_interactions_table():
    con = duckdb.connect()
    con.execute("""CREATE TABLE interactions AS SELECT 'u' || (i % 3) AS unit_id,
                   TIMESTAMP '2026-01-01' + i * INTERVAL 1 DAY AS created_at,
                   TIMESTAMP '2026-01-01' + i * INTERVAL 1 DAY + INTERVAL 5 MINUTE AS first_response_at,
                   TIMESTAMP '2026-01-01' + i * INTERVAL 1 DAY + INTERVAL 2 HOUR AS resolved_at,
                   60.0 AS handle_time_s FROM range(90) t(i)""")
    rows = con.execute(bench.floor_sql(3)).fetchall()
    assert sum(r[2] for r in rows) == 90
    assert {r[3] for r in rows} == {300.0} and {r[4] for r in rows} == {7200.0}


def test_table_shows_every_step_with_numbered_notes():
    steps = [
        Step("compute", "compute all KPIs", 2.5, 3.2, "× floor", "≤ 3× floor", False, note="best of 3"),
        Step("floor", "floor", 0.78),
        Step("memory", "peak memory", None, 2.0, "GB", "≤ 3 GB", True),
        Step("load", "load", 10.0, 1_000_000, "rows/s"),
        Step("per_unit", "per unit", 0.5, 5.5, "× naive", "≥ 5× faster than naive", True),
    ]
    table = bench.format_table(steps)
    lines = table.splitlines()
    assert lines[0].split() == ["step", "seconds", "measured", "goal", "met"]
    assert "compute all KPIs [1]" in table and "[1] best of 3" in table
    assert "3.20× floor" in table and lines[2].endswith("NOT MET") and lines[4].endswith(" met")
    assert "2.00 GB" in table and "1,000,000 rows/s" in table and "5.50× naive" in table
    assert len({len(line) for line in lines[2:7]}) <= 5  # aligned columns, trailing spaces stripped


def test_goal_checks():
    assert bench.at_most(2.9, 3.0) and not bench.at_most(3.1, 3.0) and bench.at_most(None, 3.0) is None
    assert bench.at_least(5.0, 5.0) and not bench.at_least(4.9, 5.0)


def test_phases_add_up_the_seconds_of_their_events():
    events = [
        "plain text, not an event",
        Event("read a.csv: 5 rows (1.0 s)", "load", 1.0, 5),
        Event("read b.csv (2.5 s)", "load", 2.5, 7),
        Event("validated a (3.0 s)", "validate", 3.0),
        Event("computed measures", "compute", 0.5, step="measures"),
        Event("computed scores", "compute", 0.25, step="scores"),
        Event("computed analysis", "compute", 2.0, step="analysis"),
    ]
    assert phase_seconds(events, "load") == 3.5 and phase_seconds(events, "validate") == 3.0
    assert phase_seconds(events, "compute") == 2.75 and phase_seconds(events, "compute", "scores") == 0.25
    assert phase_seconds(events, "render") is None
    e = event("execute", "executed 3 notebooks", time.perf_counter() - 2.0, 3, "total", unit="notebooks")
    assert isinstance(e, str) and e.startswith("executed 3 notebooks (2.") and "notebooks/s" in e
    assert e.phase == "execute" and e.rows == 3 and e.step == "total" and 1.9 < e.seconds < 10


def test_a_build_reports_every_phase_as_events(tmp_path):
    from scorecard.config import Config
    from scorecard.demo import generate
    from scorecard.warehouse import build

    generate(tmp_path / "data", interactions=2000, months=3)
    events: list = []
    build(
        Config(timezone="Europe/Paris"),
        data_dir=tmp_path / "data",
        database=tmp_path / "db.duckdb",
        progress=events.append,
    )
    typed = [e for e in events if isinstance(e, Event)]
    order = ["load", "validate", "compute"]
    assert [e.phase for e in typed] == sorted((e.phase for e in typed), key=order.index)
    loaded = {e.split(":")[0]: e.rows for e in typed if e.phase == "load"}
    assert loaded["read interactions.csv"] >= 2000
    assert [e.step for e in typed if e.phase == "compute"] == ["measures", "scores", "analysis", "review"]
    assert all(e.seconds >= 0 for e in typed)


def test_load_floor_reads_the_files_with_their_final_types(tmp_path):
    from scorecard.demo import generate

    rows = generate(tmp_path / "data", interactions=2000, months=3)
    seconds, read = bench.load_floor(tmp_path / "data", "1GB")
    assert seconds > 0 and 0.95 * sum(rows.values()) <= read <= sum(rows.values())
    assert not list(tmp_path.glob("load-floor*"))


def test_command_line_sizes():
    assert bench.parse_args([]).interactions == 10_000_000
    small = bench.parse_args(["--small"])
    assert small.interactions == 1_000_000 and small.first_periods == bench.SMALL_FIRST_PERIODS
    assert small.results.name == "results-small.json" and bench.parse_args([]).results.name == "results.json"
    assert bench.parse_args(["--scale"]).results.name == "results-scale.json"
    assert bench.parse_args(["--first-periods", "all", "--small"]).first_periods is None
    for wrong in (["--small", "--interactions", "5"], ["--scale", "--small"]):
        with pytest.raises(SystemExit):
            bench.parse_args(wrong)


def test_a_tiny_run_writes_a_valid_results_document(tmp_path: Path, capsys):
    """Data, build and compute vs floor on 2,000 interactions (publishing is left out: too slow here)."""
    config = tmp_path / "bench.yml"
    config.write_text("timezone: Europe/Paris\n", encoding="utf-8")
    results = tmp_path / "results.json"
    code = bench.main(
        [
            "--interactions",
            "2000",
            "--teams",
            "10",
            "--months",
            "3",
            "--repeats",
            "1",
            "--no-publish",
            "--work",
            str(tmp_path / "work"),
            "--results",
            str(results),
            "--config",
            str(config),
        ]
    )
    assert code == 0
    doc = json.loads(results.read_text(encoding="utf-8"))
    bench.check_results(doc)
    keys = [s["key"] for s in doc["steps"]]
    assert keys == [
        "generate",
        "load",
        "validate",
        "load_validate",
        "load_floor",
        "build",
        "compute_measures",
        "compute",
        "floor",
        "memory",
    ]
    assert doc["size"]["units"] == 14 and doc["details"]["compute"]["medians"] == 2
    assert all(s["seconds"] is None or s["seconds"] >= 0 for s in doc["steps"])
    assert set(doc["memory"]["steps"]) == {"generate", "build"}
    assert doc["memory"]["peak_bytes"] >= doc["memory"]["self_maxrss_bytes"] > 0
    steps = {s["key"]: s for s in doc["steps"]}
    assert steps["compute"]["rate"] == pytest.approx(steps["compute"]["seconds"] / steps["floor"]["seconds"])
    assert 0 < steps["compute_measures"]["seconds"] < steps["compute"]["seconds"]
    assert steps["load_validate"]["seconds"] == pytest.approx(steps["load"]["seconds"] + steps["validate"]["seconds"])
    out = capsys.readouterr().out
    assert "compute: everything" in out and "results →" in out
    broken = {**doc, "steps": [{**doc["steps"][0], "met": "yes"}]}
    with pytest.raises(ValueError):
        bench.check_results(broken)


def test_machine_load_warns_when_other_processes_competed():
    doc = {
        "machine": {"cpus": 2},
        "memory": {
            "steps": {
                "build": {"our_cores": 1.9, "other_processes_cores": 0.1},
                "monthly publish": {"our_cores": 1.5, "other_processes_cores": 1.2},
                "re-publish": {"our_cores": 0.5, "other_processes_cores": 1.9, "wall_s": 1.0},
            }
        },
    }
    text = bench.machine_load(doc)
    assert "build 1.9/0.1" in text and "monthly publish 1.5/1.2" in text
    assert "WARNING" in text and "1.2 of 2 cores" in text
    doc["memory"]["steps"]["monthly publish"]["other_processes_cores"] = 0.0
    assert "WARNING" not in bench.machine_load(doc)
