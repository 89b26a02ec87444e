"""Publish acceptance tests: a small site published once per session, then looked at
from the outside: files, links, PDFs, a real headless Chromium, the manifest and its versions.

The session's site: seeded demo data (14 complete months so that trend charts have 13 periods, a
few thousand interactions; 6 of the demo's 12 units, to keep the run short) in which two units
got hostile names (HTML, Typst and
Markdown markup) and one unit's survey comments hold markup, e-mail addresses and phone numbers.
Published in two runs, PERIOD=2026-09 (through the CLI) then PERIOD=2026-10 (through the API),
so that navigation between periods and the rewritten nav.js are exercised.

Expected values are read independently from the DuckDB database (results, targets, catalog,
org_units), never from the code that builds the pages.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
import yaml

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - playwright is a dev dependency
    sync_api = None

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
PROJECT = ROOT / "_quarto.yml"
BASE_CONFIG = ROOT / "scorecard" / "demo_config.yml"  # the demo's configuration (scorecard demo writes it)

# the units kept from the demo's 12 (fewer notebooks per period); two get hostile names
UNITS = (
    "Northwind Service",
    "EMEA",
    "EMEA/Berlin Tier 1",
    "EMEA/Madrid Retención",
    "Americas",
    "Americas/Toronto Tier 1",
)  # before RENAMED
PERIODS = ("2026-09", "2026-10")  # published by the session fixture, oldest first
LATEST = PERIODS[-1]
END_MONTH, MONTHS, TEAMS, INTERACTIONS, SEED = "2026-10", 14, 8, 6000, 5

# a unit id with quotes, markup, an entity, '#', a backslash and an accent (file names, papermill
# parameters, data attributes, nav.js, CSV and JSON all carry unit ids)
HOSTILE_ID = 'Americas/Toronto "T1" <b>&amp;</b> #x \\ é'
RENAMED = {"Americas/Toronto Tier 1": HOSTILE_ID}
# unit_id -> hostile unit_name: HTML, Typst code/markup, Markdown, backslash, brackets
HOSTILE_NAMES = {
    "EMEA/Berlin Tier 1": '<script>alert(1)</script> </table> #import "x": * Berlin',
    HOSTILE_ID: '#{panic()} *bold* $x$ @ref \\ ] [ _u_ <img src=x onerror="window.__pwned=1"> &amp; Toronto',
}
COMMENT_UNIT = "EMEA/Berlin Tier 1"  # its survey comments in LATEST are replaced by these
HOSTILE_COMMENTS = [
    "<script>alert(2)</script> closing </table> too",
    '<img src=x onerror="window.__pwned=2"> #import "x": *',
    "#{panic()} and #set page(width: 1cm) ] [ \\ done",
    "*bold* _em_ $x$ @ref `tick` <b>b</b>",
]
PII_COMMENTS = [
    "Write to jane.roe@example.net please, nobody answers",
    "Call me on +44 20 7946 0958 or (415) 555-0199 tonight",
]
# personal data that must never reach the site: ours, and the demo generator's own comments
PII = [
    "jane.roe@example.net",
    "+44 20 7946 0958",
    "7946 0958",
    "555-0199",
    "jane.doe@example.com",
    "john.smith@mail.example.org",
    "+33 6 12 34 56 78",
    "12 34 56 78",
    "555-0134",
]
# starts only where a run of address characters starts: a page's base64 chart images are runs of
# 100k+ such characters, which the pattern would otherwise scan again from every position in them
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


# --------------------------------------------------------------------------- workspaces
@dataclass
class Workspace:
    """A folder holding one deployment: inputs, database, site, reports and its scorecard.yml."""

    root: Path
    data: Path
    notebooks: Path = NOTEBOOKS

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def database(self) -> Path:
        return self.root / "scorecard.duckdb"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def config_file(self) -> Path:
        return self.root / "scorecard.yml"

    def write_config(self) -> Path:
        """The demo's scorecard.yml (targets, settings) with every path in this workspace."""
        settings = yaml.safe_load(BASE_CONFIG.read_text(encoding="utf-8"))
        # the demo's rules for units this smaller org does not have would be a configuration error
        settings["targets"] = [rule for rule in settings.get("targets", []) if rule.get("unit") in (None, *UNITS)]
        settings.update(
            data=str(self.data),
            database=str(self.database),
            site=str(self.site),
            reports=str(self.reports),
            notebooks=str(self.notebooks),
            project=str(PROJECT),
            workers=2,
        )
        self.config_file.write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return self.config_file

    def config(self):
        from scorecard.config import load_config

        return load_config(self.config_file)

    def publish(self, **kwargs):
        from scorecard.publish import publish

        return publish(self.config(), **kwargs)

    def cli(self, *args: str) -> int:
        from scorecard.cli import main

        return main(["-q", "publish", "--config", str(self.config_file), *args])

    def db(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.database), read_only=True)


@dataclass
class Published:
    ws: Workspace
    summaries: dict[str, object] = field(default_factory=dict)  # period -> PublishSummary (API runs)

    @property
    def site(self) -> Path:
        return self.ws.site

    def manifest(self) -> dict:
        import json

        return json.loads((self.site / "manifest.json").read_text(encoding="utf-8"))

    def entry(self, period: str, revision: int = 1) -> dict:
        return next(e for e in self.manifest()["periods"] if e["period"] == period and e["revision"] == revision)

    def unit_entry(self, period: str, unit_id: str, revision: int = 1) -> dict:
        return next(u for u in self.entry(period, revision)["units"] if u["unit_id"] == unit_id)


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def prune_units(data: Path, keep: set[str]) -> None:
    """Remove every unit not in ``keep`` from the demo inputs, with its rows (fewer notebooks per
    period: a faster test). Rows of the demo's deliberately invalid kinds stay as they are."""
    header, units = _read_csv(data / "org_units.csv")
    dropped = {r["unit_id"] for r in units} - keep
    assert {r["unit_id"] for r in units} >= keep, "the demo data changed its unit ids"
    assert all(r["parent_id"] in keep or not r["parent_id"] for r in units if r["unit_id"] in keep)
    gone: set[str] = set()
    for path in sorted(data.glob("*.csv")):  # interactions.csv before qa_reviews and survey_responses
        header, rows = _read_csv(path)
        kept = []
        for row in rows:
            if row.get("unit_id") in dropped or row.get("interaction_id") in gone:
                if path.name == "interactions.csv":
                    gone.add(row["interaction_id"])
                continue
            kept.append(row)
        if len(kept) != len(rows):
            _write_csv(path, header, kept)


def rename_units(data: Path, renamed: dict[str, str]) -> None:
    """Give units new ids in every input file (unit_id and parent_id columns)."""
    for path in sorted(data.glob("*.csv")):
        header, rows = _read_csv(path)
        columns = [c for c in ("unit_id", "parent_id") if c in header]
        if not columns:
            continue
        for row in rows:
            for column in columns:
                row[column] = renamed.get(row[column], row[column])
        _write_csv(path, header, rows)


def make_hostile(data: Path) -> None:
    """Rename two units with hostile names; give COMMENT_UNIT's survey responses of LATEST hostile
    comments and personal data (and make a few of them unhappy, so the reports pick them)."""
    header, units = _read_csv(data / "org_units.csv")
    for row in units:
        if row["unit_id"] in HOSTILE_NAMES:
            row["unit_name"] = HOSTILE_NAMES[row["unit_id"]]
    assert {r["unit_id"] for r in units} >= set(HOSTILE_NAMES), "the demo data changed its unit ids"
    _write_csv(data / "org_units.csv", header, units)

    _, interactions = _read_csv(data / "interactions.csv")
    ours = {r["interaction_id"] for r in interactions if r["unit_id"] == COMMENT_UNIT}
    header, responses = _read_csv(data / "survey_responses.csv")
    texts = HOSTILE_COMMENTS + PII_COMMENTS
    changed = 0
    for row in responses:
        if row["interaction_id"] in ours and row["responded_at"].startswith(LATEST) and row["survey"] == "csat":
            row["comment"] = texts[changed % len(texts)]
            row["score"] = "1"  # unhappy: the unit page lists unhappy customers' comments
            changed += 1
    assert changed >= len(texts), f"only {changed} CSAT responses of {COMMENT_UNIT} in {LATEST}"
    _write_csv(data / "survey_responses.csv", header, responses)


# --------------------------------------------------------------------------- files
def tree_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under folder (hidden ones too), by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def pdf_text(path: Path, layout: bool = False) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def squash(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- HTML
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """textContent, whitespace squashed."""
        return squash("".join(self.parts))

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []

    def handle_starttag(self, tag, attrs):
        el = Element(tag, dict(attrs))
        self.elements.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag, attrs):
        self.elements.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        for el in self.stack:
            el.parts.append(data)


@dataclass
class Html:
    path: Path
    elements: list[Element]

    def all(self, tag: str, cls: str | None = None) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and (cls is None or cls in e.classes)]

    def first(self, tag: str, cls: str | None = None) -> Element:
        found = self.all(tag, cls)
        assert found, f"{self.path}: no <{tag}{' class=' + cls if cls else ''}>"
        return found[0]

    @property
    def title(self) -> str:
        return self.first("title").text

    @property
    def main_text(self) -> str:
        return self.first("main").text


def parse_html(path: Path) -> Html:
    parser = _Parser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return Html(path, parser.elements)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Path:
    """Seeded small demo inputs with the hostile names, comments and personal data."""
    from scorecard.demo import generate

    data = tmp_path_factory.mktemp("inputs") / "data"
    generate(data, interactions=INTERACTIONS, seed=SEED, end_month=END_MONTH, months=MONTHS, teams=TEAMS)
    prune_units(data, set(UNITS))
    rename_units(data, RENAMED)
    make_hostile(data)
    return data


@pytest.fixture(scope="session")
def published(tmp_path_factory, inputs) -> Published:
    """The session's site: PERIOD=2026-09 through the CLI, then PERIOD=2026-10 through the API."""
    root = tmp_path_factory.mktemp("published")
    ws = Workspace(root, root / "data")
    shutil.copytree(inputs, ws.data)
    ws.write_config()
    assert ws.cli("--period", PERIODS[0]) == 0
    result = Published(ws)
    for period in PERIODS[1:]:
        result.summaries[period] = ws.publish(period=period)
    return result


@pytest.fixture(scope="session")
def db(published):
    con = published.ws.db()
    yield con
    con.close()


def copy_workspace(source: Workspace, root: Path, notebooks: Path = NOTEBOOKS) -> Workspace:
    """A copy of a deployment (inputs, database, site) elsewhere, with its own scorecard.yml."""
    ws = Workspace(root, root / "data", notebooks)
    shutil.copytree(source.data, ws.data)
    shutil.copytree(source.site, ws.site)
    shutil.copy2(source.database, ws.database)
    ws.write_config()
    return ws


# --------------------------------------------------------------------------- browser
CHROMIUM = Path("/usr/bin/chromium")
needs_browser = pytest.mark.skipif(
    sync_api is None or not CHROMIUM.exists(), reason="playwright or Debian's chromium is not installed"
)
CHARTS_DRAWN = """() => {
  const divs = [...document.querySelectorAll('.plotly-graph-div')];
  return divs.length > 0 && divs.every(d => d.classList.contains('js-plotly-plot') && d.querySelector('.main-svg'));
}"""


@pytest.fixture(scope="session")
def browser():
    """A real headless Chromium: Playwright's sync API driving Debian's chromium."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


class Watch:
    """Everything that went wrong in a page: console errors, uncaught exceptions, dialogs
    (alert() from injected markup), failed requests and requests that leave the site."""

    def __init__(self, base: str):
        self.base = base
        self.problems: list[str] = []

    def console(self, msg):
        if msg.type == "error":
            self.problems.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    def request_failed(self, request):
        # Chromium fetches the favicon after the page's load and cancels that fetch when the test
        # moves on to the next page: not a fault of the page (a missing favicon is a 404 response)
        if request.url.endswith("/favicon.svg") and request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"request failed: {request.url} {request.failure}")

    def route(self, route):
        url = route.request.url
        if url.startswith(self.base) or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.problems.append(f"request leaving the site: {url}")
            route.abort()


def new_page(browser, base: str):
    """A page in a fresh context that records its problems in ``page.watch``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watch = Watch(base)
    context.route("**/*", watch.route)
    page = context.new_page()
    page.on("console", watch.console)
    page.on("pageerror", lambda exc: watch.problems.append(f"page error: {exc}"))
    page.on(
        "dialog", lambda dialog: (watch.problems.append(f"dialog: {dialog.type} {dialog.message!r}"), dialog.dismiss())
    )
    page.on("requestfailed", watch.request_failed)
    page.watch = watch
    return page


def settle(page):
    """Wait for the charts to be drawn (nav.js runs on DOMContentLoaded, before 'load')."""
    if page.locator(".plotly-graph-div").count():
        page.wait_for_function(CHARTS_DRAWN, timeout=30_000)


def assert_clean(page, what: str):
    assert page.evaluate("() => window.__pwned") is None, f"{what}: injected code ran"
    assert page.locator("img[src='x']").count() == 0, f"{what}: injected <img>"
    assert not page.watch.problems, f"{what}:\n" + "\n".join(page.watch.problems)
