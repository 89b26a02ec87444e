"""What the report notebooks read: computed results shaped for one page, as DataFrames.

Notebooks stay thin by asking these functions; all the joins live here, next to the schema.
"""

from __future__ import annotations

from typing import cast

import duckdb
import pandas as pd

from ..db import first_row, scalar
from .formatting import is_missing
from .freshness import freshness_notes
from .values import format_value

UNIT_SCORECARD_SQL = """
SELECT c.perspective, c.kpi_id, c.name, c.unit AS kpi_unit, c.direction, c.sort_order, c.noisy,
       r.value, r.target, r.amber, coalesce(r.status, '') AS status, r.weight, r.score, r.n,
       r.ci_low, r.ci_high, t.owner,
       ch.prev_period, ch.prev_value, ch.prev_delta, ch.prev_significant,
       ch.year_period, ch.year_value, ch.year_delta, ch.year_significant, ch.rolling3,
       cmp.company_value, cmp.vs_company, cmp.sibling_rank, cmp.sibling_count,
       cmp.bench_source, cmp.bench_year, cmp.bench_segment, cmp.bench_p25, cmp.bench_median, cmp.bench_p75,
       cmp.bench_position, cmp.bench_note, cmp.bench_url
FROM results r
JOIN catalog c USING (kpi_id)
JOIN targets t USING (period, unit_id, kpi_id)
LEFT JOIN changes ch USING (period, unit_id, kpi_id)
LEFT JOIN comparisons cmp USING (period, unit_id, kpi_id)
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
SELECT r.period, r.kpi_id, r.value, r.ci_low, r.ci_high, r.target, r.amber, coalesce(r.status, '') AS status, r.n,
       CASE WHEN c.noisy THEN ch.rolling3 END AS rolling3
FROM results r
JOIN catalog c USING (kpi_id)
LEFT JOIN changes ch USING (period, unit_id, kpi_id)
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
    row = con.execute(
        "SELECT unit_id, unit_name, parent_id, depth, is_leaf FROM org_units WHERE unit_id = ?", [unit_id]
    ).fetchone()
    if row is None:
        raise KeyError(f"unknown unit {unit_id!r}")
    return dict(zip(("unit_id", "unit_name", "parent_id", "depth", "is_leaf"), row))


def period_info(con: duckdb.DuckDBPyConnection, period: str) -> dict:
    row = con.execute("SELECT period, complete FROM periods WHERE period = ?", [period]).fetchone()
    if row is None:
        raise KeyError(f"unknown period {period!r}")
    cutoff = scalar(con, "SELECT value FROM meta WHERE key = 'cutoff'")
    return {"period": row[0], "complete": row[1], "cutoff": cutoff}


def unit_scorecard(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """One row per KPI in catalog order: value, target, status, previous and year-ago values, n, interval."""
    return con.execute(UNIT_SCORECARD_SQL, {"period": period, "unit": unit_id}).df()


def composite(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> dict:
    row = con.execute(COMPOSITE_SQL, {"period": period, "unit": unit_id}).fetchone()
    return dict(zip(("composite", "previous_composite", "kpis_scored"), row or (None, None, 0)))


def trend(
    con: duckdb.DuckDBPyConnection, period: str, unit_id: str, kpi_id: str | None = None, months: int = 13
) -> pd.DataFrame:
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
    return con.execute(
        """
        SELECT c.kpi_id, c.name, c.perspective, c.unit, c.direction, c.definition,
               t.target, t.amber, t.weight, coalesce(t.owner, c.owner) AS owner
        FROM catalog c
        JOIN targets t ON t.kpi_id = c.kpi_id
             AND t.period = coalesce($period, (SELECT max(period) FROM periods))
             AND t.unit_id = (SELECT unit_id FROM org_units WHERE parent_id IS NULL)
        ORDER BY c.sort_order""",
        {"period": period},
    ).df()


def open_report(database: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection for a notebook (several notebooks read one database at once)."""
    return duckdb.connect(str(database), read_only=True)


def latest_complete_period(con: duckdb.DuckDBPyConnection) -> str:
    row = first_row(con, "SELECT max(period) FILTER (complete), max(period) FROM periods")
    return row[0] or row[1]


def root_unit(con: duckdb.DuckDBPyConnection) -> str:
    return scalar(con, "SELECT unit_id FROM org_units WHERE parent_id IS NULL")  # validation: one root


def min_sample(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT value FROM meta WHERE key = 'min_sample'").fetchone()
    return int(row[0]) if row else 30


def changes_since(previous_csv: str, con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> list[dict]:
    """What a restatement changed for one unit: KPIs whose value or status differ from the
    previous revision's published scorecard.csv, formatted for a table."""
    previous = pd.read_csv(
        previous_csv, dtype={"unit_id": str, "status": str}, keep_default_na=False, na_values={"value": [""]}
    )
    previous = previous[previous["unit_id"] == unit_id][["kpi_id", "value", "status"]]
    current = con.execute(
        """SELECT r.kpi_id, round(r.value, 4) AS value, coalesce(r.status, '') AS status,
                                    coalesce(c.name, 'Composite score') AS name, coalesce(c.unit, 'score') AS kpi_unit,
                                    coalesce(c.sort_order, -1) AS sort_order
                             FROM results r LEFT JOIN catalog c USING (kpi_id)
                             WHERE r.period = ? AND r.unit_id = ?""",
        [period, unit_id],
    ).df()
    merged = previous.merge(current, on="kpi_id", how="outer", suffixes=("_before", "_now"))
    same_value = (merged["value_before"].round(4) == merged["value_now"]) | (
        merged["value_before"].isna() & merged["value_now"].isna()
    )
    changed = merged[~same_value | (merged["status_before"] != merged["status_now"])].sort_values("sort_order")
    return [
        {
            "kpi": r.name if isinstance(r.name, str) else r.kpi_id,
            "before": format_value(r.value_before, cast(str, r.kpi_unit)),
            "now": format_value(r.value_now, cast(str, r.kpi_unit)),
            "status_before": r.status_before,
            "status_now": r.status_now,
        }
        for r in changed.itertuples()
    ]


def heat_rows(con: duckdb.DuckDBPyConnection, period: str) -> tuple[list[dict], list[tuple[str, str]]]:
    """Unit × KPI table rows (value and status per KPI) and the (kpi_id, name) columns, in order."""
    long = heat_table(con, period)
    kpis = list(dict.fromkeys(zip(long["kpi_id"], long["name"])))
    units = {kpi: unit for kpi, unit in con.execute("SELECT kpi_id, unit FROM catalog").fetchall()}
    rows: dict[str, dict] = {}
    for r in long.itertuples():
        row = rows.setdefault(cast(str, r.unit_id), {"unit": r.unit_name})
        row[r.kpi_id] = format_value(r.value, units[r.kpi_id])
        row[f"{r.kpi_id}_status"] = r.status
    return list(rows.values()), kpis


def load_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows read and set aside per input table."""
    from ..contract import TABLES

    counts = dict(con.execute("SELECT table_name, count(*) FROM quarantine GROUP BY 1").fetchall())
    rows = []
    for table in TABLES:
        kept = scalar(con, f"SELECT count(*) FROM {table}")
        bad = counts.get(table, 0)
        if kept + bad:
            rows.append(
                {
                    "table_name": table,
                    "rows": kept + bad,
                    "quarantined": bad,
                    "share": f"{100 * bad / (kept + bad):.2f}%",
                }
            )
    return pd.DataFrame(rows)


def priority(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """The unit's KPIs on the priority matrix, with name and owner; worst gap first."""
    return con.execute(
        """
        SELECT p.kpi_id, c.name, c.unit AS kpi_unit, p.importance, p.gap, p.tracked, p.quadrant,
               p.importance_split, p.gap_split, t.owner
        FROM priority p JOIN catalog c USING (kpi_id) JOIN targets t USING (period, unit_id, kpi_id)
        WHERE p.period = $period AND p.unit_id = $unit
        ORDER BY p.gap DESC, c.sort_order""",
        {"period": period, "unit": unit_id},
    ).df()


def escalations(con: duckdb.DuckDBPyConnection, period: str, unit_id: str | None = None) -> pd.DataFrame:
    """KPIs red for N periods in a row up to `period` (all units when unit_id is None)."""
    return con.execute(
        """
        SELECT e.unit_id, u.unit_name, e.kpi_id, c.name, e.red_streak, e.since_period, e.owner
        FROM escalations e JOIN org_units u USING (unit_id) JOIN catalog c USING (kpi_id)
        WHERE e.period = $period AND ($unit IS NULL OR e.unit_id = $unit)
        ORDER BY e.red_streak DESC, u.sort_path, c.sort_order""",
        {"period": period, "unit": unit_id},
    ).df()


def breakdown_rows(
    con: duckdb.DuckDBPyConnection, period: str, unit_id: str, dimension: str
) -> tuple[list[dict], list[str]]:
    """One row per KPI, one column per channel (or segment): value and n; and the columns."""
    long = con.execute(
        """
        SELECT b.dim_value, b.kpi_id, c.name, c.unit AS kpi_unit, b.value, b.n
        FROM breakdowns b JOIN catalog c USING (kpi_id)
        WHERE b.period = $period AND b.unit_id = $unit AND b.dimension = $dimension
        ORDER BY c.sort_order, b.dim_value""",
        {"period": period, "unit": unit_id, "dimension": dimension},
    ).df()
    values = sorted(set(long["dim_value"]), key=lambda v: (v == "unknown", v))
    floor = min_sample(con)
    rows: dict[str, dict] = {}
    for r in long.itertuples():
        n = cast(float, r.n)  # a count (int64, or float64 if the column has a NULL)
        row = rows.setdefault(cast(str, r.kpi_id), {"kpi": r.name})
        if r.kpi_id == "volume":
            row[r.dim_value] = f"{int(n):,}"
        elif not is_missing(r.value):
            low = ", low n" if n < floor else ""
            row[r.dim_value] = f"{format_value(r.value, cast(str, r.kpi_unit))} (n={int(n):,}{low})"
    return list(rows.values()), values


def mix_shifts(con: duckdb.DuckDBPyConnection, period: str, unit_id: str | None = None) -> pd.DataFrame:
    return con.execute(
        """
        SELECT m.unit_id, u.unit_name, m.kpi_id, m.dimension, m.overall_delta, m.message
        FROM mix_shift m JOIN org_units u USING (unit_id) JOIN catalog c USING (kpi_id)
        WHERE m.period = $period AND ($unit IS NULL OR m.unit_id = $unit)
        ORDER BY u.sort_path, c.sort_order, m.dimension""",
        {"period": period, "unit": unit_id},
    ).df()


def quality_notes(con: duckdb.DuckDBPyConnection, period: str) -> list[str]:
    """What a reader of the overview should know about the data behind the period."""
    set_aside = scalar(con, "SELECT count(*) FROM quarantine")
    low_n, weighted = first_row(
        con,
        """
        SELECT count(*) FILTER (status = 'low-n'), count(*) FROM results
        WHERE period = ? AND weight > 0 AND kpi_id <> 'composite'""",
        [period],
    )
    cutoff = period_info(con, period)["cutoff"][:16]
    notes = [f"Data cut-off {cutoff}; {set_aside:,} input rows were set aside (see the data-quality page)."]
    if low_n:
        notes.append(
            f"{low_n} of {weighted} weighted unit × KPI values rest on fewer than {min_sample(con)} "
            "records: shown, marked low n, and left out of the composite."
        )
    return notes + freshness_notes(con, period)  # sources that stop short of the month's end


def comments(con: duckdb.DuckDBPyConnection, period: str, unit_id: str, limit: int = 5) -> pd.DataFrame:
    """The period's most recent comments from unhappy customers (CSAT 1–2, NPS 0–6, CES 1–3) of
    the unit and its descendants. Personal data was masked when the data was loaded."""
    return con.execute(
        """
        SELECT s.survey, s.score, strftime(s.responded_at, '%Y-%m-%d') AS day, s.comment
        FROM unhappy_comments s JOIN unit_tree t ON t.unit_id = s.unit_id
        WHERE t.ancestor_id = $unit AND s.period = $period
        ORDER BY s.responded_at DESC, s.response_id LIMIT $limit""",
        {"period": period, "unit": unit_id, "limit": limit},
    ).df()


# --------------------------------------------------------------------------- hierarchy
ANCESTORS_SQL = """
WITH RECURSIVE up(unit_id, unit_name, parent_id, depth) AS (
    SELECT unit_id, unit_name, parent_id, depth FROM org_units WHERE unit_id = $unit
    UNION ALL
    SELECT u.unit_id, u.unit_name, u.parent_id, u.depth FROM org_units u JOIN up ON u.unit_id = up.parent_id
)
SELECT unit_id, unit_name FROM up ORDER BY depth
"""

CHILDREN_SQL = """
SELECT u.unit_id, u.unit_name, u.is_leaf, cur.value AS composite, prev.value AS previous_composite,
       count(*) FILTER (WHERE k.status = 'green') AS green,
       count(*) FILTER (WHERE k.status = 'amber') AS amber,
       count(*) FILTER (WHERE k.status = 'red') AS red
FROM org_units u
LEFT JOIN results cur ON cur.unit_id = u.unit_id AND cur.period = $period AND cur.kpi_id = 'composite'
LEFT JOIN results prev ON prev.unit_id = u.unit_id AND prev.kpi_id = 'composite'
     AND prev.period = (SELECT max(period) FROM periods WHERE period < $period)
LEFT JOIN results k ON k.unit_id = u.unit_id AND k.period = $period AND k.kpi_id <> 'composite'
WHERE u.parent_id = $unit
GROUP BY ALL
ORDER BY any_value(u.sort_path)
"""


def ancestors(con: duckdb.DuckDBPyConnection, unit_id: str) -> list[tuple[str, str]]:
    """(unit_id, unit_name) from the root of the tree down to ``unit_id`` itself."""
    return [tuple(r) for r in con.execute(ANCESTORS_SQL, {"unit": unit_id}).fetchall()]


def children(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """The unit's direct children in tree order: composite, previous composite and how many of
    their KPIs are green, amber and red in the period."""
    return con.execute(CHILDREN_SQL, {"period": period, "unit": unit_id}).df()
