"""The benchmark behind `make bench`: demo data at scale → build (load, validate, compute) next to
its floors → publish (first, monthly, nothing changed) next to a naive pipeline, with the run's
peak memory; every goal is checked and printed as step | measured | goal | met.

Goals that can be ratios are ratios against floors measured in the same run, because absolute
times on a shared machine move by 2× between runs of the same code:

- load floor: DuckDB reading the same files with their final column types and no checks;
- compute floor: one bare ``GROUP BY month × unit`` over the interactions with as many medians as
  the KPI SQL has, plus ``count(*)``;
- naive pipeline: for a few of the same unit reports, papermill ``execute_notebook`` per unit with
  a fresh kernel and no reuse, then the same page and PDF rendering.

Phases are timed from the progress events the pipeline emits (scorecard.progress: phase, seconds,
rows), not from message text; memory is the summed PSS of the whole process tree (psutil), sampled
twice a second, next to this process's own peak RSS. Everything lives in a work folder (default
``bench/work``, git-ignored); the table is printed and written to ``bench/results.json``
(``results-small.json`` with --small, ``results-scale.json`` with --scale). Tracked results are
the baseline measured on the project's 2-core machine; commit a run's file to make it the new one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
FULL_INTERACTIONS = 10_000_000
SMALL_INTERACTIONS = 1_000_000
SMALL_FIRST_PERIODS = 3  # --small: the first publish covers the last 3 periods only
SCALE_INTERACTIONS = (1_000_000, 3_000_000, 10_000_000, 30_000_000)
SCALE_TEAMS = (30, 165)  # 38 and 200 units
MONTHS = 24
TEAMS = 30
SEED = 7
END_MONTH = "2026-10"
SCHEMA = 2
NAIVE_UNITS = 4  # unit reports the naive pipeline executes and renders

# Goals
LOAD_RATIO_GOAL = 2.0  # load + validate ÷ load floor
MEASURES_RATIO_GOAL = 3.0  # measures + scores ÷ compute floor
COMPUTE_RATIO_GOAL = 6.0  # everything ÷ compute floor
CYCLE_GOAL_S = 75.0  # monthly cycle (build + monthly publish), 10M, quiet 2-core machine
CYCLE_RATIO_GOAL = 0.4  # monthly cycle ÷ (full rebuild + publish)
SPEEDUP_GOAL = 5.0  # naive pipeline s/unit ÷ ours
REPUBLISH_GOAL_S = 5.0
MEMORY_GOAL_GB = 3.0  # at 10M interactions

GB = 1024**3


# ----------------------------------------------------------------------------- results


@dataclass
class Step:
    """One line of the table (and of results.json)."""

    key: str  # stable id in results.json
    label: str  # what the table shows
    seconds: float | None = None
    rate: float | None = None  # rows/s, × floor, s/unit, GB, ...
    rate_unit: str = ""
    goal: str = ""  # as shown, e.g. "≤ 3× floor"
    met: bool | None = None  # None: no goal
    note: str = ""


def format_rate(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit in ("× floor", "× naive", "× full"):
        return f"{value:.2f}{unit}"
    if unit == "s/unit":
        return f"{value:.2f} s/unit"
    if unit == "GB":
        return f"{value:.2f} GB"
    return f"{value:,.3g} {unit}".strip()


def format_table(steps: Iterable[Step]) -> str:
    """Plain text: step | seconds | measured | goal | met (notes under it, numbered)."""
    header = ("step", "seconds", "measured", "goal", "met")
    rows, notes = [], []
    for step in steps:
        label = step.label
        if step.note:
            notes.append(step.note)
            label += f" [{len(notes)}]"
        rows.append(
            (
                label,
                "—" if step.seconds is None else f"{step.seconds:,.2f}",
                format_rate(step.rate, step.rate_unit),
                step.goal or "—",
                {True: "met", False: "NOT MET", None: "—"}[step.met],
            )
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {1, 2}

    def line(cells) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    out += [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(out)


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


RESULTS_KEYS = {
    "schema",
    "started_at",
    "finished_at",
    "machine",
    "source",
    "size",
    "steps",
    "memory",
    "details",
    "goals_met",
}
STEP_KEYS = set(Step.__dataclass_fields__)


def results_document(
    steps: list[Step], *, size: dict, details: dict, memory: dict, started_at: str, finished_at: str
) -> dict:
    return {
        "schema": SCHEMA,
        "started_at": started_at,
        "finished_at": finished_at,
        "machine": machine(),
        "source": source(),
        "size": size,
        "steps": [asdict(s) for s in steps],
        "memory": memory,
        "details": details,
        "goals_met": all(s.met for s in steps if s.met is not None),
    }


def check_results(doc: dict) -> None:
    """Raise ValueError unless doc has the results.json shape (for tests and readers)."""
    if doc.get("schema") != SCHEMA or set(doc) != RESULTS_KEYS:
        raise ValueError(f"results: expected schema {SCHEMA} with keys {sorted(RESULTS_KEYS)}")
    for step in doc["steps"]:
        if set(step) != STEP_KEYS:
            raise ValueError(f"results: step {step.get('key')!r} has keys {sorted(step)}")
        for k in ("seconds", "rate"):
            if step[k] is not None and not isinstance(step[k], (int, float)):
                raise ValueError(f"results: step {step['key']!r}: {k} is not a number")
        if step["met"] not in (True, False, None):
            raise ValueError(f"results: step {step['key']!r}: met is not true/false/null")


def machine() -> dict:
    import duckdb

    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / GB, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "platform": platform.platform(),
    }


def source() -> dict:
    """Which code was measured: the git commit and its uncommitted changes to code and notebooks."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = (git("rev-parse", "HEAD") or "").strip() or None
    changed = git("status", "--porcelain", "--", "scorecard", "notebooks", "bench", "_quarto.yml") if commit else None
    return {
        "path": str(ROOT),
        "commit": commit,
        "uncommitted": [line[3:] for line in changed.splitlines() if line.strip()] if changed else [],
    }


# ----------------------------------------------------------------------------- floors

_MEDIAN_CALL = re.compile(r"\b(median|quantile_cont|quantile_disc|quantile)\s*\(", re.IGNORECASE)
_FLOOR_MEDIANS = ["epoch(first_response_at - created_at)", "epoch(resolved_at - created_at)", "handle_time_s"]
# the contract's column types as DuckDB reads them (timestamps may carry an offset)
_DUCKDB_TYPES = {
    "timestamp": "TIMESTAMPTZ",
    "date": "DATE",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
}


def kpi_median_count() -> int:
    """How many medians (quantiles) the KPI SQL computes per group: the SQL scorecard.kpisql
    generates for the bundled catalog."""
    from scorecard.catalog import load_catalog
    from scorecard.kpisql import Grouping, compile_kpi, medians_sql, sums_sql

    count = 0
    for compiled in map(compile_kpi, load_catalog().kpis):
        for source, values in compiled.medians.items():
            count += len(_MEDIAN_CALL.findall(medians_sql(source, values, Grouping(), create=True)))
        for source, aggregates in compiled.sums.items():
            count += len(_MEDIAN_CALL.findall(sums_sql(source, aggregates, Grouping())))
    return count


def floor_sql(medians: int) -> str:
    """The compute floor: one bare GROUP BY month × unit over interactions, `medians` medians + count(*)."""
    cols = ", ".join(f"median({_FLOOR_MEDIANS[i % len(_FLOOR_MEDIANS)]}) AS m{i + 1}" for i in range(medians))
    return (
        f"SELECT date_trunc('month', created_at) AS month, unit_id, count(*) AS n"
        f"{', ' + cols if cols else ''} FROM interactions GROUP BY ALL"
    )


def load_floor_sql(table: str, path: Path) -> str:
    """The load floor for one file: DuckDB reading it with the final column types, no checks (rows
    that do not parse are skipped, not reported)."""
    from scorecard.contract import TABLES

    types = {c.name: _DUCKDB_TYPES[c.type] for c in TABLES[table].columns if c.type in _DUCKDB_TYPES}
    spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
    return (
        f"CREATE OR REPLACE TABLE floor_{table} AS SELECT * FROM read_csv('{path}', header = true, "
        f"types = {spec}, ignore_errors = true)"
    )


def load_floor(data: Path, memory_limit: str) -> tuple[float, int]:
    """Seconds and rows of the load floor over every input file of `data`."""
    import duckdb

    from scorecard.contract import TABLES
    from scorecard.db import scalar

    work = data.parent / "load-floor.duckdb"
    for p in (work, work.with_name(work.name + ".wal")):
        p.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(work)) as con:
            con.execute(f"SET memory_limit = '{memory_limit}'")
            started, rows = time.perf_counter(), 0
            for table in TABLES:
                path = data / f"{table}.csv"
                if path.exists():
                    con.execute(load_floor_sql(table, path))
                    rows += scalar(con, f"SELECT count(*) FROM floor_{table}")
            con.execute("CHECKPOINT")
            return time.perf_counter() - started, rows
    finally:
        for p in (work, work.with_name(work.name + ".wal")):
            p.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- measuring


class Log:
    """Progress on stderr, kept with its time; per-notebook events are printed every few seconds."""

    def __init__(self, stream=sys.stderr, every: float = 5.0):
        self.start = time.perf_counter()
        self.events: list[tuple[float, str]] = []
        self.stream, self.every, self._last = stream, every, 0.0

    def __call__(self, message: str) -> None:
        now = time.perf_counter()
        self.events.append((now, message))
        if getattr(message, "step", "") == "notebook" or message.startswith("rendered "):
            if now - self._last < self.every:
                return
            self._last = now
        print(f"[{now - self.start:7.1f}s] {message}", file=self.stream, flush=True)

    def since(self, t0: float) -> list[str]:
        """The messages logged since t0 (Events among them)."""
        return [m for t, m in self.events if t >= t0]

    def step(self, message: str) -> None:
        self(f"== {message}")


@dataclass
class Usage:
    """What one step used: peak memory of our process tree, CPU of ours and of the whole machine."""

    peak_bytes: int = 0
    wall_s: float = 0.0
    our_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0

    def as_dict(self) -> dict:
        wall = self.wall_s or 1.0
        return {
            "peak_pss_bytes": self.peak_bytes,
            "wall_s": round(self.wall_s, 1),
            "our_cores": round(self.our_cpu_s / wall, 2),
            "other_processes_cores": round(max(0.0, self.machine_cpu_s - self.our_cpu_s) / wall, 2),
        }


def tree_memory(root: psutil.Process) -> int:
    """Summed PSS (RSS where PSS is unknown) of `root` and every descendant."""
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            info = proc.memory_full_info()
            total += getattr(info, "pss", None) or info.rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


def tree_cpu(root: psutil.Process) -> float:
    """CPU seconds of `root`, its live descendants and its reaped children."""
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + (t.children_user + t.children_system if proc is root else 0.0)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return total


def machine_cpu() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


class Sampler:
    """Every `interval` s: memory of this process tree (notebook workers, kernels, Chromium) and
    CPU, ours and the machine's, so each step can say how much CPU other processes took."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.me = psutil.Process()
        self.steps: dict[str, Usage] = {}
        self._step = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._last: tuple[float, float, float] | None = None

    def __enter__(self) -> Sampler:
        self._last = (time.perf_counter(), tree_cpu(self.me), machine_cpu())
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    @property
    def step(self) -> str:
        return self._step

    @step.setter
    def step(self, name: str) -> None:
        self.sample()
        with self._lock:
            self._step = name

    def sample(self) -> None:
        with self._lock:
            usage = self.steps.setdefault(self._step, Usage())
            usage.peak_bytes = max(usage.peak_bytes, tree_memory(self.me))
            now = (time.perf_counter(), tree_cpu(self.me), machine_cpu())
            if self._last is not None:
                usage.wall_s += now[0] - self._last[0]
                usage.our_cpu_s += max(0.0, now[1] - self._last[1])
                usage.machine_cpu_s += max(0.0, now[2] - self._last[2])
            self._last = now

    @property
    def peak(self) -> tuple[int, str]:
        step, usage = max(self.steps.items(), key=lambda kv: kv[1].peak_bytes, default=("", Usage()))
        return usage.peak_bytes, step

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - t0, result


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _per(count: int, seconds: float | None) -> float | None:
    return count / seconds if seconds else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# ----------------------------------------------------------------------------- the run


@dataclass
class Options:
    interactions: int = FULL_INTERACTIONS
    small: bool = False
    months: int = MONTHS
    teams: int = TEAMS
    seed: int = SEED
    work: Path = Path("bench/work")
    results: Path = Path("bench/results.json")
    config: Path | None = None  # None: ./scorecard.yml if there is one, else the defaults
    first_periods: int | None = None  # None: every complete period but the newest
    repeats: int = 3
    renderer: str | None = None
    workers: int | None = None
    regenerate: bool = False
    publish: bool = True
    naive_units: int = NAIVE_UNITS
    scale: bool = False
    scale_sizes: tuple[int, ...] = SCALE_INTERACTIONS
    scale_teams: tuple[int, ...] = SCALE_TEAMS


def generate_data(
    opts: Options, data: Path, log: Log, interactions: int | None = None, teams: int | None = None
) -> tuple[float | None, dict[str, int]]:
    """Demo data into `data`, reused when a stamp says it already holds this seed and size."""
    from scorecard.demo import generate

    interactions = interactions or opts.interactions
    teams = teams or opts.teams
    stamp = data / "bench-stamp.json"
    wanted = {
        "interactions": interactions,
        "months": opts.months,
        "teams": teams,
        "seed": opts.seed,
        "end_month": END_MONTH,
    }
    if not opts.regenerate and stamp.exists():
        saved = json.loads(stamp.read_text())
        if saved.get("params") == wanted:
            log(f"reusing the demo data in {data} (same seed and size; --regenerate to write it again)")
            return None, saved["rows"]
    if data.exists():
        shutil.rmtree(data)
    log(f"generating {interactions:,} interactions, {opts.months} months, {teams} teams into {data}")
    seconds, rows = timed(
        generate,
        data,
        interactions=interactions,
        seed=opts.seed,
        end_month=END_MONTH,
        months=opts.months,
        teams=teams,
        progress=log,
    )
    stamp.write_text(json.dumps({"params": wanted, "rows": rows}))
    return seconds, rows


# The time column of each export that grows every month (the others are copied unchanged).
GROWING = {
    "interactions": "created_at",
    "survey_responses": "responded_at",
    "qa_reviews": "reviewed_at",
    "employee_pulse": "responded_at",
    "costs": "period",
}


def split_newest_month(data: Path, previous: Path, newest: str) -> dict[str, int]:
    """`previous`: the exports as they were before `newest` arrived; `data` rewritten so that each
    growing export is exactly its previous bytes with the newest month's rows appended, the shape
    of a monthly export the build loads incrementally. Returns the rows appended per table."""
    import csv

    if previous.exists():
        shutil.rmtree(previous)
    previous.mkdir(parents=True)
    appended: dict[str, int] = {}
    new_interactions: set[str] = set()  # a record of a new interaction is new too, whatever its date says
    paths = sorted(data.iterdir(), key=lambda p: (p.name != "interactions.csv", p.name))
    for path in paths:
        if path.name == "bench-stamp.json" or not path.is_file():
            continue
        table = path.name.removesuffix(".csv")
        if table not in GROWING:
            shutil.copy2(path, previous / path.name)
            continue
        grown = path.with_name(path.name + ".grown")
        new_rows: list[list[str]] = []
        with (
            path.open(newline="", encoding="utf-8") as src,
            (previous / path.name).open("w", newline="", encoding="utf-8") as old,
            grown.open("w", newline="", encoding="utf-8") as out,
        ):
            reader = csv.reader(src)
            header = next(reader)
            at = header.index(GROWING[table])
            link = header.index("interaction_id") if "interaction_id" in header else None
            old_writer, out_writer = csv.writer(old, lineterminator="\n"), csv.writer(out, lineterminator="\n")
            old_writer.writerow(header)
            out_writer.writerow(header)
            for row in reader:
                if row[at].startswith(newest) or (link is not None and row[link] in new_interactions):
                    new_rows.append(row)
                    if table == "interactions":
                        new_interactions.add(row[link] if link is not None else "")
                else:
                    old_writer.writerow(row)
                    out_writer.writerow(row)
            out_writer.writerows(new_rows)
        grown.replace(path)
        appended[table] = len(new_rows)
    return appended


def forget_site(config) -> None:
    """A fresh site on purpose: forget the record of the one an earlier bench published there
    (otherwise a missing site is, rightly, refused as lost)."""
    from scorecard.publish.site import record_path
    from scorecard.runlock import state_dir_for

    record_path(Path(config.site), state_dir_for(config)).unlink(missing_ok=True)


def _config(opts: Options, work: Path):
    from scorecard.config import load_config

    path = opts.config or (Path("scorecard.yml") if Path("scorecard.yml").exists() else None)
    base = load_config(path)
    return base.model_copy(
        update={
            "data": work / "data",
            "database": work / "scorecard.duckdb",
            "site": work / "site",
            "reports": work / "reports",
            "cutoff": None,
        }
    )


def measure_build(config, log: Log, details: dict, repeats: int) -> dict:
    """Build, load floor, recompute × repeats next to the compute floor; the figures of the goals."""
    import duckdb

    from scorecard.progress import phase_seconds
    from scorecard.warehouse import build, recompute

    t0 = time.perf_counter()
    summary = build(config, progress=log, full=True)  # a whole build, whatever the database holds
    build_s = time.perf_counter() - t0
    log(summary.line())
    events = log.since(t0)
    loaded = sum(summary.loaded.values())
    load_s, validate_s = phase_seconds(events, "load"), phase_seconds(events, "validate")
    floor_load_s, floor_rows = load_floor(Path(config.data), config.memory_limit)
    log(f"load floor: {floor_rows:,} rows in {floor_load_s:.1f} s")

    medians = kpi_median_count()
    sql = floor_sql(medians)
    runs, floors, measures_runs = [], [], []
    for i in range(repeats):
        t1 = time.perf_counter()
        recompute(config, progress=log)
        runs.append(time.perf_counter() - t1)
        compute_events = log.since(t1)
        measures_runs.append(
            (phase_seconds(compute_events, "compute", "measures") or 0)
            + (phase_seconds(compute_events, "compute", "scores") or 0)
        )
        with duckdb.connect(str(config.database), read_only=True) as con:
            seconds, groups = timed(lambda: con.execute(sql).fetchall())
        floors.append(seconds)
        log(
            f"run {i + 1}: compute {runs[-1]:.2f} s (measures + scores {measures_runs[-1]:.2f} s), "
            f"floor {floors[-1]:.2f} s ({len(groups)} groups)"
        )
    figures = {
        "rows": loaded,
        "quarantined": sum(summary.quarantined.values()),
        "units": summary.units,
        "periods": summary.periods,
        "build_s": build_s,
        "load_s": load_s,
        "validate_s": validate_s,
        "load_validate_s": None if load_s is None or validate_s is None else load_s + validate_s,
        "load_floor_s": floor_load_s,
        "load_floor_rows": floor_rows,
        "compute_s": min(runs),
        "measures_s": min(measures_runs),
        "floor_s": min(floors),
    }
    details.update(
        {
            "build": {k: _r(v) if isinstance(v, float) else v for k, v in figures.items()},
            "compute": {
                "runs_s": [_r(s) for s in runs],
                "measures_scores_runs_s": [_r(s) for s in measures_runs],
                "floor_runs_s": [_r(s) for s in floors],
                "floor_sql": sql,
                "medians": medians,
                "floor_groups": len(groups),
            },
        }
    )
    return figures


def build_steps(f: dict, repeats: int) -> list[Step]:
    lv_ratio = _ratio(f["load_validate_s"], f["load_floor_s"])
    m_ratio, c_ratio = _ratio(f["measures_s"], f["floor_s"]), _ratio(f["compute_s"], f["floor_s"])
    return [
        Step("load", "load (files → raw tables)", f["load_s"], _per(f["rows"], f["load_s"]), "rows/s"),
        Step(
            "validate",
            "validate (raw → clean + quarantine)",
            f["validate_s"],
            _per(f["rows"], f["validate_s"]),
            "rows/s",
        ),
        Step(
            "load_validate",
            f"load + validate ({f['rows']:,} rows)",
            f["load_validate_s"],
            lv_ratio,
            "× floor",
            f"≤ {LOAD_RATIO_GOAL:g}× load floor",
            at_most(lv_ratio, LOAD_RATIO_GOAL),
        ),
        Step(
            "load_floor",
            "load floor: DuckDB reads the files with their final types, no checks",
            f["load_floor_s"],
            _per(f["load_floor_rows"], f["load_floor_s"]),
            "rows/s",
        ),
        Step(
            "build",
            "build total (load + validate + compute + checkpoint)",
            f["build_s"],
            _per(f["rows"], f["build_s"]),
            "rows/s",
        ),
        Step(
            "compute_measures",
            "compute: measures + scores",
            f["measures_s"],
            m_ratio,
            "× floor",
            f"≤ {MEASURES_RATIO_GOAL:g}× floor",
            at_most(m_ratio, MEASURES_RATIO_GOAL),
        ),
        Step(
            "compute",
            f"compute: everything ({f['periods']} periods × {f['units']} units; breakdowns, analysis)",
            f["compute_s"],
            c_ratio,
            "× floor",
            f"≤ {COMPUTE_RATIO_GOAL:g}× floor",
            at_most(c_ratio, COMPUTE_RATIO_GOAL),
            note=f"warehouse.recompute, best of {repeats}",
        ),
        Step("floor", f"compute floor: GROUP BY month × unit, {kpi_median_count()} medians + count(*)", f["floor_s"]),
    ]


def run(opts: Options, log: Log | None = None) -> dict:
    log = log or Log()
    started_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    work = opts.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    config = _config(opts, work)
    steps: list[Step] = []
    details: dict = {}
    with Sampler() as tree:
        tree.step = "generate"
        log.step("1/4 demo data")
        seconds, rows = generate_data(opts, Path(config.data), log)
        total = sum(rows.values())
        steps.append(
            Step(
                "generate",
                f"generate demo data ({total:,} rows)",
                seconds,
                _per(total, seconds),
                "rows/s",
                note="" if seconds else "reused from an earlier run (same seed and size); not timed",
            )
        )
        details["rows"] = rows

        tree.step = "build"
        log.step("2/4 build (load, validate, compute) next to the load floor; compute next to its floor")
        figures = measure_build(config, log, details, opts.repeats)
        steps += build_steps(figures, opts.repeats)

        if opts.publish:
            steps += publish_steps(opts, config, log, tree, details, figures)

    memory: dict[str, Any] = {"self_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    tree_peak, peak_step = tree.peak
    memory.update(
        {
            "tree_peak_pss_bytes": tree_peak,
            "tree_peak_step": peak_step,
            "steps": {name: usage.as_dict() for name, usage in tree.steps.items() if name},
        }
    )
    peak = max(tree_peak, memory["self_maxrss_bytes"])
    memory["peak_bytes"] = peak
    per_step = ", ".join(f"{name} {u.peak_bytes / GB:.2f}" for name, u in tree.steps.items() if name)
    full = opts.interactions >= FULL_INTERACTIONS
    steps.append(
        Step(
            "memory",
            "peak memory of the run",
            None,
            peak / GB,
            "GB",
            f"≤ {MEMORY_GOAL_GB:g} GB" + ("" if full else " (at 10M)"),
            at_most(peak / GB, MEMORY_GOAL_GB) if full else None,
            note=f"the larger of the process tree's summed PSS (this process, notebook workers, kernels, "
            f"Chromium; sampled every 0.5 s; per step GB: {per_step}) and this process's peak RSS "
            f"({memory['self_maxrss_bytes'] / GB:.2f} GB; DuckDB runs in it)",
        )
    )
    size = {
        "interactions": opts.interactions,
        "months": opts.months,
        "teams": opts.teams,
        "seed": opts.seed,
        "end_month": END_MONTH,
        "small": opts.small,
        "units": figures["units"],
        "periods": figures["periods"],
    }
    finished_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    return results_document(
        steps, size=size, details=details, memory=memory, started_at=started_at, finished_at=finished_at
    )


def _publish(config, log: Log, opts: Options, period: str | None, details: dict, key: str) -> float:
    from scorecard.progress import phase_seconds
    from scorecard.publish import publish

    t0 = time.perf_counter()
    summary = publish(config, period=period, renderer=opts.renderer, workers=opts.workers, progress=log)
    seconds = time.perf_counter() - t0
    log(f"{summary.line()} ({seconds:.1f} s)")
    execute_s = phase_seconds(log.since(t0), "execute", "total")
    notebooks = summary.notebooks
    details.setdefault("publish", {})[key] = {
        "seconds": _r(seconds),
        "notebooks": notebooks,
        "pages": summary.pages,
        "execute_s": _r(execute_s),
        "execute_s_per_notebook": _r(_ratio(execute_s, notebooks)),
        "after_execute_s": _r(None if execute_s is None else seconds - execute_s),
        "published": [f"{p.period} r{p.revision}" for p in summary.published],
    }
    return seconds


def publish_steps(opts: Options, config, log: Log, tree: Sampler, details: dict, figures: dict) -> list[Step]:
    import duckdb

    from scorecard.render import get_renderer
    from scorecard.warehouse import build

    renderer = get_renderer(opts.renderer).name
    for path in (config.site, config.reports):
        if Path(path).exists():
            shutil.rmtree(path)
    forget_site(config)
    with duckdb.connect(str(config.database), read_only=True) as con:
        complete = [p for (p,) in con.execute("SELECT period FROM periods WHERE complete ORDER BY period").fetchall()]
        units = [u for (u,) in con.execute("SELECT unit_id FROM org_units ORDER BY sort_path").fetchall()]
    if len(complete) < 2:
        raise SystemExit("bench: the data needs at least two complete periods")
    newest, earlier = complete[-1], complete[:-1]
    # the newest month "has not arrived yet": the exports as they were before it, the cut-off at its
    # first day (the month is then neither complete nor published)
    previous = Path(opts.work) / "previous"
    appended = split_newest_month(Path(config.data), previous, newest)
    details["appended_rows"] = appended
    log(f"split the exports at {newest}: appended " + ", ".join(f"{n:,} rows to {t}" for t, n in appended.items()))
    cut = config.model_copy(update={"cutoff": datetime.fromisoformat(newest + "-01"), "data": previous})
    subset = opts.first_periods is not None and opts.first_periods < len(earlier)
    first = earlier[-(opts.first_periods or 0) :] if subset else earlier
    n_units = len(units)
    out: list[Step] = []

    tree.step = "first publish"
    log.step(f"3/4 first publish: {len(first)} period(s) {first[0]} .. {first[-1]} × {n_units} units, {renderer}")
    build(cut, progress=log, full=True)
    seconds = sum(
        _publish(cut, log, opts, p if subset else None, details, f"first {p}" if subset else "first")
        for p in (first if subset else [None])
    )
    out.append(
        Step(
            "first_publish",
            f"first publish ({len(first)} periods × {n_units} units)",
            seconds,
            seconds / (len(first) * n_units),
            "s/unit",
            note=(
                f"the last {len(first)} of {len(earlier)} complete periods, one PERIOD= publish each"
                if subset
                else f"every complete period but the newest ({len(first)})"
            )
            + f"; {renderer} renderer, HTML + PDF per unit",
        )
    )

    tree.step = "monthly publish"
    log.step(f"4/4 monthly publish of {newest} ({n_units} units), a re-publish, the naive pipeline")
    # the monthly cycle: the grown exports, an incremental build, the publish of the new month
    t0 = time.perf_counter()
    summary = build(config, progress=log)
    cycle_build_s = time.perf_counter() - t0
    log(f"{summary.line()} ({cycle_build_s:.1f} s)")
    details["cycle_build"] = {"seconds": _r(cycle_build_s), "events": log.since(t0)[-12:]}
    period = newest if subset else None
    monthly_s = _publish(config, log, opts, period, details, "monthly")
    ours = monthly_s / n_units
    cycle_s = cycle_build_s + monthly_s
    whole_s = figures["build_s"] + monthly_s
    out.append(
        Step(
            "monthly_publish",
            f"monthly publish (1 period × {n_units} units + site pages)",
            monthly_s,
            ours,
            "s/unit",
            note=_publish_note(details["publish"]["monthly"]),
        )
    )
    # against a whole rebuild (timed at the start of the run) + the same publish
    cycle_ratio = _ratio(cycle_s, whole_s)
    cycle_met = at_most(cycle_ratio, CYCLE_RATIO_GOAL)
    if opts.interactions >= FULL_INTERACTIONS:
        cycle_met = cycle_met and cycle_s <= CYCLE_GOAL_S
    out.append(
        Step(
            "monthly_cycle",
            "monthly cycle: a new month in the exports → build + monthly publish",
            cycle_s,
            cycle_ratio,
            "× full",
            f"≤ {CYCLE_GOAL_S:g} s at 10M, ≤ {CYCLE_RATIO_GOAL:g}× full",
            cycle_met,
            note=f"incremental build {cycle_build_s:.1f} s (only the appended rows loaded) + the publish; "
            f"a whole rebuild + the same publish: {whole_s:.1f} s",
        )
    )

    tree.step = "re-publish"
    from scorecard import loading

    loading._HASHED.clear()  # a re-publish is a new process: it hashes the exports again
    seconds = _publish(config, log, opts, period, details, "republish")
    out.append(
        Step(
            "republish",
            "re-publish, nothing changed",
            seconds,
            None,
            "",
            f"≤ {REPUBLISH_GOAL_S:g} s",
            at_most(seconds, REPUBLISH_GOAL_S),
        )
    )

    tree.step = "naive pipeline"
    naive_s, count = naive_pipeline(
        config, newest, units[-opts.naive_units :], renderer, Path(opts.work) / "naive", log
    )
    naive = naive_s / count
    speedup = _ratio(naive, ours)
    out.append(
        Step(
            "naive",
            f"naive pipeline ({count} unit reports: papermill per unit, fresh kernel, same rendering)",
            naive_s,
            naive,
            "s/unit",
        )
    )
    out.append(
        Step(
            "per_unit",
            "per unit page (execute + render, HTML + PDF): naive ÷ ours",
            ours,
            speedup,
            "× naive",
            f"≥ {SPEEDUP_GOAL:g}× faster than naive",
            at_least(speedup, SPEEDUP_GOAL),
            note=f"ours: the monthly publish, {ours:.2f} s/unit (its site pages included); naive: {naive:.2f} s/unit",
        )
    )
    details["renderer"] = renderer
    details["first_publish_periods"] = first
    return out


def naive_pipeline(config, period: str, units: list[str], renderer: str, work: Path, log: Log) -> tuple[float, int]:
    """What a team would write with papermill and a renderer: execute_notebook per unit with a fresh
    kernel (imports, Chromium for the chart images, every time), then the same rendering."""
    import papermill

    from scorecard.publish.paths import root_from, unit_page
    from scorecard.render import Page, get_renderer

    if work.exists():
        shutil.rmtree(work)
    reports, site = work / "reports", work / "site"
    pages = []
    log(f"naive pipeline: {len(units)} unit reports of {period}, one papermill run and kernel each")
    t0 = time.perf_counter()
    for unit_id in units:
        page = unit_page(period, 1, unit_id)
        source = reports / (page.removesuffix(".html") + ".ipynb")
        source.parent.mkdir(parents=True, exist_ok=True)
        papermill.execute_notebook(
            str(Path(config.notebooks) / "unit.ipynb"),
            str(source),
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
            parameters={
                "database": str(Path(config.database).resolve()),
                "root": root_from(page),
                "period": period,
                "revision": 1,
                "provisional": False,
                "reason": "",
                "previous_csv": "",
                "unit_id": unit_id,
            },
        )
        pages.append(Page(source=source, html=True, pdf=True))
    site.mkdir(parents=True, exist_ok=True)
    get_renderer(renderer).render(Path(config.project), reports, pages, site)
    seconds = time.perf_counter() - t0
    log(f"naive pipeline: {seconds:.1f} s, {seconds / len(units):.2f} s per unit")
    return seconds, len(units)


def _publish_note(b: dict) -> str:
    if b.get("execute_s") is None:
        return ""
    return (
        f"execute {b['notebooks']} notebooks {b['execute_s']:.1f} s ({b['execute_s_per_notebook']:.2f} s each, "
        f"wall), then rendering {b['pages']} pages and the site {b['after_execute_s']:.1f} s"
    )


# ----------------------------------------------------------------------------- scaling


def run_scale(opts: Options, log: Log | None = None) -> dict:
    """The scaling table: build and compute at each size; the monthly publish at 38 and 200 units."""
    log = log or Log()
    started_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    steps: list[Step] = []
    details: dict = {"sizes": {}, "units": {}}
    with Sampler() as tree:
        for n in opts.scale_sizes:
            work = (opts.work / f"scale-{n}").resolve()
            work.mkdir(parents=True, exist_ok=True)
            config = _config(opts, work)
            tree.step = f"{n:,} generate"
            log.step(f"scale: {n:,} interactions")
            generate_data(opts, Path(config.data), log, interactions=n)
            tree.step = f"{n:,}"
            f = measure_build(config, log, details.setdefault("runs", {}).setdefault(str(n), {}), 1)
            tree.sample()
            peak = tree.steps[tree.step].peak_bytes
            details["sizes"][str(n)] = {k: _r(v) if isinstance(v, float) else v for k, v in f.items()}
            details["sizes"][str(n)]["peak_bytes"] = peak
            for key, label, seconds in (
                ("load_validate", "load + validate", f["load_validate_s"]),
                ("compute", "compute (everything)", f["compute_s"]),
                ("build", "build total", f["build_s"]),
            ):
                steps.append(
                    Step(
                        f"{key}_{n}", f"{n / 1e6:g}M interactions: {label}", seconds, _per(f["rows"], seconds), "rows/s"
                    )
                )
            steps.append(
                Step(
                    f"memory_{n}",
                    f"{n / 1e6:g}M interactions: peak memory (build, compute)",
                    None,
                    peak / GB,
                    "GB",
                    f"≤ {MEMORY_GOAL_GB:g} GB",
                    at_most(peak / GB, MEMORY_GOAL_GB),
                )
            )
        for teams in opts.scale_teams:
            work = (opts.work / f"scale-teams-{teams}").resolve()
            work.mkdir(parents=True, exist_ok=True)
            config = _config(opts, work)
            tree.step = f"{teams} teams"
            log.step(f"scale: monthly publish with {teams} leaf teams")
            generate_data(opts, Path(config.data), log, interactions=min(opts.scale_sizes), teams=teams)
            from scorecard.warehouse import build

            summary = build(config, progress=log, full=True)
            for path in (config.site, config.reports):
                if Path(path).exists():
                    shutil.rmtree(path)
            forget_site(config)
            import duckdb

            from scorecard.db import scalar

            with duckdb.connect(str(config.database), read_only=True) as con:
                newest = scalar(con, "SELECT max(period) FROM periods WHERE complete")
            seconds = _publish(config, log, opts, newest, details["units"], str(summary.units))
            steps.append(
                Step(
                    f"publish_{summary.units}",
                    f"monthly publish, {summary.units} units",
                    seconds,
                    seconds / summary.units,
                    "s/unit",
                )
            )
    finished_at = datetime.now(UTC).replace(microsecond=0).isoformat()
    memory = {"steps": {name: u.as_dict() for name, u in tree.steps.items() if name}}
    size = {
        "interactions": list(opts.scale_sizes),
        "months": opts.months,
        "teams": list(opts.scale_teams),
        "seed": opts.seed,
        "end_month": END_MONTH,
        "small": False,
        "scale": True,
    }
    return results_document(
        steps, size=size, details=details, memory=memory, started_at=started_at, finished_at=finished_at
    )


# ----------------------------------------------------------------------------- command line


def parse_args(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--interactions", type=int, default=None, help=f"interactions to generate (default {FULL_INTERACTIONS:,})"
    )
    p.add_argument("--small", action="store_true", help=f"a quick run: {SMALL_INTERACTIONS:,} interactions")
    p.add_argument(
        "--scale",
        action="store_true",
        help="the scaling table: build at "
        + ", ".join(f"{n / 1e6:g}M" for n in SCALE_INTERACTIONS)
        + " interactions, monthly publish at 38 and 200 units",
    )
    p.add_argument("--months", type=int, default=MONTHS, help=f"complete months of history (default {MONTHS})")
    p.add_argument("--teams", type=int, default=TEAMS, help=f"leaf teams (default {TEAMS})")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--work", type=Path, default=Path("bench/work"), help="work folder (default bench/work)")
    p.add_argument(
        "--results",
        type=Path,
        default=None,
        help="default bench/results.json (results-small.json with --small, results-scale.json with --scale)",
    )
    p.add_argument("--config", type=Path, default=None, help="targets etc. (default ./scorecard.yml if present)")
    p.add_argument(
        "--first-periods",
        default=None,
        help="periods in the first publish: 'all' (every complete period but the newest) or N (the "
        f"last N of them, one PERIOD= publish each; default {SMALL_FIRST_PERIODS})",
    )
    p.add_argument("--repeats", type=int, default=3, help="compute and floor runs, best taken (default 3)")
    p.add_argument("--renderer", choices=["builtin", "quarto"], help="rendering back end (default as `make publish`)")
    p.add_argument("--workers", type=int, help="notebook workers (default one per core)")
    p.add_argument(
        "--naive-units",
        type=int,
        default=NAIVE_UNITS,
        help=f"unit reports the naive pipeline runs (default {NAIVE_UNITS})",
    )
    p.add_argument("--regenerate", action="store_true", help="write the demo data even if the work folder has it")
    p.add_argument("--no-publish", dest="publish", action="store_false", help="stop after compute")
    a = p.parse_args(argv)
    if sum(bool(x) for x in (a.interactions is not None, a.small, a.scale)) > 1:
        p.error("give one of --small, --scale, --interactions")
    interactions = SMALL_INTERACTIONS if a.small else (a.interactions or FULL_INTERACTIONS)
    if a.first_periods is None:
        first = SMALL_FIRST_PERIODS
    elif a.first_periods == "all":
        first = None
    elif a.first_periods.isdigit() and int(a.first_periods) > 0:
        first = int(a.first_periods)
    else:
        p.error("--first-periods: 'all' or a positive number")
    name = "results-small.json" if a.small else "results-scale.json" if a.scale else "results.json"
    return Options(
        interactions=interactions,
        small=a.small,
        months=a.months,
        teams=a.teams,
        seed=a.seed,
        work=a.work,
        config=a.config,
        first_periods=first,
        results=a.results or Path("bench") / name,
        repeats=max(1, a.repeats),
        renderer=a.renderer,
        workers=a.workers,
        regenerate=a.regenerate,
        publish=a.publish,
        naive_units=max(1, a.naive_units),
        scale=a.scale,
    )


def report(doc: dict) -> str:
    s = doc["size"]
    sizes = s["interactions"] if isinstance(s["interactions"], list) else [s["interactions"]]
    head = (
        f"scorecard bench: {', '.join(f'{n:,}' for n in sizes)} interactions, {s['months']} months, seed "
        f"{s['seed']}; {doc['machine']['cpus']} cores, {doc['machine']['memory_gb']} GB, "
        f"duckdb {doc['machine']['duckdb']}"
    )
    return head + "\n\n" + format_table(Step(**st) for st in doc["steps"]) + "\n" + machine_load(doc)


def machine_load(doc: dict) -> str:
    """Per step: CPU cores this benchmark used and cores taken by OTHER processes meanwhile."""
    steps = doc["memory"].get("steps") or {}
    if not steps:
        return ""
    cells = [f"{name} {u['our_cores']:.1f}/{u['other_processes_cores']:.1f}" for name, u in steps.items()]
    line = "CPU cores used by this run / by other processes, per step: " + ", ".join(cells)
    busiest = max((u["other_processes_cores"] for u in steps.values() if u.get("wall_s", 60) >= 10), default=0.0)
    if busiest >= 0.25:
        line += (
            f"\nWARNING: other processes took up to {busiest:.1f} of {doc['machine']['cpus']} cores during "
            f"the run: the timings above are inflated by that much contention"
        )
    return line


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    from scorecard.errors import ScorecardError

    log = Log()
    try:
        doc = run_scale(opts, log) if opts.scale else run(opts, log)
    except ScorecardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    check_results(doc)
    opts.results.parent.mkdir(parents=True, exist_ok=True)
    opts.results.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print()
    print(report(doc))
    print(f"\nresults → {opts.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
