"""Compile catalog KPIs into set-based DuckDB SQL (the catalog's `method`, `table`, `period_column`
and `params`; docs/catalog.md).

Each KPI becomes additive aggregates over its record table (counts, sums, sums of squares: named
`<kpi>__<part>`), summed per (period, record unit) in one `sums_<source>` table per record table
and period column, and a formula over them once rolled up the unit tree: value, n, the 95%
interval and the moments x_sum and x_sumsq (kpis.py's docstring). Medians are not additive: they
are computed per piece of months over the raw records joined to the tree (`medians_sql`).

This module only writes SQL; kpis.py runs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .catalog import Kpi, MeanParams, NpsParams, ProportionParams, RatioParams, RatioSide, column_type

# The dimensions a breakdown can group by: an expression over the interaction `i`. A survey
# response takes the value of its interaction; without one (or with a NULL value) it is 'unknown'.
DIMENSIONS = {
    "channel": "i.channel",
    "segment": "i.customer_segment",
}


@dataclass(frozen=True)
class Grouping:
    """What the KPI SQL groups by besides (period, unit): nothing for `measures`, or dimensions of
    the interaction for `breakdowns`. With dimensions, every record is counted once per dimension
    (a cross join with the dimension names), under the columns `dimension` and `dim_value`, so
    that one pass over the records serves them all."""

    dimensions: tuple[str, ...] = ()

    def fields(self) -> dict[str, str]:
        """The placeholders of the SQL templates below."""
        if not self.dimensions:
            return {"dim": "", "dim_join": "", "col": "", "s_col": ""}
        names = ", ".join(f"('{d}')" for d in self.dimensions)
        cases = " ".join(f"WHEN '{d}' THEN {DIMENSIONS[d]}" for d in self.dimensions)
        return {
            "dim": f", d.dimension, coalesce(CASE d.dimension {cases} END, 'unknown') AS dim_value",
            "dim_join": f" CROSS JOIN (VALUES {names}) d(dimension)",
            "col": ", dimension, dim_value",
            "s_col": ", s.dimension, s.dim_value",
        }

    @property
    def keys(self) -> str:
        return "period, unit_id" + self.fields()["col"]


@dataclass(frozen=True)
class Derived:
    """A column computed for each record of a table, usable in the catalog's SQL by its name."""

    sql: str
    joins: tuple[str, ...]
    table: str  # the table the joins read (needs.py: the KPI needs it too)


# Per record table: its alias, how a record reaches its interaction for breakdowns ('' for the
# interaction itself; tables without one have no breakdowns) and its derived columns.
ALIASES = {"interactions": "i", "survey_responses": "s"}
INTERACTION_JOINS = {
    "interactions": "",
    "survey_responses": " LEFT JOIN interactions i ON i.interaction_id = s.interaction_id",
}
DERIVED = {
    "interactions": {
        # The first-response policy of the interaction's (channel, priority), else of its channel.
        "sla_minutes": Derived(
            "coalesce(exact.first_response_minutes, any_priority.first_response_minutes)",
            (
                "LEFT JOIN sla_policies exact ON exact.channel = i.channel AND exact.priority = i.priority",
                "LEFT JOIN sla_policies any_priority ON any_priority.channel = i.channel AND any_priority.priority IS NULL",
            ),
            "sla_policies",
        )
    }
}


@dataclass(frozen=True)
class Source:
    """Records of one table, each counted in the month of one period column."""

    table: str
    period_column: str | None

    @property
    def name(self) -> str:
        return self.table if self.period_column is None else f"{self.table}_by_{self.period_column}"

    @property
    def alias(self) -> str:
        return ALIASES.get(self.table, "r")

    @property
    def labelled(self) -> bool:
        """The period column holds month labels ('2026-01'), not instants."""
        return self.period_column is not None and column_type(self.table, self.period_column) == "period"

    def records(self, grouping: Grouping, sql: str, indent: int = 8) -> str:
        """The table's rows with their month, dimension values and the derived columns `sql` uses."""
        a, f = self.alias, grouping.fields()
        month = f"{a}.{self.period_column}" if self.labelled else f"date_trunc('month', {a}.{self.period_column})"
        columns = [f"{a}.*", f"{month} AS month"]
        joins: list[str] = []
        for name, derived in DERIVED.get(self.table, {}).items():
            if re.search(rf"\b{name}\b", sql):
                columns.append(f"{derived.sql} AS {name}")
                joins.extend(derived.joins)
        if grouping.dimensions:
            columns.append(f["dim"].removeprefix(", "))
            joins.extend([INTERACTION_JOINS[self.table], f["dim_join"]])
        pad = "\n" + " " * indent
        select = f",{pad}       ".join(columns)
        lines = [f"SELECT {select}", f"FROM {self.table} {a}", *(j.strip() for j in joins if j)]
        return pad.join(lines)


@dataclass
class Compiled:
    """One KPI as SQL: the aggregates it needs per source, its medians, and its formula."""

    kpi_id: str
    sums: dict[Source, list[str]] = field(default_factory=dict)  # "<aggregate> AS <column>"
    medians: dict[Source, list[tuple[str, str]]] = field(default_factory=dict)  # (column, expression)
    value: str = "NULL"
    n: str = "NULL"
    ci_low: str = "NULL"
    ci_high: str = "NULL"
    x_sum: str = "NULL"
    x_sumsq: str = "NULL"
    always: bool = False  # a value (0) even without records: a count

    @property
    def sources(self) -> list[Source]:
        return list(dict.fromkeys([*self.sums, *self.medians]))

    @property
    def rolled(self) -> list[str]:
        """The rolled-up tables its formula reads."""
        return [f"rolled_{s.name}" for s in self.sums] + [f"rolled_{s.name}_medians" for s in self.medians]


def _and(*conditions: str | None) -> str:
    present = [c.strip() for c in conditions if c]
    if not present:
        return "true"
    if len(present) == 1:
        return present[0]
    return " AND ".join(f"({c})" for c in present)


def _count(condition: str | None) -> str:
    """The records meeting a condition: a NULL condition counts as false, and no records as 0
    (count_if of only NULLs is NULL); count_if rather than count(*) FILTER, which DuckDB
    evaluates more slowly."""
    return "count(*)" if condition is None else f"coalesce(count_if({condition}), 0)"


def _where(expression: str, condition: str | None) -> str:
    """An expression over the records meeting a condition, NULL for the others."""
    return expression.strip() if condition is None else f"CASE WHEN {condition.strip()} THEN {expression.strip()} END"


def record_value(kpi: Kpi) -> str:
    """The per-record value a mean or median KPI averages: NULL for records it does not count."""
    assert isinstance(kpi.params, MeanParams)
    return _where(kpi.params.expression, kpi.params.filter)


def compile_kpi(kpi: Kpi) -> Compiled:
    """The SQL of one catalog KPI (its method's aggregates and formula)."""
    k, p = kpi.id, kpi.params
    src = Source(kpi.table, kpi.period_column)
    out = Compiled(k)
    c = {part: f"{k}__{part}" for part in ("n", "yes", "pro", "det", "sum", "sumsq", "median", "rows", "den")}
    if kpi.method == "proportion":
        assert isinstance(p, ProportionParams)
        if kpi.table == "customer_months":
            out.sums[src] = [f"ret_n AS {c['n']}", f"ret_yes AS {c['yes']}"]
        else:
            out.sums[src] = [
                f"{_count(p.denominator)} AS {c['n']}",
                f"{_count(_and(p.denominator, p.numerator))} AS {c['yes']}",
            ]
        yes, n = c["yes"], c["n"]
        out.value, out.n = f"100 * {yes} / {n}", n
        out.ci_low, out.ci_high = f"wilson_low({yes}, {n})", f"wilson_high({yes}, {n})"
        out.x_sum = out.x_sumsq = yes
    elif kpi.method == "nps":
        assert isinstance(p, NpsParams)
        score = p.score.strip()
        out.sums[src] = [
            f"{_count(p.filter)} AS {c['n']}",
            f"{_count(_and(p.filter, f'{score} >= 9'))} AS {c['pro']}",
            f"{_count(_and(p.filter, f'{score} <= 6'))} AS {c['det']}",
        ]
        pro, det, n = c["pro"], c["det"], c["n"]
        out.value, out.n = f"100 * ({pro} - {det}) / {n}", n
        out.ci_low, out.ci_high = f"nps_low({pro}, {det}, {n})", f"nps_high({pro}, {det}, {n})"
        out.x_sum, out.x_sumsq = f"{pro} - {det}", f"{pro} + {det}"
    elif kpi.method == "mean":
        assert isinstance(p, MeanParams)
        x = record_value(kpi)
        square = f"{x} ^ 2" if p.filter else f"({x}) ^ 2"
        out.sums[src] = [f"count({x}) AS {c['n']}", f"sum({x}) AS {c['sum']}", f"sum({square}) AS {c['sumsq']}"]
        s, ss, n = c["sum"], c["sumsq"], c["n"]
        out.value, out.n = f"{s} / {n}", n
        out.ci_low, out.ci_high = f"{s} / {n} - mean_half({s}, {ss}, {n})", f"{s} / {n} + mean_half({s}, {ss}, {n})"
        out.x_sum, out.x_sumsq = s, ss
    elif kpi.method == "median":
        out.medians[src] = [(k, record_value(kpi))]
        out.value, out.n = c["median"], c["n"]
    elif kpi.method == "ratio":
        assert isinstance(p, RatioParams)
        den_side: RatioSide = p.denominator
        den_src = Source(den_side.table or kpi.table, den_side.period_column or kpi.period_column)
        assert p.numerator.expression is not None  # RatioParams requires it
        out.sums[src] = [
            f"{_count(p.numerator.filter)} AS {c['rows']}",
            f"sum({_where(p.numerator.expression, p.numerator.filter)}) AS {c['sum']}",
        ]
        den_aggs = [f"{_count(den_side.filter)} AS {c['n']}"]
        den = c["n"]
        if den_side.expression is not None:
            den_aggs.append(f"sum({_where(den_side.expression, den_side.filter)}) AS {c['den']}")
            den = c["den"]
        out.sums.setdefault(den_src, []).extend(den_aggs)
        rows, s = c["rows"], c["sum"]
        out.value = f"CASE WHEN {rows} > 0 THEN {s} / {den} END"
        out.n = f"CASE WHEN {rows} > 0 THEN {c['n']} ELSE 0 END"
        out.x_sum = f"CASE WHEN {rows} > 0 THEN {s} END"
    elif kpi.method == "count":
        out.sums[src] = [f"{_count(p.filter)} AS {c['n']}"]
        out.value = out.n = f"coalesce({c['n']}, 0)"
        out.always = True
    else:  # the catalog admits no other method
        raise ValueError(f"no SQL for method {kpi.method!r}")
    return out


# Per (period, record unit[, dimension, dim_value]): the additive aggregates of one source. Rows
# are grouped by the month's first instant and the period label is made per group, not per row.
SUMS_SQL = """
CREATE OR REPLACE TEMP TABLE sums_{name} AS
SELECT {period} AS period, * EXCLUDE (month) FROM (
    SELECT month, unit_id{col},
        {sums}
    FROM (
        {records}
    )
    GROUP BY ALL
)
"""

# customer_months: active on a month's first day: active_from before it and not churned before it;
# retained: not churned before the next month's first day. So a customer is active in the months
# from the one after active_from's to churned_at's, and retained in all of them but churned_at's:
# counted as +1 / -1 events at the ends of these spans and a running sum over the months, rather
# than by comparing every customer with every month. (Spans starting before the first period start
# in it.)
CUSTOMER_MONTHS_SQL = """
CREATE OR REPLACE TEMP TABLE sums_customer_months AS
WITH spans AS (
    SELECT unit_id, (date_trunc('month', active_from) + INTERVAL 1 MONTH)::DATE AS first_month,
           date_trunc('month', churned_at)::DATE AS churn_month
    FROM customers
), events AS (
    SELECT unit_id, first_month AS m, 1 AS d_n,
           CASE WHEN churn_month IS NULL OR churn_month > first_month THEN 1 ELSE 0 END AS d_yes
    FROM spans WHERE churn_month IS NULL OR churn_month >= first_month
    UNION ALL
    SELECT unit_id, (churn_month + INTERVAL 1 MONTH)::DATE, -1, 0 FROM spans WHERE churn_month >= first_month
    UNION ALL
    SELECT unit_id, churn_month, 0, -1 FROM spans WHERE churn_month > first_month
), bounds AS (
    SELECT min(month_start) AS first_period, max(month_start) AS last_period FROM periods
), by_month AS (
    SELECT unit_id, greatest(m, first_period) AS m, sum(d_n) AS d_n, sum(d_yes) AS d_yes
    FROM events, bounds WHERE m <= last_period GROUP BY ALL
)
SELECT period, unit_id, {sums} FROM (
    SELECT p.period, u.unit_id,
           sum(coalesce(e.d_n, 0)) OVER w AS ret_n, sum(coalesce(e.d_yes, 0)) OVER w AS ret_yes
    FROM periods p
    CROSS JOIN (SELECT DISTINCT unit_id FROM by_month) u
    LEFT JOIN by_month e ON e.unit_id = u.unit_id AND e.m = p.month_start
    WINDOW w AS (PARTITION BY u.unit_id ORDER BY p.month_start ROWS UNBOUNDED PRECEDING)
) WHERE ret_n > 0
"""

# Sum each source's leaf sums into every ancestor (a unit is its own ancestor at distance 0).
ROLLUP_SQL = """
CREATE OR REPLACE TEMP TABLE rolled_{name} AS
SELECT s.period, t.ancestor_id AS unit_id{s_col}, {sums}
FROM sums_{name} s JOIN unit_tree t ON t.unit_id = s.unit_id
GROUP BY ALL
"""

# Each record's values are computed once, before the join multiplies the rows by the depth of the
# tree. Run once per piece of months ($low <= period column < $high): the first piece creates the
# table, the others append to it.
MEDIANS_SQL = """
{create}
SELECT strftime(month, '%Y-%m') AS period, * EXCLUDE (month) FROM (
    SELECT r.month, t.ancestor_id AS unit_id{col},
        {medians}
    FROM (
        SELECT unit_id, month{col},
               {values}
        FROM (
            {records}
        )
        WHERE {period_column} >= $low AND {period_column} < $high
    ) r
    JOIN unit_tree t ON t.unit_id = r.unit_id
    GROUP BY ALL
)
"""


def sums_sql(source: Source, aggregates: list[str], grouping: Grouping) -> str:
    """CREATE sums_<source>: the aggregates per (period, record unit[, dimension, dim_value])."""
    if source.table == "customer_months":
        return CUSTOMER_MONTHS_SQL.format(sums=", ".join(aggregates))
    f = grouping.fields()
    return SUMS_SQL.format(
        name=source.name,
        period="month" if source.labelled else "strftime(month, '%Y-%m')",
        col=f["col"],
        sums=",\n        ".join(aggregates),
        records=source.records(grouping, " ".join(aggregates)),
    )


def rollup_sql(source: Source, columns: list[str], grouping: Grouping) -> str:
    sums = ", ".join(f"sum({c}) AS {c}" for c in columns)
    return ROLLUP_SQL.format(name=source.name, sums=sums, s_col=grouping.fields()["s_col"])


def medians_sql(source: Source, medians: list[tuple[str, str]], grouping: Grouping, create: bool) -> str:
    """CREATE (or INSERT INTO) rolled_<source>_medians: median and count of each value per (period, unit
    [, dimension, dim_value]), units pooling their descendants' records, for one piece of months."""
    f = grouping.fields()
    values = ",\n               ".join(f"{expression} AS {kpi}" for kpi, expression in medians)
    aggregates = ",\n        ".join(
        f"median(r.{kpi}) AS {kpi}__median, count(r.{kpi}) AS {kpi}__n" for kpi, _ in medians
    )
    table = f"rolled_{source.name}_medians"
    head = f"CREATE OR REPLACE TEMP TABLE {table} AS" if create else f"INSERT INTO {table}"
    return MEDIANS_SQL.format(
        create=head,
        col=f["col"],
        medians=aggregates,
        values=values,
        records=source.records(grouping, values, indent=12),
        period_column=source.period_column,
    )


def column_names(aggregates: list[str]) -> list[str]:
    """The output columns of "<aggregate> AS <column>" items."""
    return [a.rsplit(" AS ", 1)[1] for a in aggregates]


# One row per (period, unit[, dim_value], KPI): value, n, the 95% interval and the moments.
KPI_ROWS_SQL = """
CREATE OR REPLACE {temp}TABLE {table} AS
WITH w AS (
    SELECT * FROM ({grid}) g
    {joins}
), long AS (
    {formulas}
)
SELECT {keys}, kpi_id,
       CASE WHEN coalesce(n, 0) > 0 OR kpi_id IN ({always}) THEN value END AS value,
       coalesce(n, 0) AS n, ci_low, ci_high, x_sum::DOUBLE AS x_sum, x_sumsq::DOUBLE AS x_sumsq
FROM long ORDER BY {keys}, kpi_id
"""

# measures: every period × every unit, with or without records.
MEASURES_GRID = "SELECT period, unit_id FROM periods CROSS JOIN org_units"
# a breakdown: the (period, unit, dim_value) that have records, in the periods of the scorecard.
BREAKDOWN_GRID = """
SELECT * FROM ({tables}) WHERE period IN (SELECT period FROM periods)
"""


def kpi_rows_sql(table: str, grouping: Grouping, compiled: list[Compiled], temp: bool = False) -> str:
    """The SQL creating `table` from the rolled-up tables, for the compiled KPIs."""
    rolled = list(dict.fromkeys(t for c in compiled for t in c.rolled))
    keys = grouping.keys
    formulas = "\n    UNION ALL\n    ".join(
        f"SELECT {keys}, '{c.kpi_id}' AS kpi_id, {c.value} AS value, {c.n} AS n, {c.ci_low} AS ci_low, "
        f"{c.ci_high} AS ci_high, {c.x_sum} AS x_sum, {c.x_sumsq} AS x_sumsq FROM w"
        for c in compiled
    )
    if not grouping.dimensions:
        grid = MEASURES_GRID
    else:
        grid = BREAKDOWN_GRID.format(tables=" UNION ".join(f"SELECT {keys} FROM {t}" for t in rolled))
    joins = "\n    ".join(f"LEFT JOIN {t} USING ({keys})" for t in rolled)
    always = ", ".join(f"'{c.kpi_id}'" for c in compiled if c.always) or "NULL"
    return KPI_ROWS_SQL.format(
        temp="TEMP " if temp else "",
        table=table,
        grid=grid,
        joins=joins,
        formulas=formulas,
        keys=keys,
        always=always,
    )
