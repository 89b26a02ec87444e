"""The builtin renderer: HTML pages, A4 PDFs, assets, determinism, injection."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from pdf_structure import pdf_figures, pdf_is_ua1

from scorecard.render import Page, RenderError
from scorecard.render.builtin import BuiltinRenderer, plotly_js_path
from scorecard.report import chart_id, md_escape, table_bundle

from .conftest import HOSTILE, PROJECT_FILE, make_notebook, needs_poppler, output, pdf_info, pdf_text, squash

UNIT_PAGE = Path("2026-10/r1/units/emea-paris.ipynb")


@pytest.fixture(scope="module")
def site(tmp_path_factory, chart):
    """A small source tree rendered once: a unit notebook (html+pdf) and a Markdown home page."""
    root = tmp_path_factory.mktemp("site")
    src, out = root / "reports", root / "_site"
    make_notebook(src / UNIT_PAGE, chart[1])
    (src / "index.md").write_text(
        "# Overview of the service\n\nSee [EMEA Paris](2026-10/r1/units/emea-paris.ipynb) and [history](history.qmd#top).\n",
        encoding="utf-8",
    )
    renderer = BuiltinRenderer()
    messages: list[str] = []
    written = renderer.render(
        PROJECT_FILE, src, [Page(src / UNIT_PAGE, pdf=True), Page(Path("index.md"))], out, progress=messages.append
    )
    return {"src": src, "out": out, "written": written, "messages": messages, "renderer": renderer}


def unit_html(site) -> str:
    return (site["out"] / UNIT_PAGE.with_suffix(".html")).read_text(encoding="utf-8")


def test_writes_pages_pdf_and_assets_once(site):
    out = site["out"]
    assert site["written"] == [
        out / UNIT_PAGE.with_suffix(".html"),
        out / UNIT_PAGE.with_suffix(".pdf"),
        out / "index.html",
        out / "assets" / "site.css",
        out / "assets" / "favicon.svg",
        out / "assets" / "charts.js",
        out / "assets" / "plotly.min.js",
    ]
    assert (out / "assets" / "plotly.min.js").read_bytes() == plotly_js_path().read_bytes()
    assert len(site["messages"]) == 2 and "emea-paris" in site["messages"][0]
    assert not (out / "index.pdf").exists()


def test_unit_page_html(site, chart):
    h = unit_html(site)
    # chart: the static SVG as an image named by its alt text; the plotly div in a template that
    # charts.js (deferred) draws with the site's plotly.js on demand, found by a relative path
    figure = re.search(r'<figure class="chart chart-static" data-chart="trend-csat">(.*?)</figure>', h, re.DOTALL)
    assert figure, "no static chart figure"
    assert re.search(
        r'<img class="chart-image" alt="CSAT trend" width="\d+" height="\d+" src="data:image/svg\+xml;base64,PHN2Zy',
        figure.group(1),
    )
    live = re.search(r'<template class="chart-live">(.*?)</template>', figure.group(1), re.DOTALL).group(1)
    assert f'id="{chart_id("trend-csat")}"' in live and "Plotly.newPlot" in live
    assert '<script src="../../../assets/charts.js" defer></script>' in h
    assert "plotly.min.js" not in h and "cdn" not in h.lower()
    assert '<link rel="icon" href="../../../assets/favicon.svg" type="image/svg+xml">' in h
    assert re.search(r'<meta name="description" content="[^"]{20,}">', h)
    # site chrome
    assert '<link rel="stylesheet" href="../../../assets/site.css">' in h
    assert '<script src="../../../assets/nav.js" defer></script>' in h
    assert '<nav id="period-nav" aria-label="Periods"></nav>' in h
    assert '<a href="../../../history.html">' in h
    assert 'data-root="../../.." data-page="2026-10/r1/units/emea-paris"' in h
    # navbar from _quarto.yml, links relative to the page
    assert '<a class="navbar-brand" href="../../../index.html">CX Scorecard</a>' in h
    for text, href in [
        ("Overview", "index.html"),
        ("History", "history.html"),
        ("Definitions", "definitions.html"),
        ("Method", "method.html"),
    ]:
        assert f'<a href="../../../{href}">{text}</a>' in h
    assert '<a href="https://example.org/cx">Source</a>' in h
    # title from the front matter, PDF link
    assert "<title>Unit scorecard – CX Scorecard</title>" in h
    assert '<h1 class="title">Unit scorecard</h1>' in h and "Sample period" in h
    assert '<a class="pdf-link" href="emea-paris.pdf">' in h
    # outputs only: no code, no stderr, hidden outputs hidden
    assert "SOURCE-CODE-MARKER" not in h and "import" not in h.split("<main")[1].split("Plotly")[0]
    assert "Data quality note for EMEA Paris" in h
    for hidden in ("STDERR-NOISE", "HIDDEN-OUTPUT", "REMOVED-OUTPUT"):
        assert hidden not in h
    # the table with status classes + words; markdown cells converted
    assert 'class="sc-table' in h and "status-green" in h and "Green</td>" in h
    assert '<h2 id="scorecard">Scorecard</h2>' in h
    assert "<strong>EMEA Paris</strong>" in h


def test_markdown_page(site):
    h = (site["out"] / "index.html").read_text(encoding="utf-8")
    # title from the first heading (no title block), links to sources become .html
    assert "<title>Overview of the service – CX Scorecard</title>" in h and 'class="title-block"' not in h
    assert '<a href="2026-10/r1/units/emea-paris.html">' in h and '<a href="history.html#top">' in h
    assert '<link rel="stylesheet" href="./assets/site.css">' in h and "plotly.min.js" not in h
    assert '<a href="./index.html" aria-current="page">Overview</a>' in h


@needs_poppler
def test_pdf_is_a4_with_table_and_statuses(site):
    pdf = site["out"] / UNIT_PAGE.with_suffix(".pdf")
    info = pdf_info(pdf)
    assert "(A4)" in info["Page size"] and info["Title"] == "Unit scorecard"
    assert "CreationDate" not in info and "ModDate" not in info
    text = squash(pdf_text(pdf))
    for cell in [
        "CSAT",
        "NPS",
        "First contact resolution",
        "Callback rate",
        "86.0",
        "1,234",
        "Customer",
        "Process",
        "✓ Green",
        "! Amber",
        "✕ Red",
        "– No data",
        "○ Low n",
        "Composite score",
        "72.4",
        "Data quality note for EMEA Paris",
        "Scorecard table",
    ]:
        assert cell in text, cell
    for hidden in ("STDERR-NOISE", "HIDDEN-OUTPUT", "SOURCE-CODE-MARKER"):
        assert hidden not in text
    # the chart is embedded as vector graphics (its axis labels are text in the PDF)
    assert "CSAT trend" in text


def test_pdf_is_pdf_ua_with_alt_text_on_every_figure(site):
    """Typst's PDF/UA-1 export: tagged, the title shown by viewers, every figure with alternative
    text saying what it shows."""
    pdf = site["out"] / UNIT_PAGE.with_suffix(".pdf")
    assert pdf_is_ua1(pdf) and b"/DisplayDocTitle true" in pdf.read_bytes()
    figures = pdf_figures(pdf)
    assert figures == ["CSAT trend"]


def test_rerender_is_byte_identical(site, tmp_path):
    out2 = tmp_path / "again"
    BuiltinRenderer(jobs=1).render(PROJECT_FILE, site["src"], [Page(UNIT_PAGE, pdf=True), Page(Path("index.md"))], out2)
    for rel in (UNIT_PAGE.with_suffix(".html"), UNIT_PAGE.with_suffix(".pdf"), Path("index.html")):
        assert (out2 / rel).read_bytes() == (site["out"] / rel).read_bytes(), rel


def test_second_render_does_not_rewrite_assets(site):
    written = BuiltinRenderer().render(PROJECT_FILE, site["src"], [Page(UNIT_PAGE)], site["out"])
    assert written == [site["out"] / UNIT_PAGE.with_suffix(".html")]


def test_pdf_only_page(site, tmp_path):
    written = BuiltinRenderer().render(PROJECT_FILE, site["src"], [Page(UNIT_PAGE, html=False, pdf=True)], tmp_path)
    assert written == [tmp_path / UNIT_PAGE.with_suffix(".pdf")]


@needs_poppler
def test_hostile_data_is_shown_not_executed(tmp_path, chart):
    src, out = tmp_path / "src", tmp_path / "out"
    nb = make_notebook(src / "bad.ipynb", chart[1], unit=HOSTILE[4], kpi=HOSTILE[0])
    book = nbformat.read(str(nb), as_version=4)
    for h in HOSTILE:
        book.cells.append(
            nbformat.v4.new_code_cell(
                "x",
                outputs=[
                    output({"text/markdown": f"MD: {md_escape(h)}", "text/plain": h}),
                    nbformat.v4.new_output("stream", name="stdout", text=f"OUT: {h}\n"),
                ],
            )
        )
    book.cells.append(nbformat.v4.new_code_cell("x", outputs=[output(table_bundle([{"k": h} for h in HOSTILE]))]))
    # a Markdown cell with raw HTML: shown as text, not passed through
    book.cells.append(nbformat.v4.new_markdown_cell("Cell with <script>alert(2)</script> inline"))
    nbformat.write(book, str(nb))
    BuiltinRenderer().render(PROJECT_FILE, src, [Page(nb, pdf=True)], out)
    h = (out / "bad.html").read_text(encoding="utf-8")
    assert "<script>alert(" not in h
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in h and "&lt;script&gt;alert(2)&lt;/script&gt;" in h
    # every <script> in the page is ours: plotly.js, the chart's newPlot, nav.js
    scripts = re.findall(r"<script\b[^>]*>", h)
    assert all(
        s
        in (
            '<script src="./assets/charts.js" defer>',
            "<script>",
            '<script type="text/javascript">',
            '<script src="./assets/nav.js" defer>',
        )
        for s in scripts
    ), scripts
    text = squash(pdf_text(out / "bad.pdf"))
    for h_ in HOSTILE:
        assert f"MD: {squash(h_)}" in text and f"OUT: {squash(h_)}" in text
    assert "<script>alert(2)</script>" in text


def test_heading_is_not_stranded_at_page_bottom(tmp_path):
    """Whatever the amount of text before it, a heading starts on the page of its next line."""
    pytest.importorskip("typst")
    import shutil
    import subprocess

    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    src, out = tmp_path / "src", tmp_path / "out"
    pages = []
    for n in range(36, 60):  # one of these puts the heading at the very bottom of page 1
        body = "\n\n".join(f"Filler paragraph {i}." for i in range(n))
        (src / f"p{n}.md").parent.mkdir(parents=True, exist_ok=True)
        (src / f"p{n}.md").write_text(f"---\ntitle: T\n---\n{body}\n\n## Sticky heading\n\nFirst line after.\n")
        pages.append(Page(Path(f"p{n}.md"), html=False, pdf=True))
    BuiltinRenderer().render(PROJECT_FILE, src, pages, out)
    crossed = 0
    for page in pages:
        pdf = out / page.source.with_suffix(".pdf")
        texts = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split(
            "\f"
        )
        where = {
            key: next(i for i, t in enumerate(texts) if key in t) for key in ("Sticky heading", "First line after")
        }
        assert where["Sticky heading"] == where["First line after"], page
        crossed += where["Sticky heading"] > 0
    assert crossed  # the range does push the heading onto page 2 at least once


def test_errors_name_the_page(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    with pytest.raises(RenderError, match="not under the source folder"):
        BuiltinRenderer().render(PROJECT_FILE, src, [Page(tmp_path / "elsewhere.ipynb")], tmp_path / "out")
    with pytest.raises(RenderError, match="missing.ipynb: no such page"):
        BuiltinRenderer().render(PROJECT_FILE, src, [Page(Path("missing.ipynb"))], tmp_path / "out")
    bad = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x", outputs=[output({"text/x-typst": '#panic("boom")'})])]
    )
    nbformat.write(bad, str(src / "bad.ipynb"))
    with pytest.raises(RenderError, match=r"bad.ipynb: Typst could not compile the PDF.*boom"):
        BuiltinRenderer().render(PROJECT_FILE, src, [Page(Path("bad.ipynb"), pdf=True)], tmp_path / "out")
    (src / "broken.ipynb").write_text("{not json")
    with pytest.raises(RenderError, match="broken.ipynb: cannot read the notebook"):
        BuiltinRenderer().render(PROJECT_FILE, src, [Page(Path("broken.ipynb"))], tmp_path / "out")


def test_project_file_margins_are_validated(tmp_path):
    from scorecard.render.project import read_site

    site = read_site(PROJECT_FILE)
    assert (
        site.title == "CX Scorecard"
        and site.paper == "a4"
        and site.margin == {"x": "18mm", "top": "16mm", "bottom": "18mm"}
    )
    assert [i.text for i in site.left] == ["Overview", "History", "Definitions", "More"]
    bad = tmp_path / "_quarto.yml"
    bad.write_text("format:\n  typst:\n    margin:\n      x: '1cm); #panic(\"x\")'\n")
    with pytest.raises(RenderError, match="margin.x"):
        read_site(bad)


def _png(width: int, height: int) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@needs_poppler
def test_png_and_plotly_json_outputs(tmp_path):
    import base64

    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    png = base64.b64encode(_png(40, 20)).decode()
    plotly_only = {
        "application/vnd.plotly.v1+json": {"data": [{"type": "bar", "y": [1, 2], "name": "</script>x"}], "layout": {}},
        "text/plain": "PLOTLY-FALLBACK-TEXT",
    }
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Images"),
            nbformat.v4.new_code_cell("x", outputs=[output({"image/png": png, "text/plain": "a grey box"})]),
            nbformat.v4.new_code_cell("fig.show()", outputs=[output(plotly_only)]),
        ]
    )
    nbformat.write(nb, str(src / "img.ipynb"))
    BuiltinRenderer().render(PROJECT_FILE, src, [Page(Path("img.ipynb"), pdf=True)], out)
    h = (out / "img.html").read_text()
    assert f'<img class="output-image" alt="a grey box" src="data:image/png;base64,{png}">' in h
    assert 'Plotly.newPlot("output-plot-2"' in h and '<script src="./assets/plotly.min.js">' in h
    assert "</script>x" not in h and "<title>Images – CX Scorecard</title>" in h
    text = pdf_text(out / "img.pdf")
    assert "PLOTLY-FALLBACK-TEXT" in text and "a grey box" not in text  # the PNG itself is shown


def test_two_sources_for_one_output_are_rejected(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.md").write_text("# A\n")
    nbformat.write(nbformat.v4.new_notebook(), str(src / "index.ipynb"))
    with pytest.raises(RenderError, match="same output"):
        BuiltinRenderer().render(PROJECT_FILE, src, [Page(Path("index.md")), Page(Path("index.ipynb"))], tmp_path / "o")


def test_pack_body_with_prefix_is_the_page_body_with_prefixed_images():
    """The pack reuses a page's converted body and puts its prefix into the image calls: the
    same Typst as converting with the prefix, and text that spells an image call stays text."""
    import base64

    from scorecard.render import pdf
    from scorecard.render.document import Document, Markdown, Output
    from scorecard.render.pandoc import convert, raw_block

    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50"></svg>'
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    )
    hostile = '#sc-image("output-0001.svg", 10pt, alt: "x") and \\#sc-image("output-0002.svg"'
    blocks = [
        Markdown(f"# Title\n\n{md_escape(hostile)}"),
        Output({"image/svg+xml": svg, "text/plain": "[chart: one]"}),
        Output({"text/markdown": hostile}),
        Output({"image/png": base64.b64encode(png).decode(), "text/plain": hostile}),
    ]
    doc = Document(Path("page.ipynb"), blocks=blocks)
    plain_body, plain_files = pdf.page_body(doc, "page")
    body, files = pdf.page_body(doc, "pack", prefix="part007-")

    expected_files: dict[str, bytes] = {}
    parts = []
    for i, block in enumerate(blocks):
        item = block if isinstance(block, Markdown) else pdf.output_typst(block, i, expected_files, "part007-")
        parts.append("\n\n" + item.text + "\n\n" if isinstance(item, Markdown) else raw_block(item, "typst"))
    assert body == convert("".join(parts), "typst")
    assert files == expected_files == {"part007-" + name: data for name, data in plain_files.items()}
    assert body.count('#sc-image("part007-output-') == 2
    assert len(re.findall(r'(?<!\\)#sc-image\("output-', plain_body)) == 2  # the text's stay escaped text


def test_svg_size_reads_the_root_element_in_any_attribute_order():
    from scorecard.render.html import svg_size

    assert svg_size('<svg class="main-svg" height="300" style="x" width="720px" xmlns="a"><rect width="9"/>') == (
        720.0,
        300.0,
    )
    assert svg_size('<svg width="720" height="300.5"><g/></svg>') == (720.0, 300.5)
    assert svg_size('<svg stroke-width="2" height="300"><rect width="9"/></svg>') is None  # not the root's width
