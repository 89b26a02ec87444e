"""The site in a real headless Chromium (Playwright driving Debian's chromium), opened from
file:// and from a local HTTP server: no console or page errors, no request leaving the site,
plotly charts drawn, hostile names inert, and the navigation between periods, units and the
history page landing where it should."""

from __future__ import annotations

import functools
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import (COMMENT_UNIT, HOSTILE_NAMES, LATEST, PERIODS, Published, assert_clean, needs_browser,
                       new_page, settle)

pytestmark = needs_browser

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


def test_pages_load_without_errors_and_draw_their_charts(page, base, published: Published):
    unit = published.unit_entry(LATEST, COMMENT_UNIT)
    for rel, what in (("index.html", "home page"), (published.entry(LATEST)["html"], "period page"),
                      (unit["html"], "unit page"), ("history.html", "history page"),
                      ("definitions.html", "definitions page"), ("data-quality.html", "data-quality page")):
        open_page(page, base, rel)
        settle(page)
        if what in ("home page", "period page", "unit page"):
            charts = page.locator(".plotly-graph-div")
            assert charts.count() >= 1, f"{what}: no chart"
            for i in range(charts.count()):
                assert charts.nth(i).locator(".main-svg").count() >= 1, f"{what}: chart {i} not drawn"
        assert_clean(page, what)
    open_page(page, base, unit["html"])
    settle(page)
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
    settle(page)
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
