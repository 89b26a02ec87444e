"""Reading the input folder into raw DuckDB tables: every value as text, columns renamed to the
contract's names, row numbers kept so that validation can point at the offending row.

Finding and opening files is sources.py's job. Here the columns are mapped (by name, by the
configuration's renames or by a help-desk preset) and a few export spellings are turned into the
contract's: timestamps in a `timestamp_format`, epoch seconds, decimal commas. Parsing and checking
values is validation.py's job; this module only fails on what makes a file unusable as a whole
(unreadable, ambiguous, a required column missing).
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import duckdb

from .config import TableSettings
from .contract import TABLES, Table
from .db import scalar
from .errors import ConfigError, InputError
from .needs import ABSENT_DDL
from .presets import Preset, check_preset, derived_sql, values_sql
from .sources import Reader, SourceFile, find_sources, skipped  # noqa: F401  (re-exported)


def table_files(config) -> dict[str, str]:
    """Tables whose file is named in the configuration (`tables: NAME: file:`)."""
    return {t: s.file for t, s in config.tables.items() if s.file}


# file hashes this process already computed, by what the file system says of the file: a publish
# that has just built reads gigabytes of exports once, not twice
_HASHED: dict[tuple, str] = {}


def file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def remember_sha256(path: Path, sha: str, key: tuple) -> None:
    """Record a hash computed elsewhere (increments.scan_file); `key` taken before reading."""
    if file_key(path) == key:  # not changed while it was read
        _HASHED[key] = sha


def file_sha256(path: Path) -> str:
    key = file_key(path)
    if key in _HASHED:
        return _HASHED[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    remember_sha256(path, digest.hexdigest(), key)
    return digest.hexdigest()


def inputs_sha256(sources: dict[str, SourceFile], known: dict[str, str] | None = None) -> str:
    """One hash over the input files' names and bytes: tells whether the inputs changed.

    known: table -> its file's SHA-256 when already computed (a build hashes each file once)."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        path = sources[name].path
        sha = (known or {}).get(name) or file_sha256(path)
        digest.update(f"{name}:{path.name}:{sha}\n".encode())
    return digest.hexdigest()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def map_columns(
    table: Table,
    found: list[str],
    mapping: dict[str, str],
    file: str,
    derived: dict[str, str] | None = None,
    preset: Preset | None = None,
) -> dict[str, str]:
    """Contract column → source column, matching names case-insensitively after the config's renames.

    `derived` names contract columns a preset computes (contract column → what it is computed from):
    they count as present; the columns the preset's product does not export (`absent`) are not required."""
    renamed: dict[str, str] = {}  # contract name -> source column
    lowered_mapping = {k.strip().lower(): v.strip().lower() for k, v in mapping.items()}
    for source in found:
        key = source.strip().lower()
        target = lowered_mapping.get(key, key)
        if target in table.column_names and target not in (derived or {}):
            if target in renamed:
                raise InputError(f"{file}: columns {renamed[target]!r} and {source!r} both map to {target!r}; keep one")
            renamed[target] = source
    unknown_targets = set(lowered_mapping.values()) - set(table.column_names)
    if unknown_targets:
        raise InputError(
            f"{file}: the column mapping renames to {sorted(unknown_targets)}, which are not columns of "
            f"{table.name} ({', '.join(table.column_names)})"
        )
    not_exported = set(preset.absent) if preset is not None else set()
    missing = [
        c.name
        for c in table.columns
        if c.required and c.name not in renamed and c.name not in (derived or {}) and c.name not in not_exported
    ]
    if missing:
        if preset is not None:
            expected = {v: k for k, v in preset.columns.items()}
            wanted = ", ".join(f"{m!r} (export column {expected[m]!r})" if m in expected else repr(m) for m in missing)
            raise InputError(
                f"{file}: missing required column {wanted} for the {preset.name} preset "
                f"(found: {', '.join(found) or 'no columns'}). Add it to the {preset.product} export, or map "
                f"the columns by hand under `columns: {table.name}:` in scorecard.yml"
            )
        raise InputError(
            f"{file}: missing required column {', '.join(repr(m) for m in missing)} "
            f"(found: {', '.join(found) or 'no columns'}). Rename it in the file or map it under "
            f"`columns: {table.name}:` in scorecard.yml"
        )
    return renamed


EPOCHS = {"epoch": 1, "epoch_ms": 1000}
# A decimal-comma number: 150,5 or 1.234,5 or 1 234,5 (dot, space or no-break space between thousands).
DECIMAL_COMMA = r"[+-]?([0-9]{1,3}([. \x{00A0}\x{202F}][0-9]{3})+|[0-9]*)(,[0-9]+)?"


def timestamp_formats(setting: str | list[str] | None) -> list[str]:
    """The formats to try: each given one, then its date part alone (a date column, a date-only cell)."""
    if setting is None:
        return []
    formats = [setting] if isinstance(setting, str) else list(setting)
    return formats + [f.split(" ")[0] for f in formats if " " in f and f.split(" ")[0] not in formats]


def check_timestamp_format(con: duckdb.DuckDBPyConnection, table: str, setting) -> None:
    formats = timestamp_formats(setting)
    if not formats or (len(formats) == 1 and formats[0] in EPOCHS):
        return
    if any(f in EPOCHS for f in formats):
        raise ConfigError(f"tables: {table}: timestamp_format: epoch and epoch_ms cannot be mixed with other formats")
    try:
        con.execute(f"SELECT try_strptime('2026-01-01', [{', '.join(_literal(f) for f in formats)}])").fetchall()
    except duckdb.Error as exc:
        raise ConfigError(
            f"tables: {table}: timestamp_format {setting!r} is not a valid strptime format "
            f"(e.g. '%d/%m/%Y %H:%M'): {str(exc).splitlines()[0]}"
        ) from None


def _timestamp_sql(expr: str, formats: list[str]) -> str:
    """ISO text for values in the configured format; other values are left for validation to judge."""
    if formats[0] in EPOCHS:
        return (
            f"CASE WHEN regexp_full_match(trim({expr}), '[0-9]+(\\.[0-9]+)?') "
            f"THEN CAST(to_timestamp(CAST(trim({expr}) AS DOUBLE) / {EPOCHS[formats[0]]}) AS VARCHAR) "
            f"ELSE {expr} END"
        )
    listed = ", ".join(_literal(f) for f in formats)
    return f"coalesce(CAST(try_strptime(trim({expr}), [{listed}]) AS VARCHAR), {expr})"


def _decimal_sql(expr: str) -> str:
    return (
        f"CASE WHEN regexp_full_match(trim({expr}), '{DECIMAL_COMMA}') "
        rf"THEN replace(regexp_replace(trim({expr}), '[. \x{{00A0}}\x{{202F}}]', '', 'g'), ',', '.') "
        f"ELSE {expr} END"
    )


def _has_decimal_commas(con: duckdb.DuckDBPyConnection, scan: str, columns: list[str]) -> bool:
    if not columns:
        return False
    where = " OR ".join(f"regexp_full_match(trim({_quote(c)}), '[+-]?[0-9.]*[0-9],[0-9]+')" for c in columns)
    return con.execute(f"SELECT 1 FROM {scan} WHERE {where} LIMIT 1").fetchone() is not None


def _select(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    scan: str,
    found: list[str],
    mapping: dict[str, str] | str,
    settings: TableSettings,
    reader: Reader,
) -> tuple[str, list[str], str | None]:
    """The SELECT list turning the file's columns into the contract's, as text, the columns the
    preset's product does not export that the file indeed lacks (they load empty), and the decimal
    mark used for numbers (None: the contract's dot)."""
    preset: Preset | None
    if isinstance(mapping, str):
        preset = check_preset(mapping, table.name)
        renames = preset.columns
    else:
        preset, renames = None, mapping
    derived = {c: str(spec) for c, spec in (preset.derive if preset else {}).items()}
    # a column the file itself provides under the contract's name wins over the preset's derivation
    derived = {c: v for c, v in derived.items() if c not in {f.strip().lower() for f in found}}
    renamed = map_columns(table, found, renames, reader.path.name, derived=derived, preset=preset)
    types = {c.name: c.type for c in table.columns}
    decimal = settings.decimal
    numbers = [renamed[c] for c in renamed if types[c] in ("number", "integer")]
    if decimal is None and reader.delimiter == ";" and _has_decimal_commas(con, scan, numbers):
        decimal = ","  # a ;-separated export with 150,5 in a number column: a decimal-comma locale
    formats = timestamp_formats(settings.timestamp_format)
    sql: dict[str, str] = {}
    for c in table.column_names:
        if c not in renamed:
            continue
        expr = f"CAST({_quote(renamed[c])} AS VARCHAR)"
        if preset and c in preset.values:
            expr = values_sql(expr, preset.values[c])
        if formats and types[c] in ("timestamp", "date"):
            expr = _timestamp_sql(expr, formats)
        if decimal == "," and types[c] in ("number", "integer"):
            expr = _decimal_sql(expr)
        sql[c] = expr
    found_lower = {f.strip().lower(): f for f in found}
    if preset is not None:  # derived columns come only from a preset
        for c in derived:
            made = derived_sql(preset.derive[c], sql, found_lower)
            if made is not None:
                sql[c] = values_sql(made, preset.values[c]) if c in preset.values else made
    lacking = [c for c in (preset.absent if preset else ()) if c not in sql]
    return (
        ", ".join(f"{sql[c]} AS {c}" if c in sql else f"CAST(NULL AS VARCHAR) AS {c}" for c in table.column_names),
        lacking,
        decimal if decimal == "," else None,
    )


@dataclass(frozen=True)
class RawLoad:
    """What reading one file gave: its rows, and the file-wide choices made while reading it (an
    appended part must be read with the same choices to give the rows a whole read would)."""

    rows: int
    encoding: str  # the text's encoding ("utf-8" for a direct read)
    normalised: bool  # decoded and newline-normalised here before DuckDB read it
    decimal: str | None  # "," when numbers were read with a decimal comma


def load_raw(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    mapping: dict[str, str] | str,
    settings: TableSettings | None = None,
) -> int:
    """Create raw_<table>: the contract's columns as text, in the file's row order.

    `mapping` renames source columns, or names a help-desk preset; `settings` says how to read the
    file when detection does not fit (encoding, delimiter, decimal, sheet, timestamp format). The
    columns the preset's product does not export, and the file lacks, are recorded in absent_columns."""
    return read_raw(con, source, mapping, settings).rows


def read_raw(
    con: duckdb.DuckDBPyConnection,
    source: SourceFile,
    mapping: dict[str, str] | str,
    settings: TableSettings | None = None,
    normalise: bool = False,
) -> RawLoad:
    """load_raw, also saying how the file was read (see RawLoad); `normalise` forces the decoded copy."""
    table = TABLES[source.table]
    settings = settings or TableSettings()
    if isinstance(mapping, str):
        try:
            check_preset(mapping, table.name)
        except ValueError as exc:
            raise ConfigError(f"columns: {table.name}: {exc}") from None
    check_timestamp_format(con, table.name, settings.timestamp_format)
    with tempfile.TemporaryDirectory(prefix="scorecard-") as work:
        reader = Reader(con, source, settings, Path(work), normalise=normalise)
        try:
            error = None
            while True:
                try:
                    scan = reader.scan() if error is None else reader.retry(error)
                    found = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
                    select, lacking, decimal = _select(con, table, scan, found, mapping, settings, reader)
                    # The table's rowid follows insertion order, which DuckDB keeps equal to the file's
                    # row order: validation reports rowid + 1 as the data row.
                    con.execute(f"CREATE OR REPLACE TABLE raw_{table.name} AS SELECT {select} FROM {scan}")
                    break
                except duckdb.OutOfMemoryException:
                    raise  # not the file's fault: the build names the memory_limit setting
                except duckdb.Error as exc:
                    error = exc  # the reader tries the next way of reading, or says why it cannot
        finally:
            reader.close()
    con.execute(ABSENT_DDL)
    con.execute("DELETE FROM absent_columns WHERE table_name = ?", [table.name])
    for column in lacking:  # only ever a preset's columns, so `mapping` names a preset
        con.execute(
            "INSERT INTO absent_columns VALUES (?, ?, ?)",
            [table.name, column, check_preset(cast(str, mapping), table.name).name],
        )
    rows = scalar(con, f"SELECT count(*) FROM raw_{table.name}")
    return RawLoad(rows, reader.encoding, reader.normalised, decimal)


def create_empty_raw(con: duckdb.DuckDBPyConnection, table_name: str) -> None:
    """An absent optional table becomes an empty one, so the KPI SQL needs no special cases."""
    table = TABLES[table_name]
    cols = ", ".join(f"{c} VARCHAR" for c in table.column_names)
    con.execute(f"CREATE OR REPLACE TABLE raw_{table_name} ({cols})")
