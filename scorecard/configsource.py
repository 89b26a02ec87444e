"""Which configuration a command uses, and where it came from.

The configuration belongs to the data it describes (its target rules name that data's units,
its time zone is that team's), so a command picks it in this order:

1. the file given with ``--config`` (``make ... CONFIG=``);
2. ``scorecard.yml`` inside the input folder (``--data`` / ``DATA=``), when present;
3. with no input folder given, ``./scorecard.yml`` when present (a deployment folder whose
   configuration names its inputs with ``data:``);
4. the built-in defaults: the catalog's targets and weights, UTC, outputs in the working directory.

An input folder given on the command line always wins over ``data:`` in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Config, load_config

CONFIG_NAME = "scorecard.yml"


@dataclass(frozen=True)
class ChosenConfig:
    config: Config
    path: Path | None  # the file read, None for the built-in defaults
    origin: str  # why this one, for people: "in the data folder", "given with --config", ...

    def describe(self) -> str:
        if self.path is None:
            return f"built-in defaults ({self.origin})"
        return f"{self.path} ({self.origin})"


def choose(
    config: str | Path | None = None, data: str | Path | None = None, recorded_data: str | Path | None = None
) -> ChosenConfig:
    """The configuration for a run on ``data`` (see the module docstring for the order).

    recorded_data: the input folder a database was built from, for commands that only get a
    database (compute): its scorecard.yml is used when neither a file nor a folder is given."""
    data_path = Path(data) if data is not None else None
    if config is not None:
        chosen = ChosenConfig(load_config(config), Path(config), "given with --config")
    elif data_path is not None and (data_path / CONFIG_NAME).is_file():
        chosen = ChosenConfig(load_config(data_path / CONFIG_NAME), data_path / CONFIG_NAME, "in the data folder")
    elif data_path is None and Path(CONFIG_NAME).is_file():
        chosen = ChosenConfig(load_config(CONFIG_NAME), Path(CONFIG_NAME), "in the working directory")
    elif data_path is None and recorded_data is not None and (Path(recorded_data) / CONFIG_NAME).is_file():
        path = Path(recorded_data) / CONFIG_NAME
        chosen = ChosenConfig(load_config(path), path, "in the data folder the database was built from")
    else:
        where = f"no {CONFIG_NAME} in {data_path}" if data_path is not None else "no configuration file given"
        chosen = ChosenConfig(Config(), None, where)
    if data_path is not None:
        chosen = ChosenConfig(chosen.config.model_copy(update={"data": data_path}), chosen.path, chosen.origin)
    return chosen
