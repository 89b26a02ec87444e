"""Markdown and plain-text output of the table model (for renderers that ignore Typst, e.g. Quarto)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .escape import md_escape

if TYPE_CHECKING:
    from .table import Cell, Table


def _cell_plain(cell: Cell) -> str:
    if cell.style is None:
        return cell.text
    return f"{cell.style.symbol} {cell.text}" if cell.status_word else f"{cell.text} {cell.style.symbol}"


def table_plain(t: Table) -> str:
    grid = [[c.header for c in t.columns]]
    for kind, item in t.body:
        grid.append([item] if kind == "group" else [_cell_plain(c) for c in item])
    widths = [max((len(r[i]) for r in grid if len(r) > i), default=0) for i in range(len(t.columns))]
    lines = [t.caption] if t.caption else []
    for r in grid:
        lines.append("  ".join(v.ljust(widths[i]) for i, v in enumerate(r)).rstrip())
    return "\n".join(lines)


def table_markdown(t: Table) -> str:
    def md_cell(c: Cell) -> str:
        text = md_escape(c.text)
        if c.style is None:
            return text
        word = "" if c.status_word else f" ({md_escape(c.style.label)})"
        return f"{md_escape(c.style.symbol)} {text}{word}"

    lines = []
    if t.caption:
        lines += [f"**{md_escape(t.caption)}**", ""]
    lines.append("| " + " | ".join(md_escape(c.header) for c in t.columns) + " |")
    sep = {"left": ":---", "right": "---:", "center": ":---:"}
    lines.append("|" + "|".join(sep[c.align] for c in t.columns) + "|")
    for kind, item in t.body:
        if kind == "group":
            cells = [f"**{md_escape(item)}**"] + [""] * (len(t.columns) - 1)
        else:
            cells = [md_cell(c) for c in item]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
