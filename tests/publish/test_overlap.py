"""Rendering while executing (scorecard.publish.overlap): a batch starts once all its jobs are
done and not before, batches run one at a time, and a failure reaches the caller."""

from __future__ import annotations

import threading
import time

import pytest

from scorecard.publish.overlap import Overlap


def test_a_batch_starts_when_its_last_job_is_done_and_batches_never_overlap():
    keys = ["a", "a", "b", "b", "b", None]
    started: list[object] = []
    running = threading.Lock()
    overlaps = []

    def run(key):
        if not running.acquire(blocking=False):
            overlaps.append(key)
            return
        try:
            started.append(key)
            time.sleep(0.05)
        finally:
            running.release()

    with Overlap(keys, run) as overlap:
        overlap.done(2)
        overlap.done(0)
        time.sleep(0.1)
        assert started == []  # no batch has all its jobs done
        overlap.done(1)  # batch "a" complete
        overlap.done(3)
        overlap.done(4)  # batch "b" complete
        deadline = time.monotonic() + 5
        while len(started) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started == ["a", "b"]
        overlap.finish()  # starts the batch whose job never reported (None), waits for all
    assert started == ["a", "b", None]
    assert overlaps == []


def test_finish_raises_the_first_failure_and_still_runs_the_other_batches():
    ran = []

    def run(key):
        ran.append(key)
        if key == "bad":
            raise RuntimeError("render failed")

    with Overlap(["ok", "bad", "late"], run) as overlap:
        overlap.done(0)
        overlap.done(1)
        with pytest.raises(RuntimeError, match="render failed"):
            overlap.finish()
    assert ran == ["ok", "bad", "late"]


def test_close_waits_for_the_running_batch_and_drops_the_others():
    gate = threading.Event()
    ran = []

    def run(key):
        gate.wait(5)
        ran.append(key)

    overlap = Overlap(["x", "y"], run)
    overlap.done(0)
    overlap.done(1)
    threading.Timer(0.1, gate.set).start()
    overlap.close()  # as when the execution fails: the staging copy is removed after this
    assert ran == ["x"]
