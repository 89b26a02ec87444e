"""Initiative impact: difference in differences against a control group, set-based, as of every
period (definition and the initiatives contract in docs/review-loop.md).

For an initiative on KPI k with treated units T (the initiative's units and their descendants),
control units C (its `control_units` and their descendants, else every leaf unit; never a treated
unit), start month s and window w, each of four cells (T/C × before/after) pools the records of
all its units and months and applies k's own formula to the pool, so a big team weighs as much as
its records (not a mean of monthly values):

* before = the complete months s−w … s−1, after = the complete months s … s+w−1 up to the
  period: with fewer than w the impact is provisional (`months_after` says how many), with none
  there is no impact yet;
* additive KPIs are pooled from the moments kpis.py keeps per (period, unit): n, x_sum, x_sumsq
  with value = scale × x_sum ÷ n. A unit's measures include its descendants, so each unit's own
  share is its measures minus its children's, and a cell adds the own shares of its units;
* medians are not additive: they are taken over the raw records of the cell (MEDIAN_RECORDS).

impact = (T after − T before) − (C after − C before); naive_change = T after − T before. The
standard error adds the four cells' variances of the KPI's value: proportions 100²·p(1−p)/n,
net scores 100²·(p₊ + p₋ − (p₊ − p₋)²)/n, means sd²/n (sd with divisor n − 1); medians, ratios
and counts have none, so no interval. The verdict, in this order: `no impact yet` (no month
after), `too little data` (a cell below min_sample), `improved` / `worsened` when the whole 95%
interval lies on the KPI's better / worse side of 0, else `no detectable effect`.

Tables:
  initiative_units (initiative_id, arm, unit_id): who is treated and who is the control.
  initiative_impact (period, initiative_id, ...): one row per initiative and period.
  initiative_monthly (initiative_id, period, arm, value, n): each arm's pooled value per month
    from 2w months before the start to 2w − 1 after, for charts of treated vs control.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from .catalog import load_catalog
from .kpisql import record_value
from .stats import Z_95_INTERVAL

# The record-level value whose median a median KPI is (its catalog expression), over interactions
# in the month of created_at.
MEDIAN_RECORDS = {
    k.id: record_value(k)
    for k in load_catalog().kpis
    if k.method == "median" and (k.table, k.period_column) == ("interactions", "created_at")
}

# initiatives.csv (outputs): the required columns first, then context for a reader.
CSV_COLUMNS = (
    "initiative_id",
    "kpi_id",
    "months_after",
    "before_treated",
    "after_treated",
    "before_control",
    "after_control",
    "n_before_treated",
    "n_after_treated",
    "n_before_control",
    "n_after_control",
    "naive_change",
    "impact",
    "ci_low",
    "ci_high",
    "verdict",
    "name",
    "start",
    "window_months",
    "months_before",
    "provisional",
    "note",
)

SETUP_SQL = """
CREATE OR REPLACE TEMP TABLE _ii_defs AS
SELECT i.initiative_id, min(i.name) AS name, min(i.kpi_id) AS kpi_id, min(i.start) AS start,
       min(i.window_months) AS w, min(i.owner) AS owner, min(i.control_units) AS control_units,
       month_index(strptime(min(i.start), '%Y-%m')) AS s, min(c.method) AS method, min(c.direction) AS direction
FROM initiatives i JOIN catalog c USING (kpi_id)
GROUP BY i.initiative_id;

CREATE OR REPLACE TABLE initiative_units AS
WITH treated AS (
    SELECT DISTINCT i.initiative_id, t.unit_id
    FROM initiatives i JOIN unit_tree t ON t.ancestor_id = i.unit_id
), control AS (
    SELECT DISTINCT d.initiative_id, t.unit_id
    FROM (SELECT initiative_id, unnest(control_units) AS unit_id FROM _ii_defs) d
    JOIN unit_tree t ON t.ancestor_id = d.unit_id
    UNION ALL
    SELECT d.initiative_id, u.unit_id
    FROM _ii_defs d JOIN org_units u ON u.is_leaf WHERE d.control_units IS NULL
)
SELECT initiative_id, 'treated' AS arm, unit_id FROM treated
UNION ALL
SELECT initiative_id, 'control', unit_id FROM (SELECT * FROM control EXCEPT SELECT * FROM treated)
ORDER BY initiative_id, arm DESC, unit_id;

-- The months of the data around each start, complete ones only for the impact.
CREATE OR REPLACE TEMP TABLE _ii_months AS
SELECT d.initiative_id, p.period, p.complete, month_index(p.month_start) - d.s AS rel
FROM _ii_defs d JOIN periods p ON month_index(p.month_start) BETWEEN d.s - 2 * d.w AND d.s + 2 * d.w - 1;

-- Cells: a name and its months. 'before'; 'after k' (the first k after-months, k = 1 … w);
-- 'month YYYY-MM' for the monthly chart.
CREATE OR REPLACE TEMP TABLE _ii_cell_months AS
SELECT m.initiative_id, 'before' AS cell, m.period
FROM _ii_months m JOIN _ii_defs d USING (initiative_id) WHERE m.complete AND m.rel BETWEEN -d.w AND -1
UNION ALL
SELECT m.initiative_id, 'after ' || k.k, m.period
FROM _ii_months m JOIN _ii_defs d USING (initiative_id)
JOIN (SELECT initiative_id, count(*) AS k_max FROM _ii_months m JOIN _ii_defs d USING (initiative_id)
      WHERE m.complete AND m.rel BETWEEN 0 AND d.w - 1 GROUP BY ALL) a USING (initiative_id),
unnest(range(1, a.k_max + 1)) k(k)
WHERE m.complete AND m.rel BETWEEN 0 AND k.k - 1
UNION ALL
SELECT initiative_id, 'month ' || period, period FROM _ii_months;
"""

# Pooled value, n and variance of the value per (initiative, cell, arm), additive KPIs.
ADDITIVE_CELLS_SQL = """
CREATE OR REPLACE TEMP TABLE _ii_cells AS
WITH wanted AS (
    SELECT DISTINCT d.kpi_id, cm.period FROM _ii_cell_months cm JOIN _ii_defs d USING (initiative_id)
    WHERE d.method <> 'median'
), own AS (  -- a unit's own records: its measures minus its children's
    SELECT m.period, m.unit_id, m.kpi_id,
           m.n - coalesce(sum(c.n), 0) AS n,
           coalesce(m.x_sum, 0) - coalesce(sum(c.x_sum), 0) AS x_sum,
           coalesce(m.x_sumsq, 0) - coalesce(sum(c.x_sumsq), 0) AS x_sumsq
    FROM measures m
    JOIN wanted USING (kpi_id, period)
    LEFT JOIN org_units k ON k.parent_id = m.unit_id
    LEFT JOIN measures c ON c.unit_id = k.unit_id AND c.period = m.period AND c.kpi_id = m.kpi_id
    GROUP BY m.period, m.unit_id, m.kpi_id, m.n, m.x_sum, m.x_sumsq
), pooled AS (
    SELECT cm.initiative_id, cm.cell, u.arm, d.method,
           sum(o.n) AS n, sum(o.x_sum) AS x, sum(o.x_sumsq) AS xx
    FROM _ii_cell_months cm
    JOIN _ii_defs d USING (initiative_id)
    JOIN initiative_units u USING (initiative_id)
    JOIN own o ON o.period = cm.period AND o.unit_id = u.unit_id AND o.kpi_id = d.kpi_id
    WHERE d.method <> 'median' AND o.n > 0
    GROUP BY ALL
)
SELECT initiative_id, cell, arm, n::BIGINT AS n,
    CASE WHEN method IN ('proportion', 'nps') THEN 100 * x / n
         WHEN method IN ('mean', 'ratio') THEN x / n
         WHEN method = 'count' THEN n END AS value,
    CASE WHEN method = 'proportion' THEN 100 ^ 2 * (x / n) * (1 - x / n) / n
         WHEN method = 'nps' THEN 100 ^ 2 * greatest(0, xx / n - (x / n) ^ 2) / n
         WHEN method = 'mean' AND n >= 2 THEN greatest(0, (xx - x ^ 2 / n) / (n - 1)) / n END AS var
FROM pooled
"""

MEDIAN_CELLS_SQL = """
INSERT INTO _ii_cells
WITH records AS (
    SELECT '{kpi_id}' AS kpi_id, i.unit_id, strftime(i.created_at, '%Y-%m') AS period, {expr} AS x
    FROM interactions i
    WHERE i.created_at >= (SELECT min(p.month_start) FROM periods p JOIN _ii_months USING (period))
)
SELECT cm.initiative_id, cm.cell, u.arm, count(r.x) AS n, median(r.x) AS value, NULL AS var
FROM _ii_cell_months cm
JOIN _ii_defs d USING (initiative_id)
JOIN initiative_units u USING (initiative_id)
JOIN records r ON r.period = cm.period AND r.unit_id = u.unit_id AND r.kpi_id = d.kpi_id
WHERE d.kpi_id = '{kpi_id}' AND r.x IS NOT NULL
GROUP BY ALL
"""

IMPACT_SQL = """
CREATE OR REPLACE TABLE initiative_impact AS
WITH as_of AS (  -- per period: how many after-months it has, and whether the before window is over
    SELECT p.period, d.*,
        (SELECT count(*) FROM _ii_months m WHERE m.initiative_id = d.initiative_id AND m.complete
            AND m.rel BETWEEN 0 AND d.w - 1 AND m.period <= p.period) AS months_after,
        (SELECT count(*) FROM _ii_months m WHERE m.initiative_id = d.initiative_id AND m.complete
            AND m.rel BETWEEN -d.w AND -1) AS months_before,
        month_index(p.month_start) >= d.s - 1 AS before_over
    FROM periods p CROSS JOIN _ii_defs d
), cells AS (
    SELECT a.*,
        c_bt.value AS before_treated, c_bt.n AS n_before_treated, c_bt.var AS v_bt,
        c_at.value AS after_treated, c_at.n AS n_after_treated, c_at.var AS v_at,
        c_bc.value AS before_control, c_bc.n AS n_before_control, c_bc.var AS v_bc,
        c_ac.value AS after_control, c_ac.n AS n_after_control, c_ac.var AS v_ac
    FROM as_of a
    LEFT JOIN _ii_cells c_bt ON a.before_over AND c_bt.initiative_id = a.initiative_id AND c_bt.cell = 'before' AND c_bt.arm = 'treated'
    LEFT JOIN _ii_cells c_bc ON a.before_over AND c_bc.initiative_id = a.initiative_id AND c_bc.cell = 'before' AND c_bc.arm = 'control'
    LEFT JOIN _ii_cells c_at ON c_at.initiative_id = a.initiative_id AND c_at.cell = 'after ' || a.months_after AND c_at.arm = 'treated'
    LEFT JOIN _ii_cells c_ac ON c_ac.initiative_id = a.initiative_id AND c_ac.cell = 'after ' || a.months_after AND c_ac.arm = 'control'
), computed AS (
    SELECT *,
        after_treated - before_treated AS naive_change,
        (after_treated - before_treated) - (after_control - before_control) AS impact,
        sqrt(v_bt + v_at + v_bc + v_ac) AS se,
        least(coalesce(n_before_treated, 0), coalesce(n_after_treated, 0),
              coalesce(n_before_control, 0), coalesce(n_after_control, 0)) AS min_n
    FROM cells
), judged AS (
    SELECT *, impact - {z} * se AS ci_low, impact + {z} * se AS ci_high,
        CASE WHEN months_after = 0 THEN 'no impact yet'
             WHEN min_n < $min_sample THEN 'too little data'
             WHEN se IS NULL THEN 'no detectable effect'
             WHEN (direction = 'higher' AND impact - {z} * se > 0) OR (direction = 'lower' AND impact + {z} * se < 0)
                 THEN 'improved'
             WHEN (direction = 'higher' AND impact + {z} * se < 0) OR (direction = 'lower' AND impact - {z} * se > 0)
                 THEN 'worsened'
             ELSE 'no detectable effect' END AS verdict
    FROM computed
)
SELECT period, initiative_id, name, kpi_id, start, w AS window_months, owner,
    months_before::INTEGER AS months_before, months_after::INTEGER AS months_after,
    months_after BETWEEN 1 AND w - 1 AS provisional,
    before_treated, after_treated, before_control, after_control,
    coalesce(n_before_treated, 0) AS n_before_treated, coalesce(n_after_treated, 0) AS n_after_treated,
    coalesce(n_before_control, 0) AS n_before_control, coalesce(n_after_control, 0) AS n_after_control,
    naive_change, impact, se, ci_low, ci_high, verdict,
    concat_ws('; ',
        CASE WHEN months_after BETWEEN 1 AND w - 1
             THEN 'provisional: ' || months_after || ' of ' || w || ' months after the start' END,
        CASE WHEN months_before < w AND before_over
             THEN 'only ' || months_before || ' of ' || w || ' months before the start are in the data' END,
        CASE WHEN verdict = 'too little data'
             THEN 'a cell has fewer than ' || $min_sample || ' records' END,
        CASE WHEN months_after > 0 AND verdict <> 'too little data' AND se IS NULL
             THEN 'no interval for a ' || method || ' KPI' END) AS note
FROM judged
ORDER BY period, initiative_id
"""

MONTHLY_SQL = """
CREATE OR REPLACE TABLE initiative_monthly AS
SELECT m.initiative_id, m.period, m.rel AS months_from_start, m.complete, a.arm, c.value, coalesce(c.n, 0) AS n
FROM _ii_months m
CROSS JOIN (VALUES ('treated'), ('control')) a(arm)
LEFT JOIN _ii_cells c ON c.initiative_id = m.initiative_id AND c.cell = 'month ' || m.period AND c.arm = a.arm
ORDER BY m.initiative_id, m.period, a.arm DESC
"""

# the tables this module writes into the database


def compute_initiatives(con: duckdb.DuckDBPyConnection, min_sample: int) -> None:
    """Build initiative_units, initiative_impact and initiative_monthly from initiatives, measures,
    catalog, periods, the unit tree and (for median KPIs) interactions; the macros of stats.py and
    analysis.py (month_index) must be installed."""
    con.execute(SETUP_SQL)
    con.execute(ADDITIVE_CELLS_SQL)
    used = {r[0] for r in con.execute("SELECT DISTINCT kpi_id FROM _ii_defs WHERE method = 'median'").fetchall()}
    for kpi_id in sorted(used):
        con.execute(MEDIAN_CELLS_SQL.format(kpi_id=kpi_id, expr=MEDIAN_RECORDS[kpi_id]))
    con.execute(IMPACT_SQL.format(z=Z_95_INTERVAL), {"min_sample": min_sample})
    con.execute(MONTHLY_SQL)
    for name in ("_ii_defs", "_ii_months", "_ii_cell_months", "_ii_cells"):
        con.execute(f"DROP TABLE {name}")


def write_initiatives_csv(con: duckdb.DuckDBPyConnection, out: str | Path, period: str) -> int:
    """Write initiatives.csv for one period (one row per initiative, as of that period) and return
    the number of rows; rounded so that the same data gives the same bytes."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rounded = {
        "before_treated",
        "after_treated",
        "before_control",
        "after_control",
        "naive_change",
        "impact",
        "ci_low",
        "ci_high",
    }
    select = ", ".join(f"round({c}, 4) AS {c}" if c in rounded else c for c in CSV_COLUMNS)
    frame = con.execute(
        f"SELECT {select} FROM initiative_impact WHERE period = ? ORDER BY initiative_id", [period]
    ).df()
    frame.to_csv(out, index=False, lineterminator="\n", float_format="%.10g")
    return len(frame)
