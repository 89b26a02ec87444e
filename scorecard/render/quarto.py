"""The Quarto renderer: ``quarto render`` on a temporary copy of the pages.

Quarto renders a *project*, cleans its output folder on a full render and cannot take two
formats on one ``--to`` (``--to html,typst`` fails). So, for the pages of one call:

1. pages are grouped by the formats they need: ``html``, ``typst`` (PDF) or both;
2. each group gets a temporary project folder: the group's pages copied at their path
   relative to ``source_dir``, and a ``_quarto.yml`` = the project file with
   ``project.render`` = those pages, ``project.output-dir: _site``, ``format`` reduced to the
   group's formats (keeping their options), and ``pre-render``/``post-render`` removed;
3. one command per group, run in that folder::

       quarto render <tmp>/<group> --no-execute --output-dir _site

   No ``--to``: Quarto renders every format in ``format`` (html and typst in one render, so
   its "Other formats" links on the page point at the PDF). ``--no-execute``: papermill already
   executed the notebooks (Quarto would not execute an ``.ipynb`` anyway, this makes it
   explicit);
4. the group's ``_site`` is merged into ``output_dir`` (other pages are never touched; the
   ``search.json`` index is merged by ``href``).

HTML pages also get, through ``include-*`` entries added to ``format.html``: a loader for
``assets/plotly.min.js`` (our chart bundles do not inline plotly.js; the file is copied from
the plotly package as a project resource), an empty ``<nav id="period-nav">`` and the
publisher's ``assets/nav.js``, both found relative to the page from Quarto's
``quarto:offset`` meta tag. Tables reach Quarto's PDF as the ``text/markdown`` pipe table of
the display bundle (Quarto ignores ``text/x-typst``).

A failing command raises :class:`RenderError` with Quarto's stderr; a missing expected output
too. :func:`plan` is pure (no I/O): tests check the exact folders, configs and command lines.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ..progress import ProgressCallback
from . import Page, RenderError, relative_source

OUTPUT_DIR = "_site"
_FORMAT_EXT = {"html": ".html", "typst": ".pdf"}


@dataclass(frozen=True)
class QuartoJob:
    project_dir: Path  # temporary project folder for this group
    config: dict[str, Any]  # written as project_dir/_quarto.yml
    files: dict[PurePosixPath, Path]  # path under project_dir -> source file copied there
    command: list[str]  # run with cwd=project_dir
    outputs: list[PurePosixPath]  # files the command must produce, relative to project_dir/_site


# Pages get plotly.js (our chart bundles do not inline it) and the publisher's nav.js from the
# site's assets/ folder, found relative to the page via Quarto's "quarto:offset" meta tag.
_ROOT_JS = (
    'var r="";var m=document.querySelector(\'meta[name="quarto:offset"]\');'
    'if(m){r=m.getAttribute("content")||"";}else{var s=document.querySelector(\'script[src*="site_libs/"]\');'
    'if(s){r=s.getAttribute("src").split("site_libs/")[0];}}'
)
HEADER_HTML = (
    "<script>(function(){"
    + _ROOT_JS
    + "document.write('<script src=\"'+r+'assets/plotly.min.js\"><\\/script>');})();</script>"
)
BEFORE_BODY_HTML = '<nav id="period-nav"></nav>'
AFTER_BODY_HTML = (
    "<script>(function(){"
    + _ROOT_JS
    + 'var n=document.createElement("script");n.src=r+"assets/nav.js";document.body.appendChild(n);})();</script>'
)


def _add_include(options: Any, key: str, text: str) -> dict[str, Any]:
    options = dict(options) if isinstance(options, dict) else {}
    current = options.get(key)
    items = [] if current is None else (list(current) if isinstance(current, list) else [current])
    options[key] = items + [{"text": text}]
    return options


def plan(
    executable: str,
    project_config: dict[str, Any],
    source_dir: Path,
    pages: list[Page],
    workdir: Path,
    plotly_js: Path | None = None,
) -> list[QuartoJob]:
    """The Quarto jobs for ``pages`` (pure: reads and writes nothing)."""
    groups: dict[tuple[str, ...], list[PurePosixPath]] = {}
    sources: dict[PurePosixPath, Path] = {}
    for page in pages:
        formats = tuple(f for f, on in (("html", page.html), ("typst", page.pdf)) if on)
        if not formats:
            continue
        rel = PurePosixPath(relative_source(page, source_dir).as_posix())
        sources[rel] = Path(source_dir) / rel
        groups.setdefault(formats, []).append(rel)
    formats_setting = project_config.get("format")
    project_formats = formats_setting if isinstance(formats_setting, dict) else {}
    jobs = []
    for formats, rels in groups.items():
        config = copy.deepcopy(project_config)
        project = dict(config.get("project") or {})
        project.pop("pre-render", None)
        project.pop("post-render", None)
        project["render"] = [r.as_posix() for r in rels]
        project["output-dir"] = OUTPUT_DIR
        config["project"] = project
        config["format"] = {f: copy.deepcopy(project_formats.get(f, "default")) for f in formats}
        files = {r: sources[r] for r in rels}
        if "html" in formats:
            html = config["format"]["html"]
            html = _add_include(html, "include-in-header", HEADER_HTML)
            html = _add_include(html, "include-before-body", BEFORE_BODY_HTML)
            html = _add_include(html, "include-after-body", AFTER_BODY_HTML)
            config["format"]["html"] = html
            if plotly_js is not None:
                files[PurePosixPath("assets/plotly.min.js")] = plotly_js
                resources = project.get("resources") or []
                project["resources"] = (list(resources) if isinstance(resources, list) else [resources]) + [
                    "assets/plotly.min.js"
                ]
        project_dir = Path(workdir) / "-".join(formats)
        jobs.append(
            QuartoJob(
                project_dir=project_dir,
                config=config,
                files=files,
                command=[executable, "render", str(project_dir), "--no-execute", "--output-dir", OUTPUT_DIR],
                outputs=[r.with_suffix(_FORMAT_EXT[f]) for r in rels for f in formats],
            )
        )
    return jobs


def _merge_search(existing: Path, new: Path) -> bytes:
    try:
        old = json.loads(existing.read_text(encoding="utf-8"))
        fresh = json.loads(new.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return new.read_bytes()
    if not (isinstance(old, list) and isinstance(fresh, list)):
        return new.read_bytes()
    fresh_pages = {str(e.get("href", "")).split("#")[0] for e in fresh if isinstance(e, dict)}
    kept = [e for e in old if not (isinstance(e, dict) and str(e.get("href", "")).split("#")[0] in fresh_pages)]
    return json.dumps(kept + fresh, ensure_ascii=False).encode("utf-8")


def merge_tree(built: Path, output_dir: Path) -> list[Path]:
    """Copy every file of ``built`` into ``output_dir`` (search.json merged); returns them."""
    written = []
    for src in sorted(p for p in built.rglob("*") if p.is_file()):
        dst = output_dir / src.relative_to(built)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.name == "search.json" and src.parent == built and dst.is_file():
            dst.write_bytes(_merge_search(dst, src))
        else:
            shutil.copyfile(src, dst)
        written.append(dst)
    return written


class QuartoRenderer:
    name = "quarto"

    def __init__(self, executable: str = "quarto") -> None:
        self.executable = executable

    def render(
        self,
        project_file: Path,
        source_dir: Path,
        pages: list[Page],
        output_dir: Path,
        progress: ProgressCallback | None = None,
    ) -> list[Path]:
        try:
            config = yaml.safe_load(Path(project_file).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise RenderError(f"{project_file}: cannot read the project file: {exc}") from exc
        output_dir = Path(output_dir)
        written: list[Path] = []
        with tempfile.TemporaryDirectory(prefix="scorecard-quarto-") as tmp:
            from .builtin import plotly_js_path

            jobs = plan(self.executable, config, Path(source_dir), pages, Path(tmp), plotly_js_path())
            for job in jobs:
                for rel, src in job.files.items():
                    dst = job.project_dir / rel
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dst)
                (job.project_dir / "_quarto.yml").write_text(
                    yaml.safe_dump(job.config, sort_keys=False, allow_unicode=True), encoding="utf-8"
                )
                if progress:
                    progress(f"quarto render: {len(job.outputs)} file(s) as {job.project_dir.name}")
                try:
                    proc = subprocess.run(job.command, cwd=job.project_dir, capture_output=True, text=True, check=False)
                except OSError as exc:
                    raise RenderError(f"cannot run {job.command[0]}: {exc}") from exc
                if proc.returncode != 0:
                    raise RenderError(
                        f"quarto render failed (exit {proc.returncode}) for {', '.join(map(str, job.files))}:\n"
                        f"{(proc.stderr or proc.stdout or '').strip()[-4000:]}"
                    )
                built = job.project_dir / OUTPUT_DIR
                missing = [str(o) for o in job.outputs if not (built / o).is_file()]
                if missing:
                    raise RenderError(
                        f"quarto render did not produce {', '.join(missing)}:\n{(proc.stderr or '').strip()[-4000:]}"
                    )
                written += merge_tree(built, output_dir)
        return written
