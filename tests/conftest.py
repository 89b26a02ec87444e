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
def cli(tmp_path: Path, monkeypatch, capsys):
    """Run the CLI in-process from tmp_path (so no ./scorecard.yml is picked up)."""
    from scorecard_fixtures import run_cli

    monkeypatch.chdir(tmp_path)
    return lambda *args: run_cli(capsys, *args)
