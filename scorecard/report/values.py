"""Computed values as a reader expects them: KPI values with their unit, changes flagged only when
larger than the noise, and the rows of the scorecard and comparison tables. Pure functions: no
database."""

from __future__ import annotations

from functools import partial
from typing import cast

import pandas as pd

from .formatting import is_missing, spark_label


def format_value(value, kpi_unit: str, digits: int | None = None) -> str:
    """A KPI value as a reader expects it: 84.2%, 42 min, +35, 5.9, 1,234."""
    if is_missing(value):
        return "–"
    if kpi_unit == "%":
        return f"{value:.1f}%"
    if kpi_unit == "points":
        return f"{value:+.0f}"
    if kpi_unit == "count":
        return f"{value:,.0f}"
    if kpi_unit == "minutes":
        return f"{value:.1f} min"
    if kpi_unit == "hours":
        return f"{value:.1f} h"
    if kpi_unit == "currency":
        return f"{value:,.2f}"
    return f"{value:.{digits if digits is not None else 1}f}"


def format_change(value, kpi_unit: str) -> str:
    if is_missing(value):
        return "–"
    suffix = {"%": " pts", "minutes": " min", "hours": " h"}.get(kpi_unit, "")
    return f"{value:+.1f}{suffix}"


def _interval(row) -> str:
    if row.ci_low is None or pd.isna(row.ci_low):
        return "–"
    low, high = (format_value(v, row.kpi_unit).removesuffix("%").split(" ")[0] for v in (row.ci_low, row.ci_high))
    return f"{low} – {high}"


def flagged_change(delta, significant, direction: str, kpi_unit: str) -> str:
    """A change with a flag only when it is larger than the noise: ▲ better, ▼ worse."""
    text = format_change(delta, kpi_unit)
    if is_missing(delta) or is_missing(significant) or not significant or direction not in ("higher", "lower"):
        return text
    better = (delta > 0) == (direction == "higher")
    return f"{text} {'▲' if better else '▼'}"


CHANGE_NOTE = (
    "▲ / ▼: a change larger than the noise (two-sided test at 5%), better / worse. "
    "Changes without a mark are within what sampling alone produces."
)


def scorecard_rows(card: pd.DataFrame, history: pd.DataFrame | None = None) -> list[dict]:
    """unit_scorecard rows formatted for the scorecard table, grouped by perspective; `history`
    (reportdata.trend) adds each KPI's last 13 values for a sparkline."""
    rows = []
    for r in card.itertuples():
        unit, direction = cast(str, r.kpi_unit), cast(str, r.direction)  # text columns of the card
        spark = []
        if history is not None:
            spark = history.loc[history["kpi_id"] == r.kpi_id].sort_values("period")["value"].tolist()
        rows.append(
            {
                "perspective": r.perspective,
                "kpi": r.name,
                "trend": spark,
                "trend_label": f"{r.name}: " + spark_label(spark, partial(format_value, kpi_unit=unit)),
                "value": format_value(r.value, unit),
                "target": format_value(r.target, unit),
                "status": r.status,
                "previous": flagged_change(r.prev_delta, r.prev_significant, direction, unit),
                "year_ago": flagged_change(r.year_delta, r.year_significant, direction, unit),
                "n": f"{int(cast(float, r.n)):,}",
                "interval": _interval(r),
                "benchmark": "–" if is_missing(r.bench_position) else r.bench_position,
                "weight": f"{cast(float, r.weight):g}%" if r.weight else "tracked",
                "owner": r.owner or "",
            }
        )
    return rows


def delta(value, before):
    if is_missing(value) or is_missing(before):
        return None
    return value - before


def composite_note(card: pd.DataFrame) -> str:
    """Which weighted KPIs the composite leaves out, and why (spec: the report says so)."""
    out = card[(card["weight"] > 0) & ~card["status"].isin(["green", "amber", "red"])]
    if out.empty:
        return ""
    reasons = {"low-n": "too few responses", "no-data": "no data", "no-target": "no target"}
    return (
        "Left out of the composite: "
        + "; ".join(f"{r.name} ({reasons.get(cast(str, r.status), r.status)})" for r in out.itertuples())
        + "."
    )


def comparison_rows(card: pd.DataFrame) -> list[dict]:
    """Each KPI with a value against the company, the siblings and the external benchmark."""
    footnote = {key: i for i, key in enumerate(_benchmark_sources(card), start=1)}
    rows = []
    for r in card[card["value"].notna() & (card["kpi_id"] != "volume")].itertuples():
        unit = cast(str, r.kpi_unit)
        key = _source_key(r)
        mark = f" [{footnote[key]}]" if key is not None and key in footnote else ""
        bench = "–"
        if not is_missing(r.bench_median):
            bench = format_value(r.bench_median, unit)
            if not is_missing(r.bench_p25) and not is_missing(r.bench_p75):
                bench += f" ({format_value(r.bench_p25, unit)} – {format_value(r.bench_p75, unit)})"
        rank, siblings = cast(float, r.sibling_rank), cast(float, r.sibling_count)
        rows.append(
            {
                "kpi": r.name,
                "value": format_value(r.value, unit),
                "company": format_value(r.company_value, unit),
                "vs_company": format_change(r.vs_company, unit),
                "rank": "–" if is_missing(rank) or siblings < 2 else f"{int(rank)} of {int(siblings)}",
                "benchmark": bench,
                "position": "–" if is_missing(r.bench_position) else r.bench_position,
                "source": "–"
                if is_missing(r.bench_source)
                else f"{r.bench_source} ({int(cast(float, r.bench_year))}){mark}",
            }
        )
    return rows


def _benchmark_sources(card: pd.DataFrame) -> list[tuple[str, int, str, str]]:
    """The benchmarks a comparison table shows that carry a note or a link, in table order,
    each once: (source, year, note, url)."""
    shown = card[card["value"].notna() & (card["kpi_id"] != "volume") & card["bench_source"].notna()]
    keys = (_source_key(r) for r in shown.itertuples())
    return list(dict.fromkeys(k for k in keys if k is not None))


def _source_key(r) -> tuple[str, int, str, str] | None:
    """A benchmark row's (source, year, note, url); None when it has no note and no link."""
    if is_missing(r.bench_source):
        return None
    note, url = (_text(getattr(r, f"bench_{c}", None)) for c in ("note", "url"))
    return (str(r.bench_source), int(r.bench_year), note, url) if note or url else None


def _text(value) -> str:
    return "" if is_missing(value) else str(value).strip()


def benchmark_footnotes(card: pd.DataFrame) -> list[str]:
    """The caveats of the external benchmarks shown (the benchmark file's `note` and `url`), one
    line per source, numbered like the marks in :func:`comparison_rows`."""
    return [
        f"[{i}] {source} ({year})" + (f": {note}" if note else "") + (f" Source: {url}" if url else "")
        for i, (source, year, note, url) in enumerate(_benchmark_sources(card), start=1)
    ]


NPS_NOTE = (
    "Our NPS is transactional (asked after a contact); published NPS benchmarks are mostly "
    "relationship NPS (asked about the brand), so the two are not comparable and no external "
    "NPS benchmark is shown."
)


def fix_now(matrix: pd.DataFrame, limit: int = 3) -> list[str]:
    """The 'fix now' KPIs (largest gap first) as one line each, with their owner."""
    rows = matrix[(matrix["quadrant"] == "fix now") & ~matrix["tracked"]].head(limit)
    return [
        f"{r.name}: gap {r.gap:.0f} of 100, {r.importance:.0f}% of the weight; owner {cast(str | None, r.owner) or 'not set'}"
        for r in rows.itertuples()
    ]


def mix_shift_lines(shifts: pd.DataFrame, with_unit: bool = False) -> list[str]:
    return [(f"{r.unit_name}: " if with_unit else "") + f"Mix shift. {r.message}" for r in shifts.itertuples()]
