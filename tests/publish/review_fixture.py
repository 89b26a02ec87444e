"""A restated copy of the session's site with the review loop in its inputs: two initiatives
(one with hostile markup in its name, one still provisional) and a target rule that keeps one
child KPI red long enough to reach the parent's accountable owner. Published as RESTATE=LATEST
(revision 2), so revision 1 (no initiatives, the old rule) and revision 2 sit side by side.

Shared by the test modules that look at it; built once per session (the fixture is imported by
several modules, each of which would otherwise build its own)."""

from __future__ import annotations

import csv

import pytest
import yaml

from .conftest import LATEST, Published, Workspace, copy_workspace

# the child whose KPI stays red: its target is out of reach every month
RED_UNIT, RED_KPI, RED_PARENT = "EMEA/Madrid Retención", "fcr", "EMEA"  # FCR: n large enough for a status
RED_RULE = {"kpi": RED_KPI, "unit": RED_UNIT, "target": 99.5, "amber": 99.0, "reason": "test: out of reach"}
HOSTILE_INITIATIVE = '<script>alert(3)</script> *KB* #set page(width: 1cm) <img src=x onerror="window.__pwned=3">'
# two leaves, so each cell is the leaf's own measures: an independent recomputation is easy
KB = {
    "initiative_id": "kb-berlin",
    "name": HOSTILE_INITIATIVE,
    "kpi_id": "fcr",
    "unit_id": "EMEA/Berlin Tier 1",
    "start": "2026-06",
    "owner": "Berlin lead",
    "control_units": "EMEA/Madrid Retención",  # a leaf ("&amp;" in the hostile id holds the list separator)
    "window_months": "3",
}
KB_BEFORE, KB_AFTER = ("2026-03", "2026-04", "2026-05"), ("2026-06", "2026-07", "2026-08")
PROVISIONAL = {  # as of LATEST: 2 of 3 months after the start
    "initiative_id": "csat-americas",
    "name": "Callback promise",
    "kpi_id": "csat",
    "unit_id": "Americas",
    "start": "2026-09",
    "owner": "",
    "control_units": "",
    "window_months": "3",
}
REASON = "initiatives added; stricter FCR target for Madrid"

_built: dict[str, Published] = {}


@pytest.fixture(scope="session")
def restated(published: Published, tmp_path_factory) -> Published:
    if "site" not in _built:
        ws = copy_workspace(published.ws, tmp_path_factory.mktemp("review"))
        with (ws.data / "initiatives.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(KB), lineterminator="\n")
            writer.writeheader()
            writer.writerows([KB, PROVISIONAL])
        _add_rule(ws)
        result = Published(ws)
        result.summaries[LATEST] = ws.publish(restate=LATEST, reason=REASON)
        _built["site"] = result
    return _built["site"]


def _add_rule(ws: Workspace) -> None:
    settings = yaml.safe_load(ws.config_file.read_text(encoding="utf-8"))
    settings["targets"] = [*settings.get("targets", []), RED_RULE]
    ws.config_file.write_text(yaml.safe_dump(settings, allow_unicode=True, sort_keys=False), encoding="utf-8")
