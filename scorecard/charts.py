"""Plotly figures for the reports, built from reportdata's DataFrames.

Figures are drawn for paper as well as screens: status bands in greys-friendly tints, markers
whose shape (not only colour) marks low-n points, no reliance on hover to read a value.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

GREEN_BAND = "rgba(46, 160, 67, 0.10)"
AMBER_BAND = "rgba(230, 160, 0, 0.14)"
RED_BAND = "rgba(210, 50, 50, 0.10)"
LINE = "#1f4e79"
TARGET = "#2e7d32"
FONT = dict(family="Helvetica, Arial, sans-serif", size=12, color="#222")


def _layout(fig: go.Figure, title: str, y_title: str, height: int = 260) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=14)),
        height=height, width=720, margin=dict(l=56, r=16, t=40, b=36),
        font=FONT, plot_bgcolor="white", paper_bgcolor="white", showlegend=False,
        yaxis=dict(title=y_title, gridcolor="#e5e5e5", zeroline=False),
        xaxis=dict(type="category", gridcolor="#f0f0f0"),
    )
    return fig


def trend_figure(df: pd.DataFrame, name: str, kpi_unit: str, direction: str, min_sample: int = 30) -> go.Figure:
    """One KPI over the last periods: value line, 95% interval band, target line, status bands.

    df: reportdata.trend rows for one KPI (period, value, ci_low, ci_high, target, amber, n, status).
    """
    df = df.sort_values("period")
    periods = list(df["period"])
    fig = go.Figure()
    values = [v for v in df["value"] if v is not None and not pd.isna(v)]
    target = df["target"].dropna().iloc[-1] if df["target"].notna().any() else None
    amber = df["amber"].dropna().iloc[-1] if df["amber"].notna().any() else None
    lows = [v for v in df["ci_low"] if v is not None and not pd.isna(v)]
    highs = [v for v in df["ci_high"] if v is not None and not pd.isna(v)]
    span = values + lows + highs + [x for x in (target, amber) if x is not None]
    if span:
        lo, hi = min(span), max(span)
        pad = (hi - lo) * 0.12 or max(abs(hi) * 0.1, 1)
        y0, y1 = lo - pad, hi + pad
        if target is not None and amber is not None:
            if direction == "higher":
                zones = [(target, math.inf, GREEN_BAND), (amber, target, AMBER_BAND), (-math.inf, amber, RED_BAND)]
            else:
                zones = [(-math.inf, target, GREEN_BAND), (target, amber, AMBER_BAND), (amber, math.inf, RED_BAND)]
            for z0, z1, colour in zones:
                a, b = max(z0, y0), min(z1, y1)
                if a < b:
                    fig.add_hrect(y0=a, y1=b, fillcolor=colour, line_width=0, layer="below")
        fig.update_yaxes(range=[y0, y1])
    if df["ci_low"].notna().any():
        fig.add_trace(go.Scatter(x=periods, y=df["ci_high"], mode="lines", line=dict(width=0),
                                 hoverinfo="skip", connectgaps=False))
        fig.add_trace(go.Scatter(x=periods, y=df["ci_low"], mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor="rgba(31, 78, 121, 0.15)", hoverinfo="skip", connectgaps=False,
                                 name="95% interval"))
    if target is not None:
        fig.add_trace(go.Scatter(x=periods, y=df["target"], mode="lines", name="target",
                                 line=dict(color=TARGET, width=1.5, dash="dash", shape="hv")))
    low_n = df["n"] < min_sample
    fig.add_trace(go.Scatter(
        x=periods, y=df["value"], mode="lines+markers", name=name, connectgaps=False,
        line=dict(color=LINE, width=2.2),
        marker=dict(size=[9 if small else 7 for small in low_n],
                    symbol=["circle-open" if small else "circle" for small in low_n],
                    color=LINE, line=dict(width=1.5, color=LINE)),
        customdata=df["n"], hovertemplate="%{x}: %{y:.1f} (n=%{customdata})<extra></extra>",
    ))
    unit_label = {"%": "%", "points": "points", "minutes": "minutes", "hours": "hours"}.get(kpi_unit, kpi_unit)
    subtitle = " · dashed: target · open marker: low n" if target is not None else " · open marker: low n"
    return _layout(fig, f"{name}<span style='font-size:11px;color:#555'>{subtitle}</span>", unit_label)


def composite_bar_figure(df: pd.DataFrame, title: str = "Composite score by unit") -> go.Figure:
    """Units ranked by composite (0-100), best at the top. df: reportdata.ranking rows."""
    df = df.dropna(subset=["composite"]).sort_values("composite")
    fig = go.Figure(go.Bar(
        x=df["composite"], y=df["unit_name"], orientation="h", marker_color=LINE,
        text=[f"{v:.0f}" for v in df["composite"]], textposition="outside", cliponaxis=False,
    ))
    fig = _layout(fig, title, "", height=max(220, 28 * len(df) + 70))
    fig.update_xaxes(range=[0, 105], title="score (0–100)", type="linear")
    fig.update_yaxes(type="category", title="", automargin=True)
    return fig
