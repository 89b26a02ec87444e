"""The KPI catalog: definitions are data (catalog.yml), parsed into typed models.

The SQL that computes each KPI lives in kpis.py; this module only says what each KPI is,
which way is better and what its defaults are.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .errors import ConfigError

Direction = Literal["higher", "lower", "context"]
PERSPECTIVES = ("Customer", "Internal process", "Financial", "Learning & growth")


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


def parse_catalog(text: str, source: str) -> Catalog:
    try:
        data = yaml.safe_load(text)
        catalog = Catalog.model_validate(data)
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{source}: invalid KPI catalog:\n{exc}") from None
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
