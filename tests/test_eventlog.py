"""The event-log converter: a tiny synthetic log, every rule of the mapping checked by hand, then
built as an input folder."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from scorecard.config import Config
from scorecard.eventlog import Options, convert, main
from scorecard.warehouse import build, connect

HEADER = ["case:concept:name", "concept:name", "org:resource", "org:group", "time:timestamp", "impact"]
EVENTS = [
    # a plain ticket, timestamps with an offset (written in UTC)
    ("T1", "Assign seriousness", "ann", "Team A", "2026-01-05 09:00:00+01:00", "Low"),
    ("T1", "Take in charge ticket", "bob", "Team A", "2026-01-05 10:00:00+01:00", "Low"),
    ("T1", "Resolve ticket", "bob", "Team A", "2026-01-05 11:00:00+01:00", "High"),
    ("T1", "Closed", "cat", "Team A", "2026-01-20 11:00:00+01:00", ""),
    # reopened: taken up again after a resolution, resolved again
    ("T2", "Insert ticket", "ann", "Team B", "2026-01-06 08:00:00", ""),
    ("T2", "Take in charge ticket", "dan", "Team B", "2026-01-06 09:00:00", ""),
    ("T2", "Resolve ticket", "dan", "Team B", "2026-01-06 10:00:00", ""),
    ("T2", "Take in charge ticket", "eve", "Team A", "2026-01-07 09:00:00", ""),
    ("T2", "Resolve ticket", "eve", "Team A", "2026-01-07 12:00:00", ""),
    ("T2", "Closed", "cat", "Team A", "2026-01-22 12:00:00", ""),
    # still open: the log ends with another kind of event
    ("T3", "Assign seriousness", "ann", "Team B", "2026-01-08 08:00:00", ""),
    ("T3", "Take in charge ticket", "dan", "Team B", "2026-01-08 10:00:00", ""),
    ("T3", "Wait", "dan", "Team B", "2026-01-09 10:00:00", ""),
    # resolved without a take-up; its first event has no group; two events at the same time
    ("T4", "Assign seriousness", "ann", "", "2026-01-10 10:00:00", ""),
    ("T4", "Resolve ticket", "bob", "Team A", "2026-01-10 11:00:00", ""),
    ("T4", "Closed", "bob", "Team A", "2026-01-10 11:00:00", ""),
    # left out: an unreadable timestamp, no ticket id
    ("T5", "Assign seriousness", "ann", "Team A", "next Tuesday", ""),
    ("", "Closed", "ann", "Team A", "2026-01-10 11:00:00", ""),
    ("T6", "Assign seriousness", "ann", "Team A", "2026-02-03 10:00:00", ""),
]


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "log.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        # shuffled: the converter orders by time, then file order
        writer.writerows(EVENTS[::2] + EVENTS[1::2])
    return path


def _read(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    key = "interaction_id" if "interaction_id" in rows[0] else "unit_id"
    return {r[key]: r for r in rows}


def test_each_ticket_follows_the_documented_rules(tmp_path):
    out = tmp_path / "exports"
    result = convert(_log(tmp_path), out, Options(unit="org:group", priority="impact", org="Acme"))
    assert (result.events, result.tickets, result.resolved, result.reopened, result.units) == (19, 5, 3, 1, 2)
    assert result.left_out == {"without a ticket id": 1, "with an unreadable timestamp": 1}
    rows = _read(out / "interactions.csv")
    assert list(rows) == ["T1", "T2", "T3", "T4", "T6"]  # by created_at
    t1, t2, t3, t4, t6 = rows.values()
    assert (t1["created_at"], t1["first_response_at"], t1["resolved_at"]) == (
        "2026-01-05T08:00:00Z",
        "2026-01-05T09:00:00Z",
        "2026-01-05T10:00:00Z",
    )
    assert (t1["unit_id"], t1["agent_id"], t1["priority"], t1["channel"]) == ("Team A", "bob", "High", "ticket")
    assert (t1["contacts_to_resolve"], t1["reopened"]) == ("1", "false")
    assert (t2["unit_id"], t2["first_response_at"], t2["resolved_at"]) == (
        "Team B",
        "2026-01-06T09:00:00Z",
        "2026-01-07T12:00:00Z",
    )
    assert (t2["contacts_to_resolve"], t2["reopened"], t2["agent_id"]) == ("2", "true", "dan")
    assert (t3["resolved_at"], t3["contacts_to_resolve"], t3["reopened"]) == ("", "", "")
    assert t3["first_response_at"] == "2026-01-08T10:00:00Z"
    assert (t4["unit_id"], t4["first_response_at"], t4["resolved_at"], t4["contacts_to_resolve"]) == (
        "Team A",
        "2026-01-10T11:00:00Z",
        "2026-01-10T11:00:00Z",
        "1",
    )
    assert (t6["first_response_at"], t6["resolved_at"]) == ("", "")
    units = _read(out / "org_units.csv")
    assert units == {
        "Acme": {"unit_id": "Acme", "unit_name": "Acme", "parent_id": ""},
        "Team A": {"unit_id": "Team A", "unit_name": "Team A", "parent_id": "Acme"},
        "Team B": {"unit_id": "Team B", "unit_name": "Team B", "parent_id": "Acme"},
    }


def test_the_folder_builds_and_its_kpis_follow(tmp_path):
    out = tmp_path / "exports"
    convert(_log(tmp_path), out, Options(unit="org:group"))
    summary = build(Config(min_sample=1), data_dir=out, database=tmp_path / "db.duckdb")
    assert summary.quarantined == {}
    with connect(tmp_path / "db.duckdb") as con:
        values = dict(
            con.execute(
                "SELECT kpi_id, value FROM results WHERE period = '2026-01' AND unit_id = 'Help desk'"
            ).fetchall()
        )
    assert values["volume"] == 4
    assert values["fcr"] == pytest.approx(100 * 2 / 3)  # T1 and T4 of the three resolved
    assert values["reopen_rate"] == pytest.approx(100 / 3)  # T2
    assert values["frt_median"] == pytest.approx(60)  # minutes: T1 60, T2 60, T3 120, T4 60


def test_without_a_unit_column_every_ticket_is_one_units(tmp_path, capsys):
    out = tmp_path / "one"
    assert main([str(_log(tmp_path)), str(out), "--org", "Support"]) == 0
    assert "5 tickets (3 resolved, 1 reopened) in 1 unit(s)" in capsys.readouterr().out
    assert list(_read(out / "org_units.csv")) == ["Support"]
    assert {r["unit_id"] for r in _read(out / "interactions.csv").values()} == {"Support"}


def test_a_missing_column_is_named(tmp_path):
    with pytest.raises(SystemExit, match="no column 'team' for --unit"):
        convert(_log(tmp_path), tmp_path / "x", Options(unit="team"))
