"""Everything a report page shows, in every output format; the notebooks call only this package.

=================  ==================================================================
module             holds
=================  ==================================================================
``queries``        what a page reads from the database, as DataFrames (all the SQL)
``values``         numbers as a reader expects them; rows of the scorecard tables
``formatting``     cell text: missing values, numbers, trends in words
``escape``         HTML / Typst / Markdown escaping (shared with ``render/``)
``styles``         status styles: fill, symbol and word per status
``table``          the table model; ``html``, ``typst``, ``markdown`` render it
``cards``          headline KPI cards and breadcrumbs
``figures``        plotly figures; ``chart_text`` their text names (alt text)
``charts``         chart bundles: interactive div, deterministic static SVG, text
``show``           the ``show_*`` calls: one display bundle each
=================  ==================================================================

Each ``show_*`` emits one bundle (``IPython.display.display(bundle, raw=True)``) that the
renderers pick from: the site uses ``text/html`` (and ``image/svg+xml`` for charts), the PDF
``text/x-typst`` (tables, cards) or the SVG, Quarto ``text/markdown``. Status is never told by
colour alone; every string from data is escaped for the format it lands in.
"""

from __future__ import annotations

from .cards import breadcrumb_bundle, kpi_cards_bundle
from .charts import chart_bundle, chart_id
from .escape import md_escape, typst_escape, typst_str
from .formatting import is_missing
from .show import (
    show_breadcrumb,
    show_chart,
    show_kpi_cards,
    show_list,
    show_markdown,
    show_page_break,
    show_table,
    table_bundle,
)
from .styles import STATUSES, StatusStyle, status_style
from .table import Col

__all__ = [
    "STATUSES",
    "Col",
    "StatusStyle",
    "breadcrumb_bundle",
    "chart_bundle",
    "chart_id",
    "is_missing",
    "kpi_cards_bundle",
    "md_escape",
    "show_breadcrumb",
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
