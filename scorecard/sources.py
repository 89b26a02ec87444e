"""The input files: which file holds which table, and how to open it as text columns in DuckDB.

A table arrives as NAME.csv, NAME.csv.gz, NAME.tsv, NAME.parquet or NAME.xlsx. UTF-8 text (with or
without a byte-order mark) is handed to DuckDB's reader as it is. When DuckDB cannot read a text
file (another encoding, CRLF and LF mixed after an append on another system), the file is decoded
here once (UTF-8, else Windows-1252, else Latin-1, or the `encoding` setting), newlines are
normalised, and DuckDB reads that copy. Workbooks are read with python-calamine.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .config import TableSettings
from .contract import TABLES
from .errors import InputError

FORMATS = {".csv.gz": "csv", ".tsv.gz": "tsv", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".xlsx": "xlsx"}
READ = ".csv, .csv.gz, .tsv, .parquet, .xlsx"
HINTS = {
    ".xls": "save it as .xlsx or .csv",
    ".xlsm": "save it as .xlsx or .csv",
    ".ods": "save it as .xlsx or .csv",
    ".zip": "unzip it",
    ".gz": "only .csv.gz and .tsv.gz are read",
    ".txt": "rename it to .csv or .tsv",
}
# DuckDB's default line limit is 2 MB; a longer customer comment must not stop a build, so a file with
# one is read again with this limit.
MAX_LINE_SIZE = 32 * 1024 * 1024
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class SourceFile:
    table: str
    path: Path

    @property
    def format(self) -> str:
        return FORMATS[suffix(self.path) or ".csv"]


def suffix(path: Path) -> str | None:
    """The recognised suffix of a file name (.csv.gz counts as one), or None."""
    name = path.name.lower()
    return next((s for s in FORMATS if name.endswith(s)), None)


def _table_of(path: Path) -> str:
    return path.name.lower().split(".", 1)[0]


def find_sources(data_dir: Path, require: bool = True, files: dict[str, str] | None = None) -> dict[str, SourceFile]:
    """The input file of each contract table present in data_dir; two files for one table is an error.

    files: table -> a file name in data_dir set in the configuration (`tables: NAME: file:`)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: input folder not found (set DATA=folder or `data:` in scorecard.yml)")
    by_name: dict[str, list[Path]] = {}
    for path in sorted(data_dir.iterdir()):
        found = suffix(path)
        if path.is_file() and found and path.name[: -len(found)].lower() in TABLES:
            by_name.setdefault(path.name[: -len(found)].lower(), []).append(path)
    for table, name in (files or {}).items():
        path = data_dir / name
        if not path.is_file():
            raise InputError(f"{path}: file not found (set by `tables: {table}: file:` in scorecard.yml)")
        if suffix(path) is None:
            raise InputError(
                f"{path}: not a file the scorecard reads (read: {READ}); "
                f"{HINTS.get(path.suffix.lower(), 'export it as .csv')}"
            )
        by_name[table] = [path] + [p for p in by_name.get(table, []) if p.resolve() != path.resolve()]
    sources: dict[str, SourceFile] = {}
    for name, contract in TABLES.items():
        paths = by_name.get(name, [])
        if len(paths) > 1:
            raise InputError(
                f"{data_dir}: {' and '.join(p.name for p in paths)} are all files for table {name}; "
                "keep one (move the others out of the folder)"
            )
        if paths:
            sources[name] = SourceFile(name, paths[0])
        elif contract.required and require:
            raise InputError(
                f"{data_dir}: required file {name}.csv not found (read: {READ})"
                + "".join(f"; {note}" for note in skipped(data_dir, name))
            )
    return sources


def skipped(data_dir: Path, table: str) -> list[str]:
    """Files that look like `table` but are not read, each with what to do about it."""
    notes = []
    for path in sorted(Path(data_dir).iterdir()):
        if path.is_file() and _table_of(path) == table and suffix(path) is None:
            ext = "".join(path.suffixes[-1:]).lower()
            notes.append(f"{path.name} is not read ({HINTS.get(ext, 'read: ' + READ)})")
    return notes


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


NOISE = re.compile(
    r"LINE \d+:.*|\^+|[a-z_]+ = .*|(Original Line|Possible Solution|Possible fixes|\* |The search space"
    r"|Delimiter Candidates|Quote/Escape|Comment Candidates|Encoding:).*"
)


def duckdb_message(exc: Exception) -> str:
    """DuckDB's whole message on one line, without the echo of the offending line, the SQL, its option
    list and its generic fixes (the message here says what to do instead)."""
    keep = [line.strip() for line in str(exc).strip().splitlines()]
    keep = [line if len(line) <= 300 else line[:300] + "…" for line in keep if line and not NOISE.fullmatch(line)]
    return "; ".join(keep)


class Reader:
    """Opens one input file as a SQL expression DuckDB can select from (every column as text).

    `scan()` gives the direct read; when it fails, `retry(exc)` decodes and normalises a copy (once)
    and gives its scan, or raises the InputError that names the file and what to do."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source: SourceFile,
        settings: TableSettings | None,
        workdir: Path,
        normalise: bool = False,
    ):
        """normalise: decode and normalise the file even when DuckDB could read it directly (the
        appended part of a file whose first part had to be normalised is read the same way)."""
        self.con, self.source, self.settings, self.workdir = con, source, settings or TableSettings(), workdir
        self.force_normalise = normalise
        self.path = source.path
        self.encoding = "utf-8"
        self.delimiter: str | None = None
        self.normalised = False
        self.max_line: int | None = None  # DuckDB's default until a line is longer
        self.current = self.path
        self.view: str | None = None

    def where(self) -> str:
        return f"{self.path}: cannot read the file as {self.source.table}"

    def scan(self) -> str:
        fmt = self.source.format
        if fmt == "parquet":
            return f"read_parquet({_literal(str(self.path))})"
        if fmt == "xlsx":
            return self._workbook()
        if self.settings.encoding not in (None, "utf-8") or self.force_normalise:
            return self._normalise()
        return self._csv(self.path)

    def retry(self, exc: duckdb.Error) -> str:
        text = self.source.format in ("csv", "tsv")
        if text and self.max_line is None and "maximum line size" in duckdb_message(exc).lower():
            self.max_line = MAX_LINE_SIZE  # only when needed: DuckDB's buffers grow with the limit
            return self._csv(self.current)
        if text and not self.normalised:
            return self._normalise()
        message = duckdb_message(exc).replace(str(self.current), str(self.path)).replace(".;", ";")
        if self.source.format in ("csv", "tsv") and ("quote" in message.lower() or "invalid state" in message):
            message += ' (expected comma-, semicolon- or tab-separated values quoted with "; is a quote left open?)'
        elif "Expected Number of Columns" in message:
            message += (
                f" (the header line has {message.split('Columns: ')[1].split()[0]} fields, separated by "
                f"{self.delimiter!r}; is that separator inside a value that is not quoted?)"
            )
        raise InputError(f"{self.where()}: {message}") from None

    # --- text ------------------------------------------------------------------------------------

    def _csv(self, path: Path) -> str:
        """A read_csv with everything pinned: the header line gives the delimiter and the column
        names, quoting is RFC 4180 ("..." with "" inside). Left to DuckDB's sniffer, an unterminated
        quote silently turns quoting off, and a row with extra fields can make it take the file as
        one column; pinned, both are errors naming the line."""
        self.current = path
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            raw = fh.read(1 << 16)
        try:
            head = codecs.getincrementaldecoder("utf-8-sig")().decode(raw)
        except UnicodeDecodeError:
            head = None
        if (head is None or "\x00" in head) and not self.normalised:
            return self._normalise()  # not UTF-8 text: decode it here (or say why it cannot be)
        head = head or ""
        first = head.split("\n", 1)[0]
        delimiter = self.settings.delimiter or ("\t" if self.source.format == "tsv" else None)
        if delimiter is None:
            unquoted = re.sub(r'"[^"]*"', "", first)
            counts = {d: unquoted.count(d) for d in (",", ";", "\t", "|")}
            delimiter = max(counts, key=lambda d: (counts[d], d == ","))
        self.delimiter = delimiter
        header = next(csv.reader(io.StringIO(head), delimiter=delimiter, quotechar='"'), [])
        names: list[str] = []
        for i, name in enumerate(header):
            name = name.strip() or f"column{i + 1}"
            while name.lower() in (n.lower() for n in names):
                name += "_"
            names.append(name)
        if not names:
            raise InputError(
                f"{self.path}: cannot read the file as {self.source.table}: it is empty "
                "(expected a header line, then one line per record)"
            )
        columns = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names) + "}"
        limit = f", max_line_size = {self.max_line}" if self.max_line else ""
        return (
            f"read_csv({_literal(str(path))}, header = true, auto_detect = false, columns = {columns}, "
            f"delim = {_literal(delimiter)}, quote = '\"', escape = '\"'{limit})"
        )

    def _open(self):
        return gzip.open(self.path, "rb") if self.path.name.lower().endswith(".gz") else self.path.open("rb")

    def _detect(self) -> str:
        with self._open() as fh:
            head = fh.read(1 << 16)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        if b"\x00" in head:
            raise InputError(
                f"{self.where()}: it holds NUL bytes, so it is not a text export "
                "(expected UTF-8 or Windows-1252 text, or a UTF-16 file with its byte-order mark)"
            )
        for candidate in ("utf-8", "cp1252"):
            decoder = codecs.getincrementaldecoder(candidate)()
            try:
                with self._open() as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        decoder.decode(block)
                    decoder.decode(b"", final=True)
                return candidate
            except UnicodeDecodeError:
                continue
        return "latin-1"

    def _bad_line(self, encoding: str) -> tuple[int, bytes]:
        with self._open() as fh:
            for number, line in enumerate(fh, 1):
                try:
                    line.decode(encoding)
                except UnicodeDecodeError as exc:
                    return number, line[max(exc.start - 10, 0) : exc.end + 10]
        return 0, b""

    def _normalise(self) -> str:
        """Decode the file once, write it as UTF-8 with LF newlines, and return a scan of that copy."""
        self.normalised = True
        setting = self.settings.encoding
        encoding = {"utf-8": "utf-8-sig"}.get(setting, setting) if setting else self._detect()
        target = self.workdir / f"{self.source.table}.csv"
        try:
            with self._open() as raw, target.open("w", encoding="utf-8", newline="\n") as out:
                text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline=None)
                number = 1
                for block in iter(lambda: text.read(1 << 20), ""):
                    # Text that is not UTF-8 and holds control characters is a binary file, not an export.
                    control = CONTROL.search(block) if setting is None and encoding in ("cp1252", "latin-1") else None
                    if control:
                        line = number + block.count("\n", 0, control.start())
                        raise InputError(
                            f"{self.where()}: line {line} holds the control character {control.group()!r}, so it "
                            f"is not text in {encoding} (expected UTF-8 or Windows-1252 text; set "
                            f"`tables: {self.source.table}: encoding:` in scorecard.yml if the file uses another)"
                        )
                    number += block.count("\n")
                    out.write(block)
        except UnicodeDecodeError:
            line, sample = self._bad_line(encoding.replace("-sig", ""))
            other = "cp1252" if encoding.startswith("utf-8") else "utf-8"
            raise InputError(
                f"{self.where()}: line {line} is not valid {encoding.replace('-sig', '')} (bytes {sample!r}); "
                f"set `tables: {self.source.table}: encoding: {other}` in scorecard.yml, or save the file as UTF-8"
            ) from None
        self.encoding = encoding.replace("-sig", "")
        return self._csv(target)

    # --- workbooks -------------------------------------------------------------------------------

    def _workbook(self) -> str:
        import pyarrow as pa
        from python_calamine import CalamineWorkbook

        try:
            book = CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine raises its own error types for corrupt files
            raise InputError(f"{self.where()}: not a readable .xlsx workbook ({exc})") from None
        names = book.sheet_names
        wanted = self.settings.sheet
        if wanted is None:
            name = names[0]
        elif isinstance(wanted, int):
            if not 0 <= wanted < len(names):
                raise InputError(f"{self.where()}: sheet {wanted} not found; its sheets (from 0): {names}")
            name = names[wanted]
        else:
            matches = [n for n in names if n.strip().lower() == wanted.strip().lower()]
            if not matches:
                raise InputError(
                    f"{self.where()}: no sheet named {wanted!r}; its sheets: {names} "
                    f"(set `tables: {self.source.table}: sheet:` in scorecard.yml)"
                )
            name = matches[0]
        rows = [
            r
            for r in book.get_sheet_by_name(name).to_python(skip_empty_area=True)
            if any(c not in (None, "") for c in r)
        ]
        if not rows:
            raise InputError(
                f"{self.where()}: sheet {name!r} is empty (expected a header row, then one row per record)"
            )
        header = [_cell(c) or f"column{i + 1}" for i, c in enumerate(rows[0])]
        seen: set[str] = set()
        for i, h in enumerate(header):
            while h.lower() in seen:
                h += "_"
            seen.add(h.lower())
            header[i] = h
        width = len(header)
        columns = [[_cell(r[i]) if i < len(r) else None for r in rows[1:]] for i in range(width)]
        self.view = f"_sheet_{self.source.table}"
        self.con.execute("SELECT 1").fetchall()  # DuckDB registers nothing while a result is pending
        self.con.register(self.view, pa.table({h: pa.array(c, pa.string()) for h, c in zip(header, columns)}))
        return self.view

    def close(self) -> None:
        if self.view:
            self.con.unregister(self.view)
            self.view = None


def _cell(value) -> str | None:
    """A workbook cell as the text a CSV export of it would hold."""
    from datetime import date, datetime, time, timedelta

    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return repr(value.total_seconds())
    return str(value)
