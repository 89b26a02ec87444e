"""The history page from the site's manifest: every published period and revision, and each
unit's composite per period as published (read from each revision's frozen scorecard.csv)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .escape import md_escape
from .formatting import records
from .values import format_value


def load_entries(manifest: str | Path) -> list[dict]:
    """The manifest's entries (one per period and revision); none before the first publish."""
    path = Path(manifest)
    return json.loads(path.read_text())["periods"] if path.exists() else []


def newest_first(entries: list[dict]) -> list[dict]:
    return sorted(entries, key=lambda e: (e["period"], e["revision"]), reverse=True)


def latest_revisions(entries: list[dict]) -> dict[str, dict]:
    """The latest revision of every period, by period."""
    latest: dict[str, dict] = {}
    for e in entries:
        if e["period"] not in latest or e["revision"] > latest[e["period"]]["revision"]:
            latest[e["period"]] = e
    return latest


def revisions_markdown(entries: list[dict], root: str) -> str:
    """The table of periods and revisions (newest first) with the reason and the files of each."""
    if not entries:
        return "Nothing published yet."
    lines = ["| Period | Revision | Published | Catalog | Why | Files |", "|---|---:|---|---:|---|---|"]
    for e in newest_first(entries):
        flag = " (provisional)" if e.get("provisional") else ""
        why = md_escape(e["reason"]) if e.get("reason") else ("first publication" if e["revision"] == 1 else "–")
        files = [f"[overview]({root}{e['html']})"]
        if e.get("pack"):
            files.append(f"[pack PDF]({root}{e['pack']})")
        files.append(f"[scorecard.csv]({root}{e['scorecard_csv']})")
        if e.get("initiatives_csv"):
            files.append(f"[initiatives.csv]({root}{e['initiatives_csv']})")
        lines.append(
            f"| {e['period']}{flag} | {e['revision']} | {e['published_at'][:10]} | "
            f"{e.get('catalog_version', '–')} | {why} | {' · '.join(files)} |"
        )
    return "\n".join(lines)


def published_composites(entry: dict, site: Path, database: str) -> dict[str, float | None]:
    """Each unit's composite as published in that revision: from its frozen scorecard.csv; a
    revision being published in this run has none yet and its numbers are the database's."""
    path = site / entry["scorecard_csv"]
    if path.exists():
        with path.open(encoding="utf-8", newline="") as fh:
            return {
                r["unit_id"]: (float(r["value"]) if r["value"] not in ("", None) else None)
                for r in csv.DictReader(fh)
                if r["kpi_id"] == "composite"
            }
    from .queries import open_report, ranking

    con = open_report(database)
    return {r.unit_id: r.composite for r in records(ranking(con, entry["period"]))}


def composites_markdown(entries: list[dict], site: Path, database: str, root: str) -> str:
    """Composite per unit (rows, in the order units first appear) over every published period
    (columns, its latest revision), each a link to that unit's page; '' when nothing is published."""
    latest = latest_revisions(entries)
    periods = sorted(latest)
    if not periods:
        return ""
    composites = {p: published_composites(latest[p], site, database) for p in periods}
    names: dict[str, str] = {}
    order: list[str] = []
    for p in periods:
        for u in latest[p]["units"]:
            if u["unit_id"] not in names:
                order.append(u["unit_id"])
            names[u["unit_id"]] = u["unit_name"]
    lines = ["| Unit | " + " | ".join(periods) + " |", "|---|" + "---:|" * len(periods)]
    for unit_id in order:
        cells = []
        for p in periods:
            page = next((u["html"] for u in latest[p]["units"] if u["unit_id"] == unit_id), None)
            value = format_value(composites[p].get(unit_id), "score", 0)
            cells.append(f"[{value}]({root}{page})" if page else "–")
        lines.append(f"| {md_escape(names[unit_id])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
