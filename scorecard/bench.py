"""The benchmark behind `make bench`: demo data at scale → load + validate → compute (next to a
bare DuckDB floor) → publish (first, monthly, nothing changed), with the run's peak memory.

    python -m scorecard.bench                      # 10M interactions, 24 months, 30 leaf teams
    python -m scorecard.bench --small              # 200k interactions, for a quick run
    make bench  /  make bench BENCH_SIZE=small

Everything lives in a work folder (default ``bench/work``, git-ignored: input data, database,
reports, site); the table is printed at the end and written to ``bench/results.json``
(``bench/results-small.json`` with ``--small``). Both files are tracked: the baseline measured
on the project's 2-core machine, with the commit measured and the CPU that other processes
took meanwhile; commit a run's files when its numbers are meant to be the new baseline. Timings come
from the warehouse's and the publisher's own progress messages (their timestamps split a
build into load, validate and compute, and a publish into execution and rendering), so the
benchmark runs the real code paths and duplicates none of them.

Steps:

1. generate the demo data (``scorecard.demo``; reused when the folder already holds the same
   seed and size);
2. ``warehouse.build``: load, validate and compute, timed per phase;
3. ``warehouse.recompute`` (every KPI for every period and unit) next to the FLOOR: one bare
   ``GROUP BY month × unit`` over the same interactions table with as many medians as the KPI
   SQL has, plus ``count(*)``; the same database, the same run, best of ``--repeats``;
4. publishing into a fresh site: a first publish of every complete period but the newest (the
   database recomputed with a ``cutoff`` at the newest period's start, so that period is
   still incomplete), then the monthly publish (recomputed without the cutoff: one new
   period, every unit, HTML + PDF), then a re-publish with nothing changed;
5. peak memory: the larger of ``getrusage(RUSAGE_SELF).ru_maxrss`` (DuckDB runs in this process)
   and a sampled total over the whole process tree (this process, notebook workers, kernels,
   Chromium) every half second, counted as PSS so shared pages are not counted twice;
   ``RUSAGE_CHILDREN`` is recorded but not used (see :func:`run`). The same sampler records
   how many CPU cores other processes on the machine took during each step: a busy machine
   inflates every timing.
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
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

FULL_INTERACTIONS = 10_000_000
SMALL_INTERACTIONS = 200_000
SMALL_FIRST_PERIODS = 3          # --small: the first publish covers the last 3 periods only
MONTHS = 24
TEAMS = 30
SEED = 7
END_MONTH = "2026-10"
SCHEMA = 1

# Targets (issue 5)
COMPUTE_RATIO_TARGET = 3.0       # compute ÷ floor
MONTHLY_PER_UNIT_TARGET = 1.0    # seconds per unit report (30 s for 30 units)
REPUBLISH_TARGET = 5.0           # seconds
MEMORY_TARGET_GB = 4.0           # at 10M interactions

GB = 1024 ** 3


# ----------------------------------------------------------------------------- pure helpers

@dataclass
class Step:
    """One line of the table (and of results.json)."""

    key: str                       # stable id in results.json
    label: str                     # what the table shows
    seconds: float | None = None
    rate: float | None = None      # rows/s, × floor, s/unit report, GB, ...
    rate_unit: str = ""
    target: str = ""               # as shown, e.g. "≤ 3× floor"
    met: bool | None = None        # None: no target
    note: str = ""


def format_rate(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "× floor":
        return f"{value:.2f}× floor"
    if unit == "s/unit":
        return f"{value:.2f} s/unit"
    if unit == "GB":
        return f"{value:.2f} GB"
    return f"{value:,.3g} {unit}".strip()


def format_table(steps: Iterable[Step]) -> str:
    """A plain-text table: step, seconds, rate/ratio, target, met? (notes under it, numbered)."""
    header = ("step", "seconds", "rate/ratio", "target", "met?")
    rows, notes = [], []
    for step in steps:
        label = step.label
        if step.note:
            notes.append(step.note)
            label += f" [{len(notes)}]"
        rows.append((
            label,
            "—" if step.seconds is None else f"{step.seconds:,.2f}",
            format_rate(step.rate, step.rate_unit),
            step.target or "—",
            {True: "yes", False: "NO", None: "—"}[step.met],
        ))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    right = {1, 2}

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]
    out += [f"[{i}] {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(out)


def met(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def results_document(steps: list[Step], *, size: dict, details: dict, memory: dict,
                     started_at: str, finished_at: str) -> dict:
    """What bench/results.json holds (schema 1)."""
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
        "targets_met": all(s.met for s in steps if s.met is not None),
    }


RESULTS_KEYS = {"schema", "started_at", "finished_at", "machine", "source", "size", "steps", "memory", "details",
                "targets_met"}
STEP_KEYS = {f for f in Step.__dataclass_fields__}


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

    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = None
    return {"cpus": os.cpu_count(), "memory_gb": round(memory / GB, 1) if memory else None,
            "python": platform.python_version(), "duckdb": duckdb.__version__, "platform": platform.platform()}


def source() -> dict:
    """Which code was measured: the git commit of the tree holding this package, and its
    uncommitted changes to code, notebooks and templates (None outside a git work tree)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = (git("rev-parse", "HEAD") or "").strip() or None
    changed = git("status", "--porcelain", "--", "scorecard", "notebooks", "_quarto.yml") if commit else None
    return {"path": str(root), "commit": commit,
            "uncommitted": [line[3:] for line in changed.splitlines() if line.strip()] if changed else []}


_MEDIAN_CALL = re.compile(r"\b(median|quantile_cont|quantile_disc|quantile)\s*\(", re.IGNORECASE)


def kpi_median_count() -> int:
    """How many medians (quantiles) the KPI SQL in scorecard.kpis computes per group."""
    from . import kpis

    return sum(len(_MEDIAN_CALL.findall(value)) for name, value in vars(kpis).items()
               if name.isupper() and isinstance(value, str))


# durations the floor takes medians of, in order; cycled if the KPI SQL ever has more medians
_FLOOR_MEDIANS = [
    "epoch(first_response_at - created_at)",
    "epoch(resolved_at - created_at)",
    "handle_time_s",
]


def floor_sql(medians: int) -> str:
    """The floor: one bare GROUP BY month × unit over interactions, `medians` medians + count(*)."""
    cols = ", ".join(f"median({_FLOOR_MEDIANS[i % len(_FLOOR_MEDIANS)]}) AS m{i + 1}" for i in range(medians))
    return (f"SELECT date_trunc('month', created_at) AS month, unit_id, count(*) AS n"
            f"{', ' + cols if cols else ''} FROM interactions GROUP BY ALL")


@dataclass
class Event:
    t: float
    message: str


def phases(events: list[Event], start: float, end: float, marks: list[tuple[str, str]]) -> dict[str, float | None]:
    """Split [start, end] at the LAST message starting with each mark's prefix, in order.

    marks: (phase name, prefix of the message that ends the phase). A phase whose mark is
    missing gets None, and the next phase starts from the last mark found."""
    out: dict[str, float | None] = {}
    previous = start
    for name, prefix in marks:
        hits = [e.t for e in events if e.message.startswith(prefix) and start <= e.t <= end]
        if not hits:
            out[name] = None
            continue
        out[name] = max(hits) - previous
        previous = max(hits)
    out["rest"] = end - previous
    return out


def publish_breakdown(events: list[Event], start: float, end: float) -> dict:
    """Where a publish's time went, from its progress messages."""
    def first(prefix: str) -> float | None:
        hits = [e.t for e in events if e.message.startswith(prefix) and start <= e.t <= end]
        return min(hits) if hits else None

    t_exec, t_render = first("executing "), first("rendering ")
    rendered = [e for e in events if e.message.startswith("rendered ") and start <= e.t <= end]
    t_rendered = max((e.t for e in rendered), default=t_render)
    html = pdf = 0.0
    for e in rendered:
        m = re.search(r"html ([\d.]+) s, pdf ([\d.]+) s", e.message)
        if m:
            html += float(m.group(1))
            pdf += float(m.group(2))
    notebooks = None
    if t_exec is not None:
        m = re.match(r"executing (\d+)", next(e.message for e in events if e.t == t_exec))
        notebooks = int(m.group(1)) if m else None
    out = {
        "before_execute_s": None if t_exec is None else t_exec - start,
        "execute_s": None if t_exec is None or t_render is None else t_render - t_exec,
        "render_s": None if t_render is None else t_rendered - t_render,
        "after_render_s": None if t_render is None else end - t_rendered,
        "notebooks": notebooks,
        "pages_rendered": len(rendered),
        "render_html_thread_s": round(html, 2),
        "render_pdf_thread_s": round(pdf, 2),
    }
    if notebooks and out["execute_s"]:
        out["execute_s_per_notebook"] = out["execute_s"] / notebooks
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


# ----------------------------------------------------------------------------- measuring

class Log:
    """Timestamped progress lines on stderr; keeps every message with its time for the phases.
    Per-notebook messages are printed at most every few seconds (all are kept)."""

    CHATTY = ("executed ", "rendered ")

    def __init__(self, stream=sys.stderr, every: float = 5.0):
        self.start = time.perf_counter()
        self.events: list[Event] = []
        self.stream = stream
        self.every = every
        self._last_chatty = 0.0

    def __call__(self, message: str) -> None:
        now = time.perf_counter()
        self.events.append(Event(now, message))
        if message.startswith(self.CHATTY):
            if now - self._last_chatty < self.every:
                return
            self._last_chatty = now
        print(f"[{now - self.start:7.1f}s] {message}", file=self.stream, flush=True)

    def step(self, message: str) -> None:
        self(f"== {message}")


def _descendants(table: dict[int, tuple[int, int]], root: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for pid, (ppid, _ticks) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += kids.get(pid, [])
    return out


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU clock ticks of the process and its reaped children)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
            # the command name may hold spaces and parentheses: fields start after the last ')'
            fields = stat[stat.rindex(b")") + 2:].split()
            table[int(entry)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))  # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            continue
    return table


def _pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:  # no smaps_rollup: resident set size
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (all cores) since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class StepUsage:
    """What one step of the run used, sampled: memory of our process tree, CPU of ours and others'."""

    peak_bytes: int = 0
    peak_processes: int = 0
    wall_s: float = 0.0
    our_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0

    def as_dict(self) -> dict:
        others = max(0.0, self.machine_cpu_s - self.our_cpu_s)
        wall = self.wall_s or 1.0
        return {"peak_pss_bytes": self.peak_bytes, "peak_processes": self.peak_processes,
                "wall_s": round(self.wall_s, 1), "our_cores": round(self.our_cpu_s / wall, 2),
                "other_processes_cores": round(others / wall, 2)}


class Sampler:
    """Every `interval` s: the summed PSS of this process and all its descendants (notebook
    workers, kernels, Chromium), and CPU time, ours (tree, reaped children included) and the
    whole machine's, so each step can say how much CPU other processes took meanwhile."""

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.available = Path("/proc/self/stat").exists() and Path("/proc/stat").exists()
        self.steps: dict[str, StepUsage] = {}
        self._step = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._last: tuple[float, float, float] | None = None  # wall, our cpu, machine cpu

    def __enter__(self) -> "Sampler":
        if self.available:
            self._last = self._cpu()
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.available:
            self._thread.join()
            self.sample()

    @property
    def step(self) -> str:
        return self._step

    @step.setter
    def step(self, name: str) -> None:
        if self.available:
            self.sample()  # close the previous step
        with self._lock:
            self._step = name

    def _cpu(self) -> tuple[float, float, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        table = _process_table()
        me = os.getpid()
        ours = sum(table[p][1] for p in _descendants(table, me) if p != me and p in table) / ticks
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            ours += usage.ru_utime + usage.ru_stime
        return time.perf_counter(), ours, _machine_busy_s()

    def sample(self) -> None:
        with self._lock:
            table = _process_table()
            pids = _descendants(table, os.getpid())
            total = sum(_pss_bytes(p) for p in pids)
            usage = self.steps.setdefault(self._step, StepUsage())
            if total > usage.peak_bytes:
                usage.peak_bytes, usage.peak_processes = total, len(pids)
            now = self._cpu()
            if self._last is not None:
                usage.wall_s += now[0] - self._last[0]
                usage.our_cpu_s += max(0.0, now[1] - self._last[1])
                usage.machine_cpu_s += max(0.0, now[2] - self._last[2])
            self._last = now

    @property
    def peak(self) -> tuple[int, str, int]:
        """(bytes, step, processes) of the highest sample."""
        step, usage = max(self.steps.items(), key=lambda kv: kv[1].peak_bytes, default=("", StepUsage()))
        return usage.peak_bytes, step, usage.peak_processes

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def rusage_memory() -> dict:
    """ru_maxrss (kB on Linux) of this process and of its largest waited-for descendant."""
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"self_maxrss_bytes": self_kb * 1024, "children_maxrss_bytes": children_kb * 1024}


def timed(fn: Callable, *args, **kwargs):
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - t0, result


# ----------------------------------------------------------------------------- the run

# the demo configuration (what `scorecard demo` writes beside the demo data)
DEMO_CONFIG = Path(__file__).with_name("demo_config.yml")

@dataclass
class Options:
    interactions: int = FULL_INTERACTIONS
    small: bool = False
    months: int = MONTHS
    teams: int = TEAMS
    seed: int = SEED
    work: Path = Path("bench/work")
    results: Path = Path("bench/results.json")
    config: Path = DEMO_CONFIG
    first_periods: int | None = None  # None: every complete period but the newest
    repeats: int = 3
    renderer: str | None = None
    workers: int | None = None
    regenerate: bool = False
    publish: bool = True


def generate_data(opts: Options, data: Path, log: Log) -> tuple[float | None, dict[str, int]]:
    """Demo data into `data`, reused when a stamp says it already holds this seed and size."""
    from .demo import generate

    stamp = data / "bench-stamp.json"
    wanted = {"interactions": opts.interactions, "months": opts.months, "teams": opts.teams, "seed": opts.seed,
              "end_month": END_MONTH}
    if not opts.regenerate and stamp.exists():
        saved = json.loads(stamp.read_text())
        if saved.get("params") == wanted:
            log(f"reusing the demo data in {data} (same seed and size; --regenerate to write it again)")
            return None, saved["rows"]
    if data.exists():
        shutil.rmtree(data)
    log(f"generating {opts.interactions:,} interactions, {opts.months} months, {opts.teams} teams into {data}")
    seconds, rows = timed(generate, data, interactions=opts.interactions, seed=opts.seed, end_month=END_MONTH,
                          months=opts.months, teams=opts.teams, progress=log)
    stamp.write_text(json.dumps({"params": wanted, "rows": rows}))
    return seconds, rows


def run(opts: Options, log: Log | None = None) -> dict:
    import duckdb

    from .config import load_config
    from .warehouse import build, recompute

    log = log or Log()
    started_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    work = opts.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data, database, site, reports = work / "data", work / "scorecard.duckdb", work / "site", work / "reports"
    base = load_config(opts.config)
    config = base.model_copy(update={"data": data, "database": database, "site": site, "reports": reports,
                                     "cutoff": None})
    steps: list[Step] = []
    details: dict = {}

    with Sampler() as tree:
        # 1. demo data ---------------------------------------------------------------------
        tree.step = "generate"
        log.step("1/5 demo data")
        seconds, rows = generate_data(opts, data, log)
        total_rows = sum(rows.values())
        steps.append(Step("generate", f"generate demo data ({total_rows:,} rows)", seconds,
                          total_rows / seconds if seconds else None, "rows/s",
                          note="" if seconds else "reused from an earlier run (same seed and size); not timed"))
        details["rows"] = rows

        # 2. build: load, validate, compute ------------------------------------------------
        tree.step = "build"
        log.step("2/5 build: load + validate + compute (warehouse.build)")
        t0 = time.perf_counter()
        summary = build(config, data_dir=data, database=database, progress=log)
        t1 = time.perf_counter()
        log(summary.line())
        loaded = sum(summary.loaded.values())
        split = phases(log.events, t0, t1, [("load", "read "), ("validate", "validated "),
                                            ("compute", "computed scores")])
        details["build"] = {"seconds": round(t1 - t0, 3), "rows_loaded": loaded,
                            "quarantined": sum(summary.quarantined.values()),
                            "periods": summary.periods, "complete_periods": summary.complete_periods,
                            "units": summary.units, **{f"{k}_s": _r(v) for k, v in split.items()}}
        load_s, validate_s = split["load"], split["validate"]
        lv = None if load_s is None or validate_s is None else load_s + validate_s
        steps += [
            Step("load", "load (CSV → raw tables)", load_s, _per(loaded, load_s), "rows/s"),
            Step("validate", "validate (raw → clean + quarantine)", validate_s, _per(loaded, validate_s), "rows/s"),
            Step("load_validate", f"load + validate ({loaded:,} rows)", lv, _per(loaded, lv), "rows/s"),
            Step("build", "build total (load + validate + compute + checkpoint)", t1 - t0, _per(loaded, t1 - t0),
                 "rows/s"),
        ]

        # 3. compute vs floor ----------------------------------------------------------------
        tree.step = "compute"
        medians = kpi_median_count()
        log.step(f"3/5 compute (warehouse.recompute) vs floor (GROUP BY month × unit, {medians} medians + count), "
                 f"best of {opts.repeats}")
        compute_runs, floor_runs = [], []
        sql = floor_sql(medians)
        for i in range(opts.repeats):
            seconds, _ = timed(recompute, config, database=database, progress=log)
            compute_runs.append(seconds)
            with duckdb.connect(str(database), read_only=True) as con:
                seconds, groups = timed(lambda: con.execute(sql).fetchall())
            floor_runs.append(seconds)
            log(f"run {i + 1}: compute {compute_runs[-1]:.2f} s, floor {floor_runs[-1]:.2f} s ({len(groups)} groups)")
        compute_s, floor_s = min(compute_runs), min(floor_runs)
        ratio = compute_s / floor_s if floor_s else None
        n_periods, n_units = summary.periods, summary.units
        steps += [
            Step("compute", f"compute all KPIs ({n_periods} periods × {n_units} units)", compute_s, ratio, "× floor",
                 f"≤ {COMPUTE_RATIO_TARGET:g}× floor", met(ratio, COMPUTE_RATIO_TARGET),
                 note=f"warehouse.recompute (measures, scores, analysis tables), best of {opts.repeats}: "
                      + ", ".join(f"{s:.2f}" for s in compute_runs) + " s"),
            Step("floor", f"floor: GROUP BY month × unit, {medians} medians + count(*)", floor_s, None, "",
                 note=f"bare DuckDB over the same interactions table, best of {opts.repeats}: "
                      + ", ".join(f"{s:.2f}" for s in floor_runs) + f" s; {len(groups)} groups; SQL: {sql}"),
        ]
        details["compute"] = {"runs_s": [_r(s) for s in compute_runs], "floor_runs_s": [_r(s) for s in floor_runs],
                              "floor_sql": sql, "medians": medians, "floor_groups": len(groups)}

        # 4. publish ---------------------------------------------------------------------
        if opts.publish:
            steps += publish_steps(opts, config, log, tree, details)

    memory = rusage_memory()
    tree_peak, peak_step, peak_processes = tree.peak
    memory.update({"tree_peak_pss_bytes": tree_peak, "tree_peak_processes": peak_processes,
                   "tree_peak_step": peak_step, "tree_sampled": tree.available,
                   "steps": {name: usage.as_dict() for name, usage in tree.steps.items() if name}})
    # RUSAGE_CHILDREN is left out of the peak: on Linux a child started by fork + exec inherits
    # the parent's high-water mark, so after the build every worker and kernel reports at least
    # the build's RSS, whatever it used itself.
    peak = max(tree_peak, memory["self_maxrss_bytes"])
    memory["peak_bytes"] = peak
    per_step = ", ".join(f"{name} {u.peak_bytes / GB:.2f}" for name, u in tree.steps.items() if name)
    memory_note = (f"max of (a) the summed PSS of the whole process tree (this process + notebook workers + kernels "
                   f"+ Chromium), sampled every 0.5 s: {tree_peak / GB:.2f} GB, in step '{peak_step}' "
                   f"({peak_processes} processes; per step GB: {per_step}) and (b) getrusage RUSAGE_SELF ru_maxrss "
                   f"(this process: DuckDB builds and computes in it) {memory['self_maxrss_bytes'] / GB:.2f} GB. "
                   f"RUSAGE_CHILDREN ru_maxrss {memory['children_maxrss_bytes'] / GB:.2f} GB is not used: a child "
                   f"started by fork + exec inherits the parent's high-water mark on Linux")
    at_full = opts.interactions >= FULL_INTERACTIONS
    steps.append(Step("memory", "peak memory of the run", None, peak / GB, "GB",
                      f"≤ {MEMORY_TARGET_GB:g} GB" + ("" if at_full else " (at 10M)"),
                      met(peak / GB, MEMORY_TARGET_GB), note=memory_note))
    size = {"interactions": opts.interactions, "months": opts.months, "teams": opts.teams, "seed": opts.seed,
            "end_month": END_MONTH, "small": opts.small, "units": n_units, "periods": n_periods}
    finished_at = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return results_document(steps, size=size, details=details, memory=memory, started_at=started_at,
                            finished_at=finished_at)


def publish_steps(opts: Options, config, log: Log, tree: Sampler, details: dict) -> list[Step]:
    import duckdb

    from .publish import publish
    from .render import get_renderer
    from .warehouse import recompute

    renderer = get_renderer(opts.renderer).name
    for path in (config.site, config.reports):
        if path.exists():
            shutil.rmtree(path)
    # a fresh site on purpose: forget the one an earlier bench published there
    from .publish.site import record_path
    from .runlock import state_dir_for
    record_path(config.site, state_dir_for(config)).unlink(missing_ok=True)
    with duckdb.connect(str(config.database), read_only=True) as con:
        complete = [p for (p,) in con.execute("SELECT period FROM periods WHERE complete ORDER BY period").fetchall()]
        n_units = con.execute("SELECT count(*) FROM org_units").fetchone()[0]
    if len(complete) < 2:
        raise SystemExit("bench: the data needs at least two complete periods")
    newest = complete[-1]
    earlier = complete[:-1]
    # the newest period's data "has not arrived yet": the cut-off at its first day leaves it incomplete
    cut = config.model_copy(update={"cutoff": datetime.fromisoformat(newest + "-01")})
    subset = opts.first_periods is not None and opts.first_periods < len(earlier)
    first = earlier[-opts.first_periods:] if subset else earlier
    out: list[Step] = []

    def one(key: str, cfg, period: str | None) -> tuple[float, dict]:
        t0 = time.perf_counter()
        summary = publish(cfg, period=period, renderer=opts.renderer, workers=opts.workers, progress=log)
        t1 = time.perf_counter()
        log(f"{summary.line()} ({t1 - t0:.1f} s)")
        breakdown = publish_breakdown(log.events, t0, t1)
        breakdown["seconds"] = round(t1 - t0, 3)
        breakdown["published"] = [f"{p.period} r{p.revision}" for p in summary.published]
        details.setdefault("publish", {}).setdefault(key, []).append(breakdown)
        return t1 - t0, breakdown

    tree.step = "first publish"
    log.step(f"4/5 first publish: {len(first)} period(s) {first[0]} .. {first[-1]} × {n_units} units, "
             f"{renderer} renderer, fresh site")
    rs, _ = timed(recompute, cut, progress=log)
    details["recompute_with_cutoff_s"] = _r(rs)
    log(f"recomputed with cutoff {cut.cutoff:%Y-%m-%d} ({rs:.1f} s, not counted)")
    if subset:
        seconds = 0.0
        for p in first:
            s, _ = one("first", cut, p)
            seconds += s
        how = (f"SUBSET: the last {len(first)} of {len(earlier)} complete periods, published one PERIOD= at a time "
               f"(so the 4 site pages run {len(first)} times); --first-periods all for every period")
    else:
        seconds, _ = one("first", cut, None)
        how = f"every complete period but the newest ({len(first)}), one publish"
    reports = len(first) * n_units
    out.append(Step("first_publish", f"first publish ({len(first)} periods × {n_units} units)", seconds,
                    seconds / reports, "s/unit", note=how + f"; {renderer} renderer, HTML + PDF per unit"))

    tree.step = "monthly publish"
    log.step(f"5/5 monthly publish of {newest} ({n_units} units), then a re-publish with nothing changed")
    rs, _ = timed(recompute, config, progress=log)
    details["recompute_without_cutoff_s"] = _r(rs)
    log(f"recomputed without the cutoff: {newest} complete ({rs:.1f} s, not counted: a new month rebuilds the "
        f"database first, see 'build total')")
    period = newest if subset else None  # without PERIOD= the subset run would publish the older periods too
    seconds, breakdown = one("monthly", config, period)
    per_unit = seconds / n_units
    out.append(Step("monthly_publish", f"monthly publish (1 period × {n_units} units)", seconds, per_unit, "s/unit",
                    f"≤ {MONTHLY_PER_UNIT_TARGET:g} s/unit (30 s at 30)", met(per_unit, MONTHLY_PER_UNIT_TARGET),
                    note=_breakdown_note(breakdown) + (" (PERIOD=" + newest + ")" if subset else "")))

    tree.step = "re-publish"
    seconds, breakdown = one("republish", config, period)
    out.append(Step("republish", "re-publish, nothing changed", seconds, None, "", f"≤ {REPUBLISH_TARGET:g} s",
                    met(seconds, REPUBLISH_TARGET)))
    details["renderer"] = renderer
    details["first_publish_periods"] = first
    details["first_publish_subset"] = subset
    return out


def _breakdown_note(b: dict) -> str:
    parts = []
    if b.get("notebooks") and b.get("execute_s") is not None:
        parts.append(f"execute {b['notebooks']} notebooks {b['execute_s']:.1f} s "
                     f"({b['execute_s'] / b['notebooks']:.2f} s each, wall)")
    if b.get("render_s") is not None:
        parts.append(f"render {b['pages_rendered']} pages {b['render_s']:.1f} s (thread time html "
                     f"{b['render_html_thread_s']:.1f} s, pdf {b['render_pdf_thread_s']:.1f} s)")
    if b.get("before_execute_s") is not None:
        parts.append(f"before execution {b['before_execute_s']:.1f} s")
    if b.get("after_render_s") is not None:
        parts.append(f"after rendering {b['after_render_s']:.1f} s")
    return "; ".join(parts)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _per(count: int, seconds: float | None) -> float | None:
    return count / seconds if seconds else None


# ----------------------------------------------------------------------------- command line

def parse_args(argv: list[str] | None = None) -> Options:
    p = argparse.ArgumentParser(prog="python -m scorecard.bench", description=__doc__.splitlines()[0])
    p.add_argument("--interactions", type=int, default=None, help=f"interactions to generate (default {FULL_INTERACTIONS:,})")
    p.add_argument("--small", action="store_true", help=f"a quick run: {SMALL_INTERACTIONS:,} interactions")
    p.add_argument("--months", type=int, default=MONTHS, help=f"complete months of history (default {MONTHS})")
    p.add_argument("--teams", type=int, default=TEAMS, help=f"leaf teams (default {TEAMS})")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--work", type=Path, default=Path("bench/work"), help="work folder (default bench/work)")
    p.add_argument("--results", type=Path, default=None,
                   help="default bench/results.json (bench/results-small.json with --small)")
    p.add_argument("--config", type=Path, default=DEMO_CONFIG, help="targets etc. (default: the demo's configuration)")
    p.add_argument("--first-periods", default=None,
                   help="periods in the first publish: 'all' (every complete period but the newest; the default, "
                        f"about 15 min at 10M on 2 cores) or N (the last N of them, one PERIOD= publish each; "
                        f"default {SMALL_FIRST_PERIODS} with --small)")
    p.add_argument("--repeats", type=int, default=3, help="compute and floor runs, best taken (default 3)")
    p.add_argument("--renderer", choices=["builtin", "quarto"], help="rendering back end (default as `make publish`)")
    p.add_argument("--workers", type=int, help="notebook workers (default one per core)")
    p.add_argument("--regenerate", action="store_true", help="write the demo data even if the work folder has it")
    p.add_argument("--no-publish", dest="publish", action="store_false", help="stop after compute")
    a = p.parse_args(argv)
    if a.interactions is not None and a.small:
        p.error("give --small or --interactions, not both")
    interactions = SMALL_INTERACTIONS if a.small else (a.interactions or FULL_INTERACTIONS)
    if a.first_periods is None:
        first = SMALL_FIRST_PERIODS if a.small else None
    elif a.first_periods == "all":
        first = None
    elif a.first_periods.isdigit() and int(a.first_periods) > 0:
        first = int(a.first_periods)
    else:
        p.error("--first-periods: 'all' or a positive number")
    return Options(interactions=interactions, small=a.small, months=a.months, teams=a.teams, seed=a.seed,
                   work=a.work, config=a.config, first_periods=first,
                   results=a.results or Path("bench/results-small.json" if a.small else "bench/results.json"),
                   repeats=max(1, a.repeats), renderer=a.renderer, workers=a.workers, regenerate=a.regenerate,
                   publish=a.publish)


def report(doc: dict) -> str:
    s = doc["size"]
    head = (f"scorecard bench: {s['interactions']:,} interactions, {s['months']} months, {s['teams']} leaf teams "
            f"({s['units']} units), seed {s['seed']}; {doc['machine']['cpus']} cores, "
            f"{doc['machine']['memory_gb']} GB, duckdb {doc['machine']['duckdb']}")
    return head + "\n\n" + format_table(Step(**st) for st in doc["steps"]) + "\n" + machine_load(doc)


def machine_load(doc: dict) -> str:
    """Per step: CPU cores this benchmark used and cores taken by OTHER processes meanwhile."""
    steps = doc["memory"].get("steps") or {}
    if not steps:
        return ""
    cells = [f"{name} {u['our_cores']:.1f}/{u['other_processes_cores']:.1f}" for name, u in steps.items()]
    line = "CPU cores used by this run / by other processes, per step: " + ", ".join(cells)
    # a step of a second or two says little: one busy sample elsewhere dominates it
    busiest = max((u["other_processes_cores"] for u in steps.values() if u.get("wall_s", 60) >= 10), default=0.0)
    if busiest >= 0.25:
        line += (f"\nWARNING: other processes took up to {busiest:.1f} of {doc['machine']['cpus']} cores during "
                 f"the run: the timings above are inflated by that much contention")
    return line


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    from .errors import ScorecardError

    log = Log()
    try:
        doc = run(opts, log)
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
