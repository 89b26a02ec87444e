"""Fixture builder for the engine tests: small input folders written from lists of dicts, built into DuckDB.

Unit ids are deliberately not slug-safe (spaces, accents, `/`, a comma) because the data
contract says they need not be.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from scorecard.config import Config
from scorecard.contract import TABLES
from scorecard.warehouse import BuildSummary, build

ROOT = "Groupe Ω"
EU = "EU"
NA = "NA"
PARIS = "EU/Paris Équipe"
BERLIN = "EU/Berlin Team"
NYC = "NA/New York, Desk"
LEAVES = (PARIS, BERLIN, NYC)
UNITS = (ROOT, EU, NA, PARIS, BERLIN, NYC)

ORG_UNITS = [
    {"unit_id": ROOT, "unit_name": "Group", "parent_id": ""},
    {"unit_id": EU, "unit_name": "Europe", "parent_id": ROOT},
    {"unit_id": NA, "unit_name": "North America", "parent_id": ROOT},
    {"unit_id": PARIS, "unit_name": "Paris", "parent_id": EU},
    {"unit_id": BERLIN, "unit_name": "Berlin", "parent_id": EU},
    {"unit_id": NYC, "unit_name": "New York", "parent_id": NA},
]


def write_csv(path: Path, rows: list[dict[str, Any]], columns: list[str] | None = None) -> Path:
    """Write rows as a UTF-8 CSV; columns default to the union of the rows' keys in order."""
    if columns is None:
        columns = []
        for row in rows:
            columns += [k for k in row if k not in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return path


def ix(
    interaction_id: str,
    created_at: str,
    unit_id: str = PARIS,
    *,
    channel: str = "email",
    priority: str = "normal",
    first: str | None = None,
    resolved: str | None = None,
    contacts: int | str | None = None,
    reopened: str | None = None,
    handle: float | str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One interactions row with every contract column (empty strings for missing values).

    A resolved interaction gets contacts_to_resolve = 1 unless given."""
    if resolved is not None and contacts is None:
        contacts = 1
    return {
        "interaction_id": interaction_id,
        "created_at": created_at,
        "unit_id": unit_id,
        "channel": channel,
        "priority": priority,
        "customer_id": "",
        "customer_segment": "",
        "agent_id": "",
        "first_response_at": first,
        "resolved_at": resolved,
        "contacts_to_resolve": contacts,
        "reopened": reopened,
        "handle_time_s": handle,
        **extra,
    }


def survey(
    response_id: str,
    kind: str,
    score: int | str,
    responded_at: str,
    *,
    interaction_id: str | None = None,
    unit_id: str | None = None,
    comment: str | None = None,
) -> dict:
    return {
        "response_id": response_id,
        "survey": kind,
        "score": score,
        "responded_at": responded_at,
        "interaction_id": interaction_id,
        "unit_id": unit_id,
        "customer_id": "",
        "comment": comment,
    }


@dataclass
class Built:
    """A built database, read into memory (connections are not kept open)."""

    database: Path
    summary: BuildSummary
    results: dict[tuple[str, str, str], dict] = field(default_factory=dict)

    def query(self, sql: str, params: list | None = None) -> list[dict]:
        con = duckdb.connect(str(self.database), read_only=True)
        try:
            cur = con.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            con.close()

    def reload(self) -> Built:
        self.results = {(r["period"], r["unit_id"], r["kpi_id"]): r for r in self.query("SELECT * FROM results")}
        return self

    def row(self, period: str, unit: str, kpi: str) -> dict:
        return self.results[(period, unit, kpi)]

    def value(self, period: str, unit: str, kpi: str):
        return self.row(period, unit, kpi)["value"]

    def quarantine(self, table: str | None = None) -> list[dict]:
        rows = self.query(
            'SELECT table_name, "row", record_id, reason, value FROM quarantine ORDER BY table_name, "row"'
        )
        return [r for r in rows if table is None or r["table_name"] == table]

    def periods(self) -> list[str]:
        return [r["period"] for r in self.query("SELECT period FROM periods ORDER BY period")]


class Inputs:
    """An input folder under construction: org_units is the default tree until replaced."""

    def __init__(self, base: Path):
        self.base = Path(base)
        self.dir = self.base / "in"
        self.database = self.base / "db.duckdb"
        self.tables: dict[str, list[dict]] = {"org_units": [dict(r) for r in ORG_UNITS]}
        self.columns: dict[str, list[str]] = {}

    def add(self, table: str, *rows: dict) -> Inputs:
        self.tables.setdefault(table, []).extend(rows)
        return self

    def set(self, table: str, rows: list[dict], columns: list[str] | None = None) -> Inputs:
        self.tables[table] = list(rows)
        if columns is not None:
            self.columns[table] = columns
        return self

    def write(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        for name, rows in self.tables.items():
            columns = self.columns.get(name)
            if columns is None and name in TABLES and not rows:
                columns = list(TABLES[name].column_names)
            write_csv(self.dir / f"{name}.csv", rows, columns)
        return self.dir

    def build(self, config: Config | None = None, **settings: Any) -> Built:
        """Write the folder and build it; settings are Config fields (default timezone UTC)."""
        if config is None:
            config = Config(**settings)
        self.write()
        summary = build(config, data_dir=self.dir, database=self.database)
        return Built(self.database, summary).reload()


def build_module(tmp_path_factory, name: str, tables: dict[str, list[dict]], **settings: Any) -> Built:
    """For module-scoped fixtures: one build shared by several tests."""
    inp = Inputs(tmp_path_factory.mktemp(name))
    for table, rows in tables.items():
        inp.set(table, rows)
    return inp.build(**settings)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run `scorecard -q ARGS` in-process: (exit code, stdout, stderr)."""
    from scorecard.cli import main

    capsys.readouterr()
    code = main(["-q", *[str(a) for a in args]])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str, *fragments: str) -> str:
    """stderr holds exactly one line, `error: ...`, containing every fragment; no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]
