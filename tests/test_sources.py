"""Real export files: one data set as UTF-8 CSV, cp1252 `;` CRLF, BOM, .csv.gz, .tsv, mixed newlines
and .xlsx gives byte-identical scorecard.csv files; decimal commas, timestamp formats, and the
shapes that must stop a build with one message naming the file, the line or column, and the fix."""

from __future__ import annotations

import csv
import gzip
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from scorecard_fixtures import BERLIN, NYC, PARIS, ROOT, Inputs, assert_one_error_line, ix, survey

from scorecard.config import Config, TableSettings
from scorecard.contract import TABLES
from scorecard.export import write_scorecard_csv
from scorecard.warehouse import build, connect

ACCENTED = "EU/Zürich Équipe Créole"


def _dataset(base: Path) -> Inputs:
    """A small folder with accents in a unit id and its name, decimals, a multi-line comment."""
    inputs = Inputs(base)
    for unit in inputs.tables["org_units"]:  # Ω has no Windows-1252 byte: a root that any of the shapes can hold
        unit.update({k: "Groupe Oméga" for k in ("unit_id", "parent_id") if unit[k] == ROOT})
    inputs.add("org_units", {"unit_id": ACCENTED, "unit_name": "Zürich – Créole", "parent_id": "EU"})
    rows = []
    for day in range(1, 29):
        for k, (unit, handle) in enumerate([(PARIS, "150.5"), (BERLIN, "90.25"), (NYC, "300"), (ACCENTED, "42.75")]):
            created = f"2026-01-{day:02d} 09:{day:02d}:00"
            rows.append(
                ix(
                    f"t{k}-{day}",
                    created,
                    unit,
                    first=f"2026-01-{day:02d} 10:00:00",
                    resolved=f"2026-01-{day:02d} 15:30:00" if day % 3 else None,
                    reopened="true" if day % 7 == 0 else "false",
                    handle=handle,
                    channel="chat" if day % 2 else "email",
                )
            )
    rows.append(ix("late", "2026-02-02 08:00:00", ACCENTED, first="2026-02-02 08:05:00"))
    inputs.set("interactions", rows)
    inputs.set(
        "survey_responses",
        [
            survey(
                f"s{i}",
                "csat",
                1 + i % 5,
                f"2026-01-{1 + i % 28:02d} 18:00:00",
                unit_id=ACCENTED if i % 2 else PARIS,
                comment="Très bien, merci\nà bientôt" if i % 4 == 0 else "€ cher; « trop »",
            )
            for i in range(40)
        ],
    )
    inputs.set(
        "costs",
        [
            {"unit_id": u, "period": "2026-01", "support_cost": c}
            for u, c in ((PARIS, "12000.5"), (BERLIN, "8000"), (NYC, "9500.25"), (ACCENTED, "3100.75"))
        ],
    )
    inputs.write()
    return inputs


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _rewrite(src: Path, dest: Path, variant: str) -> None:
    """Write every table of src into dest in one export shape."""
    dest.mkdir(parents=True)
    for path in sorted(src.glob("*.csv")):
        header, rows = _rows(path)
        name = path.stem
        if variant == "xlsx":
            frame = pd.DataFrame(rows, columns=header)
            types = {c.name: c.type for c in TABLES[name].columns}
            for column in frame.columns:  # a workbook holds numbers and dates, not text
                if types.get(column) in ("number", "integer"):
                    frame[column] = pd.to_numeric(frame[column].replace("", None))
                elif types.get(column) == "timestamp":
                    frame[column] = pd.to_datetime(frame[column].replace("", None))
            with pd.ExcelWriter(dest / f"{name}.xlsx") as writer:
                frame.to_excel(writer, sheet_name=name[:31], index=False)
            continue
        delimiter = {"cp1252": ";", "tsv": "\t"}.get(variant, ",")
        text = io.StringIO()
        csv.writer(text, delimiter=delimiter, lineterminator="\r\n" if variant == "cp1252" else "\n").writerows(
            [header, *rows]
        )
        data = text.getvalue()
        if variant == "mixed":  # a file appended to on another system: CRLF for the first half
            lines = data.split("\n")
            data = "\r\n".join(lines[: len(lines) // 2]) + "\n" + "\n".join(lines[len(lines) // 2 :])
        encoded = {"cp1252": lambda t: t.encode("cp1252"), "bom": lambda t: t.encode("utf-8-sig")}.get(
            variant, lambda t: t.encode("utf-8")
        )(data)
        if variant == "gz":
            (dest / f"{name}.csv.gz").write_bytes(gzip.compress(encoded))
        else:
            (dest / f"{name}.{'tsv' if variant == 'tsv' else 'csv'}").write_bytes(encoded)


def _export(data: Path, base: Path, config: Config | None = None) -> bytes:
    database = base / f"{data.name}.duckdb"
    build(config or Config(timezone="Europe/Paris", benchmarks=None), data_dir=data, database=database)
    out = base / f"{data.name}.csv"
    with connect(database) as con:
        write_scorecard_csv(con, out)
    return out.read_bytes()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> tuple[Inputs, bytes]:
    base = tmp_path_factory.mktemp("formats")
    inputs = _dataset(base)
    return inputs, _export(inputs.dir, base)


@pytest.mark.parametrize("variant", ["cp1252", "bom", "gz", "tsv", "mixed", "xlsx"])
def test_every_export_shape_gives_the_same_scorecard(dataset, tmp_path, variant):
    inputs, expected = dataset
    _rewrite(inputs.dir, tmp_path / variant, variant)
    assert _export(tmp_path / variant, tmp_path) == expected
    assert ACCENTED.encode() in expected
    with connect(tmp_path / f"{variant}.duckdb") as con:
        assert con.execute("SELECT unit_name FROM org_units WHERE unit_id = ?", [ACCENTED]).fetchone() == (
            "Zürich – Créole",
        )
        comments = {r[0] for r in con.execute("SELECT comment FROM survey_responses").fetchall()}
        assert comments == {"Très bien, merci\nà bientôt", "€ cher; « trop »"}
        assert con.execute("SELECT count(*) FROM quarantine").fetchone() == (0,)


def test_cp1252_file_is_read_as_windows_1252_not_latin_1(dataset, tmp_path):
    """€ is byte 0x80 in Windows-1252, a control character in Latin-1."""
    inputs, _ = dataset
    _rewrite(inputs.dir, tmp_path / "cp", "cp1252")
    assert "€".encode("cp1252") in (tmp_path / "cp" / "survey_responses.csv").read_bytes()
    _export(tmp_path / "cp", tmp_path)
    with connect(tmp_path / "cp.duckdb") as con:
        assert con.execute("SELECT count(*) FROM survey_responses WHERE comment LIKE '€%'").fetchone()[0] == 30


def test_semicolons_and_decimal_commas_give_the_same_numbers(dataset, tmp_path):
    inputs, expected = dataset
    dest = tmp_path / "eu"
    dest.mkdir()
    for path in inputs.dir.glob("*.csv"):
        header, rows = _rows(path)
        numbers = (
            [
                i
                for i, h in enumerate(header)
                if TABLES[path.stem].columns[TABLES[path.stem].column_names.index(h)].type in ("number", "integer")
            ]
            if path.stem in TABLES
            else []
        )
        for row in rows:
            for i in numbers:
                row[i] = row[i].replace(".", ",")
        with (dest / path.name).open("w", encoding="cp1252", newline="") as fh:
            csv.writer(fh, delimiter=";", lineterminator="\r\n").writerows([header, *rows])
    assert "150,5" in (dest / "interactions.csv").read_text(encoding="cp1252")
    assert _export(dest, tmp_path) == expected


def test_decimal_setting_without_semicolons(tmp_path):
    inputs = Inputs(tmp_path)
    inputs.set(
        "interactions", [ix("a", "2026-01-05 10:00", handle="1.234,5"), ix("b", "2026-01-05 11:00", handle="65,5")]
    )
    inputs.write()
    config = Config(tables={"interactions": TableSettings(decimal=",")})
    build(config, data_dir=inputs.dir, database=inputs.database)
    with connect(inputs.database) as con:
        assert sorted(r[0] for r in con.execute("SELECT handle_time_s FROM interactions").fetchall()) == [65.5, 1234.5]


@pytest.mark.parametrize(
    "fmt,created,first",
    [
        ("%d/%m/%Y %H:%M", "25/01/2026 10:00", "25/01/2026 10:30"),
        ("%m/%d/%Y %I:%M %p", "01/25/2026 10:00 AM", "01/25/2026 10:30 AM"),
        ("epoch", "1769335200", "1769337000"),
        ("%Y-%m-%d %H:%M:%S %z", "2026-01-25 10:00:00 +0000", "2026-01-25 11:30:00 +0100"),
    ],
)
def test_timestamp_format_setting(tmp_path, fmt, created, first):
    inputs = Inputs(tmp_path)
    inputs.set("interactions", [ix("a", created, first=first)])
    inputs.write()
    build(
        Config(timezone="UTC", tables={"interactions": TableSettings(timestamp_format=fmt)}),
        data_dir=inputs.dir,
        database=inputs.database,
    )
    with connect(inputs.database) as con:
        row = con.execute("SELECT created_at::VARCHAR, first_response_at::VARCHAR FROM interactions").fetchone()
    assert row == ("2026-01-25 10:00:00", "2026-01-25 10:30:00")


def test_epoch_seconds_are_instants_converted_to_the_reporting_zone(tmp_path):
    inputs = Inputs(tmp_path)
    inputs.set("interactions", [ix("a", "1769385600")])  # 2026-01-26 00:00 UTC
    inputs.write()
    build(
        Config(timezone="America/New_York", tables={"interactions": TableSettings(timestamp_format="epoch")}),
        data_dir=inputs.dir,
        database=inputs.database,
    )
    with connect(inputs.database) as con:
        assert con.execute("SELECT created_at::VARCHAR FROM interactions").fetchone() == ("2026-01-25 19:00:00",)


def test_a_comment_longer_than_duckdbs_line_limit_is_read(tmp_path):
    inputs = Inputs(tmp_path)
    inputs.add("interactions", ix("a", "2026-01-05 10:00"))
    inputs.add("survey_responses", survey("r1", "csat", 5, "2026-01-05 12:00", unit_id=PARIS, comment="x" * 3_000_000))
    inputs.write()
    build(Config(), data_dir=inputs.dir, database=inputs.database)
    with connect(inputs.database) as con:
        assert con.execute("SELECT length(comment) FROM survey_responses").fetchone() == (3_000_000,)


def test_xlsx_sheet_setting(tmp_path):
    inputs = Inputs(tmp_path)
    inputs.set("interactions", [ix("a", "2026-01-05 10:00"), ix("b", "2026-01-06 10:00")])
    inputs.write()
    frame = pd.read_csv(inputs.dir / "interactions.csv", dtype=str, keep_default_na=False)
    (inputs.dir / "interactions.csv").unlink()
    with pd.ExcelWriter(inputs.dir / "interactions.xlsx") as writer:
        pd.DataFrame({"note": ["cover sheet"]}).to_excel(writer, sheet_name="About", index=False)
        frame.to_excel(writer, sheet_name="Tickets", index=False)
    build(
        Config(tables={"interactions": TableSettings(sheet="tickets")}), data_dir=inputs.dir, database=inputs.database
    )
    with connect(inputs.database) as con:
        assert con.execute("SELECT count(*) FROM interactions").fetchone() == (2,)


# --- shapes that stop the build: exit 2, one line naming the file, the line or column, and the fix ---


def _fails(cli, inputs: Inputs, *fragments: str, config: str | None = None) -> str:
    args = ["build", "--data", inputs.dir, "--db", inputs.database]
    if config is not None:
        path = inputs.base / "scorecard.yml"
        path.write_text(config, encoding="utf-8")
        args += ["--config", path]
    code, out, err = cli(*args)
    assert code == 2, err
    assert out == "" and not inputs.database.exists()
    return assert_one_error_line(err, *fragments)


def _ready(inputs: Inputs) -> Inputs:
    inputs.add("interactions", ix("a", "2026-01-05 10:00"))
    inputs.write()
    return inputs


def test_undecodable_bytes_name_the_line_and_the_setting(inputs, cli):
    _ready(inputs)
    text = "unit_id,period,support_cost\n" + f"{BERLIN},2026-01,3\n" + f"{PARIS},2026-02,4\n"
    (inputs.dir / "costs.csv").write_bytes(text.encode("cp1252"))
    _fails(
        cli,
        inputs,
        "costs.csv",
        "line 3",
        "not valid utf-8",
        "encoding: cp1252",
        config="tables:\n  costs: {encoding: utf-8}\n",
    )


def test_a_binary_file_is_not_an_export(inputs, cli):
    _ready(inputs)
    (inputs.dir / "costs.csv").write_bytes(b"unit_id,period,support_cost\n" + bytes(range(256)) * 10)
    _fails(cli, inputs, "costs.csv", "NUL bytes", "not a text export", "UTF-8 or Windows-1252")


def test_a_latin1_file_with_control_bytes_is_not_an_export(inputs, cli):
    _ready(inputs)
    (inputs.dir / "costs.csv").write_bytes(b"unit_id,period,support_cost\nA,2026-01,3\n\x81\x02\x8d,2026-01,4\n")
    _fails(cli, inputs, "costs.csv", "line 3", "control character", "encoding:")


def test_two_files_for_one_table_are_an_error(inputs, cli):
    _ready(inputs)
    shutil.copy(inputs.dir / "interactions.csv", inputs.dir / "interactions.tsv")
    (inputs.dir / "interactions.xlsx").write_bytes(b"")
    _fails(cli, inputs, "interactions.csv and interactions.tsv and interactions.xlsx", "table interactions", "keep one")


def test_an_xlsx_without_the_required_columns(inputs, cli):
    _ready(inputs)
    frame = pd.read_csv(inputs.dir / "interactions.csv", dtype=str).drop(columns=["created_at", "channel"])
    (inputs.dir / "interactions.csv").unlink()
    frame.to_excel(inputs.dir / "interactions.xlsx", index=False)
    _fails(
        cli, inputs, "interactions.xlsx", "missing required column 'created_at', 'channel'", "columns: interactions:"
    )


def test_an_xlsx_that_is_not_a_workbook(inputs, cli):
    _ready(inputs)
    (inputs.dir / "costs.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    _fails(cli, inputs, "costs.xlsx", "not a readable .xlsx workbook")


@pytest.mark.parametrize(
    "created,hint",
    [
        ("05/01/2026 10:00", "'%d/%m/%Y %H:%M' (day first) or '%m/%d/%Y %H:%M' (month first)"),
        ("25/01/2026 10:00", "it reads day first: set `tables: interactions: timestamp_format:` '%d/%m/%Y %H:%M'"),
        ("1769335200", "epoch"),
        (
            "2026-01-25 10:00:00 +0100",
            "a space before its UTC offset: set `tables: interactions: timestamp_format:` '%Y-%m-%d %H:%M:%S %z'",
        ),
    ],
)
def test_a_non_iso_timestamp_without_a_format_stops_the_build(inputs, cli, created, hint):
    inputs.set("interactions", [ix(f"i{n}", created) for n in range(30)])
    inputs.write()
    _fails(
        cli,
        inputs,
        "interactions.csv",
        "30 of 30 rows (100%) set aside",
        "invalid created_at",
        "data row 1",
        created,
        hint,
    )


def test_a_decimal_comma_in_a_comma_file_names_the_setting(inputs, cli):
    inputs.set("interactions", [ix(f"i{n}", "2026-01-05 10:00", handle="150,5") for n in range(30)])
    inputs.write()
    _fails(cli, inputs, "interactions.csv", "invalid handle_time_s", "'150,5'", 'decimal: ","')


def test_most_rows_breaking_the_contract_stop_the_build(inputs, cli):
    rows = [ix(f"i{n}", "2026-01-05 10:00", unit_id="Nowhere" if n < 40 else PARIS) for n in range(100)]
    inputs.set("interactions", rows)
    inputs.write()
    _fails(
        cli,
        inputs,
        "interactions.csv",
        "40 of 100 rows (40%)",
        "25% allowed",
        "main reason: unknown unit_id",
        "(40 rows)",
        "'Nowhere'",
        "max_quarantine_share",
    )


def test_the_share_can_be_accepted_per_table(inputs):
    rows = [ix(f"i{n}", "2026-01-05 10:00", unit_id="Nowhere" if n < 40 else PARIS) for n in range(100)]
    inputs.set("interactions", rows)
    built = inputs.build(tables={"interactions": TableSettings(max_quarantine_share=0.5)})
    assert built.summary.quarantined == {"interactions": 40}


def test_a_skipped_workbook_is_named_when_its_table_is_missing(inputs, cli):
    _ready(inputs)
    (inputs.dir / "interactions.csv").rename(inputs.dir / "interactions.xls")
    _fails(
        cli,
        inputs,
        "required file interactions.csv not found",
        "interactions.xls is not read",
        "save it as .xlsx or .csv",
    )


def test_a_skipped_optional_file_is_a_warning(inputs, cli):
    _ready(inputs)
    (inputs.dir / "costs.csv.zip").write_bytes(b"PK")
    code, out, err = cli("build", "--data", inputs.dir, "--db", inputs.database)
    assert code == 0, err
    assert "warning: no costs table: costs.csv.zip is not read (unzip it)" in err


def test_a_row_with_extra_fields_names_its_line(inputs, cli):
    """Left to DuckDB's sniffer this file is read as one column named after the whole header line."""
    _ready(inputs)
    header = "interaction_id,created_at,unit_id,channel,first_response_at,resolved_at,contacts_to_resolve"
    (inputs.dir / "interactions.csv").write_text(
        f"{header}\na,2026-01-05 10:00,{BERLIN},email,,,\nb,2026-01-05 10:00,{BERLIN},email,,,,1,2\n", encoding="utf-8"
    )
    _fails(
        cli,
        inputs,
        "interactions.csv",
        "CSV Error on Line: 3",
        "Expected Number of Columns: 7",
        "separated by ','",
        "not quoted",
    )


def test_a_file_named_in_the_configuration(inputs, cli):
    _ready(inputs)
    (inputs.dir / "interactions.csv").rename(inputs.dir / "Tickets 2026-01.CSV")
    config = Config(tables={"interactions": TableSettings(file="Tickets 2026-01.CSV")})
    assert build(config, data_dir=inputs.dir, database=inputs.database).loaded["interactions"] == 1
    inputs.database.unlink()
    shutil.copy(inputs.dir / "Tickets 2026-01.CSV", inputs.dir / "interactions.csv")
    _fails(
        cli,
        inputs,
        "Tickets 2026-01.CSV and interactions.csv",
        "keep one",
        config='tables:\n  interactions: {file: "Tickets 2026-01.CSV"}\n',
    )


@pytest.mark.parametrize(
    "yaml_text,fragment",
    [
        ("tables:\n  tickets: {encoding: utf-8}\n", "tables: unknown table 'tickets'"),
        ("tables:\n  costs: {encoding: ebcdic}\n", "unknown encoding 'ebcdic'"),
        ("tables:\n  costs: {delimiter: '::'}\n", "expected one character"),
        ("tables:\n  costs: {decimal: ';'}\n", "tables.costs.decimal"),
        ("tables:\n  costs: {colour: red}\n", "tables.costs.colour: unknown key"),
        ("max_quarantine_share: 2\n", "max_quarantine_share"),
    ],
)
def test_table_settings_are_validated(inputs, cli, yaml_text, fragment):
    _ready(inputs)
    path = inputs.base / "scorecard.yml"
    path.write_text(yaml_text, encoding="utf-8")
    code, _, err = cli("build", "--config", path, "--data", inputs.dir, "--db", inputs.database)
    assert code == 3, err
    assert fragment in err


def test_an_invalid_timestamp_format_is_a_configuration_error(inputs, cli):
    _ready(inputs)
    path = inputs.base / "scorecard.yml"
    path.write_text("tables:\n  interactions: {timestamp_format: '%Q/%d'}\n", encoding="utf-8")
    code, _, err = cli("build", "--config", path, "--data", inputs.dir, "--db", inputs.database)
    assert code == 3, err
    assert "timestamp_format" in err and "%Q/%d" in err
