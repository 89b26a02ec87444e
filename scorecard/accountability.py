"""Accountability as data: who answers for a red KPI, and how far up the tree it has gone.

escalation_path (period, unit_id, kpi_id; one row per escalation of analysis.py's `escalations`)
    A KPI red for `escalation_periods` months in a row is escalated to its accountable owner at
    the unit (level 1); red for twice that long, to the accountable owner of the same KPI at the
    parent unit (level 2), so it shows on the parent's page. The root has no parent: it stays at
    level 1. Accountable owners come from `targets` (catalog default, overridden per unit and
    period by the configuration's rules).
"""

from __future__ import annotations

import duckdb
import pandas as pd

ESCALATION_PATH_SQL = """
CREATE OR REPLACE TABLE escalation_path AS
SELECT e.period, e.unit_id, e.kpi_id, e.red_streak, e.since_period,
    CASE WHEN e.red_streak >= 2 * $periods AND u.parent_id IS NOT NULL THEN 2 ELSE 1 END AS level,
    CASE WHEN e.red_streak >= 2 * $periods AND u.parent_id IS NOT NULL THEN u.parent_id ELSE e.unit_id END
        AS escalated_to_unit,
    CASE WHEN e.red_streak >= 2 * $periods AND u.parent_id IS NOT NULL THEN pt.accountable ELSE t.accountable END
        AS escalated_to,
    t.accountable, t.responsible, u.parent_id, pt.accountable AS parent_accountable
FROM escalations e
JOIN org_units u USING (unit_id)
JOIN targets t USING (period, unit_id, kpi_id)
LEFT JOIN targets pt ON pt.period = e.period AND pt.unit_id = u.parent_id AND pt.kpi_id = e.kpi_id
ORDER BY e.period, e.unit_id, e.kpi_id
"""

# the tables this module writes into the database


def compute_escalation_path(con: duckdb.DuckDBPyConnection, escalation_periods: int) -> None:
    """Build escalation_path from escalations, targets and org_units."""
    con.execute(ESCALATION_PATH_SQL, {"periods": escalation_periods})


def escalated_to_unit(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """Escalations that reached this unit from its children (level 2): for the parent's page."""
    return con.execute(
        """
        SELECT e.unit_id, o.unit_name, e.kpi_id, c.name AS kpi_name, e.red_streak, e.since_period,
               e.escalated_to, e.accountable
        FROM escalation_path e JOIN org_units o USING (unit_id) JOIN catalog c USING (kpi_id)
        WHERE e.period = ? AND e.escalated_to_unit = ? AND e.level = 2
        ORDER BY e.red_streak DESC, o.sort_path, c.sort_order""",
        [period, unit_id],
    ).df()


def roles(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """Every KPI's owner and RACI roles in force for a unit and period, in catalog order."""
    return con.execute(
        """
        SELECT t.kpi_id, c.name AS kpi_name, t.owner, t.accountable, t.responsible, t.consulted, t.informed
        FROM targets t JOIN catalog c USING (kpi_id)
        WHERE t.period = ? AND t.unit_id = ? ORDER BY c.sort_order""",
        [period, unit_id],
    ).df()


def rule_trail(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every configuration rule that sets a target, amber threshold or weight (with or without
    `effective_from`), with its reason and approver: the audit trail of the targets, latest first."""
    return con.execute("""
        SELECT coalesce(effective_from, 'always') AS effective_from, kpi_id, coalesce(unit_id, 'all units') AS unit,
               target, amber, weight, reason, approved_by
        FROM target_rules
        WHERE source = 'config' AND (target IS NOT NULL OR amber IS NOT NULL OR weight IS NOT NULL)
        ORDER BY target_rules.effective_from DESC NULLS LAST, kpi_id, rule_order""").df()
