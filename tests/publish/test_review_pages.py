"""The review loop on the site-wide pages of a restated site (tests/publish/review_fixture.py):
the initiatives page (numbers, verdicts, hostile names inert, charts with text names, valid HTML,
no accessibility violation) and, on the period overview, a child KPI red long enough to reach the
parent unit's accountable owner. Expected values are read from the database, not from the page
code."""

from __future__ import annotations

import html
import re
import subprocess

import pytest

from .conftest import LATEST, Published, assert_clean, needs_browser, new_page, parse_html, settle, squash
from .review_fixture import HOSTILE_INITIATIVE, KB, PROVISIONAL, RED_KPI, RED_PARENT, RED_UNIT, restated  # noqa: F401
from .test_html_valid import _vnu_jar


def _section(path, heading: str) -> str:
    """The HTML from a heading (its first words: pandoc curls apostrophes) to the end of the
    table that follows it."""
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    return text[start : text.index("</table>", start)]


def _rows(section: str) -> list[str]:
    """Each table row's text, whitespace squashed."""
    return [squash(html.unescape(re.sub(r"<[^>]+>", " ", "<tr" + tr))) for tr in section.split("<tr")[1:]]


def _red_streak(con, unit_id: str, kpi_id: str, period: str) -> int:
    """Months in a row up to `period` with status red, from the results table."""
    statuses = con.execute(
        "SELECT period, status FROM results WHERE unit_id = ? AND kpi_id = ? AND period <= ? ORDER BY period DESC",
        [unit_id, kpi_id, period],
    ).fetchall()
    streak = 0
    for _period, status in statuses:
        if status != "red":
            break
        streak += 1
    return streak


def test_overview_escalates_a_long_red_child_to_the_parents_accountable_owner(restated: Published):  # noqa: F811
    with restated.ws.db() as con:
        streak = _red_streak(con, RED_UNIT, RED_KPI, LATEST)
        periods = int(restated.ws.config().escalation_periods)
        names = dict(con.execute("SELECT unit_id, unit_name FROM org_units").fetchall())
        kpi_name = con.execute("SELECT name FROM catalog WHERE kpi_id = ?", [RED_KPI]).fetchone()[0]
        accountable = con.execute(
            "SELECT accountable FROM targets WHERE period = ? AND unit_id = ? AND kpi_id = ?",
            [LATEST, RED_PARENT, RED_KPI],
        ).fetchone()[0]
    assert streak >= 2 * periods, f"the fixture's rule should keep {RED_UNIT} red: {streak} months"
    assert accountable
    for page in (restated.entry(LATEST, 2)["html"], "index.html"):
        rows = _rows(_section(restated.site / page, "Escalations"))
        ours = [r for r in rows if r.startswith(names[RED_UNIT]) and kpi_name in r]
        assert len(ours) == 1, (page, rows)
        assert f"{kpi_name} {streak} " in ours[0], ours[0]
        assert ours[0].endswith(f"{accountable} (parent unit: {names[RED_PARENT]})"), ours[0]
        # shorter streaks stay with the unit's own accountable owner
        for row in rows[1:]:
            months = int(re.search(r" (\d+) \d{4}-\d{2} ", row).group(1))
            assert ("(parent unit: " in row) == (
                months >= 2 * periods and not row.startswith(names["Northwind Service"])
            ), row


def test_initiatives_page_shows_every_initiative_with_its_verdict(restated: Published):  # noqa: F811
    entry = restated.entry(LATEST, 2)
    page = restated.site / entry["initiatives_html"]
    doc = parse_html(page)
    assert doc.first("h1").text == f"Initiatives · {LATEST}"
    main = doc.main_text
    with restated.ws.db() as con:
        impact = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT initiative_id, verdict, provisional, months_after, window_months FROM initiative_impact "
                "WHERE period = ?",
                [LATEST],
            ).fetchall()
        }
        treated = con.execute("SELECT unit_name FROM org_units WHERE unit_id = ?", [PROVISIONAL["unit_id"]]).fetchone()
    rows = _rows(_section(page, "Impact against the control group"))
    for spec in (KB, PROVISIONAL):
        verdict, provisional, after, window = impact[spec["initiative_id"]]
        row = next(r for r in rows if r.startswith(squash(spec["name"])))
        shown = f"{verdict} (provisional)" if provisional else verdict
        assert row.endswith(shown), row
        assert f"{after} of {window}" in row and spec["start"] in row, row
    assert squash(treated[0]) in main
    # n per cell and the naive change beside the impact
    assert len(re.findall(r"\(n [\d,]+\)", main)) >= 8
    assert "Naive change" in main and "95% interval" in main
    # the hostile name is text: no element came out of it, in the table, the headings or the chart
    assert squash(HOSTILE_INITIATIVE) in main
    assert not [e for e in doc.all("script") if e.text == "alert(3)"]
    assert not [e for e in doc.all("img") if e.attrs.get("src") == "x"]
    charts = doc.all("img", "chart-image")
    assert len(charts) == 2 and all(
        HOSTILE_INITIATIVE in c.attrs["alt"] or "Callback" in c.attrs["alt"] for c in charts
    )
    # linked from the overview of the same revision; the latest's copy at the site root
    assert 'href="initiatives.html"' in (restated.site / entry["html"]).read_text(encoding="utf-8")
    assert parse_html(restated.site / "initiatives.html").first("h1").text == f"Initiatives · {LATEST}"


@pytest.mark.skipif(_vnu_jar() is None, reason="vnu.jar or Java not available")
def test_review_pages_are_valid_html(restated: Published):  # noqa: F811
    entry = restated.entry(LATEST, 2)
    pages = [str(restated.site / p) for p in (entry["initiatives_html"], entry["html"], "initiatives.html")]
    result = subprocess.run(
        ["java", "-jar", str(_vnu_jar()), "--errors-only", *pages], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


@needs_browser
def test_initiatives_page_in_the_browser(browser, restated: Published):  # noqa: F811
    """Charts drawn when asked for, hostile names inert, no axe-core violation either way. Served
    over HTTP, as the browser test does: axe reads the stylesheets."""
    import functools
    import threading
    from http.server import ThreadingHTTPServer

    from .test_browser import _QuietHandler, go_live

    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(restated.site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = new_page(browser, f"http://127.0.0.1:{server.server_address[1]}/")
    try:
        page.goto(page.watch.base + restated.entry(LATEST, 2)["initiatives_html"], wait_until="load")
        settle(page)
        for state in ("first view", "interactive charts"):
            if state == "interactive charts":
                assert go_live(page) == 2
            violations = axe.run(page).response["violations"]
            assert not violations, f"{state}: " + "; ".join(f"{v['id']}: {v['help']}" for v in violations)
        assert_clean(page, "initiatives page")
    finally:
        page.context.close()
        server.shutdown()
        server.server_close()


@needs_browser
def test_initiatives_pages_link_the_same_page_of_the_other_periods(browser, published: Published):
    """nav.js gives an initiatives page the previous / next period's initiatives page, not its overview."""
    from .conftest import PERIODS

    base = published.site.resolve().as_uri() + "/"
    page = new_page(browser, base)
    try:
        page.goto(base + published.entry(LATEST)["initiatives_html"], wait_until="load")
        assert (
            page.locator("a.nav-prev").get_attribute("href")
            == "../../../" + published.entry(PERIODS[-2])["initiatives_html"]
        )
        page.goto(base + published.entry(PERIODS[-2])["initiatives_html"], wait_until="load")
        assert (
            page.locator("a.nav-next").get_attribute("href")
            == "../../../" + published.entry(LATEST)["initiatives_html"]
        )
    finally:
        page.context.close()
