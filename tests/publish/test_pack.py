"""The period pack (one PDF per published period: the overview, then every unit's scorecard)
and the accessibility of every published PDF: bookmarks, contents, names and composites read
from the database, alternative text on every figure, PDF/UA-1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pdf_structure import pdf_bookmarks, pdf_figures, pdf_is_ua1

from .conftest import PERIODS, Published, parse_html, squash
from .test_pdf import composite_after_label, expected_composite

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdftohtml")), reason="poppler-utils not installed"
)


def units_in_tree_order(db) -> list[tuple[str, str]]:
    return db.execute("SELECT unit_id, unit_name FROM org_units ORDER BY sort_path").fetchall()


def pages_text(path: Path, first: int, last: int) -> str:
    import subprocess

    return subprocess.run(
        ["pdftotext", "-layout", "-f", str(first), "-l", str(last), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.mark.parametrize("period", PERIODS)
def test_pack_has_contents_a_bookmark_per_unit_and_each_composite(published: Published, db, period):
    entry = published.entry(period)
    pack = published.site / entry["pack"]
    assert entry["pack"] == str(Path(entry["html"]).parent / "pack.pdf") and pack.is_file()
    units = units_in_tree_order(db)
    marks = pdf_bookmarks(pack)
    assert [title for _, title in marks] == [f"Scorecard overview · {period}"] + [
        f"{name} · {period}" for _, name in units
    ]
    pages = [page for page, _ in marks]
    assert pages == sorted(pages) and len(set(pages)) == len(pages), "each part starts on a page of its own"
    contents = squash(pages_text(pack, 1, pages[0] - 1))
    assert "Contents" in contents
    for _, name in units:
        assert squash(name) in contents, f"{name!r} not in the table of contents"
    ends = [p - 1 for p in pages[1:]] + [10_000]
    for (unit_id, name), first, last in zip(units, pages[1:], ends[1:], strict=True):
        text = pages_text(pack, first, min(last, first + 8))
        assert squash(name) in squash(text), f"{name!r} not on its pages of the pack"
        assert composite_after_label(text) == expected_composite(db, period, unit_id), unit_id
    assert pdf_is_ua1(pack)
    assert all(pdf_figures(pack)), "a figure of the pack without alternative text"


@pytest.mark.parametrize("period", PERIODS)
def test_every_pdf_figure_has_alternative_text(published: Published, period):
    for unit in published.entry(period)["units"]:
        path = published.site / unit["pdf"]
        figures = pdf_figures(path)
        assert len(figures) >= 10 and all(figures), (unit["unit_id"], figures)  # sparklines and charts
        assert pdf_is_ua1(path), unit["unit_id"]
        assert b"/DisplayDocTitle true" in path.read_bytes(), unit["unit_id"]


def test_pack_is_linked_from_the_period_and_history_pages(published: Published):
    history = [a.attrs.get("href") for a in parse_html(published.site / "history.html").all("a")]
    for period in PERIODS:
        entry = published.entry(period)
        period_links = [a.attrs.get("href") for a in parse_html(published.site / entry["html"]).all("a")]
        assert "pack.pdf" in period_links, period
        assert entry["pack"] in history, period


def test_history_shows_each_units_composite_per_period_with_links(published: Published, db):
    """The history page: per unit, its composite in every published period, each a link to the
    unit's page of that period; every revision with its catalog version."""
    page = parse_html(published.site / "history.html")
    links = {a.attrs.get("href"): a.text for a in page.all("a")}
    for period in PERIODS:
        entry = published.entry(period)
        for unit in entry["units"]:
            assert unit["html"] in links, (period, unit["unit_id"])
            assert links[unit["html"]] == expected_composite(db, period, unit["unit_id"]), (period, unit["unit_id"])
    text = squash(page.main_text)
    (version,) = db.execute("SELECT value FROM meta WHERE key = 'catalog_version'").fetchone()
    for period in PERIODS:
        entry = published.entry(period)
        assert f"{period} | 1 |" not in text  # a rendered table, not Markdown source
        assert f"{period} 1 {entry['published_at'][:10]} {version}" in text, text[:400]
