"""Fixtures for the engine tests; the builder itself is in scorecard_fixtures.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from scorecard_fixtures import Inputs


@pytest.fixture
def inputs(tmp_path: Path) -> Inputs:
    """An input folder under tmp_path holding the default unit tree, ready to add tables to."""
    return Inputs(tmp_path)


@pytest.fixture
def built_con(built):
    """A read-only connection to the module's `built` database (a module defines `built`)."""
    import duckdb

    con = duckdb.connect(str(built.database), read_only=True)
    yield con
    con.close()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch, capsys):
    """Run the CLI in-process from tmp_path (so no ./scorecard.yml is picked up)."""
    from scorecard_fixtures import run_cli

    monkeypatch.chdir(tmp_path)
    return lambda *args: run_cli(capsys, *args)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The default demo data (with its stories: see scorecard/demo.py) built with the demo
    configuration: the database the analysis and report tests read."""
    from scorecard.config import load_config
    from scorecard.demo import generate
    from scorecard.warehouse import build

    base = tmp_path_factory.mktemp("demo")
    generate(base / "data")
    build(load_config(base / "data" / "scorecard.yml"), data_dir=base / "data", database=base / "scorecard.duckdb")
    return base / "scorecard.duckdb"
