"""The site folder's safety: build the new site in staging, put it in place so that a crash at any
moment leaves the old site or the new one, and never take a lost site for a first publish.

Everything besides the site itself lives in the state folder (runlock.py), never in the site's
parent: `staging-<pid>/` (this run's new site), `journal.json` (an install in progress),
`backup-<pid>/` (files an install overwrites) and `sites/<name>-<hash>.json` (the last manifest
published to each site, so a site that vanished is noticed).

Staging costs what changes, not the history: published months (`periods/`) are frozen, so they
are hard-linked into staging (no bytes copied); the few other files (home, history, assets,
manifest) are copied, since a publish rewrites some of them.

Putting the new site in place, the first way that works:
1. the site exists on staging's file system: one `renameat2(RENAME_EXCHANGE)` swaps the two
   folders atomically (readers see the old tree or the new one, nothing in between);
2. no site yet: one `rename` of staging;
3. otherwise (the site is a mount point, its parent is not writable, staging is on another file
   system, no renameat2): the changed files are installed into the site one by one, published
   months first and manifest.json last, under a journal written before the first file moves.
   An error rolls back at once (new files removed, overwritten ones restored); a crash is rolled
   forward by the next run, or back if that fails.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import faults
from ..errors import PublishError
from ..progress import ProgressCallback
from ..runlock import pid_alive
from .manifest import MANIFEST

JOURNAL = "journal.json"
FROZEN = "periods/"
# errors that make the one-step swap impossible here, not the publish: install file by file instead
_NO_SWAP = {
    errno.EXDEV,
    errno.EBUSY,
    errno.EINVAL,
    errno.ENOSYS,
    errno.EACCES,
    errno.EPERM,
    errno.ENOTSUP,
    errno.EOPNOTSUPP,
    errno.EROFS,
    errno.ENOTEMPTY,
    errno.EEXIST,
}


# --------------------------------------------------------------------------- before a run
def check_site_path(site: Path) -> Path:
    """The folder to publish into: a symlink's target; a file there is an error."""
    if site.is_symlink() and site.exists():
        site = site.resolve()
    if site.exists() and not site.is_dir():
        raise PublishError(f"{site}: is a file, not a folder; set `site` (or SITE=) to a folder")
    return site


def prepare(site: Path, state_dir: Path, progress: ProgressCallback) -> None:
    """At the start of a run, under the lock: finish what a dead run left, then check the site."""
    journal = state_dir / JOURNAL
    if journal.exists():
        _recover(journal, progress)
    for leftover in sorted(state_dir.glob("staging-*")) + sorted(state_dir.glob("backup-*")):
        _rmtree(leftover)
    _legacy_leftovers(site, progress)
    record = record_path(site, state_dir)
    manifest = site / MANIFEST
    if manifest.is_file() and (not record.is_file() or record.stat().st_mtime_ns < manifest.stat().st_mtime_ns):
        try:  # a run killed after its swap did not record it
            remember(site, state_dir, json.loads(manifest.read_text(encoding="utf-8")))
        except ValueError:
            pass  # manifest.load names the damage
    if not manifest.is_file() and record.is_file():
        try:
            periods = json.loads(record.read_text(encoding="utf-8"))["manifest"]["periods"]
        except (OSError, ValueError, KeyError, TypeError):
            periods = ["?"]
        if periods:
            state = "is missing" if not site.exists() else f"has no {MANIFEST}"
            raise PublishError(
                f"{site}: the site {state}, but {len(periods)} period(s) were published there (record: {record}); "
                f"restore the site folder (mount its volume or restore a backup) and run again, "
                f"or delete {record} to start a new site there on purpose"
            )


def record_path(site: Path, state_dir: Path) -> Path:
    key = hashlib.sha256(str(site.absolute()).encode()).hexdigest()[:12]
    return state_dir / "sites" / f"{site.name or 'site'}-{key}.json"


def remember(site: Path, state_dir: Path, manifest: dict) -> None:
    """Record the manifest just published (written to a temporary name, then renamed)."""
    _write_json(record_path(site, state_dir), {"site": str(site.absolute()), "manifest": manifest})


def _legacy_leftovers(site: Path, progress: ProgressCallback) -> None:
    """Older versions kept staging and old copies beside the site: restore or remove them."""
    try:
        beside = sorted(site.parent.glob(f".{site.name}.*-*")) if site.parent.is_dir() else []
        for path in beside:
            kind, _, pid = path.name.removeprefix(f".{site.name}.").rpartition("-")
            if kind not in ("staging", "old") or not pid.isdigit() or pid_alive(int(pid)):
                continue
            if kind == "old" and (path / MANIFEST).is_file() and not (site / MANIFEST).is_file():
                if site.is_dir() and not any(site.iterdir()):
                    site.rmdir()
                os.rename(path, site)
                progress(f"restored {site} from {path.name}, left by an interrupted publish")
            else:
                _rmtree(path)
    except OSError:
        pass  # a parent we may not write: nothing of ours can be there


# --------------------------------------------------------------------------- staging
@dataclass
class Stage:
    """This run's new site. `whole`: it holds every file (published months hard-linked), so it can
    replace the site in one step; otherwise only the files the run writes plus the site's
    unfrozen files. `seeded`: what came from the site, by relative path -> (inode, size, mtime)."""

    path: Path
    whole: bool = True
    seeded: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def __truediv__(self, other: str) -> Path:
        return self.path / other


@contextmanager
def staging(site: Path, state_dir: Path) -> Iterator[Stage]:
    """A staging folder seeded from the site; removed afterwards, whatever happened (before the
    error is reported, so a failed copy never stays on a full disk)."""
    stage = Stage(state_dir / f"staging-{os.getpid()}")
    _rmtree(stage.path)
    try:
        stage.path.mkdir(parents=True)
        if site.is_dir():
            _seed(site, stage)
        yield stage
    finally:
        _rmtree(stage.path)


def _seed(site: Path, stage: Stage) -> None:
    staged = 0
    for folder, dirs, files in os.walk(site):
        rel_dir = Path(folder).relative_to(site)
        frozen = (rel_dir.as_posix() + "/").startswith(FROZEN)
        if frozen and not stage.whole:
            dirs[:] = []
            continue
        (stage.path / rel_dir).mkdir(exist_ok=True)
        for name in sorted(files) + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            src, dst = Path(folder) / name, stage.path / rel_dir / name
            rel = (rel_dir / name).as_posix()
            if src.is_symlink():
                os.symlink(os.readlink(src), dst)
                continue
            if frozen:
                try:
                    os.link(src, dst)
                except OSError:
                    stage.whole = False  # another file system, or no hard links: install file by file
                    dirs[:] = []
                    break
            else:
                try:
                    shutil.copy2(src, dst)
                except OSError as exc:  # a full disk is the copy's, whatever file the error names
                    where = dst if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.filename or dst)
                    raise OSError(exc.errno, exc.strerror, str(where)) from None
            st = dst.stat()
            stage.seeded[rel] = (st.st_ino, st.st_size, st.st_mtime_ns)
            staged += 1
            if staged == 2:
                faults.point("staging")


def unfreeze(stage: Stage, rel_dir: str) -> None:
    """A folder the run is about to write must not hold hard links to published files."""
    path = stage.path / rel_dir
    if path.exists():
        shutil.rmtree(path)
        for rel in [r for r in stage.seeded if r.startswith(rel_dir.rstrip("/") + "/")]:
            del stage.seeded[rel]


# --------------------------------------------------------------------------- swap
def commit(stage: Stage, site: Path, state_dir: Path) -> str:
    """Put the staged site in place; returns how ("swapped", "renamed" or "installed")."""
    faults.point("swap")
    if stage.whole:
        try:
            if site.exists():
                _exchange(stage.path, site)
                how = "swapped"
            else:
                site.parent.mkdir(parents=True, exist_ok=True)
                os.rename(stage.path, site)
                how = "renamed"
            faults.point("swapped")
            return how
        except OSError as exc:
            if exc.errno not in _NO_SWAP:
                raise
    _install(stage, site, state_dir)
    return "installed"


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux renameat2 with RENAME_EXCHANGE)."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        raise OSError(errno.ENOSYS, "renameat2 is not available") from None
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(b))


def _changes(stage: Stage) -> tuple[list[str], list[str]]:
    """Files the run wrote (new, or different from what was seeded) and seeded files it removed."""
    present, changed = set(), []
    for folder, _dirs, files in os.walk(stage.path):
        for name in files:
            path = Path(folder) / name
            rel = path.relative_to(stage.path).as_posix()
            present.add(rel)
            st = path.lstat()
            if stage.seeded.get(rel) != (st.st_ino, st.st_size, st.st_mtime_ns):
                changed.append(rel)
    order = {MANIFEST: 3, "assets/nav.js": 2}
    changed.sort(key=lambda r: (0 if r.startswith(FROZEN) else order.get(r, 1), r))
    return changed, sorted(set(stage.seeded) - present)


def _install(stage: Stage, site: Path, state_dir: Path) -> None:
    changed, deleted = _changes(stage)
    site.mkdir(parents=True, exist_ok=True)
    probe = site / f".scorecard-probe-{os.getpid()}"
    probe.touch()  # a read-only or foreign site fails here, before anything is moved
    probe.unlink()
    need = sum((stage.path / rel).stat().st_size for rel in changed)
    vfs = os.statvfs(site)
    if need > vfs.f_bavail * vfs.f_frsize:
        raise OSError(
            errno.ENOSPC,
            f"No space left on device (the new files need {need / 1e6:.1f} MB, "
            f"{vfs.f_bavail * vfs.f_frsize / 1e6:.1f} MB free)",
            str(site),
        )
    backup = state_dir / f"backup-{os.getpid()}"
    files = []
    for rel in changed + deleted:
        existed = (site / rel).is_file()
        if existed:
            (backup / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(site / rel, backup / rel)
        files.append([rel, existed])
    for rel in changed:
        _fsync(stage.path / rel)
    journal = state_dir / JOURNAL
    _write_json(
        journal,
        {
            "site": str(site.absolute()),
            "stage": str(stage.path.absolute()),
            "backup": str(backup.absolute()),
            "install": changed,
            "delete": deleted,
            "files": files,
        },
    )
    try:
        _roll_forward(json.loads(journal.read_text(encoding="utf-8")))
    except BaseException:
        if _roll_back(json.loads(journal.read_text(encoding="utf-8"))):
            journal.unlink()  # else the next run tries again
            _rmtree(backup)
        raise
    journal.unlink()
    _rmtree(backup)


def _roll_forward(entry: dict) -> None:
    site, stage = Path(entry["site"]), Path(entry["stage"])
    for i, rel in enumerate(entry["install"]):
        src, dst = stage / rel, site / rel
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            _place(src, dst, move=True)
        if i == len(entry["install"]) // 2:
            faults.point("install")
    for rel in entry["delete"]:
        (site / rel).unlink(missing_ok=True)
    faults.point("installed")


def _roll_back(entry: dict) -> bool:
    """Undo an install, file by file as far as possible; whether every file was put back."""
    site, backup = Path(entry["site"]), Path(entry["backup"])
    done = True
    for rel, existed in entry["files"]:
        try:
            if existed and (backup / rel).exists():
                _place(backup / rel, site / rel, move=False)
            elif not existed:
                (site / rel).unlink(missing_ok=True)
                (site / rel).with_name(f".{Path(rel).name}.scorecard-tmp").unlink(missing_ok=True)
        except OSError:
            done = False
    return done


def _recover(journal: Path, progress: ProgressCallback) -> None:
    """A dead run's install: completed from its staging folder, else undone from its backup."""
    try:
        entry = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PublishError(f"{journal}: cannot read the journal of an interrupted publish ({exc})") from None
    try:
        _roll_forward(entry)
        progress(f"completed the interrupted publish into {entry['site']}")
    except OSError as exc:
        if not _roll_back(entry):
            raise
        progress(f"undid the interrupted publish into {entry['site']} (it could not be completed: {exc})")
    journal.unlink()


def _place(src: Path, dst: Path, move: bool) -> None:
    """dst becomes src's content in one rename (through a temporary file beside dst when src is on
    another file system)."""
    if move:
        try:
            os.replace(src, dst)
            return
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
    tmp = dst.with_name(f".{dst.name}.scorecard-tmp")
    try:
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if move:
        src.unlink()


# --------------------------------------------------------------------------- helpers
def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rmtree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
