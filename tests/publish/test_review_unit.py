"""The review loop on the unit page and its PDF: owners' comments (escaped, masked), open actions
carried and overdue, accountable owners, escalations to the parent, initiatives, and a late
comment that waits for a restatement.

One small site of its own (4 units, one period, demo data with the owners' side, plus comments
and an initiative written here): published once, then a late comment is added for the published
period (a publish leaves it frozen) and the period is restated. Expected values come from the
input rows written here and from the database tables, never from the page code.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pytest

from .conftest import Workspace, parse_html, pdf_text, prune_units, squash, tree_hashes

UNITS = ("Northwind Service", "EMEA", "EMEA/Madrid Retención", "EMEA/Berlin Tier 1")
MADRID, BERLIN, EMEA = "EMEA/Madrid Retención", "EMEA/Berlin Tier 1", "EMEA"
PREV, LATEST = "2026-09", "2026-10"
END_MONTH, MONTHS, TEAMS, INTERACTIONS, SEED = "2026-10", 14, 8, 5000, 7
REASON = "Late owner's comment for Madrid"

HOSTILE = '<img src=x onerror="window.__pwned=3"> </table> #import "x": * $x$ @ref ] [ \\ *bold* <b>b</b>'
OUR_PII = ["ana.p@example.org", "+49 30 1234 5678", "late.owner@example.net", "+44 20 7946 0958"]
DEMO_PII = ["maria.lopez@example.com", "+34 612 345 678"]  # the demo's unit comment for Madrid
RAW_MARKUP = ['<img src=x onerror="window.__pwned=3">', "<b>four</b>", "<script>alert(3)</script>", "<b>b</b>"]

CSAT_NOTE = f"Cancellations again. {HOSTILE} Mail ana.p@example.org or call +49 30 1234 5678."
CARRIED_ACTION = "Call back every cancelled customer"  # written in PREV, due in LATEST: overdue there
LATE_NOTE = "Late word on FCR: <script>alert(3)</script> see late.owner@example.net, +44 20 7946 0958."
INITIATIVE = {
    "initiative_id": "playbook-madrid",
    "name": "<i>Retention</i> playbook #2 & $co [x]",
    "kpi_id": "fcr",
    "unit_id": MADRID,
    "start": "2026-07",
    "owner": "Madrid lead",
    "control_units": BERLIN,
    "window_months": "3",
}


def _append(path: Path, rows: list[dict]) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        header = csv.DictReader(fh).fieldnames
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, fieldnames=header, lineterminator="\n").writerows(rows)


def _comment(period, unit, kpi, author, analysis, action="", due="", status="") -> dict:
    return dict(period=period, unit_id=unit, kpi_id=kpi, author=author, analysis=analysis, action=action, due=due,
                action_status=status)  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """{'ws', 'r1' (hashes after the first publish), 'frozen' (after the late comment and a
    publish), 'late_summary'}: the module's site, restated at the end."""
    from scorecard.demo import generate

    root = tmp_path_factory.mktemp("review-unit")
    ws = Workspace(root, root / "data")
    generate(
        ws.data, interactions=INTERACTIONS, seed=SEED, end_month=END_MONTH, months=MONTHS, teams=TEAMS, review=True
    )
    prune_units(ws.data, set(UNITS))
    _append(
        ws.data / "commentary.csv",
        [
            _comment(
                PREV,
                MADRID,
                "nps",
                "Madrid lead",
                "Detractors name the cancellation wait.",
                CARRIED_ACTION,
                f"{LATEST}-15",
                "in progress",
            ),  # fmt: skip
            _comment(LATEST, MADRID, "csat", "Ana P. <ana.p@example.org>", CSAT_NOTE, "Weekly <b>b</b> review"),
        ],
    )
    _append(ws.data / "initiatives.csv", [INITIATIVE])
    ws.write_config()
    assert ws.cli("--period", LATEST) == 0
    out = {"ws": ws, "r1": tree_hashes(ws.site)}

    _append(ws.data / "commentary.csv", [_comment(LATEST, MADRID, "fcr", "Madrid lead", LATE_NOTE)])
    out["late_summary"] = ws.publish(period=LATEST)
    out["frozen"] = tree_hashes(ws.site)
    assert ws.cli("--restate", LATEST, "--reason", REASON) == 0
    return out


@pytest.fixture(scope="module")
def con(site):
    c = site["ws"].db()
    yield c
    c.close()


def _entry(ws: Workspace, revision: int) -> dict:
    import json

    manifest = json.loads((ws.site / "manifest.json").read_text(encoding="utf-8"))
    return next(e for e in manifest["periods"] if e["period"] == LATEST and e["revision"] == revision)


def _unit(ws: Workspace, unit_id: str, revision: int, ext: str = "html") -> Path:
    unit = next(u for u in _entry(ws, revision)["units"] if u["unit_id"] == unit_id)
    return ws.site / unit[ext]


def _plain(text: str) -> str:
    """Page text with the typographic apostrophe Pandoc makes of ' in trusted text."""
    return text.replace("\u2019", "'")


def _section(doc, heading: str) -> str:
    """The text of the page from the <h2>/<h3> whose text starts with `heading` to the next
    <h2>/<h3> (tags dropped, entities read, whitespace squashed)."""
    raw = doc.path.read_text(encoding="utf-8")
    for chunk in re.split(r"(?=<h[23][\s>])", raw):
        text = _plain(squash(html.unescape(re.sub(r"<[^>]+>", " ", chunk))))
        if chunk.startswith("<h") and text.startswith(heading):
            return text
    raise AssertionError(f"{doc.path.name}: no heading {heading!r}")


# --------------------------------------------------------------------------- escaping and masking
def test_comments_are_masked_in_the_database(con):
    rows = con.execute("SELECT author, analysis, action FROM commentary WHERE unit_id = ?", [MADRID]).fetchall()
    text = " ".join(str(v) for row in rows for v in row)
    for raw in OUR_PII + DEMO_PII:
        assert raw not in text
    assert "[email]" in text and "[phone]" in text


def test_no_raw_personal_data_or_markup_in_any_site_file(site):
    ws = site["ws"]
    files = [p for p in ws.site.rglob("*") if p.is_file()]
    assert any(p.name == "commentary.csv" for p in files)
    for path in files:
        text = pdf_text(path) if path.suffix == ".pdf" else path.read_bytes().decode("utf-8", "replace")
        for raw in OUR_PII + DEMO_PII:
            assert raw not in text, f"{path.relative_to(ws.site)} holds {raw!r}"
        if path.suffix in (".html", ".js", ".json", ".svg", ".typ"):
            for raw in RAW_MARKUP:
                assert raw not in text, f"{path.relative_to(ws.site)} holds raw markup {raw!r}"


def test_unit_page_shows_comments_literally(site):
    ws = site["ws"]
    doc = parse_html(_unit(ws, MADRID, 1))
    main = _plain(doc.main_text)
    assert not doc.all("img", None) or all(i.attrs.get("src") != "x" for i in doc.all("img"))
    # the demo's unit-level comment heads the page: before the scorecard, escaped and masked
    head = _section(doc, "Owner's comment")
    assert "Hiring is the fix: <b>four</b> offers out. Questions to [email] or [phone]." in head
    assert "Hire and onboard four agents" in head and "in progress" in head
    assert main.index("Owner's comment") < main.index("Scorecard")
    comments = _section(doc, "Owners' comments")
    assert squash("Cancellations again. " + HOSTILE + " Mail [email] or call [phone].") in comments
    assert "Ana P. <[email]>" in comments and "Weekly <b>b</b> review" in comments
    # FCR is red in "fix now" without a comment in revision 1
    assert "no comment from the owner yet" in comments


def test_pdf_holds_the_comments(site):
    text = squash(pdf_text(_unit(site["ws"], MADRID, 1, "pdf")))
    assert "Hiring is the fix: <b>four</b> offers out." in text
    assert "Cancellations again." in text and "Mail [email] or call [phone]." in text
    assert "no comment from the owner yet" in text
    assert CARRIED_ACTION in text


# --------------------------------------------------------------------------- actions
def test_open_action_is_carried_and_overdue(site, con):
    from scorecard import commentary

    # in PREV the action is the period's own and not due yet; in LATEST it is carried and overdue
    prev = commentary.kpi_comments(con, PREV, MADRID)
    mine = prev[prev["action"] == CARRIED_ACTION]
    assert len(mine) == 1 and not mine["overdue"].iloc[0]
    assert CARRIED_ACTION not in set(commentary.carried_actions(con, PREV, MADRID)["action"])
    carried = commentary.carried_actions(con, LATEST, MADRID)
    row = carried[carried["action"] == CARRIED_ACTION]
    assert len(row) == 1 and bool(row["overdue"].iloc[0])

    doc = parse_html(_unit(site["ws"], MADRID, 1))
    section = _section(doc, "Open actions from earlier periods")
    assert CARRIED_ACTION in section and f"{LATEST}-15, overdue" in section and PREV in section
    # the demo's csat backlog action (due 2026-05-31, never closed) is carried too; the training, done, is not
    assert "Clear the cancellations backlog" in section
    assert "Retention playbook training" not in section


# --------------------------------------------------------------------------- owners and escalations
def test_scorecard_table_names_the_accountable_owner(site, con):
    doc = parse_html(_unit(site["ws"], MADRID, 1))
    table = next(t for t in doc.all("table") if "Accountable" in [th.text for th in t_headers(doc, t)])
    expected = con.execute(
        """SELECT c.name, t.accountable FROM targets t JOIN catalog c USING (kpi_id)
           WHERE t.period = ? AND t.unit_id = ?""",
        [LATEST, MADRID],
    ).fetchall()
    rows = [r for r in rows_of(doc, table)]
    by_kpi = {r[0]: r[-1] for r in rows if len(r) > 2}
    assert len(expected) >= 10
    for name, accountable in expected:
        assert by_kpi[name] == accountable, name


def test_parent_page_lists_kpis_escalated_to_it(site, con):
    escalated = con.execute(
        """SELECT o.unit_name, c.name, e.escalated_to FROM escalation_path e JOIN org_units o USING (unit_id)
           JOIN catalog c USING (kpi_id) WHERE e.period = ? AND e.escalated_to_unit = ? AND e.level = 2""",
        [LATEST, EMEA],
    ).fetchall()
    assert escalated, "the demo story has a Madrid KPI red long enough to reach EMEA"
    doc = parse_html(_unit(site["ws"], EMEA, 1))
    section = _section(doc, "Escalated to")
    for unit_name, kpi, to in escalated:
        assert unit_name in section and kpi in section and to in section
    # the child's own page does not list it as escalated to the child
    assert "Escalated to" not in [h.text[:12] for h in parse_html(_unit(site["ws"], MADRID, 1)).all("h3")]


# --------------------------------------------------------------------------- initiatives
def test_treated_unit_shows_its_initiative(site, con):
    impact = con.execute(
        "SELECT * FROM initiative_impact WHERE period = ? AND initiative_id = ?", [LATEST, "playbook-madrid"]
    ).df()
    assert len(impact) == 1
    r = impact.iloc[0]
    ws = site["ws"]
    doc = parse_html(_unit(ws, MADRID, 1))
    section = _section(doc, "Initiatives")
    assert INITIATIVE["name"] in section and r["verdict"] in section
    cells = _section(doc, INITIATIVE["name"])
    for n in ("n_before_treated", "n_after_treated", "n_before_control", "n_after_control"):
        assert f"{int(r[n]):,}" in cells
    berlin = con.execute("SELECT unit_name FROM org_units WHERE unit_id = ?", [BERLIN]).fetchone()[0]
    assert f"Control units: {berlin}." in cells
    assert f"{r['impact']:+.1f} pts" in cells and f"{r['naive_change']:+.1f} pts" in cells
    if r["ci_low"] == r["ci_low"]:  # an interval: both ends shown
        assert f"{r['ci_low']:+.1f} pts to {r['ci_high']:+.1f} pts" in cells
    # the chart: an image with its text name, and the interactive div
    html = _unit(ws, MADRID, 1).read_text(encoding="utf-8")
    assert "units treated by" in html and "<i>Retention</i>" not in html
    # neither the parent nor the control unit is treated
    for other in (EMEA, BERLIN):
        assert INITIATIVE["name"] not in parse_html(_unit(ws, other, 1)).main_text
    pdf = squash(pdf_text(_unit(ws, MADRID, 1, "pdf")))
    assert INITIATIVE["name"] in pdf and r["verdict"] in pdf


# --------------------------------------------------------------------------- late comment, restatement
def test_late_comment_leaves_the_published_period_frozen(site):
    summary = site["late_summary"]
    assert summary.published == []
    # site-wide pages (data quality, manifest state) follow the data; the published period does not
    frozen = {k: v for k, v in site["frozen"].items() if k.startswith("periods/") or k == "index.html"}
    r1 = {k: v for k, v in site["r1"].items() if k.startswith("periods/") or k == "index.html"}
    assert frozen == r1 and len(r1) > 8, "a late comment changed the published period without a restatement"


def test_restatement_shows_the_late_comment_and_lists_it(site):
    ws = site["ws"]
    masked = "Late word on FCR: <script>alert(3)</script> see [email], [phone]."
    r1 = parse_html(_unit(ws, MADRID, 1))
    assert masked not in r1.main_text
    r2 = parse_html(_unit(ws, MADRID, 2))
    assert masked in _section(r2, "Owners' comments")
    assert "no comment from the owner yet" not in _section(r2, "Owners' comments")
    changed = _section(r2, "What revision 2 changed")
    assert "added" in changed and masked in changed
    # only the late comment changed: the older comments are not listed
    assert "Cancellations again." not in changed
    pdf = squash(pdf_text(_unit(ws, MADRID, 2, "pdf")))  # table cells wrap: look for each line's words
    assert "Late word on FCR: <script>alert(3)</script> see" in pdf and "[email], [phone]." in pdf
    assert "late word" not in squash(pdf_text(_unit(ws, MADRID, 1, "pdf"))).lower()
    # other units: no comment changed
    assert "No owner's comment of this unit changed." in _plain(parse_html(_unit(ws, BERLIN, 2)).main_text)


# --------------------------------------------------------------------------- helpers for tables
def t_headers(doc, table):
    i = doc.elements.index(table)
    out = []
    for e in doc.elements[i + 1 :]:
        if e.tag == "table":
            break
        if e.tag == "th":
            out.append(e)
    return out


def rows_of(doc, table):
    i = doc.elements.index(table)
    rows, current = [], None
    for e in doc.elements[i + 1 :]:
        if e.tag == "table":
            break
        if e.tag == "tr":
            current = []
            rows.append(current)
        elif e.tag in ("td", "th") and current is not None:
            current.append(e.text)
    return rows
