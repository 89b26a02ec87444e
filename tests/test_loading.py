"""Loading the input folder: file discovery, fatal file errors, column mapping, CSV and Parquet."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from scorecard_fixtures import BERLIN, NYC, PARIS, Inputs, assert_one_error_line, ix, survey

from scorecard.config import Config
from scorecard.contract import TABLES
from scorecard.errors import InputError
from scorecard.loading import find_sources, map_columns

CREATED = "2026-01-05 10:00:00"


def _ready(inputs: Inputs) -> Inputs:
    inputs.add("interactions", ix("a", CREATED, first="2026-01-05 10:30"), ix("b", CREATED, BERLIN))
    inputs.write()
    return inputs


def _build_fails(cli, inputs: Inputs, *fragments: str, data=None) -> str:
    code, out, err = cli("build", "--data", data or inputs.dir, "--db", inputs.database)
    assert code == 2, err
    assert out == ""
    assert not inputs.database.exists()
    return assert_one_error_line(err, *fragments)


# --- fatal: the folder and its files ----------------------------------------------------------------


def test_missing_input_folder(inputs, cli):
    _build_fails(cli, inputs, "nowhere", "input folder not found", data=inputs.base / "nowhere")


@pytest.mark.parametrize("table", ["org_units", "interactions"])
def test_missing_required_file(inputs, cli, table):
    _ready(inputs)
    (inputs.dir / f"{table}.csv").unlink()
    line = _build_fails(cli, inputs, f"required file {table}.csv not found")
    assert ".csv.gz, .tsv, .parquet, .xlsx" in line


def test_optional_files_may_be_absent(inputs):
    built = _ready(inputs).build()
    assert set(built.summary.loaded) == set(TABLES)
    assert built.summary.loaded["costs"] == 0


@pytest.mark.parametrize("table", ["interactions", "costs"])
@pytest.mark.parametrize(
    "garbage", [b"PAR1 this is not parquet \x00\x01 PAR1", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4]
)
def test_garbage_parquet_is_unreadable(inputs, cli, table, garbage):
    _ready(inputs)
    (inputs.dir / f"{table}.csv").unlink(missing_ok=True)
    (inputs.dir / f"{table}.parquet").write_bytes(garbage)
    _build_fails(cli, inputs, f"{table}.parquet", f"cannot read the file as {table}")


@pytest.mark.parametrize(
    "text",
    [
        "interaction_id,created_at,unit_id,channel,first_response_at,resolved_at,contacts_to_resolve\n"
        f'"a,{CREATED},{PARIS},email,,,\nb,{CREATED},{PARIS},email,,,\n',
        "interaction_id,created_at,unit_id,channel,first_response_at,resolved_at,contacts_to_resolve\n"
        f'a,{CREATED},{PARIS},email,,,\nb,{CREATED},"{PARIS},email,,,\nc,{CREATED},{PARIS},email,,,\n',
    ],
    ids=["first-row", "middle-row"],
)
def test_csv_with_an_unterminated_quote_is_unreadable(inputs, cli, text):
    """Left to DuckDB's sniffer, quoting is silently turned off and `"a` becomes an id."""
    _ready(inputs)
    (inputs.dir / "interactions.csv").write_text(text, encoding="utf-8")
    _build_fails(cli, inputs, "interactions.csv", "cannot read the file as interactions", "quote")


def test_binary_csv_is_unreadable(inputs, cli):
    _ready(inputs)
    (inputs.dir / "costs.csv").write_bytes(os.urandom(64) + b"\x00\xff" * 100)
    _build_fails(cli, inputs, "costs.csv", "cannot read the file as costs")


def test_csv_in_latin1_is_read(inputs):
    """Not UTF-8: decoded as Windows-1252 (of which Latin-1's printable characters are a part)."""
    _ready(inputs)
    (inputs.dir / "costs.csv").write_bytes(f"unit_id,period,support_cost\n{PARIS},2026-01,3\n".encode("latin-1"))
    built = inputs.build()
    assert built.query("SELECT unit_id, support_cost FROM costs") == [{"unit_id": PARIS, "support_cost": 3.0}]


@pytest.mark.parametrize(
    "table,column",
    [
        ("interactions", "created_at"),
        ("org_units", "parent_id"),
        ("survey_responses", "score"),
        ("costs", "support_cost"),
    ],
)
def test_missing_required_column_names_file_and_column(inputs, cli, table, column):
    _ready(inputs)
    path = inputs.dir / f"{table}.csv"
    if path.exists():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        frame = pd.DataFrame({c: ["x"] for c in TABLES[table].column_names})
    frame.drop(columns=[column]).to_csv(path, index=False)
    line = _build_fails(cli, inputs, f"{table}.csv", f"missing required column '{column}'")
    assert f"columns: {table}:" in line


def test_two_files_for_one_table(inputs, cli):
    _ready(inputs)
    (inputs.dir / "costs.csv").write_text("unit_id,period,support_cost\n", encoding="utf-8")
    (inputs.dir / "Costs.parquet").write_bytes(b"")
    _build_fails(cli, inputs, "Costs.parquet and costs.csv", "table costs", "keep one")


def test_find_sources_matches_names_case_insensitively(inputs):
    _ready(inputs)
    (inputs.dir / "interactions.csv").rename(inputs.dir / "Interactions.CSV")
    (inputs.dir / "notes.txt").write_text("ignored")
    sources = find_sources(inputs.dir)
    assert set(sources) == {"org_units", "interactions"}
    assert sources["interactions"].path.name == "Interactions.CSV"


# --- column names ------------------------------------------------------------------------------------


def test_headers_match_case_insensitively_and_extra_columns_are_ignored(inputs):
    rows = [ix("a", CREATED, first="2026-01-05 10:20"), ix("b", CREATED, first="2026-01-05 10:40")]
    upper = [{k.upper() if k != "channel" else " Channel ": v for k, v in r.items()} | {"Notes": "x"} for r in rows]
    inputs.set("interactions", upper)
    built = inputs.build()
    assert built.value("2026-01", PARIS, "frt_median") == 30
    assert built.value("2026-01", PARIS, "volume") == 2


def test_column_mapping_renames_source_columns(inputs):
    rows = [ix("a", CREATED, first="2026-01-05 10:20"), ix("b", CREATED, first="2026-01-05 10:40")]
    renamed = [
        {{"interaction_id": "Ticket ID", "created_at": "Opened", "unit_id": "team"}.get(k, k): v for k, v in r.items()}
        for r in rows
    ]
    inputs.set("interactions", renamed)
    built = inputs.build(
        columns={"interactions": {"Ticket ID": "interaction_id", "OPENED": "Created_At", "team": "unit_id"}}
    )
    assert built.value("2026-01", PARIS, "volume") == 2
    assert [r["interaction_id"] for r in built.query("SELECT interaction_id FROM interactions ORDER BY 1")] == [
        "a",
        "b",
    ]


def test_column_mapping_through_the_config_file(inputs, cli):
    rows = [{("Ticket ID" if k == "interaction_id" else k): v for k, v in ix("a", CREATED).items()}]
    inputs.set("interactions", rows)
    inputs.write()
    config = inputs.base / "scorecard.yml"
    config.write_text('columns:\n  interactions: {"Ticket ID": interaction_id}\n', encoding="utf-8")
    code, out, err = cli("build", "--config", config, "--data", inputs.dir, "--db", inputs.database)
    assert code == 0, err
    assert "rows loaded" in out


def test_mapping_without_it_fails_on_the_missing_column(inputs, cli):
    inputs.set(
        "interactions", [{("Ticket ID" if k == "interaction_id" else k): v for k, v in ix("a", CREATED).items()}]
    )
    inputs.write()
    _build_fails(cli, inputs, "interactions.csv", "missing required column 'interaction_id'", "Ticket ID")


def test_map_columns_errors():
    table = TABLES["costs"]
    with pytest.raises(InputError, match="renames to \\['cost'\\]"):
        map_columns(table, ["unit_id", "period", "support_cost"], {"x": "cost"}, "costs.csv")
    with pytest.raises(InputError, match="'Amount' and 'support_cost' both map to 'support_cost'"):
        map_columns(table, ["unit_id", "period", "Amount", "support_cost"], {"amount": "support_cost"}, "costs.csv")
    assert map_columns(table, ["UNIT_ID", "Period", "Amount"], {"AMOUNT": "support_cost"}, "costs.csv") == {
        "unit_id": "UNIT_ID",
        "period": "Period",
        "support_cost": "Amount",
    }


# --- CSV dialects and row numbers ------------------------------------------------------------------------


def test_quoted_fields_multiline_comments_and_row_numbers(inputs):
    inputs.add("interactions", ix("a", CREATED))
    inputs.add(
        "survey_responses",
        survey("r1", "csat", 5, "2026-01-05 12:00", unit_id=PARIS, comment='He said "thanks",\nthen left'),
        survey("r2", "csat", 4, "2026-01-05 12:00", unit_id=PARIS, comment="one, two"),
        survey("r3", "csat", 9, "2026-01-05 12:00", unit_id=PARIS),
    )
    built = inputs.build()
    assert [(q["row"], q["record_id"]) for q in built.quarantine("survey_responses")] == [(3, "r3")]
    comments = built.query("SELECT comment FROM survey_responses ORDER BY response_id")
    assert [c["comment"] for c in comments] == ['He said "thanks",\nthen left', "one, two"]
    assert {r["unit_id"] for r in built.query("SELECT unit_id FROM org_units")} >= {PARIS, NYC}


def test_semicolon_separated_csv_with_bom_and_crlf(inputs):
    _ready(inputs)
    header = ";".join(TABLES["interactions"].column_names)
    lines = [header, f"x;{CREATED};{PARIS};email;;;;;2026-01-05 10:10;;;;", f'y;{CREATED};"{PARIS}";chat;;;;;;;;;']
    (inputs.dir / "interactions.csv").write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    from scorecard.warehouse import build

    summary = build(Config(), data_dir=inputs.dir, database=inputs.database)
    assert summary.loaded["interactions"] == 2 and summary.quarantined == {}


# --- Parquet ---------------------------------------------------------------------------------------------


def _typed_frames() -> dict[str, pd.DataFrame]:
    ts = lambda s: pd.Timestamp(s)  # noqa: E731
    interactions = pd.DataFrame(
        {
            "interaction_id": ["a", "b", "c"],
            "created_at": [ts("2026-01-05 10:00"), ts("2026-01-31 23:30"), ts("2026-02-06 10:00")],
            "unit_id": [PARIS, PARIS, BERLIN],
            "channel": ["email", "chat", "email"],
            "first_response_at": [ts("2026-01-05 10:30"), pd.NaT, ts("2026-02-06 10:05")],
            "resolved_at": [ts("2026-01-05 12:00"), pd.NaT, pd.NaT],
            "contacts_to_resolve": pd.array([1, None, None], dtype="Int64"),
            "reopened": pd.array([False, None, None], dtype="boolean"),
            "handle_time_s": [90.0, None, 30.5],
        }
    )
    aware = pd.DataFrame(
        {
            "response_id": ["s1", "s2"],
            "survey": ["csat", "nps"],
            "score": [5, 9],
            "responded_at": pd.to_datetime(["2026-01-31T23:30:00Z", "2026-01-10T10:00:00Z"], utc=True),
            "interaction_id": [None, "a"],
            "unit_id": [PARIS, None],
        }
    )
    return {"interactions": interactions, "survey_responses": aware}


def test_parquet_input_works_like_csv(tmp_path):
    frames = _typed_frames()
    as_parquet, as_csv = Inputs(tmp_path / "pq"), Inputs(tmp_path / "csv")
    as_parquet.write()
    for name, frame in frames.items():
        frame.to_parquet(as_parquet.dir / f"{name}.parquet", index=False)
        as_csv.set(
            name,
            [
                {
                    k: ("" if pd.isna(v) else (v.isoformat() if isinstance(v, pd.Timestamp) else v))
                    for k, v in row.items()
                }
                for row in frame.to_dict("records")
            ],
        )
    (as_parquet.dir / "org_units.csv").unlink()
    pd.DataFrame(as_csv.tables["org_units"]).to_parquet(as_parquet.dir / "org_units.parquet", index=False)
    from scorecard.warehouse import build

    as_csv.write()
    for inp in (as_parquet, as_csv):
        build(Config(timezone="Europe/Paris"), data_dir=inp.dir, database=inp.database)
    from scorecard_fixtures import Built

    from scorecard.warehouse import connect

    def results(inp):
        with connect(inp.database) as con:
            return con.execute("SELECT * FROM results ORDER BY ALL").fetchall(), con.execute(
                "SELECT * FROM quarantine ORDER BY ALL"
            ).fetchall()

    pq, csv = results(as_parquet), results(as_csv)
    assert pq == csv
    assert pq[1] == []
    built = Built(as_parquet.database, None).reload()
    # an aware 23:30Z is February in Paris; a naive 23:30 stays in January
    assert built.row("2026-02", PARIS, "csat")["n"] == 1
    assert built.value("2026-01", PARIS, "volume") == 2
    assert built.value("2026-01", PARIS, "aht") == 1.5


def test_a_file_hash_is_remembered_only_while_the_file_is_unchanged(tmp_path, monkeypatch):
    import hashlib

    from scorecard import increments, loading

    monkeypatch.setattr(loading, "_HASHED", {})
    path = tmp_path / "interactions.csv"
    path.write_bytes(b"a,b\n1,2\n")
    scan = increments.scan_file(path)
    assert loading._HASHED == {loading.file_key(path): scan.sha256}
    opened = []
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: opened.append(self) or open(self, *a, **k))
    assert loading.file_sha256(path) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert opened == []  # the scan's hash, not read again
    with open(path, "wb") as fh:  # same size, other bytes
        fh.write(b"a,b\n3,4\n")
    assert loading.file_sha256(path) == hashlib.sha256(b"a,b\n3,4\n").hexdigest()
    assert opened == [path]
