"""Owners' commentary: validation and masking at load, and the per-(period, unit) data the pages
show: the unit comment, KPI comments, actions carried until closed, overdue marks, and red "fix
now" KPIs without a comment."""

from __future__ import annotations

from datetime import date

import pytest
from scorecard_fixtures import BERLIN, PARIS, Inputs, ix

from scorecard import commentary
from scorecard.config import Config

MONTHS = ("2026-01", "2026-02", "2026-03")


def note(period, unit, kpi="", analysis="", action="", due="", status="", author="Team lead"):
    return {
        "period": period,
        "unit_id": unit,
        "kpi_id": kpi,
        "author": author,
        "analysis": analysis,
        "action": action,
        "due": due,
        "action_status": status,
    }


ROWS = [
    note(
        "2026-01",
        PARIS,
        analysis="Rough month: <b>two</b> # people left *again*; call +33 6 12 34 56 78 or write to lead@example.com",
        action="Hire two agents",
        due="2026-06-30",
        status="In_Progress",
    ),
    note(
        "2026-01", PARIS, "fcr", "Refund tickets need a second contact.", "Retrain on refunds", "2026-02-15", "planned"
    ),
    note("2026-01", BERLIN, "csat", "Survey tool broke.", "Switch survey tool", "", "dropped"),
    note("2026-03", PARIS, "FCR", "Training done; refunds still slow.", "Retrain on refunds", "2026-02-15", "done"),
    # set aside
    note("2026-01", PARIS, "fcr", "Said twice.", "Retrain on refunds"),
    note("2026-1", PARIS, analysis="bad period"),
    note("2026-01", "Atlantis", analysis="unknown unit"),
    note("2026-01", PARIS, "happiness", "unknown KPI"),
    note("2026-01", PARIS, analysis="x", action="y", due="next week"),
    note("2026-01", PARIS, analysis="x", action="z", status="finished"),
    note("2026-01", PARIS),
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    inp = Inputs(tmp_path_factory.mktemp("commentary"))
    rows = []
    for month in MONTHS:
        for i in range(10):
            created = f"{month}-{i + 2:02d}T09:00:00"
            resolved = f"{month}-{i + 2:02d}T15:00:00"
            # Paris resolves nothing at the first contact (FCR red); Berlin everything (green)
            rows.append(ix(f"P{month}{i}", created, PARIS, first=created, resolved=resolved, contacts=2))
            rows.append(ix(f"B{month}{i}", created, BERLIN, first=created, resolved=resolved, contacts=1))
    rows.append(ix("last", "2026-04-01T10:00:00", BERLIN))
    inp.set("interactions", rows)
    inp.set("commentary", ROWS)
    return inp.build(Config(min_sample=5))


def test_bad_rows_are_set_aside_with_reasons(built):
    reasons = {r["row"]: r["reason"] for r in built.quarantine("commentary")}
    assert reasons == {
        5: "duplicate period, unit_id, kpi_id and action",
        6: "invalid period (expected YYYY-MM)",
        7: "unknown unit_id",
        8: "unknown kpi_id",
        9: "invalid due (expected a date YYYY-MM-DD)",
        10: "invalid action_status (expected planned, in progress, done or dropped)",
        11: "empty comment (no analysis and no action)",
    }
    assert built.summary.loaded["commentary"] == len(ROWS)
    assert built.summary.quarantined["commentary"] == 7


def test_personal_data_is_masked_and_markup_kept_for_the_renderer_to_escape(built_con):
    head = commentary.unit_comments(built_con, "2026-01", PARIS)
    assert len(head) == 1
    text = head.analysis[0]
    assert "+33" not in text and "lead@example.com" not in text
    assert "[phone]" in text and "[email]" in text
    assert "<b>two</b> # people left *again*" in text
    assert head.action_status[0] == "in progress"
    assert commentary.unit_comments(built_con, "2026-02", PARIS).empty


def test_kpi_comments_beside_their_kpis(built_con):
    jan = commentary.kpi_comments(built_con, "2026-01", PARIS)
    assert list(jan.kpi_id) == ["fcr"]
    assert jan.action[0] == "Retrain on refunds" and jan.due[0].date() == date(2026, 2, 15)
    assert not jan.overdue[0]  # due in February: not overdue at the end of January
    march = commentary.kpi_comments(built_con, "2026-03", PARIS)
    assert list(march.action_status) == ["done"]


def test_open_actions_are_carried_until_closed_and_marked_overdue(built_con):
    feb = commentary.carried_actions(built_con, "2026-02", PARIS)
    assert list(feb.action) == ["Retrain on refunds", "Hire two agents"]  # overdue first
    assert list(feb.overdue) == [True, False]
    assert list(feb.since_period) == ["2026-01", "2026-01"]
    march = commentary.carried_actions(built_con, "2026-03", PARIS)
    assert list(march.action) == ["Hire two agents"]  # the retraining was marked done in March
    assert commentary.carried_actions(built_con, "2026-01", PARIS).empty  # written this month: not carried
    # a dropped action never shows as open
    assert commentary.carried_actions(built_con, "2026-02", BERLIN).empty


def test_red_fix_now_kpi_without_comment_is_flagged(built_con, built):
    assert built.row("2026-02", PARIS, "fcr")["status"] == "red"
    feb = commentary.missing_comments(built_con, "2026-02", PARIS)
    assert list(feb.kpi_id) == ["fcr"]
    assert feb.message[0] == "no comment from the owner yet"
    assert feb.owner[0] == "Support Operations Manager"
    assert commentary.missing_comments(built_con, "2026-01", PARIS).empty  # commented
    assert commentary.missing_comments(built_con, "2026-03", PARIS).empty
    assert commentary.missing_comments(built_con, "2026-02", BERLIN).empty  # green
