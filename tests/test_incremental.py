"""Incremental builds: an appended export loads only its new rows, and every incremental build
gives the database a whole build gives (every table compared row for row)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from scorecard_fixtures import BERLIN, PARIS, ix, survey

from scorecard.config import Config, load_config
from scorecard.demo import generate
from scorecard.errors import InputError
from scorecard.progress import Event
from scorecard.warehouse import build

# What differs between two builds of the same inputs by design: how they were loaded.
BOOKKEEPING = {"load_state", "meta"}


def _tables(database: Path) -> dict[str, pd.DataFrame]:
    """Every table, its rows sorted on all columns (row order is not part of the contract)."""
    with duckdb.connect(str(database), read_only=True) as con:
        names = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        frames = {}
        for name in sorted(set(names) - BOOKKEEPING):
            frames[name] = con.execute(f'SELECT * FROM "{name}" ORDER BY ALL NULLS FIRST').df()
        return frames


def assert_same_database(incremental: Path, whole: Path) -> None:
    a, b = _tables(incremental), _tables(whole)
    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def _state(database: Path) -> dict[str, dict]:
    with duckdb.connect(str(database), read_only=True) as con:
        cur = con.execute("SELECT * FROM load_state")
        names = [d[0] for d in cur.description]
        return {r[0]: dict(zip(names, r)) for r in cur.fetchall()}


def _build(config: Config, data: Path, database: Path, full: bool = False) -> list[Event]:
    events: list[Event] = []
    build(config, data_dir=data, database=database, progress=events.append, full=full)
    return events


def _validated(events, table: str) -> list[int]:
    return [e.rows for e in events if isinstance(e, Event) and e.phase == "validate" and table in e]


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Path]:
    """The small demo cut in two: `old` holds the first 85 % of interactions (and the surveys and
    reviews of those), `new` the whole export plus hand-made rows appended at its end."""
    base = tmp_path_factory.mktemp("incremental")
    full = base / "full"
    generate(full, interactions=2500, review=True)
    header, rows = _read(full / "interactions.csv")
    cut = int(len(rows) * 0.85)
    old, new = base / "old", base / "new"
    for folder in (old, new):
        shutil.copytree(full, folder)
    _write(old / "interactions.csv", header, rows[:cut])
    kept_old = {r[0] for r in rows[:cut]}
    for table in ("survey_responses", "qa_reviews"):
        h, rs = _read(full / f"{table}.csv")
        at = h.index("interaction_id")
        _write(old / f"{table}.csv", h, [r for r in rs if not r[at] or r[at] in kept_old])
    # survey responses: the new export is the old one with the later responses appended, and
    # hand-made ones (a repeated response_id, a second response to an old interaction, ...)
    h, rs = _read(old / "survey_responses.csv")
    at, kind, when = h.index("interaction_id"), h.index("survey"), h.index("responded_at")
    first = next(r for r in rs if r[at])
    _, later = _read(full / "survey_responses.csv")
    responses = [
        first[:1] + ["nps"] + first[2:3] + first[3:],  # a repeated response_id
        ["R-1", first[kind], "4", first[when], first[at], "", "", ""],  # a second response to an old interaction
        ["R-2", "csat", "9", first[when], first[at], "", "", ""],  # score out of range
        ["R-3", "csat", "4", first[when], "", "", "", ""],  # neither unit nor interaction
    ]
    added = [r for r in later if r[at] and r[at] not in kept_old] + responses
    _write(new / "survey_responses.csv", h, rs + added)
    assert (new / "survey_responses.csv").read_bytes().startswith((old / "survey_responses.csv").read_bytes())
    demo_surveys = {"old_rows": len(rs), "new_rows": len(added)}
    template = dict(zip(header, rows[cut]))
    invalid_old = rows[0][:]  # an old row set aside: its id repeated in the new rows is still a duplicate
    invalid_old[header.index("created_at")] = "not a date"
    _write(old / "interactions.csv", header, [invalid_old] + rows[1:cut])

    def extra(**values) -> list[str]:
        return [values.get(c, template[c]) for c in header]

    appended = [
        extra(interaction_id=rows[5][0]),  # repeats an old kept row
        extra(interaction_id=rows[0][0]),  # repeats the old row set aside
        extra(interaction_id="NEW-1", created_at="31/12/2026"),  # invalid
        extra(interaction_id="NEW-2", unit_id="no such unit"),
        extra(interaction_id="NEW-3"),
        extra(interaction_id="NEW-3"),  # repeats a new row
        extra(interaction_id=""),
    ]
    _write(new / "interactions.csv", header, [invalid_old] + rows[1:] + appended)
    assert (new / "interactions.csv").read_bytes().startswith((old / "interactions.csv").read_bytes())
    return {
        "old": old,
        "new": new,
        "new_rows": len(rows) - cut + len(appended),
        "old_rows": cut,
        "surveys": demo_surveys,
    }


def test_an_appended_export_loads_only_its_new_rows_and_gives_the_whole_build(demo, tmp_path):
    config = load_config(demo["new"] / "scorecard.yml")
    database = tmp_path / "inc.duckdb"
    _build(config, demo["old"], database)
    assert _state(database)["interactions"]["rows"] == demo["old_rows"]
    events = _build(config, demo["new"], database)
    state = _state(database)
    assert state["interactions"]["action"] == "append"
    assert state["interactions"]["rows_read"] == demo["new_rows"]
    assert state["interactions"]["rows"] == demo["old_rows"] + demo["new_rows"]
    assert _validated(events, "interactions") == [demo["new_rows"]]
    assert any(e.startswith(f"appended to interactions: {demo['new_rows']:,} new rows") for e in events)
    surveys = demo["surveys"]
    assert state["survey_responses"]["action"] == "append"
    assert _validated(events, "survey_responses") == [surveys["new_rows"]]
    assert state["survey_responses"]["rows"] == surveys["old_rows"] + surveys["new_rows"]
    assert state["qa_reviews"]["action"] == "reload"  # its export changed in the middle
    assert state["employee_pulse"]["action"] == "reuse" and state["org_units"]["action"] == "reuse"
    assert _validated(events, "employee_pulse") == []

    whole = tmp_path / "whole.duckdb"
    _build(config, demo["new"], whole)
    assert _state(whole)["interactions"]["action"] == "load"
    assert_same_database(database, whole)
    n = demo["old_rows"] + demo["new_rows"]
    with duckdb.connect(str(database), read_only=True) as con:
        reasons = con.execute(
            """SELECT reason, count(*) FROM quarantine WHERE table_name = 'interactions'
               AND "row" > ? GROUP BY 1 ORDER BY 1""",
            [n - 7],  # the hand-made rows
        ).fetchall()
    assert dict(reasons) == {
        "duplicate interaction_id": 3,
        "invalid created_at": 1,
        "missing interaction_id": 1,
        "unknown unit_id": 1,
    }
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            """SELECT "row", record_id FROM quarantine WHERE table_name = 'interactions'
               AND reason = 'duplicate interaction_id' ORDER BY "row" DESC LIMIT 3"""
        ).fetchall()
    assert [r[0] for r in rows] == [n - 1, n - 5, n - 6]  # data rows as the file numbers them


def test_a_changed_middle_reloads_the_table(demo, tmp_path):
    config = load_config(demo["new"] / "scorecard.yml")
    data = tmp_path / "data"
    shutil.copytree(demo["old"], data)
    database = tmp_path / "inc.duckdb"
    _build(config, data, database)
    header, rows = _read(data / "interactions.csv")
    rows[10][header.index("channel")] = "phone" if rows[10][header.index("channel")] != "phone" else "chat"
    _write(data / "interactions.csv", header, rows + [rows[11][:1] + rows[11][1:]])  # also appended
    events = _build(config, data, database)
    state = _state(database)
    assert state["interactions"]["action"] == "reload"
    assert state["interactions"]["reason"] == "changed before its end"
    assert _validated(events, "interactions") == [len(rows) + 1]
    whole = tmp_path / "whole.duckdb"
    _build(config, data, whole, full=True)
    assert_same_database(database, whole)


def test_unchanged_inputs_reload_nothing(demo, tmp_path):
    config = load_config(demo["new"] / "scorecard.yml")
    database = tmp_path / "inc.duckdb"
    _build(config, demo["old"], database)
    before = _tables(database)
    events = _build(config, demo["old"], database)
    assert {s["action"] for s in _state(database).values()} == {"reuse"}
    assert not [e for e in events if isinstance(e, Event) and e.phase == "validate"]
    assert not [e for e in events if e.startswith(("read ", "reloaded", "appended"))]
    after = _tables(database)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], obj=name)
    # --full loads everything again, with the same result
    events = _build(config, demo["old"], database, full=True)
    assert {s["action"] for s in _state(database).values()} == {"load"}
    assert any("a whole build was asked for" in e for e in events)


def test_a_changed_setting_or_header_loads_every_table(inputs, tmp_path):
    inputs.add("interactions", ix("a", "2026-01-05 10:00"), ix("b", "2026-01-06 10:00", BERLIN))
    inputs.build()
    inputs.build(survey_window_days=3)
    assert _state(inputs.database)["interactions"]["action"] == "load"
    path = inputs.dir / "interactions.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("interaction_id,", "Interaction_ID,", 1) + "c,2026-01-07 10:00,EU,email,,,,,,,,,\r\n")
    build(Config(survey_window_days=3), data_dir=inputs.dir, database=inputs.database)
    state = _state(inputs.database)["interactions"]
    assert (state["action"], state["reason"]) == ("reload", "its header line changed (or is quoted)")


def test_set_aside_share_counts_old_and_new_rows(inputs):
    """30 invalid new rows of 70 is more than 25 %: the incremental build stops as a whole one
    does, and leaves the database as it was."""
    inputs.add("interactions", *[ix(f"a{i}", "2026-01-05 10:00", PARIS) for i in range(40)])
    inputs.build()
    before = inputs.database.read_bytes()
    path = inputs.dir / "interactions.csv"
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.writelines(f"b{i},yesterday,{PARIS},email,,,,,,,,,\r\n" for i in range(30))
    events: list[str] = []
    with pytest.raises(
        InputError, match=r"30 of 70 rows \(43%\) set aside.*created_at \(30 rows\), e\.g\. data row 41"
    ):
        build(Config(), data_dir=inputs.dir, database=inputs.database, progress=events.append)
    assert any(e.startswith("appended to interactions: 30 new rows") for e in events)
    assert inputs.database.read_bytes() == before
    with pytest.raises(InputError, match=r"30 of 70 rows \(43%\) set aside"):
        build(Config(), data_dir=inputs.dir, database=inputs.database, full=True)


def test_the_command_line_builds_incrementally_unless_told_otherwise(inputs, cli):
    inputs.add("interactions", ix("a", "2026-01-05 10:00"))
    inputs.write()
    db = str(inputs.database)
    assert cli("build", "--data", str(inputs.dir), "--db", db)[0] == 0
    assert cli("build", "--data", str(inputs.dir), "--db", db)[0] == 0
    assert _state(inputs.database)["interactions"]["action"] == "reuse"
    assert cli("build", "--data", str(inputs.dir), "--db", db, "--rebuild")[0] == 0
    assert _state(inputs.database)["interactions"]["action"] == "load"


def test_a_new_response_earlier_than_the_kept_one_reloads_the_surveys(inputs, tmp_path):
    """The earliest response per (interaction, survey) counts: a new one earlier than the kept one
    changes an old row's verdict, so the table is read whole."""
    inputs.add("interactions", ix("a", "2026-01-05 10:00", resolved="2026-01-05 11:00"))
    inputs.add("survey_responses", survey("s1", "csat", 5, "2026-01-06 10:00", interaction_id="a"))
    inputs.build()
    path = inputs.dir / "survey_responses.csv"
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write("s2,csat,2,2026-01-05 12:00,a,,,\r\n")
    events: list[str] = []
    build(Config(), data_dir=inputs.dir, database=inputs.database, progress=events.append)
    state = _state(inputs.database)["survey_responses"]
    assert (state["action"], state["reason"]) == ("reload", "the new rows change how old rows are judged")
    assert any(e.startswith("reloaded survey_responses (the new rows change") for e in events)
    build(Config(), data_dir=inputs.dir, database=tmp_path / "whole.duckdb")
    assert_same_database(inputs.database, tmp_path / "whole.duckdb")
    with duckdb.connect(str(inputs.database), read_only=True) as con:
        assert con.execute("SELECT response_id FROM survey_responses").fetchall() == [("s2",)]


def test_benchmarks_changed_by_a_recompute_are_reloaded_by_the_next_build(inputs, tmp_path):
    from scorecard.warehouse import recompute

    inputs.add("interactions", ix("a", "2026-01-05 10:00"))
    inputs.build()
    recompute(Config(benchmarks=None), database=inputs.database)
    inputs.build()
    assert _state(inputs.database)["benchmarks"]["action"] == "reload"
    inputs.database.rename(tmp_path / "inc.duckdb")
    build(Config(), data_dir=inputs.dir, database=inputs.database, full=True)
    assert_same_database(tmp_path / "inc.duckdb", inputs.database)


@pytest.mark.parametrize(
    "case,reason",
    [
        ("other line ends", "the new rows end their lines differently"),
        ("decimal comma", "the new rows need another way of reading than the old ones"),
        ("gzip", "changed"),
    ],
)
def test_new_rows_read_otherwise_than_the_old_ones_reload_the_table(inputs, tmp_path, case, reason):
    rows = [ix(f"a{i}", "2026-01-05 10:00", handle=f"1{i}.5") for i in range(5)]
    path = inputs.dir / "interactions.csv"
    inputs.set("interactions", rows)
    inputs.add("survey_responses", survey("s", "csat", 4, "2026-01-05 11:00", interaction_id="a1"))
    inputs.write()
    if case == "decimal comma":  # a ;-separated export, first without a decimal in sight
        text = path.read_text(encoding="utf-8").replace(",", ";").replace(".5", "")
        path.write_text(text, encoding="utf-8", newline="")
    elif case == "gzip":
        import gzip

        path.with_suffix(".csv.gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    build(Config(), data_dir=inputs.dir, database=inputs.database)
    if case == "other line ends":
        with path.open("a", encoding="utf-8", newline="") as fh:
            fh.write(f"b,2026-01-06 10:00,{PARIS},chat,,,,,,,,,\n")
    elif case == "decimal comma":
        with path.open("a", encoding="utf-8", newline="") as fh:
            fh.write(f"b;2026-01-06 10:00;{PARIS};chat;;;;;;;;;150,5\n")
    else:
        import gzip

        gz = path.with_suffix(".csv.gz")
        gz.write_bytes(
            gzip.compress(gzip.decompress(gz.read_bytes()) + f"b,2026-01-06,{PARIS},chat,,,,,,,,,\r\n".encode())
        )
    events: list[str] = []
    build(Config(), data_dir=inputs.dir, database=inputs.database, progress=events.append)
    state = _state(inputs.database)["interactions"]
    assert (state["action"], state["reason"]) == ("reload", reason)
    assert state["rows"] == 6 and state["rows_read"] == 6
    surveys = _state(inputs.database)["survey_responses"]  # checked against the interactions
    assert (surveys["action"], surveys["reason"]) == ("reload", "interactions reloaded")
    build(Config(), data_dir=inputs.dir, database=tmp_path / "whole.duckdb")
    assert_same_database(inputs.database, tmp_path / "whole.duckdb")
    with duckdb.connect(str(inputs.database), read_only=True) as con:
        handle = con.execute("SELECT handle_time_s FROM interactions WHERE interaction_id = 'b'").fetchall()
    assert handle == ([(150.5,)] if case == "decimal comma" else [(None,)])


def test_a_build_killed_while_building_on_the_database_leaves_it_as_it_was(inputs, tmp_path):
    import os
    import subprocess
    import sys

    inputs.add("interactions", *[ix(f"a{i}", "2026-01-05 10:00") for i in range(5)])
    inputs.build()
    before = inputs.database.read_bytes()
    with (inputs.dir / "interactions.csv").open("a", encoding="utf-8", newline="") as fh:
        fh.write(f"b,2026-01-06 10:00,{PARIS},chat,,,,,,,,,\r\n")
    code = (
        "from scorecard.config import Config; from scorecard.warehouse import build; "
        f"build(Config(), data_dir={str(inputs.dir)!r}, database={str(inputs.database)!r})"
    )
    env = {**os.environ, "SCORECARD_FAULT": "build", "PYTHONPATH": os.pathsep.join(sys.path)}
    killed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert inputs.database.read_bytes() == before
    assert [p.name for p in inputs.base.glob(".db.duckdb.building-*")]  # what the kill left
    events: list[str] = []
    build(Config(), data_dir=inputs.dir, database=inputs.database, progress=events.append)
    assert not list(inputs.base.glob(".db.duckdb.building-*"))
    assert _state(inputs.database)["interactions"]["action"] == "append"
    build(Config(), data_dir=inputs.dir, database=tmp_path / "whole.duckdb")
    assert_same_database(inputs.database, tmp_path / "whole.duckdb")


def test_line_end_styles_equal_a_count_over_the_whole_file(tmp_path, monkeypatch):
    """Blocks of 7 bytes split CRLFs and old/new parts anywhere; the style must not change."""
    import random

    from scorecard import increments

    def style(data: bytes, after_cr: bool = False) -> str:  # a CR just before: its CRLF counts here
        crlf = data.count(b"\r\n") + (after_cr and data[:1] == b"\n")
        bare = data.count(b"\n") - crlf
        return "mixed" if crlf and bare else "crlf" if crlf else "lf" if bare else "none"

    monkeypatch.setattr(increments, "BLOCK", 7)
    rng = random.Random(3)
    path = tmp_path / "f.csv"
    seen = set()
    for _ in range(400):
        data = bytes(rng.choice(b"ab\r\n" if rng.random() < 0.5 else b"abc\n") for _ in range(rng.randint(0, 40)))
        path.write_bytes(data)
        prefix = rng.randint(0, len(data))
        scan = increments.scan_file(path, prefix)
        assert (scan.newlines, scan.tail_newlines) == (
            style(data),
            style(data[prefix:], data[prefix - 1 : prefix] == b"\r"),
        ), data
        seen.add(scan.newlines)
    assert seen == {"mixed", "crlf", "lf", "none"}
