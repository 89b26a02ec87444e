"""Plotly figures for the reports, built from the report queries' DataFrames.

Figures are drawn for paper as well as screens: status bands in greys-friendly tints, markers
whose shape (not only colour) marks low-n points, no reliance on hover to read a value.
"""

from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go

from .figure_dicts import figure, strings, subplot_domains, values
from .formatting import is_missing

GREEN_BAND = "rgba(46, 160, 67, 0.10)"
AMBER_BAND = "rgba(230, 160, 0, 0.14)"
RED_BAND = "rgba(210, 50, 50, 0.10)"
LINE = "#1f4e79"
TARGET = "#2e7d32"
FONT = dict(family="Helvetica, Arial, sans-serif", size=12, color="#222")


def _layout_dict(title: str, y_title: str, height: int = 260) -> dict:
    """The layout ``update_layout`` gives a new figure for these settings (compound properties
    first, as plotly orders them)."""
    return {
        "title": {"font": {"size": 14}, "text": title, "x": 0, "xanchor": "left"},
        "margin": {"l": 56, "r": 16, "t": 40, "b": 36},
        "font": dict(FONT),
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#e5e5e5", "zeroline": False},
        "xaxis": {"type": "category", "gridcolor": "#f0f0f0"},
        "height": height,
        "width": 720,
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "showlegend": False,
    }


def label(text) -> str:
    """Text for a chart label: plotly reads labels as a subset of HTML (entities, <b>, <br>,
    <a>), so data must be escaped to show literally."""
    return html.escape(str(text), quote=False)


def _zones(direction: str, target: float, amber: float) -> list[tuple[float, float, str]]:
    if direction == "higher":
        return [(target, math.inf, GREEN_BAND), (amber, target, AMBER_BAND), (-math.inf, amber, RED_BAND)]
    return [(-math.inf, target, GREEN_BAND), (target, amber, AMBER_BAND), (amber, math.inf, RED_BAND)]


def _trend_panel(
    df: pd.DataFrame, name: str, direction: str, min_sample: int, axis: str = ""
) -> tuple[list[dict], list[dict], list[float] | None]:
    """One KPI's panel on axes x{axis}/y{axis}: traces (interval band, target step line, rolling
    3-month line when df has one, values with low-n markers), status-band shapes, y range."""
    periods = values(list(df["period"]))
    target = df["target"].dropna().iloc[-1] if df["target"].notna().any() else None
    amber = df["amber"].dropna().iloc[-1] if df["amber"].notna().any() else None
    span = [v for c in ("value", "ci_low", "ci_high", "target", "amber") if c in df for v in df[c] if not is_missing(v)]
    shapes, y_range = [], None
    if span:
        lo, hi = min(span), max(span)
        pad = (hi - lo) * 0.12 or max(abs(hi) * 0.1, 1)
        y_range = [lo - pad, hi + pad]
        if target is not None and amber is not None:
            for z0, z1, colour in _zones(direction, target, amber):
                a, b = max(z0, y_range[0]), min(z1, y_range[1])
                if a < b:
                    shapes.append(
                        {
                            "fillcolor": colour,
                            "layer": "below",
                            "type": "rect",
                            "x0": 0,
                            "x1": 1,
                            "xref": f"x{axis} domain",
                            "y0": a,
                            "y1": b,
                            "yref": f"y{axis}",
                            "line": {"width": 0},
                        }
                    )
    xy = {"xaxis": f"x{axis}", "yaxis": f"y{axis}"}
    traces = []
    if df["ci_low"].notna().any():
        traces.append(
            {
                "connectgaps": False,
                "hoverinfo": "skip",
                "line": {"width": 0},
                "mode": "lines",
                "x": periods,
                "y": values(df["ci_high"]),
                "type": "scatter",
                **xy,
            }
        )
        traces.append(
            {
                "connectgaps": False,
                "fill": "tonexty",
                "fillcolor": "rgba(31, 78, 121, 0.15)",
                "hoverinfo": "skip",
                "line": {"width": 0},
                "mode": "lines",
                "name": "95% interval",
                "x": list(periods),
                "y": values(df["ci_low"]),
                "type": "scatter",
                **xy,
            }
        )
    if target is not None:
        traces.append(
            {
                "line": {"color": TARGET, "dash": "dash", "shape": "hv", "width": 1.5},
                "mode": "lines",
                "name": "target",
                "x": list(periods),
                "y": values(df["target"]),
                "type": "scatter",
                **xy,
            }
        )
    if "rolling3" in df and df["rolling3"].notna().any():
        traces.append(
            {
                "hovertemplate": "%{x}: %{y:.1f} (3 months)<extra></extra>",
                "line": {"color": "#777777", "dash": "dot", "width": 1.5},
                "mode": "lines",
                "name": "rolling 3 months",
                "x": list(periods),
                "y": values(df["rolling3"]),
                "type": "scatter",
                **xy,
            }
        )
    low_n = df["n"] < min_sample
    traces.append(
        {
            "connectgaps": False,
            "customdata": values(df["n"]),
            "hovertemplate": "%{x}: %{y:.1f} (n=%{customdata})<extra></extra>",
            "line": {"color": LINE, "width": 2},
            "marker": {
                "color": LINE,
                "line": {"color": LINE, "width": 1.5},
                "size": [8 if small else 6 for small in low_n],
                "symbol": ["circle-open" if small else "circle" for small in low_n],
            },
            "mode": "lines+markers",
            "name": name,
            "x": list(periods),
            "y": values(df["value"]),
            "type": "scatter",
            **xy,
        }
    )
    return traces, shapes, y_range


def trends_figure(trends: pd.DataFrame, kpis: list[dict], min_sample: int = 30) -> go.Figure:
    """Small multiples: one panel per KPI (kpis: dicts with kpi_id, name, kpi_unit, direction),
    two columns, shared period axis. One figure, so the PDF needs one image export, not six.
    The figure is the one make_subplots and update_xaxes/yaxes/annotations/layout would give."""
    cols = 2 if len(kpis) > 1 else 1
    rows = max(1, math.ceil(len(kpis) / cols))
    layout: dict = {}
    domains = subplot_domains(rows, cols, 0.42 / rows, 0.09)
    ranges: dict[str, list[float]] = {}
    traces, shapes = [], []
    for i, k in enumerate(kpis):
        df = trends[trends["kpi_id"] == k["kpi_id"]].sort_values("period")
        axis = "" if i == 0 else str(i + 1)
        panel, bands, y_range = _trend_panel(df, k["name"], k["direction"], min_sample, axis)
        traces += panel
        shapes += bands
        if y_range:
            ranges[axis] = values(y_range)
    for i, (x_domain, y_domain) in enumerate(domains):
        axis = "" if i == 0 else str(i + 1)
        layout[f"xaxis{axis}"] = {
            "anchor": f"y{axis}",
            "domain": x_domain,
            "tickfont": {"size": 9},
            "type": "category",
            "gridcolor": "#f0f0f0",
            "tickangle": -45,
        }
        with_range = {"range": ranges[axis]} if axis in ranges else {}
        layout[f"yaxis{axis}"] = {
            "anchor": f"x{axis}",
            "domain": y_domain,
            **with_range,
            "tickfont": {"size": 9},
            "gridcolor": "#e5e5e5",
            "zeroline": False,
        }
    annotations = [
        {
            "font": {"size": 11},
            "showarrow": False,
            "text": label(f"{k['name']} ({k['kpi_unit']})"),
            "x": sum(x_domain) / 2.0,
            "xanchor": "center",
            "xref": "paper",
            "y": y_domain[1],
            "yanchor": "bottom",
            "yref": "paper",
        }
        for k, (x_domain, y_domain) in zip(kpis, domains)
    ]
    if annotations:
        layout["annotations"] = annotations
    layout.update(margin={"l": 44, "r": 12, "t": 36, "b": 40}, font=dict(FONT))
    if shapes:  # update_layout leaves out an empty list
        layout["shapes"] = shapes
    layout.update(
        height=60 + 210 * rows,
        width=760,
        plot_bgcolor="white",
        paper_bgcolor="white",
        showlegend=False,
    )
    return figure(traces, layout)


QUADRANT_COLOURS = {"fix now": "#a1161a", "maintain": "#17692c", "monitor": "#8a5300", "low priority": "#555555"}
QUADRANT_SYMBOLS = {"fix now": "x", "maintain": "circle", "monitor": "triangle-up", "low priority": "square"}


def priority_figure(
    df: pd.DataFrame, importance_split: float, gap_split: float, title: str = "Priority matrix"
) -> go.Figure:
    """Importance (weight share) against gap (100 − score) with the quadrant lines; each KPI
    labelled; quadrants told by marker shape as well as colour. df: kpi name, importance, gap, quadrant.
    The figure is the one add_trace, add_vline/hline, add_annotation and update_layout would give."""
    x_max = max([importance_split * 2, *df["importance"].tolist()]) * 1.15 if len(df) else importance_split * 2
    df = df.sort_values(["gap", "importance"]).assign(
        label_at=[("top center", "bottom center")[i % 2] for i in range(len(df))]
    )
    traces = []
    for quadrant, colour in QUADRANT_COLOURS.items():
        part = df[df["quadrant"] == quadrant]
        if part.empty:
            continue
        traces.append(
            {
                "hovertemplate": "%{text}: importance %{x:.0f}%, gap %{y:.0f}<extra>" + quadrant + "</extra>",
                "marker": {
                    "color": colour,
                    "line": {"color": "white", "width": 1},
                    "size": 11,
                    "symbol": QUADRANT_SYMBOLS[quadrant],
                },
                "mode": "markers+text",
                "name": quadrant,
                "text": strings(part["name"].map(label)),
                "textfont": {"size": 10},
                "textposition": values(part["label_at"].tolist()),
                "x": values(part["importance"]),
                "y": values(part["gap"]),
                "type": "scatter",
            }
        )
    split_line = {"color": "#666", "dash": "dash", "width": 1}
    shapes = [
        {
            "line": dict(split_line),
            "type": "line",
            "x0": importance_split,
            "x1": importance_split,
            "xref": "x",
            "y0": 0,
            "y1": 1,
            "yref": "y domain",
        },
        {
            "line": dict(split_line),
            "type": "line",
            "x0": 0,
            "x1": 1,
            "xref": "x domain",
            "y0": gap_split,
            "y1": gap_split,
            "yref": "y",
        },
    ]
    annotations = [
        {
            "font": {"color": "#666", "size": 10},
            "showarrow": False,
            "text": corner,
            "x": x,
            "xanchor": anchor,
            "y": y,
            "yanchor": "top" if y == 100 else "bottom",
        }
        for x, y, corner, anchor in (
            (x_max, 100, "FIX NOW", "right"),
            (0, 100, "MONITOR", "left"),
            (x_max, 0, "MAINTAIN", "right"),
            (0, 0, "LOW PRIORITY", "left"),
        )
    ]
    layout = {
        "shapes": shapes,
        "annotations": annotations,
        **_layout_dict(title, "gap (100 − score)", height=380),
    }
    layout["yaxis"]["range"] = [-12, 108]
    layout["xaxis"].update(type="linear", range=values([0, x_max]), title={"text": "importance (% of weight)"})
    return figure(traces, layout)


def composite_bar_figure(df: pd.DataFrame, title: str = "Composite score by unit") -> go.Figure:
    """Units ranked by composite (0-100), best at the top. df: queries.ranking rows."""
    df = df.dropna(subset=["composite"]).sort_values("composite")
    names = [label(n) for n in df["unit_name"]]
    rows = list(range(len(df)))  # positions, not names: two units may share a name
    bar = {
        "cliponaxis": False,
        "customdata": values(names),
        "hovertemplate": "%{customdata}: %{x:.1f}<extra></extra>",
        "marker": {"color": LINE},
        "orientation": "h",
        "text": values([f"{v:.0f}" for v in df["composite"]]),
        "textposition": "outside",
        "x": values(df["composite"]),
        "y": values(rows),
        "type": "bar",
    }
    layout = _layout_dict(title, "", height=max(220, 28 * len(df) + 70))
    layout["xaxis"].update(type="linear", range=[0, 105], title={"text": "score (0–100)"})
    layout["yaxis"].update(
        type="linear",
        tickmode="array",
        tickvals=values(rows),
        ticktext=values(names),
        automargin=True,
        range=[-0.6, len(rows) - 0.4],
    )
    return figure([bar], layout)
