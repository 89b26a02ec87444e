"""Frozen history, restatements and failures.

Publishing again with nothing changed is tried on the session's site itself, with notebook
execution and rendering replaced by traps (a trap that fires fails the publish, which then leaves
the site as it was). The rest runs on a copy of the session's deployment (inputs, database,
site): one module fixture goes through the sequence a real site goes through and records the
site's file hashes after each step:

1. publish after the input data changed, without a restatement (from the copy's new paths);
2. RESTATE=<latest> REASON=... (through the CLI);
3. a publish whose unit notebook fails, then a publish with the good templates again.

Every publish names PERIOD=<latest>: the site holds 2 of the data's 14 complete periods, and a
publish without PERIOD would add the 12 others (spec: "every complete period ... that the site
does not have yet").
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from scorecard.errors import PublishError

from .conftest import (
    LATEST,
    NOTEBOOKS,
    PERIODS,
    Published,
    Workspace,
    assert_clean,
    copy_workspace,
    needs_browser,
    new_page,
    parse_html,
    pdf_text,
    settle,
    squash,
    tree_hashes,
)

REASON = "Late survey responses loaded *again* <b>twice</b> #fix [1] & co"
BROKEN = "template broken on purpose"


class Trap(Exception):
    pass


@dataclass
class Step:
    summary: object = None
    hashes: dict[str, str] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)  # lock or staging folders beside the site
    error: Exception | None = None
    kept: dict[Path, str] = field(default_factory=dict)  # executed notebooks in reports/ right after


def _manifest(ws: Workspace) -> dict:
    return json.loads((ws.site / "manifest.json").read_text(encoding="utf-8"))


def _record(ws: Workspace, step: Step) -> Step:
    step.hashes = tree_hashes(ws.site)
    step.manifest = _manifest(ws)
    return step


def _change_inputs(data: Path) -> None:
    """Drop every third survey response of the latest period: its numbers change."""
    text = (data / "survey_responses.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    rows, dropped = [], 0
    for i, row in enumerate(reader):
        if row["responded_at"].startswith(LATEST) and i % 3 == 0:
            dropped += 1
            continue
        rows.append(row)
    assert dropped > 20
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (data / "survey_responses.csv").write_text(buf.getvalue(), encoding="utf-8")


def _broken_notebooks(folder: Path) -> Path:
    shutil.copytree(NOTEBOOKS, folder)
    nb = nbformat.read(folder / "unit.ipynb", as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell(f"raise RuntimeError({BROKEN!r})"))
    nbformat.write(nb, folder / "unit.ipynb")
    return folder


@pytest.fixture(scope="module")
def steps(published: Published, tmp_path_factory) -> dict[str, Step]:
    root = tmp_path_factory.mktemp("versions")
    ws = copy_workspace(published.ws, root)
    out: dict[str, Step] = {"start": _record(ws, Step())}

    _change_inputs(ws.data)
    out["changed"] = _record(ws, Step(ws.publish(period=LATEST)))

    assert ws.cli("--restate", LATEST, "--reason", REASON) == 0
    out["restated"] = _record(ws, Step())

    good_notebooks = ws.notebooks
    ws.notebooks = _broken_notebooks(root / "broken-notebooks")
    ws.write_config()
    step = Step()
    try:
        ws.publish(restate=PERIODS[0], reason="should never be published")
    except PublishError as exc:
        step.error = exc
    out["failed"] = _record(ws, step)
    step.leftovers = sorted(p.name for p in ws.site.parent.iterdir() if p.name.startswith(f".{ws.site.name}."))
    step.leftovers += sorted(
        p.name for p in (ws.database.parent / ".scorecard-state").iterdir() if p.name not in ("scorecard.lock", "sites")
    )
    step.kept = {p.resolve(): p.read_text(encoding="utf-8") for p in ws.reports.rglob("*.ipynb")}

    ws.notebooks = good_notebooks
    ws.write_config()
    out["recovered"] = _record(ws, Step(ws.publish(period=LATEST)))
    out["ws"] = ws
    return out


def test_publishing_again_with_nothing_changed_changes_nothing(published: Published, monkeypatch):
    import scorecard.publish as publishing
    import scorecard.render as render

    calls = []

    def trap(what):
        def fail(*args, **kwargs):
            calls.append(what)
            raise Trap(what)

        return fail

    monkeypatch.setattr(publishing, "execute", trap("execute"))
    monkeypatch.setattr(render, "get_renderer", trap("render"))
    before = tree_hashes(published.site)
    summary = published.ws.publish(period=LATEST)
    assert calls == [], f"a no-change publish called {calls}"
    assert summary.published == [] and summary.notebooks == 0 and summary.pages == 0
    assert "up to date" in summary.line()
    assert any("already published" in note and "RESTATE" in note for note in summary.notes), summary.notes
    assert tree_hashes(published.site) == before, "every file byte-identical"


def _under(hashes: dict[str, str], prefix: str) -> dict[str, str]:
    return {k: v for k, v in hashes.items() if k.startswith(prefix)}


def test_changed_data_without_restatement_keeps_published_periods(steps):
    before, step = steps["start"], steps["changed"]
    assert step.summary.published == []
    assert _under(step.hashes, "periods/") == _under(before.hashes, "periods/")
    assert step.hashes["index.html"] == before.hashes["index.html"], "the home page shows the frozen latest period"
    assert step.manifest["periods"] == before.manifest["periods"]
    # besides "PERIOD=... is already published", a note that the data changed under a published period
    changed = [n for n in step.summary.notes if "already published" not in n and LATEST in n and "RESTATE" in n]
    assert changed, step.summary.notes


def test_restatement_adds_revision_2_and_keeps_revision_1(steps):
    before, step, ws = steps["changed"], steps["restated"], steps["ws"]
    entries = {(e["period"], e["revision"]): e for e in step.manifest["periods"]}
    assert set(entries) == {(p, 1) for p in PERIODS} | {(LATEST, 2)}
    old = {(e["period"], e["revision"]): e for e in before.manifest["periods"]}
    for key, entry in old.items():
        assert entries[key] == entry, f"{key} was rewritten"
    r2 = entries[(LATEST, 2)]
    assert r2["reason"] == REASON
    assert r2["inputs_sha256"] != entries[(LATEST, 1)]["inputs_sha256"]
    assert r2["published_at"] >= entries[(LATEST, 1)]["published_at"]
    r1_dir = entries[(LATEST, 1)]["html"].rsplit("/", 1)[0] + "/"
    r2_dir = r2["html"].rsplit("/", 1)[0] + "/"
    assert r1_dir != r2_dir
    # revision 1 and the other period: byte-identical
    for prefix in (r1_dir, f"periods/{PERIODS[0]}/"):
        assert _under(step.hashes, prefix) == _under(before.hashes, prefix), prefix
    # revision 2: complete, with the corrected numbers
    for unit in r2["units"]:
        assert (ws.site / unit["html"]).is_file() and (ws.site / unit["pdf"]).is_file()
    assert (ws.site / r2["scorecard_csv"]).read_bytes() != (
        ws.site / entries[(LATEST, 1)]["scorecard_csv"]
    ).read_bytes()


def test_history_page_reaches_both_revisions(steps):
    ws, step = steps["ws"], steps["restated"]
    doc = parse_html(ws.site / "history.html")
    hrefs = {a.attrs.get("href") for a in doc.all("a")}
    for entry in step.manifest["periods"]:
        assert entry["html"] in hrefs, f"history.html does not link {entry['period']} r{entry['revision']}"
        assert (ws.site / entry["html"]).is_file()


def test_revision_2_pages_say_why(steps):
    ws, step = steps["ws"], steps["restated"]
    r2 = next(e for e in step.manifest["periods"] if e["revision"] == 2)
    for rel in [r2["html"]] + [u["html"] for u in r2["units"]]:
        assert REASON in parse_html(ws.site / rel).main_text, f"{rel} does not show the reason"
    assert squash(REASON) in squash(pdf_text(ws.site / r2["units"][0]["pdf"]))


def test_navigation_and_home_move_to_revision_2(steps):
    ws, step = steps["ws"], steps["restated"]
    r2 = next(e for e in step.manifest["periods"] if e["revision"] == 2)
    nav = (ws.site / "assets" / "nav.js").read_text(encoding="utf-8")
    data = json.loads(re.search(r"window\.SCORECARD_NAV\s*=\s*(\{.*?\});\n", nav).group(1))
    latest = next(p for p in data["periods"] if p["period"] == LATEST)
    assert latest["revision"] == 2 and latest["html"] == r2["html"]
    home = parse_html(ws.site / "index.html")
    assert any((a.attrs.get("href") or "").startswith(r2["html"].rsplit("/", 1)[0] + "/") for a in home.all("a"))


def test_failed_publish_leaves_the_site_as_it_was(steps):
    before, step, ws = steps["restated"], steps["failed"], steps["ws"]
    assert isinstance(step.error, PublishError), "the broken template did not fail the publish"
    message = str(step.error)
    assert re.search(rf"unit '[^']+', period {PERIODS[0]}", message), message
    assert re.search(r"\bcell \d+", message) and BROKEN in message, message
    assert step.hashes == before.hashes, "the site changed although the publish failed"
    assert step.leftovers == [], f"left beside the site: {step.leftovers} (lock or staging folder)"
    kept = Path(re.search(r"kept at (\S+\.ipynb)", message).group(1))
    kept = (kept if kept.is_absolute() else ws.root / kept).resolve()
    assert ws.reports.resolve() in kept.parents, kept
    assert kept in step.kept, f"{kept} is not in reports/ after the failure"
    assert BROKEN in step.kept[kept], "the kept notebook does not hold the error"


def test_publish_after_a_failure_works_and_changes_nothing(steps):
    step = steps["recovered"]
    assert step.summary.published == []
    assert step.hashes == steps["restated"].hashes


def _hold_lock(state: Path, tmp: Path):
    """A process holding the run lock of `state` (tests/lock_contender.py): (process, release file)."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    go, release = tmp / "go", tmp / "release"
    go.touch()
    proc = subprocess.Popen(
        [sys.executable, str(repo / "tests" / "lock_contender.py"), str(state), str(go), str(release)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert proc.stdout.readline().startswith("held ")
    return proc, release


def test_a_publish_in_progress_blocks_another(tmp_path, published: Published):
    ws = Workspace(tmp_path, published.ws.data)
    ws.write_config()
    holder, release = _hold_lock(ws.database.parent / ".scorecard-state", tmp_path)
    try:
        with pytest.raises(PublishError, match=rf"another scorecard run holds the lock \(contender, pid {holder.pid}"):
            ws.publish(period=LATEST)
    finally:
        release.touch()
        holder.wait(timeout=30)
    assert not ws.site.exists() and not ws.database.exists()


def test_a_failed_render_leaves_the_site_as_it_was(published: Published, tmp_path, monkeypatch):
    """Rendering fails after writing part of its output into the staging copy: none of it, nor the
    new manifest or nav.js, reaches the site."""
    import scorecard.publish as publishing
    import scorecard.render as render
    from scorecard.errors import ScorecardError
    from scorecard.render import RenderError

    ws = copy_workspace(published.ws, tmp_path)
    before = tree_hashes(ws.site)

    class HalfRenderer:
        name = "half"

        def render(self, project_file, source_dir, pages, output_dir, progress=None):
            for page in pages[:3]:
                out = Path(output_dir) / Path(page.source).relative_to(source_dir).with_suffix(".html")
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text("half-written", encoding="utf-8")
            raise RenderError("periods/x.ipynb: Typst could not compile the PDF: boom")

    monkeypatch.setattr(publishing, "execute", lambda jobs, **kwargs: [job.output for job in jobs])
    monkeypatch.setattr(render, "get_renderer", lambda name=None: HalfRenderer())
    with pytest.raises(ScorecardError, match="boom"):
        ws.publish(restate=LATEST, reason="never published")
    assert tree_hashes(ws.site) == before
    assert [p.name for p in ws.site.parent.iterdir() if p.name.startswith(f".{ws.site.name}.")] == []


def test_a_lock_left_by_a_killed_run_is_free(published: Published, monkeypatch, tmp_path):
    import os
    import signal

    import scorecard.publish as publishing

    monkeypatch.setattr(publishing, "execute", lambda *args, **kwargs: pytest.fail("executed notebooks"))
    holder, _release = _hold_lock(published.ws.database.parent / ".scorecard-state", tmp_path)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    before = tree_hashes(published.site)
    summary = published.ws.publish(period=LATEST)
    assert summary.published == [] and tree_hashes(published.site) == before


@needs_browser
def test_revision_1_points_readers_to_revision_2(steps, browser):
    """Frozen r1 pages learn from nav.js (rewritten at each publish) that r2 exists."""
    ws, step = steps["ws"], steps["recovered"]
    entries = {(e["period"], e["revision"]): e for e in step.manifest["periods"]}
    base = ws.site.resolve().as_uri() + "/"
    page = new_page(browser, base)
    try:
        for r1, r2 in (
            (entries[(LATEST, 1)]["html"], entries[(LATEST, 2)]["html"]),
            (entries[(LATEST, 1)]["units"][2]["html"], entries[(LATEST, 2)]["units"][2]["html"]),
        ):
            page.goto(base + r1, wait_until="load")
            settle(page)
            newer = page.locator(".newer-revision a")
            assert newer.count() == 1, f"{r1}: no pointer to revision 2"
            with page.expect_navigation(wait_until="load"):
                newer.click()
            settle(page)
            assert page.url == base + r2
            assert REASON in page.locator("main").inner_text()
            assert page.locator(".newer-revision").count() == 0
        assert_clean(page, "revisions")
    finally:
        page.context.close()
