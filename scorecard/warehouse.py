"""The DuckDB warehouse: build it from an input folder, (re)compute the scorecard in it, open it.

A build writes a new database file beside the old one and moves it into place only when every
step succeeded, so a failed build never leaves a half-written database behind. When the old
database records how its tables were loaded, the new file starts as a copy of it and only what
changed in the input files is loaded (increments.py); the scorecard is always computed again. Builds and
recomputes hold the run lock (runlock.py); the half-written file of a killed build is removed by
the next one. The database is derived data: a damaged file is rebuilt from the inputs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from . import __version__, faults, increments
from .accountability import compute_escalation_path
from .analysis import compute_analysis, latest_counts
from .catalog import Catalog, load_catalog
from .commentary import compute_commentary
from .config import Config, TableSettings
from .contract import TABLES
from .coverage import compute_coverage
from .db import first_row, scalar
from .errors import ConfigError, InputError, ScorecardError
from .initiatives import compute_initiatives
from .kpis import compute_measures, compute_periods
from .loading import (
    SourceFile,
    create_empty_raw,
    find_sources,
    inputs_sha256,
    load_raw,
    read_raw,
    skipped,
    table_files,
)
from .needs import ABSENT_DDL
from .progress import event
from .runlock import pid_alive, run_lock, state_dir_for
from .scoring import compute_scores
from .setaside import check_set_aside
from .stats import install_elapsed, install_macros
from .validation import validate_all, validate_benchmarks

Progress = Callable[[str], None]


@dataclass
class BuildSummary:
    """What a build or compute did, for the closing line and for callers."""

    database: Path
    loaded: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    periods: int = 0
    complete_periods: int = 0
    units: int = 0
    cutoff: datetime | None = None
    warnings: list[str] = field(default_factory=list)
    benchmarks: str = ""  # where the benchmarks came from: the input folder, a file, or none
    latest_period: str | None = None  # the latest complete period (else the latest), and in it:
    escalations: int = 0
    mix_shifts: int = 0

    def line(self) -> str:
        analysis = ""
        if self.latest_period:
            analysis = (
                f"; {self.latest_period}: {_plural(self.escalations, 'escalation')}, "
                f"{_plural(self.mix_shifts, 'mix shift')}"
            )
        return (
            f"{sum(self.loaded.values()):,} rows loaded, {sum(self.quarantined.values()):,} quarantined, "
            f"{self.periods} periods ({self.complete_periods} complete), {self.units} units, "
            f"cut-off {self.cutoff:%Y-%m-%d %H:%M}{analysis} → {self.database}"
        )


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def connect(database: str | Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open a built scorecard database (read-only by default, so readers never block a build)."""
    path = Path(database)
    if not path.exists():
        raise InputError(f"{path}: database not found; run `scorecard build` first")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
        _check_size(con, path)
    except duckdb.Error as exc:
        raise DamagedDatabase(path, exc) from None
    return con


def _check_size(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """A truncated file still opens (its catalog is at the start); its blocks are not all there.

    Only the blocks in use must be in the file: DuckDB cuts free blocks off the end of a file it
    checkpoints (an incremental build leaves some) while still counting them in total_blocks."""
    block_size, used_blocks = first_row(con, "SELECT block_size, used_blocks FROM pragma_database_size()")
    size = path.stat().st_size
    if size < block_size * used_blocks:
        con.close()
        raise duckdb.IOException(
            f"the file has {size:,} bytes, its {used_blocks} blocks in use need {block_size * used_blocks:,} (truncated)"
        )


class DamagedDatabase(InputError):
    """The database file cannot be read (truncated, overwritten, not DuckDB): rebuild it."""

    def __init__(self, path: Path, cause: Exception):
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        super().__init__(
            f"{path}: the database is damaged ({first}); `scorecard build` (or a publish) rebuilds it from the inputs"
        )
        self.path = path


def is_readable(database: str | Path) -> bool:
    """Whether the database opens and its meta table reads (a truncated file fails one of both)."""
    try:
        with connect(database) as con:
            con.execute("SELECT key, value FROM meta").fetchall()
        return True
    except (duckdb.Error, DamagedDatabase):
        return False


def _session(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    # Timestamps without an offset are read in, and all others converted to, the reporting zone.
    try:
        con.execute(f"SET TimeZone = '{config.timezone}'")
    except duckdb.Error:
        # Python's zoneinfo (which validated the setting) knows a few names DuckDB does not
        raise ConfigError(
            f"timezone: unknown time zone {config.timezone!r} (expected an IANA name such as 'Europe/Paris')"
        ) from None
    # DuckDB takes 80% of RAM by default; a build spills to disk beyond the limit instead.
    con.execute(f"SET memory_limit = '{config.memory_limit}'")
    install_macros(con)


def _out_of_memory(config: Config, exc: duckdb.OutOfMemoryException, step: str) -> ConfigError:
    """DuckDB could not stay within memory_limit: one line naming the setting, not a traceback."""
    detail = str(exc).splitlines()[0].removeprefix("Out of Memory Error: ")
    try:
        machine = f" (this machine has {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB)"
    except (ValueError, OSError, AttributeError):
        machine = ""
    return ConfigError(
        f"memory_limit: the {step} ran out of memory within memory_limit = {config.memory_limit} "
        f"(DuckDB: {detail}); raise memory_limit in the configuration{machine}"
    )


def _cutoff(con: duckdb.DuckDBPyConnection, config: Config) -> datetime:
    if config.cutoff is not None:
        cutoff = config.cutoff
        if cutoff.tzinfo is not None:
            cutoff = cutoff.astimezone(ZoneInfo(config.timezone)).replace(tzinfo=None)
        return cutoff
    return scalar(
        con,
        """SELECT max(greatest(created_at, coalesce(first_response_at, created_at),
                                            coalesce(resolved_at, created_at))) FROM interactions""",
    )


def _meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM meta").fetchall())


def compute(con: duckdb.DuckDBPyConnection, config: Config, catalog: Catalog, progress: Progress) -> list[str]:
    """periods, measures, targets, results, priority, the analysis tables (analysis.py) and the
    review tables (initiatives.py, commentary.py, accountability.py) from the clean tables in
    `con`; one progress event ("compute" phase) per step."""
    started = time.perf_counter()

    def done(step: str) -> None:
        nonlocal started
        progress(event("compute", f"computed {step}", started, step=step))
        started = time.perf_counter()

    cutoff = _cutoff(con, config)
    low, high = first_row(
        con,
        """SELECT min(created_at), max(greatest(created_at, coalesce(first_response_at, created_at),
                                                           coalesce(resolved_at, created_at))) FROM interactions""",
    )
    install_elapsed(con, min(low, cutoff), max(high, cutoff))
    compute_periods(con, cutoff)
    compute_coverage(con, cutoff)
    compute_measures(con, cutoff, catalog)
    done("measures")
    warnings = compute_scores(con, config, catalog)
    done("scores")
    compute_analysis(con, config, catalog, cutoff)
    done("analysis")
    compute_initiatives(con, config.min_sample)
    compute_commentary(con)
    compute_escalation_path(con, config.escalation_periods)
    done("review")
    con.execute(
        "DELETE FROM meta WHERE key IN ('cutoff', 'catalog_version', 'min_sample', 'config_sha256', 'compute_sha256')"
    )
    con.execute(
        "INSERT INTO meta VALUES ('cutoff', ?), ('catalog_version', ?), ('min_sample', ?), ('config_sha256', ?), "
        "('compute_sha256', ?)",
        [cutoff.isoformat(sep=" "), str(catalog.version), str(config.min_sample), config.fingerprint(), compute_code()],
    )
    return warnings


# the modules whose code decides the computed tables (the loaded ones: increments.LOADING_CODE)
COMPUTE_CODE = (
    "warehouse.py", "kpis.py", "kpisql.py", "stats.py", "scoring.py", "analysis.py", "coverage.py",
    "initiatives.py", "commentary.py", "accountability.py", "catalog.py", "catalog.yml",
)  # fmt: skip


def compute_code() -> str:
    """A hash of the compute code: a database computed by other code (an upgrade) is computed again
    before a publish reads tables it may lack or count differently."""
    here, digest = Path(__file__).parent, hashlib.sha256()
    for name in COMPUTE_CODE:
        digest.update(name.encode() + b"\0" + (here / name).read_bytes())
    return digest.hexdigest()


def summarize(con: duckdb.DuckDBPyConnection, database: Path, warnings: list[str]) -> BuildSummary:
    meta = _meta(con)
    loaded = {t: scalar(con, f"SELECT count(*) FROM {t}") for t in TABLES}
    quarantined = dict(con.execute("SELECT table_name, count(*) FROM quarantine GROUP BY 1").fetchall())
    periods, complete = first_row(con, "SELECT count(*), count(*) FILTER (complete) FROM periods")
    if meta.get("benchmarks_from") != "input":
        loaded["benchmarks"] = 0  # not rows of the input folder (quarantined ones are still counted)
    counts = latest_counts(con)
    return BuildSummary(
        database=database,
        loaded={t: loaded[t] + quarantined.get(t, 0) for t in loaded},
        quarantined=quarantined,
        periods=periods,
        complete_periods=complete,
        units=loaded["org_units"],
        cutoff=datetime.fromisoformat(meta["cutoff"]),
        warnings=warnings,
        benchmarks=meta.get("benchmarks", ""),
        latest_period=counts["period"],
        escalations=counts["escalations"],
        mix_shifts=counts["mix_shifts"],
    )


def _benchmarks_file(config: Config) -> SourceFile | None:
    """The benchmarks file used when the input folder has none (`benchmarks` in the config)."""
    if config.benchmarks is None:
        return None
    path = Path(config.benchmarks)
    if not path.is_file():
        raise ConfigError(f"benchmarks: {path}: file not found (set `benchmarks: null` for no external benchmarks)")
    return SourceFile("benchmarks", path)


def _benchmarks_meta(source: SourceFile | None, from_input: bool) -> list[tuple[str, str]]:
    if source is None:
        return [("benchmarks_from", "none"), ("benchmarks", "none"), ("benchmarks_sha256", "")]
    return [
        ("benchmarks_from", "input" if from_input else "config"),
        ("benchmarks", str(source.path)),
        ("benchmarks_sha256", inputs_sha256({"benchmarks": source})),
    ]


def build(
    config: Config,
    data_dir: str | Path | None = None,
    database: str | Path | None = None,
    catalog: Catalog | None = None,
    progress: Progress | None = None,
    full: bool = False,
) -> BuildSummary:
    """Load and validate every input table, compute the scorecard, and store it all in `database`.

    When `database` exists and records how its tables were loaded, only what changed in the input
    files is loaded (increments.py); `full` loads everything again."""
    database = Path(database or config.database)
    with run_lock(state_dir_for(config, database), "build"):
        return _build(config, data_dir, database, catalog, progress, full)


@dataclass
class _Inputs:
    """The input files of one build and what is known about them before loading."""

    data_dir: Path
    sources: dict[str, SourceFile]  # the input folder's tables
    benchmarks: SourceFile | None  # from the input folder or the configuration
    scans: dict[str, increments.FileScan]
    inputs_sha256: str
    load_fingerprint: str

    def source(self, table: str) -> SourceFile | None:
        return self.benchmarks if table == "benchmarks" else self.sources.get(table)


def _build(
    config: Config,
    data_dir: str | Path | None,
    database: Path,
    catalog: Catalog | None,
    progress: Progress | None,
    full: bool = False,
) -> BuildSummary:
    say = progress or (lambda _msg: None)
    catalog = catalog or load_catalog()
    data_dir = Path(data_dir) if data_dir is not None else config.input_folder()
    sources = find_sources(data_dir, files=table_files(config))
    database.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_builds(database)
    benchmarks = sources.get("benchmarks") or _benchmarks_file(config)
    extra = {"benchmarks": benchmarks} if benchmarks is not None and "benchmarks" not in sources else {}
    fingerprint = increments.fingerprint(config, catalog)
    previous: dict[str, dict]
    why: str | None
    if full:
        previous, why = {}, "a whole build was asked for"
    elif database.exists() and not is_readable(database):
        previous, why = {}, f"{database} cannot be read"
    else:
        previous, why = increments.previous_state(database, fingerprint)
    started = time.perf_counter()
    scans, inputs_hash = increments.scan_inputs(sources, extra, previous)
    size = sum(s.size for s in scans.values())
    say(event("load", f"hashed {len(scans)} input files ({size / 2**20:,.1f} MiB)", started))
    inputs = _Inputs(data_dir, sources, benchmarks, scans, inputs_hash, fingerprint)
    if why is None:
        steps, why = increments.plan(previous, {t: inputs.source(t) for t in TABLES}, scans)
        if why is None:
            try:
                return _build_on(config, database, catalog, say, inputs, previous, steps)
            except increments.NotIncremental as exc:
                why = str(exc)
            except duckdb.Error as exc:  # the old database is derived data: load everything instead
                why = f"building on {database.name} failed ({str(exc).strip().splitlines()[0]})"
    say(f"loading every table: {why}")
    return _build_whole(config, database, catalog, say, inputs, why)


def _build_whole(
    config: Config, database: Path, catalog: Catalog, say: Progress, inputs: _Inputs, why: str
) -> BuildSummary:
    """Load and validate every table into a new database file, then compute."""
    sources, data_dir = inputs.sources, inputs.data_dir

    def work(con: duckdb.DuckDBPyConnection) -> list[str]:
        con.execute(ABSENT_DDL)  # filled by load_raw: columns a preset's export lacks
        notes: list[str] = []  # files that look like a table but are not read
        read: dict[str, int] = {}
        state: list[tuple] = []
        for name in TABLES:
            source = inputs.source(name)
            if source is not None:
                started = time.perf_counter()
                loaded = read_raw(con, source, config.columns.get(name, {}), config.tables.get(name))
                read[name] = loaded.rows
                say(event("load", f"read {source.path.name}: {read[name]:,} rows", started, read[name]))
                state.append(
                    increments.state_row(
                        name, source, inputs.scans[name], loaded.rows, loaded, "load", loaded.rows, why
                    )
                )
            else:
                create_empty_raw(con, name)
                notes.extend(f"no {name} table: {note}" for note in skipped(data_dir, name))
                state.append(increments.state_row(name, None, None, 0, None, "load", 0, "no file"))
        started = time.perf_counter()

        def validated(table: str) -> None:
            nonlocal started
            say(event("validate", f"validated {table}", started, read.get(table)))
            started = time.perf_counter()

        validate_all(con, sources["org_units"].path.name, config.survey_window_days, catalog.ids, progress=validated)
        _finish_loading(con, config, inputs, state)
        return notes

    return _in_staging(config, database, catalog, say, None, work)


def _build_on(
    config: Config,
    database: Path,
    catalog: Catalog,
    say: Progress,
    inputs: _Inputs,
    previous: dict[str, dict],
    steps: list[increments.Step],
) -> BuildSummary:
    """Build on a copy of the existing database: reuse, append to or reload each table as planned."""
    checks = increments.validators(config.survey_window_days, catalog.ids)

    def work(con: duckdb.DuckDBPyConnection) -> list[str]:
        con.execute(ABSENT_DDL)
        notes: list[str] = []
        state: list[tuple] = []
        actions = {step.table: step.action for step in steps}
        for step in steps:
            table, source, before = step.table, step.source, previous[step.table]
            mapping, settings = config.columns.get(table, {}), config.tables.get(table) or TableSettings()
            scan, file = inputs.scans.get(table), source.path.name if source else f"(no {table} file)"
            if source is None:
                notes.extend(f"no {table} table: {note}" for note in skipped(inputs.data_dir, table))
            upstream = increments.DEPENDS_ON.get(table)
            if upstream and step.action != "reload" and source is not None:
                if actions[upstream] == "reload":  # also when its append turned into a reload
                    step = increments.Step(table, "reload", f"{upstream} reloaded", source)
                elif actions[upstream] == "append" and (found := increments.resolvable(con, table)):
                    why = f"{found:,} rows set aside for an unknown interaction_id now find it"
                    step = increments.Step(table, "reload", why, source)
            actions[table] = step.action
            started = time.perf_counter()
            if step.action == "reuse":
                say(event("load", f"reused {table} ({step.reason})", started))
                state.append(increments.state_row(table, source, scan, before["rows"], before, "reuse", 0, step.reason))
                continue
            if step.action == "append":
                try:
                    loaded = increments.read_new_rows(con, step, before, mapping, settings)
                    say(event("load", f"appended to {table}: {loaded.rows:,} new rows of {file}", started, loaded.rows))
                    started = time.perf_counter()
                    increments.append_validated(con, table, checks[table], before["rows"])
                except increments.NotIncremental as exc:  # the table is reloaded instead
                    step = increments.Step(table, "reload", str(exc).removeprefix(f"{table}: "), source)
                    actions[table] = "reload"
                else:
                    say(event("validate", f"validated {table}: {loaded.rows:,} new rows", started, loaded.rows))
                    rows = before["rows"] + loaded.rows
                    state.append(
                        increments.state_row(table, source, scan, rows, before, "append", loaded.rows, step.reason)
                    )
                    continue
            started = time.perf_counter()
            reloaded = increments.reload(con, table, source, mapping, settings)
            rows = reloaded.rows if reloaded else 0
            say(event("load", f"reloaded {table} ({step.reason}): {rows:,} rows of {file}", started, rows))
            started = time.perf_counter()
            checks[table](con)
            con.execute(f"DROP TABLE raw_{table}")
            say(event("validate", f"validated {table}", started, rows))
            state.append(increments.state_row(table, source, scan, rows, reloaded, "reload", rows, step.reason))
        _finish_loading(con, config, inputs, state)
        return notes

    return _in_staging(config, database, catalog, say, database, work)


def _finish_loading(con: duckdb.DuckDBPyConnection, config: Config, inputs: _Inputs, state: list[tuple]) -> None:
    """The checks on the loaded tables as a whole, and the records of what was loaded from where."""
    sources = inputs.sources
    check_set_aside(con, {t: str(s.path) for t, s in sources.items()}, config)
    if scalar(con, "SELECT count(*) FROM interactions") == 0:
        raise InputError(f"{sources['interactions'].path}: no valid interactions; see the quarantine reasons")
    con.execute("CREATE OR REPLACE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    con.execute(
        "INSERT INTO meta VALUES ('timezone', ?), ('survey_window_days', ?), ('data_dir', ?), "
        "('inputs_sha256', ?), ('version', ?)",
        [
            config.timezone,
            str(config.survey_window_days),
            str(inputs.data_dir.resolve()),
            inputs.inputs_sha256,
            __version__,
        ],
    )
    con.executemany("INSERT INTO meta VALUES (?, ?)", _benchmarks_meta(inputs.benchmarks, "benchmarks" in sources))
    increments.write_state(con, state, inputs.load_fingerprint)


def _in_staging(
    config: Config,
    database: Path,
    catalog: Catalog,
    say: Progress,
    start_from: Path | None,
    work: Callable[[duckdb.DuckDBPyConnection], list[str]],
) -> BuildSummary:
    """Run `work` (loading) and compute in a staging file (a copy of `start_from`, or new), then
    move it into place: a failed or killed build never leaves a half-written database."""
    staging = database.with_name(f".{database.name}.building-{os.getpid()}")
    _remove(staging)
    faults.point("load")
    try:
        if start_from is not None:
            started = time.perf_counter()
            shutil.copyfile(start_from, staging)
            size = staging.stat().st_size
            say(event("load", f"copied {start_from.name} ({size / 2**20:,.1f} MiB) to build on", started))
        con = duckdb.connect(str(staging))
        try:
            _session(con, config)
            notes = work(con)
            warnings = notes + compute(con, config, catalog, say)
            summary = summarize(con, database, warnings)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        faults.point("build")
        os.replace(staging, database)
    except duckdb.OutOfMemoryException as exc:
        _remove(staging)
        raise _out_of_memory(config, exc, "build") from None
    except BaseException:
        _remove(staging)
        raise
    return summary


def recompute(
    config: Config, database: str | Path | None = None, catalog: Catalog | None = None, progress: Progress | None = None
) -> BuildSummary:
    """Recompute results in an existing database, e.g. after changing targets or weights.

    A damaged database is rebuilt from the inputs instead (it is derived data)."""
    say = progress or (lambda _msg: None)
    database = Path(database or config.database)
    with run_lock(state_dir_for(config, database), "compute"):
        if database.exists() and not is_readable(database):
            say(f"{database} is damaged: rebuilding it from {config.data}")
            return _build(config, None, database, catalog, progress)
        return _recompute(config, database, catalog or load_catalog(), say)


def _recompute(config: Config, database: Path, catalog: Catalog, say: Progress) -> BuildSummary:
    with connect(database, read_only=False) as con:
        meta = _meta(con)
        if meta.get("timezone") != config.timezone or meta.get("survey_window_days") != str(config.survey_window_days):
            raise ScorecardError(
                f"{database} was built with timezone {meta.get('timezone')} and survey_window_days "
                f"{meta.get('survey_window_days')}; these settings change validation: run `scorecard build`"
            )
        missing = [
            t
            for t in TABLES
            if not scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [t])
        ]
        if missing:
            raise ScorecardError(
                f"{database} has no table {', '.join(missing)} (built by an older version): run `scorecard build`"
            )
        _session(con, config)
        if meta.get("benchmarks_from") != "input":
            _reload_benchmarks(con, config, catalog, meta, say)
        try:
            warnings = compute(con, config, catalog, say)
        except duckdb.OutOfMemoryException as exc:
            raise _out_of_memory(config, exc, "compute") from None
        return summarize(con, database, warnings)


def _reload_benchmarks(
    con: duckdb.DuckDBPyConnection, config: Config, catalog: Catalog, meta: dict[str, str], say: Progress
) -> None:
    """Benchmarks from the configuration (not the input folder) follow the configuration on recompute."""
    source = _benchmarks_file(config)
    entries = dict(_benchmarks_meta(source, False))
    if entries["benchmarks_sha256"] == meta.get("benchmarks_sha256", "") and entries["benchmarks"] == meta.get(
        "benchmarks"
    ):
        return
    con.execute("DELETE FROM quarantine WHERE table_name = 'benchmarks'")
    if source is None:
        create_empty_raw(con, "benchmarks")
    else:
        rows = load_raw(con, source, config.columns.get("benchmarks", {}), config.tables.get("benchmarks"))
        say(f"read {source.path.name}: {rows:,} rows")
    validate_benchmarks(con, catalog.ids)
    con.execute("DROP TABLE raw_benchmarks")
    con.execute("DELETE FROM meta WHERE key IN ('benchmarks_from', 'benchmarks', 'benchmarks_sha256')")
    con.executemany("INSERT INTO meta VALUES (?, ?)", list(entries.items()))
    # the next build must not take this table for the one its load record describes
    if scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'load_state'"):
        con.execute("UPDATE load_state SET file = '(set by compute)', sha256 = NULL WHERE table_name = 'benchmarks'")


def _remove_dead_builds(database: Path) -> None:
    """The half-written database of a killed build (its pid gone) is removed by the next build."""
    for leftover in database.parent.glob(f".{database.name}.building-*"):
        pid = leftover.name.rsplit("-", 1)[-1].removesuffix(".wal")
        if pid.isdigit() and not pid_alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        if p.exists():
            p.unlink()
