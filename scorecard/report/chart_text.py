"""The text names of the charts (HTML ``alt``, PDF figure alternative text): what each chart
shows, in a sentence or two a screen reader can say. Numbers come from the same frames the
charts draw, formatted as the tables format them."""

from __future__ import annotations

import pandas as pd

from .formatting import is_missing
from .values import format_value


def _names(values) -> str:
    values = [str(v) for v in values]
    return ", ".join(values) if values else "none"


def trends_alt(trends: pd.DataFrame, kpis: list[dict]) -> str:
    """Small multiples of each weighted KPI over the periods shown, with the latest values."""
    periods = sorted(trends["period"].astype(str).unique()) if len(trends) else []
    span = f"{periods[0]} to {periods[-1]}" if periods else "no period"
    latest = []
    for k in kpis:
        df = trends[trends["kpi_id"] == k["kpi_id"]].sort_values("period")
        values = df["value"].dropna()
        if len(values):
            latest.append(f"{k['name']} {format_value(values.iloc[-1], k['kpi_unit'])}")
    return (
        f"Trend charts, one panel per weighted KPI ({len(kpis)}), {span}, with the target line, status "
        f"bands and 95% interval. Latest values: {_names(latest)}."
    )


def priority_alt(placed: pd.DataFrame, title: str = "Priority matrix") -> str:
    """The KPIs in each quadrant of importance against gap."""
    parts = []
    for quadrant in ("fix now", "monitor", "maintain", "low priority"):
        names = placed.loc[placed["quadrant"] == quadrant, "name"].tolist()
        if names:
            parts.append(f"{quadrant}: {_names(names)}")
    return (
        f"{title}: each weighted KPI placed by importance (share of the weight) against its gap to "
        f"target (100 − score). " + "; ".join(parts) + "."
    )


def ranking_alt(ranking: pd.DataFrame, title: str = "Composite score by unit") -> str:
    """Units ranked by composite, best first."""
    df = ranking.dropna(subset=["composite"]).sort_values("composite", ascending=False)
    items = [f"{r.unit_name} {r.composite:.0f}" for r in df.itertuples() if not is_missing(r.composite)]
    return f"{title} (0–100), best first: {_names(items)}."
