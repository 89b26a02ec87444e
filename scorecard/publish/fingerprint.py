"""The configuration fingerprint recorded with every published revision: one hash of what turns
the inputs into the published numbers (the effective settings, every target rule and the KPI
definitions), so a published number can be traced to its definition and target rule, and two
revisions published under different rules say so.

Where the files live and how fast a run goes (paths, workers, memory) do not change a number and
are left out: the same configuration moved to another folder keeps its fingerprint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from ..config import PATH_SETTINGS, Config

NOT_NUMBERS = frozenset(PATH_SETTINGS) | {"workers", "memory_limit"}
# what the database was built with: the catalog in force and the rules resolved from it and the configuration
TABLES = ("catalog", "catalog_changes", "target_rules")


def configuration_fingerprint(config: Config, con: duckdb.DuckDBPyConnection) -> str:
    """sha256 of the settings that shape the numbers, the benchmarks file they read, and the
    database's catalog and target rules (rows in a fixed order)."""
    digest = hashlib.sha256()
    settings = config.model_dump(mode="json", exclude=set(NOT_NUMBERS))
    digest.update(json.dumps(settings, sort_keys=True, ensure_ascii=True).encode())
    if config.benchmarks is not None and Path(config.benchmarks).is_file():
        digest.update(b"\0benchmarks\0" + Path(config.benchmarks).read_bytes())
    for table in TABLES:
        frame = con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        columns = [d[0] for d in con.description]
        digest.update(f"\0{table}\0".encode() + json.dumps([columns, frame], default=str).encode())
    return digest.hexdigest()
