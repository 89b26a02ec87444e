"""scorecard/report/review.py and figures_review.py without a publish: rows for the unit page's
comments, actions, owners and initiatives, the commentary.csv round trip a restatement compares,
and the initiative chart."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest

from scorecard.commentary import MISSING_COMMENT
from scorecard.report import review, table_bundle
from scorecard.report.figures_review import initiative_alt, initiative_figure
from scorecard.report.typst import TYPST_MIME

CARD = pd.DataFrame({"kpi_id": ["csat", "nps", "fcr"], "status": ["red", "green", "red"]})
HOSTILE = '<script>alert(1)</script> #import "x": * ] [ $x$'


def test_due_text_says_overdue_in_words():
    assert review.due_text(pd.Timestamp("2026-10-15"), True) == "2026-10-15, overdue"
    assert review.due_text("2026-10-15", False) == "2026-10-15"
    assert review.due_text(None, True) == ""


def test_kpi_comment_rows_follow_the_scorecard_and_flag_missing_comments():
    comments = pd.DataFrame(
        {
            "kpi_id": ["fcr", "csat"],
            "kpi_name": ["First contact resolution", "Customer satisfaction"],
            "author": ["Lead", "Lead"],
            "analysis": ["FCR note", HOSTILE],
            "action": [None, "Fix it"],
            "due": [None, pd.Timestamp("2026-09-30")],
            "action_status": [None, None],
            "overdue": [False, True],
        }
    )
    missing = pd.DataFrame(
        {"kpi_id": ["fcr"], "kpi_name": ["First contact resolution"], "owner": ["Ops"], "message": [MISSING_COMMENT]}
    )
    rows = review.kpi_comment_rows(CARD, comments, missing)
    assert [(r["kpi"], r["comment"]) for r in rows] == [
        ("Customer satisfaction", HOSTILE),
        ("First contact resolution", "FCR note"),
        ("First contact resolution", MISSING_COMMENT),
    ]
    assert rows[0]["action_status"] == "planned" and rows[0]["due"] == "2026-09-30, overdue"
    assert rows[0]["due_status"] == "red" and rows[1]["due_status"] is None
    assert rows[1]["action_status"] == "" and rows[0]["status"] == "red"
    # the table model escapes the text for every format
    bundle = table_bundle(rows, ["kpi", "comment"])
    assert "<script>" not in bundle["text/html"] and "&lt;script&gt;alert(1)&lt;/script&gt;" in bundle["text/html"]
    assert '#import \\"x\\"' in bundle[TYPST_MIME] and '\n#import "x"' not in bundle[TYPST_MIME]


def test_carried_rows_name_unit_level_actions():
    carried = pd.DataFrame(
        {
            "kpi_id": [None],
            "kpi_name": [None],
            "action": ["Hire"],
            "author": ["COO"],
            "due": [pd.Timestamp("2026-05-31")],
            "action_status": ["in progress"],
            "since_period": ["2026-04"],
            "last_update": ["2026-04"],
            "overdue": [True],
        }
    )
    (row,) = review.carried_action_rows(carried)
    assert row["kpi"] == review.UNIT_LEVEL and row["due"] == "2026-05-31, overdue" and row["since"] == "2026-04"


def test_with_accountable_maps_by_kpi_and_refuses_other_rows():
    rows = [{"kpi": "CSAT"}, {"kpi": "NPS"}, {"kpi": "FCR"}]
    roles = pd.DataFrame({"kpi_id": ["fcr", "csat", "nps"], "accountable": ["Ops", "CX", None]})
    out = review.with_accountable(rows, CARD, roles)
    assert [r["accountable"] for r in out] == ["CX", "", "Ops"]
    with pytest.raises(ValueError):
        review.with_accountable(rows[:2], CARD, roles)


# --------------------------------------------------------------------------- commentary.csv
@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE catalog AS SELECT * FROM (VALUES ('csat', 'Customer satisfaction', 1), "
              "('fcr', 'First contact resolution', 2)) t(kpi_id, name, sort_order)")  # fmt: skip
    c.execute(
        """CREATE TABLE commentary (period VARCHAR, unit_id VARCHAR, kpi_id VARCHAR, author VARCHAR,
           analysis VARCHAR, action VARCHAR, due DATE, action_status VARCHAR)"""
    )
    c.execute(
        """INSERT INTO commentary VALUES
           ('2026-10', 'u1', NULL, 'COO', 'Unit, with "quotes"\nand a line break', 'Hire', '2026-12-15', 'in progress'),
           ('2026-10', 'u1', 'csat', 'Lead', 'CSAT note', NULL, NULL, NULL),
           ('2026-10', 'u1', 'fcr', 'Lead', 'FCR note', 'Train', '2026-11-30', 'planned'),
           ('2026-10', 'u2', 'csat', 'Other', 'Other unit', NULL, NULL, NULL),
           ('2026-09', 'u1', 'csat', 'Lead', 'September', NULL, NULL, NULL)"""
    )
    yield c
    c.close()


def test_commentary_csv_round_trip_lists_nothing(con, tmp_path):
    scorecard_csv = tmp_path / "r1" / "scorecard.csv"
    assert review.write_commentary_csv(con, review.commentary_csv_beside(scorecard_csv), "2026-10") == 4
    assert review.commentary_changes(scorecard_csv, con, "2026-10", "u1") == []
    # same data, same bytes
    first = (tmp_path / "r1" / "commentary.csv").read_bytes()
    review.write_commentary_csv(con, tmp_path / "again.csv", "2026-10")
    assert (tmp_path / "again.csv").read_bytes() == first


def test_commentary_changes_lists_added_changed_removed_for_the_unit_only(con, tmp_path):
    scorecard_csv = tmp_path / "scorecard.csv"
    review.write_commentary_csv(con, review.commentary_csv_beside(scorecard_csv), "2026-10")
    con.execute("UPDATE commentary SET action_status = 'done' WHERE kpi_id = 'fcr'")
    con.execute("DELETE FROM commentary WHERE kpi_id = 'csat' AND unit_id = 'u1' AND period = '2026-10'")
    con.execute("INSERT INTO commentary VALUES ('2026-10', 'u1', 'csat', 'Lead', 'Late', 'Call back', NULL, NULL)")
    con.execute("UPDATE commentary SET analysis = 'changed' WHERE unit_id = 'u2'")
    changes = review.commentary_changes(scorecard_csv, con, "2026-10", "u1")
    assert [(c["kpi"], c["what"], c["comment"], c["action"]) for c in changes] == [
        ("Customer satisfaction", "removed", "CSAT note", ""),
        ("Customer satisfaction", "added", "Late", "Call back"),
        ("First contact resolution", "changed", "FCR note", "Train"),
    ]
    assert review.commentary_changes(tmp_path / "elsewhere" / "scorecard.csv", con, "2026-10", "u1") is None


# --------------------------------------------------------------------------- initiatives
def _initiative(**kw):
    base = dict(
        name="<i>KB</i> & co",
        kpi_name="First contact resolution",
        kpi_unit="%",
        start="2026-03",
        window_months=2,
        months_after=1,
        provisional=True,
        verdict="no detectable effect",
        impact=-2.5,
        naive_change=3.0,
        ci_low=-9.0,
        ci_high=4.0,
        note="provisional: 1 of 2 months after the start",
        before_treated=60.0,
        after_treated=63.0,
        before_control=70.0,
        after_control=75.5,
        n_before_treated=120,
        n_after_treated=60,
        n_before_control=300,
        n_after_control=150,
    )
    return SimpleNamespace(**{**base, **kw})


def test_initiative_rows_and_cells():
    r = _initiative()
    (row,) = review.initiative_rows(pd.DataFrame([vars(r)]))
    assert row["impact"] == "-2.5 pts" and row["interval"] == "-9.0 pts to +4.0 pts" and row["naive"] == "+3.0 pts"
    assert row["months_after"] == "1 of 2 (provisional)"
    treated, control = review.initiative_cell_rows(r)
    assert (treated["before"], treated["after"], treated["change"], treated["n_before"]) == (
        "60.0%",
        "63.0%",
        "+3.0 pts",
        120,
    )
    assert control["change"] == "+5.5 pts" and control["n_after"] == 150
    text = review.initiative_sentence(r)
    assert "impact -2.5 pts" in text and "naive before/after change is +3.0 pts" in text and "Provisional" in text
    assert (
        "no interval"
        in review.initiative_rows(pd.DataFrame([vars(_initiative(ci_low=None, ci_high=None))]))[0]["interval"]
    )


def test_initiative_figure_marks_the_start_and_escapes_the_name():
    periods = ["2026-01", "2026-02", "2026-03", "2026-04"]
    months = pd.DataFrame(
        [(p, arm, v, 10) for p, a, b in zip(periods, [60, 61, 63, 64], [70, 71, 74, 76]) for arm, v in (("treated", a), ("control", b))],
        columns=["period", "arm", "value", "n"],
    )  # fmt: skip
    r = _initiative()
    fig = initiative_figure(months, r)
    assert [t.name for t in fig.data] == ["Treated units", "Control units"]
    assert list(fig.data[0].y) == [60, 61, 63, 64] and list(fig.data[1].y) == [70, 71, 74, 76]
    line = [s for s in fig.layout.shapes if s.type == "line"][0]
    assert line.x0 == 1.5  # between 2026-02 and the start 2026-03
    assert "&lt;i&gt;KB&lt;/i&gt; &amp; co" in fig.layout.title.text
    alt = initiative_alt(months, r)
    assert "2026-01 to 2026-04" in alt and "treated units from 60.0% (2026-01) to 64.0% (2026-04)" in alt
    assert "control units from 70.0%" in alt and "no detectable effect" in alt


def test_initiative_arms_names_both_arms():
    c = duckdb.connect()
    c.execute("CREATE TABLE org_units AS SELECT * FROM (VALUES ('a', 'Alpha', '1'), ('b', 'Beta', '2'), "
              "('c', 'Gamma', '3'), ('d', 'Delta', '4')) t(unit_id, unit_name, sort_path)")  # fmt: skip
    c.execute("CREATE TABLE initiative_units AS SELECT * FROM (VALUES ('i', 'treated', 'a'), ('i', 'control', 'b'), "
              "('i', 'control', 'c'), ('i', 'control', 'd')) t(initiative_id, arm, unit_id)")  # fmt: skip
    assert review.initiative_arms(c, "i", shown=2) == "Treated units: Alpha. Control units: Beta, Gamma and 1 more."
    assert review.initiative_arms(c, "other") == "Treated units: none. Control units: none."
