"""Machine-readable exports: the long-format scorecard.csv (README: "The site")."""

from __future__ import annotations

from pathlib import Path

import duckdb

COLUMNS = (
    "period",
    "unit_id",
    "kpi_id",
    "value",
    "n",
    "ci_low",
    "ci_high",
    "target",
    "amber",
    "status",
    "weight",
    "score",
)

# Rounded so that re-exporting the same data gives the same bytes: parallel float sums differ in
# the last bits, so values are first rounded to 9 decimals (dropping that noise) and then to 4, or a
# value exactly halfway (2.43125) would round either way from run to run. Ordered as the reports list them: units in tree order, the catalog's
# KPI order, composite last.
SCORECARD_SQL = """
SELECT r.period, r.unit_id, r.kpi_id, round(round(r.value, 9), 4) AS value, r.n,
       round(round(r.ci_low, 9), 4) AS ci_low, round(round(r.ci_high, 9), 4) AS ci_high, r.target, r.amber,
       coalesce(r.status, '') AS status, r.weight, round(round(r.score, 9), 4) AS score
FROM results r
JOIN org_units u USING (unit_id)
LEFT JOIN catalog c USING (kpi_id)
WHERE $period IS NULL OR r.period = $period
ORDER BY r.period, u.sort_path, coalesce(c.sort_order, 1000)
"""


def write_scorecard_csv(con: duckdb.DuckDBPyConnection, out: str | Path, period: str | None = None) -> int:
    """Write scorecard.csv (all periods, or one) and return the number of rows written."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = con.execute(SCORECARD_SQL, {"period": period}).df()
    # pandas writes None as an empty cell and integers without a trailing .0 when they are integral.
    frame.to_csv(out, index=False, lineterminator="\n", float_format="%.10g")
    return len(frame)
