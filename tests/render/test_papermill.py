"""End to end: papermill executes a tiny template using scorecard.report, then the builtin
renderer turns it into HTML + PDF (~8 s: a kernel start and kaleido's browser)."""

from __future__ import annotations

import json

import pytest

from scorecard.render import Page
from scorecard.render.builtin import BuiltinRenderer
from scorecard.report import chart_id

from .conftest import FIXTURES, PROJECT_FILE, needs_poppler, pdf_info, pdf_text, squash

papermill = pytest.importorskip("papermill")


@needs_poppler
def test_papermill_then_render(tmp_path):
    src, out = tmp_path / "reports", tmp_path / "_site"
    target = src / "2026-10" / "r1" / "units" / "emea-paris.ipynb"
    target.parent.mkdir(parents=True)
    papermill.execute_notebook(
        str(FIXTURES / "sample.ipynb"),
        str(target),
        parameters={"unit_name": "EMEA <Paris>", "hostile": ']#panic("x")['},
        request_save_on_cell_execute=False,
        progress_bar=False,
        kernel_name="python3",
    )
    outputs = [o for c in json.loads(target.read_text())["cells"] for o in c.get("outputs", [])]
    assert any("text/x-typst" in o.get("data", {}) for o in outputs)
    assert any("image/svg+xml" in o.get("data", {}) for o in outputs)

    BuiltinRenderer().render(PROJECT_FILE, src, [Page(target, pdf=True)], out)
    html = (out / "2026-10/r1/units/emea-paris.html").read_text(encoding="utf-8")
    assert f'id="{chart_id("trend-csat")}"' in html and "../../../assets/charts.js" in html
    assert "EMEA &lt;Paris&gt;" in html and "HIDDEN OUTPUT" not in html
    pdf = out / "2026-10/r1/units/emea-paris.pdf"
    assert "(A4)" in pdf_info(pdf)["Page size"]
    text = squash(pdf_text(pdf))
    for expected in (
        "EMEA <Paris>",
        ']#panic("x")[',
        "✓ Green",
        "✕ Red",
        "First contact resolution",
        "CSAT, last 13 months",
        "Data quality: 3 contacts",
    ):
        assert expected in text, expected
