"""The site in a real headless Chromium (Playwright driving Debian's chromium), opened from
file:// and from a local HTTP server: no console or page errors, no request leaving the site,
charts shown as images with a text name and drawn by plotly when asked for, hostile names inert,
the navigation between periods, units and the history page landing where it should, no axe-core
accessibility violation on any page type, a light first view, and a unit page that prints on A4."""

from __future__ import annotations

import functools
import gzip
import re
import shutil
import subprocess
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import (
    COMMENT_UNIT,
    HOSTILE_NAMES,
    LATEST,
    PERIODS,
    Published,
    assert_clean,
    needs_browser,
    new_page,
    settle,
)

pytestmark = needs_browser

# Every page type of the site, with the page of that type the tests open (relative to the site
# root). A new page type gets the accessibility, description and favicon checks by being added here.
PAGE_TYPES = {
    "home": lambda pub: "index.html",
    "period": lambda pub: pub.entry(LATEST)["html"],
    "initiatives": lambda pub: pub.entry(LATEST)["initiatives_html"],
    "unit": lambda pub: pub.unit_entry(LATEST, COMMENT_UNIT)["html"],
    "history": lambda pub: "history.html",
    "definitions": lambda pub: "definitions.html",
    "data quality": lambda pub: "data-quality.html",
}
CHART_PAGES = ("home", "period", "unit")  # page types that show charts
FIRST_VIEW_BUDGET = 600_000  # bytes, gzipped: a unit page and everything it loads on first view
SCORECARD_HEADERS = (
    "KPI",
    "Trend",
    "Value",
    "Target",
    "Status",
    "vs previous",
    "vs year ago",
    "n",
    "95% interval",
    "Benchmark",
    "Weight",
)
A4_TEXT_WIDTH_PX = round((210 - 2 * 12) / 25.4 * 96)  # A4 portrait less the print stylesheet's margins

TREND_PERIODS = """() => {
  const div = document.querySelector('[data-chart="trends"] .plotly-graph-div');
  if (!div || !div.data) return null;
  const xs = new Set();
  for (const trace of div.data) for (const x of (trace.x || [])) {
    const m = /^(\\d{4}-\\d{2})/.exec(String(x));
    if (m) xs.add(m[1]);
  }
  return [...xs].sort();
}"""


def last_periods(period: str, n: int) -> list[str]:
    year, month = map(int, period.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(out)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def http_base(published: Published):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(published.site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(params=["file", "http"])
def base(request, published: Published) -> str:
    if request.param == "file":
        return published.site.resolve().as_uri() + "/"
    return request.getfixturevalue("http_base")


@pytest.fixture
def page(browser, base):
    page = new_page(browser, base)
    yield page
    page.context.close()


@pytest.fixture
def file_page(browser, published: Published):
    """A page for checks that do not depend on how the site is served."""
    page = new_page(browser, published.site.resolve().as_uri() + "/")
    yield page
    page.context.close()


def open_page(page, base: str, rel: str):
    page.goto(base + rel, wait_until="load")
    return page


def go_live(page) -> int:
    """Ask for every chart of the page interactively (its button), wait until plotly drew them."""
    buttons = page.locator("figure.chart .chart-live-button")
    count = buttons.count()
    for _ in range(count):
        buttons.first.click()  # the button goes once its chart is live
        page.wait_for_function("() => !document.querySelector('figure.chart .chart-live-button[disabled]')")
    settle(page)
    return count


def test_pages_load_without_errors_and_draw_their_charts(page, base, published: Published):
    for what, rel in PAGE_TYPES.items():
        open_page(page, base, rel(published))
        settle(page)
        if what in CHART_PAGES:
            images = page.locator("figure.chart img.chart-image")
            n = images.count()
            assert n >= 1, f"{what}: no chart"
            for i in range(n):
                assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"), (
                    f"{what}: image {i} not shown"
                )
                assert len(images.nth(i).get_attribute("alt") or "") > 20, f"{what}: chart {i} has no text name"
            assert page.evaluate("() => !!window.Plotly") is False, f"{what}: plotly.js loaded before it was asked for"
            assert go_live(page) == n, f"{what}: a chart without an interactive version"
            charts = page.locator(".plotly-graph-div")
            assert charts.count() == n, f"{what}: not every chart drawn interactively"
            for i in range(charts.count()):
                assert charts.nth(i).locator(".main-svg").count() >= 1, f"{what}: chart {i} not drawn"
        assert_clean(page, what)
    open_page(page, base, PAGE_TYPES["unit"](published))
    go_live(page)
    assert page.evaluate(TREND_PERIODS) == last_periods(LATEST, 13), "the trends chart shows 13 periods"


def test_hostile_names_are_inert_in_the_browser(file_page, published: Published):
    page, base = file_page, file_page.watch.base
    for period in PERIODS:
        for unit_id, name in HOSTILE_NAMES.items():
            open_page(page, base, published.unit_entry(period, unit_id)["html"])
            settle(page)
            assert name in page.title()
            assert name in page.locator("h1").first.text_content()
            assert_clean(page, f"{unit_id} {period}")
        open_page(page, base, published.entry(period)["html"])
        settle(page)
        for name in HOSTILE_NAMES.values():
            assert page.locator("main a", has_text=name).count() >= 1, f"no link reads {name!r}"
        assert_clean(page, f"period page {period}")


def test_chart_labels_show_hostile_names_literally(file_page, published: Published):
    page, base = file_page, file_page.watch.base
    open_page(page, base, published.entry(LATEST)["html"])
    go_live(page)
    labels = page.eval_on_selector_all(".plotly-graph-div text", "els => els.map(e => e.textContent)")
    for name in HOSTILE_NAMES.values():
        assert name in labels, f"no chart label reads {name!r}"
    assert_clean(page, "chart labels")


def _click(page, locator, what: str):
    assert locator.count() >= 1, f"no {what} link on {page.url}"
    with page.expect_navigation(wait_until="load"):
        locator.first.click()
    settle(page)


def test_navigation_period_unit_previous_next_history(page, base, published: Published):
    old, new = PERIODS[-2], PERIODS[-1]
    unit_new = published.unit_entry(new, COMMENT_UNIT)["html"]
    unit_old = published.unit_entry(old, COMMENT_UNIT)["html"]
    name = HOSTILE_NAMES[COMMENT_UNIT]

    open_page(page, base, published.entry(new)["html"])
    settle(page)
    assert new in page.title()
    _click(page, page.locator(f"main a[href$='{Path(unit_new).name}']"), "unit")
    assert page.url == base + unit_new
    assert name in page.title() and new in page.title()

    # nav.js (rewritten at each publish) adds the neighbours of a frozen page
    assert page.locator("a[rel~='next']").count() == 0, "the latest period has no next period"
    _click(page, page.locator("a[rel~='prev']"), "previous period")
    assert page.url == base + unit_old
    assert name in page.title() and old in page.title()
    _click(page, page.locator("a[rel~='next']"), "next period")
    assert page.url == base + unit_new

    _click(page, page.locator("#page-meta a", has_text=re.compile(r"^\s*Period")), "period")
    assert page.url == base + published.entry(new)["html"]
    _click(page, page.locator("a[rel~='prev']"), "previous period")
    assert page.url == base + published.entry(old)["html"]
    assert old in page.title()

    _click(page, page.locator("#page-meta a", has_text="History"), "history")
    assert page.url == base + "history.html"
    assert page.title().startswith("History")
    hrefs = page.eval_on_selector_all("main a", "els => els.map(a => a.getAttribute('href'))")
    for period in PERIODS:
        assert published.entry(period)["html"] in hrefs, f"history lacks {period}"
    _click(page, page.locator(f"main a[href='{published.entry(old)['html']}']"), f"period {old}")
    assert page.url == base + published.entry(old)["html"]

    _click(page, page.locator("header a", has_text="Latest"), "home")
    assert page.url == base + "index.html"
    assert new in page.title()
    _click(page, page.locator(f"main a[href$='{Path(unit_new).name}']"), "unit from the home page")
    assert page.url == base + unit_new
    assert_clean(page, "navigation")


# --------------------------------------------------------------------------- accessibility
@pytest.fixture(scope="module")
def axe():
    axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
    return axe_playwright.Axe()


@pytest.fixture
def http_page(browser, http_base):
    page = new_page(browser, http_base)
    yield page
    page.context.close()


@pytest.mark.parametrize("what", PAGE_TYPES)
def test_no_accessibility_violations(http_page, published: Published, axe, what):
    """axe-core (every rule it runs by default: WCAG 2.x A/AA and best practices) finds nothing,
    on first view and with the charts made interactive. Served over HTTP: axe reads the
    stylesheets, which a file:// page may not fetch."""
    page = http_page
    open_page(page, page.watch.base, PAGE_TYPES[what](published))
    settle(page)
    states = [("first view", None)] + ([("interactive charts", go_live)] if what in CHART_PAGES else [])
    for state, action in states:
        if action:
            action(page)
        violations = axe.run(page).response["violations"]
        assert not violations, f"{what} page ({state}):\n" + "\n".join(
            f"{v['id']}: {v['help']} ({len(v['nodes'])}×, e.g. {v['nodes'][0]['target']})" for v in violations
        )
    # the page says what it is (meta description) and has an icon that exists
    description = page.locator("meta[name=description]").get_attribute("content") or ""
    assert len(description) >= 20, f"{what}: meta description {description!r}"
    icon = page.locator("link[rel=icon]").get_attribute("href")
    target = (published.site / PAGE_TYPES[what](published)).parent / icon
    assert icon and target.resolve().is_file(), f"{what}: favicon {icon!r} missing"
    assert_clean(page, what)


def test_sparklines_say_what_they_show(file_page, published: Published, db):
    """Each sparkline's text name gives the KPI, the number of periods and the latest value."""
    page = file_page
    open_page(page, page.watch.base, PAGE_TYPES["unit"](published))
    names = page.eval_on_selector_all("td.spark svg[role=img]", "els => els.map(e => e.getAttribute('aria-label'))")
    kpis = [name for (name,) in db.execute("SELECT name FROM catalog").fetchall()]
    assert len(names) >= 10
    for name in names:
        assert any(name.startswith(f"{k}: trend over the last ") for k in kpis), name
        assert " to " in name and "highest" in name, name


# --------------------------------------------------------------------------- light pages
def test_unit_page_first_view_is_light(http_base, browser, published: Published):
    """Every byte a unit page loads on first view, as the browser requested it, gzipped: within
    the budget; plotly.js is not among them."""
    page = new_page(browser, http_base)
    loaded: dict[str, bytes] = {}
    page.on("response", lambda r: loaded.setdefault(r.url, b""))
    try:
        open_page(page, http_base, PAGE_TYPES["unit"](published))
        page.wait_for_load_state("networkidle")
        bodies = {}
        for url in loaded:
            rel = url[len(http_base) :].split("#")[0].split("?")[0]
            assert url.startswith(http_base) and (published.site / rel).is_file(), url
            bodies[rel] = (published.site / rel).read_bytes()
        total = sum(len(gzip.compress(b, 9)) for b in bodies.values())
        assert not any(rel.endswith("plotly.min.js") for rel in bodies), sorted(bodies)
        assert 10_000 < total <= FIRST_VIEW_BUDGET, (total, sorted(bodies))
        assert_clean(page, "first view")
    finally:
        page.context.close()


# --------------------------------------------------------------------------- print
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) not installed")
def test_unit_page_prints_on_a4(file_page, published: Published, tmp_path):
    """Under print media at the width of an A4 page's text, nothing sticks out; Chromium's own A4
    print holds every column of the scorecard table, starting on page 1."""
    page = file_page
    page.set_viewport_size({"width": A4_TEXT_WIDTH_PX, "height": 1000})
    page.emulate_media(media="print")
    open_page(page, page.watch.base, PAGE_TYPES["unit"](published))
    settle(page)
    width = page.evaluate("() => document.documentElement.clientWidth")
    assert width <= A4_TEXT_WIDTH_PX
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width, "the page scrolls sideways"
    wide = page.evaluate(
        """(limit) => [...document.querySelectorAll(
        'table, svg, img, figure, .chart, .kpi-cards, .table-wrap, .cell-output')]
      .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > limit + 1)
      .map(e => e.tagName + ' ' + (e.getAttribute('class') || '') + ' ' + Math.round(e.getBoundingClientRect().right))""",
        width,
    )
    assert not wide, f"wider than an A4 page: {wide}"
    pdf = tmp_path / "unit.pdf"
    pdf.write_bytes(page.pdf(format="A4", prefer_css_page_size=True, print_background=True))
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    lines = first.splitlines()
    at = next((i for i, line in enumerate(lines) if line.strip() == "Scorecard"), None)
    assert at is not None, "the scorecard table does not start on page 1"
    # the table's header: the lines after the heading up to the first blank line (headers may wrap)
    block = []
    for line in lines[at + 1 :]:
        if not line.strip() and block:
            break
        block.append(line)
    words = " ".join(block).split()
    for header in SCORECARD_HEADERS:
        assert all(w in words for w in header.split()), f"{header!r} not in the printed header {block}"
    assert_clean(page, "print")


# --------------------------------------------------------------------------- hierarchy
def _tree(db) -> dict[str, tuple[str, str | None]]:
    return {
        uid: (name, parent)
        for uid, name, parent in db.execute("SELECT unit_id, unit_name, parent_id FROM org_units").fetchall()
    }


def _composite(db, period: str, unit_id: str) -> str:
    (value,) = db.execute(
        "SELECT value FROM results WHERE period = ? AND unit_id = ? AND kpi_id = 'composite'", [period, unit_id]
    ).fetchone()
    return "–" if value is None or value != value else f"{value:.0f}"


def test_breadcrumbs_and_children_lead_through_the_tree(file_page, published: Published, db):
    """Every unit page: a breadcrumb from the company down to the unit whose links land on each
    ancestor's page of the same period; a parent lists each child with a working link, its
    composite and its status counts (read from the database)."""
    page, base = file_page, file_page.watch.base
    tree = _tree(db)
    for unit in published.entry(LATEST)["units"]:
        uid = unit["unit_id"]
        chain = [uid]
        while tree[chain[0]][1] is not None:
            chain.insert(0, tree[chain[0]][1])
        open_page(page, base, unit["html"])
        crumb = page.locator("nav.breadcrumb li")
        assert crumb.all_text_contents() == [tree[u][0] for u in chain], uid
        assert page.locator("nav.breadcrumb [aria-current=page]").text_content() == tree[uid][0]
        hrefs = page.eval_on_selector_all("nav.breadcrumb a", "els => els.map(a => a.href)")
        for ancestor, href in zip(chain[:-1], hrefs, strict=True):
            assert href == base + published.unit_entry(LATEST, ancestor)["html"], (uid, ancestor)
        kids = [u for u, (_, parent) in tree.items() if parent == uid]
        rows = page.locator("table:has(th:text-is('✓ Green')) tbody tr")
        assert rows.count() == len(kids), uid
        for i in range(rows.count()):
            cells = rows.nth(i).locator("td").all_text_contents()
            kid = next(k for k in kids if tree[k][0] == cells[0])
            link = rows.nth(i).locator("a")
            assert link.evaluate("a => a.href") == base + published.unit_entry(LATEST, kid)["html"]
            assert cells[1] == _composite(db, LATEST, kid), kid
            counts = dict(
                db.execute(
                    "SELECT status, count(*) FROM results WHERE period = ? AND unit_id = ? "
                    "AND kpi_id <> 'composite' GROUP BY ALL",
                    [LATEST, kid],
                ).fetchall()
            )
            assert [int(c) for c in cells[3:6]] == [counts.get(s, 0) for s in ("green", "amber", "red")], kid
    # one click through the breadcrumb: the company's page of the same period
    leaf = published.unit_entry(LATEST, COMMENT_UNIT)["html"]
    open_page(page, base, leaf)
    _click(page, page.locator("nav.breadcrumb a").first, "company")
    assert page.url == base + published.unit_entry(LATEST, chain_root(tree))["html"]
    assert_clean(page, "breadcrumbs")


def chain_root(tree) -> str:
    return next(u for u, (_, parent) in tree.items() if parent is None)


def test_period_overview_shows_units_as_a_tree(file_page, published: Published, db):
    page, base = file_page, file_page.watch.base
    tree = _tree(db)
    open_page(page, base, published.entry(LATEST)["html"])
    for unit in published.entry(LATEST)["units"]:
        uid = unit["unit_id"]
        item = page.locator(f"main li:has(> a[href='{Path(unit['html']).name}'])")
        assert item.count() == 1, uid
        depth = item.evaluate(
            "li => { let d = 0; for (let e = li.parentElement; e; e = e.parentElement) "
            "if (e.tagName === 'LI') d++; return d; }"
        )
        expected, u = 0, uid
        while tree[u][1] is not None:
            expected, u = expected + 1, tree[u][1]
        assert depth == expected, (uid, depth, expected)
        assert f"composite {_composite(db, LATEST, uid)}" in item.text_content()
    assert_clean(page, "tree")
