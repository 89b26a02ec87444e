"""What each KPI needs from the input, in one place: `scorecard check` explains a KPI it cannot
compute from it, and the compute step withholds a KPI whose column the help-desk export lacks.

A preset may declare contract columns its product does not export (`absent:` in its YAML); the
loader records the ones a file really lacks in `absent_columns`, and every KPI that needs one is
published as no data rather than as a number computed from empty cells (an unanswered-looking
interaction would make sla_frt 0 %, a missing contact count would make fcr 0 %).
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb


class Need(NamedTuple):
    table: str
    condition: str  # on the clean table's rows: at least one must meet it
    what: str  # what is missing when no row meets it
    columns: tuple[str, ...] = ()  # contract columns of `table` the KPI's value is computed from


NEEDS: dict[str, Need] = {
    "csat": Need("survey_responses", "survey = 'csat'", "no valid CSAT responses (survey = csat)"),
    "nps": Need("survey_responses", "survey = 'nps'", "no valid NPS responses (survey = nps)"),
    "ces": Need("survey_responses", "survey = 'ces'", "no valid CES responses (survey = ces)"),
    "retention": Need("customers", "true", "no valid customers"),
    "fcr": Need(
        "interactions",
        "resolved_at IS NOT NULL AND contacts_to_resolve IS NOT NULL",
        "column resolved_at or contacts_to_resolve missing or empty",
        ("resolved_at", "contacts_to_resolve"),
    ),
    "frt_median": Need(
        "interactions",
        "first_response_at IS NOT NULL",
        "column first_response_at missing or empty",
        ("first_response_at",),
    ),
    "resolution_median": Need(
        "interactions", "resolved_at IS NOT NULL", "column resolved_at missing or empty", ("resolved_at",)
    ),
    "sla_frt": Need(
        "interactions",
        "first_response_at IS NOT NULL",
        "column first_response_at missing or empty",
        ("first_response_at",),
    ),
    "reopen_rate": Need(
        "interactions",
        "resolved_at IS NOT NULL AND reopened IS NOT NULL",
        "column reopened missing or empty",
        ("resolved_at", "reopened"),
    ),
    "aht": Need(
        "interactions", "handle_time_s IS NOT NULL", "column handle_time_s missing or empty", ("handle_time_s",)
    ),
    "qa_score": Need("qa_reviews", "true", "no valid QA reviews"),
    "volume": Need("interactions", "true", "no valid interactions"),
    "cost_per_contact": Need("costs", "true", "no valid costs"),
    "enps": Need("employee_pulse", "true", "no valid pulse responses"),
}
SECOND_TABLE = {"sla_frt": "sla_policies"}  # sla_frt also needs the SLA policies

# Columns an input file lacks because its product does not export them (a preset's `absent:`).
ABSENT_DDL = """CREATE TABLE IF NOT EXISTS absent_columns (
    table_name VARCHAR NOT NULL, column_name VARCHAR NOT NULL, preset VARCHAR NOT NULL,
    PRIMARY KEY (table_name, column_name))"""


def absent_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(table, column) -> the preset whose export lacks it; empty for a database built before the
    table existed."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'absent_columns' AND schema_name = current_schema()"
    ).fetchone()[0]
    if not exists:
        return {}
    rows = con.execute("SELECT table_name, column_name, preset FROM absent_columns").fetchall()
    return {(t, c): p for t, c, p in rows}


def withheld_kpis(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """KPI -> why it cannot be computed, for every KPI that needs a column the export lacks."""
    absent = absent_columns(con)
    withheld = {}
    for kpi, need in NEEDS.items():
        lacking = [(c, absent[need.table, c]) for c in need.columns if (need.table, c) in absent]
        if lacking:
            withheld[kpi] = "; ".join(f"{preset} export has no {column}" for column, preset in lacking)
    return withheld
