"""The site folder's safety: one publish at a time, build in staging, swap in only on success."""

from __future__ import annotations

import errno
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from ..errors import PublishError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


@contextmanager
def publish_lock(site: Path):
    """An exclusive lock file beside the site; a lock left by a dead process is taken over."""
    lock = site.parent / f".{site.name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and _alive(pid):
                raise PublishError(f"another publish (pid {pid}) is writing {site}; wait for it or remove {lock}") from None
            lock.unlink(missing_ok=True)
    else:
        raise PublishError(f"cannot take the lock {lock}")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)


@contextmanager
def staging(site: Path):
    """A copy of the published site to build into; swapped in by `commit`, discarded on failure."""
    stage = site.parent / f".{site.name}.staging-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    if site.exists():
        shutil.copytree(site, stage, symlinks=True)
    else:
        stage.mkdir(parents=True)
    try:
        yield stage
    finally:
        if stage.exists():
            shutil.rmtree(stage)


def commit(stage: Path, site: Path) -> None:
    """Swap the staging folder in place of the site (two renames; the old site is restored on error)."""
    old = site.parent / f".{site.name}.old-{os.getpid()}"
    if site.exists():
        os.replace(site, old)
    try:
        os.replace(stage, site)
    except OSError:
        if old.exists():
            os.replace(old, site)
        raise
    if old.exists():
        shutil.rmtree(old)
