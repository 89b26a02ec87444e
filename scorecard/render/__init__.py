"""Rendering executed notebooks into the static site (HTML) and A4 PDFs.

One small interface, two back ends::

    from scorecard.render import Page, get_renderer

    renderer = get_renderer()            # or get_renderer("builtin") / get_renderer("quarto")
    written = renderer.render(
        project_file=Path("_quarto.yml"),  # website project: title, navbar, formats
        source_dir=Path("reports"),        # executed notebooks (and .md pages)
        pages=[Page(Path("reports/2026-10/r1/units/emea-paris.ipynb"), pdf=True)],
        output_dir=Path("_site"),
        progress=print,                    # optional, one line per page
    )
    # -> [_site/2026-10/r1/units/emea-paris.html, _site/2026-10/r1/units/emea-paris.pdf, ...]

``Page(source, html=True, pdf=False)``: ``source`` is an executed ``.ipynb`` (or a ``.md``
page) under ``source_dir``: absolute, relative to the current directory, or relative to
``source_dir``. Its outputs are written
to the same relative path under ``output_dir`` with ``.html`` / ``.pdf``. ``render`` returns
the files it wrote and raises :class:`RenderError` (naming the page) on failure. Files of
other pages in ``output_dir`` are never touched, so a site can be rendered incrementally.

Choosing the back end (:func:`get_renderer`): the ``name`` argument, else the ``RENDERER``
environment variable (``quarto`` or ``builtin``), else ``quarto`` when a ``quarto``
executable is on ``PATH``, else ``builtin``.

- ``builtin`` (:mod:`scorecard.render.builtin`): in-process, no Quarto needed; our own Jinja
  page template + pandoc for Markdown, Typst (python ``typst`` module) for the PDFs.
  Deterministic: the same notebook gives byte-identical HTML and PDF.
- ``quarto`` (:mod:`scorecard.render.quarto`): runs ``quarto render`` in a temporary project.

Page template contract (builtin; the publisher relies on it): every page loads
``{root}/assets/site.css`` and, at the end of ``<body>``, ``{root}/assets/nav.js`` (written by
the publisher; a missing file only costs a 404), has an empty ``<nav id="period-nav">`` for
nav.js to fill, a static link to ``{root}/history.html``, and ``<body data-root="{root}"
data-page="{path without extension}">``. ``{root}`` is the relative path from the page to
``output_dir`` (``.``, ``..``, ``../..``), so the site works from ``file://``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..errors import ScorecardError
from ..progress import ProgressCallback

__all__ = ["Page", "RenderError", "Renderer", "get_renderer", "RENDERERS"]

RENDERERS = ("builtin", "quarto")


class RenderError(ScorecardError):
    """A page could not be rendered; the message names the page and the cause."""

    exit_code = 5


@dataclass(frozen=True)
class Page:
    source: Path  # an executed .ipynb (or a .md page) under source_dir
    html: bool = True
    pdf: bool = False  # also produce <same stem>.pdf beside the .html


@runtime_checkable
class Renderer(Protocol):
    name: str

    def render(
        self,
        project_file: Path,
        source_dir: Path,
        pages: list[Page],
        output_dir: Path,
        progress: ProgressCallback | None = None,
    ) -> list[Path]: ...


def relative_source(page: Page, source_dir: Path) -> Path:
    """The page's path relative to ``source_dir`` (raises RenderError if it is outside)."""
    root = Path(source_dir).resolve()
    src = Path(page.source)
    candidates = [src] if src.is_absolute() else [src, Path(source_dir) / src]  # cwd-relative first
    for candidate in candidates:
        try:
            return candidate.resolve().relative_to(root)
        except ValueError:
            continue
    raise RenderError(f"{page.source}: page is not under the source folder {source_dir}")


def get_renderer(name: str | None = None) -> Renderer:
    """The renderer called ``name``; else ``$RENDERER``; else quarto if on PATH, else builtin."""
    chosen = (name or os.environ.get("RENDERER") or "").strip().lower()
    if not chosen:
        chosen = "quarto" if shutil.which("quarto") else "builtin"
    if chosen == "builtin":
        from .builtin import BuiltinRenderer

        return BuiltinRenderer()
    if chosen == "quarto":
        from .quarto import QuartoRenderer

        executable = shutil.which("quarto")
        if executable is None:
            raise RenderError("renderer 'quarto' was asked for but no quarto executable is on PATH")
        return QuartoRenderer(executable)
    raise RenderError(f"unknown renderer {chosen!r}: expected one of {', '.join(RENDERERS)}")
