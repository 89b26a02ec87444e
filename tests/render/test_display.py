"""scorecard.report: escaping, bundles, determinism."""

from __future__ import annotations

import html
import re
import subprocess

import pytest
import typst

from scorecard.render.pandoc import pandoc_path
from scorecard.report import (
    STATUSES,
    Col,
    chart_bundle,
    chart_id,
    kpi_cards_bundle,
    md_escape,
    table_bundle,
    typst_escape,
    typst_str,
)

from .conftest import HOSTILE, needs_poppler, pdf_text, squash

CONTROL = ["nul \x00 bell \x07 esc \x1b del \x7f", "line\nbreak\r\ttab", "lone surrogate \ud800 end"]


def _compile(tmp_path, source: str) -> bytes:
    main = tmp_path / "main.typ"
    main.write_text(source, encoding="utf-8", errors="surrogatepass")
    return typst.Compiler().compile(input=str(main), root=str(tmp_path), format="pdf")


@pytest.mark.parametrize("value", HOSTILE + CONTROL)
def test_typst_str_round_trips_exactly(tmp_path, value):
    # the literal's value, read back through Typst itself, is exactly the input
    main = tmp_path / "main.typ"
    main.write_text(f"#metadata({typst_str(value)}) <v>\n", encoding="utf-8")
    got = typst.query(str(main), "<v>", field="value", one=True, root=str(tmp_path), ignore_system_fonts=True)
    import json

    expected = value.replace("\ud800", "\ufffd")
    assert json.loads(got) == expected


@needs_poppler
def test_typst_escape_shows_hostile_text_literally(tmp_path):
    body = "\n\n".join(f"Case {i}: {typst_escape(h)}.tail{i}" for i, h in enumerate(HOSTILE))
    pdf = _compile(tmp_path, '#set page(paper: "a4")\n' + body + "\n")
    (tmp_path / "out.pdf").write_bytes(pdf)
    text = squash(pdf_text(tmp_path / "out.pdf"))
    for i, h in enumerate(HOSTILE):
        # printed as-is, followed by the text after it: nothing was executed or swallowed
        assert f"Case {i}: {squash(h)}.tail{i}" in text


def test_typst_escape_control_characters_compile(tmp_path):
    _compile(tmp_path, "".join(typst_escape(c) for c in CONTROL))


def test_md_escape_survives_pandoc():
    for h in HOSTILE:
        for to in ("plain", "html5"):
            out = subprocess.run(
                [pandoc_path(), "-f", "markdown", "-t", to, "--wrap=none"],
                input=md_escape(h),
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            if to == "plain":
                assert squash(out) == squash(h)
            else:
                assert "<script" not in out and squash(html.unescape(re.sub(r"<[^>]+>", "", out))) == squash(h)


ROWS = [
    {"group": "Customer", "kpi": h, "value": 1.5, "status": s}
    for h, s in zip(HOSTILE, ["green", "amber", "red", "low-n", "no-data", "no-target"] * 3, strict=False)
]
COLS = [Col("kpi", "KPI <b>"), Col("value", "Value", "right", status="status"), Col("status", "Status", kind="status")]


def test_table_html_escapes_and_marks_status():
    h = table_bundle(ROWS, COLS, group_by="group", caption="<i>cap</i>")["text/html"]
    assert "<script>" not in h and "&lt;script&gt;alert(1)&lt;/script&gt;" in h
    assert "<i>cap" not in h and "KPI &lt;b&gt;" in h
    for key, style in STATUSES.items():
        assert f"status-{key}" in h
        # status word and symbol in the cell, not colour alone
        assert re.search(
            rf'class="[^"]*status-{key}"[^>]*>.*?{re.escape(html.escape(style.symbol))}.*?{re.escape(style.label)}', h
        )
    assert 'class="group-row"' in h and h.count("<tr") == len(ROWS) + 2


@needs_poppler
def test_table_typst_compiles_with_hostile_cells(tmp_path):
    b = table_bundle(ROWS, COLS, group_by="group", caption="#cap]")
    pdf = _compile(tmp_path, '#set page(paper: "a4", flipped: true)\n' + b["text/x-typst"])
    (tmp_path / "t.pdf").write_bytes(pdf)
    text = squash(pdf_text(tmp_path / "t.pdf"))
    for h in HOSTILE:  # pdftotext may drop spaces inside narrow table cells
        assert "".join(h.split()) in "".join(text.split())
    for style in STATUSES.values():
        assert f"{style.symbol} {style.label}" in text
    assert "#cap]" in text and "Customer" in text


def test_table_markdown_and_plain():
    b = table_bundle(ROWS, COLS)
    assert b["text/plain"].splitlines()[0].startswith("KPI <b>")
    md = subprocess.run(
        [pandoc_path(), "-f", "markdown", "-t", "html5"],
        input=b["text/markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "<table>" in md and "<script" not in md and "Green" in md


def test_table_formats_values():
    rows = [{"a": 1234567, "b": 0.5, "c": None, "d": float("nan"), "e": "x"}]
    b = table_bundle(rows, [Col("a"), Col("b", fmt="{:.0%}"), Col("c"), Col("d"), Col("e", fmt=str.upper)])
    assert "1,234,567" in b["text/plain"] and "50%" in b["text/plain"] and "X" in b["text/plain"]
    assert b["text/plain"].count("\u2013") == 2


def test_table_accepts_dataframe():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"kpi": ["CSAT"], "status": ["red"]})
    assert "status-red" in table_bundle(df, [Col("kpi"), Col("status", kind="status")])["text/html"]


def test_col_rejects_bad_width():
    with pytest.raises(ValueError):
        Col("x", width="1fr) #panic(")


def test_kpi_cards_compile(tmp_path):
    b = kpi_cards_bundle([{"label": h, "value": h, "status": "red", "note": h} for h in HOSTILE[:4]])
    _compile(tmp_path, b["text/x-typst"])
    assert "<script>" not in b["text/html"]


def test_chart_bundle_is_deterministic(chart):
    fig, first = chart
    second = chart_bundle(fig, "trend-csat")
    assert first == second  # same figure -> same bytes, incl. the static SVG
    assert f'id="{chart_id("trend-csat")}"' in first["text/html"]
    assert '"displaylogo":false' in first["text/html"].replace(" ", "")
    assert "plotly.js v" not in first["text/html"] and len(first["text/html"]) < 100_000  # no inlined plotly.js
    assert first["image/svg+xml"].startswith("<svg") and first["text/plain"] == "[chart: CSAT trend]"
    other = chart_bundle(fig, "other-name")
    assert chart_id("other-name") in other["text/html"] and other["image/svg+xml"] != first["image/svg+xml"]


def test_empty_tables_compile(tmp_path):
    for b in (table_bundle([]), table_bundle([], [Col("a"), Col("s", kind="status")], caption="Empty #x")):
        _compile(tmp_path, b["text/x-typst"])
        assert b["text/plain"]


def test_sparklines_carry_their_text_name_in_html_and_typst():
    rows = [
        {"kpi": "CSAT <b>", "trend": [80.0, None, 70.25, 90.0], "label": "CSAT <b>: from 80 to 90"},
        {"kpi": "NPS", "trend": [1, 2, 3]},
    ]
    bundle = table_bundle(rows, [Col("kpi"), Col("trend", kind="spark", fmt="{:.1f}", label_key="label")])
    html_ = bundle["text/html"]
    assert 'role="img" aria-label="CSAT &lt;b&gt;: from 80 to 90"><title>CSAT &lt;b&gt;: from 80 to 90</title>' in html_
    # without a label: a sentence from the numbers, formatted with the column's fmt
    assert 'aria-label="trend over the last 3 periods: from 1.0 to 3.0, lowest 1.0, highest 3.0"' in html_
    typst = bundle["text/x-typst"]
    assert 'alt: "CSAT <b>: from 80 to 90"' in typst
    assert 'alt: "trend over the last 3 periods: from 1.0 to 3.0, lowest 1.0, highest 3.0"' in typst
    # a wide table's wrapper can be reached by keyboard and is named
    assert '<div class="table-wrap" tabindex="0" role="group" aria-label="Table: kpi, trend">' in html_
