"""What the report notebooks read: computed results shaped for one page, as DataFrames.

Notebooks stay thin by asking these functions; all the joins live here, next to the schema.
"""

from __future__ import annotations

import duckdb
import pandas as pd

STATUS_SYMBOLS = {
    "green": "● on target",
    "amber": "▲ watch",
    "red": "▼ off target",
    "low-n": "◌ low n",
    "no-data": "– no data",
    "no-target": "○ no target",
    "": "",
}

UNIT_SCORECARD_SQL = """
WITH ordered AS (
    SELECT period, row_number() OVER (ORDER BY period) AS i FROM periods
), cur AS (SELECT i FROM ordered WHERE period = $period)
SELECT c.perspective, c.kpi_id, c.name, c.unit AS kpi_unit, c.direction, c.sort_order,
       r.value, r.target, r.amber, coalesce(r.status, '') AS status, r.weight, r.score, r.n,
       r.ci_low, r.ci_high, t.owner,
       prev.value AS previous_value, prev.period AS previous_period,
       year.value AS year_ago_value, year.period AS year_ago_period
FROM results r
JOIN catalog c USING (kpi_id)
JOIN targets t USING (period, unit_id, kpi_id)
LEFT JOIN results prev ON prev.unit_id = r.unit_id AND prev.kpi_id = r.kpi_id
     AND prev.period = (SELECT period FROM ordered, cur WHERE ordered.i = cur.i - 1)
LEFT JOIN results year ON year.unit_id = r.unit_id AND year.kpi_id = r.kpi_id
     AND year.period = strftime(strptime($period || '-01', '%Y-%m-%d') - INTERVAL 1 YEAR, '%Y-%m')
WHERE r.period = $period AND r.unit_id = $unit
ORDER BY c.sort_order
"""

COMPOSITE_SQL = """
SELECT cur.value AS composite, prev.value AS previous_composite, cur.n AS kpis_scored
FROM results cur
LEFT JOIN results prev ON prev.unit_id = cur.unit_id AND prev.kpi_id = 'composite'
     AND prev.period = (SELECT max(period) FROM periods WHERE period < $period)
WHERE cur.period = $period AND cur.unit_id = $unit AND cur.kpi_id = 'composite'
"""

TREND_SQL = """
SELECT r.period, r.kpi_id, r.value, r.ci_low, r.ci_high, r.target, r.amber, coalesce(r.status, '') AS status, r.n
FROM results r
WHERE r.unit_id = $unit AND r.period <= $period
  AND r.period > strftime(strptime($period || '-01', '%Y-%m-%d') - INTERVAL ($months) MONTH, '%Y-%m')
  AND ($kpi IS NULL OR r.kpi_id = $kpi)
ORDER BY r.kpi_id, r.period
"""

RANKING_SQL = """
SELECT u.unit_id, u.unit_name, u.depth, u.is_leaf,
       row_number() OVER (ORDER BY u.sort_path) AS tree_order,
       cur.value AS composite, prev.value AS previous_composite, cur.n AS kpis_scored,
       rank() OVER (ORDER BY cur.value DESC NULLS LAST) AS rank
FROM org_units u
JOIN results cur ON cur.unit_id = u.unit_id AND cur.period = $period AND cur.kpi_id = 'composite'
LEFT JOIN results prev ON prev.unit_id = u.unit_id AND prev.kpi_id = 'composite'
     AND prev.period = (SELECT max(period) FROM periods WHERE period < $period)
ORDER BY cur.value DESC NULLS LAST, u.sort_path
"""

HEAT_SQL = """
SELECT u.unit_id, u.unit_name, c.kpi_id, c.name, c.sort_order, r.value, coalesce(r.status, '') AS status
FROM results r JOIN org_units u USING (unit_id) JOIN catalog c USING (kpi_id)
WHERE r.period = $period AND (r.weight > 0 OR r.target IS NOT NULL)
ORDER BY u.sort_path, c.sort_order
"""


def unit_info(con: duckdb.DuckDBPyConnection, unit_id: str) -> dict:
    row = con.execute("SELECT unit_id, unit_name, parent_id, depth, is_leaf FROM org_units WHERE unit_id = ?",
                      [unit_id]).fetchone()
    if row is None:
        raise KeyError(f"unknown unit {unit_id!r}")
    return dict(zip(("unit_id", "unit_name", "parent_id", "depth", "is_leaf"), row))


def period_info(con: duckdb.DuckDBPyConnection, period: str) -> dict:
    row = con.execute("SELECT period, complete FROM periods WHERE period = ?", [period]).fetchone()
    if row is None:
        raise KeyError(f"unknown period {period!r}")
    cutoff = con.execute("SELECT value FROM meta WHERE key = 'cutoff'").fetchone()[0]
    return {"period": row[0], "complete": row[1], "cutoff": cutoff}


def unit_scorecard(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """One row per KPI in catalog order: value, target, status, previous and year-ago values, n, interval."""
    return con.execute(UNIT_SCORECARD_SQL, {"period": period, "unit": unit_id}).df()


def composite(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> dict:
    row = con.execute(COMPOSITE_SQL, {"period": period, "unit": unit_id}).fetchone()
    return dict(zip(("composite", "previous_composite", "kpis_scored"), row or (None, None, 0)))


def trend(con: duckdb.DuckDBPyConnection, period: str, unit_id: str, kpi_id: str | None = None,
          months: int = 13) -> pd.DataFrame:
    """The last `months` periods up to `period` (fewer when the history is shorter)."""
    return con.execute(TREND_SQL, {"period": period, "unit": unit_id, "kpi": kpi_id, "months": months}).df()


def ranking(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Every unit's composite for the period, best first, with the previous period's."""
    return con.execute(RANKING_SQL, {"period": period}).df()


def heat_table(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """Unit × KPI statuses (KPIs with a weight or a target), long format."""
    return con.execute(HEAT_SQL, {"period": period}).df()


def quarantine_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("""SELECT table_name, reason, count(*) AS rows FROM quarantine
                          GROUP BY ALL ORDER BY table_name, rows DESC, reason""").df()


def catalog_table(con: duckdb.DuckDBPyConnection, period: str | None = None) -> pd.DataFrame:
    """The catalog with the targets in force for the root unit in `period` (default: latest)."""
    return con.execute("""
        SELECT c.kpi_id, c.name, c.perspective, c.unit, c.direction, c.definition,
               t.target, t.amber, t.weight, coalesce(t.owner, c.owner) AS owner
        FROM catalog c
        JOIN targets t ON t.kpi_id = c.kpi_id
             AND t.period = coalesce($period, (SELECT max(period) FROM periods))
             AND t.unit_id = (SELECT unit_id FROM org_units WHERE parent_id IS NULL)
        ORDER BY c.sort_order""", {"period": period}).df()


def format_value(value, kpi_unit: str, digits: int | None = None) -> str:
    """A KPI value as a reader expects it: 84.2%, 42 min, +35, 5.9, 1,234."""
    if value is None or pd.isna(value):
        return "–"
    if kpi_unit == "%":
        return f"{value:.1f}%"
    if kpi_unit == "points":
        return f"{value:+.0f}"
    if kpi_unit == "count":
        return f"{value:,.0f}"
    if kpi_unit == "minutes":
        return f"{value:.1f} min"
    if kpi_unit == "hours":
        return f"{value:.1f} h"
    if kpi_unit == "currency":
        return f"{value:,.2f}"
    return f"{value:.{digits if digits is not None else 1}f}"


def format_change(value, kpi_unit: str) -> str:
    if value is None or pd.isna(value):
        return "–"
    suffix = {"%": " pts", "minutes": " min", "hours": " h"}.get(kpi_unit, "")
    return f"{value:+.1f}{suffix}"


def open_report(database: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection for a notebook (several notebooks read one database at once)."""
    return duckdb.connect(str(database), read_only=True)


def latest_complete_period(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT max(period) FILTER (complete), max(period) FROM periods").fetchone()
    return row[0] or row[1]


def root_unit(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT unit_id FROM org_units WHERE parent_id IS NULL").fetchone()[0]


def min_sample(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT value FROM meta WHERE key = 'min_sample'").fetchone()
    return int(row[0]) if row else 30


def changes_since(previous_csv: str, con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """What a restatement changed for one unit: KPIs whose value or status differ from the
    previous revision's published scorecard.csv."""
    previous = pd.read_csv(previous_csv, dtype={"unit_id": str, "status": str}, keep_default_na=False,
                           na_values={"value": [""]})
    previous = previous[previous["unit_id"] == unit_id][["kpi_id", "value", "status"]]
    current = con.execute("""SELECT kpi_id, round(value, 4) AS value, coalesce(status, '') AS status
                             FROM results WHERE period = ? AND unit_id = ?""", [period, unit_id]).df()
    merged = previous.merge(current, on="kpi_id", how="outer", suffixes=("_before", "_now"))
    same_value = (merged["value_before"].round(4) == merged["value_now"]) | (
        merged["value_before"].isna() & merged["value_now"].isna())
    return merged[~same_value | (merged["status_before"] != merged["status_now"])].reset_index(drop=True)


def _interval(row) -> str:
    if row.ci_low is None or pd.isna(row.ci_low):
        return "–"
    return f"{format_value(row.ci_low, row.kpi_unit)} – {format_value(row.ci_high, row.kpi_unit)}"


def scorecard_rows(card: pd.DataFrame) -> list[dict]:
    """unit_scorecard rows formatted for the scorecard table, grouped by perspective."""
    rows = []
    for r in card.itertuples():
        rows.append({
            "perspective": r.perspective,
            "kpi": r.name + ("" if r.weight else " (tracked)"),
            "value": format_value(r.value, r.kpi_unit),
            "target": format_value(r.target, r.kpi_unit) if r.target is not None and not pd.isna(r.target) else "–",
            "status": r.status,
            "previous": format_change(_delta(r.value, r.previous_value), r.kpi_unit),
            "year_ago": format_change(_delta(r.value, r.year_ago_value), r.kpi_unit),
            "n": f"{int(r.n):,}",
            "interval": _interval(r),
            "weight": f"{r.weight:g}%" if r.weight else "–",
            "owner": r.owner or "",
        })
    return rows


def _delta(value, before):
    if value is None or before is None or pd.isna(value) or pd.isna(before):
        return None
    return value - before


def composite_note(card: pd.DataFrame) -> str:
    """Which weighted KPIs the composite leaves out, and why (spec: the report says so)."""
    out = card[(card["weight"] > 0) & ~card["status"].isin(["green", "amber", "red"])]
    if out.empty:
        return ""
    reasons = {"low-n": "too few responses", "no-data": "no data", "no-target": "no target"}
    return "Left out of the composite: " + "; ".join(
        f"{r.name} ({reasons.get(r.status, r.status)})" for r in out.itertuples()) + "."


def heat_rows(con: duckdb.DuckDBPyConnection, period: str) -> tuple[list[dict], list[tuple[str, str]]]:
    """Unit × KPI table rows (value and status per KPI) and the (kpi_id, name) columns, in order."""
    long = heat_table(con, period)
    kpis = list(dict.fromkeys(zip(long["kpi_id"], long["name"])))
    units = {kpi: unit for kpi, unit in con.execute("SELECT kpi_id, unit FROM catalog").fetchall()}
    rows: dict[str, dict] = {}
    for r in long.itertuples():
        row = rows.setdefault(r.unit_id, {"unit": r.unit_name})
        row[r.kpi_id] = format_value(r.value, units[r.kpi_id])
        row[f"{r.kpi_id}_status"] = r.status
    return list(rows.values()), kpis


def target_changes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Configuration rules that start in a given month: the history of target changes."""
    return con.execute("""
        SELECT effective_from, kpi_id, coalesce(unit_id, 'all units') AS unit,
               coalesce(CAST(target AS VARCHAR), '–') AS target, coalesce(CAST(amber AS VARCHAR), '–') AS amber,
               coalesce(CAST(weight AS VARCHAR), '–') AS weight
        FROM target_rules WHERE source = 'config' AND effective_from IS NOT NULL
        ORDER BY effective_from DESC, kpi_id""").df()


def load_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows read and set aside per input table."""
    from .contract import TABLES

    counts = dict(con.execute("SELECT table_name, count(*) FROM quarantine GROUP BY 1").fetchall())
    rows = []
    for table in TABLES:
        kept = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        bad = counts.get(table, 0)
        if kept + bad:
            rows.append({"table_name": table, "rows": kept + bad, "quarantined": bad,
                         "share": f"{100 * bad / (kept + bad):.2f}%"})
    return pd.DataFrame(rows)
