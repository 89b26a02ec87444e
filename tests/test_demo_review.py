"""The demo's owners' side: its commentary and initiatives load cleanly and tell the story the
demo promises (an initiative that worked, one that did not, one too small to tell)."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from scorecard import analysis, stats
from scorecard.commentary import carried_actions, compute_commentary
from scorecard.demo import REVIEW_TABLES, ROLES, generate_review, review_rows
from scorecard.initiatives import compute_initiatives
from scorecard.loading import SourceFile, load_raw
from scorecard.validation import QUARANTINE_DDL, validate_commentary, validate_initiatives


@pytest.fixture(scope="module")
def con(demo_db, tmp_path_factory):
    """The demo database with the demo's commentary and initiatives loaded and computed."""
    base = tmp_path_factory.mktemp("review")
    shutil.copy(demo_db, base / "db.duckdb")
    written = generate_review(base / "in")
    assert written == {name: len(rows) for name, rows in review_rows().items()}
    con = duckdb.connect(str(base / "db.duckdb"))
    stats.install_macros(con)
    analysis.install_macros(con)
    con.execute(QUARANTINE_DDL)
    kpi_ids = tuple(r[0] for r in con.execute("SELECT kpi_id FROM catalog").fetchall())
    for name in REVIEW_TABLES:
        load_raw(con, SourceFile(name, base / "in" / f"{name}.csv"), {})
    validate_commentary(con, kpi_ids)
    validate_initiatives(con, kpi_ids)
    min_sample = int(con.execute("SELECT value FROM meta WHERE key = 'min_sample'").fetchone()[0])
    compute_initiatives(con, min_sample)
    compute_commentary(con)
    yield con
    con.close()


def test_review_rows_are_all_valid(con):
    assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM commentary").fetchone()[0] == len(review_rows()["commentary"])


def test_one_worked_one_did_not_one_too_small_to_tell(con):
    verdicts = dict(
        con.execute("SELECT initiative_id, verdict FROM initiative_impact WHERE period = '2026-10'").fetchall()
    )
    assert verdicts == {
        "kb-austin": "improved",
        "macros-toronto": "no detectable effect",
        "captions-access": "too little data",
    }


def test_comments_hold_markup_and_masked_personal_data(con):
    texts = " ".join(r[0] for r in con.execute("SELECT analysis FROM commentary").fetchall())
    assert "<b>four</b>" in texts and "<script>" in texts and "*cancellations*" in texts and "# FCR" in texts
    assert "example.com" not in texts and "612 345" not in texts and "[email]" in texts and "[phone]" in texts


def test_open_and_overdue_actions(con):
    madrid = carried_actions(con, "2026-10", ROLES["slides"])
    assert list(madrid.action) == ["Clear the cancellations backlog"]  # the training was marked done
    assert madrid.overdue.all() and madrid.since_period[0] == "2026-04"
    austin = carried_actions(con, "2025-11", ROLES["improves"])
    assert list(austin.action) == ["Roll out the knowledge base to every agent"] and not austin.overdue.any()
    assert carried_actions(con, "2025-12", ROLES["improves"]).empty  # done in 2025-12
