"""Progress events: what a long step reports, readable by people and by programs.

An Event is the progress line itself (a str, so every progress callback prints or stores it as
before) that also carries its phase, the seconds the piece of work took and the rows it handled.
The command line prints them; the benchmark adds up the seconds per phase, so neither parses text.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

# What every long step takes as its `progress` parameter: called with each line (an Event or a
# plain str); the command line prints it, the benchmark records it.
ProgressCallback = Callable[[str], None]

# Phases of a build and of a publish, in order.
PHASES = ("load", "validate", "compute", "execute", "render")


class Event(str):
    """A progress line with `phase`, `seconds` (None: a marker, not a piece of work) and `rows`."""

    phase: str
    seconds: float | None
    rows: int | None
    step: str

    def __new__(
        cls, message: str, phase: str, seconds: float | None = None, rows: int | None = None, step: str = ""
    ) -> Event:
        event = super().__new__(cls, message)
        event.phase, event.seconds, event.rows, event.step = phase, seconds, rows, step
        return event


def event(
    phase: str, message: str, started: float, rows: int | None = None, step: str = "", unit: str = "rows"
) -> Event:
    """An Event for the work since `started` (time.perf_counter()); the seconds and the rate (in
    `unit` per second) are appended to the message."""
    seconds = time.perf_counter() - started
    rate = f", {rows / seconds:,.{0 if unit == 'rows' else 1}f} {unit}/s" if rows and seconds > 0 else ""
    return Event(f"{message} ({seconds:.1f} s{rate})", phase, seconds, rows, step)


def phase_seconds(events, phase: str, step: str | None = None) -> float | None:
    """Seconds the events of `phase` (and of `step` within it, if given) add up to; None without any."""
    found = [
        e.seconds
        for e in events
        if isinstance(e, Event) and e.phase == phase and e.seconds is not None and (step is None or e.step == step)
    ]
    return sum(found) if found else None


# --- progress bars on a terminal ---------------------------------------------------------------

# The publish announces its counted steps with these lines ("executing 38 notebooks", "rendering
# 40 pages with the builtin renderer"); each notebook is then an "execute" Event of step
# "notebook" and each page a "rendered PAGE (...)" line.
COUNTED = re.compile(r"^(executing|rendering) (\d+) (notebooks|pages)\b")
RENDERED = "rendered "
PHASE_OF = {"executing": "execute", "rendering": "render"}
LIVE_PHASES = ("load", "validate", "compute")  # shown as a running bar while their lines print


class ProgressBars:
    """The progress of a command on a terminal: counted steps (notebook execution, page
    rendering) as a bar with the count and the time left instead of one line per item, and the
    load, validate and compute phases as a bar whose elapsed time keeps running while one long
    piece of work (a large file) is under way. Every other line is printed above the bars by
    `write` (the caller's timestamped line)."""

    def __init__(self, write: Callable[[str], None], stream: TextIO) -> None:
        self.write = write
        self.stream = stream
        self.bar: Any = None  # the open tqdm bar
        self.counted = False  # the open bar counts items of a known total
        self.lock = threading.Lock()
        self.ticking: threading.Event | None = None

    def __call__(self, message: str) -> None:
        with self.lock:
            self._show(message)

    def close(self) -> None:
        with self.lock:
            self._close()

    def _show(self, message: str) -> None:
        counted = COUNTED.match(message)
        if counted:
            self._close()
            self.write(message)
            self._open(PHASE_OF[counted.group(1)], int(counted.group(2)), counted.group(3))
            return
        if self.counted and self._is_item(message):
            self.bar.set_postfix_str(_item_label(message), refresh=False)
            self.bar.update(1)
            return
        phase = message.phase if isinstance(message, Event) else None
        if phase in LIVE_PHASES:
            if self.counted or (self.bar is not None and self.bar.desc != phase):
                self._close()
            if self.bar is None:
                self._open(phase, None, "steps")
            self.bar.update(1)
            self._print(message)
            return
        self._close()
        self.write(message)

    def _is_item(self, message: str) -> bool:
        if isinstance(message, Event):
            return message.phase == "execute" and message.step == "notebook"
        return message.startswith(RENDERED)

    def _open(self, desc: str, total: int | None, unit: str) -> None:
        from tqdm import tqdm

        counted = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} " + unit + " [{elapsed}<{remaining}]{postfix}"
        running = "{desc}: {n_fmt} " + unit + " [{elapsed}]{postfix}"
        self.bar = tqdm(
            total=total,
            desc=desc,
            file=self.stream,
            leave=total is not None,
            dynamic_ncols=True,
            bar_format=counted if total is not None else running,
        )
        self.counted = total is not None
        self.ticking = threading.Event()
        threading.Thread(target=self._tick, args=(self.bar, self.ticking), daemon=True).start()

    def _tick(self, bar: Any, stop: threading.Event) -> None:
        """Redraw the bar every second, so its elapsed time moves during a long piece of work."""
        while not stop.wait(1.0):
            with self.lock:
                if not stop.is_set():
                    bar.refresh()

    def _print(self, message: str) -> None:
        self.bar.clear()
        self.write(message)
        self.bar.refresh()

    def _close(self) -> None:
        if self.ticking is not None:
            self.ticking.set()
            self.ticking = None
        if self.bar is not None:
            if self.bar.n == 0:  # nothing counted (the quarto renderer reports per group): no bar left behind
                self.bar.leave = False
            self.bar.close()
            self.bar, self.counted = None, False


def _item_label(message: str) -> str:
    """The item of a per-item line: the notebook's unit and period, or the page rendered."""
    text = message.removeprefix(RENDERED)
    if message.startswith("executed ") and ": " in message:
        text = message.split(": ", 1)[1]
    return text.rsplit(" (", 1)[0]
