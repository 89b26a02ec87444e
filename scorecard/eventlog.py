"""Turn a help-desk event log (one row per ticket event, as process-mining tools export them)
into an input folder of contract tables: ``org_units.csv`` and ``interactions.csv``.

    python -m scorecard.eventlog helpdesk.csv data/helpdesk
    python -m scorecard.eventlog BPI13C.csv data/volvo --unit org:group --priority impact

Per ticket (``--case``), with events ordered by time (``--timestamp``, then file order):

- ``created_at``: its first event;
- ``first_response_at``: its first *take-up* event (``--first-response``, default "Take in charge
  ticket", "Accepted", "In Progress"), or its resolution when it was resolved without one;
- ``resolved_at``: the first *resolve* event (``--resolved``, default "Resolve ticket", "Resolve
  SW anomaly", "Closed", "Completed") after its last event of any other kind; empty when the
  log ends with another kind of event (still open);
- ``reopened``: work after a resolution (an event of another kind after its first resolve event);
- ``contacts_to_resolve``: the take-up events before the resolution, at least 1. An event log
  records work, not customer contacts: a ticket taken up again (handed over, reopened) counts
  as more than one contact, so FCR reads "resolved in one take-up and not reopened";
- ``unit_id``: the ``--unit`` column of its first event that has one (e.g. a support group);
  without ``--unit`` every ticket belongs to one unit. The units are the leaves of one tree
  under a root named ``--org``;
- ``agent_id``: the ``--agent`` column of the take-up event; ``priority`` optional (``--priority``);
  ``channel`` one value for all (``--channel``, default "ticket").

Timestamps with an offset are written in UTC; those without are read in ``--timezone``
(default UTC). Events without a ticket id or with an unreadable timestamp are left out and
counted. Everything is one set-based DuckDB query; the log is read as text.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from .db import first_row, scalar

FIRST_RESPONSE = ("Take in charge ticket", "Accepted", "In Progress")
RESOLVED = ("Resolve ticket", "Resolve SW anomaly", "Closed", "Completed")


@dataclass
class Options:
    case: str = "case:concept:name"
    activity: str = "concept:name"
    timestamp: str = "time:timestamp"
    agent: str | None = "org:resource"
    unit: str | None = None
    priority: str | None = None
    first_response: tuple[str, ...] = FIRST_RESPONSE
    resolved: tuple[str, ...] = RESOLVED
    channel: str = "ticket"
    org: str = "Help desk"
    timezone: str = "UTC"


@dataclass
class Converted:
    events: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> events
    tickets: int = 0
    resolved: int = 0
    reopened: int = 0
    units: int = 0

    def line(self) -> str:
        left = ", ".join(f"{n:,} {reason}" for reason, n in self.left_out.items() if n) or "none"
        return (
            f"{self.events:,} events → {self.tickets:,} tickets ({self.resolved:,} resolved, "
            f"{self.reopened:,} reopened) in {self.units} unit(s); events left out: {left}"
        )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def convert(log: str | Path, out: str | Path, options: Options | None = None) -> Converted:
    """Write org_units.csv and interactions.csv for the event log into the folder out."""
    o = options or Options()
    log, out = Path(log), Path(out)
    if not log.is_file():
        raise SystemExit(f"{log}: event log not found")
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"SET TimeZone = {_lit(o.timezone)}")
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv({_lit(str(log))}, header = true, all_varchar = true)")
    columns = [r[0] for r in con.execute("DESCRIBE raw").fetchall()]
    for role, name in (
        ("--case", o.case),
        ("--activity", o.activity),
        ("--timestamp", o.timestamp),
        ("--agent", o.agent),
        ("--unit", o.unit),
        ("--priority", o.priority),
    ):
        if name is not None and name not in columns:
            raise SystemExit(f"{log}: no column {name!r} for {role} (columns: {', '.join(columns)})")
    unit = f"nullif(trim({_q(o.unit)}), '')" if o.unit else _lit(o.org)
    agent = f"nullif(trim({_q(o.agent)}), '')" if o.agent else "NULL"
    priority = f"nullif(trim({_q(o.priority)}), '')" if o.priority else "NULL"
    con.execute(f"""
        CREATE TABLE ev AS
        SELECT nullif(trim({_q(o.case)}), '') AS case_id, trim({_q(o.activity)}) AS activity,
               try_cast(trim({_q(o.timestamp)}) AS TIMESTAMPTZ) AS ts, {unit} AS unit_id,
               {agent} AS agent_id, {priority} AS priority, row_number() OVER () AS seq
        FROM raw""")
    result = Converted(events=scalar(con, "SELECT count(*) FROM ev"))
    result.left_out = dict(
        zip(
            ("without a ticket id", "with an unreadable timestamp"),
            first_row(
                con,
                "SELECT count(*) FILTER (case_id IS NULL), count(*) FILTER (case_id IS NOT NULL AND ts IS NULL) FROM ev",
            ),
        )
    )
    con.execute(f"""
        CREATE TABLE tickets AS
        WITH e AS (
            SELECT *, list_contains({_list(o.resolved)}, activity) AS is_resolve,
                   list_contains({_list(o.first_response)}, activity) AS is_take_up,
                   row_number() OVER (PARTITION BY case_id ORDER BY ts, seq) AS pos
            FROM ev WHERE case_id IS NOT NULL AND ts IS NOT NULL
        ), marks AS (
            SELECT case_id, max(pos) FILTER (NOT is_resolve) AS last_other,
                   min(pos) FILTER (is_resolve) AS first_resolve
            FROM e GROUP BY case_id
        ), t AS (
            SELECT e.case_id,
                   min(ts) AS created_at,
                   min(ts) FILTER (is_take_up) AS take_up_at,
                   arg_min(agent_id, pos) FILTER (is_take_up) AS agent_id,
                   min(ts) FILTER (is_resolve AND pos > coalesce(last_other, 0)) AS resolved_at,
                   min(pos) FILTER (is_resolve AND pos > coalesce(last_other, 0)) AS resolved_pos,
                   any_value(last_other > first_resolve) AS reopened,
                   arg_min(e.unit_id, pos) FILTER (e.unit_id IS NOT NULL) AS unit_id,
                   arg_max(priority, pos) FILTER (priority IS NOT NULL) AS priority
            FROM e JOIN marks USING (case_id)
            GROUP BY e.case_id
        )
        SELECT t.*, coalesce(take_up_at, resolved_at) AS first_response_at,
               CASE WHEN resolved_at IS NOT NULL THEN greatest(1, (
                   SELECT count(*) FROM e WHERE e.case_id = t.case_id AND e.is_take_up AND e.pos < t.resolved_pos))
               END AS contacts_to_resolve
        FROM t""")
    iso = "strftime(timezone('UTC', {}), '%Y-%m-%dT%H:%M:%SZ')"
    con.execute(f"""
        COPY (SELECT case_id AS interaction_id, {iso.format("created_at")} AS created_at,
                     coalesce(unit_id, {_lit(o.org)}) AS unit_id, {_lit(o.channel)} AS channel, priority, agent_id,
                     {iso.format("first_response_at")} AS first_response_at,
                     {iso.format("resolved_at")} AS resolved_at, contacts_to_resolve,
                     CASE WHEN resolved_at IS NOT NULL THEN coalesce(reopened, false) END AS reopened
              FROM tickets ORDER BY created_at, case_id)
        TO {_lit(str(out / "interactions.csv"))} (HEADER, DELIMITER ',')""")
    units = [
        u
        for (u,) in con.execute(f"SELECT DISTINCT coalesce(unit_id, {_lit(o.org)}) FROM tickets ORDER BY 1").fetchall()
    ]
    con.execute("CREATE TABLE org (unit_id VARCHAR, unit_name VARCHAR, parent_id VARCHAR)")
    leaves = [u for u in units if u != o.org]
    con.executemany("INSERT INTO org VALUES (?, ?, ?)", [(o.org, o.org, None)] + [(u, u, o.org) for u in leaves])
    con.execute(f"COPY org TO {_lit(str(out / 'org_units.csv'))} (HEADER, DELIMITER ',')")
    result.tickets, result.resolved, result.reopened = first_row(
        con, "SELECT count(*), count(resolved_at), count(*) FILTER (reopened AND resolved_at IS NOT NULL) FROM tickets"
    )
    result.units = len(leaves) or 1
    con.close()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scorecard.eventlog", description=__doc__.splitlines()[0])
    p.add_argument("log", help="the event log (CSV with a header)")
    p.add_argument("out", help="the input folder to write (org_units.csv, interactions.csv)")
    d = Options()
    p.add_argument("--case", default=d.case, help=f"ticket id column (default {d.case})")
    p.add_argument("--activity", default=d.activity, help=f"activity column (default {d.activity})")
    p.add_argument("--timestamp", default=d.timestamp, help=f"timestamp column (default {d.timestamp})")
    p.add_argument("--agent", default=d.agent, help=f"agent column (default {d.agent}; '' for none)")
    p.add_argument("--unit", help="support team column (default: one unit for every ticket)")
    p.add_argument("--priority", help="priority column (default: none)")
    p.add_argument(
        "--first-response",
        nargs="+",
        default=list(FIRST_RESPONSE),
        metavar="ACTIVITY",
        help="activities that take a ticket up (default: %(default)s)",
    )
    p.add_argument(
        "--resolved",
        nargs="+",
        default=list(RESOLVED),
        metavar="ACTIVITY",
        help="activities that resolve or close a ticket (default: %(default)s)",
    )
    p.add_argument("--channel", default=d.channel, help=f"channel of every ticket (default {d.channel})")
    p.add_argument("--org", default=d.org, help=f"root unit id and name (default {d.org!r})")
    p.add_argument("--timezone", default=d.timezone, help="zone of timestamps without an offset (default UTC)")
    a = p.parse_args(argv)
    options = Options(
        case=a.case,
        activity=a.activity,
        timestamp=a.timestamp,
        agent=a.agent or None,
        unit=a.unit,
        priority=a.priority,
        first_response=tuple(a.first_response),
        resolved=tuple(a.resolved),
        channel=a.channel,
        org=a.org,
        timezone=a.timezone,
    )
    print(convert(a.log, a.out, options).line() + f" → {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
