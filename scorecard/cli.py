"""The `scorecard` command: build the warehouse, compute, export, publish, make demo data.

Every expected failure is a ScorecardError, printed as one message with its exit code:
2 for input data, 3 for configuration, 4 for publishing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import ScorecardError

DEFAULT_CONFIG = "scorecard.yml"


class Progress:
    """Timestamped progress lines on stderr, so long steps are visibly moving."""

    def __init__(self, quiet: bool = False):
        self.start = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)


def _config(args):
    from .config import load_config

    path = args.config
    if path is None and Path(DEFAULT_CONFIG).exists():
        path = DEFAULT_CONFIG
    return load_config(path)


def cmd_demo(args) -> int:
    from .demo import generate

    counts = generate(args.out, interactions=args.interactions, seed=args.seed, progress=Progress(args.quiet),
                      review=True)
    print(f"demo data in {args.out}: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    return 0


def cmd_build(args) -> int:
    from .warehouse import build

    config = _config(args)
    summary = build(config, data_dir=args.data, database=args.db, progress=Progress(args.quiet))
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary.line())
    return 0


def cmd_compute(args) -> int:
    from .warehouse import recompute

    config = _config(args)
    summary = recompute(config, database=args.db, progress=Progress(args.quiet))
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
    from .publish import publish

    config = _config(args)
    overrides = {k: Path(v).resolve() for k, v in (("data", args.data), ("site", args.site), ("database", args.db)) if v}
    config = config.model_copy(update=overrides)
    summary = publish(config, period=args.period or None, restate=args.restate or None, reason=args.reason,
                      renderer=args.renderer, workers=args.workers, progress=Progress(args.quiet))
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    print(summary.line())
    return 0


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
    sub = p.add_subparsers(dest="command", required=True)

    def with_config(sp):
        sp.add_argument("--config", help=f"configuration file (default: ./{DEFAULT_CONFIG} if present)")
        sp.add_argument("--db", help="DuckDB database file (default: `database` in the configuration)")
        return sp

    sp = sub.add_parser("demo", help="write seeded demo input data")
    sp.add_argument("--out", default="data/demo", help="folder to write (default: data/demo)")
    sp.add_argument("--interactions", type=int, default=60_000, help="number of interactions (default 60000)")
    sp.add_argument("--seed", type=int, default=7)
    sp.set_defaults(func=cmd_demo)

    sp = with_config(sub.add_parser("build", help="load and validate the inputs, compute every KPI"))
    sp.add_argument("--data", help="input folder (default: `data` in the configuration)")
    sp.set_defaults(func=cmd_build)

    sp = with_config(sub.add_parser("compute", help="recompute results in a built database (after changing targets)"))
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
    sp.add_argument("--renderer", choices=["quarto", "builtin"],
                    help="rendering back end (default: $RENDERER, else quarto when installed, else builtin)")
    sp.add_argument("--workers", type=int, help="notebook workers (default: one per core)")
    sp.set_defaults(func=cmd_publish)

    sp = with_config(sub.add_parser("quarantine", help="count the rows set aside, per table and reason"))
    sp.set_defaults(func=cmd_quarantine)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ScorecardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
