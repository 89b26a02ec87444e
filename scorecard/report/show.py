"""What the notebooks call: each ``show_*`` emits ONE display bundle
(``IPython.display.display(bundle, raw=True)``) that the renderers pick from."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .cards import breadcrumb_bundle, kpi_cards_bundle
from .charts import chart_bundle
from .escape import md_escape, typst_str
from .html import table_html
from .markdown import table_markdown, table_plain
from .table import Col, table_model
from .typst import TYPST_MIME, table_typst


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
    t = table_model(rows, columns, group_by, caption, na)
    if not t.columns:  # nothing to show (no rows and no column specs)
        text = f"{caption}: no data" if caption else "No data"
        return {
            "text/html": f'<p class="table-empty">{html.escape(text)}</p>',
            TYPST_MIME: f"#emph({typst_str(text)})\n",
            "text/markdown": f"*{md_escape(text)}*\n",
            "text/plain": text,
        }
    return {
        "text/html": table_html(t, css_class, legend),
        TYPST_MIME: table_typst(t, legend),
        "text/markdown": table_markdown(t),
        "text/plain": table_plain(t),
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
    display_bundle(
        table_bundle(rows, columns, group_by=group_by, caption=caption, legend=legend, na=na, css_class=css_class)
    )


def show_kpi_cards(cards: Sequence[Mapping[str, Any]]) -> None:
    """Display headline cards (e.g. the composite score), see :func:`kpi_cards_bundle`."""
    display_bundle(kpi_cards_bundle(cards))


def show_breadcrumb(items: Sequence[tuple[str, str | None]]) -> None:
    display_bundle(breadcrumb_bundle(items))


def show_markdown(text: str) -> None:
    """Display Markdown (trusted text; pass data through :func:`md_escape`)."""
    display_bundle({"text/markdown": text, "text/plain": text})


def show_page_break() -> None:
    """Start a new page in the PDF; nothing on the site."""
    display_bundle({"text/html": "", TYPST_MIME: "#pagebreak(weak: true)\n", "text/plain": ""})


def show_list(items: Iterable[str], empty: str = "") -> None:
    """A bullet list of data-derived lines (escaped), or ``empty`` (trusted) when there are none."""
    items = list(items)
    if items:
        show_markdown("\n".join(f"- {md_escape(item)}" for item in items))
    elif empty:
        show_markdown(empty)


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
    display_bundle(chart_bundle(fig, name, width=width, height=height, static=static, alt=alt))


def display_bundle(bundle: dict[str, str]) -> None:
    from IPython.display import display

    display(bundle, raw=True)
