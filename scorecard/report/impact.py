"""The initiatives page and the overview's summary of it: every initiative's difference in
differences as of a period (initiative_impact), its treated and control units, the four cells
with their n (the chart of both arms month by month is figures_review's, shared with the unit
page).

The numbers are computed by scorecard/initiatives.py; this module only reads and words them. An
impact is in the KPI's unit (points for a percentage); its verdict already reads the KPI's
direction (`improved` is better, whether the KPI should rise or fall)."""

from __future__ import annotations

import duckdb
import pandas as pd

from .formatting import is_missing, records
from .values import format_change, format_value

IMPACT_SQL = """
WITH arms AS (
    SELECT initiative_id,
           count(*) FILTER (WHERE arm = 'treated') AS treated_n,
           count(*) FILTER (WHERE arm = 'control') AS control_n
    FROM initiative_units GROUP BY initiative_id
), treated AS (
    SELECT i.initiative_id, list(o.unit_name ORDER BY o.sort_path) AS treated_names,
           min(i.control_units) AS control_ids
    FROM initiatives i JOIN org_units o USING (unit_id) GROUP BY i.initiative_id
), control AS (
    SELECT c.initiative_id, list(o.unit_name ORDER BY o.sort_path) AS control_names
    FROM (SELECT initiative_id, unnest(control_ids) AS unit_id FROM treated) c
    JOIN org_units o USING (unit_id) GROUP BY c.initiative_id
)
SELECT m.*, c.name AS kpi_name, c.unit AS kpi_unit, c.direction,
       t.treated_names, n.control_names, coalesce(a.treated_n, 0) AS treated_n, coalesce(a.control_n, 0) AS control_n
FROM initiative_impact m
JOIN catalog c USING (kpi_id)
LEFT JOIN treated t USING (initiative_id)
LEFT JOIN control n USING (initiative_id)
LEFT JOIN arms a USING (initiative_id)
WHERE m.period = ?
ORDER BY m.start, m.initiative_id
"""


def impacts(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """One row per initiative as of `period`: initiative_impact with the KPI's name, unit and
    direction, the treated units named in the input, the control units named (none: every other
    leaf unit) and how many units each arm holds with their descendants."""
    df = con.execute(IMPACT_SQL, [period]).df()
    for column in ("treated_names", "control_names"):  # lists (empty, not NA, when none)
        df[column] = [[] if is_missing(v) else [str(n) for n in v] for v in df[column]]
    return df


def _with_descendants(names: list[str], units: int) -> str:
    """The units named in the input; when they have units under them, how many the arm holds."""
    text = ", ".join(names) or "–"
    return f"{text} and the units under them ({units} in all)" if units > len(names) else text


def treated_text(row) -> str:
    return _with_descendants(row.treated_names, row.treated_n)


def control_text(row) -> str:
    if not row.control_names:
        return f"every other team ({row.control_n} units)"
    return _with_descendants(row.control_names, row.control_n)


def interval_text(low, high, kpi_unit: str) -> str:
    """'+2.8 to +25.4 pts'; a dash when the KPI has no interval."""
    if is_missing(low) or is_missing(high):
        return "–"
    first, second = format_change(low, kpi_unit), format_change(high, kpi_unit)
    suffix = second[len(f"{high:+.1f}") :]
    return f"{first.removesuffix(suffix)} to {second}"


def months_text(row) -> str:
    """After-months used: '3 of 3', '1 of 3, provisional', 'none yet'."""
    if row.months_after == 0:
        return "none yet"
    return f"{row.months_after} of {row.window_months}" + (", provisional" if row.provisional else "")


def verdict_text(row) -> str:
    return f"{row.verdict} (provisional)" if row.provisional and row.months_after > 0 else str(row.verdict)


def cell_text(value, n, kpi_unit: str) -> str:
    """A cell's pooled value with its n: '62.1% (n 171)'."""
    if is_missing(value):
        return f"– (n {int(n):,})" if n else "–"
    return f"{format_value(value, kpi_unit)} (n {int(n):,})"


def impact_rows(df: pd.DataFrame) -> list[dict]:
    """The initiatives table: what changed, where, and what it did against the control group."""
    return [
        {
            "initiative": r.name,
            "kpi": r.kpi_name,
            "treated": treated_text(r),
            "control": control_text(r),
            "start": r.start,
            "after": months_text(r),
            "naive": format_change(r.naive_change, r.kpi_unit),
            "impact": format_change(r.impact, r.kpi_unit),
            "interval": interval_text(r.ci_low, r.ci_high, r.kpi_unit),
            "verdict": verdict_text(r),
        }
        for r in records(df)
    ]


def cell_rows(df: pd.DataFrame) -> list[dict]:
    """The four cells of each initiative (pooled value and n): before and after, treated and control."""
    return [
        {
            "initiative": r.name,
            "before_treated": cell_text(r.before_treated, r.n_before_treated, r.kpi_unit),
            "after_treated": cell_text(r.after_treated, r.n_after_treated, r.kpi_unit),
            "before_control": cell_text(r.before_control, r.n_before_control, r.kpi_unit),
            "after_control": cell_text(r.after_control, r.n_after_control, r.kpi_unit),
        }
        for r in records(df)
    ]


def summary_lines(df: pd.DataFrame) -> list[str]:
    """One line per initiative for the period overview (plain text: escaped by whoever shows it)."""
    lines = []
    for r in records(df):
        if r.months_after == 0:
            lines.append(f"{r.name} ({r.kpi_name}, from {r.start}): no month after the start yet.")
            continue
        interval = interval_text(r.ci_low, r.ci_high, r.kpi_unit)
        shown = f", 95% interval {interval}" if interval != "–" else ""
        lines.append(
            f"{r.name} ({r.kpi_name}, from {r.start}): {verdict_text(r)}; impact "
            f"{format_change(r.impact, r.kpi_unit)}{shown} against the control group "
            f"(naive change {format_change(r.naive_change, r.kpi_unit)})."
        )
    return lines
