"""Reading the website project file (``_quarto.yml``) the way Quarto reads it, for the builtin
renderer: site title, navbar, footer, language and the Typst page options."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import RenderError

_SOURCE_EXT = re.compile(r"\.(qmd|ipynb|md|markdown|rmd)$", re.IGNORECASE)
_LENGTH = re.compile(r"\d+(\.\d+)?(mm|cm|in|pt|em)")
_PAPER = re.compile(r"[a-z0-9-]+")


@dataclass(frozen=True)
class NavItem:
    text: str
    href: str | None = None  # site-root-relative output path or external URL
    menu: tuple[NavItem, ...] = ()


@dataclass(frozen=True)
class Site:
    title: str = ""
    left: tuple[NavItem, ...] = ()
    right: tuple[NavItem, ...] = ()
    footer: str = ""
    lang: str = "en"
    paper: str = "a4"
    margin: dict[str, str] = field(default_factory=lambda: {"x": "18mm", "top": "18mm", "bottom": "20mm"})


def output_href(href: str) -> str:
    """A navbar/link target as Quarto writes it: source extensions become ``.html``, a folder
    gets ``index.html``; external URLs and anchors are left alone."""
    if not href or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href) or href.startswith(("#", "//")):
        return href
    parts = re.match(r"^([^#?]*)(.*)$", href, re.DOTALL)
    assert parts is not None  # the pattern matches every string
    path, rest = parts.groups()
    if path.endswith("/"):
        path += "index.html"
    else:
        path = _SOURCE_EXT.sub(".html", path)
    return path + rest


def _title_from_href(href: str) -> str:
    stem = posixpath.splitext(posixpath.basename(href.rstrip("/")))[0] or "Home"
    return "Home" if stem == "index" else stem.replace("-", " ").replace("_", " ").capitalize()


def _nav_items(items: Any, where: str) -> tuple[NavItem, ...]:
    out = []
    for item in items or []:
        if isinstance(item, str):
            out.append(NavItem(_title_from_href(item), output_href(item)))
        elif isinstance(item, dict):
            href = item.get("href") or item.get("file")
            text = item.get("text") or item.get("aria-label") or item.get("icon")
            menu = _nav_items(item.get("menu"), where) if item.get("menu") else ()
            if text is None:
                text = _title_from_href(str(href)) if href else ""
            out.append(NavItem(str(text), output_href(str(href)) if href else None, menu))
        else:
            raise RenderError(f"{where}: unexpected navbar item {item!r}")
    return tuple(out)


def _footer(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "  ".join(str(value[k]) for k in ("left", "center", "right") if isinstance(value.get(k), str))
    return ""


def read_site(project_file: Path) -> Site:
    """Parse ``project_file``; raises RenderError with the file name on invalid content."""
    try:
        data = yaml.safe_load(Path(project_file).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RenderError(f"{project_file}: cannot read the project file: {exc}") from exc
    if not isinstance(data, dict):
        raise RenderError(f"{project_file}: expected a YAML mapping")
    website = data.get("website") or {}
    navbar = website.get("navbar") or {}
    if not isinstance(navbar, dict):
        navbar = {}
    title = navbar.get("title") if isinstance(navbar.get("title"), str) else website.get("title", "")
    typst = ((data.get("format") or {}).get("typst") or {}) if isinstance(data.get("format"), dict) else {}
    if not isinstance(typst, dict):
        typst = {}
    site = Site(
        title=str(title or ""),
        left=_nav_items(navbar.get("left"), str(project_file)),
        right=_nav_items(navbar.get("right"), str(project_file)),
        footer=_footer(website.get("page-footer")),
        lang=str(data.get("lang") or "en"),
    )
    paper = str(typst.get("papersize") or "a4").lower()
    if not _PAPER.fullmatch(paper):
        raise RenderError(f"{project_file}: format.typst.papersize {paper!r} is not a paper name")
    margin = typst.get("margin")
    if margin is not None:
        if not isinstance(margin, dict) or not margin:
            raise RenderError(f"{project_file}: format.typst.margin must be a map like {{x: 2cm, y: 2cm}}")
        for key, value in margin.items():
            if key not in (
                "x",
                "y",
                "top",
                "bottom",
                "left",
                "right",
                "inside",
                "outside",
                "rest",
            ) or not _LENGTH.fullmatch(str(value)):
                raise RenderError(f"{project_file}: format.typst.margin.{key}: {value!r} is not a length like 2cm")
        margin = {str(k): str(v) for k, v in margin.items()}
    return Site(site.title, site.left, site.right, site.footer, site.lang, paper, margin or Site().margin)
