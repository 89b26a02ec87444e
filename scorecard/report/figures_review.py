"""The initiative chart and its text name: the treated and the control units' monthly values of
the initiative's KPI around its start, from ``review.initiative_months``.

Treated and control differ by line style and marker shape as well as colour (paper, greyscale);
the start is a vertical line, the before and after windows are shaded.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .figure_dicts import figure, values
from .figures import FONT, LINE, label
from .formatting import is_missing
from .values import format_value

CONTROL = "#8c6d1f"
WINDOW = "rgba(31, 78, 121, 0.07)"
ARMS = (
    ("treated", "Treated units", dict(color=LINE, width=2.5), dict(symbol="circle", size=7)),
    ("control", "Control units", dict(color=CONTROL, width=2, dash="dash"), dict(symbol="square", size=6)),
)


def initiative_figure(months: pd.DataFrame, r) -> go.Figure:
    """Treated vs control monthly values; ``r`` is the initiative's row of
    ``review.unit_initiatives`` (name, kpi_name, kpi_unit, start, window_months). The figure is
    the one add_trace and update_layout would give."""
    periods = sorted(months["period"].astype(str).unique())
    traces = []
    for arm, name, line, marker in ARMS:
        df = months[months["arm"] == arm].set_index("period").reindex(periods)
        traces.append(
            {
                "connectgaps": False,
                "customdata": values([0 if is_missing(n) else int(n) for n in df["n"]]),
                "hovertemplate": f"{name}<br>%{{x}}: %{{y:.1f}} (n %{{customdata}})<extra></extra>",
                "line": _sorted(line),
                "marker": _sorted(marker),
                "mode": "lines+markers",
                "name": name,
                "x": values(periods),
                "y": values([None if is_missing(v) else float(v) for v in df["value"]]),
                "type": "scatter",
            }
        )
    shapes, annotations = [], []
    start = str(r.start)
    if start in periods:
        s = periods.index(start)
        w = int(r.window_months)
        # category axes place item i at x = i: the start line sits between the last month before and the start
        for x0, x1 in ((s - w - 0.5, s - 0.5), (s - 0.5, s + w - 0.5)):
            x0, x1 = max(x0, -0.5), min(x1, len(periods) - 0.5)
            if x0 < x1:
                shapes.append(
                    {
                        "fillcolor": WINDOW,
                        "type": "rect",
                        "x0": x0,
                        "x1": x1,
                        "xref": "x",
                        "y0": 0,
                        "y1": 1,
                        "yref": "paper",
                        "line": {"width": 0},
                    }
                )
        shapes.append(
            {
                "line": {"color": "#333", "dash": "dot"},
                "type": "line",
                "x0": s - 0.5,
                "x1": s - 0.5,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
            }
        )
        annotations.append(
            {
                "font": {"size": 11},
                "showarrow": False,
                "text": label(f"start {start}"),
                "x": s - 0.5,
                "xanchor": "left",
                "xref": "x",
                "y": 1,
                "yanchor": "bottom",
                "yref": "paper",
            }
        )
    y_title = label(r.kpi_unit if r.kpi_unit not in ("", None) else r.kpi_name)
    layout = {
        "title": {
            "font": {"size": 14},
            "text": label(f"{r.name}: {r.kpi_name}, treated vs control"),
            "x": 0,
            "xanchor": "left",
        },
        "margin": {"l": 56, "r": 16, "t": 48, "b": 64},
        "font": dict(FONT),
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.14, "yanchor": "top"},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#e5e5e5", "zeroline": False},
        "xaxis": {
            "type": "category",
            "gridcolor": "#f0f0f0",
            "categoryorder": "array",
            "categoryarray": values(periods),
        },
        "height": 300,
        "width": 720,
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "showlegend": True,
    }
    # update_layout leaves out an empty list
    layout.update({k: v for k, v in (("shapes", shapes), ("annotations", annotations)) if v})
    return figure(traces, layout)


def _sorted(props: dict) -> dict:
    """A flat property dict in the key order plotly's constructors give it."""
    return {k: props[k] for k in sorted(props)}


def initiative_alt(months: pd.DataFrame, r) -> str:
    """What the initiative chart shows, with each arm's first and last monthly value."""
    periods = sorted(months["period"].astype(str).unique())
    span = f"{periods[0]} to {periods[-1]}" if periods else "no month yet"
    parts = []
    for arm, name, _line, _marker in ARMS:
        arm_months = months[(months["arm"] == arm) & months["value"].notna()].sort_values("period")
        if len(arm_months):
            first, last = arm_months.iloc[0], arm_months.iloc[-1]
            parts.append(
                f"{name.lower()} from {format_value(first['value'], r.kpi_unit)} ({first['period']}) "
                f"to {format_value(last['value'], r.kpi_unit)} ({last['period']})"
            )
    values = "; ".join(parts) if parts else "no values"
    return (
        f"Line chart of {r.kpi_name} per month for the units treated by {r.name} and their control units, "
        f"{span}, start {r.start} ({int(r.window_months)} months compared before and after, shaded): "
        f"{values}. Verdict as of this period: {r.verdict}."
    )
