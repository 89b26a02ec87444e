"""Shared by tests/ and the notebook templates (nbval): a small scorecard database per session.

The templates' default parameters point at tests/.cache/test.duckdb, so `pytest --nbval-lax
notebooks/` runs them as they are.
"""

from pathlib import Path

import pytest

CACHE = Path(__file__).parent / "tests" / ".cache"


@pytest.fixture(scope="session", autouse=True)
def test_database() -> Path:
    from scorecard.config import load_config
    from scorecard.demo import generate
    from scorecard.warehouse import build

    database = CACHE / "test.duckdb"
    inputs = CACHE / "input"
    # Rebuilt every session (about a second): never stale after a code change.
    generate(inputs, interactions=8_000, seed=11)
    build(load_config(inputs / "scorecard.yml"), data_dir=inputs, database=database)  # the demo's configuration
    return database
