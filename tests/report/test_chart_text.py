"""The charts' text names say what each chart shows, with the numbers the tables show."""

from __future__ import annotations

import math

import pandas as pd

from scorecard.report.chart_text import priority_alt, ranking_alt, trends_alt


def test_ranking_alt_lists_units_best_first_with_rounded_composites():
    ranking = pd.DataFrame({"unit_name": ["B <x>", "A", "C"], "composite": [61.5, 88.2, math.nan]})
    assert ranking_alt(ranking) == "Composite score by unit (0–100), best first: A 88, B <x> 62."


def test_priority_alt_names_the_kpis_of_each_quadrant_in_urgency_order():
    placed = pd.DataFrame(
        {"name": ["CSAT", "NPS", "AHT", "FCR"], "quadrant": ["maintain", "fix now", "fix now", "low priority"]}
    )
    text = priority_alt(placed, "Priority matrix · EMEA")
    assert text.startswith("Priority matrix · EMEA: ")
    assert text.endswith("fix now: NPS, AHT; maintain: CSAT; low priority: FCR.")


def test_trends_alt_gives_the_span_and_latest_value_of_each_kpi():
    trends = pd.DataFrame(
        {
            "period": ["2026-01", "2026-02", "2026-01", "2026-02"],
            "kpi_id": ["csat", "csat", "aht", "aht"],
            "value": [80.0, 82.25, 9.0, None],
        }
    )
    kpis = [
        {"kpi_id": "csat", "name": "CSAT", "kpi_unit": "%"},
        {"kpi_id": "aht", "name": "AHT", "kpi_unit": "minutes"},
    ]
    text = trends_alt(trends, kpis)
    assert "(2), 2026-01 to 2026-02" in text
    assert text.endswith("Latest values: CSAT 82.2%, AHT 9.0 min.")
