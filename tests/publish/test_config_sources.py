"""Publishing someone else's exports: with no configuration at all (the built-in defaults), and
with a configuration file kept in another directory that names no project paths. Both run from a
working directory that is not the repository, so nothing can come from the checkout's files."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from scorecard.catalog import load_catalog
from scorecard.cli import main

from .conftest import PERIODS, UNITS

PERIOD = PERIODS[0]


def _exports(inputs: Path, folder: Path) -> Path:
    """The session's small org (other unit ids than the demo's, hostile names) without a configuration."""
    shutil.copytree(inputs, folder)
    (folder / "scorecard.yml").unlink(missing_ok=True)
    return folder


def _rows(site: Path, unit: str, kpi: str) -> dict:
    with (site / "periods" / PERIOD / "r1" / "scorecard.csv").open(encoding="utf-8", newline="") as fh:
        return next(r for r in csv.DictReader(fh) if r["unit_id"] == unit and r["kpi_id"] == kpi)


def _meta(database: Path) -> dict[str, str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())


@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_other_units_publish_with_the_built_in_defaults(inputs, tmp_path, elsewhere):
    data = _exports(inputs, tmp_path / "exports")
    assert main(["-q", "publish", "--data", str(data), "--period", PERIOD, "--workers", "2"]) == 0
    site = elsewhere / "_site"  # outputs in the working directory
    assert (site / "index.html").is_file() and (site / "periods" / PERIOD / "r1" / "index.html").is_file()
    assert (elsewhere / "data" / "scorecard.duckdb").is_file() and (elsewhere / "reports").is_dir()
    assert sorted(p.name for p in data.iterdir()) == sorted(
        p.name for p in inputs.iterdir() if p.name != "scorecard.yml"
    )
    meta = _meta(elsewhere / "data" / "scorecard.duckdb")
    assert meta["timezone"] == "UTC"
    # the catalog's target, not the demo's (87 from 2026 on)
    assert float(_rows(site, UNITS[0], "csat")["target"]) == load_catalog().get("csat").target == 85


def test_a_configuration_in_another_directory_needs_no_project_paths(inputs, tmp_path, elsewhere):
    _exports(inputs, tmp_path / "deploy" / "exports")
    config = tmp_path / "deploy" / "etc" / "cx.yml"
    config.parent.mkdir()
    config.write_text(
        "timezone: Europe/Paris\ndata: ../exports\nsite: ../public\nworkers: 2\n"
        f"targets:\n  - {{kpi: csat, unit: '{UNITS[1]}', target: 91, amber: 88}}\n",
        encoding="utf-8",
    )
    assert main(["-q", "publish", "--config", str(config), "--period", PERIOD]) == 0
    site = tmp_path / "deploy" / "public"  # relative to the file
    assert (site / "periods" / PERIOD / "r1" / "index.html").is_file()
    assert not (elsewhere / "_site").exists()
    assert _meta(elsewhere / "data" / "scorecard.duckdb")["timezone"] == "Europe/Paris"
    assert float(_rows(site, UNITS[1], "csat")["target"]) == 91  # the rule, for that unit
    assert float(_rows(site, UNITS[2], "csat")["target"]) == 91  # and its descendants
    assert float(_rows(site, UNITS[0], "csat")["target"]) == 85  # the catalog elsewhere
