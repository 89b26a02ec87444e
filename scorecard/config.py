"""Typed configuration (scorecard.yml), validated with messages that name the key at fault."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from .catalog import Catalog, load_catalog
from .errors import ConfigError


def _period(value: str) -> str:
    value = str(value)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ValueError(f"expected a month as YYYY-MM, got {value!r}")
    return value


Period = Annotated[str, AfterValidator(_period)]

# External benchmarks shipped with the package (public figures; see its `source` and `note`
# columns), used when the input folder has no benchmarks file.
PACKAGED_BENCHMARKS = Path(str(resources.files("scorecard").joinpath("benchmarks.csv")))


def _names(value):
    """A role field may list several people: a list is kept as one '; '-separated text."""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v).strip() for v in value if str(v).strip())
    return value


Names = Annotated[str | None, BeforeValidator(_names)]


class TargetRule(BaseModel):
    """Overrides a KPI's target, amber threshold, weight, owner or accountability (RACI) roles.

    Without `unit` a rule applies to every unit; with it, to that unit and its descendants (the
    nearest unit's rule wins). Without `effective_from` it applies to all periods; with it, from
    that month on (the latest applicable month wins), so targets can change mid-year without
    rewriting history. Fields left out fall through to the next applicable rule, then the catalog.
    `reason` and `approved_by` say why the rule exists and who signed it off (the audit trail).
    """

    model_config = ConfigDict(extra="forbid")

    kpi: str
    unit: str | None = None
    effective_from: Period | None = None
    target: float | None = None
    amber: float | None = None
    weight: float | None = Field(default=None, ge=0)
    owner: str | None = None
    accountable: Names = None
    responsible: Names = None
    consulted: Names = None
    informed: Names = None
    reason: str | None = None
    approved_by: str | None = None


class Quadrants(BaseModel):
    model_config = ConfigDict(extra="forbid")

    importance: float | None = Field(
        default=None, gt=0, lt=100,
        description="importance split in % of weight; default 100 / number of weighted KPIs",
    )
    gap: float = Field(default=25, gt=0, lt=100, description="gap split (100 - score)")


class Config(BaseModel):
    """Everything a run needs besides the input files. Paths are relative to the config file."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    survey_window_days: int = Field(default=7, ge=0)
    min_sample: int = Field(default=30, ge=1)
    cutoff: datetime | None = Field(default=None, description="data cut-off; default: latest interaction timestamp")
    data: Path = Path("data/demo")
    database: Path = Path("data/scorecard.duckdb")
    site: Path = Path("_site")
    reports: Path = Path("reports")
    notebooks: Path = Path("notebooks")
    project: Path = Path("_quarto.yml")
    workers: int | None = Field(default=None, ge=1, description="notebook workers; default: one per core")
    memory_limit: str = Field(default="3GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
                              description="DuckDB memory limit of a build, e.g. 3GB; beyond it DuckDB spills to disk")
    quadrants: Quadrants = Quadrants()
    escalation_periods: int = Field(default=2, ge=1)
    benchmarks: Path | None = Field(
        default=PACKAGED_BENCHMARKS,
        description="benchmarks file used when the input folder has none; default the packaged one, null for none",
    )
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)
    targets: list[TargetRule] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name such as 'Europe/Paris')") from None
        return value

    def fingerprint(self) -> str:
        """Changes whenever a setting changes: a publish rebuilds the database when it does.

        The benchmarks file is read by the build but lives outside the input folder (whose hash
        covers the inputs), so its content counts as a setting too."""
        digest = hashlib.sha256(self.model_dump_json().encode())
        if self.benchmarks is not None and Path(self.benchmarks).is_file():
            digest.update(b"\0benchmarks\0" + Path(self.benchmarks).read_bytes())
        return digest.hexdigest()

    def resolve_paths(self, base: Path) -> "Config":
        """Paths in the file are relative to the file, not to wherever the command runs."""
        return self.model_copy(update={
            name: (base / getattr(self, name)) if not getattr(self, name).is_absolute() else getattr(self, name)
            for name in ("data", "database", "site", "reports", "notebooks", "project", "benchmarks")
            if getattr(self, name) is not None
        })


def _format_validation_error(source: str, exc: ValidationError) -> str:
    lines = [f"{source}: invalid configuration"]
    for err in exc.errors():
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"]).replace(".[", "[")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"  {loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def check_against_catalog(config: Config, catalog: Catalog, source: str = "configuration") -> None:
    """Rules must name catalog KPIs and keep amber on the worse side of the target."""
    from .contract import TABLES

    for i, rule in enumerate(config.targets):
        where = f"{source}: targets[{i}] ({rule.kpi})"
        if rule.kpi not in catalog.ids:
            raise ConfigError(f"{where}: unknown KPI {rule.kpi!r}; known KPIs: {', '.join(catalog.ids)}")
        kpi = catalog.get(rule.kpi)
        if kpi.direction == "context" and (rule.target is not None or rule.weight):
            raise ConfigError(f"{where}: {kpi.id} is context only and takes no target or weight")
    for table in config.columns:
        if table not in TABLES:
            raise ConfigError(f"{source}: columns: unknown table {table!r}; known tables: {', '.join(TABLES)}")


def load_config(path: str | Path | None = None, catalog: Catalog | None = None) -> Config:
    """Read and validate scorecard.yml; None gives the defaults (relative to the working directory)."""
    catalog = catalog or load_catalog()
    if path is None:
        return Config()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(str(path), exc)) from None
    check_against_catalog(config, catalog, str(path))
    return config.resolve_paths(path.parent)
