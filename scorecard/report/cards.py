"""Headline KPI cards and breadcrumbs, in every output format."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from .escape import md_escape, typst_escape, typst_str
from .formatting import format_cell
from .styles import status_style
from .typst import TYPST_MIME, rgb


def kpi_cards_bundle(cards: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Bundle for headline cards; each card: ``label``, ``value`` (already formatted or a
    number), optional ``status`` and ``note``."""
    html_cards, typst_cards, md, plain = [], [], [], []
    for card in cards:
        label = format_cell(card.get("label"), None, "")
        value = format_cell(card.get("value"), card.get("fmt"), "\u2013")
        note = format_cell(card.get("note"), None, "")
        s = status_style(card.get("status"))
        status_html = status_typst = status_text = ""
        fill = "#ffffff"
        if s is not None:
            fill = s.fill
            status_html = (
                f'<div class="kpi-status"><span class="status-symbol" style="color:{s.ink}" aria-hidden="true">'
                f"{html.escape(s.symbol)}</span> {html.escape(s.label)}</div>"
            )
            status_typst = f'#text(fill: {rgb(s.ink)}, weight: "bold", {typst_str(s.symbol)}) {typst_escape(s.label)}'
            status_text = f"{s.symbol} {s.label}"
        cls = f" status {s.css_class}" if s else ""
        html_cards.append(
            f'<div class="kpi-card{cls}" style="background-color:{fill}">'
            f'<div class="kpi-label">{html.escape(label)}</div>'
            f'<div class="kpi-value">{html.escape(value)}</div>{status_html}'
            + (f'<div class="kpi-note">{html.escape(note)}</div>' if note else "")
            + "</div>"
        )
        typst_cards.append(
            f"  block(width: 100%, fill: {rgb(fill)}, stroke: 0.5pt + luma(160), inset: 6pt, radius: 3pt)["
            f"#text(size: 8pt, {typst_str(label)}) \\ "
            f'#text(size: 16pt, weight: "bold", {typst_str(value)}) \\ '
            f"{status_typst}" + (f" \\ #text(size: 7.5pt, fill: luma(70), {typst_str(note)})" if note else "") + "],"
        )
        md.append(
            f"- **{md_escape(label)}**: {md_escape(value)}"
            + (f" ({md_escape(status_text)})" if s else "")
            + (f" \u2014 {md_escape(note)}" if note else "")
        )
        plain.append(f"{label}: {value}" + (f" [{status_text}]" if s else "") + (f" - {note}" if note else ""))
    ncols = max(1, min(4, len(cards)))
    typst = (
        "#block(width: 100%, breakable: false)[#grid(\n"
        f"  columns: ({', '.join(['1fr'] * ncols)}),\n  gutter: 6pt,\n" + "\n".join(typst_cards) + "\n)]\n"
    )
    return {
        "text/html": '<div class="kpi-cards">' + "".join(html_cards) + "</div>",
        TYPST_MIME: typst,
        "text/markdown": "\n".join(md) + "\n",
        "text/plain": "\n".join(plain),
    }


def breadcrumb_bundle(items: Sequence[tuple[str, str | None]]) -> dict[str, str]:
    """Where a page sits in the tree: (name, href) from the root down, the last being the page
    itself (its href is not linked). Names are escaped in every format."""
    links = []
    for i, (name, href) in enumerate(items):
        if i == len(items) - 1:
            links.append(f'<li aria-current="page">{html.escape(str(name))}</li>')
        else:
            links.append(f'<li><a href="{html.escape(str(href or "#"), quote=True)}">{html.escape(str(name))}</a></li>')
    trail = " › ".join(str(name) for name, _ in items)
    return {
        "text/html": f'<nav class="breadcrumb" aria-label="Breadcrumb"><ol>{"".join(links)}</ol></nav>',
        TYPST_MIME: f"#text(size: 8pt, fill: luma(70))[{typst_escape(trail)}]\n",
        "text/plain": trail,
    }
