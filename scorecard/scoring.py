"""Targets, status, score, composite and priority matrix, set-based.

Targets are resolved per (period, unit, KPI) from the configuration's rules and the catalog's
defaults: a unit's own rule beats an ancestor's, which beats a rule for every unit, which beats
the catalog; among rules for the same unit the latest `effective_from` not after the period wins.
Each field (target, amber, weight, owner and the RACI roles accountable, responsible, consulted,
informed) falls through independently.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from .catalog import Catalog, check_band
from .config import Config
from .errors import ConfigError

COLOURS = ("green", "amber", "red")

RESOLVE_SQL = """
CREATE OR REPLACE TABLE targets AS
WITH candidates AS (
    SELECT p.period, t.unit_id, r.kpi_id, r.target, r.amber, r.weight, r.owner,
           r.accountable, r.responsible, r.consulted, r.informed,
           -- lower rank wins: own unit 0, parent 1, ..., any unit 1e6, catalog 2e6
           CASE WHEN r.source = 'catalog' THEN 2000000 WHEN r.unit_id IS NULL THEN 1000000
                ELSE t.distance END AS specificity,
           r.effective_from, r.rule_order
    FROM periods p
    CROSS JOIN target_rules r
    JOIN unit_tree t ON (r.unit_id IS NULL AND t.distance = 0) OR t.ancestor_id = r.unit_id
    WHERE r.effective_from IS NULL OR r.effective_from <= p.period
)
SELECT period, unit_id, kpi_id,
    first(target ORDER BY specificity, effective_from DESC NULLS LAST, rule_order DESC)
        FILTER (WHERE target IS NOT NULL) AS target,
    first(amber ORDER BY specificity, effective_from DESC NULLS LAST, rule_order DESC)
        FILTER (WHERE amber IS NOT NULL) AS amber,
    coalesce(first(weight ORDER BY specificity, effective_from DESC NULLS LAST, rule_order DESC)
        FILTER (WHERE weight IS NOT NULL), 0) AS weight,
    first(owner ORDER BY specificity, effective_from DESC NULLS LAST, rule_order DESC)
        FILTER (WHERE owner IS NOT NULL) AS owner,
    first(accountable ORDER BY specificity, effective_from DESC NULLS LAST, rule_order DESC)
        FILTER (WHERE accountable IS NOT NULL) AS accountable,
    first(responsible ORDER BY specificity, effective_from DESC NULLS LAST, rule_order DESC)
        FILTER (WHERE responsible IS NOT NULL) AS responsible,
    first(consulted ORDER BY specificity, effective_from DESC NULLS LAST, rule_order DESC)
        FILTER (WHERE consulted IS NOT NULL) AS consulted,
    first(informed ORDER BY specificity, effective_from DESC NULLS LAST, rule_order DESC)
        FILTER (WHERE informed IS NOT NULL) AS informed
FROM candidates
GROUP BY ALL
"""

# The accountability (RACI) roles, resolved like the owner.
ROLES = ("accountable", "responsible", "consulted", "informed")

RESULTS_SQL = """
CREATE OR REPLACE TABLE results AS
WITH scored AS (
    SELECT m.period, m.unit_id, m.kpi_id, m.value, m.n, m.ci_low, m.ci_high, t.target, t.amber,
           kpi_status(c.direction, m.value, m.n, $min_sample, t.target, t.amber) AS status,
           t.weight, c.direction
    FROM measures m
    JOIN catalog c USING (kpi_id)
    JOIN targets t USING (period, unit_id, kpi_id)
), kpi_rows AS (
    SELECT * EXCLUDE (direction), CASE WHEN status IN ('green', 'amber', 'red')
                     THEN kpi_score(direction, value, target, amber) END AS score
    FROM scored
), composite AS (
    -- weighted mean of scores over weighted KPIs with a colour status; weights renormalised
    SELECT period, unit_id, 'composite' AS kpi_id,
           sum(weight * score) FILTER (weight > 0 AND score IS NOT NULL)
             / sum(weight) FILTER (weight > 0 AND score IS NOT NULL) AS value,
           count(*) FILTER (weight > 0 AND score IS NOT NULL) AS n,
           NULL::DOUBLE AS ci_low, NULL::DOUBLE AS ci_high, NULL::DOUBLE AS target, NULL::DOUBLE AS amber,
           NULL::VARCHAR AS status,
           coalesce(sum(weight) FILTER (weight > 0 AND score IS NOT NULL), 0) AS weight
    FROM kpi_rows GROUP BY period, unit_id
)
SELECT period, unit_id, kpi_id, value, n, ci_low, ci_high, target, amber, status, weight, score
FROM (SELECT * FROM kpi_rows UNION ALL SELECT *, value AS score FROM composite)
ORDER BY period, unit_id, kpi_id
"""

PRIORITY_SQL = """
CREATE OR REPLACE TABLE priority AS
WITH weighted AS (
    SELECT period, unit_id, sum(weight) FILTER (weight > 0) AS total_weight,
           count(*) FILTER (weight > 0) AS weighted_kpis
    FROM results WHERE kpi_id <> 'composite' GROUP BY ALL
), placed AS (
    SELECT r.period, r.unit_id, r.kpi_id, r.weight,
           100 * r.weight / w.total_weight AS importance,
           100 - r.score AS gap,
           coalesce($importance_split, 100 / w.weighted_kpis) AS importance_split
    FROM results r JOIN weighted w USING (period, unit_id)
    WHERE r.kpi_id <> 'composite' AND r.target IS NOT NULL AND r.score IS NOT NULL AND w.total_weight > 0
)
SELECT period, unit_id, kpi_id, importance, gap, weight = 0 AS tracked,
    importance_split, $gap_split AS gap_split,
    CASE WHEN importance >= importance_split AND gap >= $gap_split THEN 'fix now'
         WHEN importance >= importance_split THEN 'maintain'
         WHEN gap >= $gap_split THEN 'monitor'
         ELSE 'low priority' END AS quadrant
FROM placed ORDER BY period, unit_id, kpi_id
"""


def store_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    rows = pd.DataFrame([{**k.model_dump(), "kpi_id": k.id, "sort_order": i} for i, k in enumerate(catalog.kpis)])
    rows = rows.drop(columns=["id"])
    con.register("_catalog_rows", rows)
    con.execute("CREATE OR REPLACE TABLE catalog AS SELECT * FROM _catalog_rows ORDER BY sort_order")
    con.unregister("_catalog_rows")
    # the change log: what changed in each version of the definitions, and why
    con.execute("CREATE OR REPLACE TABLE catalog_changes (version INTEGER, date DATE, what VARCHAR, why VARCHAR)")
    con.executemany(
        "INSERT INTO catalog_changes VALUES (?, ?, ?, ?)", [(c.version, c.date, c.what, c.why) for c in catalog.changes]
    )


def store_target_rules(con: duckdb.DuckDBPyConnection, config: Config, catalog: Catalog) -> None:
    """Catalog defaults and configuration rules in one table, so resolution is one query."""
    rows = [
        {
            "source": "catalog",
            "kpi_id": k.id,
            "unit_id": None,
            "effective_from": None,
            "target": k.target,
            "amber": k.amber,
            "weight": k.weight,
            "owner": k.owner or None,
            "rule_order": -1,
            **{role: getattr(k, role) or None for role in ROLES},
            "reason": None,
            "approved_by": None,
        }
        for k in catalog.kpis
    ] + [
        {
            "source": "config",
            "kpi_id": r.kpi,
            "unit_id": r.unit,
            "effective_from": r.effective_from,
            "target": r.target,
            "amber": r.amber,
            "weight": r.weight,
            "owner": r.owner,
            "rule_order": i,
            **{role: getattr(r, role) for role in ROLES},
            "reason": r.reason,
            "approved_by": r.approved_by,
        }
        for i, r in enumerate(config.targets)
    ]
    frame = pd.DataFrame(rows).astype({"target": "float64", "amber": "float64", "weight": "float64"})
    con.register("_rules", frame)
    roles = ", ".join(f"{c}::VARCHAR AS {c}" for c in (*ROLES, "reason", "approved_by"))
    con.execute(f"""CREATE OR REPLACE TABLE target_rules AS SELECT source, kpi_id, unit_id::VARCHAR AS unit_id,
                   effective_from::VARCHAR AS effective_from, target, amber, weight, owner::VARCHAR AS owner,
                   rule_order, {roles} FROM _rules""")
    con.unregister("_rules")
    unknown = con.execute("""SELECT r.rule_order, r.kpi_id, r.unit_id FROM target_rules r
                             LEFT JOIN org_units u USING (unit_id)
                             WHERE r.source = 'config' AND r.unit_id IS NOT NULL AND u.unit_id IS NULL
                             ORDER BY 1""").fetchall()
    if unknown:
        rules = "; ".join(f"targets[{i}] ({kpi}): unknown unit {unit!r}" for i, kpi, unit in unknown)
        raise ConfigError(f"{config.source}: {rules} (not a unit_id in org_units; remove the rule or correct the unit)")


def check_resolved_targets(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Field-by-field fall-through can pair a target with an amber from elsewhere: check each pair."""
    rows = con.execute("""
        SELECT t.kpi_id, c.direction, t.target, t.amber, min(t.period), min(t.unit_id)
        FROM targets t JOIN catalog c USING (kpi_id)
        WHERE t.target IS NOT NULL
          AND (t.amber IS NULL OR (c.direction = 'higher' AND t.amber >= t.target)
                               OR (c.direction = 'lower' AND t.amber <= t.target))
        GROUP BY ALL ORDER BY 1 LIMIT 5""").fetchall()
    for kpi_id, direction, target, amber, period, unit in rows:
        try:
            check_band(direction, target, amber, f"targets for {kpi_id} (unit {unit!r}, from {period})")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


def compute_scores(con: duckdb.DuckDBPyConnection, config: Config, catalog: Catalog) -> list[str]:
    """Build targets, results and priority from measures; return warnings for the user."""
    store_catalog(con, catalog)
    store_target_rules(con, config, catalog)
    con.execute(RESOLVE_SQL)
    check_resolved_targets(con, catalog)
    con.execute(RESULTS_SQL, {"min_sample": config.min_sample})
    con.execute(PRIORITY_SQL, {"importance_split": config.quadrants.importance, "gap_split": config.quadrants.gap})
    warnings = []
    row = con.execute("""SELECT unit_id, period, count(*) FROM targets WHERE weight > 0
                         GROUP BY ALL HAVING count(*) > 6 ORDER BY 3 DESC, 2, 1 LIMIT 1""").fetchone()
    if row:
        warnings.append(
            f"{row[2]} KPIs carry weight for unit {row[0]!r} in {row[1]}: a scorecard reads best with "
            "four to six weighted KPIs; give the others weight 0 to track them"
        )
    return warnings
