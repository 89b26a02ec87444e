"""The benchmark file's caveats (note, url) travel to the comparison table as numbered footnotes."""

from __future__ import annotations

import pandas as pd

from scorecard.report.values import benchmark_footnotes, comparison_rows

NAN = float("nan")


def _card() -> pd.DataFrame:
    base = dict(
        kpi_unit="%",
        company_value=80.0,
        vs_company=1.0,
        sibling_rank=NAN,
        sibling_count=NAN,
        bench_segment=None,
        bench_p25=NAN,
        bench_p75=NAN,
        bench_median=70.0,
        bench_position="above median",
    )
    rows = [
        dict(
            kpi_id="fcr",
            name="FCR",
            value=81.0,
            bench_source="SQM",
            bench_year=2022,
            bench_note="Survey-based FCR; ours is from tickets.",
            bench_url="https://example.org/sqm",
        ),
        dict(
            kpi_id="csat",
            name="CSAT",
            value=90.0,
            bench_source="SQM",
            bench_year=2022,
            bench_note="Survey-based FCR; ours is from tickets.",
            bench_url="https://example.org/sqm",
        ),
        dict(
            kpi_id="aht", name="AHT", value=9.0, bench_source="APQC", bench_year=2021, bench_note=None, bench_url=None
        ),
        dict(
            kpi_id="qa_score",
            name="QA",
            value=88.0,
            bench_source="Klaus",
            bench_year=2023,
            bench_note=None,
            bench_url="https://example.org/klaus",
        ),
        dict(
            kpi_id="nps",
            name="NPS",
            value=30.0,
            bench_source=None,
            bench_year=NAN,
            bench_note=None,
            bench_url=None,
            bench_median=NAN,
            bench_position=None,
        ),
    ]
    return pd.DataFrame([{**base, **r} for r in rows])


def test_each_source_with_a_caveat_gets_one_numbered_footnote():
    notes = benchmark_footnotes(_card())
    assert notes == [
        "[1] SQM (2022): Survey-based FCR; ours is from tickets. Source: https://example.org/sqm",
        "[2] Klaus (2023) Source: https://example.org/klaus",
    ]


def test_rows_carry_the_mark_of_their_footnote_and_no_mark_without_a_caveat():
    sources = {r["kpi"]: r["source"] for r in comparison_rows(_card())}
    assert sources == {
        "FCR": "SQM (2022) [1]",
        "CSAT": "SQM (2022) [1]",
        "AHT": "APQC (2021)",
        "QA": "Klaus (2023) [2]",
        "NPS": "–",
    }


def test_no_note_columns_no_footnotes():
    card = _card().drop(columns=["bench_note", "bench_url"])
    assert benchmark_footnotes(card) == []
    assert comparison_rows(card)[0]["source"] == "SQM (2022)"
