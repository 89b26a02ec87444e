"""Column presets for well-known help desks: each preset is a YAML file in this folder that maps
the column names of that product's standard export onto the data contract.

A preset holds data only: `columns` (export column -> contract column), `derive` (a contract column
computed from export columns by one of a few named operations), `values` (export spellings ->
contract spellings) and `absent` (contract columns the product does not export: not required, they
load empty, and the KPIs computed from them are published as no data). The operations are
implemented here, in SQL over the raw text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

from ..contract import TABLES

DURATION_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600}


@dataclass(frozen=True)
class Preset:
    name: str
    product: str
    export: str
    table: str
    columns: dict[str, str]  # export column -> contract column
    derive: dict[str, dict] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # contract columns the product does not export

    def sources(self) -> set[str]:
        """Every export column the preset reads (lower case), but for the ones its product does not
        export (a column a user may add to it)."""
        names = {c.lower() for c, target in self.columns.items() if target not in self.absent}
        for spec in self.derive.values():
            names |= {str(v).lower() for k, v in spec.items() if k != "after"}
        return names


@cache
def presets() -> dict[str, Preset]:
    found = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8"))
            name = entry.name[:-4]
            found[name] = Preset(
                name=name,
                product=data["product"],
                export=data["export"],
                table=data["table"],
                columns={str(k): str(v) for k, v in data["columns"].items()},
                derive=data.get("derive") or {},
                values={
                    c: {str(k).lower(): str(v) for k, v in m.items()} for c, m in (data.get("values") or {}).items()
                },
                absent=tuple(str(c) for c in data.get("absent") or ()),
            )
    return found


def check_preset(name: str, table: str) -> Preset:
    """The preset called `name` for `table`, or ValueError saying which presets exist."""
    known = presets()
    preset = known.get(name.strip().lower())
    if preset is None:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(known)} (or a mapping of column names)")
    if preset.table != table:
        raise ValueError(f"preset {name!r} is for table {preset.table}, not {table}")
    return preset


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def derived_sql(spec: dict, column_sql: dict[str, str], found: dict[str, str]) -> str | None:
    """SQL text for a derived contract column, or None when an export column it needs is absent.

    column_sql: contract column -> SQL of its (already converted) text; found: lower-case export
    column -> its name in the file."""

    def source(name: str) -> str | None:
        real = found.get(str(name).lower())
        return None if real is None else f"nullif(trim(CAST({_quote(real)} AS VARCHAR)), '')"

    if "after" in spec:
        ((unit, name),) = [(k, v) for k, v in spec.items() if k in DURATION_UNITS]
        base, amount = column_sql.get(spec["after"]), source(name)
        if base is None or amount is None:
            return None
        seconds = f"try_cast(replace({amount}, ',', '.') AS DOUBLE) * {DURATION_UNITS[unit]}"
        return (
            f"CAST(try_cast({base} AS TIMESTAMPTZ) + to_microseconds(CAST(round({seconds} * 1e6) AS BIGINT))"
            f" AS VARCHAR)"
        )
    if "plus_one" in spec:
        count = source(spec["plus_one"])
        return None if count is None else f"CAST(try_cast({count} AS BIGINT) + 1 AS VARCHAR)"
    if "positive" in spec:
        count = source(spec["positive"])
        if count is None:
            return None
        return (
            f"CASE WHEN try_cast({count} AS DOUBLE) > 0 THEN 'true' "
            f"WHEN try_cast({count} AS DOUBLE) = 0 THEN 'false' ELSE {count} END"
        )
    raise ValueError(f"unknown derive operation {spec}")


def values_sql(expr: str, mapping: dict[str, str]) -> str:
    """Translate export spellings (case-insensitively); other values pass through unchanged."""
    cases = " ".join(f"WHEN {_literal(k)} THEN {_literal(v)}" for k, v in mapping.items())
    return f"CASE lower(trim({expr})) {cases} ELSE {expr} END"


def match_score(preset: Preset, headers: list[str]) -> float:
    """Share of the preset's export columns present in a header line: how well a file fits it."""
    wanted = preset.sources()
    present = {h.strip().lower() for h in headers}
    return len(wanted & present) / len(wanted) if wanted else 0.0


def required_missing(preset: Preset, headers: list[str]) -> list[str]:
    """Contract columns the table requires that this header line cannot provide through the preset."""
    present = {h.strip().lower() for h in headers}
    provided = {c for s, c in preset.columns.items() if s.lower() in present}
    for target, spec in preset.derive.items():
        if all(str(v).lower() in present for k, v in spec.items() if k != "after"):
            provided.add(target)
    provided |= {h for h in present if h in TABLES[preset.table].column_names}
    provided |= set(preset.absent)
    return [c.name for c in TABLES[preset.table].columns if c.required and c.name not in provided]
