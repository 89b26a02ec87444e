"""The `scorecard` command: check a data folder, build the warehouse, compute, export, publish,
make demo data.

Every expected failure is a ScorecardError, printed as one message with its exit code:
2 for input data, 3 for configuration, 4 for publishing (and another run holding the lock);
a refusal of the file system (disk full, read-only, permission denied, busy) exits 6 with the
path and the cause (failures.py). `--debug` adds the traceback. Which configuration a command uses
is configsource.choose's rule: --config, else the data folder's scorecard.yml, else defaults.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .progress import ProgressBars

DEFAULT_CONFIG = "scorecard.yml"  # looked for in the data folder (configsource.CONFIG_NAME)
FULL = ("--full", "--rebuild")
FULL_HELP = "load every input table again (default: only what changed since the database was built)"


class Progress:
    """Timestamped progress lines on stderr, so long steps are visibly moving; on a terminal,
    counted steps (notebooks, pages) and the load/validate/compute phases also show a progress
    bar (progress.ProgressBars). Not on a terminal (CI, a log file), the lines are all there is."""

    def __init__(self, quiet: bool = False, bars: bool | None = None):
        self.start = time.perf_counter()
        self.quiet = quiet
        if bars is None:
            bars = _terminal(sys.stderr)
        self.bars: ProgressBars | None = None
        if bars and not quiet:
            from .progress import ProgressBars

            self.bars = ProgressBars(self._line, sys.stderr)

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        if self.bars is not None:
            self.bars(message)
        else:
            self._line(message)

    def close(self) -> None:
        """Close an open progress bar (before the command's own output)."""
        if self.bars is not None:
            self.bars.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _line(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)


def _terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal that can show a bar (not TERM=dumb, not zero columns wide)."""
    try:
        return (
            stream.isatty() and os.environ.get("TERM") != "dumb" and os.get_terminal_size(stream.fileno()).columns > 0
        )
    except (OSError, ValueError):
        return False


def _chosen(args, progress: Progress | None = None):
    """The configuration for this command (see configsource) and, on progress, where it came from."""
    from .configsource import choose

    data = getattr(args, "data", None)
    recorded = None
    if args.config is None and data is None and hasattr(args, "db"):
        from .config import Config

        recorded = _recorded_data(args.db or Config().database)
    chosen = choose(args.config, data, recorded_data=recorded)
    if progress is not None:
        progress(f"configuration: {chosen.describe()}")
    return chosen


def _config(args, progress: Progress | None = None):
    return _chosen(args, progress).config


def _recorded_data(database: str | Path) -> str | None:
    """The input folder a database was built from (its configuration belongs to that data)."""
    import duckdb

    if not Path(database).is_file():
        return None
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'data_dir'").fetchone()
    except duckdb.Error:
        return None
    return row[0] if row else None


def cmd_demo(args) -> int:
    from .demo import generate

    with Progress(args.quiet) as progress:
        counts = generate(args.out, interactions=args.interactions, seed=args.seed, progress=progress, review=True)
    print(
        f"demo data in {args.out}: "
        + ", ".join(f"{t} {n:,}" for t, n in counts.items())
        + f"; its configuration: {Path(args.out) / 'scorecard.yml'}"
    )
    return 0


def cmd_init(args) -> int:
    from .starter import init

    path, written, lines = init(args.data)
    for line in lines:
        print(line)
    if written:
        print(f"wrote {path}: check it, then `scorecard check {args.data}` and `scorecard publish --data {args.data}`")
    else:
        print(f"{path} exists: left unchanged (move it away to write a new starter)", file=sys.stderr)
    return 0


def cmd_build(args) -> int:
    from .warehouse import build

    with Progress(args.quiet) as progress:
        config = _config(args, progress)
        summary = build(config, database=args.db, progress=progress, full=args.full)
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary.line())
    return 0


def cmd_compute(args) -> int:
    from .warehouse import recompute

    with Progress(args.quiet) as progress:
        config = _config(args, progress)
        summary = recompute(config, database=args.db, progress=progress)
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary.line())
    return 0


def cmd_export(args) -> int:
    from .export import write_scorecard_csv
    from .warehouse import connect

    config = _config(args)
    with connect(args.db or config.database) as con:
        rows = write_scorecard_csv(con, args.out, period=args.period)
    print(f"{rows:,} rows → {args.out}")
    return 0


def cmd_publish(args) -> int:
    from .publish import check_arguments, publish

    check_arguments(period=args.period or None, restate=args.restate or None, reason=args.reason)
    with Progress(args.quiet) as progress:
        config = _config(args, progress)
        overrides = {
            k: Path(v).resolve() for k, v in (("data", args.data), ("site", args.site), ("database", args.db)) if v
        }
        config = config.model_copy(update=overrides)
        if args.full:  # the publish then finds the database current
            from .warehouse import build

            build(config, progress=progress, full=True)
        summary = publish(
            config,
            period=args.period or None,
            restate=args.restate or None,
            reason=args.reason,
            renderer=args.renderer,
            workers=args.workers,
            progress=progress,
        )
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    print(summary.line())
    return 0


def cmd_check(args) -> int:
    from .check import check

    args.data = args.data or args.data_option
    chosen = _chosen(args)
    if args.site:
        chosen = replace(chosen, config=chosen.config.model_copy(update={"site": Path(args.site).resolve()}))
    print(f"Configuration: {chosen.describe()}", flush=True)  # also when the check then fails
    with Progress(args.quiet) as progress:
        report = check(chosen, progress=progress)
    print("\n".join(report.render().splitlines()[1:]))
    return report.exit_code


def cmd_quarantine(args) -> int:
    from .warehouse import connect

    config = _config(args)
    with connect(args.db or config.database) as con:
        rows = con.execute("""SELECT table_name, reason, count(*) FROM quarantine
                              GROUP BY ALL ORDER BY 1, 3 DESC, 2""").fetchall()
    if not rows:
        print("no rows quarantined")
    for table, reason, count in rows:
        print(f"{table:18} {count:>8,}  {reason}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scorecard", description=__doc__.splitlines()[0])
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("--debug", action="store_true", help="print the traceback of a failure")
    sub = p.add_subparsers(dest="command", required=True)

    def with_config(sp):
        sp.add_argument(
            "--config",
            help=f"configuration file (default: {DEFAULT_CONFIG} in the input folder "
            "if present, else the built-in defaults)",
        )
        sp.add_argument("--db", help="DuckDB database file (default: `database` in the configuration)")
        return sp

    sp = sub.add_parser("demo", help="write seeded demo input data and its scorecard.yml")
    sp.add_argument("--out", default="data/demo", help="folder to write (default: data/demo)")
    sp.add_argument("--interactions", type=int, default=60_000, help="number of interactions (default 60000)")
    sp.add_argument("--seed", type=int, default=7)
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser(
        "check", help="load and validate a data folder and say what a publish would do; publish nothing"
    )
    sp.add_argument("data", nargs="?", help="input folder (default: `data` in the configuration)")
    sp.add_argument("--data", dest="data_option", metavar="DATA", help="the same, as an option")
    sp.add_argument("--site", help="the site a publish would write (default: `site` in the configuration)")
    sp.add_argument(
        "--config",
        help=f"configuration file (default: {DEFAULT_CONFIG} in the input folder "
        "if present, else the built-in defaults)",
    )
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("init", help="look at a folder of exports and write a starter DATA/scorecard.yml")
    sp.add_argument("data", help="the folder of exports")
    sp.set_defaults(func=cmd_init)

    sp = with_config(sub.add_parser("build", help="load and validate the inputs, compute every KPI"))
    sp.add_argument("--data", help="input folder (default: `data` in the configuration)")
    sp.add_argument(*FULL, action="store_true", help=FULL_HELP)
    sp.set_defaults(func=cmd_build)

    sp = with_config(sub.add_parser("compute", help="recompute results in a built database (after changing targets)"))
    sp.add_argument(
        "--data", help="input folder whose scorecard.yml to use (default: the folder the database was built from)"
    )
    sp.set_defaults(func=cmd_compute)

    sp = with_config(sub.add_parser("export", help="write the long-format scorecard.csv"))
    sp.add_argument("--out", default="scorecard.csv", help="output file (default: scorecard.csv)")
    sp.add_argument("--period", help="one period YYYY-MM (default: all)")
    sp.set_defaults(func=cmd_export)

    sp = with_config(sub.add_parser("publish", help="build, execute the notebooks and render the site and PDFs"))
    sp.add_argument("--data", help="input folder (default: `data` in the configuration)")
    sp.add_argument("--site", help="site folder (default: `site` in the configuration)")
    sp.add_argument("--period", help="publish this period YYYY-MM (an incomplete one as provisional)")
    sp.add_argument("--restate", metavar="PERIOD", help="publish a new revision of a published period")
    sp.add_argument("--reason", help="why the period is restated (required with --restate)")
    sp.add_argument(
        "--renderer",
        choices=["quarto", "builtin"],
        help="rendering back end (default: $RENDERER, else quarto when installed, else builtin)",
    )
    sp.add_argument("--workers", type=int, help="notebook workers (default: one per core)")
    sp.add_argument(*FULL, action="store_true", help=FULL_HELP)
    sp.set_defaults(func=cmd_publish)

    sp = with_config(sub.add_parser("quarantine", help="count the rows set aside, per table and reason"))
    sp.set_defaults(func=cmd_quarantine)
    return p


def main(argv: list[str] | None = None) -> int:
    from .failures import explain

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        failure = explain(exc)
        if failure is None:
            raise
        if args.debug:
            import traceback

            traceback.print_exc()
        message, code = failure
        print(f"error: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
