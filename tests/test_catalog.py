"""The catalog's computation fields: validated with messages naming the KPI and the fix, and every
bundled KPI compiles to SQL that runs (alone, and by channel and segment when it has breakdowns)."""

from __future__ import annotations

import re

import duckdb
import pytest
import yaml

from scorecard import kpis, needs
from scorecard.catalog import load_catalog, parse_catalog
from scorecard.errors import ConfigError
from scorecard.kpisql import DIMENSIONS, Grouping, compile_kpi
from scorecard.stats import install_macros

BASE = {
    "id": "k",
    "name": "K",
    "perspective": "Internal process",
    "unit": "%",
    "direction": "higher",
    "method": "proportion",
    "definition": "d",
    "table": "interactions",
    "period_column": "created_at",
    "params": {"numerator": "reopened"},
}


def _parse(**changes) -> None:
    kpi = {**BASE, **changes}
    kpi = {k: v for k, v in kpi.items() if v is not None}
    parse_catalog(yaml.safe_dump({"version": 1, "kpis": [kpi]}), "test.yml")


def test_a_valid_entry_parses():
    _parse()


@pytest.mark.parametrize(
    "changes, fragments",
    [
        ({"method": "sum"}, ["'k'", "unknown method 'sum'", "proportion, nps, mean, median, ratio, count"]),
        ({"params": {}}, ["'k'", "method proportion needs parameter 'numerator'"]),
        ({"method": "mean", "params": {"filter": "true"}}, ["method mean needs parameter 'expression'"]),
        ({"params": {"numerator": "x", "where": "y"}}, ["takes no parameter 'where'", "numerator, denominator"]),
        ({"table": "tickets"}, ["unknown table 'tickets'", "interactions", "customer_months"]),
        ({"table": None}, ["give `table`"]),
        ({"period_column": "resolved"}, ["period_column 'resolved' is not a date column", "created_at"]),
        ({"period_column": None}, ["give period_column", "first_response_at"]),
        ({"table": "qa_reviews", "period_column": "reviewed_at", "breakdown": True}, ["breakdown", "qa_reviews"]),
        ({"columns": ["handle_time"]}, ["columns: handle_time not in table interactions"]),
        ({"table": "customer_months", "period_column": None, "params": {"numerator": "x"}}, ["numerator `retained`"]),
        ({"table": "customer_months"}, ["has its own months"]),
        ({"method": "median", "table": "costs", "period_column": "period", "params": {"expression": "1"}}, ["median"]),
        ({"method": "ratio", "params": {"numerator": {"filter": "true"}}}, ["numerator needs an `expression`"]),
        (
            {"method": "ratio", "params": {"numerator": {"expression": "1"}, "denominator": {"table": "costs"}}},
            ["denominator", "give period_column", "period"],
        ),
        (
            {
                "method": "ratio",
                "params": {"numerator": {"expression": "1"}, "denominator": {"table": "customer_months"}},
            },
            ["denominator", "only for a retention proportion"],
        ),
        ({"table": "org_units"}, ["unknown table 'org_units'"]),
        ({"id": "Bad-Id"}, ["lower-case letters"]),
    ],
)
def test_invalid_entries_name_the_kpi_and_the_problem(changes, fragments):
    with pytest.raises(ConfigError) as exc:
        _parse(**changes)
    message = str(exc.value)
    assert message.startswith("test.yml: invalid KPI catalog")
    for fragment in fragments:
        assert fragment in message


def test_computation_fields_stay_out_of_the_stored_catalog():
    """scoring.store_catalog writes model_dump(): the catalog table keeps its columns."""
    dumped = load_catalog().get("fcr").model_dump()
    assert not {"table", "period_column", "params", "columns", "breakdown", "survey"} & set(dumped)
    assert dumped["method"] == "proportion"


def test_needs_come_from_the_catalog():
    catalog = load_catalog()
    assert set(needs.NEEDS) == set(catalog.ids)
    assert needs.NEEDS["aht"].columns == ("handle_time_s",)
    assert needs.NEEDS["aht"].what == "column handle_time_s missing or empty"
    assert needs.NEEDS["csat"].condition == "survey = 'csat'"
    assert needs.NEEDS["retention"].table == "customers"
    assert needs.SECOND_TABLE["sla_frt"] == "sla_policies"  # sla_minutes joins the policies
    assert "frt_median" not in needs.SECOND_TABLE


def test_breakdowns_and_survey_kpis_are_marked_in_the_catalog():
    catalog = load_catalog()
    broken_down = {k.id for k in catalog.kpis if k.breakdown}
    assert broken_down == {"csat", "nps", "ces", "fcr", "frt_median", "resolution_median", "sla_frt"} | {
        "reopen_rate",
        "aht",
        "volume",
    }
    assert {k.id for k in catalog.kpis if k.survey} == {"csat", "nps", "ces"}


def test_every_method_compiles_to_readable_sql():
    catalog = load_catalog()
    methods = {k.method for k in catalog.kpis}
    assert methods == {"proportion", "nps", "mean", "median", "ratio", "count"}
    for kpi in catalog.kpis:
        compiled = compile_kpi(kpi)
        assert compiled.sums or compiled.medians, kpi.id
        formula = " ".join([compiled.value, compiled.n, compiled.ci_low, compiled.ci_high])
        # the formula reads only the KPI's own aggregates
        assert set(re.findall(r"\b(\w+)__\w+", formula)) == {kpi.id}, kpi.id


# --- every bundled KPI runs ------------------------------------------------------------------------

TABLES_SQL = """
CREATE TABLE org_units AS SELECT * FROM (VALUES ('root', NULL), ('a', 'root')) t(unit_id, parent_id);
CREATE TABLE unit_tree AS SELECT * FROM (VALUES ('root', 'root'), ('a', 'a'), ('a', 'root')) t(unit_id, ancestor_id);
CREATE TABLE interactions AS SELECT
    'i' || i AS interaction_id, TIMESTAMP '2026-01-01' + i * INTERVAL 10 HOUR AS created_at, 'a' AS unit_id,
    CASE WHEN i % 2 = 0 THEN 'chat' ELSE 'email' END AS channel, 'normal' AS priority,
    CASE WHEN i % 3 = 0 THEN 'smb' END AS customer_segment,
    TIMESTAMP '2026-01-01' + i * INTERVAL 10 HOUR + INTERVAL 30 MINUTE AS first_response_at,
    CASE WHEN i % 4 <> 0 THEN TIMESTAMP '2026-01-01' + i * INTERVAL 10 HOUR + INTERVAL 5 HOUR END AS resolved_at,
    1 + i % 2 AS contacts_to_resolve, i % 5 = 0 AS reopened, 60.0 * i AS handle_time_s
FROM range(200) t(i);
CREATE TABLE survey_responses AS SELECT 'r' || i AS response_id, ['csat', 'nps', 'ces'][1 + i % 3] AS survey,
    i % 6 AS score, TIMESTAMP '2026-01-02' + i * INTERVAL 10 HOUR AS responded_at, 'i' || i AS interaction_id,
    'a' AS unit_id FROM range(150) t(i);
CREATE TABLE employee_pulse AS SELECT 'e' || i AS response_id, 'a' AS unit_id,
    TIMESTAMP '2026-01-03' + i * INTERVAL 1 DAY AS responded_at, i % 11 AS score FROM range(60) t(i);
CREATE TABLE qa_reviews AS SELECT 'q' || i AS review_id, 'i' || i AS interaction_id, 'a' AS unit_id,
    TIMESTAMP '2026-01-03' + i * INTERVAL 1 DAY AS reviewed_at, 50.0 + i AS score, i % 7 = 0 AS critical_fail
    FROM range(60) t(i);
CREATE TABLE costs AS SELECT * FROM (VALUES ('a', '2026-01', 1000.0), ('a', '2026-02', 500.0))
    t(unit_id, period, support_cost);
CREATE TABLE customers AS SELECT 'c' || i AS customer_id, 'a' AS unit_id, DATE '2025-11-01' AS active_from,
    CASE WHEN i % 4 = 0 THEN DATE '2026-02-10' END AS churned_at FROM range(40) t(i);
CREATE TABLE sla_policies AS SELECT * FROM (VALUES ('chat', NULL, 60.0), ('email', 'normal', 20.0))
    t(channel, priority, first_response_minutes);
"""


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute(TABLES_SQL)
    install_macros(con)
    kpis.compute_periods(con, "2026-03-31 00:00:00")
    yield con
    con.close()


@pytest.mark.parametrize("kpi_id", load_catalog().ids)
def test_every_bundled_kpi_compiles_and_runs(con, kpi_id):
    kpis.compute_kpi_rows(con, "2026-03-31 00:00:00", "one", kpi_ids=(kpi_id,), temp=True)
    rows = con.execute("SELECT kpi_id, sum(n), count(value) FROM one GROUP BY ALL").fetchall()
    assert rows and rows[0][0] == kpi_id and rows[0][1] > 0 and rows[0][2] > 0
    if load_catalog().get(kpi_id).breakdown:
        kpis.compute_kpi_rows(con, "2026-03-31 00:00:00", "by_dim", Grouping(tuple(DIMENSIONS)), (kpi_id,), temp=True)
        dims = con.execute("SELECT DISTINCT dimension FROM by_dim ORDER BY 1").fetchall()
        assert dims == [("channel",), ("segment",)]
    assert not [
        t
        for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
        if t.startswith(("sums_", "rolled_"))
    ]  # intermediate tables are dropped


def test_a_kpi_without_breakdowns_refuses_dimensions(con):
    with pytest.raises(ValueError, match="no breakdown for"):
        kpis.compute_kpi_rows(con, "2026-03-31 00:00:00", "x", Grouping(("channel",)), ("qa_score",), temp=True)
