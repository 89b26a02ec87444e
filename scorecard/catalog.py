"""The KPI catalog: definitions are data (catalog.yml), parsed into typed models.

A KPI says what it is, which way is better and what its defaults are, and how it is computed: its
method, the record table and period column it counts over, and the method's parameters (SQL
conditions and expressions over the table's columns). kpisql.py compiles these into SQL; nothing
about a KPI is written in Python. docs/catalog.md describes the fields.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .contract import TABLES
from .errors import ConfigError

Direction = Literal["higher", "lower", "context"]
PERSPECTIVES = ("Customer", "Internal process", "Financial", "Learning & growth")
METHODS = ("proportion", "nps", "mean", "median", "ratio", "count")

# Record tables a KPI can count over: the contract's tables of records with a unit, and
# customer_months (one record per customer and month it is active on the month's first day, with a
# boolean `retained`: not churned before the next month's first day), which reads customers.
VIRTUAL_TABLES = {"customer_months": "customers"}
RECORD_TABLES = (
    "interactions",
    "survey_responses",
    "employee_pulse",
    "qa_reviews",
    "costs",
    "customers",
    *VIRTUAL_TABLES,
)
# Tables whose records have an interaction, so a channel and a customer segment (breakdowns).
BREAKDOWN_TABLES = ("interactions", "survey_responses")
PERIOD_TYPES = ("timestamp", "date", "period")  # column types a period column can have


def source_table(table: str) -> str:
    """The contract table a record table reads."""
    return VIRTUAL_TABLES.get(table, table)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProportionParams(_Params):
    """100 × records meeting `numerator` ÷ records meeting `denominator` (all records if omitted)."""

    numerator: str
    denominator: str | None = None


class NpsParams(_Params):
    """100 × (records with `score` ≥ 9 − records with `score` ≤ 6) ÷ records meeting `filter`."""

    score: str
    filter: str | None = None


class MeanParams(_Params):
    """Mean (or median) of `expression` over the records meeting `filter` where it is not NULL."""

    expression: str
    filter: str | None = None


class RatioSide(_Params):
    """One side of a ratio: the sum of `expression` (the count of records if omitted) over the
    records meeting `filter`, of `table` by `period_column` (the KPI's own if omitted)."""

    expression: str | None = None
    filter: str | None = None
    table: str | None = None
    period_column: str | None = None


class RatioParams(_Params):
    """Sum of the numerator ÷ the denominator; n is the count of denominator records; no value in
    a month without numerator records (a missing cost is not a zero cost)."""

    numerator: RatioSide
    denominator: RatioSide = RatioSide()

    @model_validator(mode="after")
    def _numerator_sums(self) -> RatioParams:
        if self.numerator.expression is None:
            raise ValueError("the numerator needs an `expression` to sum")
        if self.numerator.table or self.numerator.period_column:
            raise ValueError("the numerator is over the KPI's own table: give `table` at the KPI, not here")
        return self


class CountParams(_Params):
    """The number of records meeting `filter` (all if omitted); 0, not no data, without any."""

    filter: str | None = None


PARAMS: dict[str, type[_Params]] = {
    "proportion": ProportionParams,
    "nps": NpsParams,
    "mean": MeanParams,
    "median": MeanParams,
    "ratio": RatioParams,
    "count": CountParams,
}


def _check_table(table: str, period_column: str | None, where: str) -> None:
    """A known record table and one of its date columns as the period column."""
    if table not in RECORD_TABLES:
        raise ValueError(f"{where}: unknown table {table!r}; one of {', '.join(RECORD_TABLES)}")
    if table in VIRTUAL_TABLES:
        if period_column is not None:
            raise ValueError(f"{where}: table {table!r} has its own months: leave out period_column")
        return
    dated = [c.name for c in TABLES[table].columns if c.type in PERIOD_TYPES]
    if period_column is None:
        raise ValueError(f"{where}: give period_column, the column whose month a record counts in ({', '.join(dated)})")
    if period_column not in dated:
        raise ValueError(
            f"{where}: period_column {period_column!r} is not a date column of {table} ({', '.join(dated)})"
        )


class Kpi(BaseModel):
    """One catalog entry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    perspective: Literal["Customer", "Internal process", "Financial", "Learning & growth"]
    unit: str
    direction: Direction
    method: Literal["proportion", "nps", "mean", "median", "ratio", "count"]
    definition: str
    # How it is computed (kpisql.py); not stored with the catalog's descriptive columns.
    table: str = Field(exclude=True)
    period_column: str | None = Field(None, exclude=True)
    params: Any = Field(None, exclude=True)  # the method's parameters, one of PARAMS
    columns: tuple[str, ...] = Field((), exclude=True)  # columns of `table` a preset may lack (needs.py)
    breakdown: bool = Field(False, exclude=True)  # also computed by channel and customer segment
    survey: bool = Field(False, exclude=True)  # its records are survey responses (mix-shift wording)
    target: float | None = None
    amber: float | None = None
    weight: float = 0
    owner: str = ""
    # Accountability (RACI): who answers for the KPI (red KPIs escalate to them), who works on it,
    # who is asked and who is told; several people as one '; '-separated text.
    accountable: str = ""
    responsible: str = ""
    consulted: str = ""
    informed: str = ""
    short: str = ""  # short label for sentences ("FCR"); the name when empty
    noisy: bool = False  # survey-based and noisy month to month: reports show the 3-month rolling value

    @property
    def label(self) -> str:
        return self.short or self.name

    @model_validator(mode="before")
    @classmethod
    def _method_and_params(cls, data):
        """Parse `params` with the model of the KPI's method, with messages naming the KPI."""
        if not isinstance(data, dict):
            return data
        where = f"catalog KPI {data.get('id')!r}"
        method = data.get("method")
        if method not in METHODS:
            raise ValueError(f"{where}: unknown method {method!r}; one of {', '.join(METHODS)}")
        if "table" not in data:
            raise ValueError(f"{where}: give `table`, the record table it counts over")
        model = PARAMS[method]
        params = data.get("params") or {}
        if isinstance(params, _Params):
            return data
        if not isinstance(params, dict):
            raise ValueError(f"{where}: `params` must be a mapping of {', '.join(model.model_fields)}")
        missing = [name for name, f in model.model_fields.items() if f.is_required() and name not in params]
        if missing:
            raise ValueError(
                f"{where}: method {method} needs parameter {', '.join(repr(m) for m in missing)} "
                f"({(model.__doc__ or '').split(chr(10))[0].rstrip('.')})"
            )
        unknown = [name for name in params if name not in model.model_fields]
        if unknown:
            raise ValueError(
                f"{where}: method {method} takes no parameter {', '.join(repr(u) for u in unknown)}; "
                f"its parameters: {', '.join(model.model_fields)}"
            )
        try:
            parsed = model.model_validate(params)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"{where}: params of method {method}: {problems}") from None
        return {**data, "params": parsed}

    @model_validator(mode="after")
    def _computable(self) -> Kpi:
        where = f"catalog KPI {self.id!r}"
        if not self.id.isidentifier() or not self.id.islower():
            raise ValueError(f"{where}: an id is lower-case letters, digits and _ (it names SQL columns)")
        _check_table(self.table, self.period_column, where)
        tables = [self.table]
        if isinstance(self.params, RatioParams):
            side = self.params.denominator
            if side.table or side.period_column:
                tables.append(side.table or self.table)
                _check_table(side.table or self.table, side.period_column, f"{where}: denominator")
            if side.table in VIRTUAL_TABLES:
                raise ValueError(f"{where}: denominator: table {side.table} is only for a retention proportion")
        if self.table in VIRTUAL_TABLES and (
            not isinstance(self.params, ProportionParams)
            or self.params.numerator.strip() != "retained"
            or self.params.denominator is not None
        ):
            raise ValueError(
                f"{where}: table {self.table} takes method proportion with numerator `retained` and no denominator"
            )
        if self.method == "median" and self.period_column and column_type(self.table, self.period_column) == "period":
            raise ValueError(f"{where}: a median needs a timestamp or date period column, not a month label")
        if self.breakdown and (bad := [t for t in tables if t not in BREAKDOWN_TABLES]):
            raise ValueError(
                f"{where}: breakdown needs records with an interaction ({', '.join(BREAKDOWN_TABLES)}), "
                f"not {', '.join(bad)}"
            )
        known = TABLES[source_table(self.table)].column_names
        if unknown := [c for c in self.columns if c not in known]:
            raise ValueError(f"{where}: columns: {', '.join(unknown)} not in table {source_table(self.table)}")
        return self

    @model_validator(mode="after")
    def _target_and_amber_agree(self) -> Kpi:
        check_band(self.direction, self.target, self.amber, f"catalog KPI {self.id!r}")
        if self.direction == "context" and (self.weight or self.target is not None):
            raise ValueError(f"catalog KPI {self.id!r} is context only: it takes no target or weight")
        return self

    @field_validator("accountable", "responsible", "consulted", "informed", mode="before")
    @classmethod
    def _names(cls, value):
        if isinstance(value, (list, tuple)):
            return "; ".join(str(v).strip() for v in value if str(v).strip())
        return value


class Change(BaseModel):
    """One entry of the catalog's change log: what changed in a version, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    date: date
    what: str
    why: str


class Catalog(BaseModel):
    """The KPI definitions of one `version`, with the change log that led to it (oldest first), so
    any published number can be traced to the definitions in force when it was computed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    kpis: tuple[Kpi, ...]
    changes: tuple[Change, ...] = ()

    @model_validator(mode="after")
    def _changes_lead_to_version(self) -> Catalog:
        for change in self.changes:
            if change.version > self.version:
                raise ValueError(
                    f"changes: version {change.version} is newer than the catalog's version {self.version}"
                )
        versions = [c.version for c in self.changes]
        if versions != sorted(versions):
            raise ValueError("changes: list the entries oldest first (by version)")
        if self.changes and versions[-1] != self.version:
            raise ValueError(
                f"changes: the catalog is version {self.version} but the latest change is for version "
                f"{versions[-1]}; add an entry saying what changed in version {self.version} and why"
            )
        return self

    def changes_since(self, version: int) -> tuple[Change, ...]:
        """The changes after a given version: what a reader of a number computed then must know."""
        return tuple(c for c in self.changes if c.version > version)

    def get(self, kpi_id: str) -> Kpi:
        for kpi in self.kpis:
            if kpi.id == kpi_id:
                return kpi
        raise KeyError(kpi_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.kpis)


def column_type(table: str, column: str) -> str:
    return next(c.type for c in TABLES[table].columns if c.name == column)


def check_band(direction: str, target: float | None, amber: float | None, where: str) -> None:
    """The amber threshold must sit on the worse side of the target, or status is undefined."""
    if target is None:
        return
    if amber is None:
        raise ValueError(f"{where}: a target needs an amber threshold")
    if direction == "higher" and not amber < target:
        raise ValueError(f"{where}: higher is better, so amber ({amber:g}) must be below target ({target:g})")
    if direction == "lower" and not amber > target:
        raise ValueError(f"{where}: lower is better, so amber ({amber:g}) must be above target ({target:g})")


def _problems(exc: ValidationError, data) -> str:
    """One line per problem, where it is (the KPI's id rather than its index) and what is wrong."""
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        if len(loc) >= 2 and loc[0] == "kpis" and isinstance(loc[1], int):
            try:
                loc[1] = data["kpis"][loc[1]]["id"]
            except (KeyError, IndexError, TypeError):
                pass
        message = str(error["msg"]).removeprefix("Value error, ")
        where = "" if message.startswith("catalog KPI") else f"{'.'.join(map(str, loc)) or 'catalog'}: "
        lines.append(f"  {where}{message}")
    return "\n".join(lines)


def parse_catalog(text: str, source: str) -> Catalog:
    try:
        data = yaml.safe_load(text)
        catalog = Catalog.model_validate(data)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: invalid KPI catalog:\n{exc}") from None
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid KPI catalog:\n{_problems(exc, data)}") from None
    ids = catalog.ids
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{source}: a KPI id appears twice")
    return catalog


@lru_cache(maxsize=4)
def load_catalog(path: str | Path | None = None) -> Catalog:
    """The bundled catalog v1, or a catalog file with the same schema."""
    if path is None:
        text = resources.files("scorecard").joinpath("catalog.yml").read_text(encoding="utf-8")
        return parse_catalog(text, "scorecard/catalog.yml")
    path = Path(path)
    return parse_catalog(path.read_text(encoding="utf-8"), str(path))
