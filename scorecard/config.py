"""Typed configuration (scorecard.yml), validated with messages that name the key at fault."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

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
# The site project and the notebook templates ship with the package, so a configuration kept
# anywhere (or none at all) publishes the same site; a configuration may point at its own.
PACKAGED_PROJECT = Path(str(resources.files("scorecard").joinpath("project", "_quarto.yml")))
PACKAGED_NOTEBOOKS = Path(str(resources.files("scorecard").joinpath("project", "notebooks")))
# Paths a configuration file may set; those it sets are relative to the file.
PATH_SETTINGS = ("data", "database", "site", "reports", "notebooks", "project", "benchmarks", "state_dir")


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
        default=None,
        gt=0,
        lt=100,
        description="importance split in % of weight; default 100 / number of weighted KPIs",
    )
    gap: float = Field(default=25, gt=0, lt=100, description="gap split (100 - score)")


TEXT_ENCODINGS = ("utf-8", "cp1252", "latin-1", "utf-16")


class TableSettings(BaseModel):
    """How to read one input table's file when the defaults (detected) do not fit."""

    model_config = ConfigDict(extra="forbid")

    file: str | None = Field(
        default=None, description="the file's name in the input folder; default NAME.csv (.csv.gz, ...)"
    )
    encoding: str | None = Field(default=None, description="utf-8, cp1252, latin-1 or utf-16; default detected")
    delimiter: str | None = Field(
        default=None, description="one character (or `tab`); default detected from the header line"
    )
    decimal: Literal[".", ","] | None = Field(default=None, description="default `.`, `,` when detected in a ;-file")
    sheet: str | int | None = Field(default=None, description="workbook sheet name or 0-based index; default the first")
    timestamp_format: str | list[str] | None = Field(
        default=None, description="strptime format(s) such as '%d/%m/%Y %H:%M', or epoch / epoch_ms; default ISO 8601"
    )
    max_quarantine_share: float | None = Field(
        default=None, ge=0, le=1, description="this table's share of rows that may be set aside"
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        aliases = {
            "utf8": "utf-8",
            "utf-8-sig": "utf-8",
            "windows-1252": "cp1252",
            "iso-8859-1": "latin-1",
            "latin1": "latin-1",
            "iso8859-1": "latin-1",
            "utf16": "utf-16",
        }
        key = aliases.get(value.strip().lower(), value.strip().lower())
        if key not in TEXT_ENCODINGS:
            raise ValueError(f"unknown encoding {value!r} (expected one of {', '.join(TEXT_ENCODINGS)})")
        return key

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = "\t" if value.lower() in ("tab", "\\t") else value
        if len(value) != 1:
            raise ValueError(f"expected one character (or `tab`), got {value!r}")
        return value


class Config(BaseModel):
    """Everything a run needs besides the input files.

    Paths set in a configuration file are relative to that file; paths left at their defaults
    are relative to the working directory (the site, the database and the executed notebooks
    are the outputs of a run, not part of the data folder), except the site project, the
    notebook templates and the benchmarks, which default to the ones shipped in the package."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    survey_window_days: int = Field(default=7, ge=0)
    min_sample: int = Field(default=30, ge=1)
    cutoff: datetime | None = Field(default=None, description="data cut-off; default: latest interaction timestamp")
    data: Path | None = Field(default=None, description="input folder; usually given as --data / DATA=")
    database: Path = Path("data/scorecard.duckdb")
    site: Path = Path("_site")
    reports: Path = Path("reports")
    notebooks: Path = PACKAGED_NOTEBOOKS
    project: Path = PACKAGED_PROJECT
    state_dir: Path | None = Field(
        default=None,
        description="run lock, staging and publish journal; default: .scorecard-state beside the database",
    )
    workers: int | None = Field(default=None, ge=1, description="notebook workers; default: one per core")
    memory_limit: str = Field(
        default="2.5GB",
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB memory limit of a build; beyond it DuckDB spills to disk (2.5GB leaves the build process within 3 GB)",
    )
    quadrants: Quadrants = Quadrants()
    escalation_periods: int = Field(default=2, ge=1)
    benchmarks: Path | None = Field(
        default=PACKAGED_BENCHMARKS,
        description="benchmarks file used when the input folder has none; default the packaged one, null for none",
    )
    columns: dict[str, dict[str, str] | str] = Field(
        default_factory=dict, description="per table: source column -> contract column, or a preset name"
    )
    tables: dict[str, TableSettings] = Field(default_factory=dict, description="per table: how to read its file")
    max_quarantine_share: float = Field(
        default=0.25, ge=0, le=1, description="a table with a larger share of rows set aside stops the run"
    )
    targets: list[TargetRule] = Field(default_factory=list)
    # the file it was read from, for messages about its rules (not a setting)
    _source: str = PrivateAttr(default="configuration")

    @property
    def source(self) -> str:
        return self._source

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected an IANA name such as 'Europe/Paris')") from None
        return value

    def input_folder(self) -> Path:
        """The input folder, or an error that says how to give one."""
        if self.data is None:
            from .errors import InputError

            raise InputError(
                "no input folder: give one with --data FOLDER (make publish DATA=FOLDER) "
                "or `data:` in the configuration"
            )
        return Path(self.data)

    def fingerprint(self) -> str:
        """Changes whenever a setting changes: a publish rebuilds the database when it does.

        The benchmarks file is read by the build but lives outside the input folder (whose hash
        covers the inputs), so its content counts as a setting too."""
        digest = hashlib.sha256(self.model_dump_json().encode())
        if self.benchmarks is not None and Path(self.benchmarks).is_file():
            digest.update(b"\0benchmarks\0" + Path(self.benchmarks).read_bytes())
        return digest.hexdigest()

    def resolve_paths(self, base: Path) -> Config:
        """Paths written in the file are relative to the file, not to wherever the command runs;
        defaults stay as they are (see the class docstring)."""
        return self.model_copy(
            update={
                name: (base / getattr(self, name)) if not getattr(self, name).is_absolute() else getattr(self, name)
                for name in PATH_SETTINGS
                if name in self.model_fields_set and getattr(self, name) is not None
            }
        )


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
    for key in ("columns", "tables"):
        for table in getattr(config, key):
            if table not in TABLES:
                raise ConfigError(f"{source}: {key}: unknown table {table!r}; known tables: {', '.join(TABLES)}")
    from .presets import check_preset

    for table, mapping in config.columns.items():
        if isinstance(mapping, str):
            try:
                check_preset(mapping, table)
            except ValueError as exc:
                raise ConfigError(f"{source}: columns: {table}: {exc}") from None


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
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); save the file as UTF-8"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(str(path), exc)) from None
    check_against_catalog(config, catalog, str(path))
    config = config.resolve_paths(path.parent)
    config._source = str(path)
    return config
