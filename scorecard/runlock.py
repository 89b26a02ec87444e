"""One run at a time per state folder: a lock held by the kernel, not by a file's existence.

`build`, `compute` and `publish` hold it for their whole run (database build, `reports/`,
staging and swap), so two runs on one configuration never interleave. It is an `flock` on
`<state_dir>/scorecard.lock`: the kernel releases it when the process ends, however it ends, so
a killed run never leaves a lock to remove by hand. The file itself is never deleted (deleting
it would let a rival lock a new file while the holder still holds the old one); it only holds a
line naming the current holder, for the message a rival prints.

The lock is re-entrant within one process: `publish` holds it and calls `build`, which takes it
again without blocking itself.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .errors import PublishError

LOCK_FILE = "scorecard.lock"
STATE_DIR = ".scorecard-state"

_held: dict[str, list] = {}  # real path of a lock file -> [fd, depth] for the locks this process holds


class BusyError(PublishError):
    """Another run holds the lock of this state folder (exit code 4, like any publish error)."""


def default_state_dir(database: str | Path) -> Path:
    """Where lock, staging and journal live unless `state_dir` is set: beside the database."""
    return Path(database).parent / STATE_DIR


def state_dir_for(config, database: str | Path | None = None) -> Path:
    """The configuration's state folder (`state_dir`, else beside the database in use)."""
    return Path(config.state_dir) if config.state_dir else default_state_dir(database or config.database)


def _holder(fd: int) -> str:
    """The holder's line; retried briefly, as a new holder writes it just after taking the lock."""
    text = ""
    for _ in range(20):
        text = os.pread(fd, 1000, 0).decode("utf-8", "replace").strip()
        pid = text.split("pid ", 1)[1].split()[0].strip(",") if "pid " in text else ""
        if pid.isdigit() and pid_alive(int(pid)):
            return text
        time.sleep(0.05)
    return text or "holder unknown"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one we may not signal exists too)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def run_lock(state_dir: str | Path, command: str) -> Iterator[Path]:
    """Hold the state folder's run lock, or raise BusyError naming the holder at once."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOCK_FILE
    key = os.path.realpath(path)
    if key in _held:
        _held[key][1] += 1
        try:
            yield path
        finally:
            _held[key][1] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise BusyError(
            f"{path}: another scorecard run holds the lock ({holder}); wait for it to finish, then run again"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    try:
        started = datetime.now(UTC).replace(microsecond=0).isoformat()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{command}, pid {os.getpid()} on {socket.gethostname()}, started {started}\n".encode(), 0)
        _held[key] = [fd, 1]
    except BaseException:
        os.close(fd)
        raise
    try:
        yield path
    finally:
        del _held[key]
        os.close(fd)  # releases the lock


def held(state_dir: str | Path) -> bool:
    """Whether this process holds the state folder's lock."""
    return os.path.realpath(Path(state_dir) / LOCK_FILE) in _held
