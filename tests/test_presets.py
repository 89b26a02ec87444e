"""Help-desk presets: a header line as each product exports it loads with `columns: {interactions: NAME}`
and no mapping written by hand; the preset's derived columns and spellings come out as the contract's."""

from __future__ import annotations

import pytest
from scorecard_fixtures import BERLIN, PARIS, assert_one_error_line

from scorecard.presets import check_preset, presets, required_missing

# Each: header line exactly as exported, two rows, extra settings, and what the first row must become.
# Intercom, HubSpot and Salesforce export no contact count (Salesforce no first response either):
# their presets declare those columns `absent`, and the KPIs computed from them are no data.
WITHHELD = {
    "zendesk": set(),
    "freshdesk": set(),
    "intercom": {"fcr"},
    "hubspot": {"fcr"},
    "salesforce": {"fcr", "frt_median", "sla_frt"},
}
EXPORTS = {
    "zendesk": (
        "Summation column,Id,Requester,Requester id,Requester email,Submitter,Assignee,Group,Subject,Tags,Status,"
        "Priority,Via,Ticket type,Created at,Updated at,Assigned at,Organization,Due date,Initially assigned at,"
        "Solved at,Resolution time,Satisfaction Score,Group stations,Assignee stations,Reopens,Replies,"
        "First reply time in minutes,First reply time in minutes within business hours,"
        "First resolution time in minutes,Full resolution time in minutes,Agent wait time in minutes,"
        "Requester wait time in minutes,On hold time in minutes",
        [
            f"1,101,Ana,9001,ana@example.com,Ana,Bo,{PARIS},Login,,Solved,Normal,Mail,Question,2026-01-05 10:00:00,"
            "2026-01-06 10:00:00,2026-01-05 10:05:00,Acme,,2026-01-05 10:05:00,2026-01-05 14:00:00,4,good,1,1,1,2,"
            "30,30,240,240,20,200,0",
            f"1,102,Cy,9002,cy@example.com,Cy,Di,{BERLIN},Bill,,Open,High,Web form,Incident,2026-01-06 09:00:00,"
            "2026-01-06 10:00:00,,,,,,,,1,1,0,0,,,,,,,",
        ],
        "",
        {
            "channel": "email",
            "first_response_at": "2026-01-05 10:30:00",
            "contacts_to_resolve": 2,
            "reopened": True,
            "agent_id": "Bo",
            "customer_id": "9001",
        },
    ),
    "freshdesk": (
        "Ticket ID,Subject,Status,Priority,Source,Type,Agent,Group,Created time,Due by Time,Resolved time,"
        "Closed time,Last update time,Initial response time,Time tracked,First response time (in hrs),"
        "Resolution time (in hrs),Agent interactions,Customer interactions,Resolution status,"
        "First response status,Tags,Survey results,Skill,Product,Company Name,Full name,Contact ID",
        [
            f"101,Login,Resolved,Medium,Portal,Question,Bo,{PARIS},2026-01-05 10:00:00,2026-01-06 10:00:00,"
            "2026-01-05 14:00:00,2026-01-07 10:00:00,2026-01-07 10:00:00,2026-01-05 11:30:00,00:10,1.5,4,2,3,"
            "Within SLA,Within SLA,,,,,Acme,Ana,9001",
            f"102,Bill,Open,High,Email,Incident,Di,{BERLIN},2026-01-06 09:00:00,,,,,,,,,0,1,,,,,,,Acme,Cy,9002",
        ],
        "",
        {
            "channel": "web",
            "first_response_at": "2026-01-05 11:30:00",
            "contacts_to_resolve": 3,
            "reopened": None,
            "agent_id": "Bo",
            "customer_id": "9001",
        },
    ),
    "intercom": (
        "Conversation ID,Conversation started at,Channel,Conversation state,Team currently assigned,"
        "Teammate currently assigned,Conversation first replied at,Conversation last closed at,"
        "Conversation rating",
        [
            f"101,2026-01-05 10:00:00,Conversation,closed,{PARIS},Bo,2026-01-05 10:02:00,2026-01-05 14:00:00,5",
            f"102,2026-01-06 09:00:00,Email,open,{BERLIN},Di,,,",
        ],
        "",
        {
            "channel": "chat",
            "first_response_at": "2026-01-05 10:02:00",
            "contacts_to_resolve": None,
            "reopened": None,
            "agent_id": "Bo",
            "customer_id": None,
        },
    ),
    "salesforce": (
        "Case Number,Subject,Status,Priority,Case Origin,Case Owner,Case Owner Role,Account Name,Contact Name,"
        "Date/Time Opened,Date/Time Closed",
        [
            f"00001001,Login,Closed,Medium,Phone,Bo,{PARIS},Acme,Ana,1/5/2026 10:00 AM,1/5/2026 2:00 PM",
            f"00001002,Bill,New,High,Web,Di,{BERLIN},Acme,Cy,1/6/2026 9:00 AM,",
        ],
        "tables:\n  interactions: {timestamp_format: '%m/%d/%Y %I:%M %p'}\n",
        {
            "channel": "phone",
            "first_response_at": None,
            "contacts_to_resolve": None,
            "reopened": None,
            "agent_id": "Bo",
            "customer_id": "Acme",
        },
    ),
    "hubspot": (
        "Ticket ID,Ticket name,Pipeline,Ticket status,Create date,Close date,Priority,Source,Ticket owner,"
        "HubSpot team,First agent email response date,Last activity date",
        [
            f"101,Login,Support Pipeline,Closed,2026-01-05 10:00,2026-01-05 14:00,MEDIUM,Form,Bo,{PARIS},"
            "2026-01-05 10:20,2026-01-05 14:00",
            f"102,Bill,Support Pipeline,New,2026-01-06 09:00,,HIGH,Email,Di,{BERLIN},,",
        ],
        "",
        {
            "channel": "web",
            "first_response_at": "2026-01-05 10:20:00",
            "contacts_to_resolve": None,
            "reopened": None,
            "agent_id": "Bo",
            "customer_id": None,
        },
    ),
}


def test_every_packaged_preset_is_tested():
    assert set(presets()) == set(EXPORTS)


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_a_product_export_loads_with_its_preset(inputs, cli, name):
    header, rows, settings, expected = EXPORTS[name]
    inputs.write()
    (inputs.dir / "interactions.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    config = inputs.base / "scorecard.yml"
    config.write_text(f"columns:\n  interactions: {name}\n{settings}", encoding="utf-8")
    code, out, err = cli("build", "--config", config, "--data", inputs.dir, "--db", inputs.database)
    assert code == 0, err
    from scorecard_fixtures import Built

    got = Built(inputs.database, None).query(
        "SELECT interaction_id, unit_id, channel, created_at::VARCHAR AS created_at, "
        "first_response_at::VARCHAR AS first_response_at, resolved_at::VARCHAR AS resolved_at, "
        "contacts_to_resolve, reopened, agent_id, customer_id FROM interactions ORDER BY interaction_id"
    )
    assert [g["unit_id"] for g in got] == [PARIS, BERLIN]
    first = got[0]
    assert first["created_at"] == "2026-01-05 10:00:00" and first["resolved_at"] == "2026-01-05 14:00:00"
    assert {k: first[k] for k in expected} == expected
    assert got[1]["resolved_at"] is None and got[1]["first_response_at"] is None
    assert Built(inputs.database, None).quarantine() == []  # a resolved row needs no contact count it cannot have
    measured = {
        r["kpi_id"]: r
        for r in Built(inputs.database, None).query(
            "SELECT m.kpi_id, m.value, m.n, r.status FROM measures m JOIN results r USING (period, unit_id, kpi_id) "
            "WHERE m.period = '2026-01' AND m.unit_id = ?",
            [PARIS],
        )
    }
    for kpi in WITHHELD[name]:
        assert measured[kpi] == {"kpi_id": kpi, "value": None, "n": 0, "status": "no-data"}, name
    computed = {"volume", "resolution_median"} | ({"frt_median"} - WITHHELD[name]) | ({"fcr"} - WITHHELD[name])
    for kpi in computed:
        assert measured[kpi]["n"] > 0 and measured[kpi]["value"] is not None, (name, kpi)
    assert measured["resolution_median"]["value"] == pytest.approx(4.0)  # 10:00 -> 14:00, in hours


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_each_preset_fits_its_own_header_best(name):
    header = EXPORTS[name][0].split(",")
    assert required_missing(presets()[name], header) == []
    for other in set(EXPORTS) - {name}:
        assert required_missing(presets()[other], header), (name, other)


def test_an_export_missing_a_preset_column_names_the_export_column(inputs, cli):
    header, rows, _, _ = EXPORTS["freshdesk"]
    columns = header.split(",")
    drop = columns.index("Created time")
    inputs.write()
    lines = [",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in [header, *rows]]
    (inputs.dir / "interactions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = inputs.base / "scorecard.yml"
    config.write_text("columns:\n  interactions: freshdesk\n", encoding="utf-8")
    code, _, err = cli("build", "--config", config, "--data", inputs.dir, "--db", inputs.database)
    assert code == 2
    assert_one_error_line(err, "interactions.csv", "'created_at' (export column 'Created time')", "freshdesk preset")


def test_an_unknown_preset_is_a_configuration_error(inputs, cli):
    inputs.write()
    config = inputs.base / "scorecard.yml"
    config.write_text("columns:\n  interactions: zendesc\n", encoding="utf-8")
    code, _, err = cli("build", "--config", config, "--data", inputs.dir, "--db", inputs.database)
    assert code == 3
    assert "unknown preset 'zendesc'" in err and "zendesk" in err
    with pytest.raises(ValueError, match="for table interactions, not costs"):
        check_preset("zendesk", "costs")


def _salesforce_folder(inputs, *added: tuple[str, str, str]) -> None:
    """The Salesforce export of EXPORTS (plus columns: name, first row, second row), an SLA policy
    for phone and web, in an input folder."""
    header, rows, _, _ = EXPORTS["salesforce"]
    lines = [header + "".join(f",{a[0]}" for a in added)] + [
        row + "".join(f",{a[i + 1]}" for a in added) for i, row in enumerate(rows)
    ]
    inputs.add(
        "sla_policies",
        {"channel": "phone", "first_response_minutes": 60},
        {"channel": "web", "first_response_minutes": 60},
    )
    inputs.write()
    (inputs.dir / "interactions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (inputs.base / "scorecard.yml").write_text(
        "columns:\n  interactions: salesforce\n" + EXPORTS["salesforce"][2], encoding="utf-8"
    )


def test_a_kpi_needing_an_absent_column_is_no_data_not_zero(inputs, cli):
    from scorecard_fixtures import Built

    # Paris's case looks unanswered and is long past its 60-minute SLA at the cut-off: sla_frt would
    # be 0 % if the empty column were taken at its word (and fcr 0 %: no case has one contact)
    _salesforce_folder(inputs)
    code, _, err = cli(
        "build", "--config", inputs.base / "scorecard.yml", "--data", inputs.dir, "--db", inputs.database
    )
    assert code == 0, err
    built = Built(inputs.database, None)
    assert built.query("SELECT table_name, column_name, preset FROM absent_columns ORDER BY 2") == [
        {"table_name": "interactions", "column_name": "contacts_to_resolve", "preset": "salesforce"},
        {"table_name": "interactions", "column_name": "first_response_at", "preset": "salesforce"},
    ]
    rows = built.query(
        "SELECT kpi_id, count(*) AS rows, count(value) AS values, sum(n) AS n, "
        "count(*) FILTER (status <> 'no-data') AS scored FROM results "
        "WHERE kpi_id IN ('fcr', 'sla_frt') GROUP BY 1 ORDER BY 1"
    )
    assert [(r["kpi_id"], r["values"], r["n"], r["scored"]) for r in rows] == [("fcr", 0, 0, 0), ("sla_frt", 0, 0, 0)]
    assert all(r["rows"] > 0 for r in rows)
    assert (
        built.query(
            "SELECT count(*) AS n FROM breakdowns WHERE kpi_id IN ('fcr', 'sla_frt', 'frt_median') "
            "AND value IS NOT NULL"
        )[0]["n"]
        == 0
    )


def test_the_same_export_with_the_columns_added_computes_them(inputs, cli):
    from scorecard_fixtures import Built

    _salesforce_folder(inputs, ("First Response", "1/5/2026 10:45 AM", ""), ("Contacts to resolve", "1", ""))
    code, _, err = cli(
        "build", "--config", inputs.base / "scorecard.yml", "--data", inputs.dir, "--db", inputs.database
    )
    assert code == 0, err
    built = Built(inputs.database, None).reload()
    assert built.query("SELECT count(*) AS n FROM absent_columns")[0]["n"] == 0
    # Paris's case was answered in 45 minutes, within its 60-minute SLA, and resolved at first contact
    assert built.value("2026-01", PARIS, "sla_frt") == 100
    assert built.value("2026-01", PARIS, "fcr") == 100
    assert built.value("2026-01", PARIS, "frt_median") == pytest.approx(45)


def test_check_says_which_kpis_the_export_cannot_give_and_why(inputs, cli):
    _salesforce_folder(inputs)
    code, out, err = cli("check", inputs.dir, "--config", inputs.base / "scorecard.yml")
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and line.split()}
    assert "salesforce export has no contacts_to_resolve" in lines["fcr"]
    assert "salesforce export has no first_response_at" in lines["sla_frt"]
    assert "salesforce export has no first_response_at" in lines["frt_median"]
    assert "resolution_median" in out.split("KPIs that cannot")[0]
