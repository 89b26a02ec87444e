"""Progress events: what a long step reports, readable by people and by programs.

An Event is the progress line itself (a str, so every progress callback prints or stores it as
before) that also carries its phase, the seconds the piece of work took and the rows it handled.
The command line prints them; the benchmark adds up the seconds per phase, so neither parses text.
"""

from __future__ import annotations

import time

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
