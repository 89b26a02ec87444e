"""The run lock: one holder among simultaneous starters, released by the kernel when its holder
dies, re-entrant within a process, and refused runs told who holds it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scorecard.runlock import LOCK_FILE, BusyError, held, run_lock

REPO = Path(__file__).resolve().parents[1]
CONTENDER = REPO / "tests" / "lock_contender.py"
ENV = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _start(state: Path, go: Path, release: Path, n: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, str(CONTENDER), str(state), str(go), str(release)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for _ in range(n)
    ]


def _wait_until(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_sixteen_simultaneous_starts_twenty_times_give_exactly_one_holder(tmp_path):
    state = tmp_path / "state"
    for round_ in range(20):
        go, release = tmp_path / f"go-{round_}", tmp_path / f"release-{round_}"
        procs = _start(state, go, release, 16)
        go.touch()
        # the holder keeps the lock until every rival has given up: one holder, 15 refusals
        _wait_until(lambda procs=procs: sum(p.poll() is not None for p in procs) >= 15)
        time.sleep(0.05)
        release.touch()
        results = [(p.wait(timeout=60),) + p.communicate() for p in procs]
        holders = [out for code, out, _err in results if code == 0]
        refused = [err for code, _out, err in results if code == 4]
        assert len(holders) == 1 and len(refused) == 15, f"round {round_}: {results}"
        holder_pid = holders[0].split()[1]
        for err in refused:
            assert err.count("\n") == 1 and err.startswith("error: "), err
            assert f"pid {holder_pid}" in err and "contender" in err, err
    assert (state / LOCK_FILE).exists(), "the lock file is never deleted"


def test_a_killed_holder_releases_the_lock_at_once(tmp_path):
    state, go, release = tmp_path / "state", tmp_path / "go", tmp_path / "release"
    go.touch()
    (holder,) = _start(state, go, release, 1)
    assert holder.stdout.readline().startswith("held ")
    with pytest.raises(BusyError, match=f"pid {holder.pid}"):
        with run_lock(state, "test"):
            pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with run_lock(state, "test"):  # no stale lock to remove by hand, whatever pid comes next
        assert held(state)
    assert not held(state)


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    with run_lock(tmp_path, "publish"):
        with run_lock(tmp_path, "build"):
            assert held(tmp_path)
        assert held(tmp_path)
    assert not held(tmp_path)
