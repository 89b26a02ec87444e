"""Rendering while the notebooks execute: each batch of pages (one period's pages and its pack,
then the site pages) is handed to one background thread as soon as its last notebook is
executed, so a first publish of many periods renders period after period while the workers go
on, instead of rendering everything (one pack at a time) after the last notebook.

The batches run one at a time, in the order they become ready; a failure in one is raised by
:meth:`Overlap.finish`, and :meth:`Overlap.close` waits for the running batch (the staging copy
must not be removed under it) and drops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor


class Overlap:
    """``keys[i]`` is the batch of job ``i``; ``run(key)`` renders a batch once all its jobs
    are done (:meth:`done`), or at :meth:`finish` for batches whose jobs never reported."""

    def __init__(self, keys: Sequence[Hashable], run: Callable[[Hashable], None]) -> None:
        self._run = run
        self._waiting: dict[Hashable, set[int]] = {}
        for i, key in enumerate(keys):
            self._waiting.setdefault(key, set()).add(i)
        self._order = list(self._waiting)  # batches in job order, for finish()
        self._futures: list[Future] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")

    def _submit(self, key: Hashable) -> None:
        del self._waiting[key]
        self._futures.append(self._pool.submit(self._run, key))

    def done(self, index: int) -> None:
        """Job ``index`` is executed; start its batch if it was the batch's last job."""
        for key, left in self._waiting.items():
            if index in left:
                left.discard(index)
                if not left:
                    self._submit(key)
                return

    def finish(self) -> None:
        """Start the batches not started yet, wait for every batch, raise the first failure."""
        for key in [k for k in self._order if k in self._waiting]:
            self._submit(key)
        try:
            for future in self._futures:
                future.result()
        finally:
            self.close()

    def close(self) -> None:
        """Drop the batches not started, wait for the one running."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Overlap:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
