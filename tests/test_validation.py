"""Validation: every quarantine reason (table, row, reason), masking, and the fatal unit-tree errors."""

from __future__ import annotations

import ast
import inspect

import pytest
from scorecard_fixtures import (
    BERLIN,
    EU,
    NYC,
    PARIS,
    ROOT,
    Built,
    Inputs,
    assert_one_error_line,
    build_module,
    ix,
    survey,
)

from scorecard import validation
from scorecard.errors import InputError

OK_CREATED = "2026-01-05 10:00:00"

# Each table: its rows, and per bad row (data row number, record_id, reason). Row numbers count
# data rows from 1 (the header is not a row).
INTERACTIONS = [
    ix("ok1", OK_CREATED, PARIS, first="2026-01-05 10:30", resolved="2026-01-05 12:00", handle=100, reopened="no"),
    ix("ok2", OK_CREATED, BERLIN, first="2026-01-05 10:30"),
    ix("", OK_CREATED, PARIS),  # 3
    ix("ok1", OK_CREATED, PARIS),  # 4
    ix("bad_created", "2026-13-01 10:00", PARIS),  # 5
    ix("no_unit", OK_CREATED, " "),  # 6
    ix("lyon", OK_CREATED, "EU/Lyon"),  # 7
    ix("bad_first", OK_CREATED, PARIS, first="soon"),  # 8
    ix("bad_resolved", OK_CREATED, PARIS, resolved="2026-01-32 10:00"),  # 9
    ix("early_answer", OK_CREATED, PARIS, first="2026-01-05 09:59:59"),  # 10
    ix("early_resolve", OK_CREATED, PARIS, resolved="2026-01-04 10:00"),  # 11
    ix("zero_contacts", OK_CREATED, PARIS, resolved="2026-01-05 11:00", contacts=0),  # 12
    ix("half_contact", OK_CREATED, PARIS, resolved="2026-01-05 11:00", contacts="1.5"),  # 13
    ix("no_contacts", OK_CREATED, PARIS, resolved="2026-01-05 11:00", contacts=""),  # 14
    ix("bad_reopened", OK_CREATED, PARIS, resolved="2026-01-05 11:00", reopened="maybe"),  # 15
    ix("bad_handle", OK_CREATED, PARIS, handle="12s"),  # 16
    ix("negative_handle", OK_CREATED, PARIS, handle="-5"),  # 17
    ix("   ", OK_CREATED, PARIS),  # 18
    # DuckDB casts these to timestamps, but they are not ISO 8601
    ix("epoch_created", "epoch", PARIS),  # 19
    ix("inf_resolved", OK_CREATED, PARIS, resolved="infinity", contacts=1),  # 20
]
INTERACTIONS_BAD = [
    (3, None, "missing interaction_id"),
    (4, "ok1", "duplicate interaction_id"),
    (5, "bad_created", "invalid created_at"),
    (6, "no_unit", "missing unit_id"),
    (7, "lyon", "unknown unit_id"),
    (8, "bad_first", "invalid first_response_at"),
    (9, "bad_resolved", "invalid resolved_at"),
    (10, "early_answer", "answered before created"),
    (11, "early_resolve", "resolved before created"),
    (12, "zero_contacts", "contacts_to_resolve is not an integer ≥ 1"),
    (13, "half_contact", "contacts_to_resolve is not an integer ≥ 1"),
    (14, "no_contacts", "resolved without contacts_to_resolve"),
    (15, "bad_reopened", "invalid reopened (expected true/false, 1/0, yes/no)"),
    (16, "bad_handle", "invalid handle_time_s"),
    (17, "negative_handle", "negative handle_time_s"),
    (18, None, "missing interaction_id"),
    (19, "epoch_created", "invalid created_at"),
    (20, "inf_resolved", "invalid resolved_at"),
]

SURVEYS = [
    survey("sv_ok", "csat", 5, "2026-01-05 13:00", interaction_id="ok1"),
    survey("", "csat", 5, "2026-01-05 13:00", unit_id=PARIS),  # 2
    survey("sv_ok", "csat", 5, "2026-01-05 13:00", unit_id=PARIS),  # 3
    survey("sv_kind", "csi", 5, "2026-01-05 13:00", unit_id=PARIS),  # 4
    survey("sv_when", "csat", 5, "yesterday", unit_id=PARIS),  # 5
    survey("sv_score", "csat", "five", "2026-01-05 13:00", unit_id=PARIS),  # 6
    survey("sv_range", "csat", 0, "2026-01-05 13:00", unit_id=PARIS),  # 7
    survey("sv_ix", "csat", 5, "2026-01-05 13:00", interaction_id="nope"),  # 8
    survey("sv_nowhere", "csat", 5, "2026-01-05 13:00"),  # 9
    survey("sv_lyon", "csat", 5, "2026-01-05 13:00", unit_id="EU/Lyon"),  # 10
    survey("sv_early", "csat", 1, "2026-01-05 09:00", interaction_id="ok1"),  # 11
    survey("sv_late", "csat", 1, "2026-01-12 12:00:01", interaction_id="ok1"),  # 12
    survey("sv_dup", "csat", 1, "2026-01-06 10:00", interaction_id="ok1"),  # 13
    survey("sv_nps", "nps", 10, "2026-01-06 10:00", interaction_id="ok1"),
]
SURVEYS_BAD = [
    (2, None, "missing response_id"),
    (3, "sv_ok", "duplicate response_id"),
    (4, "sv_kind", "unknown survey (expected csat, nps or ces)"),
    (5, "sv_when", "invalid responded_at"),
    (6, "sv_score", "invalid score"),
    (7, "sv_range", "score out of range"),
    (8, "sv_ix", "unknown interaction_id"),
    (9, "sv_nowhere", "missing unit_id and interaction_id"),
    (10, "sv_lyon", "unknown unit_id"),
    (11, "sv_early", "responded before the interaction was created"),
    (12, "sv_late", "responded more than 7 days after resolution"),
    (13, "sv_dup", "duplicate response for the interaction"),
]


def pulse(rid, unit, when, score):
    return {"response_id": rid, "unit_id": unit, "responded_at": when, "score": score}


PULSE = [
    pulse("ep_ok", PARIS, "2026-01-10", 9),
    pulse("", PARIS, "2026-01-10", 9),
    pulse("ep_ok", PARIS, "2026-01-10", 9),
    pulse("ep_lyon", "EU/Lyon", "2026-01-10", 9),
    pulse("ep_when", PARIS, "10/01/2026", 9),
    pulse("ep_score", PARIS, "2026-01-10", "nine"),
    pulse("ep_11", PARIS, "2026-01-10", 11),
    pulse("ep_frac", PARIS, "2026-01-10", "7.5"),
    pulse("ep_neg", PARIS, "2026-01-10", -1),
]
PULSE_BAD = [
    (2, None, "missing response_id"),
    (3, "ep_ok", "duplicate response_id"),
    (4, "ep_lyon", "unknown unit_id"),
    (5, "ep_when", "invalid responded_at"),
    (6, "ep_score", "invalid score"),
    (7, "ep_11", "score out of range"),
    (8, "ep_frac", "score out of range"),
    (9, "ep_neg", "score out of range"),
]


def review(rid, interaction, when, score, fail="false"):
    return {
        "review_id": rid,
        "interaction_id": interaction,
        "reviewer_id": "r1",
        "reviewed_at": when,
        "score": score,
        "critical_fail": fail,
    }


QA = [
    review("qa_ok", "ok1", "2026-01-10", 88),
    review("", "ok1", "2026-01-10", 88),
    review("qa_ok", "ok1", "2026-01-10", 88),
    review("qa_ix", "nope", "2026-01-10", 88),
    review("qa_when", "ok1", "", 88),
    review("qa_score", "ok1", "2026-01-10", "good"),
    review("qa_range", "ok1", "2026-01-10", 100.5),
    review("qa_fail", "ok1", "2026-01-10", 88, "sometimes"),
]
QA_BAD = [
    (2, None, "missing review_id"),
    (3, "qa_ok", "duplicate review_id"),
    (4, "qa_ix", "unknown interaction_id"),
    (5, "qa_when", "invalid reviewed_at"),
    (6, "qa_score", "invalid score"),
    (7, "qa_range", "score out of range"),
    (8, "qa_fail", "invalid critical_fail (expected true/false, 1/0, yes/no)"),
]

COSTS = [
    {"unit_id": PARIS, "period": "2026-01", "support_cost": 100},
    {"unit_id": "EU/Lyon", "period": "2026-01", "support_cost": 100},
    {"unit_id": BERLIN, "period": "2026-1", "support_cost": 100},
    {"unit_id": PARIS, "period": "2026-01", "support_cost": 900},
    {"unit_id": NYC, "period": "2026-01", "support_cost": "12€"},
    {"unit_id": BERLIN, "period": "2026-01", "support_cost": -1},
]
COSTS_BAD = [
    (2, "EU/Lyon 2026-01", "unknown unit_id"),
    (3, f"{BERLIN} 2026-1", "invalid period (expected YYYY-MM)"),
    (4, f"{PARIS} 2026-01", "duplicate unit_id and period"),
    (5, f"{NYC} 2026-01", "invalid support_cost"),
    (6, f"{BERLIN} 2026-01", "negative support_cost"),
]


def customer(cid, unit, active_from, churned_at=""):
    return {"customer_id": cid, "unit_id": unit, "segment": "SMB", "active_from": active_from, "churned_at": churned_at}


CUSTOMERS = [
    customer("cu_ok", PARIS, "2025-01-01"),
    customer("", PARIS, "2025-01-01"),
    customer("cu_ok", PARIS, "2025-01-01"),
    customer("cu_lyon", "EU/Lyon", "2025-01-01"),
    customer("cu_from", PARIS, "last year"),
    customer("cu_churn", PARIS, "2025-01-01", "2025-02-30"),
    customer("cu_order", PARIS, "2025-01-01", "2024-12-31"),
]
CUSTOMERS_BAD = [
    (2, None, "missing customer_id"),
    (3, "cu_ok", "duplicate customer_id"),
    (4, "cu_lyon", "unknown unit_id"),
    (5, "cu_from", "invalid active_from"),
    (6, "cu_churn", "invalid churned_at"),
    (7, "cu_order", "churned before active"),
]

SLA = [
    {"channel": "email", "priority": "", "first_response_minutes": 60},
    {"channel": "", "priority": "", "first_response_minutes": 60},
    {"channel": "Email", "priority": "", "first_response_minutes": 30},
    {"channel": "chat", "priority": "", "first_response_minutes": 0},
    {"channel": "phone", "priority": "high", "first_response_minutes": "soon"},
]
SLA_BAD = [
    (2, None, "missing channel"),
    (3, "email (any)", "duplicate channel and priority"),
    (4, "chat (any)", "first_response_minutes is not a positive number"),
    (5, "phone high", "first_response_minutes is not a positive number"),
]


def bench(kpi, source="Acme 2025", year=2025, median=80, p25="", p75=""):
    return {"kpi_id": kpi, "source": source, "year": year, "segment": "", "p25": p25, "median": median, "p75": p75}


BENCHMARKS = [
    bench("CSAT", p25=75, p75=88),
    bench("happiness"),
    bench("nps", source=""),
    bench("nps", year="2025.5"),
    bench("nps", median=""),
    bench("fcr", p25="low"),
    bench("fcr", p25=80, median=70),  # 7
    bench("aht", p25=8, median=10, p75=9),  # 8: lower is better, quartiles still ascend
    bench("csat", p25=70, p75=90),  # 9: csat, Acme 2025, 2025, no segment again
    bench("aht", p25=8, median=10, p75=12),  # 10: valid
]
BENCHMARKS_BAD = [
    (2, "happiness", "unknown kpi_id"),
    (3, "nps", "missing source"),
    (4, "nps", "invalid year"),
    (5, "nps", "invalid median"),
    (6, "fcr", "invalid quartile"),
    (7, "fcr", "quartiles out of order (expected p25 ≤ median ≤ p75)"),
    (8, "aht", "quartiles out of order (expected p25 ≤ median ≤ p75)"),
    (9, "csat", "duplicate kpi_id, source, year and segment"),
]


def comment(period, unit, kpi="", analysis="why", action="", due="", status=""):
    return {
        "period": period,
        "unit_id": unit,
        "kpi_id": kpi,
        "author": "lead",
        "analysis": analysis,
        "action": action,
        "due": due,
        "action_status": status,
    }


COMMENTARY = [
    comment("2026-01", PARIS, "FCR", action="retrain", due="2026-02-15", status="In Progress"),
    comment("2026-1", PARIS),
    comment("2026-01", ""),
    comment("2026-01", "EU/Lyon"),
    comment("2026-01", PARIS, "happiness"),
    comment("2026-01", PARIS, analysis=""),
    comment("2026-01", PARIS, action="hire", due="soon"),
    comment("2026-01", PARIS, action="hire", status="finished"),
    comment("2026-01", PARIS, "fcr", action="retrain"),
    comment("2026-01", PARIS, analysis="", action="hire", status="planned"),  # 10: valid
]
COMMENTARY_BAD = [
    (2, f"2026-1 {PARIS}", "invalid period (expected YYYY-MM)"),
    (3, "2026-01", "missing unit_id"),
    (4, "2026-01 EU/Lyon", "unknown unit_id"),
    (5, f"2026-01 {PARIS} happiness", "unknown kpi_id"),
    (6, f"2026-01 {PARIS}", "empty comment (no analysis and no action)"),
    (7, f"2026-01 {PARIS}", "invalid due (expected a date YYYY-MM-DD)"),
    (8, f"2026-01 {PARIS}", "invalid action_status (expected planned, in progress, done or dropped)"),
    (9, f"2026-01 {PARIS} fcr", "duplicate period, unit_id, kpi_id and action"),
]


def initiative(iid, unit=PARIS, kpi="csat", start="2026-01", control="", window=""):
    return {
        "initiative_id": iid,
        "name": "n",
        "kpi_id": kpi,
        "unit_id": unit,
        "start": start,
        "owner": "",
        "control_units": control,
        "window_months": window,
    }


INITIATIVES = [
    initiative("a", control=f"{BERLIN}; {NYC}", window=2),
    initiative(""),
    initiative("k", kpi="happiness"),
    initiative("m", unit=""),
    initiative("u", unit="EU/Lyon"),
    initiative("s", start="2026-13"),
    initiative("w", window="1.5"),
    initiative("c", control="EU/Lyon"),
    initiative("a", control=f"{BERLIN}; {NYC}", window=2),
    initiative("a", unit=BERLIN, window=3),
]
INITIATIVES_BAD = [
    (2, None, "missing initiative_id"),
    (3, "k", "unknown kpi_id"),
    (4, "m", "missing unit_id"),
    (5, "u", "unknown unit_id"),
    (6, "s", "invalid start (expected YYYY-MM)"),
    (7, "w", "window_months is not an integer ≥ 1"),
    (8, "c", "unknown unit in control_units"),
    (9, "a", "duplicate initiative_id and unit_id"),
    (
        10,
        "a",
        "disagrees with the first row of its initiative_id (name, kpi_id, start, owner, control_units, window_months)",
    ),
]

TABLES = {
    "interactions": (INTERACTIONS, INTERACTIONS_BAD),
    "survey_responses": (SURVEYS, SURVEYS_BAD),
    "employee_pulse": (PULSE, PULSE_BAD),
    "qa_reviews": (QA, QA_BAD),
    "costs": (COSTS, COSTS_BAD),
    "customers": (CUSTOMERS, CUSTOMERS_BAD),
    "sla_policies": (SLA, SLA_BAD),
    "benchmarks": (BENCHMARKS, BENCHMARKS_BAD),
    "commentary": (COMMENTARY, COMMENTARY_BAD),
    "initiatives": (INITIATIVES, INITIATIVES_BAD),
}
CASES = [(table, row, record, reason) for table, (_, bad) in TABLES.items() for row, record, reason in bad]


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> Built:
    return build_module(tmp_path_factory, "validation", {name: rows for name, (rows, _) in TABLES.items()})


@pytest.mark.parametrize("table,row,record,reason", CASES, ids=[f"{c[0]}:{c[3]}:{c[1]}" for c in CASES])
def test_quarantine_reason(checked, table, row, record, reason):
    matches = [q for q in checked.quarantine(table) if q["row"] == row]
    assert len(matches) == 1, f"row {row} of {table} not quarantined once: {checked.quarantine(table)}"
    assert (matches[0]["reason"], matches[0]["record_id"]) == (reason, record)


@pytest.mark.parametrize("table", TABLES)
def test_only_the_bad_rows_are_quarantined(checked, table):
    rows, bad = TABLES[table]
    assert sorted(q["row"] for q in checked.quarantine(table)) == sorted(r for r, _, _ in bad)
    clean = checked.query(f"SELECT count(*) AS n FROM {table}")[0]["n"]
    assert clean == len(rows) - len(bad)
    assert checked.summary.loaded[table] == len(rows)
    assert checked.summary.quarantined.get(table, 0) == len(bad)


def _rule_reasons() -> dict[str, set[str]]:
    """Every Rule(...) reason written in scorecard/validation.py, per validate_<table> function."""
    tree = ast.parse(inspect.getsource(validation))
    found: dict[str, set[str]] = {}
    for fn in tree.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("validate_")):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Rule":
                arg = node.args[1] if len(node.args) > 1 else next(k.value for k in node.keywords if k.arg == "reason")
                if isinstance(arg, ast.Constant):
                    text = arg.value
                else:  # the survey window f-string, with the default 7 days
                    text = "".join(p.value if isinstance(p, ast.Constant) else "7" for p in arg.values)
                found.setdefault(fn.name.removeprefix("validate_"), set()).add(text)
    return found


def test_every_rule_of_validation_py_is_covered():
    covered: dict[str, set[str]] = {}
    for table, _, _, reason in CASES:
        covered.setdefault(table, set()).add(reason)
    rules = _rule_reasons()
    assert set(rules) == set(TABLES)
    for table, reasons in rules.items():
        assert reasons <= covered[table], f"{table}: no test for {sorted(reasons - covered[table])}"
    assert "duplicate response for the interaction" in covered["survey_responses"]


def test_quarantine_keeps_the_offending_value(checked):
    values = {(q["table_name"], q["row"]): q["value"] for q in checked.quarantine()}
    assert values[("interactions", 5)] == "2026-13-01 10:00"
    assert values[("interactions", 7)] == "EU/Lyon"
    assert values[("interactions", 16)] == "12s"
    assert values[("survey_responses", 7)] == "0"
    assert values[("survey_responses", 13)] == "ok1"
    assert values[("costs", 5)] == "12€"


def _cell(row: dict, column: str) -> str | None:
    """A fixture cell as the quarantine shows it: the file's text (an empty cell reads as NULL)."""
    text = "" if row.get(column) is None else str(row[column])
    return text or None


def _key(*columns: str):
    return lambda row: " ".join(str(row[c]).strip().lower() if c in LOWER else str(row[c]).strip() for c in columns)


LOWER = {"survey", "channel", "priority", "kpi_id", "segment"}
# The value shown beside each reason, computed here from the fixture rows: a column's raw text, '' for
# a missing value, or the key a duplicate repeats.
SHOWN = {
    "missing interaction_id": "",
    "answered before created": "first_response_at",
    "resolved before created": "resolved_at",
    "churned before active": "churned_at",
    "responded before the interaction was created": "responded_at",
    "responded more than 7 days after resolution": "responded_at",
    "score out of range": "score",
    "duplicate interaction_id": _key("interaction_id"),
    "missing unit_id": "",
    "resolved without contacts_to_resolve": "",
    "missing response_id": "",
    "duplicate response_id": _key("response_id"),
    "unknown survey (expected csat, nps or ces)": "survey",
    "missing unit_id and interaction_id": "",
    "duplicate response for the interaction": _key("interaction_id"),
    "missing review_id": "",
    "duplicate review_id": _key("review_id"),
    "unknown interaction_id": "interaction_id",
    "duplicate unit_id and period": _key("unit_id", "period"),
    "missing customer_id": "",
    "duplicate customer_id": _key("customer_id"),
    "missing channel": "",
    "duplicate channel and priority": lambda r: f"{r['channel'].lower()} {r['priority'].lower() or '(any)'}",
    "missing source": "",
    "invalid quartile": lambda r: f"{r['p25']} {r['p75']}",
    "quartiles out of order (expected p25 ≤ median ≤ p75)": lambda r: f"{r['p25']} {r['median']} {r['p75']}",
    "duplicate kpi_id, source, year and segment": _key("kpi_id", "source", "year"),
    "empty comment (no analysis and no action)": "",
    "duplicate period, unit_id, kpi_id and action": _key("period", "unit_id", "kpi_id"),
    "missing initiative_id": "",
    "unknown unit in control_units": "control_units",
    "duplicate initiative_id and unit_id": _key("initiative_id", "unit_id"),
}


def _shown(table: str, reason: str, row: dict) -> str | None:
    how = SHOWN.get(reason)
    if how is None:  # "invalid X", "unknown X", "negative X", ...: the first column the reason names
        how = next(c for c in row if c in reason.replace("(", " ").split())
    if isinstance(how, str):
        return "" if how == "" else _cell(row, how)
    return how(row)


def test_every_set_aside_row_shows_its_offending_value(checked):
    """Every quarantined value, against the fixture's own text (an independent computation)."""
    for table, (rows, bad) in TABLES.items():
        for number, _, reason in bad:
            row = rows[number - 1]
            shown = next(q["value"] for q in checked.quarantine(table) if q["row"] == number)
            assert shown == _shown(table, reason, row), (table, number, reason)


def test_clean_tables_have_the_contract_types(checked):
    """Parsing follows the contract: each clean column has its type's DuckDB type."""
    from scorecard.contract import TABLES as CONTRACT

    expected = {"timestamp": "TIMESTAMP", "date": "DATE", "integer": "INTEGER", "number": "DOUBLE"}
    expected |= {"boolean": "BOOLEAN", "text": "VARCHAR", "period": "VARCHAR"}
    lists = {("initiatives", "control_units"): "VARCHAR[]"}  # split into the unit ids it names
    for table in TABLES:
        found = {r["column_name"]: r["column_type"] for r in checked.query(f"DESCRIBE {table}")}
        for column in CONTRACT[table].columns:
            want = lists.get((table, column.name), expected[column.type])
            assert found[column.name] == want, (table, column.name)


def test_kpi_ids_are_bound_not_pasted_into_the_sql():
    """An id with a quote is data like any other, not SQL."""
    import duckdb

    con = duckdb.connect()
    con.execute(validation.QUARANTINE_DDL)
    con.execute(
        "CREATE TABLE raw_benchmarks AS SELECT * FROM (VALUES ('o''brien', 'src', '2025', '', '', '80', '', '', ''), "
        "('x'') OR (''1''=''1', 'src', '2025', '', '', '80', '', '', '')) "
        "v(kpi_id, source, year, segment, p25, median, p75, url, note)"
    )
    validation.validate_benchmarks(con, ("o'brien",))
    assert con.execute("SELECT kpi_id FROM benchmarks").fetchall() == [("o'brien",)]
    assert con.execute('SELECT "row", reason, value FROM quarantine').fetchall() == [
        (2, "unknown kpi_id", "x') OR ('1'='1")
    ]


def test_quarantined_rows_do_not_count(checked):
    jan = {k: r for (p, u, k), r in checked.results.items() if p == "2026-01" and u == PARIS}
    assert jan["volume"]["value"] == 1  # ok1 only
    assert (jan["csat"]["n"], jan["csat"]["value"]) == (1, 100)  # sv_ok only
    assert jan["nps"]["n"] == 1
    assert (jan["enps"]["n"], jan["enps"]["value"]) == (1, 100)
    assert (jan["qa_score"]["n"], jan["qa_score"]["value"]) == (1, 88)
    assert jan["cost_per_contact"]["value"] == 100  # 100 ÷ 1; the duplicate 900 is set aside
    assert checked.row("2026-01", BERLIN, "cost_per_contact")["value"] is None  # its -1 cost is set aside
    assert checked.row("2026-01", ROOT, "volume")["value"] == 2
    assert checked.query("SELECT first_response_minutes AS m FROM sla_policies") == [{"m": 60}]
    assert checked.query("SELECT kpi_id, p25, median, p75 FROM benchmarks") == [
        {"kpi_id": "csat", "p25": 75, "median": 80, "p75": 88},
        {"kpi_id": "aht", "p25": 8, "median": 10, "p75": 12},
    ]


def test_quarantine_cli_lists_counts(checked, capsys, tmp_path, monkeypatch):
    from scorecard_fixtures import run_cli

    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "quarantine", "--db", checked.database)
    assert code == 0
    assert "missing interaction_id" in out and "survey_responses" in out
    line = next(ln for ln in out.splitlines() if "missing interaction_id" in ln)
    assert line.split()[:2] == ["interactions", "2"]


# --- masking ------------------------------------------------------------------------------------------


def test_emails_and_phone_numbers_in_comments_are_masked(inputs):
    inputs.add("interactions", ix("a", OK_CREATED))
    comments = {
        "r1": (
            "Call me on +33 6 12 34 56 78 or write to jean.dupont@example.fr please",
            "Call me on [phone] or write to [email] please",
        ),
        "r2": ("my number is (555) 123-4567.", "my number is [phone]."),
        "r3": ("Mail: A.B-c+tag@mail.example.co.uk, thanks", "Mail: [email], thanks"),
        "r4": ("Great service, 5 stars", "Great service, 5 stars"),
        "r5": ("two: x@y.io and 06.12.34.56.78", "two: [email] and [phone]"),
    }
    inputs.add(
        "survey_responses",
        *[
            survey(r, "csat", 5, "2026-01-05 12:00", interaction_id="a", comment=text)
            if r == "r1"
            else survey(r, "csat", 5, "2026-01-05 12:00", unit_id=PARIS, comment=text)
            for r, (text, _) in comments.items()
        ],
    )
    built = inputs.build()
    stored = {r["response_id"]: r["comment"] for r in built.query("SELECT response_id, comment FROM survey_responses")}
    assert stored == {r: masked for r, (_, masked) in comments.items()}


# --- the unit tree: fatal ------------------------------------------------------------------------------


def _tree(inputs: Inputs, rows: list[dict]) -> Inputs:
    inputs.set("org_units", rows)
    inputs.add("interactions", ix("a", OK_CREATED))
    inputs.write()
    return inputs


def u(unit_id, parent_id, name=None):
    return {"unit_id": unit_id, "unit_name": name or unit_id, "parent_id": parent_id}


TREE_ERRORS = {
    "empty": ([], ["org_units.csv", "no units", "exactly one root"]),
    "duplicate": (
        [u("R", ""), u("A", "R"), u("B", "R"), u("A", "R")],
        ["org_units.csv rows 2, 4", "unit_id 'A' appears more than once"],
    ),
    "parent_missing": (
        [u("R", ""), u("A", "R"), u("B", "Nowhere")],
        ["org_units.csv row 3", "parent_id 'Nowhere' of unit 'B' is not a unit_id"],
    ),
    "two_roots": (
        [u("R", ""), u("A", "R"), u("S", "")],
        ["org_units.csv", "expected exactly one root unit", "found 2: 'R', 'S'"],
    ),
    "no_root": ([u("A", "B"), u("B", "A")], ["expected exactly one root unit", "found 0"]),
    "cycle": ([u("R", ""), u("A", "R"), u("B", "C"), u("C", "B")], ["org_units.csv", "'B', 'C'", "cycle"]),
    "empty_id": ([u("R", ""), u("", "R", name="Nameless")], ["org_units.csv row 2", "empty unit_id"]),
}


@pytest.mark.parametrize("case", TREE_ERRORS)
def test_broken_unit_tree_stops_the_build(inputs, cli, case):
    rows, fragments = TREE_ERRORS[case]
    _tree(inputs, rows)
    code, out, err = cli("build", "--data", inputs.dir, "--db", inputs.database)
    assert code == 2
    assert_one_error_line(err, *fragments)
    assert not inputs.database.exists()
    with pytest.raises(InputError):
        inputs.build()


def test_unit_ids_need_not_be_slugs(checked):
    units = checked.query("SELECT unit_id, parent_id, depth, is_leaf FROM org_units ORDER BY sort_path")
    assert [r["unit_id"] for r in units] == [ROOT, EU, BERLIN, PARIS, "NA", NYC]
    assert {r["unit_id"]: r["is_leaf"] for r in units}[PARIS] is True
    assert {r["unit_id"]: r["depth"] for r in units}[NYC] == 2
    pairs = {(r["ancestor_id"], r["unit_id"]) for r in checked.query("SELECT * FROM unit_tree")}
    assert (ROOT, PARIS) in pairs and (EU, PARIS) in pairs and (PARIS, PARIS) in pairs
    assert ("NA", PARIS) not in pairs and len(pairs) == 6 + 5 + 3


def test_no_valid_interactions_stops_the_build(inputs, cli):
    inputs.add("interactions", ix("a", "not a date"), ix("b", OK_CREATED, "EU/Lyon"))
    inputs.write()
    code, _, err = cli("build", "--data", inputs.dir, "--db", inputs.database)
    assert code == 2
    assert_one_error_line(err, "interactions.csv", "no valid interactions")
    assert not inputs.database.exists()
