"""`scorecard check DATA`: everything a publish would find out about a data folder, without
publishing: the configuration it would use, rows read and set aside per table and reason, the
KPIs the tables present allow, and the months found.

The check is a real build (load, validate, compute) into a temporary database, so it fails
exactly where a publish would, and never touches the site or the database of a deployment.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .catalog import load_catalog
from .config import PACKAGED_NOTEBOOKS, PACKAGED_PROJECT
from .configsource import ChosenConfig
from .contract import TABLES
from .db import scalar
from .loading import find_sources, table_files
from .needs import NEEDS, SECOND_TABLE, Need, withheld_kpis
from .progress import ProgressCallback
from .warehouse import build

EXAMPLES = 2  # example rows shown per table and reason


@dataclass
class TableCheck:
    table: str
    file: str | None  # None: no file for this table
    read: int = 0
    set_aside: int = 0
    reasons: list[tuple[str, int, list[str]]] = field(default_factory=list)  # reason, rows, examples


@dataclass
class CheckReport:
    chosen: ChosenConfig
    data: Path
    tables: list[TableCheck]
    computable: list[str]
    not_computable: list[tuple[str, str]]  # kpi, why
    periods: list[tuple[str, bool, int]]  # period, complete, interactions created in it
    cutoff: str
    units: int
    site: str = ""  # what the site holds and what a publish would add to it
    site_refused: bool = False  # the site holds another organisation's scorecard

    @property
    def complete(self) -> list[str]:
        return [p for p, complete, _n in self.periods if complete]

    @property
    def ok(self) -> bool:
        """A publish would succeed: it publishes complete months (an incomplete one only on request)."""
        return bool(self.complete) and not self.site_refused

    @property
    def exit_code(self) -> int:
        """0 when a publish would succeed; else the code the publish would exit with."""
        if not self.complete:
            return 2
        return 4 if self.site_refused else 0

    def render(self) -> str:
        return "\n".join(_render(self))


def check(chosen: ChosenConfig, progress: ProgressCallback | None = None) -> CheckReport:
    """Build the data folder into a temporary database and report what a publish would find.

    Raises the same errors a publish would (InputError, ConfigError) before anything is reported."""
    config = chosen.config
    data = config.input_folder()
    catalog = load_catalog()
    sources = find_sources(data, files=table_files(config))
    with tempfile.TemporaryDirectory(prefix="scorecard-check-") as tmp:
        database = Path(tmp) / "check.duckdb"
        build(config, data_dir=data, database=database, catalog=catalog, progress=progress)
        with duckdb.connect(str(database), read_only=True) as con:
            tables = _tables(con, sources)
            computable, missing = _kpis(con, catalog.ids, sources)
            periods = con.execute("""
                SELECT p.period, p.complete, count(i.interaction_id)
                FROM periods p LEFT JOIN interactions i ON strftime(i.created_at, '%Y-%m') = p.period
                GROUP BY ALL ORDER BY 1""").fetchall()
            cutoff = scalar(con, "SELECT value FROM meta WHERE key = 'cutoff'")
            unit_ids = {u for (u,) in con.execute("SELECT unit_id FROM org_units").fetchall()}
    report = CheckReport(chosen, data, tables, computable, missing, periods, cutoff[:16], len(unit_ids))
    report.site, report.site_refused = _site(Path(config.site), unit_ids, report.complete)
    return report


def _site(site: Path, units: set[str], complete: list[str]) -> tuple[str, bool]:
    """What a publish would do to the site: start it, add months to it, or refuse it."""
    from .publish import manifest as manifests

    manifest = manifests.load(site)
    if not manifest["periods"]:
        return f"{site}: nothing published yet; a publish adds {len(complete)} complete month(s)", False
    other = manifests.other_organisation(manifest, units)
    if other:
        shown = ", ".join(repr(u) for u in other[:3]) + (", ..." if len(other) > 3 else "")
        return (
            f"{site} holds the scorecard of other units ({shown}): a publish there would be refused; "
            "publish into another folder (SITE=... or --site) or remove it first"
        ), True
    published = {e["period"] for e in manifest["periods"]}
    new = [p for p in complete if p not in published]
    return (
        f"{site}: {len(published)} month(s) published; a publish adds {len(new)} complete month(s)"
        + (f" ({_span(new)})" if new else "")
    ), False


def _tables(con: duckdb.DuckDBPyConnection, sources: dict) -> list[TableCheck]:
    kept = {t: scalar(con, f"SELECT count(*) FROM {t}") for t in TABLES}
    reasons = con.execute(f"""
        WITH q AS (SELECT *, count(*) OVER (PARTITION BY table_name, reason) AS rows,
                          row_number() OVER (PARTITION BY table_name, reason ORDER BY "row") AS k
                   FROM quarantine)
        SELECT table_name, reason, any_value(rows),
               list('row ' || "row" || coalesce(' (' || record_id || ')', '')
                    || coalesce(': "' || value || '"', '') ORDER BY "row") FILTER (k <= {EXAMPLES})
        FROM q GROUP BY ALL ORDER BY 1, 3 DESC, 2""").fetchall()
    out = []
    for name in TABLES:
        source = sources.get(name)
        if source is None:
            if name == "benchmarks":
                continue  # the packaged (or configured) benchmarks stand in; not an input table
            out.append(TableCheck(name, None))
            continue
        item = TableCheck(name, source.path.name)
        item.reasons = [(reason, rows, examples) for table, reason, rows, examples in reasons if table == name]
        item.set_aside = sum(rows for _r, rows, _e in item.reasons)
        item.read = kept[name] + item.set_aside
        out.append(item)
    return out


def _kpis(
    con: duckdb.DuckDBPyConnection, kpi_ids: Iterable[str], sources: dict
) -> tuple[list[str], list[tuple[str, str]]]:
    measured = {k for (k,) in con.execute("SELECT DISTINCT kpi_id FROM measures WHERE n > 0").fetchall()}
    withheld = withheld_kpis(con)
    computable, missing = [], []
    for kpi in kpi_ids:
        if kpi in measured:
            computable.append(kpi)
            continue
        table, condition, what, _columns = NEEDS.get(kpi, Need("interactions", "true", "no data"))
        tables = [table] + ([SECOND_TABLE[kpi]] if kpi in SECOND_TABLE else [])
        absent = [t for t in tables if t not in sources]
        if kpi in withheld:
            why = withheld[kpi]
        elif absent:
            why = "; ".join(f"table {t} missing (no {t}.csv)" for t in absent)
        elif scalar(con, f"SELECT count(*) FROM {table}") == 0:
            why = f"every row of {sources[table].path.name} was set aside"
        elif scalar(con, f"SELECT count(*) FROM {table} WHERE {condition}") == 0:
            why = f"{sources[table].path.name}: {what}"
        else:
            why = "no value in any month (see the rows set aside)"
        missing.append((kpi, why))
    return computable, missing


def _span(periods: list[str]) -> str:
    """'2024-10 … 2026-10' for a run of months, or the months themselves when few."""
    if len(periods) <= 3:
        return ", ".join(periods)
    return f"{periods[0]} … {periods[-1]}"


def _render(r: CheckReport) -> list[str]:
    config = r.chosen.config
    lines = [
        f"Configuration: {r.chosen.describe()}",
        f"  time zone {config.timezone}, {len(config.targets)} target rule(s), minimum sample {config.min_sample}",
    ]
    outputs = f"  a publish writes: site {config.site}, database {config.database}, executed notebooks {config.reports}"
    lines.append(outputs)
    if Path(config.project) != PACKAGED_PROJECT or Path(config.notebooks) != PACKAGED_NOTEBOOKS:
        lines.append(f"  site project {config.project}, notebook templates {config.notebooks}")
    lines += ["", f"Input folder: {r.data}", f"  {'table':<18} {'file':<24} {'read':>9} {'set aside':>10} {'kept':>9}"]
    for t in r.tables:
        if t.file is None:
            need = "required" if TABLES[t.table].required else "optional"
            lines.append(f"  {t.table:<18} {'(no file, ' + need + ')':<24}")
            continue
        lines.append(f"  {t.table:<18} {t.file:<24} {t.read:>9,} {t.set_aside:>10,} {t.read - t.set_aside:>9,}")
        for reason, rows, examples in t.reasons:
            lines.append(f"      {rows:>7,} {reason}")
            for example in examples:
                lines.append(f"              e.g. {_clip(example)}")

    lines += [
        "",
        f"KPIs that can be computed ({len(r.computable)} of {len(r.computable) + len(r.not_computable)}): "
        + (", ".join(r.computable) or "none"),
    ]
    if r.not_computable:
        lines.append(f"KPIs that cannot ({len(r.not_computable)}), published as no data:")
        width = max(len(k) for k, _ in r.not_computable)
        lines += [f"  {kpi:<{width}}  {why}" for kpi, why in r.not_computable]

    periods = [p for p, _c, _n in r.periods]
    incomplete = [p for p, complete, _n in r.periods if not complete]
    empty = [p for p, _c, n in r.periods if n == 0]
    lines += [
        "",
        f"Months found: {len(periods)} ({_span(periods)}), {_units(r.units)}, data cut-off {r.cutoff}",
        f"  complete: {len(r.complete)}" + (f" ({_span(r.complete)})" if r.complete else ""),
    ]
    if incomplete:
        lines.append(
            f"  incomplete: {', '.join(incomplete)} (the cut-off is before the month's end; "
            "publish one with --period YYYY-MM, marked provisional)"
        )
    if empty:
        lines.append(
            f"  months without interactions: {_span(empty) if len(empty) > 6 else ', '.join(empty)} ({len(empty)})"
        )
    if r.site:
        lines += ["", f"Site: {r.site}"]
    lines.append("")
    if r.site_refused:
        lines.append("NOT READY: the site holds another organisation's scorecard (see Site above).")
    elif r.ok:
        lines.append(f"OK: a publish would succeed ({len(r.complete)} complete month(s) × {_units(r.units)}).")
    else:
        lines.append(
            "NOT READY: no complete month yet, so a publish has nothing to publish "
            "(publish an incomplete month with --period YYYY-MM, marked provisional)."
        )
    return lines


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def _clip(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
