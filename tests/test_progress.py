"""Progress lines and bars: plain timestamped lines when stderr is no terminal, bars on one."""

from __future__ import annotations

import io
import re
import time

from scorecard.cli import Progress
from scorecard.progress import Event, ProgressBars, event


def test_lines_without_a_terminal_are_timestamped_and_unchanged(capsys):
    progress = Progress(bars=False)
    progress("configuration: defaults")
    progress(Event("executed 1/2: unit a (0.5 s)", "execute", 0.5, 1, "notebook"))
    lines = capsys.readouterr().err.splitlines()
    assert [re.sub(r"^\[ *\d+\.\ds\] ", "", line) for line in lines] == [
        "configuration: defaults",
        "executed 1/2: unit a (0.5 s)",
    ]
    assert all(re.match(r"^\[ {0,5}\d+\.\ds\] ", line) for line in lines)


def test_quiet_prints_nothing(capsys):
    progress = Progress(quiet=True, bars=True)
    progress("configuration: defaults")
    assert capsys.readouterr().err == ""


def test_counted_steps_become_a_bar_instead_of_a_line_each():
    written: list[str] = []
    stream = io.StringIO()
    bars = ProgressBars(written.append, stream)
    bars("executing 3 notebooks")
    for k in range(1, 4):
        bars(Event(f"executed {k}/3: unit {k} of 2026-01 ({k}.0 s)", "execute", float(k), 1, "notebook"))
    bars(event("execute", "executed 3 notebooks on 2 workers", time.perf_counter(), 3, "total", unit="notebooks"))
    bars("rendering 2 pages with the builtin renderer")
    bars("rendered index.ipynb (html+pdf: html 0.10 s, pdf 0.20 s)")
    bars("rendered unit.ipynb (html: html 0.10 s, pdf 0.00 s)")
    bars("site published into place: _site")
    bars.close()
    assert written[0] == "executing 3 notebooks"
    assert written[1].startswith("executed 3 notebooks on 2 workers")
    assert written[2:] == ["rendering 2 pages with the builtin renderer", "site published into place: _site"]
    shown = stream.getvalue()
    assert "execute: 100%" in shown and "3/3 notebooks" in shown
    assert "render: 100%" in shown and "2/2 pages" in shown and "unit.ipynb" in shown


def test_phase_lines_print_above_a_running_bar():
    written: list[str] = []
    stream = io.StringIO()
    bars = ProgressBars(written.append, stream)
    started = time.perf_counter()
    bars(event("load", "read interactions.csv: 1,000 rows", started, 1000))
    bars(event("load", "read org_units.csv: 5 rows", started, 5))
    bars(event("validate", "validated interactions", started, 1000))
    bars("warning: something")
    bars.close()
    assert [w.split(" (")[0] for w in written] == [
        "read interactions.csv: 1,000 rows",
        "read org_units.csv: 5 rows",
        "validated interactions",
        "warning: something",
    ]
    assert "load: 2 steps" in stream.getvalue() and "validate: 1 steps" in stream.getvalue()
