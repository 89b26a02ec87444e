"""What the definitions page reads: the catalog, who answers for each KPI, how the catalog changed
and which published periods used which version, and the audit trail of target rules.

Every function returns rows ready for a table (text cells, "–" for nothing); the notebook only
shows them.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from ..accountability import roles, rule_trail
from ..db import scalar
from .queries import catalog_table, latest_complete_period, root_unit

NONE = "–"
ROLES = ("accountable", "responsible", "consulted", "informed")


def _num(value) -> str:
    return NONE if value is None or pd.isna(value) else f"{value:g}"


def _text(value) -> str:
    """A name or free text; "–" for none (NULL, NaN or blank)."""
    return value if isinstance(value, str) and value.strip() else NONE


def catalog_version(con: duckdb.DuckDBPyConnection) -> str:
    """The catalog version the database was computed with."""
    return scalar(con, "SELECT value FROM meta WHERE key = 'catalog_version'")


def catalog_rows(con: duckdb.DuckDBPyConnection, period: str | None = None) -> pd.DataFrame:
    """The catalog with the company-wide targets, amber thresholds and weights of `period`
    (default: the latest), as text."""
    catalog = catalog_table(con, period)
    return catalog.assign(
        target=catalog["target"].map(_num),
        amber=catalog["amber"].map(_num),
        weight=catalog["weight"].map(lambda v: f"{v:g}%" if v else "tracked"),
    )


def raci(con: duckdb.DuckDBPyConnection, period: str | None = None) -> pd.DataFrame:
    """Every KPI's accountable, responsible, consulted and informed roles for the whole company
    in `period` (default: the latest complete one): the catalog's, unless a rule overrides them."""
    period = period or latest_complete_period(con)
    table = roles(con, period, root_unit(con))
    for column in ("owner", *ROLES):
        table[column] = table[column].map(_text)
    return table


ROLE_OVERRIDES_SQL = """
SELECT o.unit_id, o.unit_name, t.kpi_id, c.name AS kpi_name, t.accountable, t.responsible, t.consulted, t.informed
FROM targets t
JOIN org_units o USING (unit_id)
JOIN catalog c USING (kpi_id)
JOIN targets p ON p.period = t.period AND p.kpi_id = t.kpi_id AND p.unit_id = o.parent_id
WHERE t.period = $period AND (t.accountable IS DISTINCT FROM p.accountable OR t.responsible IS DISTINCT FROM p.responsible
      OR t.consulted IS DISTINCT FROM p.consulted OR t.informed IS DISTINCT FROM p.informed)
ORDER BY o.sort_path, c.sort_order
"""


def role_overrides(con: duckdb.DuckDBPyConnection, period: str | None = None) -> pd.DataFrame:
    """Units whose roles for a KPI differ from their parent's in `period` (default: the latest
    complete one): where a rule hands a KPI to someone else, for that unit and the units below."""
    period = period or latest_complete_period(con)
    table = con.execute(ROLE_OVERRIDES_SQL, {"period": period}).df()
    for column in ROLES:
        table[column] = table[column].map(_text)
    return table


def audit_trail(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every configuration rule that sets a target, amber threshold or weight (whether or not it
    starts in a given month), latest first, with the KPI's and unit's names, its reason and who
    approved it ("not recorded" when the rule does not say)."""
    trail = rule_trail(con)
    names = dict(con.execute("SELECT kpi_id, name FROM catalog").fetchall())
    units = dict(con.execute("SELECT unit_id, unit_name FROM org_units").fetchall())
    return pd.DataFrame(
        {
            "effective_from": trail["effective_from"].map(lambda v: "always" if v == "always" else f"from {v}"),
            "kpi": trail["kpi_id"].map(lambda k: names.get(k, k)),
            "unit": trail["unit"].map(lambda u: units.get(u, u)),
            "target": trail["target"].map(_num),
            "amber": trail["amber"].map(_num),
            "weight": trail["weight"].map(lambda v: NONE if pd.isna(v) else f"{v:g}%"),
            "reason": trail["reason"].map(lambda v: "not recorded" if _text(v) == NONE else v),
            "approved_by": trail["approved_by"].map(lambda v: "not recorded" if _text(v) == NONE else v),
        },
        columns=["effective_from", "kpi", "unit", "target", "amber", "weight", "reason", "approved_by"],
    )


# --------------------------------------------------------------------------- catalog versions
def read_manifest(path: str | Path | None) -> list[dict] | None:
    """The published (period, revision) entries of a site's manifest.json, or None without one."""
    if not path or not Path(path).is_file():
        return None
    return json.loads(Path(path).read_text(encoding="utf-8")).get("periods", [])


def catalog_changes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The catalog's change log, oldest first: version, date, what changed and why."""
    return con.execute("SELECT version, date, what, why FROM catalog_changes ORDER BY version").df()


def version_on(changes: pd.DataFrame, day: date) -> int | None:
    """The catalog version in force on a day by the change log: the latest dated on or before it."""
    dated = changes[pd.to_datetime(changes["date"]).dt.date <= day]
    return int(dated["version"].iloc[-1]) if len(dated) else None


def _month_end(period: str) -> date:
    return (pd.Period(period, "M").end_time).date()


def published_versions(con: duckdb.DuckDBPyConnection, entries: list[dict] | None) -> pd.DataFrame:
    """Which catalog version each published (period, revision) was computed with (see versions_of);
    without a manifest, every period of the database."""
    periods = [p for (p,) in con.execute("SELECT period FROM periods ORDER BY period").fetchall()]
    return versions_of(catalog_changes(con), entries, periods)


def versions_of(changes: pd.DataFrame, entries: list[dict] | None, periods: list[str]) -> pd.DataFrame:
    """The catalog version of each manifest entry: its `catalog_version` when it records one;
    otherwise derived from the change log, the version in force when it was published (its
    `published_at`). With no manifest at all (entries None), each of `periods` with the version in
    force at its end. `source` says which."""
    rows = []
    if entries is None:
        for period in periods:
            rows.append((period, 1, version_on(changes, _month_end(period)), "change log, period end"))
    else:
        for e in sorted(entries, key=lambda e: (e["period"], e["revision"])):
            if e.get("catalog_version") not in (None, ""):
                rows.append((e["period"], e["revision"], int(e["catalog_version"]), "manifest"))
            else:
                day = date.fromisoformat(str(e["published_at"])[:10]) if e.get("published_at") else None
                day = day or _month_end(e["period"])
                rows.append((e["period"], e["revision"], version_on(changes, day), "change log, publication date"))
    return pd.DataFrame(rows, columns=["period", "revision", "catalog_version", "source"])


def month_ranges(periods: list[str]) -> str:
    """Consecutive months as ranges: ['2026-01', '2026-02', '2026-03', '2026-05'] ->
    '2026-01 to 2026-03, 2026-05'."""
    ordered = sorted(set(periods))
    runs: list[list[str]] = []
    for period in ordered:
        if runs and (pd.Period(period, "M") - pd.Period(runs[-1][-1], "M")).n == 1:
            runs[-1].append(period)
        else:
            runs.append([period])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]} to {run[-1]}" for run in runs)


def change_log(con: duckdb.DuckDBPyConnection, entries: list[dict] | None) -> pd.DataFrame:
    """The change log, newest first, with the published periods that used each version (a
    restated period lists its revision)."""
    changes = catalog_changes(con)
    used = published_versions(con, entries)
    label = used["period"].where(
        used["revision"] == 1, used["period"] + " (revision " + used["revision"].astype(str) + ")"
    )
    periods = []
    for version in changes["version"]:
        mine = used["catalog_version"] == version
        firsts = used.loc[mine & (used["revision"] == 1), "period"].tolist()
        restated = label[mine & (used["revision"] != 1)].tolist()
        text = ", ".join(filter(None, [month_ranges(firsts), *restated]))
        periods.append(text or "none")
    return (
        changes.assign(date=changes["date"].map(lambda d: pd.Timestamp(d).strftime("%Y-%m-%d")), periods=periods)[
            ["version", "date", "what", "why", "periods"]
        ]
        .iloc[::-1]
        .reset_index(drop=True)
    )
