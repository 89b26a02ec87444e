"""What the owners say about their numbers, as data for the unit pages and PDFs.

For a (period, unit): the unit-level comment (a `commentary` row without kpi_id) heads the page,
the KPI comments sit beside their KPIs, open actions from earlier periods are carried until an
update marks them `done` or `dropped`, and a red KPI in "fix now" without any comment is flagged.
The free text is already masked (validation.py) but not escaped: escaping is the renderer's job.

An action is known by (unit, KPI, its text): a later row repeating the text updates its status
and due date. Built for every period at once by `compute_commentary`:

open_actions (period, unit_id, kpi_id, action, ...)
    Every action not closed as of the period: its latest row up to the period (`last_update`),
    the period it was first written (`since_period`), `carried` when that latest row is from an
    earlier period, and `overdue` when its due date is before the period's end (the first day of
    the next month).
comment_gaps (period, unit_id, kpi_id, owner, message)
    Red KPIs in the "fix now" quadrant without a comment for that (period, unit, KPI).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from .contract import CLOSED_ACTION_STATUSES

MISSING_COMMENT = "no comment from the owner yet"

OPEN_ACTIONS_SQL = """
CREATE OR REPLACE TABLE open_actions AS
WITH acts AS (
    SELECT period AS said_in, unit_id, kpi_id, action, author, analysis, due, action_status,
           min(period) OVER (PARTITION BY unit_id, kpi_id, action) AS since_period
    FROM commentary WHERE action IS NOT NULL
), latest AS (
    SELECT p.period, p.month_start, a.*
    FROM periods p JOIN acts a ON a.said_in <= p.period
    QUALIFY row_number() OVER (PARTITION BY p.period, a.unit_id, a.kpi_id, a.action ORDER BY a.said_in DESC) = 1
)
SELECT period, unit_id, kpi_id, action, author, due, coalesce(action_status, 'planned') AS action_status,
       since_period, said_in AS last_update, said_in < period AS carried,
       coalesce(due < (month_start + INTERVAL 1 MONTH)::DATE, false) AS overdue
FROM latest
WHERE coalesce(action_status, '') NOT IN (SELECT unnest($closed))
ORDER BY period, unit_id, kpi_id NULLS FIRST, since_period, action
"""

COMMENT_GAPS_SQL = """
CREATE OR REPLACE TABLE comment_gaps AS
SELECT r.period, r.unit_id, r.kpi_id, t.owner, $message AS message
FROM results r
JOIN priority q USING (period, unit_id, kpi_id)
JOIN targets t USING (period, unit_id, kpi_id)
WHERE r.status = 'red' AND q.quadrant = 'fix now'
  AND NOT EXISTS (SELECT 1 FROM commentary c
                  WHERE c.period = r.period AND c.unit_id = r.unit_id AND c.kpi_id = r.kpi_id)
ORDER BY r.period, r.unit_id, r.kpi_id
"""

# the tables this module writes into the database


def compute_commentary(con: duckdb.DuckDBPyConnection) -> None:
    """Build open_actions and comment_gaps from commentary, periods, results, priority and targets."""
    con.execute(OPEN_ACTIONS_SQL, {"closed": list(CLOSED_ACTION_STATUSES)})
    con.execute(COMMENT_GAPS_SQL, {"message": MISSING_COMMENT})


def unit_comments(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """The unit-level comments of the period (they head the page), in the order written, each
    with whether its action is overdue at the period's end."""
    return con.execute(
        """
        SELECT c.author, c.analysis, c.action, c.due, c.action_status, coalesce(a.overdue, false) AS overdue
        FROM commentary c
        LEFT JOIN open_actions a ON a.period = c.period AND a.unit_id = c.unit_id AND a.kpi_id IS NULL
             AND a.action = c.action AND NOT a.carried
        WHERE c.period = ? AND c.unit_id = ? AND c.kpi_id IS NULL""",
        [period, unit_id],
    ).df()


def kpi_comments(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """The KPI comments of the period in catalog order, each with its action (if any) and whether
    that action is overdue at the period's end."""
    return con.execute(
        """
        SELECT c.kpi_id, k.name AS kpi_name, c.author, c.analysis, c.action, c.due, c.action_status,
               coalesce(a.overdue, false) AS overdue
        FROM commentary c
        JOIN catalog k USING (kpi_id)
        LEFT JOIN open_actions a ON a.period = c.period AND a.unit_id = c.unit_id AND a.kpi_id = c.kpi_id
             AND a.action = c.action AND NOT a.carried
        WHERE c.period = ? AND c.unit_id = ?
        ORDER BY k.sort_order""",
        [period, unit_id],
    ).df()


def carried_actions(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """Actions written in earlier periods and still open at this one, overdue ones first."""
    return con.execute(
        """
        SELECT a.kpi_id, k.name AS kpi_name, a.action, a.author, a.due, a.action_status, a.since_period,
               a.last_update, a.overdue
        FROM open_actions a LEFT JOIN catalog k USING (kpi_id)
        WHERE a.period = ? AND a.unit_id = ? AND a.carried
        ORDER BY a.overdue DESC, a.due NULLS LAST, k.sort_order NULLS FIRST, a.action""",
        [period, unit_id],
    ).df()


def missing_comments(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """Red "fix now" KPIs without a comment from their owner, with the message to show."""
    return con.execute(
        """
        SELECT g.kpi_id, k.name AS kpi_name, g.owner, g.message
        FROM comment_gaps g JOIN catalog k USING (kpi_id)
        WHERE g.period = ? AND g.unit_id = ? ORDER BY k.sort_order""",
        [period, unit_id],
    ).df()
