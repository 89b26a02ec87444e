"""The catalog's change log: every version says what changed and why."""

from __future__ import annotations

from datetime import date

import pytest

from scorecard.catalog import load_catalog, parse_catalog
from scorecard.errors import ConfigError

KPI = """
  - {id: csat, name: CSAT, perspective: Customer, unit: "%", direction: higher, method: proportion,
     definition: d, target: 85, amber: 80, weight: 1, table: survey_responses, period_column: responded_at,
     params: {denominator: "survey = 'csat'", numerator: score >= 4}}
"""


def test_bundled_catalog_logs_its_version():
    catalog = load_catalog()
    assert catalog.changes and catalog.changes[-1].version == catalog.version
    assert all(c.what and c.why for c in catalog.changes)
    assert catalog.get("fcr").accountable and catalog.get("fcr").responsible


def test_changes_since_a_version():
    catalog = parse_catalog(
        f"""
version: 3
changes:
  - {{version: 1, date: 2024-01-01, what: first, why: start}}
  - {{version: 2, date: 2025-01-01, what: FCR excludes reopened, why: reopened contacts were not resolved}}
  - {{version: 3, date: 2026-01-01, what: CSAT counts 4 and 5, why: align with the survey vendor}}
kpis: {KPI}""",
        "test",
    )
    assert [c.version for c in catalog.changes_since(1)] == [2, 3]
    assert catalog.changes[1].date == date(2025, 1, 1)
    assert catalog.changes_since(3) == ()


@pytest.mark.parametrize(
    "changes, message",
    [
        ("[{version: 1, date: 2024-01-01, what: a, why: b}]", "add an entry saying what changed in version 2"),
        ("[{version: 3, date: 2024-01-01, what: a, why: b}]", "newer than the catalog's version 2"),
        (
            "[{version: 2, date: 2024-01-01, what: a, why: b}, {version: 1, date: 2023-01-01, what: a, why: b}]",
            "oldest first",
        ),
        ("[{version: 2, date: 2024-01-01, what: a}]", "why"),
    ],
)
def test_a_change_log_that_does_not_lead_to_the_version_is_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        parse_catalog(f"version: 2\nchanges: {changes}\nkpis: {KPI}", "test")


def test_change_log_is_stored_with_the_build(inputs):
    from scorecard_fixtures import ix

    built = inputs.add("interactions", ix("a", "2026-01-05T10:00:00")).build()
    rows = built.query("SELECT version, what FROM catalog_changes ORDER BY version")
    assert [r["version"] for r in rows] == [c.version for c in load_catalog().changes]
    assert (
        built.query("SELECT accountable FROM catalog WHERE kpi_id = 'fcr'")[0]["accountable"]
        == load_catalog().get("fcr").accountable
    )
