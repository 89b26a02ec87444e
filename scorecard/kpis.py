"""KPI computation: every KPI for every period and unit in one set-based pass.

The KPIs are the catalog's (catalog.yml); kpisql.py compiles each into SQL. Additive quantities
(counts, sums, sums of squares) are aggregated once per (period, record unit) and then rolled up
through unit_tree, so a parent pools its descendants' raw records without touching them again.
Medians are not additive: they join the raw rows to unit_tree directly, a few months at a time
(median_pieces), so that the values held in memory at once stay bounded by DuckDB's memory_limit
whatever the size of the data (a month's medians need only its rows). The result is `measures`:
one row per (period, unit, KPI) with value, n and the 95% interval.

The same SQL, grouped by more keys (a `Grouping` with dimensions of the interaction such as its
channel), gives the `breakdowns` of analysis.py: each KPI is defined once, in the catalog.

Besides value, n and the interval, each row keeps the additive moments of the per-record
variable its value is the mean of, so that changes can be tested and months pooled later without
the raw records: x_sum and x_sumsq, with value = scale × x_sum ÷ n. The variable is 0/1 for a
proportion (x_sum = x_sumsq = successes; scale 100), −1/0/+1 for a net score (x_sum = promoters −
detractors, x_sumsq = promoters + detractors; scale 100), the record's value for a mean, and the
cost for cost_per_contact (x_sum = cost, n = contacts, no x_sumsq). Medians and volume have none.
"""

from __future__ import annotations

import re
from datetime import datetime

import duckdb

from .catalog import BREAKDOWN_TABLES, Catalog, load_catalog
from .db import scalar
from .kpisql import (
    DIMENSIONS,
    Grouping,
    Source,
    column_names,
    compile_kpi,
    kpi_rows_sql,
    medians_sql,
    rollup_sql,
    sums_sql,
)
from .needs import withheld_kpis

__all__ = ["DIMENSIONS", "Grouping", "compute_kpi_rows", "compute_measures", "compute_periods", "median_pieces"]

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

# Bytes of memory_limit allowed per value a median holds (measured: about 30 bytes per joined row
# and median; the margin leaves room for DuckDB's other buffers and for the other thread).
MEDIAN_BYTES_PER_VALUE = 120

MEASURES = Grouping()  # grouped by (period, unit) only


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
    value = scalar(con, "SELECT current_setting('memory_limit')")
    match = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]+)\s*", str(value))
    if not match or match.group(2) not in _UNITS:
        return float(2**40)  # no limit, or a form not known here: one piece
    return float(match.group(1)) * _UNITS[match.group(2)]


def median_pieces(
    con: duckdb.DuckDBPyConnection, rows_per_piece: int, table: str = "interactions", column: str = "created_at"
) -> list[tuple]:
    """[low, high) bounds of `column` covering every row of `table`, in runs of whole months of
    at most rows_per_piece rows (a single month above it is a piece of its own), so that each
    piece's medians are exact and complete: a month is never split."""
    months = con.execute(f"""SELECT date_trunc('month', {column}) AS m, count(*) FROM {table}
                             WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY 1""").fetchall()
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


def _run(con: duckdb.DuckDBPyConnection, sql: str, cutoff, **params) -> None:
    """Execute, passing the data cut-off when the SQL uses it ($cutoff in a catalog condition)."""
    if "$cutoff" in sql:
        params["cutoff"] = cutoff
    con.execute(sql, params or None)


def compute_kpi_rows(
    con: duckdb.DuckDBPyConnection,
    cutoff,
    table: str,
    grouping: Grouping = MEASURES,
    kpi_ids: tuple[str, ...] | None = None,
    temp: bool = False,
    catalog: Catalog | None = None,
) -> None:
    """Build `table` (one row per period, unit[, dim_value] and KPI) from the clean tables,
    `periods` and `unit_tree` (macros from stats.py), for the catalog's KPIs (default: the bundled
    catalog, all KPIs); only the record tables the KPIs need are read."""
    catalog = catalog or load_catalog()
    compiled = [compile_kpi(k) for k in catalog.kpis if kpi_ids is None or k.id in kpi_ids]
    sums: dict[Source, list[str]] = {}
    medians: dict[Source, list[tuple[str, str]]] = {}
    for c in compiled:
        for source, aggregates in c.sums.items():
            sums.setdefault(source, []).extend(aggregates)
        for source, values in c.medians.items():
            medians.setdefault(source, []).extend(values)
    if grouping.dimensions:
        tables = {s.table for s in [*sums, *medians]}
        if not tables <= set(BREAKDOWN_TABLES):
            raise ValueError(f"no breakdown for {sorted(tables - set(BREAKDOWN_TABLES))}")
    for source, aggregates in sums.items():
        _run(con, sums_sql(source, aggregates, grouping), cutoff)
        con.execute(rollup_sql(source, column_names(aggregates), grouping))
        con.execute(f"DROP TABLE sums_{source.name}")
    if medians:
        copies = scalar(con, "SELECT count(*) FROM unit_tree") / max(1, scalar(con, "SELECT count(*) FROM org_units"))
    for source, values in medians.items():
        assert source.period_column is not None  # a median is over a record table's date column
        budget = memory_limit_bytes(con) / MEDIAN_BYTES_PER_VALUE / len(values)
        rows_per_piece = max(1, int(budget / copies / max(1, len(grouping.dimensions))))
        for i, (low, high) in enumerate(median_pieces(con, rows_per_piece, source.table, source.period_column)):
            _run(con, medians_sql(source, values, grouping, create=i == 0), cutoff, low=low, high=high)
    con.execute(kpi_rows_sql(table, grouping, compiled, temp))
    for rolled in dict.fromkeys(t for c in compiled for t in c.rolled):
        con.execute(f"DROP TABLE {rolled}")
    withhold(con, table, catalog)


def withhold(con: duckdb.DuckDBPyConnection, table: str, catalog: Catalog | None = None) -> None:
    """No data for the KPIs needing a column the help-desk export lacks (needs.py): computed from
    its empty cells they would be wrong numbers, e.g. every interaction unanswered (sla_frt 0 %)."""
    withheld = sorted(withheld_kpis(con, catalog))
    if withheld:
        con.execute(
            f"UPDATE {table} SET value = NULL, n = 0, ci_low = NULL, ci_high = NULL, x_sum = NULL, "
            f"x_sumsq = NULL WHERE kpi_id IN ({', '.join(repr(k) for k in withheld)})"
        )


def compute_measures(con: duckdb.DuckDBPyConnection, cutoff, catalog: Catalog | None = None) -> None:
    """Build `measures`: every KPI of the catalog (default: the bundled one) for every period and unit."""
    compute_kpi_rows(con, cutoff, "measures", catalog=catalog)
