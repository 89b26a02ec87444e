"""The review loop on a unit's page: owners' comments and actions, accountable owners,
escalations that reached the unit, the initiatives it is treated by, and what a restatement
changed in the comments.

The data functions of ``scorecard.commentary`` and ``scorecard.accountability`` return frames;
this module turns them into table rows (plain text: the table model escapes it for every
format) and holds the few queries those modules do not have. Commentary text is masked at load
(validation.py), so nothing here sees a raw e-mail address or phone number.

A published revision keeps the comments it showed in ``commentary.csv`` beside its
``scorecard.csv`` (:func:`write_commentary_csv`); a restatement compares the current comments of
the period with that file (:func:`commentary_changes`), as ``queries.changes_since`` does for
the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import duckdb
import pandas as pd

from .formatting import is_missing
from .values import format_change, format_value

COMMENTARY_CSV = "commentary.csv"
# One row per comment of the period, as the contract has it (one row per period, unit, KPI, action).
COMMENTARY_COLUMNS = ("period", "unit_id", "kpi_id", "author", "analysis", "action", "due", "action_status")
_KEY = ("unit_id", "kpi_id", "action")
UNIT_LEVEL = "Whole unit"  # the KPI cell of a unit-level comment or action


# --------------------------------------------------------------------------- small helpers
def _text(value) -> str:
    return "" if is_missing(value) else str(value)


def _day(value) -> str:
    """A date as YYYY-MM-DD ('' when missing), whatever type the driver returned."""
    if is_missing(value):
        return ""
    return str(value)[:10]


def due_text(due, overdue) -> str:
    """The due date, with "overdue" when it has passed at the period's end (in words: the table
    also gives the cell the red status style, never colour alone)."""
    day = _day(due)
    if not day:
        return ""
    return f"{day}, overdue" if bool(overdue) and not is_missing(overdue) else day


def _overdue_status(overdue) -> str | None:
    return "red" if not is_missing(overdue) and bool(overdue) else None


# --------------------------------------------------------------------------- comments
def unit_comment_lines(comments: pd.DataFrame) -> list[dict]:
    """The unit-level comments (``commentary.unit_comments``) as plain-text parts: the analysis,
    who wrote it, and the action line (empty when there is none)."""
    out = []
    for r in comments.itertuples():
        action = ""
        if _text(r.action):
            parts = [f"Action: {r.action}"]
            if _day(r.due):
                parts.append(f"due {due_text(r.due, r.overdue)}")
            parts.append(_text(r.action_status) or "planned")
            action = " · ".join(parts)
        out.append({"analysis": _text(r.analysis), "author": _text(r.author), "action": action})
    return out


def kpi_comment_rows(card: pd.DataFrame, comments: pd.DataFrame, missing: pd.DataFrame) -> list[dict]:
    """One row per KPI comment (``commentary.kpi_comments``) and per red "fix now" KPI without one
    (``commentary.missing_comments``), in the scorecard's KPI order, with the KPI's status."""
    status = dict(zip(card["kpi_id"], card["status"]))
    order = {k: i for i, k in enumerate(card["kpi_id"])}
    rows: list[dict[str, Any]] = []
    for r in comments.itertuples():
        rows.append(
            {
                "_order": order.get(r.kpi_id, len(order)),
                "kpi": r.kpi_name,
                "status": status.get(r.kpi_id),
                "comment": _text(r.analysis),
                "author": _text(r.author),
                "action": _text(r.action),
                "due": due_text(r.due, r.overdue),
                "due_status": _overdue_status(r.overdue),
                "action_status": (_text(r.action_status) or "planned") if _text(r.action) else "",
            }
        )
    for r in missing.itertuples():
        rows.append(
            {
                "_order": order.get(r.kpi_id, len(order)),
                "kpi": r.kpi_name,
                "status": status.get(r.kpi_id),
                "comment": r.message,
                "author": _text(r.owner),
                "action": "",
                "due": "",
                "due_status": None,
                "action_status": "",
            }
        )
    rows.sort(key=lambda row: row["_order"])  # stable: comments before the gap of the same KPI
    for row in rows:
        del row["_order"]
    return rows


def carried_action_rows(carried: pd.DataFrame) -> list[dict]:
    """Actions written in earlier periods and still open (``commentary.carried_actions``)."""
    return [
        {
            "kpi": _text(r.kpi_name) or UNIT_LEVEL,
            "action": _text(r.action),
            "author": _text(r.author),
            "since": _text(r.since_period),
            "updated": _text(r.last_update),
            "due": due_text(r.due, r.overdue),
            "due_status": _overdue_status(r.overdue),
            "action_status": _text(r.action_status) or "planned",
        }
        for r in carried.itertuples()
    ]


def with_accountable(rows: list[dict], card: pd.DataFrame, roles: pd.DataFrame) -> list[dict]:
    """Scorecard rows (``values.scorecard_rows(card, ...)``, in card order) with the accountable
    owner of each KPI (``accountability.roles``) as ``accountable``."""
    accountable = dict(zip(roles["kpi_id"], roles["accountable"]))
    if len(rows) != len(card):
        raise ValueError("rows must be values.scorecard_rows(card): one per KPI, in card order")
    return [{**row, "accountable": _text(accountable.get(k))} for row, k in zip(rows, card["kpi_id"])]


def escalated_rows(escalated: pd.DataFrame) -> list[dict]:
    """KPIs of child units escalated to this unit (``accountability.escalated_to_unit``)."""
    return [
        {
            "unit": r.unit_name,
            "kpi": r.kpi_name,
            "red_streak": int(cast(float, r.red_streak)),
            "since": _text(r.since_period),
            "escalated_to": _text(r.escalated_to),
            "accountable": _text(r.accountable),
        }
        for r in escalated.itertuples()
    ]


# --------------------------------------------------------------------------- initiatives
def unit_initiatives(con: duckdb.DuckDBPyConnection, period: str, unit_id: str) -> pd.DataFrame:
    """The initiatives treating this unit (itself or an ancestor named), as of the period, with
    their KPI's name, unit and direction."""
    return con.execute(
        """
        SELECT i.*, c.name AS kpi_name, c.unit AS kpi_unit, c.direction
        FROM initiative_impact i JOIN catalog c USING (kpi_id)
        WHERE i.period = $period
          AND i.initiative_id IN (SELECT initiative_id FROM initiative_units WHERE arm = 'treated' AND unit_id = $unit)
        ORDER BY i.start, i.initiative_id""",
        {"period": period, "unit": unit_id},
    ).df()


def initiative_months(con: duckdb.DuckDBPyConnection, initiative_id: str, period: str) -> pd.DataFrame:
    """Treated and control monthly values around the start, up to the page's period (a page never
    shows later months)."""
    return con.execute(
        """
        SELECT period, months_from_start, complete, arm, value, n
        FROM initiative_monthly
        WHERE initiative_id = ? AND period <= ?
        ORDER BY period, arm DESC""",
        [initiative_id, period],
    ).df()


def initiative_arms(con: duckdb.DuckDBPyConnection, initiative_id: str, shown: int = 6) -> str:
    """Who is compared, in words: the treated and the control units by name (the first `shown`
    of each arm, then how many more)."""
    names = con.execute(
        """SELECT u.arm, o.unit_name FROM initiative_units u JOIN org_units o USING (unit_id)
           WHERE u.initiative_id = ? ORDER BY u.arm DESC, o.sort_path""",
        [initiative_id],
    ).fetchall()
    parts = []
    for arm in ("treated", "control"):
        units = [name for a, name in names if a == arm]
        more = f" and {len(units) - shown} more" if len(units) > shown else ""
        parts.append(f"{arm.capitalize()} units: {', '.join(units[:shown]) or 'none'}{more}.")
    return " ".join(parts)


def _ci(r) -> str:
    if is_missing(r.ci_low) or is_missing(r.ci_high):
        return "no interval"
    return f"{format_change(r.ci_low, r.kpi_unit)} to {format_change(r.ci_high, r.kpi_unit)}"


def initiative_rows(impact: pd.DataFrame) -> list[dict]:
    """One summary row per initiative: impact with its 95% interval, the naive before/after change
    beside it, the verdict, and how many months after the start it used."""
    rows = []
    for r in impact.itertuples():
        unit = cast(str, r.kpi_unit)
        months = f"{int(cast(float, r.months_after))} of {int(cast(float, r.window_months))}"
        rows.append(
            {
                "initiative": r.name,
                "kpi": r.kpi_name,
                "start": r.start,
                "months_after": months + (" (provisional)" if bool(r.provisional) else ""),
                "impact": format_change(r.impact, unit),
                "interval": _ci(r) if not is_missing(r.impact) else "–",
                "naive": format_change(r.naive_change, unit),
                "verdict": r.verdict,
                "note": _text(r.note),
            }
        )
    return rows


def initiative_cell_rows(r) -> list[dict]:
    """The four cells of one initiative (a row of :func:`unit_initiatives`): value and n before
    and after, for the treated and the control units."""
    out = []
    for arm, label in (("treated", "Treated units"), ("control", "Control units")):
        before, after = getattr(r, f"before_{arm}"), getattr(r, f"after_{arm}")
        change = None if is_missing(before) or is_missing(after) else after - before
        out.append(
            {
                "arm": label,
                "before": format_value(before, r.kpi_unit),
                "n_before": int(getattr(r, f"n_before_{arm}")),
                "after": format_value(after, r.kpi_unit),
                "n_after": int(getattr(r, f"n_after_{arm}")),
                "change": format_change(change, r.kpi_unit),
            }
        )
    return out


def initiative_sentence(r) -> str:
    """The result in one plain sentence, under a heading naming the initiative (escaped by whoever
    shows it)."""
    if r.verdict == "no impact yet":
        return f"{r.kpi_name}: no complete month since the start ({r.start}) yet, so no impact."
    impact = format_change(r.impact, r.kpi_unit)
    naive = format_change(r.naive_change, r.kpi_unit)
    text = (
        f"{r.kpi_name} since {r.start}: impact {impact} against the control units "
        f"(95% interval {_ci(r)}); the naive before/after change is {naive}. Verdict: {r.verdict}."
    )
    if bool(r.provisional):
        text += f" Provisional: {int(r.months_after)} of {int(r.window_months)} months after the start."
    return text


# --------------------------------------------------------------------------- restatements
def commentary_frame(con: duckdb.DuckDBPyConnection, period: str) -> pd.DataFrame:
    """The period's comments as text columns (COMMENTARY_COLUMNS), in a stable order: what
    commentary.csv holds."""
    return con.execute(
        """
        SELECT period, unit_id, coalesce(kpi_id, '') AS kpi_id, coalesce(author, '') AS author,
               coalesce(analysis, '') AS analysis, coalesce(action, '') AS action,
               coalesce(strftime(due, '%Y-%m-%d'), '') AS due, coalesce(action_status, '') AS action_status
        FROM commentary WHERE period = ?
        ORDER BY unit_id, kpi_id NULLS FIRST, action NULLS FIRST""",
        [period],
    ).df()


def write_commentary_csv(con: duckdb.DuckDBPyConnection, out: str | Path, period: str) -> int:
    """Write the period's comments (masked text) to ``out`` (commentary.csv beside the period's
    scorecard.csv) and return the rows written; the same data gives the same bytes."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = commentary_frame(con, period)
    frame.to_csv(out, index=False, columns=list(COMMENTARY_COLUMNS), lineterminator="\n")
    return len(frame)


def commentary_csv_beside(scorecard_csv: str | Path) -> Path:
    return Path(scorecard_csv).with_name(COMMENTARY_CSV)


def commentary_changes(
    previous_csv: str | Path, con: duckdb.DuckDBPyConnection, period: str, unit_id: str
) -> list[dict] | None:
    """Comments of this unit added, changed or removed since the previous revision (its
    commentary.csv beside ``previous_csv``, the previous scorecard.csv), as table rows; None
    when the previous revision kept no comments file (published before it was written)."""
    path = commentary_csv_beside(previous_csv)
    if not path.is_file():
        return None
    before = pd.read_csv(path, dtype=str, keep_default_na=False)
    before = before[before["unit_id"] == unit_id]
    now = commentary_frame(con, period)
    now = now[now["unit_id"] == unit_id]
    names = dict(con.execute("SELECT kpi_id, name FROM catalog").fetchall())
    order = {k: i for i, (k,) in enumerate(con.execute("SELECT kpi_id FROM catalog ORDER BY sort_order").fetchall())}
    merged = before.merge(now, on=list(_KEY), how="outer", suffixes=("_before", "_now"), indicator="state")
    fields = ("author", "analysis", "due", "action_status")
    rows = []
    for r in merged.itertuples():
        state = str(r.state)
        if state == "both" and all(getattr(r, f"{f}_before") == getattr(r, f"{f}_now") for f in fields):
            continue
        what = {"left_only": "removed", "right_only": "added", "both": "changed"}[state]
        side = "before" if what == "removed" else "now"
        rows.append(
            {
                "_order": (order.get(r.kpi_id, -1) if r.kpi_id else -1, r.action),
                "kpi": names.get(r.kpi_id, r.kpi_id) if r.kpi_id else UNIT_LEVEL,
                "what": what,
                "comment": _text(getattr(r, f"analysis_{side}")),
                "action": _text(r.action),
                "author": _text(getattr(r, f"author_{side}")),
            }
        )
    rows.sort(key=lambda row: row["_order"])
    for row in rows:
        del row["_order"]
    return rows
