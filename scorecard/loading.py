"""Reading the input folder into raw DuckDB tables: every value as text, columns renamed to the
contract's names, row numbers kept so that validation can point at the offending row.

Parsing and checking values is validation.py's job; this module only fails on what makes a file
unusable as a whole (unreadable, ambiguous, a required column missing).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .contract import TABLES, Table
from .errors import InputError

EXTENSIONS = (".csv", ".parquet")


@dataclass(frozen=True)
class SourceFile:
    table: str
    path: Path


def find_sources(data_dir: Path) -> dict[str, SourceFile]:
    """The input file of each contract table present in data_dir (NAME.csv or NAME.parquet)."""
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: input folder not found (set DATA=folder or `data:` in scorecard.yml)")
    by_name: dict[str, list[Path]] = {}
    for path in sorted(data_dir.iterdir()):
        if path.is_file() and path.suffix.lower() in EXTENSIONS:
            by_name.setdefault(path.stem.lower(), []).append(path)
    found: dict[str, SourceFile] = {}
    for name, table in TABLES.items():
        paths = by_name.get(name, [])
        if len(paths) > 1:
            raise InputError(f"{data_dir}: both {paths[0].name} and {paths[1].name} found for table {name}; keep one")
        if paths:
            found[name] = SourceFile(name, paths[0])
        elif table.required:
            raise InputError(f"{data_dir}: required file {name}.csv (or {name}.parquet) not found")
    return found


def inputs_sha256(sources: dict[str, SourceFile]) -> str:
    """One hash over the input files' names and bytes: tells whether the inputs changed."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        path = sources[name].path
        digest.update(f"{name}:{path.name}:".encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scan(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    if path.suffix.lower() == ".parquet":
        return f"read_parquet({_literal(str(path))})"
    # The delimiter is sniffed, but quoting is pinned to RFC 4180 ("..." with "" inside): left to
    # the sniffer, an unterminated quote silently turns quoting off and the file is misread.
    delimiter = con.execute("SELECT Delimiter FROM sniff_csv(?)", [str(path)]).fetchone()[0]
    return (f"read_csv({_literal(str(path))}, header = true, all_varchar = true, "
            f"delim = {_literal(delimiter)}, quote = '\"', escape = '\"')")


def map_columns(table: Table, found: list[str], mapping: dict[str, str], file: str) -> dict[str, str]:
    """Contract column → source column, matching names case-insensitively after the config's renames."""
    renamed: dict[str, str] = {}  # contract name -> source column
    lowered_mapping = {k.strip().lower(): v.strip().lower() for k, v in mapping.items()}
    for source in found:
        key = source.strip().lower()
        target = lowered_mapping.get(key, key)
        if target in table.column_names:
            if target in renamed:
                raise InputError(
                    f"{file}: columns {renamed[target]!r} and {source!r} both map to {target!r}; keep one"
                )
            renamed[target] = source
    unknown_targets = set(lowered_mapping.values()) - set(table.column_names)
    if unknown_targets:
        raise InputError(
            f"{file}: the column mapping renames to {sorted(unknown_targets)}, which are not columns of "
            f"{table.name} ({', '.join(table.column_names)})"
        )
    missing = [c.name for c in table.columns if c.required and c.name not in renamed]
    if missing:
        raise InputError(
            f"{file}: missing required column {', '.join(repr(m) for m in missing)} "
            f"(found: {', '.join(found) or 'no columns'}). Rename it in the file or map it under "
            f"`columns: {table.name}:` in scorecard.yml"
        )
    return renamed


def load_raw(con: duckdb.DuckDBPyConnection, source: SourceFile, mapping: dict[str, str]) -> int:
    """Create raw_<table>: the contract's columns as text, in the file's row order."""
    table = TABLES[source.table]
    try:
        scan = _scan(con, source.path)
        found = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
        renamed = map_columns(table, found, mapping, source.path.name)
        select = ", ".join(
            f"CAST({_quote(renamed[c])} AS VARCHAR) AS {c}" if c in renamed else f"CAST(NULL AS VARCHAR) AS {c}"
            for c in table.column_names
        )
        # The table's rowid follows insertion order, which DuckDB keeps equal to the file's row
        # order: validation reports rowid + 1 as the data row.
        con.execute(f"CREATE OR REPLACE TABLE raw_{table.name} AS SELECT {select} FROM {scan}")
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        if source.path.suffix.lower() == ".csv" and "sniffing" in first_line:
            first_line += ' (expected comma- or semicolon-separated values quoted with "; is a quote left open?)'
        raise InputError(f"{source.path}: cannot read the file as {table.name}: {first_line}") from None
    return con.execute(f"SELECT count(*) FROM raw_{table.name}").fetchone()[0]


def create_empty_raw(con: duckdb.DuckDBPyConnection, table_name: str) -> None:
    """An absent optional table becomes an empty one, so the KPI SQL needs no special cases."""
    table = TABLES[table_name]
    cols = ", ".join(f"{c} VARCHAR" for c in table.column_names)
    con.execute(f"CREATE OR REPLACE TABLE raw_{table_name} ({cols})")
