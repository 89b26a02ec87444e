"""The executives' PDFs: one per (period, unit), with the unit's
name, its weighted KPIs and its composite score as the page shows it, read from the database."""

from __future__ import annotations

import re
import shutil

import pytest

from .conftest import HOSTILE_NAMES, PERIODS, Published, parse_html, pdf_text, squash

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) not installed")

NUMBER = re.compile(r"[+\-−]?\d+(?:[.,]\d+)?|–")


def expected_composite(db, period: str, unit_id: str) -> str:
    row = db.execute(
        "SELECT value FROM results WHERE period = ? AND unit_id = ? AND kpi_id = 'composite'", [period, unit_id]
    ).fetchone()
    value = row[0] if row else None
    return "–" if value is None or value != value else f"{value:.0f}"


def weighted_kpi_names(db, period: str, unit_id: str) -> list[str]:
    return [
        name
        for (name,) in db.execute(
            """
        SELECT c.name FROM targets t JOIN catalog c USING (kpi_id)
        WHERE t.period = ? AND t.unit_id = ? AND t.weight > 0 ORDER BY c.sort_order""",
            [period, unit_id],
        ).fetchall()
    ]


def composite_after_label(text: str) -> str:
    """The first number (or '–') after the 'Composite score' label in pdftotext -layout text."""
    at = text.find("Composite score")
    assert at >= 0, "no 'Composite score' in the PDF"
    rest = text[text.index("\n", at) :]
    for token in rest.split():
        if NUMBER.fullmatch(token):
            return token
    raise AssertionError("no number after the 'Composite score' label")


def html_composite(path) -> str:
    """The value of the page's composite-score card."""
    elements = parse_html(path).elements
    for i, el in enumerate(elements):
        if "kpi-label" in el.classes and el.text.startswith("Composite score"):
            return next(e for e in elements[i:] if "kpi-value" in e.classes).text
    raise AssertionError(f"{path}: no composite score card")


@pytest.mark.parametrize("period", PERIODS)
def test_each_unit_pdf_has_name_weighted_kpis_and_composite(published: Published, db, period):
    units = dict(db.execute("SELECT unit_id, unit_name FROM org_units").fetchall())
    entry = published.entry(period)
    assert {u["unit_id"] for u in entry["units"]} == set(units)
    checked_weights = 0
    for unit in entry["units"]:
        unit_id = unit["unit_id"]
        path = published.site / unit["pdf"]
        text = pdf_text(path)
        flat = squash(text)
        assert squash(units[unit_id]) in flat, f"{unit['pdf']}: no unit name {units[unit_id]!r}"
        assert period in flat
        names = weighted_kpi_names(db, period, unit_id)
        assert names, f"no weighted KPI for {unit_id} in {period}?"
        checked_weights += len(names)
        missing = [n for n in names if squash(n) not in flat]
        assert not missing, f"{unit['pdf']}: weighted KPIs missing: {missing}"
        composite = expected_composite(db, period, unit_id)
        assert composite_after_label(pdf_text(path, layout=True)) == composite, unit["pdf"]
        assert html_composite(published.site / unit["html"]) == composite, unit["html"]
    assert checked_weights >= len(entry["units"]) * 3


def test_pdfs_are_a4_and_linked_from_their_pages(published: Published):
    import subprocess

    for period in PERIODS:
        for unit in published.entry(period)["units"][:3]:
            info = subprocess.run(
                ["pdfinfo", str(published.site / unit["pdf"])], capture_output=True, text=True, check=True
            ).stdout
            size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
            assert size and abs(float(size.group(1)) - 595.3) < 2 and abs(float(size.group(2)) - 841.9) < 2, info
            doc = parse_html(published.site / unit["html"])
            pdf_name = unit["pdf"].rsplit("/", 1)[1]
            assert any(a.attrs.get("href") == pdf_name for a in doc.all("a")), f"{unit['html']} lacks a PDF link"


@pytest.mark.parametrize("unit_id", sorted(HOSTILE_NAMES))
def test_hostile_names_compile_and_read_literally_in_the_pdf(published: Published, unit_id):
    for period in PERIODS:
        path = published.site / published.unit_entry(period, unit_id)["pdf"]
        assert path.read_bytes()[:5] == b"%PDF-"
        text = squash(pdf_text(path))
        assert squash(HOSTILE_NAMES[unit_id]) in text, text[:400]


def test_benchmark_caveats_are_footnotes_on_the_page_and_in_the_pdf(published: Published, db):
    """Each benchmark the comparison table shows carries its note and link as a footnote, in the
    HTML page and in the PDF (the notes are read from the database, not restated here)."""
    period = PERIODS[-1]
    unit_id = db.execute("SELECT unit_id FROM org_units WHERE parent_id IS NULL").fetchone()[0]
    shown = db.execute(
        """SELECT DISTINCT c.bench_source, c.bench_note, c.bench_url FROM comparisons c
           WHERE c.period = ? AND c.unit_id = ? AND c.kpi_id <> 'volume' AND c.value IS NOT NULL
             AND c.bench_note IS NOT NULL""",
        [period, unit_id],
    ).fetchall()
    assert shown, "the demo's packaged benchmarks carry notes"
    unit = published.unit_entry(period, unit_id)

    # compared without white space and hyphens: the PDF breaks long notes and links across lines
    # (at a hyphen, which pdftotext then drops)
    def flat(text: str) -> str:
        return re.sub(r"[\s-]+", "", text)

    page = flat(parse_html(published.site / unit["html"]).main_text)
    pdf = flat(pdf_text(published.site / unit["pdf"]))
    for source, note, url in shown:
        for where, text in (("page", page), ("pdf", pdf)):
            assert flat(note) in text, f"{where}: note of {source} missing"
            assert flat(url) in text, f"{where}: link of {source} missing"
