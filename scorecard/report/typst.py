"""Typst output (the PDFs): tables and legends; data only ever enters as string literals."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .escape import typst_escape, typst_str
from .styles import StatusStyle

if TYPE_CHECKING:
    from .table import Cell, Table


TYPST_MIME = "text/x-typst"


def rgb(color: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        raise ValueError(f"bad colour {color!r}")
    return f'rgb("{color}")'


def _typst_cell(cell: Cell) -> str:
    if cell.spark:
        return (
            f'[#box(image(bytes({typst_str(cell.spark)}), format: "svg", height: 0.9em, '
            f"alt: {typst_str(cell.alt or 'trend')}))]"
        )
    if cell.style is None:
        return f"[{typst_escape(cell.text)}]"
    s = cell.style
    symbol = f'#text(fill: {rgb(s.ink)}, weight: "bold", {typst_str(s.symbol)})'
    return f"table.cell(fill: {rgb(s.fill)})[{symbol} {typst_escape(cell.text)}]"


def _typst_legend(statuses: list[StatusStyle]) -> str:
    items = ", ".join(
        f"box(fill: {rgb(s.fill)}, inset: (x: 3pt, y: 2pt), radius: 2pt)"
        f'[#text(fill: {rgb(s.ink)}, weight: "bold", {typst_str(s.symbol)}) {typst_escape(s.label)}]'
        for s in statuses
    )
    return f"#block(above: 0.4em)[#set text(size: 7.5pt); #({items},).join(h(0.6em))]\n"


def table_typst(t: Table, legend: bool) -> str:
    widths = ", ".join(c.width or "auto" for c in t.columns)
    aligns = ", ".join(f"{c.align} + horizon" for c in t.columns)
    n = len(t.columns)
    lines = ["#block(width: 100%)[", "#set text(size: 8.5pt)"]
    if t.caption:
        lines.append(f"#block(sticky: true, below: 0.5em)[#strong({typst_str(t.caption)})]")
    lines += [
        "#table(",
        f"  columns: ({widths},),",
        f"  align: ({aligns},),",
        "  inset: (x: 4pt, y: 3pt),",
        "  stroke: (x, y) => (bottom: if y == 0 { 0.8pt } else { 0.4pt + luma(190) }),",
        "  table.header(" + ", ".join(f"strong({typst_str(c.header)})" for c in t.columns) + ",),",
    ]
    for kind, item in t.body:
        if kind == "group":
            lines.append(f"  table.cell(colspan: {n}, fill: luma(232))[#strong({typst_str(item)})],")
        else:
            lines.append("  " + ", ".join(_typst_cell(c) for c in item) + ",")
    lines.append(")")
    if legend and t.statuses:
        lines.append(_typst_legend(t.statuses).rstrip("\n"))
    lines.append("]")
    return "\n".join(lines) + "\n"
