"""Accountability (RACI) roles resolved like targets, and the escalation path up the unit tree."""

from __future__ import annotations

import pytest
from scorecard_fixtures import BERLIN, EU, PARIS, ROOT, Inputs, ix

from scorecard import accountability
from scorecard.config import Config, TargetRule

MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Paris resolves nothing at the first contact (FCR red every month); Berlin everything."""
    inp = Inputs(tmp_path_factory.mktemp("accountability"))
    rows = []
    for month in MONTHS:
        for i in range(10):
            created, resolved = f"{month}-{i + 2:02d}T09:00:00", f"{month}-{i + 2:02d}T15:00:00"
            rows.append(ix(f"P{month}{i}", created, PARIS, first=created, resolved=resolved, contacts=2))
            rows.append(ix(f"B{month}{i}", created, BERLIN, first=created, resolved=resolved, contacts=1))
    rows.append(ix("last", "2026-06-01T10:00:00", BERLIN))
    inp.set("interactions", rows)
    config = Config(
        min_sample=5,
        escalation_periods=2,
        targets=[
            TargetRule(
                kpi="fcr", unit=EU, accountable="Head of Europe Operations", consulted=["Knowledge Manager", "Trainer"]
            ),
            TargetRule(kpi="fcr", unit=PARIS, accountable="Paris team lead"),
            TargetRule(
                kpi="fcr",
                unit=PARIS,
                effective_from="2026-04",
                accountable="Paris site manager",
                reason="new site manager",
                approved_by="COO",
            ),
            TargetRule(
                kpi="fcr",
                unit=BERLIN,
                target=80,
                amber=76,
                reason="Berlin runs a simpler queue",
                approved_by="Head of Support",
            ),
            TargetRule(
                kpi="csat", effective_from="2026-03", target=87, amber=82, reason="annual plan", approved_by="CEO"
            ),
        ],
    )
    return inp.build(config)


def test_roles_fall_through_per_unit_and_period(built_con):
    paris_feb = accountability.roles(built_con, "2026-02", PARIS).set_index("kpi_id")
    assert paris_feb.loc["fcr", "accountable"] == "Paris team lead"
    assert paris_feb.loc["fcr", "responsible"] == "Team leads"  # the catalog's default
    assert paris_feb.loc["fcr", "consulted"] == "Knowledge Manager; Trainer"  # from EU's rule, a list
    assert paris_feb.loc["csat", "accountable"] == "Head of Customer Experience"
    assert (
        accountability.roles(built_con, "2026-04", PARIS).set_index("kpi_id").loc["fcr", "accountable"]
        == "Paris site manager"
    )
    assert (
        accountability.roles(built_con, "2026-02", BERLIN).set_index("kpi_id").loc["fcr", "accountable"]
        == "Head of Europe Operations"
    )
    assert (
        accountability.roles(built_con, "2026-02", ROOT).set_index("kpi_id").loc["fcr", "accountable"]
        == "Support Operations Manager"
    )


def test_rules_keep_reason_and_approver(built):
    rows = built.query(
        "SELECT kpi_id, unit_id, effective_from, reason, approved_by FROM target_rules "
        "WHERE reason IS NOT NULL ORDER BY rule_order"
    )
    assert rows[0] == {
        "kpi_id": "fcr",
        "unit_id": PARIS,
        "effective_from": "2026-04",
        "reason": "new site manager",
        "approved_by": "COO",
    }


def test_rule_trail_lists_every_rule_that_changed_a_target(built_con):
    """With or without effective_from; a rule that only names people is not a target change."""
    trail = accountability.rule_trail(built_con)
    assert list(trail.kpi_id) == ["csat", "fcr"]
    assert list(trail.effective_from) == ["2026-03", "always"]
    berlin = trail.iloc[1]
    assert (berlin.unit, berlin.target, berlin.amber, berlin.reason, berlin.approved_by) == (
        BERLIN,
        80,
        76,
        "Berlin runs a simpler queue",
        "Head of Support",
    )
    assert trail.iloc[0].unit == "all units"


def test_red_escalates_to_the_accountable_owner_then_to_the_parents(built):
    path = {
        r["period"]: r
        for r in built.query("SELECT * FROM escalation_path WHERE unit_id = ? AND kpi_id = 'fcr'", [PARIS])
    }
    assert "2026-01" not in path  # red once: not escalated yet
    assert (path["2026-02"]["level"], path["2026-02"]["escalated_to_unit"], path["2026-02"]["escalated_to"]) == (
        1,
        PARIS,
        "Paris team lead",
    )
    assert path["2026-03"]["level"] == 1 and path["2026-03"]["red_streak"] == 3
    # red for twice escalation_periods: to the parent's accountable owner (and the rule of 2026-04)
    assert (path["2026-04"]["level"], path["2026-04"]["escalated_to_unit"], path["2026-04"]["escalated_to"]) == (
        2,
        EU,
        "Head of Europe Operations",
    )
    assert path["2026-04"]["accountable"] == "Paris site manager"
    assert path["2026-05"]["level"] == 2 and path["2026-05"]["since_period"] == "2026-01"


def test_the_parent_page_lists_what_was_escalated_to_it(built_con):
    assert accountability.escalated_to_unit(built_con, "2026-03", EU).empty
    rows = accountability.escalated_to_unit(built_con, "2026-04", EU)
    assert list(rows.unit_id) == [PARIS] and list(rows.kpi_id) == ["fcr"]
    assert rows.escalated_to[0] == "Head of Europe Operations" and rows.red_streak[0] == 4


def test_the_root_has_no_parent_to_escalate_to(built):
    rows = built.query("SELECT DISTINCT level FROM escalation_path WHERE unit_id = ?", [ROOT])
    assert all(r["level"] == 1 for r in rows)
