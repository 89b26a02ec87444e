"""Small DuckDB helpers shared by the modules that query the database."""

from __future__ import annotations

from typing import Any

import duckdb


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> tuple[Any, ...]:
    """The first row of `sql` (an aggregate, a count, a meta value): a query that returns no row
    is a bug of the caller, so it raises instead of returning None."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise LookupError(f"query returned no row: {sql.strip()[:200]}")
    return row


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> Any:
    """The first column of first_row."""
    return first_row(con, sql, params)[0]
