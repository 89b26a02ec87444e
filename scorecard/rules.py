"""The validation engine: a table's rules as data, checked in one set-based pass.

A table is checked by one statement. Its raw text columns are parsed once into a typed
projection whose parsing follows the contract's column types; every rule is a SQL condition over
that projection (true = the row breaks it), evaluated at most once per row in the rules' order
(`_rule` = the number of the first one broken); the reason and the offending value are derived
from `_rule` once, and only for the rows set aside. What varies between runs (KPI ids, the
survey window) is bound as a parameter, never pasted into the SQL.

Names a rule sees: each contract column `c` parsed (`c`, in the contract's type) and as read
(`raw_c`, the untouched text shown as the offending value), `_row` (the data row, from 1),
`_repeat` (true on a row whose unique key an earlier row of the file has), the columns its
lookups bring, and the table's derived columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from .contract import TABLES, Column

# --- parsing, from the contract's column types -----------------------------------------------------


def text(expr: str) -> str:
    """Text as given: surrounding spaces dropped, an empty cell is NULL."""
    return f"nullif(trim({expr}), '')"


def timestamp(expr: str) -> str:
    """ISO 8601 with an offset is converted to the session (reporting) time zone; without, kept as is.

    Only text starting with a YYYY-MM-DD date is cast: DuckDB also accepts 'infinity' and 'epoch',
    which are not ISO 8601 and would stretch the periods to the year 9999."""
    return (
        f"CASE WHEN regexp_matches({text(expr)}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
        f"THEN try_cast({text(expr)} AS TIMESTAMPTZ)::TIMESTAMP END"
    )


def number(expr: str) -> str:
    """Numbers, integers included: an integer column is checked integral by its rules, then cast."""
    return f"try_cast({text(expr)} AS DOUBLE)"


def boolean(expr: str) -> str:
    return (
        f"CASE lower(trim({expr})) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'yes' THEN true "
        f"WHEN 'false' THEN false WHEN '0' THEN false WHEN 'no' THEN false END"
    )


def parse(column: Column, expr: str) -> str:
    """SQL parsing the raw text `expr` of `column` by its contract type (NULL when it does not parse)."""
    match column.type:
        case "timestamp":
            return timestamp(expr)
        case "date":
            return f"({timestamp(expr)})::DATE"
        case "integer" | "number":
            return number(expr)
        case "boolean":
            return boolean(expr)
        case _:  # text and period (a period's form is a rule's business)
            return f"lower({text(expr)})" if column.lowercase else text(expr)


def clean(column: Column) -> str:
    """The clean table's value of a valid row: the parsed column, integers as integers."""
    return f"CAST({column.name} AS INTEGER)" if column.type == "integer" else column.name


def bad(column: str) -> str:
    """Present in the file but not parseable (the cheap test first: most values parse)."""
    return f"({column} IS NULL AND trim(raw_{column}) <> '')"


# --- rules -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    when: str  # SQL condition over the typed row: true means the row breaks the rule
    reason: str  # stable wording: counted per table and reason, shown on the data-quality page
    value: str = "''"  # SQL for the offending value shown beside the reason (usually a raw_ column)


@dataclass(frozen=True)
class Lookup:
    """A clean table the rows refer to, joined on its key; `columns` are its columns the rules or
    the clean table use, under the names given (all NULL when the reference is not found)."""

    table: str
    key: str
    by: str  # the typed column holding the reference
    columns: dict[str, str]


@dataclass(frozen=True)
class Check:
    """One table's validation: raw_<table> → <table> (valid rows) + quarantine (the others)."""

    table: str
    rules: list[Rule]  # per row, in order: the first one broken is the row's reason
    record: str  # SQL: the record id shown beside a set-aside row
    unique: tuple[str, ...] = ()  # typed columns forming a key: `_repeat` marks its later rows
    later: list[list[Rule]] = field(default_factory=list)  # stages over the rows valid so far (windows)
    parsed: dict[str, str] = field(default_factory=dict)  # a column's parsing beyond its type
    derived: list[tuple[str, str]] = field(default_factory=list)  # (name, SQL), each seeing the previous
    lookups: list[Lookup] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # the clean table's columns (default: the contract's)
    params: dict[str, object] = field(default_factory=dict)  # $name → value, bound by DuckDB

    @property
    def all_rules(self) -> list[Rule]:
        return self.rules + [r for stage in self.later for r in stage]


def later_copy(keys: str, order: str = "_row") -> str:
    """A later-stage condition: of the rows valid so far sharing `keys`, all but the first in `order`."""
    return f"row_number() OVER (PARTITION BY {keys}, _rule IS NULL ORDER BY {order}) > 1"


def clean_columns(table: str, **overrides: str) -> dict[str, str]:
    """The contract's columns as the clean table holds them, some computed otherwise."""
    return {c.name: overrides.get(c.name, clean(c)) for c in TABLES[table].columns}


def _typed(check: Check, column: Column) -> str:
    return check.parsed.get(column.name) or parse(column, column.name)


def _numbered(rules: list[Rule], first: int) -> str:
    return " ".join(f"WHEN {r.when} THEN {first + i}" for i, r in enumerate(rules))


def check_sql(check: Check) -> str:
    """One statement: parse, look up, apply every rule once, keep the reason's number and value."""
    contract = TABLES[check.table].columns
    raw = ", ".join(f"{c.name} AS raw_{c.name}" for c in contract)
    typed = ", ".join(f"{_typed(check, c)} AS {c.name}" for c in contract)
    sql = f"SELECT rowid + 1 AS _row, {raw}, {typed} FROM raw_{check.table}"
    for name, expr in check.derived:
        sql = f"SELECT *, {expr} AS {name} FROM ({sql})"
    joins, looked = [], []
    for n, lk in enumerate(check.lookups):
        joins.append(f"LEFT JOIN {lk.table} AS _l{n} ON _l{n}.{lk.key} = _p.{lk.by}")
        looked += [f"_l{n}.{col} AS {name}" for col, name in lk.columns.items()]
    if check.unique:
        # the first row of each repeated key, from the key alone: no window carries the whole rows
        keys = ", ".join(f"{_typed(check, c)} AS {c.name}" for c in contract if c.name in check.unique)
        joins.append(
            f"LEFT JOIN (SELECT {keys}, min(rowid) + 1 AS _first FROM raw_{check.table} GROUP BY ALL "
            "HAVING count(*) > 1) AS _k ON " + " AND ".join(f"_k.{k} IS NOT DISTINCT FROM _p.{k}" for k in check.unique)
        )
        looked.append("coalesce(_p._row > _k._first, false) AS _repeat")
    if joins:
        sql = f"SELECT _p.*, {', '.join(looked)} FROM ({sql}) AS _p {' '.join(joins)}"
    sql = f"SELECT *, CASE {_numbered(check.rules, 1)} END AS _rule FROM ({sql})"
    first = len(check.rules) + 1
    for stage in check.later:
        conditions = " ".join(f"WHEN _rule IS NULL AND ({r.when}) THEN {first + i}" for i, r in enumerate(stage))
        sql = f"SELECT * REPLACE (CASE {conditions} ELSE _rule END AS _rule) FROM ({sql})"
        first += len(stage)
    values = " ".join(f"WHEN {n} THEN CAST({r.value} AS VARCHAR)" for n, r in enumerate(check.all_rules, 1))
    columns = check.columns or clean_columns(check.table)
    # a set-aside row's clean columns are never read: cast only valid rows (an out-of-range score would fail)
    cleaned = ", ".join(
        f"{expr} AS {name}" if expr == name else f"CASE WHEN _rule IS NULL THEN {expr} END AS {name}"
        for name, expr in columns.items()
    )
    return f"""
        CREATE OR REPLACE TABLE {check.table} AS
        SELECT {cleaned}, _row, _rule,
               CASE WHEN _rule IS NOT NULL THEN CAST({check.record} AS VARCHAR) END AS _record,
               CASE WHEN _rule IS NOT NULL THEN CASE _rule {values} END END AS _value
        FROM ({sql}) ORDER BY _row"""


def run(con: duckdb.DuckDBPyConnection, check: Check) -> None:
    """raw_<table> → <table> with the valid rows in file order, the others into the quarantine.

    The statement writes <table> once, with the verdict columns; the set-aside rows (few) are copied
    to the quarantine and deleted, and the verdict columns dropped: no second copy of the table."""
    con.execute(check_sql(check), check.params)
    con.execute(
        f"""INSERT INTO quarantine SELECT $table, _row, _record, ($reasons::VARCHAR[])[_rule], _value
            FROM {check.table} WHERE _rule IS NOT NULL ORDER BY _row""",
        {"table": check.table, "reasons": [r.reason for r in check.all_rules]},
    )
    con.execute(f"DELETE FROM {check.table} WHERE _rule IS NOT NULL")
    for column in ("_row", "_rule", "_record", "_value"):
        con.execute(f"ALTER TABLE {check.table} DROP COLUMN {column}")
