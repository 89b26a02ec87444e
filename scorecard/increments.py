"""Loading only what changed in the input exports since the database was built.

Every build records, per table, the file it read (name, size, SHA-256, header, newline style) and
how it was read (rows, encoding, decimal mark) in `load_state`. The next build compares the files
with that record and, per table:

- *reuses* the table (its clean rows and its quarantine rows) when the file's bytes are the same
  and nothing it is validated against was reloaded;
- *appends* when the old file is a byte prefix of the new one (the usual monthly export) and the
  table is `interactions`: only the new rows are read and validated. Its one rule across rows (a
  repeated interaction_id) is kept exact by putting, before the new rows, one stand-in row for
  every old id the new rows repeat: the stand-in has no created_at, so validation sets it aside
  and it is dropped, and a repeating new row is a duplicate exactly as in a whole read;
  quarantine row numbers are shifted by the old rows' count;
- *reloads* the table otherwise (a changed middle or header, another format than plain text,
  another encoding or decimal mark or newline style in the new part), and reloads the tables
  validated against a reloaded or appended one (survey responses and QA reviews against
  interactions). A changed org_units file or a changed setting, catalog or loading code that
  affects loading means a whole build (`full_reason`).

Whatever the plan, the result is the database a whole build gives (tests/test_incremental.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from . import __version__
from .contract import TABLES
from .errors import InputError
from .loading import RawLoad, SourceFile, create_empty_raw, file_key, inputs_sha256, read_raw, remember_sha256

LOAD_STATE_DDL = """
CREATE OR REPLACE TABLE load_state (
    table_name VARCHAR, file VARCHAR, format VARCHAR, size BIGINT, sha256 VARCHAR, header_sha256 VARCHAR,
    newlines VARCHAR, "rows" BIGINT, encoding VARCHAR, normalised BOOLEAN, decimal VARCHAR,
    action VARCHAR, rows_read BIGINT, reason VARCHAR
)"""

# Tables that can take new rows alone: their one rule across rows is a repeated key (the column
# named here); they are validated against org_units only.
APPENDABLE = {"interactions": "interaction_id", "survey_responses": "response_id"}
# Tables validated against interactions: reloaded when it is reloaded; when it only grew, reloaded
# if one of their old rows set aside for an unknown interaction_id now finds it (`resolvable`).
DEPENDS_ON = {"survey_responses": "interactions", "qa_reviews": "interactions"}
# The modules whose code decides what a row loads as: a change to them is a whole build.
LOADING_CODE = ("contract.py", "validation.py", "rules.py", "loading.py", "sources.py", "needs.py", "increments.py")
BLOCK = 1 << 20


class NotIncremental(Exception):
    """The incremental build cannot give what a whole build gives: make a whole build (the reason)."""


@dataclass(frozen=True)
class FileScan:
    """One pass over a file's bytes: its hash, and the hash of its first `prefix_size` bytes."""

    size: int
    sha256: str
    prefix_size: int | None = None
    prefix_sha256: str | None = None
    prefix_ends_line: bool = False  # the old part ends with a newline (the new part starts a row)
    header_sha256: str | None = None  # of the first line, newline included (None: none or quoted)
    newlines: str = "none"  # lf, crlf, mixed or none
    tail_newlines: str = "none"  # of the bytes after prefix_size


def _newline_style(crlf: int, bare: int) -> str:
    return "mixed" if crlf and bare else "crlf" if crlf else "lf" if bare else "none"


def _line_ends(part: bytes, after_cr: bool) -> tuple[int, int]:
    """(CRLF line ends, bare LF ones) of a block, or 1 for "some" where only that is needed:
    without a CR in the block (the usual export), one fast search replaces two counts."""
    joined = after_cr and part[:1] == b"\n"  # a CRLF split across two blocks
    if b"\r" not in part:
        return int(joined), int(b"\n" in part[joined:])
    crlf = part.count(b"\r\n") + joined
    return crlf, part.count(b"\n") - crlf


def scan_file(path: Path, prefix_size: int | None = None, text: bool = True) -> FileScan:
    """Hash the file once; with prefix_size, also hash its first prefix_size bytes and look at
    the bytes after them."""
    digest = hashlib.sha256()
    prefix = None
    position = 0
    counts = [[0, 0], [0, 0]]  # [crlf, bare lf] of the old part and of the new part
    previous = b""
    header = None
    head = b""
    ends_line = False
    key = file_key(path)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            parts = [(block, 0)]
            if prefix_size is not None and position < prefix_size <= position + len(block):
                cut = prefix_size - position
                parts = [(block[:cut], 0), (block[cut:], 1)]
            elif prefix_size is not None and position >= prefix_size:
                parts = [(block, 1)]
            for part, which in parts:
                digest.update(part)
                if text and part:
                    crlf, bare = _line_ends(part, previous == b"\r")
                    counts[which][0] += crlf
                    counts[which][1] += bare
                    previous = part[-1:]
                if which == 0 and prefix_size is not None and position + len(part) == prefix_size:
                    prefix = digest.copy().hexdigest()
                    ends_line = part[-1:] == b"\n" if part else ends_line
                position += len(part)
            if header is None and text and len(head) < 1 << 16:
                head += block[: (1 << 16) - len(head)]
                if b"\n" in head:
                    line = head.split(b"\n", 1)[0] + b"\n"
                    header = hashlib.sha256(line).hexdigest() if b'"' not in line else ""
    if prefix_size == 0:
        prefix = hashlib.sha256().hexdigest()
    whole = [counts[0][0] + counts[1][0], counts[0][1] + counts[1][1]]
    remember_sha256(path, digest.hexdigest(), key)
    return FileScan(
        size=position,
        sha256=digest.hexdigest(),
        prefix_size=prefix_size,
        prefix_sha256=prefix,
        prefix_ends_line=ends_line,
        header_sha256=header or None,
        newlines=_newline_style(*whole),
        tail_newlines=_newline_style(*counts[1]),
    )


def is_plain_text(source: SourceFile) -> bool:
    """A text file read as it is (a compressed file's bytes are not appended to row by row)."""
    return source.format in ("csv", "tsv") and not source.path.name.lower().endswith(".gz")


def scan_inputs(
    sources: dict[str, SourceFile], extra: dict[str, SourceFile], previous: dict[str, dict]
) -> tuple[dict[str, FileScan], str]:
    """Each input file's scan (with the previous size as prefix when it could be an append), and
    loading.inputs_sha256 of the input folder from the same pass."""
    scans = {
        name: scan_file(source.path, _prefix_size(source, previous.get(name)), is_plain_text(source))
        for name, source in {**sources, **extra}.items()
    }
    return scans, inputs_sha256(sources, {name: scans[name].sha256 for name in sources})


def _prefix_size(source: SourceFile, before: dict | None) -> int | None:
    if before is None or before["file"] != source.path.name or not is_plain_text(source):
        return None
    size = before["size"]
    return size if 0 < size <= source.path.stat().st_size else None


def fingerprint(config, catalog) -> str:
    """What decides how the files load, besides their bytes: settings, catalog ids, the code."""
    settings = {
        "version": __version__,
        "timezone": config.timezone,
        "survey_window_days": config.survey_window_days,
        "columns": config.columns,
        "tables": {t: s.model_dump(mode="json") for t, s in sorted(config.tables.items())},
        "kpis": list(catalog.ids),
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    here = Path(__file__).parent
    for name in LOADING_CODE:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    for preset in sorted((here / "presets").glob("*")):
        if preset.is_file():
            digest.update(preset.name.encode() + b"\0" + preset.read_bytes())
    return digest.hexdigest()


def previous_state(database: Path, load_fingerprint: str) -> tuple[dict[str, dict], str | None]:
    """The load_state rows of the existing database, or why it cannot be built on (a reason)."""
    if not database.exists():
        return {}, "no database yet"
    if database.with_name(database.name + ".wal").exists():
        return {}, "the database has an unfinished write-ahead log"
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            cursor = con.execute("SELECT * FROM load_state")
            names = [d[0] for d in cursor.description]
            rows = {r[0]: dict(zip(names, r)) for r in cursor.fetchall()}
    except duckdb.Error:
        return {}, "the database has no load record (built by an older version) or cannot be read"
    if meta.get("load_fingerprint") != load_fingerprint:
        return {}, "settings, catalog or loading code changed since the last build"
    if set(rows) != set(TABLES):
        return {}, "the database's load record is incomplete"
    return rows, None


@dataclass(frozen=True)
class Step:
    table: str
    action: str  # reuse, append or reload
    reason: str
    source: SourceFile | None = None


def plan(
    previous: dict[str, dict], files: dict[str, SourceFile | None], scans: dict[str, FileScan]
) -> tuple[list[Step], str | None]:
    """What to do with each table (in load order), or the reason for a whole build."""
    steps: dict[str, Step] = {}
    for table in TABLES:
        source, before = files.get(table), previous[table]
        action, reason = _compare(table, source, before, scans.get(table))
        steps[table] = Step(table, action, reason, source)
    if steps["org_units"].action != "reuse":
        return [], f"org_units: {steps['org_units'].reason}"
    for table, upstream in DEPENDS_ON.items():
        if steps[upstream].action == "reload" and steps[table].action != "reload" and files.get(table):
            steps[table] = Step(table, "reload", f"{upstream} reloaded", files[table])
    return list(steps.values()), None


def _mixed(*styles: str) -> bool:
    return "mixed" in styles or {"lf", "crlf"} <= set(styles)


def _compare(table: str, source: SourceFile | None, before: dict, scan: FileScan | None) -> tuple[str, str]:
    if source is None:
        return ("reuse", "no file, as before") if before["file"] is None else ("reload", "its file is gone")
    if before["file"] is None:
        return "reload", "a new file"
    if before["file"] != source.path.name:
        return "reload", f"another file (was {before['file']})"
    assert scan is not None  # scan_inputs scans every file found
    if scan.sha256 == before["sha256"] and scan.size == before["size"]:
        return "reuse", "unchanged"
    if table not in APPENDABLE or not is_plain_text(source):
        return "reload", "changed"
    if scan.size < before["size"]:
        return "reload", "changed (shorter)"
    if scan.header_sha256 is None or scan.header_sha256 != before["header_sha256"]:
        return "reload", "its header line changed (or is quoted)"
    if scan.prefix_sha256 != before["sha256"]:
        return "reload", "changed before its end"
    if not scan.prefix_ends_line:
        return "reload", "its old last line did not end with a newline"
    if before["encoding"] not in ("utf-8", "cp1252", "latin-1"):
        return "reload", f"read as {before['encoding']}"
    if _mixed(before["newlines"], scan.tail_newlines) and before["newlines"] != "mixed":
        return "reload", "the new rows end their lines differently"
    return "append", "appended"


# --- applying a plan inside the staging database -------------------------------------------------


def read_new_rows(con, step: Step, before: dict, mapping, settings) -> RawLoad:
    """raw_<table> from the bytes after the old file's end, read with the old file's choices."""
    source = step.source
    assert source is not None  # only a table with a file is planned as an append
    with tempfile.TemporaryDirectory(prefix="scorecard-append-") as work:
        part = Path(work) / source.path.name
        with source.path.open("rb") as src, part.open("wb") as out:
            out.write(src.readline())  # the header line (unquoted, checked by the plan)
            src.seek(before["size"])
            shutil.copyfileobj(src, out, BLOCK)
        update = {}
        if before["normalised"]:
            update["encoding"] = before["encoding"]
        if before["decimal"] == ",":
            update["decimal"] = ","
        if update:
            settings = settings.model_copy(update=update)
        try:
            loaded = read_raw(con, SourceFile(step.table, part), mapping, settings, normalise=before["normalised"])
        except InputError as exc:
            raise NotIncremental(f"{step.table}: the new rows do not read alone ({exc})") from None
    if loaded.normalised != before["normalised"] or loaded.decimal != before["decimal"]:
        raise NotIncremental(f"{step.table}: the new rows need another way of reading than the old ones")
    return loaded


def resolvable(con, table: str) -> int:
    """Old rows of `table` set aside for an unknown interaction_id that the interactions now hold
    (the interactions grew): a whole read would keep them, so the table is reloaded."""
    return con.execute(
        """SELECT count(*) FROM quarantine WHERE table_name = ? AND reason = 'unknown interaction_id'
           AND trim(value) IN (SELECT interaction_id FROM interactions)""",
        [table],
    ).fetchone()[0]


def _stand_ins(con, table: str) -> tuple[int, int]:
    """_stand_ins: the rows to put before the new rows so that validating them alone judges them
    as a whole read would: first old kept rows the new rows are compared with (they must stay
    valid), then the old ids set aside that the new rows repeat (they must be set aside again).
    Returns the two counts."""
    key = APPENDABLE[table]
    columns = TABLES[table].column_names
    null = {c: f"CAST(NULL AS VARCHAR) AS {c}" for c in columns}
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _new_keys AS
        SELECT DISTINCT nullif(trim({key}), '') AS id FROM raw_{table}""")
    if table == "survey_responses":
        # the earliest valid response per (interaction, survey) counts: compare with the kept one
        con.execute("""CREATE OR REPLACE TEMP TABLE _new_pairs AS
            SELECT DISTINCT nullif(trim(interaction_id), '') || chr(0) || lower(nullif(trim(survey), '')) AS pair
            FROM raw_survey_responses""")
        kept = {
            **null,
            "response_id": "response_id",
            "survey": "survey",
            "score": "CAST(score AS VARCHAR) AS score",
            "responded_at": "CAST(responded_at AS VARCHAR) AS responded_at",
            "interaction_id": "interaction_id",
            "unit_id": "unit_id",
        }
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _kept AS
            SELECT {", ".join(kept[c] for c in columns)} FROM survey_responses
            WHERE response_id IN (SELECT id FROM _new_keys)
               OR interaction_id || chr(0) || survey IN (SELECT pair FROM _new_pairs WHERE pair IS NOT NULL)""")
        con.execute("DROP TABLE _new_pairs")
    else:  # only repeated keys: an old kept row repeated is set aside like one set aside before
        con.execute(f"CREATE OR REPLACE TEMP TABLE _kept AS SELECT {', '.join(null.values())} LIMIT 0")
    repeated = {**null, key: f"id AS {key}"}
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _stand_ins AS
        SELECT *, row_number() OVER (ORDER BY {key}) AS _pos FROM _kept
        UNION ALL
        SELECT {", ".join(repeated[c] for c in columns)}, (SELECT count(*) FROM _kept) + row_number() OVER (ORDER BY id)
        FROM (SELECT id FROM _new_keys
              WHERE id IN (SELECT {key} FROM {table} UNION ALL
                           SELECT record_id FROM quarantine WHERE table_name = '{table}')
                AND id NOT IN (SELECT {key} FROM _kept WHERE {key} IS NOT NULL))""")
    counts = con.execute("SELECT (SELECT count(*) FROM _kept), (SELECT count(*) FROM _stand_ins)").fetchone()
    con.execute("DROP TABLE _new_keys")
    con.execute("DROP TABLE _kept")
    return counts[0], counts[1] - counts[0]


def append_validated(con, table: str, validate, old_rows: int) -> int:
    """Validate raw_<table> (the new rows only) and add them to <table> and quarantine as a whole
    read of the file would have: returns the rows validated."""
    key = APPENDABLE[table]
    columns = ", ".join(TABLES[table].column_names)
    rows = con.execute(f"SELECT count(*) FROM raw_{table}").fetchone()[0]
    kept, aside = _stand_ins(con, table)
    before = kept + aside
    con.execute(f"ALTER TABLE raw_{table} RENAME TO _new_raw")
    con.execute(f"CREATE TABLE raw_{table} AS SELECT {columns} FROM _stand_ins ORDER BY _pos")
    con.execute(f"INSERT INTO raw_{table} SELECT * FROM _new_raw")
    con.execute("DROP TABLE _new_raw")
    # Undone if the new rows cannot be judged alone (the table is then reloaded). The raw table is
    # written before: validation numbers rows by rowid, which DuckDB numbers otherwise for a
    # table created inside a transaction.
    con.begin()
    try:
        con.execute(f"ALTER TABLE {table} RENAME TO _old_{table}")
        con.execute("ALTER TABLE quarantine RENAME TO _old_quarantine")
        con.execute("CREATE TABLE quarantine AS SELECT * FROM _old_quarantine LIMIT 0")
        validate(con)
        judged = con.execute(
            'SELECT count(*) FILTER ("row" <= ?), count(*) FILTER ("row" > ? AND "row" <= ?) FROM quarantine',
            [kept, kept, before],
        ).fetchone()
        dropped = con.execute(
            f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM _stand_ins WHERE _pos <= ?)", [kept]
        ).fetchone()[0]
        if judged != (0, aside) or dropped != kept:
            # e.g. a new response earlier than the kept one for its interaction: an old row's verdict changes
            raise NotIncremental(f"{table}: the new rows change how old rows are judged")
        con.execute('DELETE FROM quarantine WHERE "row" <= ?', [before])
        con.execute('UPDATE quarantine SET "row" = "row" - ? + ?', [before, old_rows])
        con.execute(f"INSERT INTO _old_{table} SELECT * FROM {table}")
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE _old_{table} RENAME TO {table}")
        con.execute("INSERT INTO _old_quarantine SELECT * FROM quarantine")
        con.execute("DROP TABLE quarantine")
        con.execute("ALTER TABLE _old_quarantine RENAME TO quarantine")
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        con.execute(f"DROP TABLE IF EXISTS raw_{table}")
        con.execute("DROP TABLE IF EXISTS _stand_ins")
    return rows


def reload(con, table: str, source: SourceFile | None, mapping, settings) -> RawLoad | None:
    """raw_<table> from the whole file (or empty), after forgetting the table's old rows."""
    con.execute("DELETE FROM quarantine WHERE table_name = ?", [table])
    con.execute("DELETE FROM absent_columns WHERE table_name = ?", [table])
    if source is None:
        create_empty_raw(con, table)
        return None
    return read_raw(con, source, mapping, settings)


def state_row(
    table: str,
    source: SourceFile | None,
    scan: FileScan | None,
    rows: int,
    loaded: RawLoad | dict | None,
    action: str,
    rows_read: int,
    reason: str,
) -> tuple:
    """One load_state row; `loaded` is how the file was read (this build's, or the old record's)."""
    if source is None:
        return (table, None, None, 0, None, None, None, 0, None, None, None, action, 0, reason)
    assert scan is not None and loaded is not None  # a file is always scanned, and read or reused
    if isinstance(loaded, dict):
        how = (loaded["encoding"], loaded["normalised"], loaded["decimal"])
    else:
        how = (loaded.encoding, loaded.normalised, loaded.decimal)
    return (
        table,
        source.path.name,
        source.format,
        scan.size,
        scan.sha256,
        scan.header_sha256,
        scan.newlines,
        rows,
        *how,
        action,
        rows_read,
        reason,
    )


def write_state(con, rows: list[tuple], load_fingerprint: str) -> None:
    con.execute(LOAD_STATE_DDL)
    con.executemany(f"INSERT INTO load_state VALUES ({', '.join('?' * 14)})", rows)
    con.execute("DELETE FROM meta WHERE key = 'load_fingerprint'")
    con.execute("INSERT INTO meta VALUES ('load_fingerprint', ?)", [load_fingerprint])


def validators(survey_window_days: int, kpi_ids: tuple[str, ...]) -> dict:
    """Each record table's validation step (validation.validate_all runs them in this order)."""
    from . import validation as v

    return {
        "interactions": v.validate_interactions,
        "survey_responses": lambda c: v.validate_survey_responses(c, survey_window_days),
        "employee_pulse": v.validate_employee_pulse,
        "qa_reviews": v.validate_qa_reviews,
        "costs": v.validate_costs,
        "customers": v.validate_customers,
        "sla_policies": v.validate_sla_policies,
        "benchmarks": lambda c: v.validate_benchmarks(c, kpi_ids),
        "commentary": lambda c: v.validate_commentary(c, kpi_ids),
        "initiatives": lambda c: v.validate_initiatives(c, kpi_ids),
    }
