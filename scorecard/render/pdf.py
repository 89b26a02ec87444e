"""One A4 PDF per document with Typst (python ``typst`` module, in-process).

The page is written as Typst directly from the notebook outputs; only Markdown goes through
pandoc (Markdown cells and ``text/markdown`` outputs, one pandoc call per page, with every
other output passed as a raw Typst block). Per output the first available of:

- ``text/x-typst``: raw Typst from :mod:`scorecard.report` (tables, KPI cards);
- ``image/svg+xml`` (vector charts), ``image/png``/``image/jpeg``: written beside the ``.typ``
  and placed with ``sc-image`` (natural size, at most the text width), with the output's
  ``text/plain`` (a chart's text name) as alternative text;
- ``text/markdown``;
- ``text/plain``: a raw block through ``typst_str`` (escaped, cannot inject Typst).

The page template (``scorecard/templates/scorecard.typ``) sets paper and margins (from
``_quarto.yml``), fonts, sticky headings and ``set document(date: none)`` so the PDF carries
no timestamp: the same notebook renders to byte-identical PDFs.

``typst.Compiler`` objects are not thread-safe: one per thread (:func:`_compiler`).
"""

from __future__ import annotations

import base64
import re
import struct
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from ..report.escape import typst_str
from . import RenderError
from .document import Document, Markdown, Output
from .html import TEMPLATES, chart_alt, svg_size
from .pandoc import convert, raw_block
from .project import Site

TYPST_TEMPLATE = TEMPLATES / "scorecard.typ"
_local = threading.local()
_LANG = re.compile(r"[a-z]{2,3}")
# Typst checks the PDF/UA-1 rules while exporting (tagged structure, a title shown by viewers,
# alternative text on every figure, document language) and fails the render if one is broken.
PDF_STANDARDS = ["ua-1"]


def _compiler():
    import typst

    compiler = getattr(_local, "compiler", None)
    if compiler is None:
        compiler = _local.compiler = typst.Compiler()
    return compiler


def _natural_width_pt(mime: str, raw: bytes) -> float:
    """Image width in pt at 96 px/in (plotly/kaleido sizes are CSS px); 480 pt if unknown."""
    px = None
    if mime == "image/svg+xml":
        size = svg_size(raw[:2000].decode("utf-8", "replace"))
        px = size[0] if size else None
    elif mime == "image/png" and raw[:8] == b"\x89PNG\r\n\x1a\n":
        px = struct.unpack(">I", raw[16:20])[0]
    return round(px * 0.75, 2) if px else 480.0


_EXT = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg"}


def output_typst(out: Output, index: int, files: dict[str, bytes], prefix: str = "") -> str | Markdown | None:
    """Typst for one output (Markdown for text/markdown); image bytes are added to ``files``."""
    d = out.data
    if isinstance(d.get("text/x-typst"), str):
        return d["text/x-typst"]
    for mime, ext in _EXT.items():
        if isinstance(d.get(mime), str):
            raw = d[mime].encode("utf-8") if mime == "image/svg+xml" else base64.b64decode(d[mime])
            name = f"{prefix}output-{index:04d}.{ext}"
            files[name] = raw
            alt = chart_alt(d)  # every figure carries alternative text (PDF/UA)
            return f"#sc-image({typst_str(name)}, {_natural_width_pt(mime, raw)}pt, alt: {typst_str(alt)})\n"
    if isinstance(d.get("text/markdown"), str):
        return Markdown(d["text/markdown"])
    if isinstance(d.get("text/plain"), str) and d["text/plain"].strip():
        text = d["text/plain"].rstrip("\n")
        return f"#block(width: 100%, inset: 5pt, fill: luma(244), radius: 2pt)[#raw(block: true, {typst_str(text)})]\n"
    return None


def page_body(doc: Document, where: str, prefix: str = "") -> tuple[str, dict[str, bytes]]:
    """The Typst body of the page (no template call) and the files (images) it needs; file
    names start with ``prefix`` so that several pages can share one folder (the period pack).

    The page's PDF and the pack convert the same Markdown: the body is converted without the
    prefix (one pandoc run, remembered by :func:`_typst_body`) and the prefix is put into the
    image calls afterwards (pandoc passes the raw Typst blocks that hold them verbatim)."""
    files: dict[str, bytes] = {}
    parts: list[str] = []
    for i, block in enumerate(doc.blocks):
        item = block if isinstance(block, Markdown) else output_typst(block, i, files)
        if item is None:
            continue
        if isinstance(item, Markdown):
            parts.append("\n\n" + item.text + "\n\n")
        else:
            parts.append(raw_block(item, "typst"))
    body = _typst_body("".join(parts), where)
    if prefix:
        files = {prefix + name: data for name, data in files.items()}
        body = _IMAGE_CALL.sub(lambda m: m.group(1) + typst_str(prefix)[:-1], body)
    return body, files


# the start of an image call of output_typst, as it is in pandoc's output (escaped text is \#)
_IMAGE_CALL = re.compile(r'(?<!\\)(#sc-image\()"(?=output-\d{4,}\.(?:svg|png|jpg)")')
_BODIES: OrderedDict[str, str] = OrderedDict()  # Markdown -> Typst, the last pages converted
_BODIES_KEPT = 64  # more than a period's pages: its pack finds every one of them
_bodies_lock = threading.Lock()


def _typst_body(markdown: str, where: str) -> str:
    if not markdown.strip():
        return ""
    with _bodies_lock:
        if markdown in _BODIES:
            _BODIES.move_to_end(markdown)
            return _BODIES[markdown]
    body = convert(markdown, "typst", where)
    with _bodies_lock:
        _BODIES[markdown] = body
        while len(_BODIES) > _BODIES_KEPT:
            _BODIES.popitem(last=False)
    return body


def template_args(
    site: Site, title: str, title_block: bool, subtitle: str | None = None, date: str | None = None
) -> str:
    """The arguments of ``scorecard.with(..)`` in ``templates/scorecard.typ``."""
    margin = ", ".join(f"{k}: {v}" for k, v in site.margin.items())  # validated lengths
    lang = site.lang.split("-")[0].lower()
    args = [
        f"title: {typst_str(title)}",
        f"title-block: {'true' if title_block else 'false'}",
        f"site: {typst_str(site.title) if site.title else 'none'}",
        f"paper: {typst_str(site.paper)}",
        f"margin: ({margin},)",
        f"lang: {typst_str(lang if _LANG.fullmatch(lang) else 'en')}",
    ]
    if subtitle:
        args.append(f"subtitle: {typst_str(subtitle)}")
    if date:
        args.append(f"date: {typst_str(date)}")
    return ", ".join(args)


def page_typst(doc: Document, site: Site, where: str) -> tuple[str, dict[str, bytes]]:
    """The Typst source of the page and the files (images) it needs."""
    body, files = page_body(doc, where)
    args = template_args(site, doc.title or "", doc.title_from_meta, doc.subtitle, doc.date)
    source = f'#import "scorecard.typ": *\n#show: scorecard.with({args})\n\n{body}'
    return source, files


def compile_pdf(source: str, files: dict[str, bytes], where: str) -> bytes:
    """Compile the page in a private temporary folder (template + images + main.typ)."""
    with tempfile.TemporaryDirectory(prefix="scorecard-typst-") as tmp:
        root = Path(tmp)
        (root / "scorecard.typ").write_bytes(TYPST_TEMPLATE.read_bytes())
        for name, data in files.items():
            (root / name).write_bytes(data)
        main = root / "main.typ"
        main.write_text(source, encoding="utf-8")
        try:
            return _compiler().compile(input=str(main), root=str(root), format="pdf", pdf_standards=PDF_STANDARDS)
        except Exception as exc:  # typst raises RuntimeError / TypstError with the diagnostics
            raise RenderError(f"{where}: Typst could not compile the PDF: {exc}") from exc
