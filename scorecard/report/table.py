"""The table model: rows and :class:`Col` specs become one :class:`Table` that each output
format (``html``, ``typst``, ``markdown``) renders."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from .formatting import format_cell, spark_label, spark_text
from .html import sparkline_svg
from .styles import STATUSES, StatusStyle, status_style


@dataclass(frozen=True)
class Col:
    """One table column.

    key:    the row field shown.
    label:  header text (default: key).
    align:  "left" | "right" | "center".
    fmt:    "{:.1f}"-style format string or a callable value -> str (default: ints with
            thousands separators, floats with one decimal, missing values as ``na``).
    status: name of the row field holding THIS cell's status (green, amber, red, low-n,
            no-data, no-target): the cell gets the status fill and symbol (a heat-table cell).
    kind:   "value", "status" (symbol + word for the status in ``key``) or "spark" (``key``
            holds a list of numbers, None for gaps: drawn as a small inline line chart).
    label_key: spark columns: the row field holding the chart's text name (what a screen
            reader says); default: a sentence made from the numbers with ``fmt``.
    href:   the row field holding a link target for the cell (HTML only; escaped).
    width:  Typst column width ("auto", "1fr", "22mm"); default auto.
    """

    key: str
    label: str | None = None
    align: str = "left"
    fmt: str | Callable[[Any], str] | None = None
    status: str | None = None
    kind: str = "value"
    width: str | None = None
    label_key: str | None = None
    href: str | None = None

    def __post_init__(self) -> None:
        if self.align not in ("left", "right", "center"):
            raise ValueError(f"Col({self.key!r}): align must be left, right or center")
        if self.kind not in ("value", "status", "spark"):
            raise ValueError(f"Col({self.key!r}): kind must be 'value', 'status' or 'spark'")
        if self.width is not None and not re.fullmatch(r"auto|\d+(\.\d+)?(fr|pt|mm|cm|in|em|%)", self.width):
            raise ValueError(f"Col({self.key!r}): invalid width {self.width!r}")

    @property
    def header(self) -> str:
        return self.key if self.label is None else self.label


def _columns(columns: Sequence[Col | str | tuple[str, str]] | None, rows: list[Mapping]) -> list[Col]:
    if columns is None:
        keys: list[str] = []
        for row in rows:
            keys += [k for k in row if k not in keys]
        return [Col(k) for k in keys]
    out = []
    for c in columns:
        if isinstance(c, Col):
            out.append(c)
        elif isinstance(c, str):
            out.append(Col(c))
        else:
            out.append(Col(c[0], c[1]))
    return out


def _rows(rows: Any) -> list[Mapping]:
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a pandas DataFrame
        return list(rows.to_dict(orient="records"))
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class Cell:
    text: str
    style: StatusStyle | None
    status_word: bool  # show the status word (status columns)
    align: str
    spark: str = ""  # an inline SVG line chart (spark columns)
    alt: str = ""  # the spark chart's text name
    href: str = ""  # a link target (HTML)


@dataclass(frozen=True)
class Table:
    columns: list[Col]
    body: list[tuple[str, Any]]  # ("group", label) or ("row", [cells])
    caption: str | None
    statuses: list[StatusStyle]  # statuses present, in STATUSES order


def table_model(rows: Any, columns: Any, group_by: str | None, caption: str | None, na: str) -> Table:
    rows = _rows(rows)
    cols = _columns(columns, rows)
    body: list[tuple[str, Any]] = []
    seen: dict[str, StatusStyle] = {}
    group: Any = object()
    for row in rows:
        if group_by is not None and row.get(group_by) != group:
            group = row.get(group_by)
            body.append(("group", format_cell(group, None, na)))
        cells = []
        for c in cols:
            if c.kind == "status":
                style = status_style(row.get(c.key))
                text = style.label if style else na
                cells.append(Cell(text, style, True, c.align))
            elif c.kind == "spark":
                values = row.get(c.key) or []
                label = row.get(c.label_key) if c.label_key else None
                label = str(label) if label else spark_label(values, partial(format_cell, fmt=c.fmt, na=na))
                cells.append(Cell(spark_text(values), None, False, c.align, sparkline_svg(values, label=label), label))
            else:
                style = status_style(row.get(c.status)) if c.status else None
                href = str(row.get(c.href) or "") if c.href else ""
                cells.append(Cell(format_cell(row.get(c.key), c.fmt, na), style, False, c.align, href=href))
            if cells[-1].style is not None:
                seen[cells[-1].style.key] = cells[-1].style
        body.append(("row", cells))
    order = list(STATUSES)
    statuses = sorted(seen.values(), key=lambda s: order.index(s.key) if s.key in order else len(order))
    return Table(cols, body, caption, statuses)
