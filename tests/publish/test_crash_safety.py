"""Nothing lost, nothing silently wrong: a publish killed (SIGKILL, no cleanup) at any step leaves
the old site or the new one, and the next publish completes with no manual step and no change to
a frozen month. Also: a site that vanished is never taken for a first publish, a large history is
not copied, a build cannot run under a publish, and a site on a mount point, a full disk, a
read-only file system or a damaged database each end as documented.

The kill tests run tests/publish/fake_publish.py: the real publish (lock, build, manifest,
staging, swap) with notebook execution and rendering replaced by fakes, so each kill costs a
build, not a notebook run. One test kills a real publish.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import LATEST, PERIODS, Published, Workspace, copy_workspace, tree_hashes
from .fake_publish import install_fakes

REPO = Path(__file__).resolve().parents[2]
FAKE = Path(__file__).with_name("fake_publish.py")
NEW = "2026-08"  # complete in the data, not published by the session fixture
ENV = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _run(
    ws: Workspace, *args: str, fault: str | None = None, fake: bool = True, wait: bool = True
) -> subprocess.CompletedProcess | subprocess.Popen:
    env = {**ENV, "SCORECARD_FAULT_DIR": str(ws.root)}
    env.pop("SCORECARD_FAULT", None)
    if fault:
        env["SCORECARD_FAULT"] = fault
    cmd = (
        [sys.executable, str(FAKE), str(ws.config_file)]
        if fake
        else [sys.executable, "-m", "scorecard.cli", "-q", "publish", "--config", str(ws.config_file)]
    )
    if not wait:
        return subprocess.Popen(
            [*cmd, *args], env=env, cwd=ws.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    return subprocess.run([*cmd, *args], env=env, cwd=ws.root, capture_output=True, text=True, timeout=600)


def _state(ws: Workspace) -> Path:
    return ws.database.parent / ".scorecard-state"


def _manifest(site: Path) -> dict:
    return json.loads((site / "manifest.json").read_text(encoding="utf-8"))


def _published(site: Path) -> set[tuple[str, int]]:
    return {(e["period"], e["revision"]) for e in _manifest(site)["periods"]}


def _frozen(hashes: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in hashes.items() if k.startswith("periods/")}


def _assert_complete(site: Path) -> None:
    """Every file the manifest names is there."""
    for entry in _manifest(site)["periods"]:
        for rel in [entry["html"], entry["scorecard_csv"]] + [u[k] for u in entry["units"] for k in ("html", "pdf")]:
            assert (site / rel).is_file(), f"{rel} is named by the manifest but missing"


def _assert_no_leftovers(ws: Workspace) -> None:
    assert sorted(p.name for p in _state(ws).iterdir()) == ["scorecard.lock", "sites"]
    assert not [p for p in ws.site.parent.iterdir() if p.name.startswith(f".{ws.site.name}.")]
    assert not list(ws.database.parent.glob(f".{ws.database.name}.building-*"))


@pytest.fixture(scope="module")
def pristine(published: Published, tmp_path_factory) -> tuple[Workspace, Path]:
    """A copy of the session's deployment with its database built for its own configuration,
    and a snapshot of it: restored at the same path, the database stays current (no rebuild)."""
    from scorecard.warehouse import build

    root = tmp_path_factory.mktemp("crash")
    ws = copy_workspace(published.ws, root / "ws")
    build(ws.config())
    shutil.copytree(ws.root, root / "snapshot", symlinks=True)
    return ws, root / "snapshot"


@pytest.fixture
def ws(pristine) -> Workspace:
    ws, snapshot = pristine
    if ws.root.exists():
        shutil.rmtree(ws.root)
    shutil.copytree(snapshot, ws.root, symlinks=True)
    return ws


# (fault point, the swap cannot be one step): each point of the run, in order
POINTS = [
    ("load", False),
    ("build", False),
    ("execute", False),
    ("render", False),
    ("staging", False),
    ("swap", False),
    ("swapped", False),
    ("staging", True),
    ("install", True),
    ("installed", True),
]


@pytest.mark.parametrize("point,no_swap", POINTS, ids=[f"{p}{'-file-by-file' if n else ''}" for p, n in POINTS])
def test_a_kill_at_any_step_leaves_the_old_or_the_new_site(ws, point, no_swap):
    flags = ["--no-swap"] if no_swap else []
    if point in ("load", "build"):
        ws.database.unlink()  # so that the run builds it
    before = tree_hashes(ws.site)
    killed = _run(ws, "--period", NEW, *flags, fault=point)
    assert killed.returncode == -9, killed.stderr
    after = tree_hashes(ws.site)
    assert _frozen(before).items() <= _frozen(after).items(), "a frozen month changed"
    if point in ("swapped", "installed"):
        assert (NEW, 1) in _published(ws.site), "the swap was done: the site is the new one"
        _assert_complete(ws.site)
    elif point == "install":
        # half the new files are in; the pages that link them (home, history, nav.js, manifest) are not
        assert {k: v for k, v in after.items() if not k.startswith(f"periods/{NEW}/")} == before
    else:
        assert after == before, "the site changed before the swap"

    again = _run(ws, "--period", NEW, *flags)
    assert again.returncode == 0, again.stderr
    final = tree_hashes(ws.site)
    assert _frozen(before).items() <= _frozen(final).items(), "a frozen month changed"
    assert _published(ws.site) == {(p, 1) for p in PERIODS} | {(NEW, 1)}
    _assert_complete(ws.site)
    _assert_no_leftovers(ws)


def test_a_kill_of_a_real_publish_before_the_swap(ws):
    """The real notebooks and renderer: killed just before the swap, then published again."""
    before = tree_hashes(ws.site)
    killed = _run(ws, "--period", NEW, fault="swap", fake=False)
    assert killed.returncode == -9, killed.stderr
    assert tree_hashes(ws.site) == before
    assert len(list(_state(ws).glob("staging-*"))) == 1, "the dead run's staging copy is there..."
    again = _run(ws, "--period", NEW, fake=False)
    assert again.returncode == 0, again.stderr
    assert _frozen(before).items() <= _frozen(tree_hashes(ws.site)).items()
    assert _published(ws.site) == {(p, 1) for p in PERIODS} | {(NEW, 1)}
    _assert_complete(ws.site)
    _assert_no_leftovers(ws)  # ...and gone after the next run


def test_build_during_a_publish_waits_its_turn(ws):
    """`scorecard build` while a publish runs on the same configuration is refused with the holder
    named; the publish's pages, scorecard.csv and manifest then agree with one database."""
    publish = _run(ws, "--restate", LATEST, "--reason", "late exports", fault="execute:pause", fake=False, wait=False)
    flag = ws.root / "execute.paused"
    try:
        deadline = time.monotonic() + 600
        while not flag.exists():
            assert publish.poll() is None, publish.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        database = ws.database.stat()
        build = subprocess.run(
            [sys.executable, "-m", "scorecard.cli", "-q", "build", "--config", str(ws.config_file)],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert build.returncode == 4
        assert build.stderr.count("\n") == 1 and "another scorecard run holds the lock (publish, pid" in build.stderr
        assert str(publish.pid) in build.stderr
        assert ws.database.stat().st_ino == database.st_ino, "the database was swapped under the publish"
    finally:
        flag.unlink(missing_ok=True)
    out, err = publish.communicate(timeout=600)
    assert publish.returncode == 0, err

    from scorecard.export import write_scorecard_csv

    entry = next(e for e in _manifest(ws.site)["periods"] if (e["period"], e["revision"]) == (LATEST, 2))
    with ws.db() as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        write_scorecard_csv(con, ws.root / "fresh.csv", period=LATEST)
    assert entry["inputs_sha256"] == meta["inputs_sha256"]
    assert (ws.site / entry["scorecard_csv"]).read_bytes() == (ws.root / "fresh.csv").read_bytes()


def test_a_vanished_site_is_not_a_first_publish(ws, capsys):
    from scorecard.cli import main

    assert _run(ws, "--period", NEW).returncode == 0  # the state folder now knows this site
    shutil.rmtree(ws.site)
    ws.site.mkdir()  # e.g. a volume that is not mounted: an empty folder
    capsys.readouterr()
    assert main(["-q", "publish", "--config", str(ws.config_file)]) == 4
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(ws.site) in err and "3 period(s) were published there" in err, err
    assert "restore the site folder" in err
    assert list(ws.site.iterdir()) == []


def test_an_old_copy_left_beside_the_site_is_restored(ws):
    """Older versions swapped with two renames; a crash between them left `.site.old-PID`."""
    before = tree_hashes(ws.site)
    dead = subprocess.Popen(["true"])
    dead.wait()
    ws.site.rename(ws.site.with_name(f".{ws.site.name}.old-{dead.pid}"))
    result = _run(ws, "--period", NEW)
    assert result.returncode == 0, result.stderr
    assert _frozen(before).items() <= _frozen(tree_hashes(ws.site)).items()
    assert _published(ws.site) == {(p, 1) for p in PERIODS} | {(NEW, 1)}
    _assert_no_leftovers(ws)


def test_publishing_with_a_large_history_copies_none_of_it(ws, monkeypatch):
    """60 published months x 200 units: the publish of one more month hard-links the frozen files
    into staging and swaps; not one of them is copied (same inodes afterwards)."""
    manifest = _manifest(ws.site)
    months = [f"{2020 + i // 12}-{i % 12 + 1:02d}" for i in range(60)]
    for month in months:
        folder = ws.site / "periods" / month / "r1"
        folder.mkdir(parents=True)
        for i in range(200):
            (folder / f"u{i}.html").write_text(f"{month} {i}", encoding="utf-8")
        manifest["periods"].append(
            {
                "period": month,
                "revision": 1,
                "provisional": False,
                "units": [],
                "html": f"periods/{month}/r1/u0.html",
                "scorecard_csv": f"periods/{month}/r1/u1.html",
            }
        )
    (ws.site / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    inodes = {p: p.stat().st_ino for p in (ws.site / "periods").rglob("*") if p.is_file()}
    assert len(inodes) > 12_000
    install_fakes(setattr=monkeypatch.setattr)
    copied = []
    real_copy = shutil.copy2
    monkeypatch.setattr(shutil, "copy2", lambda src, dst, **kw: (copied.append(str(src)), real_copy(src, dst, **kw))[1])
    said = []
    summary = ws.publish(period=NEW, progress=said.append)
    assert [p.period for p in summary.published] == [NEW]
    assert not [c for c in copied if "/periods/" in c], "published months were copied"
    assert {p: p.stat().st_ino for p in inodes} == inodes
    assert any("site swapped into place" in line for line in said), said


# --------------------------------------------------------------------------- mounts (root only)
@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
        ).returncode
        != 0
    ):
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _move_site(ws: Workspace, site: Path) -> None:
    for child in ws.site.iterdir():
        (shutil.copytree if child.is_dir() else shutil.copy2)(child, site / child.name)
    shutil.rmtree(ws.site)
    text = ws.config_file.read_text(encoding="utf-8").replace(str(ws.site), str(site))
    ws.config_file.write_text(text, encoding="utf-8")


def test_a_site_that_is_a_mount_point_is_published_file_by_file(ws):
    with tmpfs(ws.root / "mnt", "64m") as site:
        _move_site(ws, site)
        before = tree_hashes(site)
        result = _run(ws, "--period", NEW)
        assert result.returncode == 0, result.stderr
        assert os.path.ismount(site), "the mount point is still the site"
        assert _frozen(before).items() <= _frozen(tree_hashes(site)).items()
        assert (NEW, 1) in _published(site)
        _assert_complete(site)


def test_a_full_disk_under_the_site_leaves_it_unchanged(ws):
    with tmpfs(ws.root / "mnt", "64m") as site:
        _move_site(ws, site)
        before = tree_hashes(site)
        filler = site / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=64"], capture_output=True)
        before["filler"] = tree_hashes(site)["filler"]
        result = _run(ws, "--period", NEW)
        assert result.returncode == 6, result.stderr
        assert result.stderr.count("\n") == 1 and str(site) in result.stderr and "disk is full" in result.stderr
        assert tree_hashes(site) == before
        _assert_no_leftovers(ws)


def test_a_full_disk_while_staging_removes_the_partial_copy(ws):
    with tmpfs(ws.root / "state", "1m") as state:
        text = ws.config_file.read_text(encoding="utf-8") + f"state_dir: {state}\n"
        ws.config_file.write_text(text, encoding="utf-8")
        before = tree_hashes(ws.site)
        free = shutil.disk_usage(state).free
        result = _run(ws, "--period", NEW)
        assert result.returncode == 6, result.stderr
        assert result.stderr.count("\n") == 1 and "No space left on device" in result.stderr, result.stderr
        assert f"{state}/staging-" in result.stderr, "the line names the path"
        assert tree_hashes(ws.site) == before
        assert sorted(p.name for p in state.iterdir()) == ["scorecard.lock", "sites"]
        assert shutil.disk_usage(state).free >= free - 64 * 1024


def test_a_read_only_site_leaves_it_unchanged(ws):
    with tmpfs(ws.root / "mnt", "64m") as site:
        _move_site(ws, site)
        subprocess.run(["mount", "-o", "remount,ro", str(site)], check=True)
        before = tree_hashes(site)
        result = _run(ws, "--period", NEW)
        assert result.returncode == 6, result.stderr
        assert result.stderr.count("\n") == 1 and "read-only" in result.stderr.lower(), result.stderr
        assert tree_hashes(site) == before


def test_a_truncated_database_is_rebuilt_and_the_site_kept(ws):
    assert _run(ws, "--period", LATEST).returncode == 0  # site pages follow this copy's settings
    data = ws.database.read_bytes()
    ws.database.write_bytes(data[: len(data) // 2])
    before = tree_hashes(ws.site)
    result = _run(ws, "--period", LATEST)
    assert result.returncode == 0, result.stderr
    assert tree_hashes(ws.site) == before
    with ws.db() as con:
        assert con.execute("SELECT count(*) FROM results").fetchone()[0] > 0
