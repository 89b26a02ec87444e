"""The report figures as plotly's validated API builds them (the code the dict builders in
scorecard/report/figures.py and figures_review.py replaced): the reference their output must
equal, key order and value types included."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from scorecard.report.figures import FONT, LINE, QUADRANT_COLOURS, QUADRANT_SYMBOLS, TARGET, _zones, label
from scorecard.report.figures_review import ARMS, WINDOW
from scorecard.report.formatting import is_missing


def _layout(fig: go.Figure, title: str, y_title: str, height: int = 260) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=14)),
        height=height,
        width=720,
        margin=dict(l=56, r=16, t=40, b=36),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        showlegend=False,
        yaxis=dict(title=y_title, gridcolor="#e5e5e5", zeroline=False),
        xaxis=dict(type="category", gridcolor="#f0f0f0"),
    )
    return fig


def _trend_panel(
    df: pd.DataFrame, name: str, direction: str, min_sample: int, axis: str = ""
) -> tuple[list[go.Scatter], list[dict], list[float] | None]:
    """One KPI's panel on axes x{axis}/y{axis}: traces (interval band, target step line, rolling
    3-month line when df has one, values with low-n markers), status-band shapes, y range.
    Shapes are plain dicts added in one go: plotly's add_hrect per band costs ~30 ms each."""
    periods = list(df["period"])
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
                        dict(
                            type="rect",
                            xref=f"x{axis} domain",
                            yref=f"y{axis}",
                            x0=0,
                            x1=1,
                            y0=a,
                            y1=b,
                            fillcolor=colour,
                            line_width=0,
                            layer="below",
                        )
                    )
    traces = []
    if df["ci_low"].notna().any():
        traces.append(
            go.Scatter(
                x=periods, y=df["ci_high"], mode="lines", line=dict(width=0), hoverinfo="skip", connectgaps=False
            )
        )
        traces.append(
            go.Scatter(
                x=periods,
                y=df["ci_low"],
                mode="lines",
                line=dict(width=0),
                fill="tonexty",
                fillcolor="rgba(31, 78, 121, 0.15)",
                hoverinfo="skip",
                connectgaps=False,
                name="95% interval",
            )
        )
    if target is not None:
        traces.append(
            go.Scatter(
                x=periods,
                y=df["target"],
                mode="lines",
                name="target",
                line=dict(color=TARGET, width=1.5, dash="dash", shape="hv"),
            )
        )
    if "rolling3" in df and df["rolling3"].notna().any():
        traces.append(
            go.Scatter(
                x=periods,
                y=df["rolling3"],
                mode="lines",
                name="rolling 3 months",
                line=dict(color="#777777", width=1.5, dash="dot"),
                hovertemplate="%{x}: %{y:.1f} (3 months)<extra></extra>",
            )
        )
    low_n = df["n"] < min_sample
    traces.append(
        go.Scatter(
            x=periods,
            y=df["value"],
            mode="lines+markers",
            name=name,
            connectgaps=False,
            line=dict(color=LINE, width=2),
            marker=dict(
                size=[8 if small else 6 for small in low_n],
                symbol=["circle-open" if small else "circle" for small in low_n],
                color=LINE,
                line=dict(width=1.5, color=LINE),
            ),
            customdata=df["n"],
            hovertemplate="%{x}: %{y:.1f} (n=%{customdata})<extra></extra>",
        )
    )
    return traces, shapes, y_range


def trends_figure(trends: pd.DataFrame, kpis: list[dict], min_sample: int = 30) -> go.Figure:
    """Small multiples: one panel per KPI (kpis: dicts with kpi_id, name, kpi_unit, direction),
    two columns, shared period axis. One figure, so the PDF needs one image export, not six."""
    cols = 2 if len(kpis) > 1 else 1
    rows = max(1, math.ceil(len(kpis) / cols))
    titles = [label(f"{k['name']} ({k['kpi_unit']})") for k in kpis]
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=titles, vertical_spacing=0.42 / rows, horizontal_spacing=0.09
    )
    traces, rows_of, cols_of, shapes = [], [], [], []
    for i, k in enumerate(kpis):
        df = trends[trends["kpi_id"] == k["kpi_id"]].sort_values("period")
        axis = "" if i == 0 else str(i + 1)
        panel, bands, y_range = _trend_panel(df, k["name"], k["direction"], min_sample, axis)
        traces += panel
        rows_of += [i // cols + 1] * len(panel)
        cols_of += [i % cols + 1] * len(panel)
        shapes += bands
        if y_range:
            fig.layout[f"yaxis{axis}"].range = y_range
    if traces:
        fig.add_traces(traces, rows=rows_of, cols=cols_of)
    fig.update_xaxes(type="category", gridcolor="#f0f0f0", tickangle=-45, tickfont=dict(size=9))
    fig.update_yaxes(gridcolor="#e5e5e5", zeroline=False, tickfont=dict(size=9))
    fig.update_annotations(font=dict(size=11))
    fig.update_layout(
        shapes=shapes,
        height=60 + 210 * rows,
        width=760,
        margin=dict(l=44, r=12, t=36, b=40),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        showlegend=False,
    )
    return fig


def priority_figure(
    df: pd.DataFrame, importance_split: float, gap_split: float, title: str = "Priority matrix"
) -> go.Figure:
    """Importance (weight share) against gap (100 − score) with the quadrant lines; each KPI
    labelled; quadrants told by marker shape as well as colour. df: kpi name, importance, gap, quadrant."""
    fig = go.Figure()
    x_max = max([importance_split * 2, *df["importance"].tolist()]) * 1.15 if len(df) else importance_split * 2
    df = df.sort_values(["gap", "importance"]).assign(
        label_at=[("top center", "bottom center")[i % 2] for i in range(len(df))]
    )
    for quadrant, colour in QUADRANT_COLOURS.items():
        part = df[df["quadrant"] == quadrant]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["importance"],
                y=part["gap"],
                mode="markers+text",
                name=quadrant,
                text=part["name"].map(label),
                textposition=part["label_at"].tolist(),
                textfont=dict(size=10),
                marker=dict(
                    size=11, color=colour, symbol=QUADRANT_SYMBOLS[quadrant], line=dict(width=1, color="white")
                ),
                hovertemplate="%{text}: importance %{x:.0f}%, gap %{y:.0f}<extra>" + quadrant + "</extra>",
            )
        )
    fig.add_vline(x=importance_split, line=dict(color="#666", width=1, dash="dash"))
    fig.add_hline(y=gap_split, line=dict(color="#666", width=1, dash="dash"))
    for x, y, corner, anchor in (
        (x_max, 100, "FIX NOW", "right"),
        (0, 100, "MONITOR", "left"),
        (x_max, 0, "MAINTAIN", "right"),
        (0, 0, "LOW PRIORITY", "left"),
    ):
        fig.add_annotation(
            x=x,
            y=y,
            text=corner,
            showarrow=False,
            xanchor=anchor,
            yanchor="top" if y == 100 else "bottom",
            font=dict(size=10, color="#666"),
        )
    fig = _layout(fig, title, "gap (100 − score)", height=380)
    fig.update_xaxes(type="linear", range=[0, x_max], title="importance (% of weight)")
    fig.update_yaxes(range=[-12, 108])
    return fig


def composite_bar_figure(df: pd.DataFrame, title: str = "Composite score by unit") -> go.Figure:
    """Units ranked by composite (0-100), best at the top. df: queries.ranking rows."""
    df = df.dropna(subset=["composite"]).sort_values("composite")
    names = [label(n) for n in df["unit_name"]]
    rows = list(range(len(df)))  # positions, not names: two units may share a name
    fig = go.Figure(
        go.Bar(
            x=df["composite"],
            y=rows,
            orientation="h",
            marker_color=LINE,
            customdata=names,
            text=[f"{v:.0f}" for v in df["composite"]],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{customdata}: %{x:.1f}<extra></extra>",
        )
    )
    fig = _layout(fig, title, "", height=max(220, 28 * len(df) + 70))
    fig.update_xaxes(range=[0, 105], title="score (0–100)", type="linear")
    fig.update_yaxes(
        type="linear",
        tickmode="array",
        tickvals=rows,
        ticktext=names,
        title="",
        automargin=True,
        range=[-0.6, len(rows) - 0.4],
    )
    return fig


def initiative_figure(months: pd.DataFrame, r) -> go.Figure:
    """Treated vs control monthly values; ``r`` is the initiative's row of
    ``review.unit_initiatives`` (name, kpi_name, kpi_unit, start, window_months)."""
    periods = sorted(months["period"].astype(str).unique())
    fig = go.Figure()
    for arm, name, line, marker in ARMS:
        df = months[months["arm"] == arm].set_index("period").reindex(periods)
        values = [None if is_missing(v) else float(v) for v in df["value"]]
        fig.add_trace(
            go.Scatter(
                x=periods,
                y=values,
                name=name,
                mode="lines+markers",
                line=line,
                marker=marker,
                connectgaps=False,
                customdata=[0 if is_missing(n) else int(n) for n in df["n"]],
                hovertemplate=f"{name}<br>%{{x}}: %{{y:.1f}} (n %{{customdata}})<extra></extra>",
            )
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
                    dict(type="rect", xref="x", yref="paper", x0=x0, x1=x1, y0=0, y1=1, fillcolor=WINDOW, line_width=0)
                )
        shapes.append(
            dict(
                type="line",
                xref="x",
                yref="paper",
                x0=s - 0.5,
                x1=s - 0.5,
                y0=0,
                y1=1,
                line=dict(color="#333", dash="dot"),
            )
        )
        annotations.append(
            dict(
                x=s - 0.5,
                y=1,
                xref="x",
                yref="paper",
                text=label(f"start {start}"),
                showarrow=False,
                xanchor="left",
                yanchor="bottom",
                font=dict(size=11),
            )
        )
    fig.update_layout(
        title=dict(text=label(f"{r.name}: {r.kpi_name}, treated vs control"), x=0, xanchor="left", font=dict(size=14)),
        height=300,
        width=720,
        margin=dict(l=56, r=16, t=48, b=64),
        font=FONT,
        plot_bgcolor="white",
        paper_bgcolor="white",
        showlegend=True,
        legend=dict(orientation="h", x=0, xanchor="left", y=-0.14, yanchor="top"),
        yaxis=dict(
            title=label(r.kpi_unit if r.kpi_unit not in ("", None) else r.kpi_name), gridcolor="#e5e5e5", zeroline=False
        ),
        xaxis=dict(type="category", gridcolor="#f0f0f0", categoryorder="array", categoryarray=periods),
        shapes=shapes,
        annotations=annotations,
    )
    return fig
