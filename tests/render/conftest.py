"""Fixtures for the renderer tests: executed notebooks built in-process from the display
helpers' bundles (no kernel needed), a sample _quarto.yml and PDF inspection helpers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from scorecard.report import Col, chart_bundle, kpi_cards_bundle, md_escape, table_bundle

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT_FILE = FIXTURES / "_quarto.yml"

# strings that try to break out of HTML, Typst markup, Typst strings, Markdown
HOSTILE = [
    "#set page(fill: red)",
    ']#panic("x")[',
    "$x^2$ and $",
    "@ref <label>",
    "<script>alert(1)</script>",
    "back\\slash \\\\ \\u{41} \\",
    "quote \" and 'single'",
    "// line comment",
    "/* block comment",
    "*bold* _em_ `raw` ~tilde~",
    "= not a heading",
    '#read("/etc/passwd")',
    "a & b < c > d | e",
]

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdfinfo")), reason="poppler-utils not installed"
)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def pdf_info(path: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines()) if v}


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="session")
def chart():
    """One real chart bundle (kaleido SVG): ~3 s for the first export of the session."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=["2026-08", "2026-09", "2026-10"], y=[81, 84, 86], name="CSAT"))
    fig.update_layout(title="CSAT trend", width=640, height=300)
    return fig, chart_bundle(fig, "trend-csat")


def output(bundle: dict) -> dict:
    return nbformat.v4.new_output("display_data", data=bundle)


def make_notebook(
    path: Path,
    chart_bundle_: dict,
    *,
    unit: str = "EMEA Paris",
    kpi: str = "CSAT",
    title: str | None = "Unit scorecard",
) -> Path:
    """An 'executed' notebook holding the bundles our display helpers emit."""
    rows = [
        {"perspective": "Customer", "kpi": kpi, "value": 86.0, "target": 85.0, "status": "green", "n": 1234},
        {"perspective": "Customer", "kpi": "NPS", "value": 31.0, "target": 35.0, "status": "amber", "n": 812},
        {
            "perspective": "Process",
            "kpi": "First contact resolution",
            "value": 61.0,
            "target": 70.0,
            "status": "red",
            "n": 2210,
        },
        {"perspective": "Process", "kpi": "Callback rate", "value": None, "target": 5.0, "status": "no-data", "n": 0},
        {"perspective": "People", "kpi": "Attrition", "value": 12.5, "target": None, "status": "low-n", "n": 7},
    ]
    cols = [
        Col("kpi", "KPI"),
        Col("value", "Value", "right"),
        Col("target", "Target", "right"),
        Col("status", "Status", kind="status"),
        Col("n", "n", "right"),
    ]
    v4 = nbformat.v4
    cells = []
    if title is not None:
        cells.append(v4.new_raw_cell(f'---\ntitle: "{title}"\nsubtitle: "Sample period"\n---'))
    cells += [
        v4.new_code_cell('unit = "x"', metadata={"tags": ["parameters"]}),
        v4.new_code_cell("from scorecard.report import *  # SOURCE-CODE-MARKER"),
        v4.new_code_cell(
            "show_markdown(...)",
            outputs=[output({"text/markdown": f"Scorecard of **{md_escape(unit)}**.", "text/plain": unit})],
        ),
        v4.new_markdown_cell("## Headline"),
        v4.new_code_cell(
            "show_kpi_cards(...)",
            outputs=[
                output(
                    kpi_cards_bundle(
                        [
                            {"label": "Composite score", "value": "72.4", "status": "amber", "note": "target 75"},
                            {"label": "CSAT", "value": "86 %", "status": "green"},
                        ]
                    )
                )
            ],
        ),
        v4.new_markdown_cell("## Scorecard"),
        v4.new_code_cell(
            "show_table(...)",
            outputs=[output(table_bundle(rows, cols, group_by="perspective", caption="Scorecard table"))],
        ),
        v4.new_markdown_cell("## Trend"),
        v4.new_code_cell("show_chart(...)", outputs=[output(chart_bundle_)]),
        v4.new_code_cell(
            "print(...)", outputs=[v4.new_output("stream", name="stdout", text=f"Data quality note for {unit}\n")]
        ),
        v4.new_code_cell("import warnings", outputs=[v4.new_output("stream", name="stderr", text="STDERR-NOISE\n")]),
        v4.new_code_cell(
            "#| include: false\nprint('x')", outputs=[v4.new_output("stream", name="stdout", text="HIDDEN-OUTPUT\n")]
        ),
        v4.new_code_cell(
            "print('y')",
            metadata={"tags": ["remove-output"]},
            outputs=[v4.new_output("stream", name="stdout", text="REMOVED-OUTPUT\n")],
        ),
    ]
    nb = v4.new_notebook(cells=cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
