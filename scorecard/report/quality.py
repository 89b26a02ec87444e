"""Rows read and set aside per table and month: where in time the data-quality problems sit.

A kept row belongs to the month of the column that decides its period (created_at for
interactions, responded_at for surveys, ...). The quarantine keeps only the offending value of a
set-aside row, not the row, so a set-aside row gets a month when that value is a timestamp (or a
`YYYY-MM` month) that parses (for example a survey answered before its interaction was created),
read like validation reads timestamps (an offset is converted to the reporting time zone), and
"unknown month" otherwise (an unparseable timestamp, a duplicate id, a score out of range).
"""

from __future__ import annotations

from typing import cast

import duckdb
import pandas as pd

from ..contract import TABLES
from ..db import scalar
from .freshness import SOURCES

UNKNOWN_MONTH = "unknown month"
# the tables whose rows fall in a month, and the column that decides it
MONTH_COLUMNS: dict[str, str] = {
    "interactions": "created_at",
    **{table: column for table, (column, _label) in SOURCES.items()},
    "commentary": "period",
}

_VALUE = "trim(q.value)"
VALUE_MONTH_SQL = f"""
CASE
    WHEN regexp_matches({_VALUE}, '^[0-9]{{4}}-(0[1-9]|1[0-2])$') THEN {_VALUE}
    WHEN regexp_matches({_VALUE}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN strftime(
        CASE WHEN regexp_matches({_VALUE}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$')
             THEN timezone($tz, try_cast({_VALUE} AS TIMESTAMPTZ))
             ELSE try_cast({_VALUE} AS TIMESTAMP) END, '%Y-%m')
END"""


def _type(table: str, column: str) -> str:
    return next(c.type for c in TABLES[table].columns if c.name == column)


def _kept_sql() -> str:
    parts = []
    for table, column in MONTH_COLUMNS.items():
        month = column if _type(table, column) == "period" else f"strftime({column}, '%Y-%m')"
        parts.append(f"SELECT '{table}' AS table_name, {month} AS period FROM {table}")
    return "\nUNION ALL ".join(parts)


MONTHLY_SQL = f"""
WITH kept AS (
    SELECT table_name, period, count(*) AS kept FROM ({_kept_sql()}) GROUP BY ALL
),
aside AS (
    SELECT q.table_name, coalesce({VALUE_MONTH_SQL}, '{UNKNOWN_MONTH}') AS period, count(*) AS set_aside
    FROM quarantine q WHERE q.table_name IN ({", ".join(f"'{t}'" for t in MONTH_COLUMNS)})
    GROUP BY ALL
)
SELECT table_name, period, coalesce(kept, 0) + coalesce(set_aside, 0) AS read, coalesce(set_aside, 0) AS set_aside
FROM kept FULL OUTER JOIN aside USING (table_name, period)
"""


def monthly_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per (table, month) with rows read and set aside; `period` is "unknown month" for
    set-aside rows without a readable timestamp. Tables in contract order, months oldest first,
    the unknown month last."""
    tz = scalar(con, "SELECT coalesce(max(value), 'UTC') FROM meta WHERE key = 'timezone'")
    counts = con.execute(MONTHLY_SQL, {"tz": tz}).df()
    order = {table: i for i, table in enumerate(MONTH_COLUMNS)}
    counts = counts.assign(
        _table=counts["table_name"].map(order), _unknown=counts["period"] == UNKNOWN_MONTH
    ).sort_values(["_table", "_unknown", "period"])
    return counts.drop(columns=["_table", "_unknown"]).reset_index(drop=True)


def monthly_rows(counts: pd.DataFrame) -> tuple[list[dict], list[str]]:
    """The page's table: one row per month (newest first, the unknown month last), one column per
    table holding "rows read (N set aside)"; and the tables shown, in order."""
    tables = list(dict.fromkeys(counts["table_name"]))
    months = sorted(set(counts["period"]) - {UNKNOWN_MONTH}, reverse=True)
    if UNKNOWN_MONTH in set(counts["period"]):
        months.append(UNKNOWN_MONTH)
    rows = {month: {"period": month} for month in months}
    for r in counts.itertuples():
        aside = f" ({cast(int, r.set_aside):,} set aside)" if r.set_aside else ""
        rows[cast(str, r.period)][cast(str, r.table_name)] = f"{r.read:,}{aside}"
    return list(rows.values()), tables
