"""What each KPI needs from the input, derived from the catalog: `scorecard check` explains a KPI
it cannot compute from it, and the compute step withholds a KPI whose column the help-desk export
lacks.

A KPI needs its record table, rows of it meeting its filter with its `columns` filled in, and the
tables its SQL joins (sla_policies for sla_minutes, a ratio's denominator table). A preset may
declare contract columns its product does not export (`absent:` in its YAML); the loader records
the ones a file really lacks in `absent_columns`, and every KPI that needs one is published as no
data rather than as a number computed from empty cells (an unanswered-looking interaction would
make sla_frt 0 %, a missing contact count would make fcr 0 %).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import duckdb

from .catalog import Catalog, CountParams, Kpi, MeanParams, NpsParams, ProportionParams, load_catalog, source_table
from .db import scalar
from .kpisql import DERIVED, compile_kpi


class Need(NamedTuple):
    table: str
    condition: str  # on the clean table's rows: at least one must meet it
    what: str  # what is missing when no row meets it
    columns: tuple[str, ...] = ()  # contract columns of `table` the KPI's value is computed from


# What the records of a table are called ("no valid ...").
NOUNS = {
    "interactions": "interactions",
    "survey_responses": "responses",
    "employee_pulse": "pulse responses",
    "qa_reviews": "QA reviews",
    "costs": "costs",
    "customers": "customers",
}


def _filter(kpi: Kpi) -> str | None:
    """The condition that picks the KPI's records among its table's (a survey's responses)."""
    p = kpi.params
    if isinstance(p, ProportionParams):
        return p.denominator
    if isinstance(p, (NpsParams, MeanParams, CountParams)):
        return p.filter
    return None


def need(kpi: Kpi) -> Need:
    """What the KPI needs of its table."""
    table = source_table(kpi.table)
    if kpi.columns:
        condition = " AND ".join(f"{c} IS NOT NULL" for c in kpi.columns)
        what = f"column {' or '.join(kpi.columns)} missing or empty"
    elif (picked := _filter(kpi)) is not None:
        condition, what = picked, f"no valid {NOUNS.get(table, 'rows')} with {picked}"
    else:
        condition, what = "true", f"no valid {NOUNS.get(table, 'rows')}"
    return Need(table, condition, what, kpi.columns)


def other_tables(kpi: Kpi) -> tuple[str, ...]:
    """The tables besides its own that the KPI's SQL reads."""
    compiled = compile_kpi(kpi)
    tables = [s.table for s in compiled.sources]
    sql = " ".join(
        [a for aggregates in compiled.sums.values() for a in aggregates]
        + [e for values in compiled.medians.values() for _k, e in values]
    )
    for source in compiled.sources:
        for name, derived in DERIVED.get(source.table, {}).items():
            if re.search(rf"\b{name}\b", sql):
                tables.append(derived.table)
    own = source_table(kpi.table)
    return tuple(t for t in dict.fromkeys(source_table(t) for t in tables) if t != own)


def kpi_needs(catalog: Catalog) -> dict[str, Need]:
    return {k.id: need(k) for k in catalog.kpis}


def second_tables(catalog: Catalog) -> dict[str, str]:
    """KPI -> the other table it reads (sla_frt: sla_policies), for the KPIs reading one."""
    return {k.id: others[0] for k in catalog.kpis if (others := other_tables(k))}


NEEDS: dict[str, Need] = kpi_needs(load_catalog())
SECOND_TABLE: dict[str, str] = second_tables(load_catalog())

# Columns an input file lacks because its product does not export them (a preset's `absent:`).
ABSENT_DDL = """CREATE TABLE IF NOT EXISTS absent_columns (
    table_name VARCHAR NOT NULL, column_name VARCHAR NOT NULL, preset VARCHAR NOT NULL,
    PRIMARY KEY (table_name, column_name))"""


def absent_columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(table, column) -> the preset whose export lacks it; empty for a database built before the
    table existed."""
    exists = scalar(
        con,
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'absent_columns' AND schema_name = current_schema()",
    )
    if not exists:
        return {}
    rows = con.execute("SELECT table_name, column_name, preset FROM absent_columns").fetchall()
    return {(t, c): p for t, c, p in rows}


def withheld_kpis(con: duckdb.DuckDBPyConnection, catalog: Catalog | None = None) -> dict[str, str]:
    """KPI -> why it cannot be computed, for every KPI (of the catalog, default the bundled one)
    that needs a column the export lacks."""
    absent = absent_columns(con)
    withheld = {}
    for kpi, need in (NEEDS if catalog is None else kpi_needs(catalog)).items():
        lacking = [(c, absent[need.table, c]) for c in need.columns if (need.table, c) in absent]
        if lacking:
            withheld[kpi] = "; ".join(f"{preset} export has no {column}" for column, preset in lacking)
    return withheld
