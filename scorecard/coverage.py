"""Rows per month of each optional record table, counted once per build (`source_coverage`).

The reports mark a month whose data stops short of the month's end (report/freshness.py); the
counts behind that read every survey, QA and pulse row, so they are taken here, when the data
changes, rather than by each of a publish's pages.
"""

from __future__ import annotations

import duckdb

# table -> (column that decides the month, name in sentences); the optional record tables
SOURCES: dict[str, tuple[str, str]] = {
    "survey_responses": ("responded_at", "survey"),
    "qa_reviews": ("reviewed_at", "QA review"),
    "employee_pulse": ("responded_at", "employee pulse"),
    "costs": ("period", "cost"),
}


def _records_sql() -> str:
    parts = []
    for table, (column, _label) in SOURCES.items():
        if column == "period":
            parts.append(f"SELECT '{table}' AS table_name, period, NULL::TIMESTAMP AS rec_at FROM {table}")
        else:
            parts.append(
                f"SELECT '{table}' AS table_name, strftime({column}, '%Y-%m') AS period, {column} AS rec_at FROM {table}"
            )
    return "\nUNION ALL ".join(parts)


COVERAGE_SQL = f"""
WITH rec AS ({_records_sql()}),
months AS (
    SELECT period, complete,
           CASE WHEN complete THEN last_day(month_start)
                ELSE least(last_day(month_start), CAST($cutoff AS TIMESTAMP)::DATE) END AS month_end
    FROM periods
),
spans AS (
    SELECT table_name, min(period) AS first_period, max(period) AS last_period, max(rec_at) AS source_last_at
    FROM rec GROUP BY table_name
),
per AS (
    SELECT table_name, period, count(*) AS rows, min(rec_at) AS first_at, max(rec_at) AS last_at
    FROM rec GROUP BY table_name, period
),
cov AS (
    SELECT s.table_name, m.period, m.complete, m.month_end, coalesce(p.rows, 0) AS rows, p.first_at, p.last_at,
           date_diff('day', CAST(p.last_at AS DATE), m.month_end) AS days_short,
           s.last_period AS source_last_period, s.source_last_at
    FROM spans s JOIN months m ON m.period >= s.first_period
    LEFT JOIN per p ON p.table_name = s.table_name AND p.period = m.period
)
SELECT c.*,
       min(CASE WHEN c.complete THEN c.days_short END) OVER (
           PARTITION BY c.table_name ORDER BY c.period
           ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING EXCLUDE CURRENT ROW) AS usual_days_short
FROM cov c
ORDER BY c.table_name, c.period
"""


def compute_coverage(con: duckdb.DuckDBPyConnection, cutoff) -> None:
    """`source_coverage`: one row per (optional table, month from the table's first month on)."""
    con.execute(f"CREATE OR REPLACE TABLE source_coverage AS {COVERAGE_SQL}", {"cutoff": cutoff})
