"""The builtin renderer: executed notebooks -> offline HTML pages + A4 PDFs, in-process.

- Site settings (title, navbar, footer, lang, Typst paper/margins) come from ``_quarto.yml``
  (:mod:`scorecard.render.project`); page title from the notebook's front matter or first
  ``# heading`` (:mod:`scorecard.render.document`).
- HTML: :mod:`scorecard.render.html` (Jinja template ``templates/page.html.j2``).
- PDF: :mod:`scorecard.render.pdf` (Typst template ``templates/scorecard.typ``).
- Assets: ``assets/site.css`` and ``assets/favicon.svg`` (from ``scorecard/assets``), and
  ``assets/charts.js`` with ``assets/plotly.min.js`` (from the installed plotly package; only
  when a page has a chart, loaded on demand) are copied once into
  ``output_dir/assets/`` and only rewritten when their content differs.
- Pages are rendered on a small thread pool (``jobs``, else ``$RENDER_JOBS``, else
  min(4, CPUs)); a thread converts Markdown with a pandoc worker process of its own
  (:mod:`scorecard.render.pandoc`), Typst gets one compiler per thread (a ``typst.Compiler``
  must not be shared between threads). Files are written atomically.
- Output is deterministic: no timestamps, random ids or temp paths end up in the files.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..progress import ProgressCallback
from . import Page, RenderError, relative_source
from .document import read_document
from .html import page_html
from .pdf import compile_pdf, page_typst
from .project import Site, read_site

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SITE_ASSETS = ("site.css", "favicon.svg")  # every site gets these; charts.js with plotly.min.js


@dataclass(frozen=True)
class PageTiming:
    page: str
    read_s: float
    html_s: float
    pdf_s: float


def plotly_js_path() -> Path:
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise RenderError(f"plotly.min.js not found in the installed plotly package ({path})")
    return path


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` atomically unless the file already holds exactly these bytes."""
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(data)}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class BuiltinRenderer:
    name = "builtin"

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = jobs or int(os.environ.get("RENDER_JOBS", "0")) or min(4, os.cpu_count() or 1)
        self.timings: list[PageTiming] = []  # of the last render() call

    def _render_page(
        self, site: Site, source: Path, rel: PurePosixPath, page: Page, output_dir: Path
    ) -> tuple[list[Path], bool, PageTiming]:
        where = rel.as_posix()
        t0 = time.perf_counter()
        doc = read_document(source)
        t1 = time.perf_counter()
        written: list[Path] = []
        plotly = False
        html_s = pdf_s = 0.0
        if page.html:
            text = page_html(
                doc, site, rel.with_suffix(".html"), rel.with_suffix(".pdf").name if page.pdf else None, where
            )
            # plotly.js is needed by pages that load it at once and by those with on-demand charts
            plotly = "/assets/plotly.min.js" in text or "/assets/charts.js" in text
            out = output_dir / rel.with_suffix(".html")
            _write(out, text.encode("utf-8"))
            written.append(out)
            html_s = time.perf_counter() - t1
        if page.pdf:
            t2 = time.perf_counter()
            source_typ, files = page_typst(doc, site, where)
            pdf = compile_pdf(source_typ, files, where)
            out = output_dir / rel.with_suffix(".pdf")
            _write(out, pdf)
            written.append(out)
            pdf_s = time.perf_counter() - t2
        return written, plotly, PageTiming(where, t1 - t0, html_s, pdf_s)

    def render(
        self,
        project_file: Path,
        source_dir: Path,
        pages: list[Page],
        output_dir: Path,
        progress: ProgressCallback | None = None,
    ) -> list[Path]:
        site = read_site(Path(project_file))
        source_dir, output_dir = Path(source_dir), Path(output_dir)
        jobs: list[tuple[Path, PurePosixPath, Page]] = []
        seen: dict[PurePosixPath, PurePosixPath] = {}
        for page in pages:
            rel = PurePosixPath(relative_source(page, source_dir).as_posix())
            if rel.with_suffix("") in seen:  # index.ipynb and index.md would both be index.html
                raise RenderError(f"{rel}: same output as {seen[rel.with_suffix('')]}")
            seen[rel.with_suffix("")] = rel
            source = source_dir / rel
            if not source.is_file():
                raise RenderError(f"{rel}: no such page in {source_dir}")
            if page.html or page.pdf:
                jobs.append((source, rel, page))
        output_dir.mkdir(parents=True, exist_ok=True)
        self.timings = []
        written: list[Path] = []
        needs_plotly = False
        with ThreadPoolExecutor(max_workers=max(1, min(self.jobs, len(jobs) or 1))) as pool:
            futures = [pool.submit(self._render_page, site, s, r, p, output_dir) for s, r, p in jobs]
            try:
                for fut in futures:  # in page order: deterministic result list
                    files, plotly, timing = fut.result()
                    written += files
                    needs_plotly = needs_plotly or plotly
                    self.timings.append(timing)
                    if progress:
                        kinds = "+".join(
                            k for k, on in (("html", timing.html_s or None), ("pdf", timing.pdf_s or None)) if on
                        )
                        progress(
                            f"rendered {timing.page} ({kinds}: html {timing.html_s:.2f} s, pdf {timing.pdf_s:.2f} s)"
                        )
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        if any(p.html for _, _, p in jobs):
            for name in SITE_ASSETS:
                path = output_dir / "assets" / name
                if write_if_changed(path, (ASSETS / name).read_bytes()):
                    written.append(path)
        if needs_plotly:
            for name, source in (("charts.js", ASSETS / "charts.js"), ("plotly.min.js", plotly_js_path())):
                path = output_dir / "assets" / name
                if write_if_changed(path, source.read_bytes()):
                    written.append(path)
        return written
