"""Display helpers for the report notebooks: charts, tables and cards as multi-format bundles.

Notebooks stay tiny and call these; each helper emits ONE display bundle
(``IPython.display.display(bundle, raw=True)``) that the renderers pick from:

================  =====================================  ====================================
helper            site (HTML) uses                       PDF (Typst) uses
================  =====================================  ====================================
show_chart        ``text/html``: plotly div, no plotly.js ``image/svg+xml`` (kaleido, static)
show_table        ``text/html``: ``<table>``, status      ``text/x-typst``: ``#table(...)`` with
                  classes + symbol + word                 fills + symbol + word
show_kpi_cards    ``text/html``                           ``text/x-typst``
show_markdown     ``text/markdown``                       ``text/markdown``
================  =====================================  ====================================

Every bundle also has ``text/plain``; tables and cards also carry ``text/markdown`` (a pipe
table with the status words) for renderers that ignore ``text/x-typst`` (Quarto).

This module only formats what it is given: no DuckDB, no KPI logic. Status is never told by
colour alone: each status cell carries a symbol and (in status columns) a word; see
:data:`STATUSES`.

Escaping: every string that comes from data goes through ``html.escape`` for HTML,
:func:`typst_escape` / :func:`typst_str` for Typst (string literals: data can never become
Typst code) and :func:`md_escape` for Markdown.

Determinism: chart div ids and the ids inside the static SVG are derived from ``name``, so
re-running a notebook gives byte-identical outputs.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "STATUSES",
    "Col",
    "StatusStyle",
    "chart_bundle",
    "is_missing",
    "kpi_cards_bundle",
    "md_escape",
    "show_chart",
    "show_kpi_cards",
    "show_list",
    "show_markdown",
    "show_page_break",
    "show_table",
    "status_style",
    "table_bundle",
    "typst_escape",
    "typst_str",
]

TYPST_MIME = "text/x-typst"


# --------------------------------------------------------------------------- statuses
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


# --------------------------------------------------------------------------- escaping
_TYPST_STR_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def typst_str(value: Any) -> str:
    """A Typst string literal (code mode) whose value is exactly ``str(value)``.

    Inside a string literal only ``\\`` and ``"`` are special, so escaping those two (and
    writing control characters as ``\\u{..}``) means no input can end the literal or be read
    as Typst code: ``#``, ``$``, ``[``, ``]``, ``//``, ``/*``, ``@``, ``<`` are all inert.
    """
    out = ['"']
    for ch in str(value):
        esc = _TYPST_STR_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF:
            # control characters by code point; lone surrogates cannot be encoded: U+FFFD
            out.append("\\u{fffd}" if 0xD800 <= ord(ch) <= 0xDFFF else f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def typst_escape(value: Any) -> str:
    """Markup-safe Typst for any text: ``#"...";`` (an embedded string expression).

    The string is displayed literally (no markup, no smart quotes, no math); the trailing
    ``;`` ends the embedded expression so following text such as ``.x`` or ``(1)`` cannot
    continue it.
    """
    return "#" + typst_str(value) + ";"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~^$@:;\"'&=%/])")


def md_escape(value: Any) -> str:
    """Pandoc-Markdown-safe inline text: every ASCII punctuation character backslash-escaped,
    line breaks turned into spaces (so it is safe inside a pipe-table cell too)."""
    text = re.sub(r"[\r\n]+", " ", str(value))
    return _MD_SPECIAL.sub(r"\\\1", text)


# --------------------------------------------------------------------------- formatting
def is_missing(value: Any) -> bool:
    """None, NaN, pd.NA or NaT: the values tables and charts show as a dash or a gap."""
    if value is None:
        return True
    try:
        import pandas as pd  # optional; only for pd.NA / NaT

        if value is pd.NA or value is pd.NaT:
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(value, float) and math.isnan(value)


def _format(value: Any, fmt: str | Callable[[Any], str] | None, na: str) -> str:
    if is_missing(value):
        return na
    if callable(fmt):
        return str(fmt(value))
    if fmt:
        return fmt.format(value)
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        return "yes" if value else "no"
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        return f"{int(value):,}"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return f"{float(value):,.1f}"
    return str(value)


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
class _Cell:
    text: str
    style: StatusStyle | None
    status_word: bool  # show the status word (status columns)
    align: str
    spark: str = ""  # an inline SVG line chart (spark columns)
    alt: str = ""  # the spark chart's text name
    href: str = ""  # a link target (HTML)


@dataclass(frozen=True)
class _Table:
    columns: list[Col]
    body: list[tuple[str, Any]]  # ("group", label) or ("row", [cells])
    caption: str | None
    statuses: list[StatusStyle]  # statuses present, in STATUSES order


def _table_model(rows: Any, columns: Any, group_by: str | None, caption: str | None, na: str) -> _Table:
    rows = _rows(rows)
    cols = _columns(columns, rows)
    body: list[tuple[str, Any]] = []
    seen: dict[str, StatusStyle] = {}
    group: Any = object()
    for row in rows:
        if group_by is not None and row.get(group_by) != group:
            group = row.get(group_by)
            body.append(("group", _format(group, None, na)))
        cells = []
        for c in cols:
            if c.kind == "status":
                style = status_style(row.get(c.key))
                text = style.label if style else na
                cells.append(_Cell(text, style, True, c.align))
            elif c.kind == "spark":
                values = row.get(c.key) or []
                label = row.get(c.label_key) if c.label_key else None
                label = str(label) if label else spark_label(values, lambda v, fmt=c.fmt: _format(v, fmt, na))
                cells.append(_Cell(spark_text(values), None, False, c.align, sparkline_svg(values, label=label), label))
            else:
                style = status_style(row.get(c.status)) if c.status else None
                href = str(row.get(c.href) or "") if c.href else ""
                cells.append(_Cell(_format(row.get(c.key), c.fmt, na), style, False, c.align, href=href))
            if cells[-1].style is not None:
                seen[cells[-1].style.key] = cells[-1].style
        body.append(("row", cells))
    order = list(STATUSES)
    statuses = sorted(seen.values(), key=lambda s: order.index(s.key) if s.key in order else len(order))
    return _Table(cols, body, caption, statuses)


# --------------------------------------------------------------------------- table renderers
def _numbers(values: Sequence[Any]) -> list[float | None]:
    return [None if is_missing(v) else float(v) for v in values]


def spark_label(values: Sequence[Any], fmt: Callable[[Any], str] = lambda v: f"{v:,.1f}") -> str:
    """What a sparkline shows, in words (its accessible name)."""
    points = _numbers(values)
    known = [v for v in points if v is not None]
    if len(known) < 2:
        return "no trend"
    return (
        f"trend over the last {len(points)} periods: from {fmt(known[0])} to {fmt(known[-1])}, "
        f"lowest {fmt(min(known))}, highest {fmt(max(known))}"
    )


def sparkline_svg(values: Sequence[Any], width: int = 72, height: int = 16, label: str | None = None) -> str:
    """A tiny line chart as SVG; gaps break the line; the last point is marked. Its accessible
    name is ``label`` (escaped; default :func:`spark_label`); nothing else from the data reaches
    the markup."""
    points = _numbers(values)
    known = [v for v in points if v is not None]
    if len(known) < 2:
        return ""
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    step = (width - 4) / max(len(points) - 1, 1)
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


_BLOCKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


def spark_text(values: Sequence[Any]) -> str:
    """The same trend as block characters, for text and Markdown outputs."""
    points = _numbers(values)
    known = [v for v in points if v is not None]
    if len(known) < 2:
        return ""
    lo, span = min(known), (max(known) - min(known)) or 1.0
    return "".join(" " if v is None else _BLOCKS[round((v - lo) / span * 7)] for v in points)


def _html_cell(cell: _Cell, tag: str = "td") -> str:
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


def _table_html(t: _Table, css_class: str, legend: bool) -> str:
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


def _rgb(color: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        raise ValueError(f"bad colour {color!r}")
    return f'rgb("{color}")'


def _typst_cell(cell: _Cell) -> str:
    if cell.spark:
        return (
            f'[#box(image(bytes({typst_str(cell.spark)}), format: "svg", height: 0.9em, '
            f"alt: {typst_str(cell.alt or 'trend')}))]"
        )
    if cell.style is None:
        return f"[{typst_escape(cell.text)}]"
    s = cell.style
    symbol = f'#text(fill: {_rgb(s.ink)}, weight: "bold", {typst_str(s.symbol)})'
    return f"table.cell(fill: {_rgb(s.fill)})[{symbol} {typst_escape(cell.text)}]"


def _typst_legend(statuses: list[StatusStyle]) -> str:
    items = ", ".join(
        f"box(fill: {_rgb(s.fill)}, inset: (x: 3pt, y: 2pt), radius: 2pt)"
        f'[#text(fill: {_rgb(s.ink)}, weight: "bold", {typst_str(s.symbol)}) {typst_escape(s.label)}]'
        for s in statuses
    )
    return f"#block(above: 0.4em)[#set text(size: 7.5pt); #({items},).join(h(0.6em))]\n"


def _table_typst(t: _Table, legend: bool) -> str:
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


def _cell_plain(cell: _Cell) -> str:
    if cell.style is None:
        return cell.text
    return f"{cell.style.symbol} {cell.text}" if cell.status_word else f"{cell.text} {cell.style.symbol}"


def _table_plain(t: _Table) -> str:
    grid = [[c.header for c in t.columns]]
    for kind, item in t.body:
        grid.append([item] if kind == "group" else [_cell_plain(c) for c in item])
    widths = [max((len(r[i]) for r in grid if len(r) > i), default=0) for i in range(len(t.columns))]
    lines = [t.caption] if t.caption else []
    for r in grid:
        lines.append("  ".join(v.ljust(widths[i]) for i, v in enumerate(r)).rstrip())
    return "\n".join(lines)


def _table_markdown(t: _Table) -> str:
    def md_cell(c: _Cell) -> str:
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


def table_bundle(
    rows: Any,
    columns: Sequence[Col | str | tuple[str, str]] | None = None,
    *,
    group_by: str | None = None,
    caption: str | None = None,
    legend: bool = True,
    na: str = "\u2013",
    css_class: str = "",
) -> dict[str, str]:
    """The display bundle for a table (see :func:`show_table`)."""
    t = _table_model(rows, columns, group_by, caption, na)
    if not t.columns:  # nothing to show (no rows and no column specs)
        text = f"{caption}: no data" if caption else "No data"
        return {
            "text/html": f'<p class="table-empty">{html.escape(text)}</p>',
            TYPST_MIME: f"#emph({typst_str(text)})\n",
            "text/markdown": f"*{md_escape(text)}*\n",
            "text/plain": text,
        }
    return {
        "text/html": _table_html(t, css_class, legend),
        TYPST_MIME: _table_typst(t, legend),
        "text/markdown": _table_markdown(t),
        "text/plain": _table_plain(t),
    }


def show_table(
    rows: Any,
    columns: Sequence[Col | str | tuple[str, str]] | None = None,
    *,
    group_by: str | None = None,
    caption: str | None = None,
    legend: bool = True,
    na: str = "\u2013",
    css_class: str = "",
) -> None:
    """Display a table: ``rows`` is a list of dicts or a DataFrame, ``columns`` a list of
    :class:`Col` (or keys, or ``(key, label)`` pairs; default: every key).

    ``group_by`` inserts a spanning group row whenever that field changes (e.g. perspective;
    rows are not re-sorted). Cells with a status (``Col(kind="status")`` or
    ``Col(status="field")``) get a fill colour, a symbol and, for status columns, the word; a
    legend of the statuses present follows the table unless ``legend=False``.
    """
    _display(table_bundle(rows, columns, group_by=group_by, caption=caption, legend=legend, na=na, css_class=css_class))


# --------------------------------------------------------------------------- KPI cards
def kpi_cards_bundle(cards: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Bundle for headline cards; each card: ``label``, ``value`` (already formatted or a
    number), optional ``status`` and ``note``."""
    html_cards, typst_cards, md, plain = [], [], [], []
    for card in cards:
        label = _format(card.get("label"), None, "")
        value = _format(card.get("value"), card.get("fmt"), "\u2013")
        note = _format(card.get("note"), None, "")
        s = status_style(card.get("status"))
        status_html = status_typst = status_text = ""
        fill = "#ffffff"
        if s is not None:
            fill = s.fill
            status_html = (
                f'<div class="kpi-status"><span class="status-symbol" style="color:{s.ink}" aria-hidden="true">'
                f"{html.escape(s.symbol)}</span> {html.escape(s.label)}</div>"
            )
            status_typst = f'#text(fill: {_rgb(s.ink)}, weight: "bold", {typst_str(s.symbol)}) {typst_escape(s.label)}'
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
            f"  block(width: 100%, fill: {_rgb(fill)}, stroke: 0.5pt + luma(160), inset: 6pt, radius: 3pt)["
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


def show_kpi_cards(cards: Sequence[Mapping[str, Any]]) -> None:
    """Display headline cards (e.g. the composite score), see :func:`kpi_cards_bundle`."""
    _display(kpi_cards_bundle(cards))


# --------------------------------------------------------------------------- markdown
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


def show_breadcrumb(items: Sequence[tuple[str, str | None]]) -> None:
    _display(breadcrumb_bundle(items))


def show_markdown(text: str) -> None:
    """Display Markdown (trusted text; pass data through :func:`md_escape`)."""
    _display({"text/markdown": text, "text/plain": text})


def show_page_break() -> None:
    """Start a new page in the PDF; nothing on the site."""
    _display({"text/html": "", TYPST_MIME: "#pagebreak(weak: true)\n", "text/plain": ""})


def show_list(items: Iterable[str], empty: str = "") -> None:
    """A bullet list of data-derived lines (escaped), or ``empty`` (trusted) when there are none."""
    items = list(items)
    if items:
        show_markdown("\n".join(f"- {md_escape(item)}" for item in items))
    elif empty:
        show_markdown(empty)


# --------------------------------------------------------------------------- charts
def chart_id(name: str) -> str:
    """A deterministic, HTML-safe element id for a chart name."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")[:40] or "chart"
    return f"chart-{slug}-{hashlib.sha1(str(name).encode()).hexdigest()[:8]}"


_SVG_UID = re.compile(rb'<defs id="defs-([0-9a-f]{6})"')


def _deterministic_svg(svg: bytes, name: str) -> bytes:
    """plotly.js names clip paths etc. after a random 6-hex uid: replace it with one derived
    from ``name`` so the same figure always gives the same bytes (and ids stay unique per
    chart name)."""
    m = _SVG_UID.search(svg)
    if not m:
        return svg
    uid = hashlib.sha1(("svg:" + str(name)).encode()).hexdigest()[:6].encode()
    return svg.replace(m.group(1), uid)


def _with_trace_uids(fig: Any, name: str) -> Any:
    """``fig`` with a uid derived from ``name`` on each trace that has none (plotly.js otherwise
    draws a random uid into the SVG's class names). Set in place: copying a figure with many
    traces costs more than the export."""
    try:
        import plotly.graph_objects as go
    except ImportError:  # pragma: no cover
        return fig
    if not isinstance(fig, go.Figure):
        return fig
    for i, trace in enumerate(fig.data):
        if getattr(trace, "uid", None) is None:
            trace.uid = hashlib.sha1(f"trace:{name}:{i}".encode()).hexdigest()[:6]
    return fig


def chart_bundle(
    fig: Any,
    name: str,
    *,
    width: int | None = None,
    height: int | None = None,
    static: bool = True,
    alt: str | None = None,
) -> dict[str, str]:
    """The display bundle for a plotly figure (see :func:`show_chart`)."""
    import plotly.io as pio

    div_id = chart_id(name)
    fig = _with_trace_uids(fig, name)
    html_div = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    title = getattr(getattr(getattr(fig, "layout", None), "title", None), "text", None) or name
    bundle = {"text/html": f'<div class="chart" data-chart="{html.escape(str(name))}">{html_div}</div>'}
    if static:
        from .svgexport import svg as export_svg

        svg = export_svg(fig, width=width, height=height)
        bundle["image/svg+xml"] = _deterministic_svg(svg, name).decode("utf-8")
    # the chart's text name (image alt text on the site and in the PDF)
    bundle["text/plain"] = alt if alt else f"[chart: {re.sub(r'<[^>]*>', '', str(title))}]"
    return bundle


def show_chart(
    fig: Any,
    name: str,
    *,
    width: int | None = None,
    height: int | None = None,
    static: bool = True,
    alt: str | None = None,
) -> None:
    """Display a plotly figure: interactive div (site, plotly.js loaded by the page), static
    SVG (site and PDF), text. ``name`` must be unique within the notebook: it fixes the div id.
    ``width``/``height`` (px) size the static image (default: the figure's own size). ``alt``
    says what the chart shows (its text name; default: its title)."""
    _display(chart_bundle(fig, name, width=width, height=height, static=static, alt=alt))


# --------------------------------------------------------------------------- plumbing
def _display(bundle: dict[str, str]) -> None:
    from IPython.display import display

    display(bundle, raw=True)
