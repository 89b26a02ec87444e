"""Chart bundles: the interactive plotly div for the site, a static SVG (kaleido) for pages and
PDFs, and the chart's text name. Ids are derived from the chart name, so re-running a notebook
gives byte-identical outputs."""

from __future__ import annotations

import hashlib
import html
import re
from typing import Any


def chart_id(name: str) -> str:
    """A deterministic, HTML-safe element id for a chart name."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")[:40] or "chart"
    return f"chart-{slug}-{hashlib.sha1(str(name).encode()).hexdigest()[:8]}"


_SVG_UID = re.compile(rb'<defs id="defs-([0-9a-f]{6})"')
# a start tag whose attributes are all name="value" (the browser's XMLSerializer writes them so,
# with < > & " escaped inside values)
_START_TAG = re.compile(r'<([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"]*")+)(\s*/?)>')
_ATTRIBUTE = re.compile(r'([\w:.-]+)="([^"]*)"')


def _sorted_attributes(match: re.Match) -> str:
    attributes = "".join(f' {k}="{v}"' for k, v in sorted(_ATTRIBUTE.findall(match.group(2))))
    return f"<{match.group(1)}{attributes}{match.group(3)}>"


def deterministic_svg(svg: bytes, name: str) -> bytes:
    """The same figure always gives the same bytes:

    - plotly.js names clip paths etc. after a random 6-hex uid: it is replaced with one derived
      from ``name`` (ids stay unique per chart name);
    - on a page that drew other figures before, plotly.js writes some attributes in another
      order: every element's attributes are put in name order (XML attribute order carries no
      meaning)."""
    m = _SVG_UID.search(svg)
    if m:
        uid = hashlib.sha1(("svg:" + str(name)).encode()).hexdigest()[:6].encode()
        svg = svg.replace(m.group(1), uid)
    return _START_TAG.sub(_sorted_attributes, svg.decode("utf-8")).encode("utf-8")


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
    from plotly.io._utils import validate_coerce_fig_to_dict

    div_id = chart_id(name)
    fig = _with_trace_uids(fig, name)
    # one conversion (and validation) for both the div and the SVG: each costs as much as drawing
    fig_dict = validate_coerce_fig_to_dict(fig, True)
    html_div = pio.to_html(
        fig_dict,
        include_plotlyjs=False,
        full_html=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
        validate=False,
    )
    title = getattr(getattr(getattr(fig, "layout", None), "title", None), "text", None) or name
    bundle = {"text/html": f'<div class="chart" data-chart="{html.escape(str(name))}">{html_div}</div>'}
    if static:
        from ..svgexport import svg as export_svg

        svg = export_svg(fig_dict, width=width, height=height, validate=False)
        bundle["image/svg+xml"] = deterministic_svg(svg, name).decode("utf-8")
    # the chart's text name (image alt text on the site and in the PDF)
    bundle["text/plain"] = alt if alt else f"[chart: {re.sub(r'<[^>]*>', '', str(title))}]"
    return bundle
