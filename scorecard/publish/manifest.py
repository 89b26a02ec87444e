"""The site's memory: manifest.json lists every published period and revision, and decides what a
publish covers (README: "What a publish does", versioning).

Published periods are frozen: nothing here ever rewrites an entry, it only adds revisions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import PublishError

MANIFEST = "manifest.json"
SCHEMA = 1


@dataclass(frozen=True)
class Publication:
    """One (period, revision) this run will publish."""

    period: str
    revision: int
    provisional: bool
    reason: str | None = None
    previous_revision: int | None = None


def load(site: Path) -> dict:
    path = site / MANIFEST
    if not path.exists():
        return {"schema": SCHEMA, "periods": []}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PublishError(f"{path}: cannot read the site's manifest ({exc}); restore it from a backup") from None
    if manifest.get("schema") != SCHEMA:
        raise PublishError(f"{path}: manifest schema {manifest.get('schema')!r}, expected {SCHEMA}")
    return manifest


def other_organisation(manifest: dict, units: set[str]) -> list[str]:
    """The site's published units when none of them is among `units`, else [].

    A site is one organisation's history: adding the months of a data set that shares no unit
    with it (another team's exports, or yours into the demo's site) would interleave two
    scorecards in one history."""
    published = {u["unit_id"] for entry in manifest["periods"] for u in entry.get("units", [])}
    return sorted(published) if published and not published & units else []


def dump(manifest: dict) -> str:
    """Stable text: entries newest first, keys sorted, so an unchanged manifest has unchanged bytes."""
    manifest = {
        **manifest,
        "periods": sorted(manifest["periods"], key=lambda e: (e["period"], e["revision"]), reverse=True),
    }
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def latest(manifest: dict, period: str) -> dict | None:
    entries = [e for e in manifest["periods"] if e["period"] == period]
    return max(entries, key=lambda e: e["revision"]) if entries else None


def select(
    manifest: dict,
    periods: dict[str, bool],
    period: str | None = None,
    restate: str | None = None,
    reason: str | None = None,
) -> tuple[list[Publication], list[str]]:
    """What to publish, and notes for the user.

    `periods` maps each period in the data to whether it is complete. By default: every complete
    period not published yet, and every period published only provisionally that is now complete.
    """
    notes: list[str] = []
    if restate:
        if period and period != restate:
            raise PublishError(f"PERIOD={period} and RESTATE={restate} disagree; give one of them")
        if not (reason or "").strip():
            raise PublishError(f'RESTATE={restate} needs REASON="...": the reason is shown on the new revision')
        current = latest(manifest, restate)
        if current is None:
            raise PublishError(f"RESTATE={restate}: that period is not published yet; publish it with PERIOD={restate}")
        if restate not in periods:
            raise PublishError(f"RESTATE={restate}: the data has no such period")
        return [
            Publication(
                restate, current["revision"] + 1, not periods[restate], (reason or "").strip(), current["revision"]
            )
        ], notes
    if period:
        if period not in periods:
            known = ", ".join(sorted(periods)[:1] + ["…"] + sorted(periods)[-1:]) if periods else "none"
            raise PublishError(f"PERIOD={period}: the data has no such period (periods: {known})")
        current = latest(manifest, period)
        if current is not None and not (current.get("provisional") and periods[period]):
            notes.append(
                f"{period} is already published (revision {current['revision']}) and left as it is; "
                f'to publish it again use RESTATE={period} REASON="..."'
            )
            return [], notes
        if not periods[period]:
            notes.append(f"{period} is not complete yet: published as provisional")
        return [_next(period, current, periods[period])], notes
    chosen = []
    for p, complete in sorted(periods.items()):
        current = latest(manifest, p)
        if complete and (current is None or current.get("provisional")):
            chosen.append(_next(p, current, complete))
    return chosen, notes


def _next(period: str, current: dict | None, complete: bool) -> Publication:
    if current is None:
        return Publication(period, 1, not complete)
    return Publication(
        period,
        current["revision"] + 1,
        not complete,
        "the period is now complete (earlier revision was provisional)",
        current["revision"],
    )
