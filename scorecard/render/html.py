"""One HTML page per document: our own Jinja template (offline, no CDN), outputs only.

A chart bundle from :func:`scorecard.report.chart_bundle` (plotly div + static SVG) becomes a
figure showing the SVG as an image with the chart's text name as its alternative text, and the
plotly div kept in a ``<template>``: ``assets/charts.js`` (deferred) loads plotly.js only when
the reader asks for the interactive chart, so a page with charts stays light on first view.

Otherwise, per output the first available of: ``text/html``, ``application/vnd.plotly.v1+json``
(drawn with the site's plotly.js), ``image/svg+xml``, ``image/png``/``image/jpeg``, ``text/markdown``,
``text/plain``. Markdown (cells and outputs) goes through pandoc; links to ``.qmd``/
``.ipynb``/``.md`` pages become ``.html`` as in Quarto.
"""

from __future__ import annotations

import functools
import html
import json
import re
from pathlib import Path, PurePosixPath

import jinja2

from .document import Document, Markdown, Output
from .pandoc import convert, raw_block
from .project import Site, output_href

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]*)(")')
_PLOTLY_MARK = "Plotly.newPlot"
_LIVE_MARK = 'class="chart-live"'
_CHART_DIV = re.compile(r'\A<div class="chart" data-chart="([^"]*)">')
_SVG_START = re.compile(r"<svg\b[^>]*>", re.DOTALL)
_SVG_DIMENSION = re.compile(r'\s(width|height)="([\d.]+)(?:px)?"')


def svg_size(svg: str) -> tuple[float, float] | None:
    """Width and height (CSS px) of an SVG's root element, in whatever order they are written."""
    start = _SVG_START.search(svg[:2000])
    found = dict(_SVG_DIMENSION.findall(start.group(0))) if start else {}
    if "width" not in found or "height" not in found:
        return None
    return float(found["width"]), float(found["height"])


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("page.html.j2")


def root_of(rel: PurePosixPath) -> str:
    """Relative path from a page at ``rel`` (relative to the site root) to the site root."""
    depth = len(rel.parts) - 1
    return "." if depth == 0 else "/".join([".."] * depth)


def _is_external(href: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href)) or href.startswith(("//", "#"))


def _data_uri(mime: str, data: str, binary: bool) -> str:
    if binary:
        payload = re.sub(r"\s+", "", data)
    else:
        import base64

        payload = base64.b64encode(data.encode("utf-8")).decode("ascii")
    return f"data:{mime};base64,{payload}"


def _plotly_div(spec: dict, div_id: str) -> str:
    payload = json.dumps({"data": spec.get("data", []), "layout": spec.get("layout", {})}, ensure_ascii=False)
    payload = payload.replace("</", "<\\/")  # cannot close the script element
    return (
        f'<div id="{div_id}" class="plotly-graph-div"></div>'
        f"<script>(function(){{var s={payload};"
        f'if(window.Plotly){{Plotly.newPlot("{div_id}",s.data,s.layout,{{displaylogo:false,responsive:true}});}}}})();</script>'
    )


def chart_alt(data: dict) -> str:
    """A chart's text name: its ``text/plain`` (``[chart: title]`` keeps only the title)."""
    text = str(data.get("text/plain", "")).strip()
    m = re.fullmatch(r"\[chart: (.*)\]", text, re.DOTALL)
    return (m.group(1) if m else text) or "chart"


def _static_chart(d: dict) -> str | None:
    """A chart bundle as a static image with the interactive chart on demand (None if ``d`` is
    not one)."""
    m = _CHART_DIV.match(d["text/html"])
    svg = d.get("image/svg+xml")
    if not m or not isinstance(svg, str):
        return None
    size = svg_size(svg)
    dims = f' width="{round(size[0])}" height="{round(size[1])}"' if size else ""
    alt = html.escape(chart_alt(d), quote=True)
    live = d["text/html"]
    return (
        f'<figure class="chart chart-static" data-chart="{m.group(1)}">'
        f'<img class="chart-image" alt="{alt}"{dims} src="{_data_uri("image/svg+xml", svg, False)}">'
        f'<button type="button" class="chart-live-button" hidden>Interactive chart</button>'
        f'<template class="chart-live">{live}</template></figure>'
    )


def output_html(out: Output, div_id: str) -> str | Markdown | None:
    """The HTML for one output (a Markdown block for text/markdown), None to skip."""
    d = out.data
    alt = html.escape(str(d.get("text/plain", ""))[:200])
    if isinstance(d.get("text/html"), str):
        static = _static_chart(d)
        if static is not None:
            return static
        return d["text/html"]
    if isinstance(d.get("application/vnd.plotly.v1+json"), dict):
        return _plotly_div(d["application/vnd.plotly.v1+json"], div_id)
    if isinstance(d.get("image/svg+xml"), str):
        return f'<img class="output-image" alt="{alt}" src="{_data_uri("image/svg+xml", d["image/svg+xml"], False)}">'
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if isinstance(d.get(mime), str):
            return f'<img class="output-image" alt="{alt}" src="{_data_uri(mime, d[mime], True)}">'
    if isinstance(d.get("text/markdown"), str):
        return Markdown(d["text/markdown"])
    if isinstance(d.get("text/plain"), str) and d["text/plain"].strip():
        cls = "output-error" if out.kind == "error" else "output-text"
        return f'<pre class="{cls}">{html.escape(d["text/plain"])}</pre>'
    return None


def body_html(doc: Document, where: str) -> tuple[str, bool, bool]:
    """The page body, whether it needs plotly.js at once, and whether it has on-demand charts."""
    parts: list[str] = []
    plotly = charts = False
    for i, block in enumerate(doc.blocks):
        item = block if isinstance(block, Markdown) else output_html(block, f"output-plot-{i}")
        if item is None:
            continue
        if isinstance(item, Markdown):
            parts.append("\n\n" + item.text + "\n\n")
        else:
            if _LIVE_MARK in item:
                charts = True
            else:
                plotly = plotly or _PLOTLY_MARK in item
            parts.append(raw_block(f'<div class="cell-output">\n{item}\n</div>', "html"))
    markdown = "".join(parts)
    if not markdown.strip():
        return "", False, False
    body = convert(markdown, "html5", where)

    def fix(m: re.Match) -> str:
        href = html.unescape(m.group(2))
        if not href or _is_external(href) or href.startswith("/"):
            return m.group(0)
        return m.group(1) + html.escape(output_href(href)) + m.group(3)

    return _HREF.sub(fix, body), plotly, charts


_MD_MARKUP = re.compile(r"[*_`#>\\]|\[|\]\([^)]*\)|<[^>]*>")


def page_description(doc: Document, site: Site) -> str:
    """A meta description when the page sets none: its title, then the paragraph of text under
    it, else the list of its sections (the ``##`` headings)."""
    intro, sections = "", []
    for block in doc.blocks:
        text = block.text if isinstance(block, Markdown) else block.data.get("text/markdown")
        for para in re.split(r"\n\s*\n", text or ""):
            para = para.strip()
            if para.startswith("## "):
                sections.append(" ".join(_MD_MARKUP.sub("", para[3:]).split()))
            elif not intro and not sections and para and not para.startswith(("#", "<", "-", "|", "*", ":::")):
                intro = " ".join(_MD_MARKUP.sub("", para).split())
    title = doc.title or site.title or ""
    text = f"{title}. {intro}" if intro else f"{title}: {', '.join(sections)}." if sections else title
    if site.title and site.title not in text:
        text = f"{text} ({site.title})" if sections or not intro else text
    return text if len(text) <= 200 else text[:199].rsplit(" ", 1)[0] + "…"


def page_html(doc: Document, site: Site, rel_html: PurePosixPath, pdf_name: str | None, where: str) -> str:
    """The complete HTML page for ``doc`` written at ``rel_html`` (relative to the site root)."""
    body, plotly, charts = body_html(doc, where)
    root = root_of(rel_html)
    pdf_top = bool(pdf_name)
    if pdf_name and not doc.title_from_meta and "</h1>" in body:
        # the title is the body's first heading: put the PDF link under it
        link_html = (
            f'<p class="page-actions"><a class="pdf-link" href="{html.escape(pdf_name)}">Download PDF (A4)</a></p>'
        )
        body = body.replace("</h1>", "</h1>\n" + link_html, 1)
        pdf_top = False
    current = rel_html.as_posix()

    def link(href: str | None) -> str:
        if not href or _is_external(href):
            return href or "#"
        return f"{root}/{href.lstrip('/')}"

    def is_current(href: str | None) -> bool:
        if not href:
            return False
        return not _is_external(href) and href.lstrip("/").split("#")[0] == current

    return _template().render(
        lang=site.lang,
        site=site,
        page_title=doc.title or "",
        title_block=doc.title_from_meta,
        subtitle=doc.subtitle,
        date=doc.date,
        description=doc.description or page_description(doc, site),
        root=root,
        page_path=rel_html.with_suffix("").as_posix(),
        pdf_href=pdf_name,
        pdf_top=pdf_top,
        plotly=plotly,
        charts=charts,
        body=body,
        link=link,
        is_current=is_current,
    )
