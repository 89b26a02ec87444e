"""Named points where the tests stop a run as a crash would: `SCORECARD_FAULT=<point>` kills
the process there with SIGKILL (no cleanup, no `finally`), `SCORECARD_FAULT=<point>:pause`
writes `<point>.paused` in `SCORECARD_FAULT_DIR` (default: the working directory) and waits
until that file is removed. Unset, a point costs one environment lookup.

Points, in run order: load, build, execute, render, staging, swap, swapped, install, installed.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def point(name: str) -> None:
    wanted = os.environ.get("SCORECARD_FAULT", "")
    if not wanted or wanted.split(":", 1)[0] != name:
        return
    if wanted.endswith(":pause"):
        flag = Path(os.environ.get("SCORECARD_FAULT_DIR", ".")) / f"{name}.paused"
        flag.write_text(str(os.getpid()), encoding="utf-8")
        deadline = time.monotonic() + 300
        while flag.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return
    os.kill(os.getpid(), signal.SIGKILL)
