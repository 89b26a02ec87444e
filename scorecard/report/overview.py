"""What the period overview shows besides its queries: the ranking table's rows, the unit tree
with links to the unit pages, and the escalations that reached a parent's accountable owner.

The overview lives at two depths (the period folder and the site root), so links to unit pages
take the path from the page to the period folder (`period_root`)."""

from __future__ import annotations

import duckdb
import pandas as pd

from ..publish.paths import unit_slug
from .escape import md_escape
from .formatting import records
from .values import delta, format_change, format_value


def ranking_rows(ranking: pd.DataFrame) -> list[dict]:
    """queries.ranking rows for the ranking table: rank, unit, composite, change, KPIs scored."""
    return [
        {
            "rank": int(r.rank),
            "unit": r.unit_name,
            "composite": format_value(r.composite, "score", 0),
            "change": format_change(delta(r.composite, r.previous_composite), ""),
            "kpis": int(r.kpis_scored),
        }
        for r in records(ranking)
    ]


def unit_page_link(unit_id: str, period_root: str = "") -> str:
    """A unit's page of the same period, relative to the overview."""
    return f"{period_root}{unit_slug(unit_id)}.html"


def unit_tree_markdown(ranking: pd.DataFrame, period_root: str = "") -> str:
    """The organisation tree: each unit indented under its parent, a link to its page and its
    composite (Markdown list; names escaped)."""
    return "\n".join(
        "  " * int(r.depth) + f"- [{md_escape(r.unit_name)}]({unit_page_link(r.unit_id, period_root)})"
        f" — composite {format_value(r.composite, 'score', 0)}"
        for r in records(ranking.sort_values("tree_order"))
    )


def escalations(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Every escalation of the period (KPIs red for `escalation_periods` in a row), longest streak
    first, with where it went (escalation_path): `level` 1 stays with the accountable owner at the
    unit, level 2 (red for twice as long) goes to the accountable owner of the same KPI at the
    parent unit; `escalated_to_text` says who and where, e.g. "Head of People (parent unit: Europe)"."""
    df = con.execute(
        """
        SELECT e.unit_id, u.unit_name, e.kpi_id, c.name, e.red_streak, e.since_period, e.owner,
               p.level, p.escalated_to, p.escalated_to_unit, t.unit_name AS escalated_to_name
        FROM escalations e
        JOIN org_units u USING (unit_id)
        JOIN catalog c USING (kpi_id)
        LEFT JOIN escalation_path p USING (period, unit_id, kpi_id)
        LEFT JOIN org_units t ON t.unit_id = p.escalated_to_unit
        WHERE e.period = ?
        ORDER BY e.red_streak DESC, u.sort_path, c.sort_order""",
        [period],
    ).df()
    df["escalated_to_text"] = [escalated_to_text(r.level, r.escalated_to, r.escalated_to_name) for r in records(df)]
    return df


def escalated_to_text(level, who, unit_name) -> str:
    """Who an escalation reached: the accountable owner, and at the parent unit which one."""
    who = "–" if who is None or (isinstance(who, float) and who != who) else str(who)
    if level == 2:
        return f"{who} (parent unit: {unit_name})"
    return f"{who} (this unit)"
