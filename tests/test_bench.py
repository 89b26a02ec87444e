"""The benchmark's helpers: table, results.json shape, floor SQL, phase splitting (no timings asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from scorecard import bench
from scorecard.bench import Event, Step


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
        Step("memory", "peak memory", None, 2.0, "GB", "≤ 4 GB", True),
        Step("load", "load", 10.0, 1_000_000, "rows/s"),
    ]
    table = bench.format_table(steps)
    lines = table.splitlines()
    assert lines[0].split() == ["step", "seconds", "rate/ratio", "target", "met?"]
    assert "compute all KPIs [1]" in table and "[1] best of 3" in table
    assert "3.20× floor" in table and "NO" in lines[2]
    assert "2.00 GB" in table and "1,000,000 rows/s" in table
    assert len({len(line) for line in lines[2:6]}) <= 4  # aligned columns, trailing spaces stripped


def test_phases_split_at_the_last_message_of_each_kind():
    events = [Event(1.0, "read a.csv: 5 rows"), Event(2.0, "read b.csv: 5 rows"), Event(3.0, "validated a"),
              Event(5.0, "validated b"), Event(6.0, "computed measures"), Event(8.0, "computed scores")]
    split = bench.phases(events, 0.0, 9.0, [("load", "read "), ("validate", "validated "),
                                            ("compute", "computed scores")])
    assert split == {"load": 2.0, "validate": 3.0, "compute": 3.0, "rest": 1.0}
    missing = bench.phases(events, 0.0, 9.0, [("load", "loaded "), ("compute", "computed scores")])
    assert missing["load"] is None and missing["compute"] == 8.0


def test_publish_breakdown_from_progress_messages():
    events = [Event(10.0, "database x is current"), Event(10.5, "executing 3 notebooks"),
              Event(12.0, "executed 1/3: a"), Event(14.5, "executed 3/3: c"),
              Event(14.5, "rendering 3 pages with the builtin renderer"),
              Event(15.0, "rendered a.html (html+pdf: html 0.10 s, pdf 0.40 s)"),
              Event(15.5, "rendered b.html (html: html 0.20 s, pdf 0.00 s)")]
    b = bench.publish_breakdown(events, 10.0, 16.0)
    assert b["notebooks"] == 3 and b["execute_s"] == 4.0 and b["render_s"] == 1.0
    assert b["before_execute_s"] == 0.5 and b["after_render_s"] == 0.5
    assert b["render_html_thread_s"] == pytest.approx(0.3) and b["render_pdf_thread_s"] == pytest.approx(0.4)


def test_command_line_sizes():
    assert bench.parse_args([]).interactions == 10_000_000
    small = bench.parse_args(["--small"])
    assert small.interactions == 200_000 and small.first_periods == bench.SMALL_FIRST_PERIODS
    assert small.results.name == "results-small.json" and bench.parse_args([]).results.name == "results.json"
    assert bench.parse_args(["--first-periods", "all", "--small"]).first_periods is None
    with pytest.raises(SystemExit):
        bench.parse_args(["--small", "--interactions", "5"])


def test_a_tiny_run_writes_a_valid_results_document(tmp_path: Path, capsys):
    """Data, build and compute vs floor on 2,000 interactions (publishing is left out: too slow here)."""
    from scorecard.demo import CONFIG_TEMPLATE as config
    results = tmp_path / "results.json"
    code = bench.main(["--interactions", "2000", "--teams", "10", "--months", "3", "--repeats", "1",
                       "--no-publish", "--work", str(tmp_path / "work"), "--results", str(results),
                       "--config", str(config)])
    assert code == 0
    doc = json.loads(results.read_text(encoding="utf-8"))
    bench.check_results(doc)
    keys = [s["key"] for s in doc["steps"]]
    assert keys == ["generate", "load", "validate", "load_validate", "build", "compute", "floor", "memory"]
    assert doc["size"]["units"] == 14 and doc["details"]["compute"]["medians"] == 2
    assert all(s["seconds"] is None or s["seconds"] >= 0 for s in doc["steps"])
    assert set(doc["memory"]["steps"]) == {"generate", "build", "compute"}
    assert doc["memory"]["peak_bytes"] >= doc["memory"]["self_maxrss_bytes"] > 0
    out = capsys.readouterr().out
    assert "compute all KPIs" in out and "results →" in out
    broken = {**doc, "steps": [{**doc["steps"][0], "met": "yes"}]}
    with pytest.raises(ValueError):
        bench.check_results(broken)


def test_machine_load_warns_when_other_processes_competed():
    doc = {"machine": {"cpus": 2}, "memory": {"steps": {
        "build": {"our_cores": 1.9, "other_processes_cores": 0.1},
        "monthly publish": {"our_cores": 1.5, "other_processes_cores": 1.2},
        "re-publish": {"our_cores": 0.5, "other_processes_cores": 1.9, "wall_s": 1.0}}}}
    text = bench.machine_load(doc)
    assert "build 1.9/0.1" in text and "monthly publish 1.5/1.2" in text
    assert "WARNING" in text and "1.2 of 2 cores" in text
    doc["memory"]["steps"]["monthly publish"]["other_processes_cores"] = 0.0
    assert "WARNING" not in bench.machine_load(doc)
