"""Report queries against independent pandas computations over the demo database's clean tables."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from scorecard.report import queries

UNHAPPY = {"csat": 2, "nps": 6, "ces": 3}  # the highest score that counts as unhappy


@pytest.fixture(scope="module")
def con(demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)
    yield con
    con.close()


def _descendants(units: pd.DataFrame, unit_id: str) -> set[str]:
    found, frontier = {unit_id}, {unit_id}
    while frontier:
        frontier = set(units.loc[units["parent_id"].isin(frontier), "unit_id"])
        found |= frontier
    return found


def test_comments_are_the_latest_unhappy_ones_of_the_unit_and_below(con):
    responses = con.execute("SELECT * FROM survey_responses").df()
    units = con.execute("SELECT unit_id, parent_id FROM org_units").df()
    unhappy = responses[
        responses["comment"].fillna("").str.strip().ne("") & (responses["score"] <= responses["survey"].map(UNHAPPY))
    ]
    periods = ["2026-09", "2026-10"]
    checked = 0
    for unit_id in units["unit_id"]:
        here = unhappy[unhappy["unit_id"].isin(_descendants(units, unit_id))]
        for period in periods:
            rows = here[here["responded_at"].dt.strftime("%Y-%m") == period]
            expected = rows.sort_values(["responded_at", "response_id"], ascending=[False, True]).head(5)
            got = queries.comments(con, period, unit_id)
            assert list(got["comment"]) == list(expected["comment"]), (unit_id, period)
            assert list(got["score"]) == list(expected["score"]), (unit_id, period)
            assert list(got["day"]) == list(expected["responded_at"].dt.strftime("%Y-%m-%d")), (unit_id, period)
            checked += len(got)
    assert checked > 50  # the demo has unhappy comments in most units
