"""Stopping a build whose numbers would rest on a small remainder of a table.

Validation sets a row that breaks the contract aside and carries on. When most of a table goes
that way, the cause is nearly always the export's shape (a decimal comma, day-first dates, another
product's spellings), not bad rows, and a scorecard from what is left would look plausible and be
wrong. Above a share of rows (and at least MIN_SET_ASIDE rows) (setting `max_quarantine_share`, per table under `tables:`) the build
stops with the table, the main reason, an example row and what to change.
"""

from __future__ import annotations

import re

import duckdb

from .config import Config
from .contract import TABLES
from .db import first_row, scalar
from .errors import InputError

# Non-ISO dates: 05/01/2026, 5.1.26, 01-05-2026 10:00 (which of day and month comes first is never guessed)
OTHER_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})")
# A handful of bad rows in a small table never stops a run: they show on the data-quality page.
MIN_SET_ASIDE = 20
EPOCH = re.compile(r"^\s*\d{9,13}(\.\d+)?\s*$")
# ISO date and time with the offset after a space (2026-01-05 10:00:00 +0100), which ISO 8601 has not
SPACED_OFFSET = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})? [+-]\d{2}:?\d{2}\s*$")


def limit_for(config: Config, table: str) -> float:
    settings = config.tables.get(table)
    if settings is not None and settings.max_quarantine_share is not None:
        return settings.max_quarantine_share
    return config.max_quarantine_share


def timestamp_hint(table: str, column: str, value: str) -> str:
    """What to set for a timestamp the contract cannot read, judged from one sample value."""
    setting = f"`tables: {table}: timestamp_format:`"
    if EPOCH.match(value or ""):
        return f"{column} looks like epoch seconds: set {setting} epoch (or epoch_ms for milliseconds)"
    if SPACED_OFFSET.match(value or ""):
        seconds = ":%S" if re.search(r"\d{2}:\d{2}:\d{2}", value) else ""
        return f"{column} has a space before its UTC offset: set {setting} '%Y-%m-%d %H:%M{seconds} %z'"
    match = OTHER_DATE.match(value or "")
    if not match:
        return f"{column} is not ISO 8601 (YYYY-MM-DD hh:mm): set {setting} to its strptime format"
    first, second = int(match.group(1)), int(match.group(2))
    time = " %H:%M" if re.search(r"\d{1,2}:\d{2}", value) else ""
    time += ":%S" if re.search(r"\d{1,2}:\d{2}:\d{2}", value) else ""
    year = "%Y" if len(match.group(3)) == 4 else "%y"
    sep = value.strip()[len(match.group(1))]
    day_first, month_first = f"%d{sep}%m{sep}{year}{time}", f"%m{sep}%d{sep}{year}{time}"
    if first > 12:
        which = f"it reads day first: set {setting} '{day_first}'"
    elif second > 12:
        which = f"it reads month first: set {setting} '{month_first}'"
    else:
        which = f"set {setting} to '{day_first}' (day first) or '{month_first}' (month first); it is never guessed"
    return f"{column} holds dates like {value.strip()!r}: {which}"


def check_set_aside(con: duckdb.DuckDBPyConnection, files: dict[str, str], config: Config) -> None:
    """Raise InputError for the first table (in load order) with too large a share of rows set aside.

    files: table -> the input file it came from (tables not from the input folder are not judged)."""
    counts = dict(con.execute("SELECT table_name, count(*) FROM quarantine GROUP BY 1").fetchall())
    for table in TABLES:
        if table not in files or not counts.get(table):
            continue
        aside = counts[table]
        total = aside + scalar(con, f"SELECT count(*) FROM {table}")
        limit = limit_for(config, table)
        if aside <= limit * total or aside < MIN_SET_ASIDE:
            continue
        reason, n, row, value = first_row(
            con,
            """
            SELECT reason, count(*) OVER (PARTITION BY reason) AS n, "row", value FROM quarantine
            WHERE table_name = ? QUALIFY row_number() OVER (PARTITION BY reason ORDER BY "row") = 1
            ORDER BY n DESC, "row" LIMIT 1""",
            [table],
        )
        hint = _hint(table, reason, value)
        raise InputError(
            f"{files[table]}: {aside:,} of {total:,} rows ({aside / total:.0%}) set aside, more than the "
            f"{limit:.0%} allowed; main reason: {reason} ({n:,} rows), e.g. data row {row}"
            + (f" ({value!r})" if value else "")
            + (f". {hint}" if hint else "")
            + f". If these rows are really to be left out, set `tables: {table}: max_quarantine_share:` "
            f"(now {limit:g}) in scorecard.yml"
        )


def _hint(table: str, reason: str, value: str | None) -> str:
    match = re.fullmatch(r"invalid (\w+)", reason)
    column = match.group(1) if match else None
    types = {c.name: c.type for c in TABLES[table].columns}
    if column in types and types[column] in ("timestamp", "date"):
        return timestamp_hint(table, column, value or "")
    if column in types and types[column] in ("number", "integer") and value and "," in value:
        return f'{column} holds decimal commas: set `tables: {table}: decimal: ","`'
    if reason == "unknown interaction_id":
        return "the interactions these rows point at are not in the interactions file, or were set aside there"
    if reason == "unknown unit_id":
        return "the units named in the file are not the unit_ids of org_units"
    return ""
