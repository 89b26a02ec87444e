"""The report templates, executed on the demo data, report what the analysis found.

The expectations are read from the database's tables (checked against plain-Python
computations in test_analysis.py), so these tests check that the pages SAY it: the demo's
mix shift, escalation, significant and insignificant changes, fix-now KPIs and benchmarks.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import duckdb
import nbformat
import pytest

from scorecard.demo import ROLES

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PERIOD = "2026-10"


def _execute(template: str, out: Path, **parameters) -> str:
    """Run a template with papermill; return all its HTML outputs as one unescaped text."""
    import papermill

    papermill.execute_notebook(
        str(NOTEBOOKS / template),
        str(out),
        parameters=parameters,
        progress_bar=False,
        log_output=False,
        kernel_name="python3",
    )
    book = nbformat.read(out, as_version=4)
    parts = [
        o["data"]["text/html"] if "text/html" in o.get("data", {}) else o.get("data", {}).get("text/markdown", "")
        for cell in book.cells
        for o in cell.get("outputs", [])
    ]
    text = html.unescape(re.sub(r"<[^>]+>", " ", "\n".join(parts)))
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)  # Markdown's backslash escapes


@pytest.fixture(scope="module")
def con(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as c:
        yield c


def _most_significant_changes(con) -> str:
    return con.execute(
        """SELECT unit_id FROM changes WHERE period = ? GROUP BY unit_id
                          ORDER BY count(*) FILTER (prev_significant) DESC, unit_id LIMIT 1""",
        [PERIOD],
    ).fetchone()[0]


@pytest.fixture(scope="module")
def pages(demo_db, con, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    units = {ROLES["mix_shift"], ROLES["slides"], _most_significant_changes(con)}
    text = {
        unit: _execute("unit.ipynb", out / f"{i}.ipynb", database=str(demo_db), period=PERIOD, unit_id=unit)
        for i, unit in enumerate(sorted(units))
    }
    text["overview"] = _execute("period.ipynb", out / "overview.ipynb", database=str(demo_db), period=PERIOD)
    return text


def test_mix_shift_is_stated_in_plain_words(pages, con):
    message = con.execute(
        "SELECT message FROM mix_shift WHERE period = ? AND unit_id = ? AND kpi_id = 'fcr'",
        [PERIOD, ROLES["mix_shift"]],
    ).fetchone()[0]
    assert message in " ".join(pages[ROLES["mix_shift"]].split())
    assert "although it rose in every channel" in message


def test_escalations_are_listed_with_owner_on_unit_page_and_overview(pages, con):
    rows = con.execute(
        """SELECT c.name, e.red_streak, e.owner FROM escalations e JOIN catalog c USING (kpi_id)
                          WHERE e.period = ? AND e.unit_id = ?""",
        [PERIOD, ROLES["slides"]],
    ).fetchall()
    assert rows, "the sliding demo team should have escalations"
    page = pages[ROLES["slides"]]
    for name, streak, owner in rows:
        assert re.search(rf"{re.escape(name)}\s+{streak}\s+\d{{4}}-\d\d\s+{re.escape(owner)}", page)
    everyone = con.execute("SELECT count(*) FROM escalations WHERE period = ?", [PERIOD]).fetchone()[0]
    section = pages["overview"].split("Escalations", 1)[1].split("Units ranked", 1)[0]
    assert len(re.findall(r"\b\d{4}-\d\d\b", section)) == everyone  # one "since" month per escalation


def test_significant_changes_are_flagged_and_noise_is_not(pages, con):
    rows = con.execute(
        """SELECT ch.prev_significant, ch.improved, ch.year_significant, ch.year_improved
                          FROM changes ch WHERE ch.period = ? AND ch.unit_id = ? AND ch.kpi_id <> 'composite'""",
        [PERIOD, _most_significant_changes(con)],
    ).fetchall()
    assert any(r[0] for r in rows) and any(r[0] is False for r in rows)  # a significant change, and noise
    page = " ".join(pages[_most_significant_changes(con)].split())
    table = page.split("Scorecard", 1)[1].split("Trends over", 1)[0]
    flags = re.findall(r"[+-]\d+\.\d(?: pts| min| h)? ([▲▼])", table)
    expected = sorted(
        ["▲" if better else "▼" for sig, better, _, _ in rows if sig]
        + ["▲" if better else "▼" for _, _, sig, better in rows if sig]
    )
    assert sorted(flags) == expected


def test_fix_now_kpis_are_listed_with_their_owner(pages, con):
    for unit in (ROLES["mix_shift"], ROLES["slides"]):
        rows = con.execute(
            """SELECT c.name, t.owner FROM priority p JOIN catalog c USING (kpi_id)
                              JOIN targets t USING (period, unit_id, kpi_id)
                              WHERE p.period = ? AND p.unit_id = ? AND p.quadrant = 'fix now' AND NOT p.tracked
                              ORDER BY p.gap DESC, c.sort_order LIMIT 3""",
            [PERIOD, unit],
        ).fetchall()
        section = pages[unit].split("Fix now", 1)[1].split("Escalations", 1)[0]
        listed = [
            line.removeprefix("- ").split(":")[0].strip() for line in section.splitlines() if line.startswith("- ")
        ]
        assert listed == [name for name, _ in rows]
        for _name, owner in rows:
            assert owner in section


def test_benchmarks_name_their_source_and_year_and_warn_about_nps(pages, con):
    page = " ".join(pages[ROLES["mix_shift"]].split())
    for source, year in con.execute(
        """SELECT DISTINCT bench_source, bench_year FROM comparisons
                                       WHERE period = ? AND unit_id = ? AND bench_position IS NOT NULL""",
        [PERIOD, ROLES["mix_shift"]],
    ).fetchall():
        assert f"{source} ({year})" in page
    assert "not comparable" in page


def test_company_priority_matrix_and_quality_notes_on_overview(pages):
    overview = pages["overview"]
    assert "Company priority matrix" in overview and "Data cut-off" in overview


def test_a_restatement_lists_exactly_the_kpis_that_changed(con, tmp_path):
    import csv

    from scorecard.export import write_scorecard_csv
    from scorecard.report import queries

    unit = ROLES["mix_shift"]
    published = tmp_path / "r1.csv"
    write_scorecard_csv(con, published, period=PERIOD)
    assert queries.changes_since(str(published), con, PERIOD, unit) == []  # the same numbers: nothing changed
    rows = list(csv.DictReader(published.open(encoding="utf-8")))
    for row in rows:
        if row["unit_id"] == unit and row["kpi_id"] == "fcr":
            row["value"], row["status"] = "99.5", "green"
    with published.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    now, status = con.execute(
        "SELECT value, status FROM results WHERE period = ? AND unit_id = ? AND kpi_id = 'fcr'", [PERIOD, unit]
    ).fetchone()
    assert queries.changes_since(str(published), con, PERIOD, unit) == [
        {
            "kpi": "First contact resolution",
            "before": "99.5%",
            "now": f"{now:.1f}%",
            "status_before": "green",
            "status_now": status,
        }
    ]
