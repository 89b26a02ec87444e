"""KPI computation: every KPI for every period and unit in one set-based pass.

Additive quantities (counts, sums, sums of squares) are aggregated once per (period, record unit)
and then rolled up through unit_tree, so a parent pools its descendants' raw records without
touching them again. Medians are not additive: they join the raw rows to unit_tree directly, a
few months at a time (median_pieces), so that the values held in memory at once stay bounded
by DuckDB's memory_limit whatever the size of the data (a month's medians need only its rows).
The result is `measures`: one row per (period, unit, KPI) with value, n and the 95% interval.

The same SQL, grouped by more keys (a `Grouping` with dimensions of the interaction such as its
channel), gives the `breakdowns` of analysis.py: the formulas are written once, in FORMULAS.

Besides value, n and the interval, each row keeps the additive moments of the per-record
variable its value is the mean of, so that changes can be tested and months pooled later without
the raw records: x_sum and x_sumsq, with value = scale × x_sum ÷ n. The variable is 0/1 for a
proportion (x_sum = x_sumsq = successes; scale 100), −1/0/+1 for a net score (x_sum = promoters −
detractors, x_sumsq = promoters + detractors; scale 100), the record's value for a mean, and the
cost for cost_per_contact (x_sum = cost, n = contacts, no x_sumsq). Medians and volume have none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import duckdb

from .needs import withheld_kpis

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

# The dimensions a breakdown can group by: an expression over the interaction `i`. A survey
# response takes the value of its interaction; without one (or with a NULL value) it is 'unknown'.
DIMENSIONS = {
    "channel": "i.channel",
    "segment": "i.customer_segment",
}


@dataclass(frozen=True)
class Grouping:
    """What the KPI SQL groups by besides (period, unit): nothing for `measures`, or dimensions of
    the interaction for `breakdowns`. With dimensions, every record is counted once per dimension
    (a cross join with the dimension names), under the columns `dimension` and `dim_value`, so
    that one pass over the records serves them all."""

    dimensions: tuple[str, ...] = ()

    def fields(self) -> dict[str, str]:
        """The placeholders of the SQL templates below."""
        if not self.dimensions:
            return {"dim": "", "dim_join": "", "col": "", "s_col": "", "survey_join": ""}
        names = ", ".join(f"('{d}')" for d in self.dimensions)
        cases = " ".join(f"WHEN '{d}' THEN {DIMENSIONS[d]}" for d in self.dimensions)
        return {
            "dim": f", d.dimension, coalesce(CASE d.dimension {cases} END, 'unknown') AS dim_value",
            "dim_join": f" CROSS JOIN (VALUES {names}) d(dimension)",
            "col": ", dimension, dim_value",
            "s_col": ", s.dimension, s.dim_value",
            "survey_join": " LEFT JOIN interactions i ON i.interaction_id = s.interaction_id",
        }

    @property
    def keys(self) -> str:
        return "period, unit_id" + self.fields()["col"]


# Per (period, record unit[, dimension, dim_value]): everything additive about interactions. Rows
# are grouped by the month's first instant and the period label is made per group, not per row;
# count_if is used rather than count(*) FILTER, which DuckDB evaluates more slowly; as count_if
# of only NULLs is NULL, not 0, its conditions are never NULL.
INTERACTION_SUMS_SQL = """
CREATE OR REPLACE TEMP TABLE sums_interactions AS
SELECT strftime(month, '%Y-%m') AS period, * EXCLUDE (month) FROM (
    SELECT month, unit_id{col},
        count(*) AS volume,
        count(resolved_at) AS resolved,
        count_if(resolved_at IS NOT NULL AND contacts_to_resolve = 1 AND NOT coalesce(reopened, false)) AS fcr_yes,
        count_if(resolved_at IS NOT NULL AND reopened IS NOT NULL) AS reopen_n,
        count_if(resolved_at IS NOT NULL AND coalesce(reopened, false)) AS reopen_yes,
        count(handle_time_s) AS aht_n,
        sum(handle_time_s / 60) AS aht_sum,
        sum((handle_time_s / 60) ^ 2) AS aht_sumsq,
        count_if(sla_minutes IS NOT NULL AND (first_response_at IS NOT NULL
            OR elapsed_s(created_at, $cutoff::TIMESTAMP) > sla_minutes * 60)) AS sla_n,
        count_if(sla_minutes IS NOT NULL
            AND coalesce(elapsed_s(created_at, first_response_at) <= sla_minutes * 60, false)) AS sla_yes
    FROM (
        SELECT i.*, date_trunc('month', i.created_at) AS month{dim},
               coalesce(exact.first_response_minutes, any_priority.first_response_minutes) AS sla_minutes
        FROM interactions i
        LEFT JOIN sla_policies exact ON exact.channel = i.channel AND exact.priority = i.priority
        LEFT JOIN sla_policies any_priority ON any_priority.channel = i.channel AND any_priority.priority IS NULL
        {dim_join}
    )
    GROUP BY ALL
)
"""

SURVEY_SUMS_SQL = """
CREATE OR REPLACE TEMP TABLE sums_surveys AS
SELECT strftime(month, '%Y-%m') AS period, * EXCLUDE (month) FROM (
    SELECT date_trunc('month', s.responded_at) AS month, s.unit_id{dim},
        count_if(s.survey = 'csat') AS csat_n,
        count_if(s.survey = 'csat' AND s.score >= 4) AS csat_yes,
        count_if(s.survey = 'nps') AS nps_n,
        count_if(s.survey = 'nps' AND s.score >= 9) AS nps_pro,
        count_if(s.survey = 'nps' AND s.score <= 6) AS nps_det,
        count_if(s.survey = 'ces') AS ces_n,
        sum(CASE WHEN s.survey = 'ces' THEN s.score END) AS ces_sum,
        sum(CASE WHEN s.survey = 'ces' THEN s.score ^ 2 END) AS ces_sumsq
    FROM survey_responses s{survey_join}{dim_join} GROUP BY ALL
)
"""

# Tables without a breakdown dimension: only ever grouped by (period, unit).
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

-- Active on a month's first day: active_from before it and not churned before it; retained: not
-- churned before the next month's first day. So a customer is active in the months from the one
-- after active_from's to churned_at's, and retained in all of them but churned_at's: counted as
-- +1 / -1 events at the ends of these spans and a running sum over the months, rather than by
-- comparing every customer with every month. (Spans starting before the first period start in it.)
CREATE OR REPLACE TEMP TABLE sums_customers AS
WITH spans AS (
    SELECT unit_id, (date_trunc('month', active_from) + INTERVAL 1 MONTH)::DATE AS first_month,
           date_trunc('month', churned_at)::DATE AS churn_month
    FROM customers
), events AS (
    SELECT unit_id, first_month AS m, 1 AS d_n,
           CASE WHEN churn_month IS NULL OR churn_month > first_month THEN 1 ELSE 0 END AS d_yes
    FROM spans WHERE churn_month IS NULL OR churn_month >= first_month
    UNION ALL
    SELECT unit_id, (churn_month + INTERVAL 1 MONTH)::DATE, -1, 0 FROM spans WHERE churn_month >= first_month
    UNION ALL
    SELECT unit_id, churn_month, 0, -1 FROM spans WHERE churn_month > first_month
), bounds AS (
    SELECT min(month_start) AS first_period, max(month_start) AS last_period FROM periods
), by_month AS (
    SELECT unit_id, greatest(m, first_period) AS m, sum(d_n) AS d_n, sum(d_yes) AS d_yes
    FROM events, bounds WHERE m <= last_period GROUP BY ALL
)
SELECT period, unit_id, ret_n, ret_yes FROM (
    SELECT p.period, u.unit_id,
           sum(coalesce(e.d_n, 0)) OVER w AS ret_n, sum(coalesce(e.d_yes, 0)) OVER w AS ret_yes
    FROM periods p
    CROSS JOIN (SELECT DISTINCT unit_id FROM by_month) u
    LEFT JOIN by_month e ON e.unit_id = u.unit_id AND e.m = p.month_start
    WINDOW w AS (PARTITION BY u.unit_id ORDER BY p.month_start ROWS UNBOUNDED PRECEDING)
) WHERE ret_n > 0;
"""

# Sum each family's leaf sums into every ancestor (a unit is its own ancestor at distance 0).
ROLLUP_SQL = """
CREATE OR REPLACE TEMP TABLE rolled_{name} AS
SELECT s.period, t.ancestor_id AS unit_id{s_col}, {sums}
FROM sums_{name} s JOIN unit_tree t ON t.unit_id = s.unit_id
GROUP BY ALL
"""

# Durations are computed once per interaction, before the join multiplies the rows by the depth
# of the tree. Run once per piece of months ($low <= created_at < $high): the first piece creates
# the table, the others append to it.
MEDIANS_SQL = """
{create}
SELECT strftime(month, '%Y-%m') AS period, * EXCLUDE (month) FROM (
    SELECT i.month, t.ancestor_id AS unit_id{col},
        median(i.frt) AS frt_median, count(i.frt) AS frt_n,
        median(i.resolution) AS resolution_median, count(i.resolution) AS resolution_n
    FROM (
        SELECT i.unit_id, date_trunc('month', i.created_at) AS month{dim},
               elapsed_s(i.created_at, i.first_response_at) / 60 AS frt,
               elapsed_s(i.created_at, i.resolved_at) / 3600 AS resolution
        FROM interactions i{dim_join}
        WHERE i.created_at >= $low AND i.created_at < $high
    ) i
    JOIN unit_tree t ON t.unit_id = i.unit_id
    GROUP BY ALL
)
"""

# Bytes of memory_limit allowed per value a median holds (measured: about 30 bytes per joined row
# and median; the margin leaves room for DuckDB's other buffers and for the other thread).
MEDIAN_BYTES_PER_VALUE = 120

ROLLUPS = {
    "interactions": [
        "volume",
        "resolved",
        "fcr_yes",
        "reopen_n",
        "reopen_yes",
        "aht_n",
        "aht_sum",
        "aht_sumsq",
        "sla_n",
        "sla_yes",
    ],
    "surveys": ["csat_n", "csat_yes", "nps_n", "nps_pro", "nps_det", "ces_n", "ces_sum", "ces_sumsq"],
    "pulse": ["enps_n", "enps_pro", "enps_det"],
    "qa": ["qa_n", "qa_sum", "qa_sumsq"],
    "costs": ["cost_rows", "cost"],
    "customers": ["ret_n", "ret_yes"],
}
# The families a breakdown dimension exists for (the interaction and its survey responses).
DIMENSION_FAMILIES = ("interactions", "surveys", "medians")


class Formula(NamedTuple):
    """One KPI over the rolled-up columns: the families it reads, its value, n,
    95% interval and moments (see the module docstring)."""

    families: tuple[str, ...]
    value: str
    n: str
    ci_low: str = "NULL"
    ci_high: str = "NULL"
    x_sum: str = "NULL"
    x_sumsq: str = "NULL"


def _proportion(family: str, yes: str, n: str) -> Formula:
    return Formula((family,), f"100 * {yes} / {n}", n, f"wilson_low({yes}, {n})", f"wilson_high({yes}, {n})", yes, yes)


def _net(family: str, pro: str, det: str, n: str) -> Formula:
    return Formula(
        (family,),
        f"100 * ({pro} - {det}) / {n}",
        n,
        f"nps_low({pro}, {det}, {n})",
        f"nps_high({pro}, {det}, {n})",
        f"{pro} - {det}",
        f"{pro} + {det}",
    )


def _mean(family: str, s: str, ss: str, n: str) -> Formula:
    return Formula(
        (family,),
        f"{s} / {n}",
        n,
        f"{s} / {n} - mean_half({s}, {ss}, {n})",
        f"{s} / {n} + mean_half({s}, {ss}, {n})",
        s,
        ss,
    )


# In catalog order; the SQL of each KPI exists only here.
FORMULAS: dict[str, Formula] = {
    "csat": _proportion("surveys", "csat_yes", "csat_n"),
    "nps": _net("surveys", "nps_pro", "nps_det", "nps_n"),
    "ces": _mean("surveys", "ces_sum", "ces_sumsq", "ces_n"),
    "retention": _proportion("customers", "ret_yes", "ret_n"),
    "fcr": _proportion("interactions", "fcr_yes", "resolved"),
    "frt_median": Formula(("medians",), "frt_median", "frt_n"),
    "resolution_median": Formula(("medians",), "resolution_median", "resolution_n"),
    "sla_frt": _proportion("interactions", "sla_yes", "sla_n"),
    "reopen_rate": _proportion("interactions", "reopen_yes", "reopen_n"),
    "aht": _mean("interactions", "aht_sum", "aht_sumsq", "aht_n"),
    "qa_score": _mean("qa", "qa_sum", "qa_sumsq", "qa_n"),
    "cost_per_contact": Formula(
        ("costs", "interactions"),
        "CASE WHEN cost_rows > 0 THEN cost / volume END",
        "CASE WHEN cost_rows > 0 THEN volume ELSE 0 END",
        x_sum="CASE WHEN cost_rows > 0 THEN cost END",
    ),
    "enps": _net("pulse", "enps_pro", "enps_det", "enps_n"),
    "volume": Formula(("interactions",), "coalesce(volume, 0)", "coalesce(volume, 0)"),
}

# One row per (period, unit[, dim_value], KPI): value, n, the 95% interval and the moments.
KPI_ROWS_SQL = """
CREATE OR REPLACE {temp}TABLE {table} AS
WITH w AS (
    SELECT * FROM ({grid}) g
    {joins}
), long AS (
    {formulas}
)
SELECT {keys}, kpi_id,
       CASE WHEN coalesce(n, 0) > 0 OR kpi_id = 'volume' THEN value END AS value,
       coalesce(n, 0) AS n, ci_low, ci_high, x_sum::DOUBLE AS x_sum, x_sumsq::DOUBLE AS x_sumsq
FROM long ORDER BY {keys}, kpi_id
"""

# measures: every period × every unit, with or without records.
MEASURES_GRID = "SELECT period, unit_id FROM periods CROSS JOIN org_units"
# a breakdown: the (period, unit, dim_value) that have records, in the periods of the scorecard.
BREAKDOWN_GRID = """
SELECT * FROM ({tables}) WHERE period IN (SELECT period FROM periods)
"""


def kpi_rows_sql(table: str, grouping: Grouping, kpi_ids: tuple[str, ...] | None = None, temp: bool = False) -> str:
    """The SQL creating `table` from the rolled_<family> tables, for the given KPIs (default all)."""
    chosen = {k: f for k, f in FORMULAS.items() if kpi_ids is None or k in kpi_ids}
    families = list(dict.fromkeys(fam for f in chosen.values() for fam in f.families))
    keys = grouping.keys
    formulas = "\n    UNION ALL\n    ".join(
        f"SELECT {keys}, '{k}' AS kpi_id, {f.value} AS value, {f.n} AS n, {f.ci_low} AS ci_low, "
        f"{f.ci_high} AS ci_high, {f.x_sum} AS x_sum, {f.x_sumsq} AS x_sumsq FROM w"
        for k, f in chosen.items()
    )
    if not grouping.dimensions:
        grid = MEASURES_GRID
    else:
        grid = BREAKDOWN_GRID.format(tables=" UNION ".join(f"SELECT {keys} FROM rolled_{fam}" for fam in families))
    joins = "\n    ".join(f"LEFT JOIN rolled_{fam} USING ({keys})" for fam in families)
    return KPI_ROWS_SQL.format(
        temp="TEMP " if temp else "", table=table, grid=grid, joins=joins, formulas=formulas, keys=keys
    )


_UNITS = {
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "bytes": 1,
}


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> float:
    """DuckDB's memory_limit of this connection in bytes (it reads back as e.g. '2.7 GiB')."""
    value = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    match = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]+)\s*", str(value))
    if not match or match.group(2) not in _UNITS:
        return float(2**40)  # no limit, or a form not known here: one piece
    return float(match.group(1)) * _UNITS[match.group(2)]


def median_pieces(con: duckdb.DuckDBPyConnection, rows_per_piece: int) -> list[tuple]:
    """[low, high) bounds of created_at covering every interaction, in runs of whole months of
    at most rows_per_piece interactions (a single month above it is a piece of its own), so that
    each piece's medians are exact and complete: a month is never split."""
    months = con.execute("""SELECT date_trunc('month', created_at) AS m, count(*) FROM interactions
                            GROUP BY 1 ORDER BY 1""").fetchall()
    if not months:
        return [(datetime.min, datetime.max)]
    pieces, start, rows = [], months[0][0], 0
    for month, count in months:
        if rows and rows + count > rows_per_piece:
            pieces.append((start, month))
            start, rows = month, 0
        rows += count
    pieces.append((start, datetime.max))
    pieces[0] = (datetime.min, pieces[0][1])
    return pieces


def compute_periods(con: duckdb.DuckDBPyConnection, cutoff) -> None:
    con.execute(PERIODS_SQL, {"cutoff": cutoff})


def compute_kpi_rows(
    con: duckdb.DuckDBPyConnection,
    cutoff,
    table: str,
    grouping: Grouping = Grouping(),
    kpi_ids: tuple[str, ...] | None = None,
    temp: bool = False,
) -> None:
    """Build `table` (one row per period, unit[, dim_value] and KPI) from the clean tables,
    `periods` and `unit_tree` (macros from stats.py); only the families the KPIs need are read."""
    chosen = [f for k, f in FORMULAS.items() if kpi_ids is None or k in kpi_ids]
    families = set(fam for f in chosen for fam in f.families)
    if grouping.dimensions and not families <= set(DIMENSION_FAMILIES):
        raise ValueError(f"no breakdown for {sorted(families - set(DIMENSION_FAMILIES))}")
    fields = grouping.fields()
    if "interactions" in families:
        con.execute(INTERACTION_SUMS_SQL.format(**fields), {"cutoff": cutoff})
    if "surveys" in families:
        con.execute(SURVEY_SUMS_SQL.format(**fields))
    if families & {"pulse", "qa", "costs", "customers"}:
        con.execute(OTHER_SUMS_SQL)
    rolled = [name for name in ROLLUPS if name in families]
    for name in ROLLUPS:
        if name in rolled:
            sums = ", ".join(f"sum({c}) AS {c}" for c in ROLLUPS[name])
            con.execute(ROLLUP_SQL.format(name=name, sums=sums, **fields))
        con.execute(f"DROP TABLE IF EXISTS sums_{name}")
    if "medians" in families:
        copies = con.execute("SELECT count(*) FROM unit_tree").fetchone()[0] / max(
            1, con.execute("SELECT count(*) FROM org_units").fetchone()[0]
        )
        budget = memory_limit_bytes(con) / MEDIAN_BYTES_PER_VALUE / 2  # two medians per row
        rows_per_piece = max(1, int(budget / copies / max(1, len(grouping.dimensions))))
        for i, (low, high) in enumerate(median_pieces(con, rows_per_piece)):
            create = "CREATE OR REPLACE TEMP TABLE rolled_medians AS" if i == 0 else "INSERT INTO rolled_medians"
            con.execute(MEDIANS_SQL.format(create=create, **fields), {"low": low, "high": high})
        rolled.append("medians")
    con.execute(kpi_rows_sql(table, grouping, kpi_ids, temp))
    for name in rolled:
        con.execute(f"DROP TABLE rolled_{name}")
    withhold(con, table)


def withhold(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """No data for the KPIs needing a column the help-desk export lacks (needs.py): computed from
    its empty cells they would be wrong numbers, e.g. every interaction unanswered (sla_frt 0 %)."""
    withheld = sorted(withheld_kpis(con))
    if withheld:
        con.execute(
            f"UPDATE {table} SET value = NULL, n = 0, ci_low = NULL, ci_high = NULL, x_sum = NULL, "
            f"x_sumsq = NULL WHERE kpi_id IN ({', '.join(repr(k) for k in withheld)})"
        )


def compute_measures(con: duckdb.DuckDBPyConnection, cutoff) -> None:
    """Build `measures`: every KPI for every period and unit."""
    compute_kpi_rows(con, cutoff, "measures")
