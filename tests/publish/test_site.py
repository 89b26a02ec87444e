"""The published site as files: every internal link resolves, nothing needs the network, hostile
unit names and comments are shown literally, and no personal data is published."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from .conftest import (
    COMMENT_UNIT,
    EMAIL,
    HOSTILE_COMMENTS,
    HOSTILE_NAMES,
    LATEST,
    PERIODS,
    PII,
    PII_COMMENTS,
    UNITS,
    Published,
    parse_html,
    pdf_text,
    squash,
)

# attributes that point at another file (the browser test checks what scripts add)
URL_ATTRS = {"href", "src", "poster", "data", "action", "formaction"}
# elements whose URL the browser fetches to show the page (a network URL there breaks offline use)
RESOURCE_TAGS = {"script", "link", "img", "iframe", "source", "video", "audio", "embed", "object", "track", "input"}
TEXT_SUFFIXES = {".html", ".js", ".css", ".json", ".csv", ".svg", ".txt", ".xml", ".typ", ".md"}


def html_pages(site: Path) -> list[Path]:
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= len(PERIODS) * (1 + len(UNITS)) + 4, [p.relative_to(site).as_posix() for p in pages]
    return pages


def _ids(path: Path, cache: dict) -> set[str]:
    if path not in cache:
        cache[path] = {e.attrs["id"] for e in parse_html(path).elements if e.attrs.get("id")}
    return cache[path]


def test_every_internal_link_resolves_and_nothing_needs_the_network(published: Published):
    site = published.site.resolve()
    broken, network, ids, checked = [], [], {}, 0
    for page in html_pages(site):
        doc = parse_html(page)
        where = page.relative_to(site).as_posix()
        for el in doc.elements:
            for attr, value in el.attrs.items():
                if attr not in URL_ATTRS or value is None:
                    continue
                url = value.strip()
                parts = urlsplit(url)
                scheme = parts.scheme.lower()
                if scheme == "data":
                    continue
                if scheme == "javascript":
                    broken.append(f"{where}: <{el.tag} {attr}={url!r}> (javascript: URL)")
                    continue
                if scheme in ("http", "https", "ftp") or url.startswith("//"):
                    if el.tag in RESOURCE_TAGS:  # a link to another site is fine; a resource from it is not
                        network.append(f"{where}: <{el.tag} {attr}={url!r}>")
                    continue
                if scheme in ("mailto", "tel"):
                    continue
                assert not scheme, f"{where}: unexpected URL scheme in {url!r}"
                if url.startswith("/"):
                    broken.append(f"{where}: {url!r} is absolute: breaks under file:// and in a sub-folder")
                    continue
                checked += 1
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
                if site not in target.parents and target != site:
                    broken.append(f"{where}: {url!r} leaves the site")
                elif not target.is_file():
                    broken.append(
                        f"{where}: {url!r} -> missing {target.relative_to(site) if site in target.parents else target}"
                    )
                elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _ids(target, ids):
                    broken.append(f"{where}: {url!r}: no element with id {parts.fragment!r}")
    assert not broken, "\n".join(broken)
    assert checked > 8 * len(html_pages(site)), checked  # navbar, stylesheet, scripts, history links...
    assert not network, "resources fetched from the network (the site must work offline):\n" + "\n".join(network)


def test_stylesheets_need_no_network(published: Published):
    for css in published.site.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        assert "@import" not in text or not re.search(r"@import\s+(url\()?['\"]?(https?:)?//", text), css
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", text):
            if url.startswith("data:") or url.startswith("#"):
                continue
            assert not re.match(r"(https?:)?//", url), f"{css}: {url}"
            assert (css.parent / url.split("#")[0].split("?")[0]).is_file(), f"{css}: {url}"


def test_nav_script_points_at_existing_pages(published: Published):
    """assets/nav.js holds the published periods; every page it can link to exists."""
    import json

    text = (published.site / "assets" / "nav.js").read_text(encoding="utf-8")
    data = json.loads(re.search(r"window\.SCORECARD_NAV\s*=\s*(\{.*?\});\n", text).group(1))
    assert [p["period"] for p in data["periods"]] == list(PERIODS)
    for period in data["periods"]:
        assert (published.site / period["html"]).is_file()
        assert len(period["units"]) == len(UNITS)
        for href in period["units"].values():
            assert (published.site / href).is_file(), href


def _all_text(site: Path) -> dict[str, str]:
    """Every file's text as a reader (or a crawler) gets it: PDFs through pdftotext."""
    texts = {}
    for path in sorted(site.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(site).as_posix()
        if path.suffix == ".pdf":
            texts[rel] = pdf_text(path)
        elif path.suffix in TEXT_SUFFIXES or path.suffix == "":
            texts[rel] = path.read_text(encoding="utf-8", errors="replace")
        else:
            texts[rel] = path.read_bytes().decode("latin-1")
    return texts


def test_no_personal_data_anywhere_in_the_site(published: Published):
    texts = _all_text(published.site)
    assert any(rel.endswith(".pdf") for rel in texts)
    leaks = [f"{rel}: {pii!r}" for rel, text in texts.items() for pii in PII if pii in text or pii in squash(text)]
    assert not leaks, "\n".join(leaks)
    emails = [
        f"{rel}: {m.group(0)}"
        for rel, text in texts.items()
        if rel != "assets/plotly.min.js"
        for m in EMAIL.finditer(text)
    ]
    assert not emails, "\n".join(emails)


def test_no_personal_data_in_the_executed_notebooks(published: Published):
    """reports/ (kept after a run, for inspection) gets the same masked comments."""
    notebooks = list(published.ws.reports.rglob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        text = nb.read_text(encoding="utf-8")
        assert not [pii for pii in PII if pii in text], nb


@pytest.mark.parametrize("period", PERIODS)
def test_hostile_unit_names_are_shown_literally(published: Published, period):
    for unit_id, name in HOSTILE_NAMES.items():
        unit = published.unit_entry(period, unit_id)
        doc = parse_html(published.site / unit["html"])
        assert name in doc.title, doc.title
        h1 = doc.first("h1")
        assert name in h1.text and period in h1.text, h1.text
        _no_injected_markup(doc)
        overviews = [published.site / published.entry(period)["html"]]
        if period == LATEST:
            overviews.append(published.site / "index.html")  # the home page shows the latest period
        for overview in overviews:
            page = parse_html(overview)
            links = [a for a in page.all("a") if a.text == name]
            assert links, f"{overview}: no link reads {name!r}"
            assert any(a.attrs["href"].endswith(Path(unit["html"]).name) for a in links)
            _no_injected_markup(page)


def _no_injected_markup(doc):
    for el in doc.elements:
        for attr, value in el.attrs.items():
            if attr.startswith("on") or attr in URL_ATTRS:
                assert "__pwned" not in (value or ""), f"{doc.path}: <{el.tag} {attr}={value!r}>"
        if el.tag == "script":
            assert el.text not in ("alert(1)", "alert(2)"), f"{doc.path}: injected script"
            assert "src" in el.attrs or "Plotly" in el.text or "plotly" in el.text.lower(), (
                f"{doc.path}: unexpected inline script {el.text[:120]!r}"
            )
        if el.tag == "img":
            assert el.attrs.get("src") != "x", f"{doc.path}: injected <img>"
        if el.tag == "b":
            assert el.text != "b", f"{doc.path}: injected <b>"


def _comment_cells(doc) -> list[str] | None:
    """The cells of the comment column of the unit page's table of customer comments (not the
    owners' comments); None if there is none."""
    # tables are flat in our element list: find the header cell, then the cells of its table
    elements = doc.elements
    for i, el in enumerate(elements):
        if el.tag == "th" and el.text.lower().startswith("comment (personal data masked)"):
            start = max(j for j in range(i) if elements[j].tag == "table")
            header = [e for e in elements[start:] if e.tag == "th"]
            column = next(k for k, th in enumerate(header) if th is el)
            cells, row = [], None
            for e in elements[i + 1 :]:
                if e.tag == "table":
                    break
                if e.tag == "tr":
                    row = []
                    cells.append(row)
                elif e.tag == "td" and row is not None:
                    row.append(e.text)
            return [r[column] for r in cells if len(r) > column]
    return None


def test_survey_comments_are_shown_literally_and_masked(published: Published):
    unit = published.unit_entry(LATEST, COMMENT_UNIT)
    doc = parse_html(published.site / unit["html"])
    cells = _comment_cells(doc)
    if cells is None:
        pytest.skip("the unit page shows no survey comments: nothing to check beyond the absence of personal data")
    assert cells, "a comment table without rows"
    for cell in cells:
        if cell in HOSTILE_COMMENTS:
            continue
        assert cell.startswith(tuple(c.split(" ")[0] + " " for c in PII_COMMENTS)), (
            f"comment shown altered (markup interpreted?): {cell!r}"
        )
        assert "[email]" in cell or "[phone]" in cell, cell
    text = squash(pdf_text(published.site / unit["pdf"]))
    for cell in cells:
        assert squash(cell) in text, f"PDF lacks the comment {cell!r}"


def test_no_pandoc_worker_outlives_a_publish(published: Published):
    """The API publish converted Markdown in this process; its pandoc workers are gone."""
    import os

    from scorecard.render import pandoc

    assert pandoc.worker_count() == 0
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"lua" in cmdline[1:2]:
            children.append(cmdline)
    assert children == []
