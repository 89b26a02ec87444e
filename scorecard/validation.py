"""Validation: raw text tables → typed clean tables plus a quarantine, in set-based SQL.

A row that breaks the contract is set aside with one reason (the first rule it breaks, in the
order listed below) and the offending value; it never stops the run. What makes the whole run
meaningless (no unit tree, a broken tree) raises InputError instead, before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from .contract import ACTION_STATUSES, DEFAULT_WINDOW_MONTHS, SURVEY_RANGES
from .errors import InputError
from .needs import absent_columns

QUARANTINE_DDL = """
CREATE OR REPLACE TABLE quarantine (
    table_name VARCHAR, "row" BIGINT, record_id VARCHAR, reason VARCHAR, value VARCHAR
)"""

# Masks applied to free text before it is stored: nothing downstream ever sees the original.
EMAIL_PATTERN = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
PHONE_PATTERN = r"\+?\(?[0-9][0-9 ()./\-]{6,}[0-9]"


def _text(col: str) -> str:
    return f"nullif(trim({col}), '')"


def _ts(col: str) -> str:
    """ISO 8601 with an offset is converted to the session (reporting) time zone; without, kept as is.

    Only text starting with a YYYY-MM-DD date is cast: DuckDB also accepts 'infinity' and 'epoch',
    which are not ISO 8601 and would stretch the periods to the year 9999."""
    return (
        f"CASE WHEN regexp_matches({_text(col)}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
        f"THEN try_cast({_text(col)} AS TIMESTAMPTZ)::TIMESTAMP END"
    )


def _num(col: str) -> str:
    return f"try_cast({_text(col)} AS DOUBLE)"


def _bool(col: str) -> str:
    return (
        f"CASE lower(trim({col})) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'yes' THEN true "
        f"WHEN 'false' THEN false WHEN '0' THEN false WHEN 'no' THEN false END"
    )


def _bad(col: str, parsed: str) -> str:
    """Present in the file but not parseable."""
    return f"({_text(col)} IS NOT NULL AND {parsed} IS NULL)"


def _not_integer(expr: str) -> str:
    return f"({expr} IS NULL OR {expr} <> floor({expr}))"


@dataclass(frozen=True)
class Rule:
    when: str  # SQL condition over the parsed row: true means the row breaks the rule
    reason: str  # stable wording: counted per table and reason, shown on the data-quality page
    value: str  # SQL for the offending value shown beside the reason


def _reason_columns(rules: list[Rule]) -> str:
    reason = " ".join(f"WHEN {r.when} THEN '{r.reason}'" for r in rules)
    value = " ".join(f"WHEN {r.when} THEN CAST({r.value} AS VARCHAR)" for r in rules)
    return f"CASE {reason} END AS _reason, CASE {value} END AS _value"


def _split(con: duckdb.DuckDBPyConnection, table: str, id_expr: str, columns: str) -> None:
    """checked_<table> → quarantine rows with a reason, <table> with the rest."""
    con.execute(
        f"INSERT INTO quarantine SELECT '{table}', _row, {id_expr}, _reason, _value "
        f"FROM checked_{table} WHERE _reason IS NOT NULL"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS SELECT {columns} FROM checked_{table} WHERE _reason IS NULL ORDER BY _row"
    )
    con.execute(f"DROP TABLE checked_{table}")


# --- org_units: problems here are fatal ---------------------------------------------------------


def validate_org_units(con: duckdb.DuckDBPyConnection, file: str) -> None:
    """Check the unit tree and build org_units (with depth, leaf flag, sort path) and unit_tree."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _units AS
        SELECT rowid + 1 AS _row, {_text("unit_id")} AS unit_id,
               coalesce({_text("unit_name")}, {_text("unit_id")}) AS unit_name,
               {_text("parent_id")} AS parent_id
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


def _unknown_unit(alias: str = "u") -> str:
    return f"{alias}.unit_id IS NULL"


def validate_interactions(con: duckdb.DuckDBPyConnection) -> None:
    # a contact count the export does not have is not a fault of each resolved row
    exported = ("interactions", "contacts_to_resolve") not in absent_columns(con)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE parsed_interactions AS
        SELECT rowid + 1 AS _row, *,
               {_text("interaction_id")} AS id,
               {_ts("created_at")} AS t_created,
               {_ts("first_response_at")} AS t_first,
               {_ts("resolved_at")} AS t_resolved,
               {_num("contacts_to_resolve")} AS n_contacts,
               {_bool("reopened")} AS b_reopened,
               {_num("handle_time_s")} AS n_handle,
               row_number() OVER (PARTITION BY {_text("interaction_id")} ORDER BY rowid) AS _dup
        FROM raw_interactions""")
    rules = [
        Rule("id IS NULL", "missing interaction_id", "''"),
        Rule("_dup > 1", "duplicate interaction_id", "id"),
        Rule("t_created IS NULL", "invalid created_at", "p.created_at"),
        Rule(f"{_text('p.unit_id')} IS NULL", "missing unit_id", "''"),
        Rule(_unknown_unit(), "unknown unit_id", "p.unit_id"),
        Rule(_bad("first_response_at", "t_first"), "invalid first_response_at", "first_response_at"),
        Rule(_bad("resolved_at", "t_resolved"), "invalid resolved_at", "resolved_at"),
        Rule("t_first < t_created", "answered before created", "first_response_at"),
        Rule("t_resolved < t_created", "resolved before created", "resolved_at"),
        Rule(
            f"{_bad('contacts_to_resolve', 'n_contacts')} OR n_contacts < 1 OR n_contacts <> floor(n_contacts)",
            "contacts_to_resolve is not an integer ≥ 1",
            "contacts_to_resolve",
        ),
        Rule(
            f"t_resolved IS NOT NULL AND n_contacts IS NULL AND {exported}",
            "resolved without contacts_to_resolve",
            "''",
        ),
        Rule(_bad("reopened", "b_reopened"), "invalid reopened (expected true/false, 1/0, yes/no)", "reopened"),
        Rule(_bad("handle_time_s", "n_handle"), "invalid handle_time_s", "handle_time_s"),
        Rule("n_handle < 0", "negative handle_time_s", "handle_time_s"),
    ]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_interactions AS
        SELECT p.*, {_reason_columns(rules)}
        FROM parsed_interactions p LEFT JOIN org_units u ON u.unit_id = {_text("p.unit_id")}""")
    con.execute("DROP TABLE parsed_interactions")
    _split(
        con,
        "interactions",
        "id",
        f"""
        id AS interaction_id, t_created AS created_at, {_text("unit_id")} AS unit_id,
        coalesce(lower({_text("channel")}), 'unknown') AS channel,
        lower({_text("priority")}) AS priority, {_text("customer_id")} AS customer_id,
        lower({_text("customer_segment")}) AS customer_segment, {_text("agent_id")} AS agent_id,
        t_first AS first_response_at, t_resolved AS resolved_at,
        CAST(n_contacts AS INTEGER) AS contacts_to_resolve, b_reopened AS reopened,
        n_handle AS handle_time_s""",
    )


def validate_survey_responses(con: duckdb.DuckDBPyConnection, survey_window_days: int) -> None:
    ranges = " ".join(f"WHEN '{s}' THEN {lo}" for s, (lo, _) in SURVEY_RANGES.items())
    highs = " ".join(f"WHEN '{s}' THEN {hi}" for s, (_, hi) in SURVEY_RANGES.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE parsed_survey_responses AS
        SELECT rowid + 1 AS _row, *,
               {_text("response_id")} AS id, lower({_text("survey")}) AS s_survey,
               {_ts("responded_at")} AS t_responded, {_num("score")} AS n_score,
               {_text("interaction_id")} AS s_interaction,
               row_number() OVER (PARTITION BY {_text("response_id")} ORDER BY rowid) AS _dup
        FROM raw_survey_responses""")
    rules = [
        Rule("id IS NULL", "missing response_id", "''"),
        Rule("_dup > 1", "duplicate response_id", "id"),
        Rule(
            "s_survey IS NULL OR s_survey NOT IN ('csat', 'nps', 'ces')",
            "unknown survey (expected csat, nps or ces)",
            "p.survey",
        ),
        Rule("t_responded IS NULL", "invalid responded_at", "responded_at"),
        Rule("n_score IS NULL", "invalid score", "score"),
        Rule(
            f"n_score <> floor(n_score) OR n_score < CASE s_survey {ranges} END OR n_score > CASE s_survey {highs} END",
            "score out of range",
            "score",
        ),
        Rule("s_interaction IS NOT NULL AND i.interaction_id IS NULL", "unknown interaction_id", "s_interaction"),
        Rule(f"s_interaction IS NULL AND {_text('p.unit_id')} IS NULL", "missing unit_id and interaction_id", "''"),
        Rule(f"s_interaction IS NULL AND {_unknown_unit()}", "unknown unit_id", "p.unit_id"),
        Rule("t_responded < i.created_at", "responded before the interaction was created", "responded_at"),
        Rule(
            f"t_responded > i.resolved_at + INTERVAL {int(survey_window_days)} DAY",
            f"responded more than {int(survey_window_days)} days after resolution",
            "responded_at",
        ),
    ]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_a AS
        SELECT p.*, i.unit_id AS interaction_unit, {_reason_columns(rules)}
        FROM parsed_survey_responses p
        LEFT JOIN interactions i ON i.interaction_id = p.s_interaction
        LEFT JOIN org_units u ON u.unit_id = {_text("p.unit_id")}""")
    con.execute("DROP TABLE parsed_survey_responses")
    # Of the valid responses for one (interaction, survey), only the earliest counts.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE checked_survey_responses AS
        SELECT * REPLACE (
            CASE WHEN _reason IS NULL AND s_interaction IS NOT NULL AND row_number() OVER (
                     PARTITION BY s_interaction, s_survey, _reason IS NULL ORDER BY t_responded, _row) > 1
                 THEN 'duplicate response for the interaction' ELSE _reason END AS _reason,
            CASE WHEN _reason IS NULL AND s_interaction IS NOT NULL AND row_number() OVER (
                     PARTITION BY s_interaction, s_survey, _reason IS NULL ORDER BY t_responded, _row) > 1
                 THEN s_interaction ELSE _value END AS _value)
        FROM checked_a""")
    con.execute("DROP TABLE checked_a")
    _split(
        con,
        "survey_responses",
        "id",
        f"""
        id AS response_id, s_survey AS survey, CAST(n_score AS INTEGER) AS score, t_responded AS responded_at,
        s_interaction AS interaction_id, coalesce(interaction_unit, {_text("unit_id")}) AS unit_id,
        {_text("customer_id")} AS customer_id,
        regexp_replace(regexp_replace({_text("comment")}, '{EMAIL_PATTERN}', '[email]', 'g'),
                       '{PHONE_PATTERN}', '[phone]', 'g') AS comment""",
    )


def validate_employee_pulse(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_employee_pulse AS
        WITH p AS (
            SELECT rowid + 1 AS _row, *, {_text("response_id")} AS id, {_ts("responded_at")} AS t_responded,
                   {_num("score")} AS n_score,
                   row_number() OVER (PARTITION BY {_text("response_id")} ORDER BY rowid) AS _dup
            FROM raw_employee_pulse)
        SELECT p.*, {
        _reason_columns(
            [
                Rule("id IS NULL", "missing response_id", "''"),
                Rule("_dup > 1", "duplicate response_id", "id"),
                Rule(_unknown_unit(), "unknown unit_id", "p.unit_id"),
                Rule("t_responded IS NULL", "invalid responded_at", "responded_at"),
                Rule("n_score IS NULL", "invalid score", "score"),
                Rule(f"{_not_integer('n_score')} OR n_score < 0 OR n_score > 10", "score out of range", "score"),
            ]
        )
    }
        FROM p LEFT JOIN org_units u ON u.unit_id = {_text("p.unit_id")}""")
    _split(
        con,
        "employee_pulse",
        "id",
        f"""
        id AS response_id, {_text("unit_id")} AS unit_id, t_responded AS responded_at, CAST(n_score AS INTEGER) AS score""",
    )


def validate_qa_reviews(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_qa_reviews AS
        WITH p AS (
            SELECT rowid + 1 AS _row, *, {_text("review_id")} AS id, {_ts("reviewed_at")} AS t_reviewed,
                   {_num("score")} AS n_score, {_bool("critical_fail")} AS b_fail,
                   row_number() OVER (PARTITION BY {_text("review_id")} ORDER BY rowid) AS _dup
            FROM raw_qa_reviews)
        SELECT p.*, i.unit_id AS interaction_unit, {
        _reason_columns(
            [
                Rule("id IS NULL", "missing review_id", "''"),
                Rule("_dup > 1", "duplicate review_id", "id"),
                Rule("i.interaction_id IS NULL", "unknown interaction_id", "p.interaction_id"),
                Rule("t_reviewed IS NULL", "invalid reviewed_at", "reviewed_at"),
                Rule("n_score IS NULL", "invalid score", "score"),
                Rule("n_score < 0 OR n_score > 100", "score out of range", "score"),
                Rule(
                    _bad("critical_fail", "b_fail"),
                    "invalid critical_fail (expected true/false, 1/0, yes/no)",
                    "critical_fail",
                ),
            ]
        )
    }
        FROM p LEFT JOIN interactions i ON i.interaction_id = {_text("p.interaction_id")}""")
    _split(
        con,
        "qa_reviews",
        "id",
        f"""
        id AS review_id, {_text("interaction_id")} AS interaction_id, interaction_unit AS unit_id,
        {_text("reviewer_id")} AS reviewer_id, t_reviewed AS reviewed_at, n_score AS score,
        coalesce(b_fail, false) AS critical_fail""",
    )


def validate_costs(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_costs AS
        WITH p AS (
            SELECT rowid + 1 AS _row, *, {_text("period")} AS s_period, {_num("support_cost")} AS n_cost,
                   row_number() OVER (PARTITION BY {_text("unit_id")}, {_text("period")} ORDER BY rowid) AS _dup
            FROM raw_costs)
        SELECT p.*, {
        _reason_columns(
            [
                Rule(_unknown_unit(), "unknown unit_id", "p.unit_id"),
                Rule(
                    "NOT regexp_full_match(coalesce(s_period, ''), '[0-9]{4}-(0[1-9]|1[0-2])')",
                    "invalid period (expected YYYY-MM)",
                    "period",
                ),
                Rule("_dup > 1", "duplicate unit_id and period", "p.unit_id || ' ' || s_period"),
                Rule("n_cost IS NULL", "invalid support_cost", "support_cost"),
                Rule("n_cost < 0", "negative support_cost", "support_cost"),
            ]
        )
    }
        FROM p LEFT JOIN org_units u ON u.unit_id = {_text("p.unit_id")}""")
    _split(
        con,
        "costs",
        f"{_text('unit_id')} || ' ' || coalesce(s_period, '')",
        f"{_text('unit_id')} AS unit_id, s_period AS period, n_cost AS support_cost",
    )


def validate_customers(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_customers AS
        WITH p AS (
            SELECT rowid + 1 AS _row, *, {_text("customer_id")} AS id,
                   {_ts("active_from")}::DATE AS d_from, {_ts("churned_at")}::DATE AS d_churn,
                   row_number() OVER (PARTITION BY {_text("customer_id")} ORDER BY rowid) AS _dup
            FROM raw_customers)
        SELECT p.*, {
        _reason_columns(
            [
                Rule("id IS NULL", "missing customer_id", "''"),
                Rule("_dup > 1", "duplicate customer_id", "id"),
                Rule(_unknown_unit(), "unknown unit_id", "p.unit_id"),
                Rule("d_from IS NULL", "invalid active_from", "active_from"),
                Rule(_bad("churned_at", "d_churn"), "invalid churned_at", "churned_at"),
                Rule("d_churn < d_from", "churned before active", "churned_at"),
            ]
        )
    }
        FROM p LEFT JOIN org_units u ON u.unit_id = {_text("p.unit_id")}""")
    _split(
        con,
        "customers",
        "id",
        f"""
        id AS customer_id, {_text("unit_id")} AS unit_id, lower({_text("segment")}) AS segment,
        d_from AS active_from, d_churn AS churned_at""",
    )


def validate_sla_policies(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_sla_policies AS
        WITH p AS (
            SELECT rowid + 1 AS _row, *, lower({_text("channel")}) AS s_channel,
                   lower({_text("priority")}) AS s_priority, {_num("first_response_minutes")} AS n_minutes,
                   row_number() OVER (PARTITION BY lower({_text("channel")}), lower({_text("priority")})
                                      ORDER BY rowid) AS _dup
            FROM raw_sla_policies)
        SELECT p.*, {
        _reason_columns(
            [
                Rule("s_channel IS NULL", "missing channel", "''"),
                Rule("_dup > 1", "duplicate channel and priority", "s_channel || ' ' || coalesce(s_priority, '(any)')"),
                Rule(
                    "n_minutes IS NULL OR n_minutes <= 0",
                    "first_response_minutes is not a positive number",
                    "first_response_minutes",
                ),
            ]
        )
    }
        FROM p""")
    _split(
        con,
        "sla_policies",
        "s_channel || ' ' || coalesce(s_priority, '(any)')",
        "s_channel AS channel, s_priority AS priority, n_minutes AS first_response_minutes",
    )


def validate_benchmarks(con: duckdb.DuckDBPyConnection, kpi_ids: tuple[str, ...]) -> None:
    """Quartiles are percentiles of the values, so p25 ≤ median ≤ p75 whichever way is better (for a
    lower-is-better KPI the better quartile is p25). One row per (kpi_id, source, year, segment)."""
    known = ", ".join(f"'{k}'" for k in kpi_ids)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_a AS
        WITH p AS (
            SELECT rowid + 1 AS _row, *, lower({_text("kpi_id")}) AS s_kpi, {_num("year")} AS n_year,
                   {_num("p25")} AS n_p25, {_num("median")} AS n_median, {_num("p75")} AS n_p75,
                   lower({_text("segment")}) AS s_segment
            FROM raw_benchmarks)
        SELECT p.*, {
        _reason_columns(
            [
                Rule(f"s_kpi IS NULL OR s_kpi NOT IN ({known})", "unknown kpi_id", "p.kpi_id"),
                Rule(f"{_text('source')} IS NULL", "missing source", "''"),
                Rule(f"{_not_integer('n_year')}", "invalid year", "year"),
                Rule("n_median IS NULL", "invalid median", "median"),
                Rule(
                    f"{_bad('p25', 'n_p25')} OR {_bad('p75', 'n_p75')}",
                    "invalid quartile",
                    "coalesce(p25, '') || ' ' || coalesce(p75, '')",
                ),
                Rule(
                    "n_p25 > n_median OR n_median > n_p75",
                    "quartiles out of order (expected p25 ≤ median ≤ p75)",
                    "coalesce(p25, '') || ' ' || median || ' ' || coalesce(p75, '')",
                ),
            ]
        )
    }
        FROM p""")
    # Of the otherwise valid rows for one (kpi_id, source, year, segment), the first counts.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_benchmarks AS
        SELECT * REPLACE (
            CASE WHEN _reason IS NULL AND row_number() OVER (
                     PARTITION BY s_kpi, {_text("source")}, n_year, s_segment, _reason IS NULL ORDER BY _row) > 1
                 THEN 'duplicate kpi_id, source, year and segment' ELSE _reason END AS _reason,
            CASE WHEN _reason IS NULL AND row_number() OVER (
                     PARTITION BY s_kpi, {_text("source")}, n_year, s_segment, _reason IS NULL ORDER BY _row) > 1
                 THEN concat_ws(' ', s_kpi, {_text("source")}, CAST(n_year AS INTEGER), s_segment) ELSE _value END AS _value)
        FROM checked_a""")
    con.execute("DROP TABLE checked_a")
    _split(
        con,
        "benchmarks",
        "s_kpi",
        f"""
        s_kpi AS kpi_id, {_text("source")} AS source, CAST(n_year AS INTEGER) AS year,
        s_segment AS segment, n_p25 AS p25, n_median AS median, n_p75 AS p75,
        {_text("url")} AS url, {_text("note")} AS note""",
    )


# --- what people write: owners' commentary and initiatives -------------------------------------


def _masked(expr: str) -> str:
    """Free text with its e-mail addresses and phone numbers masked, as customer comments are."""
    return (
        f"regexp_replace(regexp_replace({expr}, '{EMAIL_PATTERN}', '[email]', 'g'), '{PHONE_PATTERN}', '[phone]', 'g')"
    )


def _bad_period(expr: str) -> str:
    return f"NOT regexp_full_match(coalesce({expr}, ''), '[0-9]{{4}}-(0[1-9]|1[0-2])')"


def _first_valid_duplicate(table: str, keys: str, reason: str, value: str) -> str:
    """SQL: checked_a → checked_<table>, where of the otherwise valid rows sharing `keys` the first
    counts and the later ones are set aside as duplicates."""
    later = f"_reason IS NULL AND row_number() OVER (PARTITION BY {keys}, _reason IS NULL ORDER BY _row) > 1"
    return f"""
        CREATE OR REPLACE TEMP TABLE checked_{table} AS
        SELECT * REPLACE (CASE WHEN {later} THEN '{reason}' ELSE _reason END AS _reason,
                          CASE WHEN {later} THEN CAST({value} AS VARCHAR) ELSE _value END AS _value)
        FROM checked_a"""


def validate_commentary(con: duckdb.DuckDBPyConnection, kpi_ids: tuple[str, ...]) -> None:
    """Owners' comments. An action is known by (unit, KPI, its text): a later row with the same
    text updates its status, so one row per (period, unit_id, kpi_id, action) is kept."""
    known = ", ".join(f"'{k}'" for k in kpi_ids)
    statuses = ", ".join(f"'{s}'" for s in ACTION_STATUSES)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_a AS
        WITH p AS (
            SELECT rowid + 1 AS _row, *, {_text("period")} AS s_period, {_text("unit_id")} AS s_unit,
                   lower({_text("kpi_id")}) AS s_kpi, {_text("analysis")} AS s_analysis,
                   {_text("action")} AS s_action, {_ts("due")}::DATE AS d_due,
                   regexp_replace(lower({_text("action_status")}), '[\\s_-]+', ' ', 'g') AS s_status
            FROM raw_commentary)
        SELECT p.*, {
        _reason_columns(
            [
                Rule(_bad_period("s_period"), "invalid period (expected YYYY-MM)", "p.period"),
                Rule("s_unit IS NULL", "missing unit_id", "''"),
                Rule(_unknown_unit(), "unknown unit_id", "p.unit_id"),
                Rule(f"s_kpi IS NOT NULL AND s_kpi NOT IN ({known})", "unknown kpi_id", "p.kpi_id"),
                Rule("s_analysis IS NULL AND s_action IS NULL", "empty comment (no analysis and no action)", "''"),
                Rule(_bad("due", "d_due"), "invalid due (expected a date YYYY-MM-DD)", "due"),
                Rule(
                    f"s_status IS NOT NULL AND s_status NOT IN ({statuses})",
                    "invalid action_status (expected planned, in progress, done or dropped)",
                    "action_status",
                ),
            ]
        )
    }
        FROM p LEFT JOIN org_units u ON u.unit_id = p.s_unit""")
    con.execute(
        _first_valid_duplicate(
            "commentary",
            "s_period, s_unit, s_kpi, s_action",
            "duplicate period, unit_id, kpi_id and action",
            "concat_ws(' ', s_period, s_unit, s_kpi)",
        )
    )
    con.execute("DROP TABLE checked_a")
    _split(
        con,
        "commentary",
        "concat_ws(' ', s_period, s_unit, s_kpi)",
        f"""
        s_period AS period, s_unit AS unit_id, s_kpi AS kpi_id, {_masked(_text("author"))} AS author,
        {_masked("s_analysis")} AS analysis, {_masked("s_action")} AS action, d_due AS due,
        s_status AS action_status""",
    )


def validate_initiatives(con: duckdb.DuckDBPyConnection, kpi_ids: tuple[str, ...]) -> None:
    """One row per (initiative, treated unit); the rows of one initiative must agree on everything
    else: a row that disagrees with the initiative's first valid row is set aside."""
    known = ", ".join(f"'{k}'" for k in kpi_ids)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_a AS
        WITH p AS (
            SELECT rowid + 1 AS _row, *, {_text("initiative_id")} AS id, {_text("name")} AS s_name,
                   lower({_text("kpi_id")}) AS s_kpi, {_text("unit_id")} AS s_unit, {_text("start")} AS s_start,
                   {_text("owner")} AS s_owner, {_num("window_months")} AS n_window,
                   (SELECT list(DISTINCT trim(c) ORDER BY trim(c)) FROM unnest(string_split({
        _text("control_units")
    }, ';')) t(c)
                    WHERE trim(c) <> '') AS l_control
            FROM raw_initiatives), q AS (
            SELECT p.*, (SELECT min(c) FROM unnest(l_control) t(c) WHERE c NOT IN (SELECT unit_id FROM org_units)) AS s_unknown
            FROM p)
        SELECT q.*, {
        _reason_columns(
            [
                Rule("id IS NULL", "missing initiative_id", "''"),
                Rule(f"s_kpi IS NULL OR s_kpi NOT IN ({known})", "unknown kpi_id", "q.kpi_id"),
                Rule("s_unit IS NULL", "missing unit_id", "''"),
                Rule(_unknown_unit(), "unknown unit_id", "q.unit_id"),
                Rule(_bad_period("s_start"), "invalid start (expected YYYY-MM)", "q.start"),
                Rule(
                    f"{_bad('window_months', 'n_window')} OR n_window < 1 OR n_window <> floor(n_window)",
                    "window_months is not an integer ≥ 1",
                    "window_months",
                ),
                Rule("s_unknown IS NOT NULL", "unknown unit in control_units", "s_unknown"),
            ]
        )
    }
        FROM q LEFT JOIN org_units u ON u.unit_id = q.s_unit""")
    con.execute(
        _first_valid_duplicate("b", "id, s_unit", "duplicate initiative_id and unit_id", "concat_ws(' ', id, s_unit)")
    )
    con.execute("DROP TABLE checked_a")
    # Every other column must match the initiative's first valid row.
    shared = "s_name, s_kpi, s_start, s_owner, coalesce(n_window, 0), l_control"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE checked_initiatives AS
        SELECT * REPLACE (
            CASE WHEN _reason IS NULL AND ({shared}) IS DISTINCT FROM first_row THEN
                 'disagrees with the first row of its initiative_id (name, kpi_id, start, owner, control_units, window_months)'
                 ELSE _reason END AS _reason,
            CASE WHEN _reason IS NULL AND ({shared}) IS DISTINCT FROM first_row THEN id ELSE _value END AS _value)
        FROM (SELECT *, first_value(({shared})) OVER (PARTITION BY id, _reason IS NULL ORDER BY _row) AS first_row
              FROM checked_b)""")
    con.execute("DROP TABLE checked_b")
    _split(
        con,
        "initiatives",
        "id",
        f"""
        id AS initiative_id, coalesce(s_name, id) AS name, s_kpi AS kpi_id, s_unit AS unit_id, s_start AS start,
        s_owner AS owner, l_control AS control_units,
        CAST(coalesce(n_window, {DEFAULT_WINDOW_MONTHS}) AS INTEGER) AS window_months""",
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
