"""Analysis tables, set-based next to the scores: changes, comparisons, breakdowns, mix shifts and
escalations, for every period and unit at once. Built by `compute_analysis` after
`results`; the report notebooks only read them.

changes (period, unit_id, kpi_id; every KPI but volume, plus composite)
    The value against the previous month (`prev_*`) and the same month a year before (`year_*`);
    prev_period and year_period are always those calendar months, with NULL value and n when the
    month is before the data (n = 0 when it is in the data without records). Each change gets a
    two-sided test at 5% of whether it is larger than sampling noise (z in `prev_z`, `year_z`):
    - proportions (csat, fcr, sla_frt, reopen_rate, retention): two-proportion z-test with the
      pooled proportion, se = sqrt(p(1 − p)(1/n₁ + 1/n₀));
    - net scores (nps, enps): z = (net₁ − net₀) / sqrt(v₁/n₁ + v₀/n₀) with v = p_pro + p_det −
      (p_pro − p_det)² per period (the variance of a −1/0/+1 variable);
    - means (ces, qa_score, aht): Welch z, sample variances (divisor n − 1) from the sums of squares.
    z is on the record variable's scale (kpis.py: x_sum ÷ n). `*_significant` is TRUE when |z| ≥
    Z_CRITICAL_5PCT (p ≤ 0.05: exactly at the critical value counts as significant), and NULL when the
    change cannot be tested: a value missing on either side, n below min_sample on either side, a
    mean with n < 2, or a KPI without a sampling model (medians, cost per contact, composite).
    When both periods have no spread at all (se = 0) the change is significant if the values differ.
    `improved` / `year_improved`: the change goes the KPI's good way (a zero change is FALSE; NULL
    without a change). `rolling3`: the value pooled over the records of the period and the two
    calendar months before it (numerators and denominators, or sums, added up; fewer months at the
    start of the data), with `rolling3_n` its n; NULL for medians (a median cannot be pooled from
    monthly medians) and for composite.

comparisons (period, unit_id, kpi_id; every KPI with a value, plus composite)
    `company_value` is the root unit's value; `sibling_rank` ranks the unit among its parent's
    children with a value and n ≥ min_sample (composite: with a value), best first in the KPI's
    direction, ties sharing the lower rank (RANK()); NULL for the root, for volume and when the unit
    itself is not ranked; `sibling_count` is how many were ranked. The external benchmark of a KPI
    is the row of `benchmarks` without a segment if there is one, else the first by source, and
    among those the latest year (then source, segment alphabetically). `bench_position` is
    direction-aware: 'top quartile' when the value is at or beyond the better quartile (p75 when
    higher is better, p25 when lower is), 'bottom quartile' at or beyond the worse one, else
    'at median' when equal to the median and 'better than median' / 'worse than median' for better / worse
    than it; quartiles are percentiles of the values (p25 ≤ median ≤ p75 whichever way is better).

breakdowns (period, unit_id, dimension, dim_value, kpi_id)
    The catalog KPIs marked `breakdown` (interaction and survey KPIs) by the interaction's channel and customer
    segment, computed by kpis.py's own SQL grouped by (dimension, dim_value) too, in one pass for
    both dimensions (parents pool their descendants' records, as in measures).
    A survey response takes its interaction's channel and segment; without an interaction, or
    without a segment, the value is 'unknown'. Only (period, unit, dim_value) with records appear.

mix_shift (period, unit_id, kpi_id, dimension)
    Simpson's paradox against the previous month: the unit's overall value moved one way while the
    value of every dim_value with records in both months (n > 0 in both) moved strictly the other
    way, with at least two such dim_values. Proportion, net-score and mean KPIs of the breakdowns
    (not volume, not medians). No row when the overall value did not change. No minimum sample is
    applied; `min_n` (the fewest records of a compared dim_value in either month) lets a reader
    tell a shift resting on a handful of records from a solid one.

escalations (period, unit_id, kpi_id)
    A KPI red in `escalation_periods` (or more) consecutive months up to and including the period:
    red_streak months since since_period, with the KPI's owner from targets.
"""

from __future__ import annotations

import duckdb

from .catalog import Catalog
from .config import Config
from .db import first_row, scalar
from .kpis import DIMENSIONS, Grouping, compute_kpi_rows

# Two-sided 5% critical value of the standard normal, Φ⁻¹(0.975), to double precision: a change
# is significant when |z| reaches it, so the boundary is decided exactly. The 95% intervals use
# the conventional rounded 1.96 instead (stats.Z_95_INTERVAL), as published.
Z_CRITICAL_5PCT = 1.959963984540054

ANALYSIS_MACROS = f"""
-- Standard error of the difference between two periods' means of the record variable (value =
-- scale × s / n), by the KPI's method; NULL when there is no sampling model (or n < 2 for a mean).
CREATE OR REPLACE TEMP MACRO diff_se(method, n1, s1, ss1, n0, s0, ss0) AS CASE
    WHEN n1 IS NULL OR n0 IS NULL OR n1 = 0 OR n0 = 0 THEN NULL
    WHEN method = 'proportion' THEN
        sqrt(((s1 + s0) / (n1 + n0)) * (1 - (s1 + s0) / (n1 + n0)) * (1 / n1 + 1 / n0))
    WHEN method = 'nps' THEN
        sqrt(greatest(0, ss1 / n1 - (s1 / n1) ^ 2) / n1 + greatest(0, ss0 / n0 - (s0 / n0) ^ 2) / n0)
    WHEN method = 'mean' AND n1 >= 2 AND n0 >= 2 THEN
        sqrt(greatest(0, (ss1 - s1 ^ 2 / n1) / (n1 - 1)) / n1 + greatest(0, (ss0 - s0 ^ 2 / n0) / (n0 - 1)) / n0)
END;

-- z of a change and whether it is significant at 5% (two-sided; |z| = {Z_CRITICAL_5PCT} counts).
CREATE OR REPLACE TEMP MACRO change_z(d, se) AS CASE WHEN se > 0 THEN d / se END;
CREATE OR REPLACE TEMP MACRO change_significant(d, se) AS CASE
    WHEN d IS NULL OR se IS NULL THEN NULL
    WHEN se = 0 THEN d <> 0
    ELSE abs(d / se) >= {Z_CRITICAL_5PCT}
END;

-- Where a value sits against an external benchmark, in the KPI's direction (see the docstring).
CREATE OR REPLACE TEMP MACRO bench_position(direction, v, p25, med, p75) AS CASE
    WHEN v IS NULL OR med IS NULL OR direction NOT IN ('higher', 'lower') THEN NULL
    WHEN direction = 'higher' AND v >= p75 THEN 'top quartile'
    WHEN direction = 'higher' AND v <= p25 THEN 'bottom quartile'
    WHEN direction = 'lower' AND v <= p25 THEN 'top quartile'
    WHEN direction = 'lower' AND v >= p75 THEN 'bottom quartile'
    WHEN v = med THEN 'at median'
    WHEN (v > med) = (direction = 'higher') THEN 'better than median'
    ELSE 'worse than median'
END;

-- A month as a number, so that calendar months can be windowed and shifted.
CREATE OR REPLACE TEMP MACRO month_index(d) AS year(d) * 12 + month(d) - 1;
"""

CHANGES_SQL = """
CREATE OR REPLACE TABLE changes AS
WITH base AS (
    SELECT m.period, m.unit_id, m.kpi_id, m.value, m.n, m.x_sum, m.x_sumsq, c.method, c.direction
    FROM measures m JOIN catalog c USING (kpi_id)
    WHERE c.method <> 'count'
    UNION ALL
    SELECT period, unit_id, kpi_id, value, n, NULL, NULL, 'composite', 'higher'
    FROM results WHERE kpi_id = 'composite'
), cur AS (
    SELECT b.*, month_index(p.month_start) AS m,
        strftime(p.month_start - INTERVAL 1 MONTH, '%Y-%m') AS prev_period,
        strftime(p.month_start - INTERVAL 12 MONTH, '%Y-%m') AS year_period,
        sum(b.n) OVER w3 AS r_n, sum(b.x_sum) OVER w3 AS r_sum
    FROM base b JOIN periods p USING (period)
    WINDOW w3 AS (PARTITION BY b.unit_id, b.kpi_id ORDER BY month_index(p.month_start)
                  RANGE BETWEEN 2 PRECEDING AND CURRENT ROW)
), compared AS (
    SELECT c.*,
        p.value AS prev_value, p.n AS prev_n,
        -- a value on either side with too few records (or none) cannot be tested
        CASE WHEN c.n >= $min_sample AND p.n >= $min_sample AND c.value IS NOT NULL AND p.value IS NOT NULL
             THEN diff_se(c.method, c.n, c.x_sum, c.x_sumsq, p.n, p.x_sum, p.x_sumsq) END AS prev_se,
        c.x_sum / c.n - p.x_sum / p.n AS prev_d,
        y.value AS year_value, y.n AS year_n,
        CASE WHEN c.n >= $min_sample AND y.n >= $min_sample AND c.value IS NOT NULL AND y.value IS NOT NULL
             THEN diff_se(c.method, c.n, c.x_sum, c.x_sumsq, y.n, y.x_sum, y.x_sumsq) END AS year_se,
        c.x_sum / c.n - y.x_sum / y.n AS year_d
    FROM cur c
    LEFT JOIN base p ON p.unit_id = c.unit_id AND p.kpi_id = c.kpi_id AND p.period = c.prev_period
    LEFT JOIN base y ON y.unit_id = c.unit_id AND y.kpi_id = c.kpi_id AND y.period = c.year_period
)
SELECT period, unit_id, kpi_id, value, n::BIGINT AS n,
    prev_period, prev_value, prev_n::BIGINT AS prev_n, value - prev_value AS prev_delta,
    change_significant(prev_d, prev_se) AS prev_significant,
    year_period, year_value, year_n::BIGINT AS year_n, value - year_value AS year_delta,
    change_significant(year_d, year_se) AS year_significant,
    CASE WHEN r_n > 0 AND method IN ('proportion', 'nps') THEN 100 * r_sum / r_n
         WHEN r_n > 0 AND method IN ('mean', 'ratio') THEN r_sum / r_n END AS rolling3,
    CASE WHEN method IN ('proportion', 'nps', 'mean', 'ratio') THEN r_n END::BIGINT AS rolling3_n,
    CASE WHEN direction = 'higher' THEN value - prev_value > 0
         WHEN direction = 'lower' THEN value - prev_value < 0 END AS improved,
    CASE WHEN direction = 'higher' THEN value - year_value > 0
         WHEN direction = 'lower' THEN value - year_value < 0 END AS year_improved,
    change_z(prev_d, prev_se) AS prev_z, change_z(year_d, year_se) AS year_z
FROM compared
ORDER BY period, unit_id, kpi_id
"""

COMPARISONS_SQL = """
CREATE OR REPLACE TABLE comparisons AS
WITH base AS (
    SELECT r.period, r.unit_id, r.kpi_id, r.value, r.n, u.parent_id,
           CASE WHEN r.kpi_id = 'composite' THEN 'higher' ELSE c.direction END AS direction
    FROM results r JOIN org_units u USING (unit_id) LEFT JOIN catalog c USING (kpi_id)
    WHERE r.value IS NOT NULL
), flagged AS (
    SELECT *, parent_id IS NOT NULL AND direction IN ('higher', 'lower')
              AND (kpi_id = 'composite' OR n >= $min_sample) AS ranked
    FROM base
), bench AS (
    SELECT * FROM benchmarks
    QUALIFY row_number() OVER (PARTITION BY kpi_id
                               ORDER BY segment IS NULL DESC, year DESC, source, segment) = 1
)
SELECT f.period, f.unit_id, f.kpi_id, f.value, f.n::BIGINT AS n,
    root.value AS company_value, f.value - root.value AS vs_company,
    CASE WHEN f.ranked THEN rank() OVER (
        PARTITION BY f.period, f.kpi_id, f.parent_id, f.ranked
        ORDER BY CASE WHEN f.direction = 'lower' THEN f.value ELSE -f.value END) END AS sibling_rank,
    CASE WHEN f.parent_id IS NOT NULL AND f.direction IN ('higher', 'lower') THEN
        sum(f.ranked::INTEGER) OVER (PARTITION BY f.period, f.kpi_id, f.parent_id) END::BIGINT AS sibling_count,
    b.source AS bench_source, b.year AS bench_year, b.segment AS bench_segment,
    b.p25 AS bench_p25, b.median AS bench_median, b.p75 AS bench_p75, b.note AS bench_note, b.url AS bench_url,
    bench_position(f.direction, f.value, b.p25, b.median, b.p75) AS bench_position
FROM flagged f
LEFT JOIN base root ON root.period = f.period AND root.kpi_id = f.kpi_id AND root.parent_id IS NULL
LEFT JOIN bench b ON b.kpi_id = f.kpi_id AND f.direction IN ('higher', 'lower')
ORDER BY f.period, f.unit_id, f.kpi_id
"""

BREAKDOWNS_DDL = """
CREATE OR REPLACE TABLE breakdowns (
    period VARCHAR, unit_id VARCHAR, dimension VARCHAR, dim_value VARCHAR, kpi_id VARCHAR,
    value DOUBLE, n BIGINT, ci_low DOUBLE, ci_high DOUBLE
)"""

BREAKDOWN_INSERT_SQL = """
INSERT INTO breakdowns
SELECT period, unit_id, dimension, dim_value, kpi_id, value, n, ci_low, ci_high
FROM breakdown_rows ORDER BY period, unit_id, dimension, dim_value, kpi_id
"""

MIX_SHIFT_SQL = """
CREATE OR REPLACE TABLE mix_shift AS
WITH overall AS (
    SELECT cur.period, cur.unit_id, cur.kpi_id, prev.period AS prev_period,
           cur.value, prev.value AS prev_value, cur.value - prev.value AS overall_delta,
           c.unit, c.short, c.name
    FROM measures cur
    JOIN periods p ON p.period = cur.period
    JOIN measures prev ON prev.unit_id = cur.unit_id AND prev.kpi_id = cur.kpi_id
         AND prev.period = strftime(p.month_start - INTERVAL 1 MONTH, '%Y-%m')
    JOIN catalog c ON c.kpi_id = cur.kpi_id
    WHERE cur.kpi_id IN (SELECT unnest($kpis)) AND c.method IN ('proportion', 'nps', 'mean')
      AND cur.n > 0 AND prev.n > 0 AND cur.value <> prev.value
), moved AS (
    SELECT cur.period, cur.unit_id, cur.kpi_id, cur.dimension, cur.dim_value, cur.n,
           least(cur.n, prev.n) AS fewest, cur.value - prev.value AS delta
    FROM breakdowns cur
    JOIN periods p ON p.period = cur.period
    JOIN breakdowns prev ON prev.unit_id = cur.unit_id AND prev.kpi_id = cur.kpi_id
         AND prev.dimension = cur.dimension AND prev.dim_value = cur.dim_value
         AND prev.period = strftime(p.month_start - INTERVAL 1 MONTH, '%Y-%m')
    WHERE cur.n > 0 AND prev.n > 0
), by_dimension AS (
    SELECT period, unit_id, kpi_id, dimension, count(*) AS segments,
           bool_and(delta > 0) AS all_rose, bool_and(delta < 0) AS all_fell,
           string_agg(dim_value, ', ' ORDER BY n DESC, dim_value) AS dim_values, min(fewest) AS min_n
    FROM moved GROUP BY ALL
), shifts AS (
    SELECT o.*, d.dimension, d.segments, d.dim_values, d.min_n, o.overall_delta < 0 AS fell,
           coalesce(nullif(o.short, ''), o.name) AS label,
           CASE WHEN o.kpi_id IN (SELECT unnest($survey_kpis)) THEN 'responses' ELSE 'contacts' END AS records,
           CASE d.dimension WHEN 'segment' THEN 'customer segment' ELSE d.dimension END AS dim_word,
           CASE d.dimension WHEN 'segment' THEN 'customer segments' ELSE d.dimension || 's' END AS dim_words,
           CASE o.unit WHEN '%' THEN ' points' WHEN 'points' THEN ' points' WHEN 'minutes' THEN ' minutes'
                       WHEN 'hours' THEN ' hours' ELSE '' END AS amount_unit,
           CASE WHEN o.unit IN ('%', 'points', 'minutes', 'hours', '0–100') THEN 1 ELSE 2 END AS decimals
    FROM overall o JOIN by_dimension d USING (period, unit_id, kpi_id)
    WHERE d.segments >= 2 AND ((o.overall_delta < 0 AND d.all_rose) OR (o.overall_delta > 0 AND d.all_fell))
)
SELECT period, unit_id, kpi_id, dimension, overall_delta, segments,
    upper(label[1]) || label[2:] || CASE WHEN fell THEN ' fell ' ELSE ' rose ' END
        || printf('%.' || decimals || 'f', abs(overall_delta)) || amount_unit
        || ' overall although it ' || CASE WHEN fell THEN 'rose' ELSE 'fell' END
        || ' in every ' || dim_word || ' (' || dim_values || '): the mix of ' || records
        || ' shifted toward ' || dim_words || ' with ' || CASE WHEN fell THEN 'lower ' ELSE 'higher ' END
        || label || '.' AS message,
    prev_period, value, prev_value, dim_values, min_n::BIGINT AS min_n
FROM shifts
ORDER BY period, unit_id, kpi_id, dimension
"""

ESCALATIONS_SQL = """
CREATE OR REPLACE TABLE escalations AS
WITH red AS (
    SELECT r.period, r.unit_id, r.kpi_id, month_index(p.month_start) AS m
    FROM results r JOIN periods p USING (period)
    WHERE r.status = 'red'
), runs AS (  -- consecutive red months share m − (their rank among the red months)
    SELECT *, m - row_number() OVER (PARTITION BY unit_id, kpi_id ORDER BY m) AS run FROM red
), streaks AS (
    SELECT *, row_number() OVER (PARTITION BY unit_id, kpi_id, run ORDER BY m) AS red_streak,
           first(period) OVER (PARTITION BY unit_id, kpi_id, run ORDER BY m) AS since_period
    FROM runs
)
SELECT s.period, s.unit_id, s.kpi_id, s.red_streak::BIGINT AS red_streak, t.owner, s.since_period
FROM streaks s JOIN targets t USING (period, unit_id, kpi_id)
WHERE s.red_streak >= $periods
ORDER BY s.period, s.unit_id, s.kpi_id
"""

UNHAPPY_COMMENTS_SQL = """
CREATE OR REPLACE TABLE unhappy_comments AS
SELECT strftime(responded_at, '%Y-%m') AS period, unit_id, survey, score, responded_at, response_id, comment
FROM survey_responses
WHERE nullif(trim(comment), '') IS NOT NULL
  AND ((survey = 'csat' AND score <= 2) OR (survey = 'nps' AND score <= 6) OR (survey = 'ces' AND score <= 3))
ORDER BY period, unit_id, responded_at DESC, response_id
"""

# the tables this module writes into the database


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(ANALYSIS_MACROS)


def compute_breakdowns(con: duckdb.DuckDBPyConnection, cutoff, catalog: Catalog) -> None:
    """`breakdowns`: kpis.py's SQL grouped by every dimension at once (one pass over the records)."""
    con.execute(BREAKDOWNS_DDL)
    kpi_ids = tuple(k.id for k in catalog.kpis if k.breakdown)
    compute_kpi_rows(con, cutoff, "breakdown_rows", Grouping(tuple(DIMENSIONS)), kpi_ids, temp=True, catalog=catalog)
    con.execute(BREAKDOWN_INSERT_SQL)
    con.execute("DROP TABLE breakdown_rows")


def compute_analysis(con: duckdb.DuckDBPyConnection, config: Config, catalog: Catalog, cutoff=None) -> None:
    """Build the analysis tables from measures, results, targets, catalog and the clean tables
    (the cut-off, for SLA attainment in the breakdowns, defaults to the one in meta)."""
    install_macros(con)
    if cutoff is None:
        cutoff = scalar(con, "SELECT value FROM meta WHERE key = 'cutoff'")
    con.execute(CHANGES_SQL, {"min_sample": config.min_sample})
    con.execute(COMPARISONS_SQL, {"min_sample": config.min_sample})
    compute_breakdowns(con, cutoff, catalog)
    con.execute(
        MIX_SHIFT_SQL,
        {
            "kpis": [k.id for k in catalog.kpis if k.breakdown],
            "survey_kpis": [k.id for k in catalog.kpis if k.survey],  # their records are responses
        },
    )
    con.execute(ESCALATIONS_SQL, {"periods": config.escalation_periods})
    con.execute(UNHAPPY_COMMENTS_SQL)  # a few per page, picked from all the survey rows once


def latest_counts(con: duckdb.DuckDBPyConnection) -> dict:
    """Escalations and mix shifts in the latest complete period (the latest period if none is)."""
    row = first_row(
        con,
        """
        WITH latest AS (SELECT coalesce(max(period) FILTER (complete), max(period)) AS period FROM periods)
        SELECT (SELECT count(*) FROM escalations WHERE period = latest.period),
               (SELECT count(*) FROM mix_shift WHERE period = latest.period), latest.period
        FROM latest""",
    )
    return {"escalations": row[0], "mix_shifts": row[1], "period": row[2]}
