"""The Quarto back end: planned commands and configs (pure), and a run against a fake quarto."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

from scorecard.render import Page, RenderError
from scorecard.render.quarto import OUTPUT_DIR, QuartoRenderer, plan

from .conftest import PROJECT_FILE

PAGES = ["2026-10/r1/units/a.ipynb", "2026-10/r1/units/b.ipynb", "2026-10/r1/index.ipynb", "history.md"]


def _sources(root: Path) -> Path:
    src = root / "reports"
    for p in PAGES:
        (src / p).parent.mkdir(parents=True, exist_ok=True)
        (src / p).write_text("{}" if p.endswith(".ipynb") else "# History\n")
    return src


def _pages(src: Path) -> list[Page]:
    return [
        Page(src / PAGES[0], pdf=True),
        Page(src / PAGES[1], pdf=True),
        Page(Path(PAGES[2])),
        Page(Path(PAGES[3]), html=False, pdf=True),
    ]


def test_plan_groups_pages_by_formats(tmp_path):
    src = _sources(tmp_path)
    project = yaml.safe_load(PROJECT_FILE.read_text())
    project["project"]["pre-render"] = "python make_data.py"
    work = tmp_path / "work"
    jobs = plan("/opt/quarto/bin/quarto", project, src, _pages(src), work, plotly_js=Path("/pkg/plotly.min.js"))
    assert [j.project_dir for j in jobs] == [work / "html-typst", work / "html", work / "typst"]
    assert [j.command for j in jobs] == [
        ["/opt/quarto/bin/quarto", "render", str(work / name), "--no-execute", "--output-dir", "_site"]
        for name in ("html-typst", "html", "typst")
    ]
    both, html, typst = jobs
    assert both.config["project"]["render"] == PAGES[:2]
    assert both.config["project"]["output-dir"] == OUTPUT_DIR and "pre-render" not in both.config["project"]
    assert both.config["project"]["type"] == "website" and both.config["website"] == project["website"]
    assert list(both.config["format"]) == ["html", "typst"]
    assert both.config["format"]["typst"] == project["format"]["typst"]  # options kept (margins, paper)
    assert both.config["format"]["html"]["toc"] is False
    assert any("assets/plotly.min.js" in i["text"] for i in both.config["format"]["html"]["include-in-header"])
    assert any("assets/nav.js" in i["text"] for i in both.config["format"]["html"]["include-after-body"])
    assert both.files == {
        PurePosixPath(PAGES[0]): src / PAGES[0],
        PurePosixPath(PAGES[1]): src / PAGES[1],
        PurePosixPath("assets/plotly.min.js"): Path("/pkg/plotly.min.js"),
    }
    assert both.outputs == [
        PurePosixPath(p)
        for p in (
            "2026-10/r1/units/a.html",
            "2026-10/r1/units/a.pdf",
            "2026-10/r1/units/b.html",
            "2026-10/r1/units/b.pdf",
        )
    ]
    assert list(html.config["format"]) == ["html"] and html.outputs == [PurePosixPath("2026-10/r1/index.html")]
    assert list(typst.config["format"]) == ["typst"] and "include-in-header" not in str(typst.config)
    assert typst.files == {PurePosixPath("history.md"): src / "history.md"}
    assert typst.outputs == [PurePosixPath("history.pdf")]
    assert project["project"]["pre-render"] == "python make_data.py"  # input not mutated


FAKE_QUARTO = r'''#!{python}
"""Fake quarto: logs argv + cwd, writes every expected output of the project's render list."""
import json, os, sys, pathlib, yaml
log = pathlib.Path(os.environ["FAKE_QUARTO_LOG"])
with log.open("a") as f:
    f.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd()}}) + "\n")
if os.environ.get("FAKE_QUARTO_FAIL"):
    sys.stderr.write("ERROR: Typst compilation failed: unknown variable: boom\n")
    sys.exit(1)
project = pathlib.Path(sys.argv[2])
cfg = yaml.safe_load((project / "_quarto.yml").read_text())
out = project / sys.argv[sys.argv.index("--output-dir") + 1]
for rel in cfg["project"]["render"]:
    assert (project / rel).is_file(), rel
    for fmt, ext in (("html", ".html"), ("typst", ".pdf")):
        if fmt in cfg["format"]:
            p = (out / rel).with_suffix(ext)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(fmt + " of " + rel)
if "html" in cfg["format"]:
    (out / "site_libs").mkdir(parents=True, exist_ok=True)
    (out / "site_libs" / "quarto.js").write_text("//")
    for res in cfg["project"].get("resources", []):
        (out / res).parent.mkdir(parents=True, exist_ok=True)
        (out / res).write_bytes((project / res).read_bytes())
    (out / "search.json").write_text(json.dumps([{{"href": r.replace(".ipynb", ".html").replace(".md", ".html")}}
                                                 for r in cfg["project"]["render"]]))
'''


@pytest.fixture
def fake_quarto(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "quarto"
    exe.write_text(FAKE_QUARTO.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "quarto.log"
    monkeypatch.setenv("FAKE_QUARTO_LOG", str(log))
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return exe, log


def test_render_runs_quarto_and_merges_outputs(tmp_path, fake_quarto):
    exe, log = fake_quarto
    src = _sources(tmp_path)
    out = tmp_path / "_site"
    (out / "2026-09").mkdir(parents=True)
    (out / "2026-09" / "old.html").write_text("frozen")  # other pages stay untouched
    (out / "search.json").write_text(json.dumps([{"href": "2026-09/old.html"}, {"href": "2026-10/r1/index.html"}]))
    written = QuartoRenderer(str(exe)).render(PROJECT_FILE, src, _pages(src), out)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["argv"][0] for c in calls] == ["render"] * 3
    assert all(c["argv"][2:] == ["--no-execute", "--output-dir", "_site"] and c["cwd"] == c["argv"][1] for c in calls)
    for rel in (
        "2026-10/r1/units/a.html",
        "2026-10/r1/units/a.pdf",
        "2026-10/r1/index.html",
        "history.pdf",
        "site_libs/quarto.js",
        "assets/plotly.min.js",
    ):
        assert out / rel in written, rel
    assert (out / "2026-10/r1/units/b.pdf").read_text() == "typst of 2026-10/r1/units/b.ipynb"
    assert not (out / "history.html").exists()
    assert (out / "2026-09" / "old.html").read_text() == "frozen"
    hrefs = [e["href"] for e in json.loads((out / "search.json").read_text())]
    assert sorted(hrefs) == sorted(
        ["2026-09/old.html", "2026-10/r1/units/a.html", "2026-10/r1/units/b.html", "2026-10/r1/index.html"]
    )


def test_render_failure_reports_quarto_stderr(tmp_path, fake_quarto, monkeypatch):
    exe, _ = fake_quarto
    monkeypatch.setenv("FAKE_QUARTO_FAIL", "1")
    src = _sources(tmp_path)
    with pytest.raises(RenderError, match=r"(?s)quarto render failed \(exit 1\).*unknown variable: boom"):
        QuartoRenderer(str(exe)).render(PROJECT_FILE, src, _pages(src), tmp_path / "_site")


def test_render_reports_missing_outputs(tmp_path, monkeypatch):
    src = _sources(tmp_path)
    seen = []

    def fake_run(cmd, **kwargs):
        seen.append((cmd, kwargs["cwd"], yaml.safe_load((kwargs["cwd"] / "_quarto.yml").read_text())))
        return subprocess.CompletedProcess(cmd, 0, "", "WARN: nothing rendered")

    monkeypatch.setattr("scorecard.render.quarto.subprocess.run", fake_run)
    with pytest.raises(RenderError, match=r"(?s)did not produce 2026-10/r1/units/a.html.*nothing rendered"):
        QuartoRenderer("quarto").render(PROJECT_FILE, src, _pages(src), tmp_path / "_site")
    assert seen[0][0][:2] == ["quarto", "render"] and seen[0][1] == Path(seen[0][0][2])
    assert seen[0][2]["project"]["render"] == PAGES[:2]
