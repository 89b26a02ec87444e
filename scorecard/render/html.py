"""One HTML page per document: our own Jinja template (offline, no CDN), outputs only.

Per output the first available of: ``text/html``, ``application/vnd.plotly.v1+json`` (drawn
with the site's plotly.js), ``image/svg+xml``, ``image/png``/``image/jpeg``, ``text/markdown``,
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


def output_html(out: Output, div_id: str) -> str | Markdown | None:
    """The HTML for one output (a Markdown block for text/markdown), None to skip."""
    d = out.data
    alt = html.escape(str(d.get("text/plain", ""))[:200])
    if isinstance(d.get("text/html"), str):
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


def body_html(doc: Document, where: str) -> tuple[str, bool]:
    """The page body and whether it needs plotly.js."""
    parts: list[str] = []
    plotly = False
    for i, block in enumerate(doc.blocks):
        item = block if isinstance(block, Markdown) else output_html(block, f"output-plot-{i}")
        if item is None:
            continue
        if isinstance(item, Markdown):
            parts.append("\n\n" + item.text + "\n\n")
        else:
            plotly = plotly or _PLOTLY_MARK in item
            parts.append(raw_block(f'<div class="cell-output">\n{item}\n</div>', "html"))
    markdown = "".join(parts)
    if not markdown.strip():
        return "", False
    body = convert(markdown, "html5", where)

    def fix(m: re.Match) -> str:
        href = html.unescape(m.group(2))
        if not href or _is_external(href) or href.startswith("/"):
            return m.group(0)
        return m.group(1) + html.escape(output_href(href)) + m.group(3)

    return _HREF.sub(fix, body), plotly


def page_html(doc: Document, site: Site, rel_html: PurePosixPath, pdf_name: str | None, where: str) -> str:
    """The complete HTML page for ``doc`` written at ``rel_html`` (relative to the site root)."""
    body, plotly = body_html(doc, where)
    root = root_of(rel_html)
    pdf_top = bool(pdf_name)
    if pdf_name and not doc.title_from_meta and "</h1>" in body:
        # the title is the body's first heading: put the PDF link under it
        link_html = f'<p class="page-actions"><a class="pdf-link" href="{html.escape(pdf_name)}">Download PDF (A4)</a></p>'
        body = body.replace("</h1>", "</h1>\n" + link_html, 1)
        pdf_top = False
    current = rel_html.as_posix()

    def link(href: str | None) -> str:
        if not href or _is_external(href):
            return href or "#"
        return f"{root}/{href.lstrip('/')}"

    def is_current(href: str | None) -> bool:
        return bool(href) and not _is_external(href) and href.lstrip("/").split("#")[0] == current

    return _template().render(
        lang=site.lang,
        site=site,
        page_title=doc.title or "",
        title_block=doc.title_from_meta,
        subtitle=doc.subtitle,
        date=doc.date,
        description=doc.description,
        root=root,
        page_path=rel_html.with_suffix("").as_posix(),
        pdf_href=pdf_name,
        pdf_top=pdf_top,
        plotly=plotly,
        body=body,
        link=link,
        is_current=is_current,
    )
