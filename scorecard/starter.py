"""`scorecard init DATA`: look at a folder of exports and write a commented starter scorecard.yml.

Each file is opened the way a build opens it (sources.py), so what init reports is what a build
will read: the table each file holds, its encoding, delimiter and decimal mark, the help-desk
preset its header fits, required columns it lacks (with the nearest header names), the timestamp
format when the data proves it (a day above 12 tells day-first from month-first; otherwise both
are offered and none is chosen), the units found, and every weighted KPI with its catalog target.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import duckdb

from .catalog import load_catalog
from .config import TableSettings
from .contract import TABLES
from .db import scalar
from .errors import InputError
from .presets import Preset, match_score, presets, required_missing
from .setaside import EPOCH, OTHER_DATE, SPACED_OFFSET
from .sources import Reader, SourceFile, find_sources, skipped, suffix

CONFIG_NAME = "scorecard.yml"


@dataclass
class TableReport:
    table: str
    file: str
    rows: int = 0
    headers: list[str] = field(default_factory=list)
    settings: dict[str, object] = field(default_factory=dict)  # detected: written under tables:
    comments: dict[str, str] = field(default_factory=dict)  # why each setting was written
    preset: Preset | None = None
    missing: dict[str, list[str]] = field(default_factory=dict)  # required column -> close header names
    format_choices: list[str] = field(default_factory=list)  # ambiguous timestamp formats offered
    sample: str = ""


@dataclass
class FolderReport:
    data_dir: Path
    tables: dict[str, TableReport] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)
    units_from: str = ""
    notes: list[str] = field(default_factory=list)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _formats_from(values: list[str]) -> tuple[list[str], str]:
    """(formats, sample): one format when the values prove the order, two when they cannot."""
    values = [v.strip() for v in values if v and v.strip()]
    if not values:
        return [], ""
    if all(EPOCH.match(v) for v in values):
        return ["epoch_ms" if len(values[0].split(".")[0]) > 11 else "epoch"], values[0]
    if all(SPACED_OFFSET.match(v) for v in values):
        return ["%Y-%m-%d %H:%M:%S %z" if re.search(r"\d:\d{2}:\d{2} ", values[0]) else "%Y-%m-%d %H:%M %z"], values[0]
    dated = [(v, m) for v in values if (m := OTHER_DATE.match(v))]
    if not dated:
        return [], values[0]
    sample, match = dated[0]
    sep = sample[len(match.group(1))]
    year = "%Y" if len(match.group(3)) == 4 else "%y"
    time = ""
    if re.search(r"\d{1,2}:\d{2}:\d{2}", sample):
        time = " %H:%M:%S"
    elif re.search(r"\d{1,2}:\d{2}", sample):
        time = " %H:%M"
    if time and re.search(r"\b(AM|PM)\b", sample, re.I):
        time = time.replace("%H", "%I") + " %p"
    day_first, month_first = f"%d{sep}%m{sep}{year}{time}", f"%m{sep}%d{sep}{year}{time}"
    firsts = [int(m.group(1)) for _, m in dated]
    seconds = [int(m.group(2)) for _, m in dated]
    if any(f > 12 for f in firsts) and not any(s > 12 for s in seconds):
        return [day_first], next(v for v, m in dated if int(m.group(1)) > 12)
    if any(s > 12 for s in seconds) and not any(f > 12 for f in firsts):
        return [month_first], next(v for v, m in dated if int(m.group(2)) > 12)
    return [day_first, month_first], sample


def _inspect(con: duckdb.DuckDBPyConnection, source, work: Path) -> TableReport:
    report = TableReport(source.table, source.path.name)
    reader = Reader(con, source, TableSettings(), work)
    try:
        error = None
        while True:
            try:
                scan = reader.scan() if error is None else reader.retry(error)
                report.headers = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
                report.rows = scalar(con, f"SELECT count(*) FROM {scan}")
                break
            except duckdb.Error as exc:
                error = exc
        if reader.encoding != "utf-8":
            report.settings["encoding"] = reader.encoding
            report.comments["encoding"] = "detected: the file is not UTF-8"
        if reader.delimiter and reader.delimiter not in (",", "\t"):
            report.settings["delimiter"] = reader.delimiter
            report.comments["delimiter"] = "detected"
        table = TABLES[source.table]
        lower = {h.strip().lower(): h for h in report.headers}
        mapping: dict[str, str] = {}  # contract column -> header
        fits = [
            (match_score(p, report.headers), p)
            for p in presets().values()
            if p.table == source.table and not required_missing(p, report.headers)
        ]
        own = [c.name for c in table.columns if c.required and c.name not in lower]
        if fits and own:
            report.preset = max(fits, key=lambda f: f[0])[1]
            mapping = {c: lower[s.lower()] for s, c in report.preset.columns.items() if s.lower() in lower}
        else:
            mapping = {c: lower[c] for c in table.column_names if c in lower}
            for column in own:
                report.missing[column] = difflib.get_close_matches(
                    column.replace("_", " "), report.headers, n=2, cutoff=0.4
                )
        types = {c.name: c.type for c in table.columns}
        numbers = [mapping[c] for c in mapping if types[c] in ("number", "integer")]
        if numbers and reader.delimiter == ";":
            where = " OR ".join(f"regexp_full_match(trim({_quote(c)}), '[+-]?[0-9.]*[0-9],[0-9]+')" for c in numbers)
            if con.execute(f"SELECT 1 FROM {scan} WHERE {where} LIMIT 1").fetchone():
                report.settings["decimal"] = ","
                report.comments["decimal"] = "detected: numbers such as 150,5"
        stamps = [mapping[c] for c in mapping if types[c] in ("timestamp", "date")]
        if stamps:
            values = [
                r[0]
                for r in con.execute(
                    " UNION ALL ".join(
                        f"(SELECT CAST({_quote(c)} AS VARCHAR) FROM {scan} WHERE NOT regexp_matches("
                        f"coalesce(CAST({_quote(c)} AS VARCHAR), '2000-01-01'), '^\\s*([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})?\\s*$') "
                        f"LIMIT 500)"
                        for c in stamps
                    )
                ).fetchall()
            ]
            formats, report.sample = _formats_from(values)
            if len(formats) == 1:
                report.settings["timestamp_format"] = formats[0]
                report.comments["timestamp_format"] = f"detected from {report.sample!r}"
            else:
                report.format_choices = formats
        if source.format == "xlsx":
            from python_calamine import CalamineWorkbook

            names = CalamineWorkbook.from_path(str(source.path)).sheet_names
            if len(names) > 1:
                report.settings["sheet"] = names[0]
                report.comments["sheet"] = f"the first of {len(names)} sheets: {', '.join(names)}"
        if source.table in ("org_units", "interactions") and "unit_id" in mapping:
            report.settings.setdefault(
                "_units",
                [
                    r[0]
                    for r in con.execute(
                        f"SELECT DISTINCT trim(CAST({_quote(mapping['unit_id'])} AS VARCHAR)) AS u FROM {scan} "
                        f"WHERE u <> '' ORDER BY u"
                    ).fetchall()
                ],
            )
    finally:
        reader.close()
    return report


def _headers(con: duckdb.DuckDBPyConnection, path: Path, work: Path) -> list[str]:
    reader = Reader(con, SourceFile("interactions", path), TableSettings(), work)
    try:
        error = None
        while True:
            try:
                scan = reader.scan() if error is None else reader.retry(error)
                return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
            except duckdb.Error as exc:
                error = exc
    except InputError:
        return []
    finally:
        reader.close()


def _recognise(headers: list[str], free: list[str]) -> str | None:
    """The table an export with another file name holds, judged from its header line."""
    fits = [p for p in presets().values() if p.table in free and not required_missing(p, headers)]
    if fits:
        return max(fits, key=lambda p: match_score(p, headers)).table
    lower = {h.strip().lower() for h in headers}
    tables = [
        (len(lower & set(TABLES[t].column_names)), t)
        for t in free
        if all(c.name in lower for c in TABLES[t].columns if c.required)
    ]
    return max(tables)[1] if tables else None


def inspect_folder(data_dir: Path) -> FolderReport:
    report = FolderReport(Path(data_dir))
    sources = find_sources(data_dir, require=False)
    con = duckdb.connect()
    with tempfile.TemporaryDirectory(prefix="scorecard-init-") as work:
        for name, source in sources.items():
            report.tables[name] = _inspect(con, source, Path(work))
        taken = {s.path.name for s in sources.values()}
        for path in sorted(Path(data_dir).iterdir()):
            if not path.is_file() or suffix(path) is None or path.name in taken:
                continue
            table = _recognise(_headers(con, path, Path(work)), [t for t in TABLES if t not in report.tables])
            if table is None:
                report.notes.append(f"{path.name}: not recognised as any table (its header fits none)")
                continue
            report.tables[table] = _inspect(con, SourceFile(table, path), Path(work))
            report.tables[table].settings = {"file": path.name, **report.tables[table].settings}
            report.tables[table].comments["file"] = "recognised from its header"
            sources[table] = SourceFile(table, path)
    for name, spec in TABLES.items():
        if name not in sources:
            report.notes.extend(f"{name}: {note}" for note in skipped(data_dir, name))
            if spec.required:
                report.notes.append(f"{name}: no file (required; read: {name}.csv, .csv.gz, .tsv, .parquet, .xlsx)")
    for name in ("org_units", "interactions"):
        if name in report.tables and "_units" in report.tables[name].settings:
            report.units = cast("list[str]", report.tables[name].settings.pop("_units"))  # set above
            report.units_from = report.tables[name].file
            break
    for t in report.tables.values():
        t.settings.pop("_units", None)
    return report


def _yaml_value(value) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'


def starter_config(report: FolderReport) -> str:
    """The commented starter scorecard.yml for a folder report."""
    catalog = load_catalog()
    out = [
        "# Starter configuration written by `scorecard init` for the exports in this folder.",
        '# Every key is optional; README.md ("Configuration") documents each one. Paths are relative to this file.',
        "",
        "data: .                        # the exports are next to this file",
        "",
        "# Reporting time zone (IANA name such as Europe/Paris): months are calendar months there, and",
        "# timestamps without an offset are read as local times there.",
        "timezone: UTC",
        "",
        "# Files found:",
    ]
    for name, t in report.tables.items():
        out.append(f"#   {name:18} {t.file} ({t.rows:,} rows)")
    for note in report.notes:
        out.append(f"#   {note}")
    out += [
        "",
        "# Column names: source column -> contract column, or a help-desk preset "
        "(zendesk, freshdesk, intercom, salesforce, hubspot).",
        "columns:",
    ]
    any_columns = False
    for name, t in report.tables.items():
        if t.preset:
            out.append(f"  {name}: {t.preset.name}          # {t.preset.product}: {t.preset.export}")
            any_columns = True
        elif t.missing:
            out.append(f"  {name}:")
            for column, close in t.missing.items():
                source = close[0] if close else "Your column"
                out.append(
                    f"    {_yaml_value(source)}: {column}"
                    + ("   # the nearest header; check it" if close else "   # required: name the column")
                )
            any_columns = True
    if not any_columns:
        out[-1] = "columns: {}                     # every table uses the contract's column names"
    out += ["", "# How to read each file (detected where noted).", "tables:"]
    any_tables = False
    for name, t in report.tables.items():
        if not t.settings and not t.format_choices:
            continue
        any_tables = True
        out.append(f"  {name}:")
        for key, value in t.settings.items():
            out.append(f"    {key}: {_yaml_value(value)}   # {t.comments.get(key, '')}".rstrip("# ").rstrip())
        if t.format_choices:
            out.append(f"    # Timestamps such as {t.sample!r} can be read day first or month first; keep one:")
            for choice in t.format_choices:
                out.append(f"    # timestamp_format: {_yaml_value(choice)}")
    if not any_tables:
        out[-1] = "tables: {}"
    out += [
        "",
        "# A table with a larger share of rows set aside than this stops the run (per table: tables: NAME:",
        "# max_quarantine_share).",
        "max_quarantine_share: 0.25",
        "",
        "# Targets, amber thresholds and weights: the catalog's, for every weighted KPI. A rule with",
        "# `unit:` applies to that unit and its descendants; `effective_from: YYYY-MM` starts it in a month.",
        "targets:",
    ]
    for kpi in catalog.kpis:
        if kpi.weight > 0:
            out.append(
                f"  - {{kpi: {kpi.id}, target: {kpi.target:g}, amber: {kpi.amber:g}, weight: {kpi.weight:g}}}"
                f"   # {kpi.name} ({kpi.unit}), {kpi.direction} is better"
            )
    return "\n".join(out) + "\n"


def summary_lines(report: FolderReport) -> list[str]:
    lines = []
    for name, t in report.tables.items():
        how = ", ".join(f"{k} {v}" for k, v in t.settings.items())
        lines.append(
            f"{name}: {t.file}, {t.rows:,} rows"
            + (f", preset {t.preset.name}" if t.preset else "")
            + (f" ({how})" if how else "")
        )
        for column, close in t.missing.items():
            lines.append(f"  missing required column {column}" + (f" (nearest: {', '.join(close)})" if close else ""))
        if t.format_choices:
            lines.append(f"  timestamps such as {t.sample!r}: day or month first? set timestamp_format")
    lines += report.notes
    shown = ", ".join(report.units[:12]) + (f", … ({len(report.units)} in all)" if len(report.units) > 12 else "")
    lines.append(f"units found in {report.units_from}: {shown}" if report.units else "no units found")
    return lines


def init(data_dir: str | Path) -> tuple[Path, bool, list[str]]:
    """Inspect the folder and write DATA/scorecard.yml unless one exists: (path, written, summary lines)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: input folder not found")
    report = inspect_folder(data_dir)
    lines = summary_lines(report)
    if (
        "org_units" not in report.tables
        and report.units
        and not any(suffix(p) and p.name.lower().startswith("org_units.") for p in data_dir.iterdir())
    ):
        # Help desks export no unit tree: a flat one (one root above the units found) gets a first
        # scorecard out; the README says how to make it a real tree.
        import csv

        root = "All units"
        with (data_dir / "org_units.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["unit_id", "unit_name", "parent_id"])
            writer.writerow([root, root, ""])
            writer.writerows([unit, unit, root] for unit in report.units if unit != root)
        report.notes = [n for n in report.notes if not n.startswith("org_units:")]
        lines = [line for line in lines if not line.startswith("org_units:")]
        lines.append(
            f"wrote {data_dir / 'org_units.csv'}: one root {root!r} above the {len(report.units)} units "
            "found; edit parent_id to make it your tree"
        )
    target = data_dir / CONFIG_NAME
    written = not target.exists()
    if written:
        target.write_text(starter_config(report), encoding="utf-8")
    return target, written, lines
