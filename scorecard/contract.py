"""The input data contract (docs/data-contract.md) as data: tables, their columns and types.

Loading uses it to find and rename columns; validation parses every column by its type (scorecard/rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["text", "timestamp", "date", "integer", "number", "boolean", "period"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = "text"
    required: bool = True
    lowercase: bool = False  # a code compared case-insensitively: parsed and kept in lower case


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    required: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _t(name: str, *columns: Column, required: bool = False) -> Table:
    return Table(name, columns, required)


C = Column
TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _t("org_units", C("unit_id"), C("unit_name", required=False), C("parent_id"), required=True),
        _t(
            "interactions",
            C("interaction_id"),
            C("created_at", "timestamp"),
            C("unit_id"),
            C("channel", lowercase=True),
            C("priority", required=False, lowercase=True),
            C("customer_id", required=False),
            C("customer_segment", required=False, lowercase=True),
            C("agent_id", required=False),
            C("first_response_at", "timestamp"),
            C("resolved_at", "timestamp"),
            C("contacts_to_resolve", "integer"),
            C("reopened", "boolean", required=False),
            C("handle_time_s", "number", required=False),
            required=True,
        ),
        _t(
            "survey_responses",
            C("response_id"),
            C("survey", lowercase=True),
            C("score", "integer"),
            C("responded_at", "timestamp"),
            C("interaction_id", required=False),
            C("unit_id", required=False),
            C("customer_id", required=False),
            C("comment", required=False),
        ),
        _t("employee_pulse", C("response_id"), C("unit_id"), C("responded_at", "timestamp"), C("score", "integer")),
        _t(
            "qa_reviews",
            C("review_id"),
            C("interaction_id"),
            C("reviewer_id", required=False),
            C("reviewed_at", "timestamp"),
            C("score", "number"),
            C("critical_fail", "boolean", required=False),
        ),
        _t("costs", C("unit_id"), C("period", "period"), C("support_cost", "number")),
        _t(
            "customers",
            C("customer_id"),
            C("unit_id"),
            C("segment", required=False, lowercase=True),
            C("active_from", "date"),
            C("churned_at", "date", required=False),
        ),
        _t(
            "sla_policies",
            C("channel", lowercase=True),
            C("priority", required=False, lowercase=True),
            C("first_response_minutes", "number"),
        ),
        _t(
            "benchmarks",
            C("kpi_id", lowercase=True),
            C("source"),
            C("year", "integer"),
            C("segment", required=False, lowercase=True),
            C("p25", "number", required=False),
            C("median", "number"),
            C("p75", "number", required=False),
            C("url", required=False),
            C("note", required=False),
        ),
        _t(
            "commentary",
            C("period", "period"),
            C("unit_id"),
            C("kpi_id", required=False, lowercase=True),
            C("author"),
            C("analysis"),
            C("action", required=False),
            C("due", "date", required=False),
            C("action_status", required=False),
        ),
        _t(
            "initiatives",
            C("initiative_id"),
            C("name"),
            C("kpi_id", lowercase=True),
            C("unit_id"),
            C("start", "period"),
            C("owner", required=False),
            C("control_units", required=False),
            C("window_months", "integer", required=False),
        ),
    )
}

ACTION_STATUSES = ("planned", "in progress", "done", "dropped")
CLOSED_ACTION_STATUSES = ("done", "dropped")
DEFAULT_WINDOW_MONTHS = 3

SURVEY_RANGES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
