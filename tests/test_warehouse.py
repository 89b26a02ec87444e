"""Building the warehouse: atomic replacement, summary, periods and cut-off, recompute."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scorecard_fixtures import BERLIN, PARIS, Built, Inputs, ix, survey

from scorecard.catalog import load_catalog
from scorecard.config import Config, TargetRule
from scorecard.errors import ConfigError, InputError, ScorecardError
from scorecard.warehouse import build, connect, recompute

TABLES_IN_DB = {
    "org_units",
    "unit_tree",
    "interactions",
    "survey_responses",
    "employee_pulse",
    "qa_reviews",
    "costs",
    "customers",
    "sla_policies",
    "benchmarks",
    "quarantine",
    "periods",
    "measures",
    "targets",
    "results",
    "priority",
    "catalog",
    "meta",
    "target_rules",
    "changes",
    "comparisons",
    "breakdowns",
    "mix_shift",
    "escalations",
    "commentary",
    "initiatives",
    "open_actions",
    "comment_gaps",
    "escalation_path",
    "initiative_units",
    "initiative_impact",
    "initiative_monthly",
    "catalog_changes",
    "absent_columns",
    "load_state",
    "source_coverage",
    "unhappy_comments",
}


def _ready(inputs: Inputs) -> Inputs:
    inputs.add(
        "interactions",
        ix("a", "2026-01-05 10:00", first="2026-01-05 10:30", resolved="2026-01-05 12:00"),
        ix("b", "2026-02-01 00:00", BERLIN),
    )
    inputs.add(
        "survey_responses",
        survey("s", "csat", 5, "2026-01-06 10:00", interaction_id="a"),
        survey("bad", "csat", 9, "2026-01-06 10:00", interaction_id="a"),
    )
    return inputs


def test_build_creates_every_table_and_a_summary(inputs):
    built = _ready(inputs).build()
    names = {r["table_name"] for r in built.query("SELECT table_name FROM information_schema.tables")}
    assert names == TABLES_IN_DB
    s = built.summary
    assert s.database == inputs.database
    assert s.loaded["interactions"] == 2 and s.loaded["survey_responses"] == 2 and s.loaded["org_units"] == 6
    assert s.quarantined == {"survey_responses": 1}
    assert (s.periods, s.complete_periods, s.units) == (2, 1, 6)
    assert s.cutoff == datetime(2026, 2, 1)
    assert s.warnings == []
    assert s.line().startswith(
        "10 rows loaded, 1 quarantined, 2 periods (1 complete), 6 units, cut-off 2026-02-01 00:00"
    )
    assert not list(inputs.base.glob(".db.duckdb.building-*"))


def test_periods_are_complete_once_the_cutoff_reaches_the_next_month(inputs):
    built = _ready(inputs).build()
    assert built.query("SELECT period, month_start, complete FROM periods ORDER BY period") == [
        {"period": "2026-01", "month_start": datetime(2026, 1, 1).date(), "complete": True},
        {"period": "2026-02", "month_start": datetime(2026, 2, 1).date(), "complete": False},
    ]


def test_cutoff_is_the_latest_timestamp_of_any_interaction_column(inputs):
    inputs.add(
        "interactions",
        ix("a", "2026-01-05 10:00", first="2026-01-06 10:00", resolved="2026-03-01 08:00"),
        ix("b", "2026-01-20 10:00"),
    )
    built = inputs.build()
    assert built.summary.cutoff == datetime(2026, 3, 1, 8)
    assert built.periods() == ["2026-01", "2026-02", "2026-03"]
    assert [r["complete"] for r in built.query("SELECT complete FROM periods ORDER BY period")] == [True, True, False]


def test_configured_cutoff_is_converted_to_the_reporting_zone(inputs):
    inputs.add("interactions", ix("a", "2026-01-05 10:00"), ix("b", "2026-01-31 23:00", first="2026-02-03 10:00"))
    cutoff = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 2026-02-01 00:30 in Paris
    built = inputs.build(timezone="Europe/Paris", cutoff=cutoff)
    assert built.summary.cutoff == datetime(2026, 2, 1, 0, 30)
    assert [r["complete"] for r in built.query("SELECT complete FROM periods ORDER BY period")] == [True, False]


def test_meta_records_the_settings(inputs):
    built = _ready(inputs).build(timezone="Europe/Paris", survey_window_days=3, min_sample=12)
    meta = {r["key"]: r["value"] for r in built.query("SELECT key, value FROM meta")}
    assert meta["timezone"] == "Europe/Paris"
    assert (meta["survey_window_days"], meta["min_sample"]) == ("3", "12")
    assert meta["catalog_version"] == str(load_catalog().version)
    assert len(meta["inputs_sha256"]) == 64
    assert meta["data_dir"] == str(inputs.dir.resolve())


def test_a_publish_computes_again_a_database_computed_by_other_code(inputs, monkeypatch):
    """After an upgrade the database may lack tables the reports read: the publish rebuilds it."""
    from scorecard import publish, warehouse
    from scorecard.loading import find_sources, table_files

    config = Config(database=inputs.database, data=inputs.dir)
    _ready(inputs).build(config)
    sources = find_sources(inputs.dir, files=table_files(config))
    assert publish._database_is_current(config, sources, print)
    monkeypatch.setattr(warehouse, "COMPUTE_CODE", warehouse.COMPUTE_CODE[1:])  # as if the code had changed
    assert not publish._database_is_current(config, sources, print)
    built = inputs.build(config)
    assert built.query("SELECT value FROM meta WHERE key = 'compute_sha256'") == [{"value": warehouse.compute_code()}]
    assert publish._database_is_current(config, sources, print)


def test_a_publish_does_not_hash_an_export_whose_size_changed(inputs, monkeypatch):
    """The build reads a grown export anyway: hashing it first would read it twice."""
    from scorecard import loading, publish

    config = Config(database=inputs.database, data=inputs.dir)
    _ready(inputs).build(config)
    sources = loading.find_sources(inputs.dir, files=loading.table_files(config))
    assert publish._database_is_current(config, sources, print)
    with (inputs.dir / "interactions.csv").open("a", encoding="utf-8") as fh:
        fh.write("c,2026-02-02 10:00:00,x\n")
    hashed = []
    monkeypatch.setattr(publish, "inputs_sha256", lambda s: hashed.append(s) or "")
    assert not publish._database_is_current(config, sources, print)
    assert hashed == []


def test_inputs_hash_changes_with_the_inputs(inputs):
    first = _ready(inputs).build().query("SELECT value FROM meta WHERE key = 'inputs_sha256'")
    again = inputs.build().query("SELECT value FROM meta WHERE key = 'inputs_sha256'")
    inputs.add("interactions", ix("c", "2026-01-07 10:00"))
    changed = inputs.build().query("SELECT value FROM meta WHERE key = 'inputs_sha256'")
    assert first == again != changed


def test_catalog_is_stored_in_order(inputs):
    built = _ready(inputs).build()
    rows = built.query("SELECT kpi_id, direction, weight FROM catalog ORDER BY sort_order")
    assert [r["kpi_id"] for r in rows] == list(load_catalog().ids)
    assert len(rows) == 14


def test_survey_window_is_a_setting(inputs):
    _ready(inputs)
    inputs.add("survey_responses", survey("later", "nps", 9, "2026-01-09 12:00", interaction_id="a"))  # 4 days after
    assert inputs.build().row("2026-01", PARIS, "nps")["n"] == 1
    built = inputs.build(survey_window_days=3)
    assert built.row("2026-01", PARIS, "nps")["n"] == 0
    assert [q["reason"] for q in built.quarantine("survey_responses") if q["record_id"] == "later"] == [
        "responded more than 3 days after resolution"
    ]


# --- a failed build leaves the database alone -------------------------------------------------------


@pytest.mark.parametrize(
    "breakage,error",
    [
        ("duplicate unit", InputError),
        ("missing column", InputError),
        ("unknown target unit", ConfigError),
        ("amber wrong side", ConfigError),
    ],
)
def test_failed_build_leaves_the_existing_database_byte_identical(inputs, breakage, error):
    _ready(inputs).build()
    before = inputs.database.read_bytes()
    config = Config()
    if breakage == "duplicate unit":
        inputs.add("org_units", {"unit_id": PARIS, "unit_name": "again", "parent_id": "EU"})
    elif breakage == "missing column":
        inputs.set(
            "interactions", [{k: v for k, v in r.items() if k != "channel"} for r in inputs.tables["interactions"]]
        )
    elif breakage == "unknown target unit":
        config = Config(targets=[TargetRule(kpi="csat", unit="Atlantis", target=90, amber=85)])
    else:
        config = Config(targets=[TargetRule(kpi="frt_median", target=60, amber=30)])
    inputs.write()
    with pytest.raises(error):
        build(config, data_dir=inputs.dir, database=inputs.database)
    assert inputs.database.read_bytes() == before
    leftovers = sorted(p.name for p in inputs.base.iterdir() if p.name not in {"in", "db.duckdb", ".scorecard-state"})
    assert leftovers == []
    assert [p.name for p in (inputs.base / ".scorecard-state").iterdir()] == ["scorecard.lock"]


def test_a_successful_build_replaces_the_database(inputs):
    first = _ready(inputs).build()
    assert first.value("2026-01", PARIS, "volume") == 1
    inputs.add("interactions", ix("c", "2026-01-07 10:00"))
    assert inputs.build().value("2026-01", PARIS, "volume") == 2


def test_a_timezone_duckdb_does_not_know_is_a_config_error(inputs):
    """zoneinfo accepts 'localtime' on most systems; DuckDB's ICU does not."""
    _ready(inputs).write()
    with pytest.raises(ConfigError, match="unknown time zone 'posixrules'"):
        build(
            Config.model_construct(**(Config().model_dump() | {"timezone": "posixrules"})),
            data_dir=inputs.dir,
            database=inputs.database,
        )
    assert not inputs.database.exists()


# --- recompute --------------------------------------------------------------------------------------


def test_recompute_applies_new_targets_without_rebuilding(inputs):
    built = _ready(inputs).build(min_sample=1)
    assert built.row("2026-01", PARIS, "csat")["target"] == 85
    summary = recompute(
        Config(min_sample=1, targets=[TargetRule(kpi="csat", target=99, amber=90)]), database=inputs.database
    )
    again = Built(inputs.database, summary).reload()
    assert again.row("2026-01", PARIS, "csat")["target"] == 99
    assert again.row("2026-01", PARIS, "csat")["status"] == "green"  # 100 ≥ 99
    assert summary.loaded == built.summary.loaded


def test_recompute_refuses_settings_that_change_validation(inputs):
    _ready(inputs).build()
    with pytest.raises(ScorecardError, match="run `scorecard build`"):
        recompute(Config(timezone="Europe/Paris"), database=inputs.database)
    with pytest.raises(ScorecardError, match="survey_window_days"):
        recompute(Config(survey_window_days=3), database=inputs.database)


def test_connect_to_a_missing_database(tmp_path):
    with pytest.raises(InputError, match="database not found"):
        connect(tmp_path / "none.duckdb")
    with pytest.raises(InputError):
        recompute(Config(), database=tmp_path / "none.duckdb")


def test_a_file_duckdb_trimmed_of_its_free_blocks_is_not_taken_for_truncated(tmp_path):
    """Building on a database frees blocks; DuckDB cuts free blocks off the end of the file at a
    checkpoint yet still counts them in total_blocks. Such a file is whole and must open."""
    import os

    import duckdb

    from scorecard.warehouse import connect, is_readable

    path = tmp_path / "trimmed.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE meta AS SELECT 'cutoff' AS key, '2026-10-31' AS value")
        con.execute("CHECKPOINT")
        con.execute("CREATE TABLE big AS SELECT range AS i, random() AS r FROM range(2000000)")
        con.execute("CHECKPOINT")
        con.execute("DROP TABLE big")
        con.execute("CHECKPOINT")
    with duckdb.connect(str(path), read_only=True) as con:
        block_size, total = con.execute("SELECT block_size, total_blocks FROM pragma_database_size()").fetchone()
    assert os.path.getsize(path) < block_size * total, "the scenario: fewer blocks in the file than counted"
    assert is_readable(path)
    with connect(path) as con:
        assert con.execute("SELECT value FROM meta").fetchone() == ("2026-10-31",)
    # a file cut short for real is still caught
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert not is_readable(path)
