"""What the command line says when a run fails: one line and an exit code per kind of failure.

Expected failures are ScorecardErrors (their own message and code). A refusal of the operating
system (disk full, read-only file system, permission denied, a busy mount point, a file where a
folder belongs) exits 6 with the path and the cause; DuckDB reports the same refusals as its own
IOException, which is treated alike. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno

from .errors import ScorecardError

SYSTEM_ERROR = 6

HINTS = {
    errno.ENOSPC: "the disk is full: free space (or move `state_dir`, `reports` or `site`) and run again",
    errno.EDQUOT: "the disk quota is exhausted: free space and run again",
    errno.EROFS: "the file system is read-only: mount it read-write or choose another folder",
    errno.EACCES: "permission denied: give this user write access or choose another folder",
    errno.EPERM: "operation not permitted: give this user write access or choose another folder",
    errno.EBUSY: "the path is busy (a mount point or a file in use)",
    errno.ENOTDIR: "a file stands where a folder is expected",
    errno.EISDIR: "a folder stands where a file is expected",
    errno.ENOENT: "no such file or folder",
    errno.EIO: "input/output error: the disk or the network file system failed",
}


def explain(exc: BaseException) -> tuple[str, int] | None:
    """(one-line message, exit code) for an expected failure; None for a bug."""
    if isinstance(exc, ScorecardError):
        return str(exc), exc.exit_code
    if isinstance(exc, OSError):
        path = exc.filename if exc.filename is not None else ""
        if exc.filename2 is not None:
            path = f"{path} -> {exc.filename2}"
        cause = exc.strerror or str(exc)
        hint = HINTS.get(exc.errno) if exc.errno is not None else None
        text = f"{path}: {cause}" if path else cause
        return (f"{text} ({hint})" if hint else text), SYSTEM_ERROR
    try:
        import duckdb
    except ImportError:  # pragma: no cover - duckdb is a dependency
        return None
    if isinstance(exc, duckdb.IOException):
        first = str(exc).strip().splitlines()[0]
        return f"{first} (DuckDB could not read or write a file: check free space and permissions)", SYSTEM_ERROR
    return None
