"""Freshness per source and rows per month, checked against pandas computations over the fixture's
own input files (never against the SQL that builds them)."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from scorecard_fixtures import BERLIN, LEAVES, NYC, PARIS, Inputs, ix, survey

from scorecard.report import freshness, quality, queries

TZ = "America/New_York"
MONTHS = ("2026-08", "2026-09", "2026-10")  # complete; 2026-11 is in progress
SURVEY_STOPS = date(2026, 10, 18)  # the survey export was taken mid-October
LATE = "2026-10-01T02:00:00+05:00"  # 2026-09-30 17:00 in New York: September, though it reads October


def _days(month: str, last: int | None = None):
    year, mon = map(int, month.split("-"))
    for day in range(1, (last or calendar.monthrange(year, mon)[1]) + 1):
        yield f"{month}-{day:02d}"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Interactions every day to 2026-11-02; surveys every day but only to 2026-10-18; QA reviews
    every day; an employee pulse that always closes on the 11th; costs for August and September
    only. Plus rows to set aside: bad timestamps, a duplicate, scores out of range, and a survey
    answered (in another time zone) before its interaction was created."""
    inp = Inputs(tmp_path_factory.mktemp("freshness"))
    interactions, surveys, reviews, pulse, costs = [], [], [], [], []
    for month in (*MONTHS, "2026-11"):
        for n, day in enumerate(_days(month, 2 if month == "2026-11" else None)):
            unit = LEAVES[n % 3]
            iid = f"I{day}"
            interactions.append(ix(iid, f"{day}T10:00:00", unit, first=f"{day}T10:30:00"))
            reviews.append(
                {"review_id": f"R{day}", "interaction_id": iid, "reviewed_at": f"{day}T16:00:00", "score": 90}
            )
            if date.fromisoformat(day) <= SURVEY_STOPS:
                surveys.append(survey(f"S{day}", "csat", 4, f"{day}T12:00:00", unit_id=unit))
    for month in MONTHS:
        for day in _days(month, 11):
            pulse.append({"response_id": f"P{day}", "unit_id": PARIS, "responded_at": f"{day}T09:00:00", "score": 8})
    for month in MONTHS[:2]:
        costs += [{"unit_id": unit, "period": month, "support_cost": 1000} for unit in LEAVES]
    interactions += [
        ix("bad-created", "2026-13-45T00:00:00", PARIS),  # unknown month
        ix("I2026-09-03", "2026-09-03T11:00:00", BERLIN),  # duplicate id: unknown month
        ix("early-answer", "2026-10-05T10:00:00", NYC, first="2026-10-04T23:00:00"),  # value 2026-10-04
        ix("created-oct", "2026-10-01T12:00:00", PARIS),
    ]
    surveys += [
        survey("bad-score", "csat", 9, "2026-09-10T12:00:00", unit_id=PARIS),  # value "9": unknown month
        survey("too-early", "csat", 5, LATE, interaction_id="created-oct"),  # answered before created
    ]
    pulse.append({"response_id": "bad-pulse", "unit_id": PARIS, "responded_at": "yesterday", "score": 8})
    costs.append({"unit_id": PARIS, "period": "2026-13", "support_cost": 5})
    for table, rows in (
        ("interactions", interactions),
        ("survey_responses", surveys),
        ("qa_reviews", reviews),
        ("employee_pulse", pulse),
        ("costs", costs),
    ):
        inp.set(table, rows)
    built = inp.build(timezone=TZ)
    built.inputs = inp.dir
    return built


# --------------------------------------------------------------------------- freshness
def _expected_marks(built) -> dict[tuple[str, str], str]:
    """(table, month) -> last record day ('' when none), by the rule of freshness.py, in pandas
    over the input files: a month is marked when the table has no row in it, or its last record
    is more than TOLERANCE_DAYS before the month's end (the cut-off date for the month in progress)
    beyond the smallest such gap of the table's other complete months."""
    cutoff = datetime.fromisoformat(built.query("SELECT value FROM meta WHERE key = 'cutoff'")[0]["value"])
    periods = {r["period"]: r["complete"] for r in built.query("SELECT period, complete FROM periods")}

    def month_end(month: str) -> date:
        last = pd.Period(month, "M").end_time.date()
        return last if periods[month] else min(last, cutoff.date())

    marks = {}
    for table, (column, _label) in freshness.SOURCES.items():
        raw = pd.read_csv(built.inputs / f"{table}.csv", dtype=str)
        if column == "period":
            months = raw.loc[raw["period"].isin(periods), "period"]
            have = set(months)
            for month in sorted(periods):
                if month >= min(have) and month not in have:
                    marks[(table, month)] = ""
            continue
        key = raw.columns[0]  # response_id, review_id: the rows kept, not the ones set aside
        raw = raw[raw[key].isin({r["id"] for r in built.query(f"SELECT {key} AS id FROM {table}")})]
        at = pd.to_datetime(raw[column])
        last = at.groupby(at.dt.strftime("%Y-%m")).max().dt.date
        gaps = {m: (month_end(m) - d).days for m, d in last.items() if m in periods}
        for month in sorted(periods):
            if month < min(gaps):
                continue
            if month not in gaps:
                marks[(table, month)] = ""
                continue
            others = [g for m, g in gaps.items() if m != month and periods[m]]
            if gaps[month] > min(others, default=0) + freshness.TOLERANCE_DAYS:
                marks[(table, month)] = last[month].isoformat()
    return marks


def test_marked_months_equal_an_independent_computation(built, built_con):
    coverage = freshness.source_coverage(built_con)
    marked = coverage[coverage["short"]]
    expected = _expected_marks(built)
    assert set(zip(marked["table_name"], marked["period"])) == set(expected)
    # the story of the fixture, spelled out
    assert expected == {
        ("survey_responses", "2026-10"): "2026-10-18",
        ("survey_responses", "2026-11"): "",
        ("employee_pulse", "2026-11"): "",
        ("costs", "2026-10"): "",
        ("costs", "2026-11"): "",
    }
    # rows per (table, month) equal a recount of the clean tables
    for r in coverage.itertuples():
        column = freshness.SOURCES[r.table_name][0]
        month = column if column == "period" else f"strftime({column}, '%Y-%m')"
        n = built.query(f"SELECT count(*) AS n FROM {r.table_name} WHERE {month} = ?", [r.period])[0]["n"]
        assert r.rows == n, (r.table_name, r.period)


def test_freshness_notes_name_the_day_the_data_stops(built_con):
    notes = freshness.freshness_notes(built_con, "2026-10")
    assert notes == [
        "Survey data runs to 2026-10-18 (the month ends 2026-10-31): 2026-10's survey KPIs cover part of the month.",
        "No cost data for 2026-10 yet: the cost data runs to 2026-09.",
    ]
    assert freshness.freshness_notes(built_con, "2026-09") == []  # the pulse always closes on the 11th


def test_the_overview_quality_notes_carry_the_freshness_notes(built_con):
    notes = queries.quality_notes(built_con, "2026-10")
    assert notes[0].startswith("Data cut-off")
    assert notes[-2:] == freshness.freshness_notes(built_con, "2026-10")


def test_coverage_summary_per_source(built_con):
    summary = freshness.coverage_summary(freshness.source_coverage(built_con)).set_index("table_name")
    assert summary.loc["survey_responses", "latest"] == "2026-10-18"
    assert summary.loc["survey_responses", "marked"] == "2026-10, 2026-11"
    assert summary.loc["employee_pulse", "months"] == "2026-08 to 2026-10 (3 months)"
    assert summary.loc["costs", "latest"] == "2026-09"


# --------------------------------------------------------------------------- rows per month
def _month_of_value(value: str) -> str:
    """The month of a set-aside row's value, parsed by pandas: a YYYY-MM month, or an ISO
    timestamp (with an offset: converted to the reporting time zone)."""
    text = str(value).strip()
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and "01" <= text[5:] <= "12":
        return text
    if len(text) < 10 or not (text[:4].isdigit() and text[4] == "-" and text[7] == "-"):
        return quality.UNKNOWN_MONTH
    try:
        at = pd.Timestamp(text)
    except ValueError:
        return quality.UNKNOWN_MONTH
    if at.tzinfo is not None:
        at = at.tz_convert(TZ)
    return at.strftime("%Y-%m")


def test_rows_per_month_equal_a_pandas_recount(built, built_con):
    aside = pd.DataFrame(built.quarantine())
    expected: dict[tuple[str, str], list[int]] = {}
    for table, column in quality.MONTH_COLUMNS.items():
        path = built.inputs / f"{table}.csv"
        if not path.exists():
            continue
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        mine = aside[aside["table_name"] == table] if len(aside) else aside
        bad_rows = set(mine["row"]) if len(mine) else set()
        kept = raw[[i + 1 not in bad_rows for i in range(len(raw))]]
        kept_months = kept[column] if column == "period" else pd.to_datetime(kept[column]).dt.strftime("%Y-%m")
        for month in kept_months:
            expected.setdefault((table, month), [0, 0])[0] += 1
        for value in mine["value"] if len(mine) else []:
            counts = expected.setdefault((table, _month_of_value(value)), [0, 0])
            counts[0] += 1
            counts[1] += 1
    counts = quality.monthly_counts(built_con)
    got = {(r.table_name, r.period): [r.read, r.set_aside] for r in counts.itertuples()}
    assert got == expected
    # the cases the fixture was built for
    assert got[("survey_responses", "2026-09")][1] == 1  # LATE, in New York's September
    assert got[("interactions", "2026-10")][1] == 1  # answered on 2026-10-04, before it was created
    assert got[("interactions", quality.UNKNOWN_MONTH)] == [2, 2]  # bad created_at, duplicate id
    assert got[("costs", quality.UNKNOWN_MONTH)] == [1, 1]


def test_the_monthly_table_lists_months_newest_first_and_the_unknown_month_last(built_con):
    rows, tables = quality.monthly_rows(quality.monthly_counts(built_con))
    assert [r["period"] for r in rows] == ["2026-11", "2026-10", "2026-09", "2026-08", quality.UNKNOWN_MONTH]
    assert tables[:2] == ["interactions", "survey_responses"]
    assert rows[-1]["interactions"] == "2 (2 set aside)"
    assert "costs" not in rows[0]  # no cost row in 2026-11: an empty cell, not 0


def test_the_data_quality_page_shows_rows_per_month_and_the_freshness_notes(built, tmp_path):
    import html
    import re

    import nbformat
    import papermill

    notebook = Path(__file__).resolve().parents[2] / "notebooks" / "data_quality.ipynb"
    papermill.execute_notebook(
        str(notebook),
        str(tmp_path / "dq.ipynb"),
        parameters={"database": str(built.database), "root": "./"},
        progress_bar=False,
        log_output=False,
        kernel_name="python3",
    )
    outputs = [
        o.get("data", {}).get("text/html") or o.get("data", {}).get("text/markdown", "")
        for cell in nbformat.read(tmp_path / "dq.ipynb", as_version=4).cells
        for o in cell.get("outputs", [])
    ]
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", "\n".join(outputs))).split())
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)  # Markdown's backslash escapes
    assert "Rows per month" in text and "Freshness per source" in text
    assert "Survey data runs to 2026-10-18 (the month ends 2026-10-31)" in text
    assert "unknown month 2 (2 set aside)" in text  # interactions' row of the unknown month


def test_a_database_without_the_counted_table_gives_the_same_coverage(built, built_con, tmp_path):
    """Databases computed before `source_coverage` was stored count the rows when asked."""
    import shutil

    import duckdb

    older = tmp_path / "older.duckdb"
    shutil.copy(built.database, older)
    with duckdb.connect(str(older)) as con:
        con.execute("DROP TABLE source_coverage")
    with duckdb.connect(str(older), read_only=True) as con:
        recounted = freshness.source_coverage(con)
    stored = freshness.source_coverage(built_con)
    pd.testing.assert_frame_equal(recounted, stored)
    assert stored["short"].any()
