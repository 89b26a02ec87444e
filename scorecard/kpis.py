"""KPI computation: every KPI for every period and unit in one set-based pass (spec/kpis.md).

Additive quantities (counts, sums, sums of squares) are aggregated once per (period, record unit)
and then rolled up through unit_tree, so a parent pools its descendants' raw records without
touching them again. Medians are not additive: they join the raw rows to unit_tree directly.
The result is `measures`: one row per (period, unit, KPI) with value, n and the 95% interval.
"""

from __future__ import annotations

import duckdb

# Periods: every month from the first interaction to the cut-off, complete once the cut-off
# reaches the first day of the next month.
PERIODS_SQL = """
CREATE OR REPLACE TABLE periods AS
SELECT strftime(m, '%Y-%m') AS period, m::DATE AS month_start,
       $cutoff >= m + INTERVAL 1 MONTH AS complete
FROM range(
    (SELECT date_trunc('month', min(created_at)) FROM interactions),
    date_trunc('month', $cutoff::TIMESTAMP) + INTERVAL 1 MONTH,
    INTERVAL 1 MONTH) AS t(m)
ORDER BY period
"""

# Per (period, record unit): everything additive about interactions.
INTERACTION_SUMS_SQL = """
CREATE OR REPLACE TEMP TABLE sums_interactions AS
WITH i AS (
    SELECT i.*, strftime(i.created_at, '%Y-%m') AS period,
           coalesce(exact.first_response_minutes, any_priority.first_response_minutes) AS sla_minutes
    FROM interactions i
    LEFT JOIN sla_policies exact ON exact.channel = i.channel AND exact.priority = i.priority
    LEFT JOIN sla_policies any_priority ON any_priority.channel = i.channel AND any_priority.priority IS NULL
)
SELECT period, unit_id,
    count(*) AS volume,
    count(resolved_at) AS resolved,
    count(*) FILTER (resolved_at IS NOT NULL AND contacts_to_resolve = 1 AND NOT coalesce(reopened, false)) AS fcr_yes,
    count(*) FILTER (resolved_at IS NOT NULL AND reopened IS NOT NULL) AS reopen_n,
    count(*) FILTER (resolved_at IS NOT NULL AND reopened) AS reopen_yes,
    count(handle_time_s) AS aht_n,
    sum(handle_time_s / 60) AS aht_sum,
    sum((handle_time_s / 60) ^ 2) AS aht_sumsq,
    count(*) FILTER (sla_minutes IS NOT NULL AND (first_response_at IS NOT NULL
        OR elapsed_s(created_at, $cutoff::TIMESTAMP) > sla_minutes * 60)) AS sla_n,
    count(*) FILTER (sla_minutes IS NOT NULL
        AND elapsed_s(created_at, first_response_at) <= sla_minutes * 60) AS sla_yes
FROM i GROUP BY ALL
"""

SURVEY_SUMS_SQL = """
CREATE OR REPLACE TEMP TABLE sums_surveys AS
SELECT strftime(responded_at, '%Y-%m') AS period, unit_id,
    count(*) FILTER (survey = 'csat') AS csat_n,
    count(*) FILTER (survey = 'csat' AND score >= 4) AS csat_yes,
    count(*) FILTER (survey = 'nps') AS nps_n,
    count(*) FILTER (survey = 'nps' AND score >= 9) AS nps_pro,
    count(*) FILTER (survey = 'nps' AND score <= 6) AS nps_det,
    count(*) FILTER (survey = 'ces') AS ces_n,
    sum(score) FILTER (survey = 'ces') AS ces_sum,
    sum(score ^ 2) FILTER (survey = 'ces') AS ces_sumsq
FROM survey_responses GROUP BY ALL
"""

OTHER_SUMS_SQL = """
CREATE OR REPLACE TEMP TABLE sums_pulse AS
SELECT strftime(responded_at, '%Y-%m') AS period, unit_id, count(*) AS enps_n,
    count(*) FILTER (score >= 9) AS enps_pro, count(*) FILTER (score <= 6) AS enps_det
FROM employee_pulse GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE sums_qa AS
SELECT strftime(reviewed_at, '%Y-%m') AS period, unit_id, count(*) AS qa_n,
    sum(CASE WHEN critical_fail THEN 0 ELSE score END) AS qa_sum,
    sum(CASE WHEN critical_fail THEN 0 ELSE score END ^ 2) AS qa_sumsq
FROM qa_reviews GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE sums_costs AS
SELECT period, unit_id, count(*) AS cost_rows, sum(support_cost) AS cost
FROM costs GROUP BY ALL;

-- Active on the month's first day: active_from before it and not churned before it.
-- Retained: not churned before the next month's first day.
CREATE OR REPLACE TEMP TABLE sums_customers AS
SELECT p.period, c.unit_id, count(*) AS ret_n,
    count(*) FILTER (c.churned_at IS NULL OR c.churned_at >= p.month_start + INTERVAL 1 MONTH) AS ret_yes
FROM periods p JOIN customers c
  ON c.active_from < p.month_start AND (c.churned_at IS NULL OR c.churned_at >= p.month_start)
GROUP BY ALL;
"""

# Sum each family's leaf sums into every ancestor (a unit is its own ancestor at distance 0).
ROLLUP_SQL = """
CREATE OR REPLACE TEMP TABLE rolled_{name} AS
SELECT s.period, t.ancestor_id AS unit_id, {sums}
FROM sums_{name} s JOIN unit_tree t ON t.unit_id = s.unit_id
GROUP BY ALL
"""

MEDIANS_SQL = """
CREATE OR REPLACE TEMP TABLE rolled_medians AS
SELECT strftime(i.created_at, '%Y-%m') AS period, t.ancestor_id AS unit_id,
    median(elapsed_s(i.created_at, i.first_response_at) / 60) AS frt_median,
    count(i.first_response_at) AS frt_n,
    median(elapsed_s(i.created_at, i.resolved_at) / 3600) AS resolution_median,
    count(i.resolved_at) AS resolution_n
FROM interactions i JOIN unit_tree t ON t.unit_id = i.unit_id
GROUP BY ALL
"""

# One row per (period, unit, KPI): value, n and the 95% interval; the formulas of spec/kpis.md.
MEASURES_SQL = """
CREATE OR REPLACE TABLE measures AS
WITH w AS (
    SELECT *
    FROM (SELECT period, unit_id FROM periods CROSS JOIN org_units) g
    LEFT JOIN rolled_interactions USING (period, unit_id)
    LEFT JOIN rolled_surveys USING (period, unit_id)
    LEFT JOIN rolled_pulse USING (period, unit_id)
    LEFT JOIN rolled_qa USING (period, unit_id)
    LEFT JOIN rolled_costs USING (period, unit_id)
    LEFT JOIN rolled_customers USING (period, unit_id)
    LEFT JOIN rolled_medians USING (period, unit_id)
), long AS (
    SELECT period, unit_id, 'csat' AS kpi_id, 100 * csat_yes / csat_n AS value, csat_n AS n,
           wilson_low(csat_yes, csat_n) AS ci_low, wilson_high(csat_yes, csat_n) AS ci_high FROM w
    UNION ALL
    SELECT period, unit_id, 'nps', 100 * (nps_pro - nps_det) / nps_n, nps_n,
           nps_low(nps_pro, nps_det, nps_n), nps_high(nps_pro, nps_det, nps_n) FROM w
    UNION ALL
    SELECT period, unit_id, 'ces', ces_sum / ces_n, ces_n,
           ces_sum / ces_n - mean_half(ces_sum, ces_sumsq, ces_n),
           ces_sum / ces_n + mean_half(ces_sum, ces_sumsq, ces_n) FROM w
    UNION ALL
    SELECT period, unit_id, 'retention', 100 * ret_yes / ret_n, ret_n,
           wilson_low(ret_yes, ret_n), wilson_high(ret_yes, ret_n) FROM w
    UNION ALL
    SELECT period, unit_id, 'fcr', 100 * fcr_yes / resolved, resolved,
           wilson_low(fcr_yes, resolved), wilson_high(fcr_yes, resolved) FROM w
    UNION ALL
    SELECT period, unit_id, 'frt_median', frt_median, frt_n, NULL, NULL FROM w
    UNION ALL
    SELECT period, unit_id, 'resolution_median', resolution_median, resolution_n, NULL, NULL FROM w
    UNION ALL
    SELECT period, unit_id, 'sla_frt', 100 * sla_yes / sla_n, sla_n,
           wilson_low(sla_yes, sla_n), wilson_high(sla_yes, sla_n) FROM w
    UNION ALL
    SELECT period, unit_id, 'reopen_rate', 100 * reopen_yes / reopen_n, reopen_n,
           wilson_low(reopen_yes, reopen_n), wilson_high(reopen_yes, reopen_n) FROM w
    UNION ALL
    SELECT period, unit_id, 'aht', aht_sum / aht_n, aht_n,
           aht_sum / aht_n - mean_half(aht_sum, aht_sumsq, aht_n),
           aht_sum / aht_n + mean_half(aht_sum, aht_sumsq, aht_n) FROM w
    UNION ALL
    SELECT period, unit_id, 'qa_score', qa_sum / qa_n, qa_n,
           qa_sum / qa_n - mean_half(qa_sum, qa_sumsq, qa_n),
           qa_sum / qa_n + mean_half(qa_sum, qa_sumsq, qa_n) FROM w
    UNION ALL
    SELECT period, unit_id, 'cost_per_contact', CASE WHEN cost_rows > 0 THEN cost / volume END,
           CASE WHEN cost_rows > 0 THEN volume ELSE 0 END, NULL, NULL FROM w
    UNION ALL
    SELECT period, unit_id, 'enps', 100 * (enps_pro - enps_det) / enps_n, enps_n,
           nps_low(enps_pro, enps_det, enps_n), nps_high(enps_pro, enps_det, enps_n) FROM w
    UNION ALL
    SELECT period, unit_id, 'volume', coalesce(volume, 0), coalesce(volume, 0), NULL, NULL FROM w
)
SELECT period, unit_id, kpi_id,
       CASE WHEN coalesce(n, 0) > 0 OR kpi_id = 'volume' THEN value END AS value,
       coalesce(n, 0) AS n, ci_low, ci_high
FROM long ORDER BY period, unit_id, kpi_id
"""

ROLLUPS = {
    "interactions": ["volume", "resolved", "fcr_yes", "reopen_n", "reopen_yes", "aht_n", "aht_sum",
                     "aht_sumsq", "sla_n", "sla_yes"],
    "surveys": ["csat_n", "csat_yes", "nps_n", "nps_pro", "nps_det", "ces_n", "ces_sum", "ces_sumsq"],
    "pulse": ["enps_n", "enps_pro", "enps_det"],
    "qa": ["qa_n", "qa_sum", "qa_sumsq"],
    "costs": ["cost_rows", "cost"],
    "customers": ["ret_n", "ret_yes"],
}


def compute_periods(con: duckdb.DuckDBPyConnection, cutoff) -> None:
    con.execute(PERIODS_SQL, {"cutoff": cutoff})


def compute_measures(con: duckdb.DuckDBPyConnection, cutoff) -> None:
    """Build `measures` from the clean tables, `periods` and `unit_tree` (macros from stats.py)."""
    con.execute(INTERACTION_SUMS_SQL, {"cutoff": cutoff})
    con.execute(SURVEY_SUMS_SQL)
    con.execute(OTHER_SUMS_SQL)
    for name, columns in ROLLUPS.items():
        sums = ", ".join(f"sum({c}) AS {c}" for c in columns)
        con.execute(ROLLUP_SQL.format(name=name, sums=sums))
        con.execute(f"DROP TABLE sums_{name}")
    con.execute(MEDIANS_SQL)
    con.execute(MEASURES_SQL)
    for name in [*ROLLUPS, "medians"]:
        con.execute(f"DROP TABLE rolled_{name}")
