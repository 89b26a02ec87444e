"""Freshness per source: which months each optional table covers, and where it stops short.

An export taken mid-month (surveys pulled on the 18th, QA reviews not yet entered) gives KPIs that
look complete but rest on part of the month. Nothing in the numbers says so, so this module does:
for every optional record table and every month of the scorecard from the table's first month on,
the rows, the first and last record, and whether the data stops short of the month's end.

A month is marked when the table has no row in it, or when its last record falls more than
TOLERANCE_DAYS days before the month's end (the data cut-off for the month in progress) beyond
what is usual for that table: the usual gap is the smallest one of the table's other complete
months. So a survey that normally runs to the 30th is marked when it stops on the 18th, while an
employee pulse that always closes on the 11th is not. Costs come per month (no day): a month
without a cost row is marked.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..coverage import COVERAGE_SQL, SOURCES
from ..db import scalar

TOLERANCE_DAYS = 3  # a weekend without records is not a gap


def source_coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per (optional table, month from its first month on): rows, first and last record,
    `month_end` (the cut-off date for the month in progress), `days_short` of it, the table's
    usual gap, `short` (the month is marked) and `note` (what a reader is told, or '')."""
    if scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'source_coverage'"):
        cov = con.execute("SELECT * FROM source_coverage ORDER BY table_name, period").df()  # counted by the build
    else:  # a database computed before the build counted them
        cov = con.execute(COVERAGE_SQL, {"cutoff": scalar(con, "SELECT value FROM meta WHERE key = 'cutoff'")}).df()
    order = {table: i for i, table in enumerate(SOURCES)}
    cov["source"] = cov["table_name"].map(lambda t: SOURCES[t][1])
    usual = cov["usual_days_short"].fillna(0)
    cov["short"] = (cov["rows"] == 0) | (cov["days_short"].notna() & (cov["days_short"] > usual + TOLERANCE_DAYS))
    cov["note"] = [_note(r) for r in cov.itertuples()]
    cov = cov.assign(_order=cov["table_name"].map(order)).sort_values(["_order", "period"], kind="stable")
    return cov.drop(columns="_order").reset_index(drop=True)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _day(value) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def _note(r) -> str:
    if not r.short:
        return ""
    if r.rows == 0:
        latest = r.source_last_period if pd.isna(r.source_last_at) else _day(r.source_last_at)
        if latest < r.period:
            return f"No {r.source} data for {r.period} yet: the {r.source} data runs to {latest}."
        return f"No {r.source} data for {r.period}."
    end = f"the data cut-off is {_day(r.month_end)}" if not r.complete else f"the month ends {_day(r.month_end)}"
    return (
        f"{_cap(r.source)} data runs to {_day(r.last_at)} ({end}): "
        f"{r.period}'s {r.source} KPIs cover part of the month."
    )


def freshness_notes(con: duckdb.DuckDBPyConnection, period: str) -> list[str]:
    """The period's marked sources in plain words, e.g. "Survey data runs to 2026-10-18 ..."."""
    cov = source_coverage(con)
    return [note for note in cov.loc[(cov["period"] == period) & cov["short"], "note"]]


def coverage_summary(coverage: pd.DataFrame) -> pd.DataFrame:
    """One row per source for the data-quality page: months covered, latest record, marked months."""
    rows = []
    for table, group in coverage.groupby("table_name", sort=False):
        with_rows = group[group["rows"] > 0]
        latest = group["source_last_at"].iloc[0]
        rows.append(
            {
                "table_name": table,
                "source": _cap(group["source"].iloc[0]),
                "months": f"{with_rows['period'].min()} to {with_rows['period'].max()} ({len(with_rows)} months)",
                "latest": group["source_last_period"].iloc[0] if pd.isna(latest) else _day(latest),
                "marked": ", ".join(group.loc[group["short"], "period"]) or "none",
            }
        )
    return pd.DataFrame(rows, columns=["table_name", "source", "months", "latest", "marked"])
