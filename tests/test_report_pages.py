"""The pure helpers behind the site-wide pages (report/impact.py, history.py, overview.py), on
hand-made rows: wording, units and links that a page would otherwise only show when published."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from scorecard.publish.paths import unit_slug
from scorecard.report import history, impact, md_escape, overview


def test_interval_and_changes_are_in_the_kpis_unit():
    assert impact.interval_text(-7.95, 16.16, "%") == "-8.0 to +16.2 pts"
    assert impact.interval_text(1.0, 2.5, "minutes") == "+1.0 to +2.5 min"
    assert impact.interval_text(-3.0, 4.0, "points") == "-3.0 to +4.0"
    assert impact.interval_text(None, None, "%") == "–"


def test_months_and_verdict_say_provisional():
    row = SimpleNamespace(months_after=1, window_months=3, provisional=True, verdict="improved")
    assert impact.months_text(row) == "1 of 3, provisional"
    assert impact.verdict_text(row) == "improved (provisional)"
    done = SimpleNamespace(months_after=3, window_months=3, provisional=False, verdict="worsened")
    assert (impact.months_text(done), impact.verdict_text(done)) == ("3 of 3", "worsened")
    none = SimpleNamespace(months_after=0, window_months=3, provisional=False, verdict="no impact yet")
    assert impact.months_text(none) == "none yet"


def test_arms_name_their_units_and_the_default_control_group():
    row = SimpleNamespace(treated_names=["Americas"], treated_n=3, control_names=[], control_n=5)
    assert impact.treated_text(row) == "Americas and the units under them (3 in all)"
    assert impact.control_text(row) == "every other team (5 units)"
    leaf = SimpleNamespace(control_names=["Dublin", "Paris"], control_n=2)
    assert impact.control_text(leaf) == "Dublin, Paris"
    assert impact.cell_text(72.4584, 541, "%") == "72.5% (n 541)"


ENTRY = {
    "period": "2026-10",
    "revision": 2,
    "provisional": False,
    "reason": "late *CSAT* <b>export</b>",
    "published_at": "2026-11-06T10:00:00+00:00",
    "catalog_version": 1,
    "html": "periods/2026-10/r2/index.html",
    "scorecard_csv": "periods/2026-10/r2/scorecard.csv",
    "initiatives_csv": "periods/2026-10/r2/initiatives.csv",
    "units": [],
}


def test_history_lists_the_initiatives_csv_and_escapes_the_reason():
    text = history.revisions_markdown([ENTRY, {**ENTRY, "revision": 1, "reason": None}], "")
    lines = text.splitlines()
    assert lines[2].startswith("| 2026-10 | 2 |") and lines[3].startswith("| 2026-10 | 1 |"), "newest first"
    assert "[initiatives.csv](periods/2026-10/r2/initiatives.csv)" in lines[2]
    assert "<b>" not in text and "\\*CSAT\\*" in text
    assert history.revisions_markdown([], "") == "Nothing published yet."


def test_unit_tree_links_each_unit_under_its_parent():
    ranking = pd.DataFrame(
        {
            "unit_id": ["Co", "Co/A [x]"],
            "unit_name": ["Company", "Team [A](evil)"],
            "depth": [0, 1],
            "tree_order": [0, 1],
            "composite": [70.2, None],
        }
    )
    lines = overview.unit_tree_markdown(ranking, "periods/2026-10/r1/").splitlines()
    assert lines[0] == f"- [Company](periods/2026-10/r1/{unit_slug('Co')}.html) — composite 70"
    assert lines[1].startswith(f"  - [{md_escape('Team [A](evil)')}](periods/2026-10/r1/{unit_slug('Co/A [x]')}.html)")
    assert lines[1].endswith("— composite –")
