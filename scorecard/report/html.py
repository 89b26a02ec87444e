"""HTML output: tables (with status fills, symbols and words), legends and sparklines."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .formatting import numbers, spark_label
from .styles import StatusStyle

if TYPE_CHECKING:
    from .table import Cell, Table


def sparkline_svg(values: Sequence[Any], width: int = 72, height: int = 16, label: str | None = None) -> str:
    """A tiny line chart as SVG; gaps break the line; the last point is marked. Its accessible
    name is ``label`` (escaped; default :func:`spark_label`); nothing else from the data reaches
    the markup."""
    points = numbers(values)
    known = [v for v in points if v is not None]
    if len(known) < 2:
        return ""
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    step = (width - 4) / max(len(points) - 1, 1)
    current: list[tuple[float, float]]
    segments, current, last = [], [], None
    for i, v in enumerate(points):
        if v is None:
            if current:
                segments.append(current)
            current = []
            continue
        last = (2 + i * step, 2 + (height - 4) * (1 - (v - lo) / span))
        current.append(last)
    if current:
        segments.append(current)
    lines = "".join(
        '<polyline fill="none" stroke="#1f4e79" stroke-width="1.4" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y in seg)
        + '"/>'
        for seg in segments
    )
    dot = f'<circle cx="{last[0]:.1f}" cy="{last[1]:.1f}" r="2" fill="#1f4e79"/>' if last else ""
    name = html.escape(label if label is not None else spark_label(values), quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{name}"><title>{name}</title>{lines}{dot}</svg>'
    )


def _html_cell(cell: Cell, tag: str = "td") -> str:
    classes = [f"align-{cell.align}"]
    if cell.spark:
        return f'<{tag} class="{" ".join(classes)} spark">{cell.spark}</{tag}>'
    attrs = ""
    content = html.escape(cell.text)
    if cell.href:
        content = f'<a href="{html.escape(cell.href, quote=True)}">{content}</a>'
    if cell.style is not None:
        s = cell.style
        classes += ["status", s.css_class]
        # inline colour too, so the table keeps its fills where site.css is not loaded
        attrs = f' style="background-color:{s.fill}" title="{html.escape(s.label)}"'
        symbol = f'<span class="status-symbol" style="color:{s.ink}" aria-hidden="true">{html.escape(s.symbol)}</span>'
        if cell.status_word:
            content = f"{symbol} {content}"
        else:
            content = f'{symbol} {content}<span class="visually-hidden"> ({html.escape(s.label)})</span>'
    return f'<{tag} class="{" ".join(classes)}"{attrs}>{content}</{tag}>'


def _html_legend(statuses: list[StatusStyle]) -> str:
    items = "".join(
        f'<span class="legend-item {s.css_class}" style="background-color:{s.fill}">'
        f'<span class="status-symbol" style="color:{s.ink}" aria-hidden="true">{html.escape(s.symbol)}</span> '
        f"{html.escape(s.label)}</span>"
        for s in statuses
    )
    return f'<p class="status-legend">{items}</p>'


def table_html(t: Table, css_class: str, legend: bool) -> str:
    # a wide table scrolls inside its wrapper: keyboard users must be able to reach and scroll it
    name = html.escape(t.caption or "Table: " + ", ".join(c.header for c in t.columns[:6]), quote=True)
    out = [
        f'<div class="table-wrap" tabindex="0" role="group" aria-label="{name}">'
        f'<table class="sc-table {html.escape(css_class)}">'
    ]
    if t.caption:
        out.append(f"<caption>{html.escape(t.caption)}</caption>")
    out.append("<thead><tr>")
    out += [f'<th scope="col" class="align-{c.align}">{html.escape(c.header)}</th>' for c in t.columns]
    out.append("</tr></thead><tbody>")
    for kind, item in t.body:
        if kind == "group":
            out.append(
                f'<tr class="group-row"><th scope="rowgroup" colspan="{len(t.columns)}">{html.escape(item)}</th></tr>'
            )
        else:
            out.append("<tr>" + "".join(_html_cell(c) for c in item) + "</tr>")
    out.append("</tbody></table>")
    if legend and t.statuses:
        out.append(_html_legend(t.statuses))
    out.append("</div>")
    return "".join(out)
