"""Executing report notebooks with papermill: in parallel across cores, one reused kernel per
worker process (a fresh kernel costs ~0.5 s plus imports), no save after every cell.

A failing notebook stops the run with its unit, period and cell named; the executed notebook,
with the error in it, is kept for inspection.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import subprocess
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PublishError
from ..progress import Event, ProgressCallback, event


@dataclass(frozen=True)
class Job:
    template: Path
    output: Path
    parameters: dict = field(default_factory=dict)
    label: str = ""  # what the notebook is about, for messages: "unit 'EU/Paris', period 2026-10"


# IPython features a report notebook does not use, which cost the kernel CPU at every cell: the
# input history written to SQLite by a background thread, and a second compile of each cell to
# tell whether it awaits at top level.
KERNEL_ARGUMENTS = ["--HistoryManager.enabled=False", "--InteractiveShell.autoawait=False"]

_kernel = None
_clients: list = []  # the kernel clients papermill opened for the notebook being executed


def _start_kernel() -> None:
    """Worker initializer: one kernel for every notebook this process executes."""
    global _kernel
    from jupyter_client.manager import KernelManager

    _kernel = KernelManager(kernel_name="python3")
    new_client = _kernel.client

    def client(**kwargs):
        kc = new_client(**kwargs)
        _clients.append(kc)
        return kc

    _kernel.client = client  # type: ignore[method-assign]
    # The kernel's own stderr only carries a transport warning; cell errors come back as messages.
    _kernel.start_kernel(stderr=subprocess.DEVNULL, extra_arguments=KERNEL_ARGUMENTS)
    atexit.register(_stop_kernel)


def _stop_kernel() -> None:
    global _kernel
    if _kernel is not None:
        _kernel.shutdown_kernel(now=True)
        _kernel = None


def _stop_clients() -> None:
    """Close the notebook's kernel client: papermill opens one per notebook and, on a kernel it
    does not own, leaves it open. Each left open stays subscribed to the kernel's output, so
    every later notebook's outputs were sent once more per notebook executed before (and two
    more threads were left per notebook)."""
    while _clients:
        _clients.pop().stop_channels()


def _run(job: Job) -> float:
    """Execute one job in this worker; return the seconds it took."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    job.output.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(job.template),
            str(job.output),
            parameters=job.parameters,
            km=_kernel,
            request_save_on_cell_execute=False,
            progress_bar=False,
            log_output=False,
        )
    except PapermillExecutionError as exc:
        raise PublishError(
            f"{job.template.name} failed for {job.label} in cell {exc.cell_index} "
            f"(execution {exc.exec_count}): {exc.ename}: {exc.evalue}\n"
            f"the executed notebook is kept at {job.output}"
        ) from None
    finally:
        _stop_clients()
    return time.perf_counter() - started


def execute(
    jobs: Iterable[Job],
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    on_done: Callable[[int], None] | None = None,
) -> list[Path]:
    """Execute every job; return the executed notebooks in job order. Progress: an "execute"
    event per notebook (step "notebook": its seconds in its worker) and one for them all (step
    "total": the wall time). ``on_done(i)`` is called (in this thread) as soon as job ``i`` is
    executed, so that its page can be rendered while the workers go on."""
    jobs = list(jobs)
    if not jobs:
        return []
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    context = multiprocessing.get_context("spawn")
    done = 0
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_kernel) as pool:
        futures = {pool.submit(_run, job): job for job in jobs}
        index = {future: i for i, future in enumerate(futures)}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                error = future.exception()
                if error is not None:
                    for other in pending:
                        other.cancel()
                    if isinstance(error, PublishError):
                        raise error
                    job = futures[future]
                    raise PublishError(f"{job.template.name} failed for {job.label}: {error}") from error
                done += 1
                seconds = future.result()
                if on_done is not None:
                    on_done(index[future])
                say(
                    Event(
                        f"executed {done}/{len(jobs)}: {futures[future].label} ({seconds:.1f} s)",
                        "execute",
                        seconds,
                        1,
                        "notebook",
                    )
                )
    say(
        event(
            "execute",
            f"executed {len(jobs)} notebooks on {workers} worker{'s' if workers > 1 else ''}",
            started,
            len(jobs),
            "total",
            unit="notebooks",
        )
    )
    return [job.output for job in jobs]
