"""Status styles: status is never told by colour alone, each carries a symbol and a word."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .formatting import is_missing


@dataclass(frozen=True)
class StatusStyle:
    key: str
    label: str  # the word shown in status columns and legends
    symbol: str  # shown in every status cell, so status survives greyscale printing
    fill: str  # cell background (#rrggbb)
    ink: str  # symbol colour (#rrggbb)

    @property
    def css_class(self) -> str:
        return "status-" + re.sub(r"[^a-z0-9-]+", "-", self.key.lower()).strip("-")


STATUSES: dict[str, StatusStyle] = {
    s.key: s
    for s in (
        StatusStyle("green", "Green", "\u2713", "#d3ecd5", "#17692c"),  # ✓
        StatusStyle("amber", "Amber", "!", "#fde3a7", "#8a5300"),
        StatusStyle("red", "Red", "\u2715", "#f6c7c7", "#a1161a"),  # ✕
        StatusStyle("low-n", "Low n", "\u25cb", "#e6e6e6", "#444444"),  # ○
        StatusStyle("no-data", "No data", "\u2013", "#ffffff", "#666666"),  # –
        StatusStyle("no-target", "No target", "\u25c7", "#f4f4f4", "#666666"),  # ◇
    )
}


def status_style(status: Any) -> StatusStyle | None:
    """The style of a status value; None for no status; a neutral style for unknown values."""
    if status is None or is_missing(status) or str(status).strip() == "":
        return None
    key = str(status).strip()
    return STATUSES.get(key) or StatusStyle(key, key, "?", "#ffffff", "#333333")
