"""Validation: raw text tables → typed clean tables plus a quarantine, in set-based SQL.

A row that breaks the contract is set aside with one reason (the first rule it breaks, in the
order listed below) and the offending value; it never stops the run. What makes the whole run
meaningless (no unit tree, a broken tree) raises InputError instead, before anything is written.

Each record table's rules are data (a Check); scorecard/rules.py parses the columns by their
contract types and applies the rules in one pass. In a rule, `c` is column c parsed, `raw_c` the
text as read (what the quarantine shows), `_repeat` true on a row whose unique key an
earlier row has.
"""

from __future__ import annotations

import duckdb

from .contract import ACTION_STATUSES, DEFAULT_WINDOW_MONTHS, SURVEY_RANGES
from .errors import InputError
from .needs import absent_columns
from .rules import Check, Lookup, Rule, bad, clean_columns, later_copy, run, text

QUARANTINE_DDL = """
CREATE OR REPLACE TABLE quarantine (
    table_name VARCHAR, "row" BIGINT, record_id VARCHAR, reason VARCHAR, value VARCHAR
)"""

# Masks applied to free text before it is stored: nothing downstream ever sees the original.
EMAIL_PATTERN = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
PHONE_PATTERN = r"\+?\(?[0-9][0-9 ()./\-]{6,}[0-9]"


# --- org_units: problems here are fatal ---------------------------------------------------------


def validate_org_units(con: duckdb.DuckDBPyConnection, file: str) -> None:
    """Check the unit tree and build org_units (with depth, leaf flag, sort path) and unit_tree."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _units AS
        SELECT rowid + 1 AS _row, {text("unit_id")} AS unit_id,
               coalesce({text("unit_name")}, {text("unit_id")}) AS unit_name,
               {text("parent_id")} AS parent_id
        FROM raw_org_units""")

    def first(sql: str):
        return con.execute(sql).fetchone()

    if first("SELECT count(*) FROM _units")[0] == 0:
        raise InputError(f"{file}: no units; expected a tree of units with exactly one root (empty parent_id)")
    row = first("SELECT _row FROM _units WHERE unit_id IS NULL ORDER BY _row LIMIT 1")
    if row:
        raise InputError(f"{file} row {row[0]}: empty unit_id; every unit needs an identifier")
    row = first("""SELECT unit_id, list(_row ORDER BY _row) FROM _units GROUP BY unit_id
                   HAVING count(*) > 1 ORDER BY min(_row) LIMIT 1""")
    if row:
        raise InputError(
            f"{file} rows {', '.join(map(str, row[1]))}: unit_id {row[0]!r} appears more than once; unit ids must be unique"
        )
    row = first("""SELECT c._row, c.unit_id, c.parent_id FROM _units c LEFT JOIN _units p ON p.unit_id = c.parent_id
                   WHERE c.parent_id IS NOT NULL AND p.unit_id IS NULL ORDER BY c._row LIMIT 1""")
    if row:
        raise InputError(f"{file} row {row[0]}: parent_id {row[2]!r} of unit {row[1]!r} is not a unit_id in the file")
    roots = [r[0] for r in con.execute("SELECT unit_id FROM _units WHERE parent_id IS NULL ORDER BY _row").fetchall()]
    if len(roots) != 1:
        detail = "none" if not roots else ", ".join(repr(r) for r in roots[:5])
        raise InputError(f"{file}: expected exactly one root unit (empty parent_id), found {len(roots)}: {detail}")
    unreached = [
        r[0]
        for r in con.execute("""
        WITH RECURSIVE reach(unit_id) AS (
            SELECT unit_id FROM _units WHERE parent_id IS NULL
            UNION SELECT c.unit_id FROM _units c JOIN reach r ON c.parent_id = r.unit_id)
        SELECT unit_id FROM _units WHERE unit_id NOT IN (SELECT unit_id FROM reach) ORDER BY _row LIMIT 5
    """).fetchall()
    ]
    if unreached:
        raise InputError(
            f"{file}: units {', '.join(repr(u) for u in unreached)} are not below the root {roots[0]!r}: "
            "their parent_id chain forms a cycle"
        )
    con.execute("""
        CREATE OR REPLACE TABLE org_units AS
        WITH RECURSIVE down(unit_id, depth, path) AS (
            SELECT unit_id, 0, [unit_name] FROM _units WHERE parent_id IS NULL
            UNION ALL
            SELECT c.unit_id, d.depth + 1, list_append(d.path, c.unit_name)
            FROM _units c JOIN down d ON c.parent_id = d.unit_id)
        SELECT u.unit_id, u.unit_name, u.parent_id, d.depth,
               NOT EXISTS (SELECT 1 FROM _units k WHERE k.parent_id = u.unit_id) AS is_leaf,
               d.path AS sort_path
        FROM _units u JOIN down d USING (unit_id)
        ORDER BY d.path""")
    # unit_tree: every (ancestor, descendant) pair including (unit, unit): pooling joins through it.
    con.execute("""
        CREATE OR REPLACE TABLE unit_tree AS
        WITH RECURSIVE up(ancestor_id, unit_id, distance) AS (
            SELECT unit_id, unit_id, 0 FROM org_units
            UNION ALL
            SELECT o.parent_id, up.unit_id, up.distance + 1
            FROM up JOIN org_units o ON o.unit_id = up.ancestor_id WHERE o.parent_id IS NOT NULL)
        SELECT * FROM up ORDER BY ancestor_id, unit_id""")
    con.execute("DROP TABLE _units")


# --- the record tables --------------------------------------------------------------------------


def _units() -> Lookup:
    return Lookup("org_units", "unit_id", "unit_id", {"unit_id": "known_unit"})


UNKNOWN_UNIT = "known_unit IS NULL"


def _not_integer(column: str) -> str:
    return f"({column} IS NULL OR {column} <> floor({column}))"


def _bad_period(column: str) -> str:
    return f"NOT regexp_full_match(coalesce({column}, ''), '[0-9]{{4}}-(0[1-9]|1[0-2])')"


def _masked(expr: str) -> str:
    """Free text with its e-mail addresses and phone numbers masked: nothing downstream sees them."""
    return (
        f"regexp_replace(regexp_replace({expr}, '{EMAIL_PATTERN}', '[email]', 'g'), '{PHONE_PATTERN}', '[phone]', 'g')"
    )


def validate_interactions(con: duckdb.DuckDBPyConnection) -> None:
    rules = [
        Rule("interaction_id IS NULL", "missing interaction_id"),
        Rule("_repeat", "duplicate interaction_id", "interaction_id"),
        Rule("created_at IS NULL", "invalid created_at", "raw_created_at"),
        Rule("unit_id IS NULL", "missing unit_id"),
        Rule(UNKNOWN_UNIT, "unknown unit_id", "raw_unit_id"),
        Rule(bad("first_response_at"), "invalid first_response_at", "raw_first_response_at"),
        Rule(bad("resolved_at"), "invalid resolved_at", "raw_resolved_at"),
        Rule("first_response_at < created_at", "answered before created", "raw_first_response_at"),
        Rule("resolved_at < created_at", "resolved before created", "raw_resolved_at"),
        Rule(
            f"{bad('contacts_to_resolve')} OR contacts_to_resolve < 1 "
            "OR contacts_to_resolve <> floor(contacts_to_resolve)",
            "contacts_to_resolve is not an integer ≥ 1",
            "raw_contacts_to_resolve",
        ),
        # a contact count the export does not have is not a fault of each resolved row
        Rule(
            "resolved_at IS NOT NULL AND contacts_to_resolve IS NULL AND $contacts_exported",
            "resolved without contacts_to_resolve",
        ),
        Rule(bad("reopened"), "invalid reopened (expected true/false, 1/0, yes/no)", "raw_reopened"),
        Rule(bad("handle_time_s"), "invalid handle_time_s", "raw_handle_time_s"),
        Rule("handle_time_s < 0", "negative handle_time_s", "raw_handle_time_s"),
    ]
    exported = ("interactions", "contacts_to_resolve") not in absent_columns(con)
    run(
        con,
        Check(
            "interactions",
            rules,
            record="interaction_id",
            unique=("interaction_id",),
            lookups=[_units()],
            columns=clean_columns("interactions", channel="coalesce(channel, 'unknown')"),
            params={"contacts_exported": exported},
        ),
    )


def validate_survey_responses(con: duckdb.DuckDBPyConnection, survey_window_days: int) -> None:
    scale = "list_position($surveys::VARCHAR[], survey)"
    rules = [
        Rule("response_id IS NULL", "missing response_id"),
        Rule("_repeat", "duplicate response_id", "response_id"),
        Rule(
            "survey IS NULL OR NOT list_contains($surveys::VARCHAR[], survey)",
            "unknown survey (expected csat, nps or ces)",
            "raw_survey",
        ),
        Rule("responded_at IS NULL", "invalid responded_at", "raw_responded_at"),
        Rule("score IS NULL", "invalid score", "raw_score"),
        Rule(
            f"score <> floor(score) OR score < ($lows::INTEGER[])[{scale}] OR score > ($highs::INTEGER[])[{scale}]",
            "score out of range",
            "raw_score",
        ),
        Rule("interaction_id IS NOT NULL AND known_interaction IS NULL", "unknown interaction_id", "interaction_id"),
        Rule("interaction_id IS NULL AND unit_id IS NULL", "missing unit_id and interaction_id"),
        Rule(f"interaction_id IS NULL AND {UNKNOWN_UNIT}", "unknown unit_id", "raw_unit_id"),
        Rule(
            "responded_at < interaction_created_at",
            "responded before the interaction was created",
            "raw_responded_at",
        ),
        Rule(
            "responded_at > interaction_resolved_at + to_days($window_days::INTEGER)",
            f"responded more than {int(survey_window_days)} days after resolution",
            "raw_responded_at",
        ),
    ]
    # Of the valid responses for one (interaction, survey), only the earliest counts.
    earliest = [
        Rule(
            f"interaction_id IS NOT NULL AND {later_copy('interaction_id, survey', 'responded_at, _row')}",
            "duplicate response for the interaction",
            "interaction_id",
        )
    ]
    interaction = {
        "interaction_id": "known_interaction",
        "unit_id": "interaction_unit",
        "created_at": "interaction_created_at",
        "resolved_at": "interaction_resolved_at",
    }
    run(
        con,
        Check(
            "survey_responses",
            rules,
            record="response_id",
            unique=("response_id",),
            later=[earliest],
            lookups=[Lookup("interactions", "interaction_id", "interaction_id", interaction), _units()],
            columns=clean_columns(
                "survey_responses", unit_id="coalesce(interaction_unit, unit_id)", comment=_masked("comment")
            ),
            params={
                "surveys": list(SURVEY_RANGES),
                "lows": [lo for lo, _ in SURVEY_RANGES.values()],
                "highs": [hi for _, hi in SURVEY_RANGES.values()],
                "window_days": int(survey_window_days),
            },
        ),
    )


def validate_employee_pulse(con: duckdb.DuckDBPyConnection) -> None:
    rules = [
        Rule("response_id IS NULL", "missing response_id"),
        Rule("_repeat", "duplicate response_id", "response_id"),
        Rule(UNKNOWN_UNIT, "unknown unit_id", "raw_unit_id"),
        Rule("responded_at IS NULL", "invalid responded_at", "raw_responded_at"),
        Rule("score IS NULL", "invalid score", "raw_score"),
        Rule(f"{_not_integer('score')} OR score < 0 OR score > 10", "score out of range", "raw_score"),
    ]
    run(con, Check("employee_pulse", rules, record="response_id", unique=("response_id",), lookups=[_units()]))


def validate_qa_reviews(con: duckdb.DuckDBPyConnection) -> None:
    rules = [
        Rule("review_id IS NULL", "missing review_id"),
        Rule("_repeat", "duplicate review_id", "review_id"),
        Rule("known_interaction IS NULL", "unknown interaction_id", "raw_interaction_id"),
        Rule("reviewed_at IS NULL", "invalid reviewed_at", "raw_reviewed_at"),
        Rule("score IS NULL", "invalid score", "raw_score"),
        Rule("score < 0 OR score > 100", "score out of range", "raw_score"),
        Rule(bad("critical_fail"), "invalid critical_fail (expected true/false, 1/0, yes/no)", "raw_critical_fail"),
    ]
    columns = {}
    for name, expr in clean_columns("qa_reviews", critical_fail="coalesce(critical_fail, false)").items():
        columns[name] = expr
        if name == "interaction_id":  # a review belongs to its interaction's unit
            columns["unit_id"] = "interaction_unit"
    interaction = {"interaction_id": "known_interaction", "unit_id": "interaction_unit"}
    run(
        con,
        Check(
            "qa_reviews",
            rules,
            record="review_id",
            unique=("review_id",),
            lookups=[Lookup("interactions", "interaction_id", "interaction_id", interaction)],
            columns=columns,
        ),
    )


def validate_costs(con: duckdb.DuckDBPyConnection) -> None:
    rules = [
        Rule(UNKNOWN_UNIT, "unknown unit_id", "raw_unit_id"),
        Rule(_bad_period("period"), "invalid period (expected YYYY-MM)", "raw_period"),
        Rule("_repeat", "duplicate unit_id and period", "raw_unit_id || ' ' || period"),
        Rule("support_cost IS NULL", "invalid support_cost", "raw_support_cost"),
        Rule("support_cost < 0", "negative support_cost", "raw_support_cost"),
    ]
    record = "unit_id || ' ' || coalesce(period, '')"
    run(con, Check("costs", rules, record=record, unique=("unit_id", "period"), lookups=[_units()]))


def validate_customers(con: duckdb.DuckDBPyConnection) -> None:
    rules = [
        Rule("customer_id IS NULL", "missing customer_id"),
        Rule("_repeat", "duplicate customer_id", "customer_id"),
        Rule(UNKNOWN_UNIT, "unknown unit_id", "raw_unit_id"),
        Rule("active_from IS NULL", "invalid active_from", "raw_active_from"),
        Rule(bad("churned_at"), "invalid churned_at", "raw_churned_at"),
        Rule("churned_at < active_from", "churned before active", "raw_churned_at"),
    ]
    run(con, Check("customers", rules, record="customer_id", unique=("customer_id",), lookups=[_units()]))


def validate_sla_policies(con: duckdb.DuckDBPyConnection) -> None:
    policy = "channel || ' ' || coalesce(priority, '(any)')"
    rules = [
        Rule("channel IS NULL", "missing channel"),
        Rule("_repeat", "duplicate channel and priority", policy),
        Rule(
            "first_response_minutes IS NULL OR first_response_minutes <= 0",
            "first_response_minutes is not a positive number",
            "raw_first_response_minutes",
        ),
    ]
    run(con, Check("sla_policies", rules, record=policy, unique=("channel", "priority")))


def validate_benchmarks(con: duckdb.DuckDBPyConnection, kpi_ids: tuple[str, ...]) -> None:
    """Quartiles are percentiles of the values, so p25 ≤ median ≤ p75 whichever way is better (for a
    lower-is-better KPI the better quartile is p25). One row per (kpi_id, source, year, segment)."""
    rules = [
        Rule("kpi_id IS NULL OR NOT list_contains($kpi_ids::VARCHAR[], kpi_id)", "unknown kpi_id", "raw_kpi_id"),
        Rule("source IS NULL", "missing source"),
        Rule(_not_integer("year"), "invalid year", "raw_year"),
        Rule("median IS NULL", "invalid median", "raw_median"),
        Rule(
            f"{bad('p25')} OR {bad('p75')}",
            "invalid quartile",
            "coalesce(raw_p25, '') || ' ' || coalesce(raw_p75, '')",
        ),
        Rule(
            "p25 > median OR median > p75",
            "quartiles out of order (expected p25 ≤ median ≤ p75)",
            "coalesce(raw_p25, '') || ' ' || raw_median || ' ' || coalesce(raw_p75, '')",
        ),
    ]
    # Of the otherwise valid rows for one (kpi_id, source, year, segment), the first counts.
    first = [
        Rule(
            later_copy("kpi_id, source, year, segment"),
            "duplicate kpi_id, source, year and segment",
            "concat_ws(' ', kpi_id, source, CAST(year AS INTEGER), segment)",
        )
    ]
    run(con, Check("benchmarks", rules, record="kpi_id", later=[first], params={"kpi_ids": list(kpi_ids)}))


# --- what people write: owners' commentary and initiatives -------------------------------------


def validate_commentary(con: duckdb.DuckDBPyConnection, kpi_ids: tuple[str, ...]) -> None:
    """Owners' comments. An action is known by (unit, KPI, its text): a later row with the same
    text updates its status, so one row per (period, unit_id, kpi_id, action) is kept."""
    rules = [
        Rule(_bad_period("period"), "invalid period (expected YYYY-MM)", "raw_period"),
        Rule("unit_id IS NULL", "missing unit_id"),
        Rule(UNKNOWN_UNIT, "unknown unit_id", "raw_unit_id"),
        Rule("kpi_id IS NOT NULL AND NOT list_contains($kpi_ids::VARCHAR[], kpi_id)", "unknown kpi_id", "raw_kpi_id"),
        Rule("analysis IS NULL AND action IS NULL", "empty comment (no analysis and no action)"),
        Rule(bad("due"), "invalid due (expected a date YYYY-MM-DD)", "raw_due"),
        Rule(
            "action_status IS NOT NULL AND NOT list_contains($statuses::VARCHAR[], action_status)",
            "invalid action_status (expected planned, in progress, done or dropped)",
            "raw_action_status",
        ),
    ]
    key = "concat_ws(' ', period, unit_id, kpi_id)"
    latest = [Rule(later_copy("period, unit_id, kpi_id, action"), "duplicate period, unit_id, kpi_id and action", key)]
    masked = {c: _masked(c) for c in ("author", "analysis", "action")}
    run(
        con,
        Check(
            "commentary",
            rules,
            record=key,
            later=[latest],
            # 'In Progress', 'in_progress' and 'in-progress' are one status
            parsed={"action_status": f"regexp_replace(lower({text('action_status')}), '[\\s_-]+', ' ', 'g')"},
            lookups=[_units()],
            columns=clean_columns("commentary", **masked),
            params={"kpi_ids": list(kpi_ids), "statuses": list(ACTION_STATUSES)},
        ),
    )


def validate_initiatives(con: duckdb.DuckDBPyConnection, kpi_ids: tuple[str, ...]) -> None:
    """One row per (initiative, treated unit); the rows of one initiative must agree on everything
    else: a row that disagrees with the initiative's first valid row is set aside."""
    rules = [
        Rule("initiative_id IS NULL", "missing initiative_id"),
        Rule("kpi_id IS NULL OR NOT list_contains($kpi_ids::VARCHAR[], kpi_id)", "unknown kpi_id", "raw_kpi_id"),
        Rule("unit_id IS NULL", "missing unit_id"),
        Rule(UNKNOWN_UNIT, "unknown unit_id", "raw_unit_id"),
        Rule(_bad_period("start"), "invalid start (expected YYYY-MM)", "raw_start"),
        Rule(
            f"{bad('window_months')} OR window_months < 1 OR window_months <> floor(window_months)",
            "window_months is not an integer ≥ 1",
            "raw_window_months",
        ),
        Rule("unknown_control IS NOT NULL", "unknown unit in control_units", "unknown_control"),
    ]
    once = [
        Rule(
            later_copy("initiative_id, unit_id"),
            "duplicate initiative_id and unit_id",
            "concat_ws(' ', initiative_id, unit_id)",
        )
    ]
    # Every other column must match the initiative's first valid row.
    shared = "name, kpi_id, start, owner, coalesce(window_months, 0), control"
    agree = [
        Rule(
            f"({shared}) IS DISTINCT FROM first_value(({shared})) OVER (PARTITION BY initiative_id, _rule IS NULL ORDER BY _row)",
            "disagrees with the first row of its initiative_id (name, kpi_id, start, owner, control_units, window_months)",
            "initiative_id",
        )
    ]
    derived = [
        (
            "control",
            "(SELECT list(DISTINCT trim(c) ORDER BY trim(c)) FROM unnest(string_split(control_units, ';')) t(c) "
            "WHERE trim(c) <> '')",
        ),
        ("unknown_control", "(SELECT min(c) FROM unnest(control) t(c) WHERE c NOT IN (SELECT unit_id FROM org_units))"),
    ]
    run(
        con,
        Check(
            "initiatives",
            rules,
            record="initiative_id",
            later=[once, agree],
            derived=derived,
            lookups=[_units()],
            columns=clean_columns(
                "initiatives",
                name="coalesce(name, initiative_id)",
                control_units="control",
                window_months="CAST(coalesce(window_months, $default_window) AS INTEGER)",
            ),
            params={"kpi_ids": list(kpi_ids), "default_window": DEFAULT_WINDOW_MONTHS},
        ),
    )


def validate_all(
    con: duckdb.DuckDBPyConnection,
    org_units_file: str,
    survey_window_days: int,
    kpi_ids: tuple[str, ...],
    progress=None,
) -> None:
    """Validate every raw_<table> in dependency order (units, interactions, then what refers to them)."""
    say = progress or (lambda _msg: None)
    con.execute(QUARANTINE_DDL)
    validate_org_units(con, org_units_file)
    steps = [
        ("interactions", validate_interactions),
        ("survey_responses", lambda c: validate_survey_responses(c, survey_window_days)),
        ("employee_pulse", validate_employee_pulse),
        ("qa_reviews", validate_qa_reviews),
        ("costs", validate_costs),
        ("customers", validate_customers),
        ("sla_policies", validate_sla_policies),
        ("benchmarks", lambda c: validate_benchmarks(c, kpi_ids)),
        ("commentary", lambda c: validate_commentary(c, kpi_ids)),
        ("initiatives", lambda c: validate_initiatives(c, kpi_ids)),
    ]
    for name, step in steps:
        step(con)
        con.execute(f"DROP TABLE raw_{name}")
        say(name)
    con.execute("DROP TABLE raw_org_units")
