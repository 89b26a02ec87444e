"""What the period overview shows besides its queries: the ranking table's rows, the unit tree
with links to the unit pages, and the escalations that reached a parent's accountable owner.

The overview lives at two depths (the period folder and the site root), so links to unit pages
take the path from the page to the period folder (`period_root`)."""

from __future__ import annotations

import duckdb
import pandas as pd

from ..publish.paths import unit_slug
from .escape import md_escape
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
        for r in ranking.itertuples()
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
        for r in ranking.sort_values("tree_order").itertuples()
    )


def parent_escalations(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """KPIs red for twice `escalation_periods` in a row, escalated from a unit to the accountable
    owner of the same KPI at its parent (escalation_path level 2), longest streak first."""
    return con.execute(
        """
        SELECT e.unit_id, o.unit_name, e.parent_id, p.unit_name AS parent_name, e.kpi_id, c.name AS kpi_name,
               e.red_streak, e.since_period, e.accountable, e.escalated_to
        FROM escalation_path e
        JOIN org_units o USING (unit_id)
        JOIN org_units p ON p.unit_id = e.escalated_to_unit
        JOIN catalog c USING (kpi_id)
        WHERE e.period = ? AND e.level = 2
        ORDER BY e.red_streak DESC, o.sort_path, c.sort_order""",
        [period],
    ).df()
