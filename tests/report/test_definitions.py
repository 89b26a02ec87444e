"""The definitions page: RACI roles per KPI, the catalog's versions and the periods computed with
each, and the audit trail of every rule that changed a target, amber threshold or weight."""

from __future__ import annotations

import json
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from scorecard_fixtures import BERLIN, EU, PARIS, Inputs, ix

from scorecard.config import Config, TargetRule
from scorecard.report import definitions

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05")
RULES = [
    TargetRule(kpi="fcr", unit=EU, accountable="Head of Europe Operations", consulted=["Knowledge Manager", "Trainer"]),
    TargetRule(kpi="fcr", unit=PARIS, accountable="Paris team lead"),
    TargetRule(kpi="fcr", unit=BERLIN, target=80, amber=76, reason="Berlin runs a simpler queue", approved_by="COO"),
    TargetRule(kpi="csat", effective_from="2026-03", target=87, amber=82, reason="annual plan", approved_by="CEO"),
    TargetRule(kpi="aht", weight=5),  # no reason, no approver
]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    inp = Inputs(tmp_path_factory.mktemp("definitions"))
    rows = []
    for month in MONTHS:
        for i in range(10):
            created, resolved = f"{month}-{i + 2:02d}T09:00:00", f"{month}-{i + 2:02d}T15:00:00"
            rows.append(ix(f"P{month}{i}", created, PARIS, first=created, resolved=resolved))
            rows.append(ix(f"B{month}{i}", created, BERLIN, first=created, resolved=resolved))
    rows.append(ix("last", "2026-06-01T10:00:00", BERLIN))
    inp.set("interactions", rows)
    return inp.build(Config(min_sample=5, targets=RULES))


def _names(built) -> tuple[dict, dict]:
    kpis = {r["kpi_id"]: r["name"] for r in built.query("SELECT kpi_id, name FROM catalog")}
    units = {r["unit_id"]: r["unit_name"] for r in built.query("SELECT unit_id, unit_name FROM org_units")}
    return kpis, units


def _expected_trail(built) -> list[tuple]:
    """The rules of RULES that set a target, amber or weight, as the page words them."""
    kpis, units = _names(built)

    def num(v, suffix=""):
        return "–" if v is None else f"{v:g}{suffix}"

    rows = [
        (
            f"from {r.effective_from}" if r.effective_from else "always",
            kpis[r.kpi],
            units[r.unit] if r.unit else "all units",
            num(r.target),
            num(r.amber),
            num(r.weight, "%"),
            r.reason or "not recorded",
            r.approved_by or "not recorded",
        )
        for r in RULES
        if r.target is not None or r.amber is not None or r.weight is not None
    ]
    return sorted(rows, key=lambda r: (r[0] == "always", r[0]), reverse=False)


def test_audit_trail_lists_every_rule_that_changed_a_target_amber_or_weight(built, built_con):
    trail = definitions.audit_trail(built_con)
    got = [tuple(r) for r in trail.itertuples(index=False)]
    assert sorted(got) == sorted(_expected_trail(built))
    assert got[0][0] == "from 2026-03"  # latest first; rules without a start month after
    berlin = next(r for r in got if r[2] == "Berlin")
    assert berlin == (
        "always",
        "First contact resolution",
        "Berlin",
        "80",
        "76",
        "–",
        "Berlin runs a simpler queue",
        "COO",
    )


class _Rows(HTMLParser):
    """The text of every table row (<tr>) of an HTML fragment, one list of cells per row."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


@pytest.fixture(scope="module")
def page(built, tmp_path_factory) -> list[list[str]]:
    """The executed definitions notebook (with a manifest of two published periods): its table rows."""
    import papermill

    out = tmp_path_factory.mktemp("page")
    manifest = out / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "schema": 1,
                "periods": [
                    {"period": "2026-04", "revision": 1, "catalog_version": 1, "published_at": "2026-05-02T08:00:00Z"},
                    {"period": "2026-05", "revision": 1, "published_at": "2026-06-02T08:00:00Z"},
                ],
            }
        ),
        encoding="utf-8",
    )
    papermill.execute_notebook(
        str(NOTEBOOKS / "definitions.ipynb"),
        str(out / "definitions.ipynb"),
        parameters={"database": str(built.database), "root": "./", "manifest": str(manifest)},
        progress_bar=False,
        log_output=False,
        kernel_name="python3",
    )
    parser = _Rows()
    for cell in nbformat.read(out / "definitions.ipynb", as_version=4).cells:
        for output in cell.get("outputs", []):
            parser.feed(output.get("data", {}).get("text/html", ""))
    return parser.rows


def test_the_page_shows_a_target_change_with_its_reason_and_approver(page, built):
    for expected in _expected_trail(built):
        assert list(expected) in page, expected


def test_the_page_lists_the_raci_roles_per_kpi(page, built_con):
    raci = definitions.raci(built_con)
    fcr = raci.set_index("kpi_id").loc["fcr"]
    # the root keeps the catalog's roles; the rules are for EU and Paris
    catalog = built_con.execute(
        "SELECT accountable, responsible, consulted, informed FROM targets t JOIN org_units o USING (unit_id) "
        "WHERE o.parent_id IS NULL AND t.kpi_id = 'fcr' AND t.period = '2026-05'"
    ).fetchone()
    assert tuple(fcr[["accountable", "responsible", "consulted", "informed"]]) == catalog
    assert ["First contact resolution", *catalog] in page


def test_role_overrides_name_the_units_where_a_rule_hands_a_kpi_to_someone_else(built_con):
    overrides = definitions.role_overrides(built_con, "2026-05")
    fcr = overrides[overrides["kpi_id"] == "fcr"].set_index("unit_id")
    assert list(fcr.index) == [EU, PARIS]  # Berlin inherits Europe's roles: not listed again
    assert fcr.loc[EU, "accountable"] == "Head of Europe Operations"
    assert fcr.loc[EU, "consulted"] == "Knowledge Manager; Trainer"
    assert fcr.loc[PARIS, "accountable"] == "Paris team lead"


def test_the_change_log_names_the_periods_computed_with_each_version(page, built_con):
    changes = built_con.execute("SELECT version, date, what, why FROM catalog_changes ORDER BY version").fetchall()
    version, day, what, why = changes[-1]
    # 2026-04 from the manifest's catalog_version, 2026-05 by its publication date
    assert [str(version), day.isoformat(), what, why, "2026-04 to 2026-05"] in page


def test_versions_come_from_the_manifest_else_from_the_change_log_dates():
    changes = pd.DataFrame(
        {
            "version": [1, 2, 3],
            "date": [date(2025, 1, 1), date(2026, 3, 15), date(2026, 9, 1)],
            "what": ["a", "b", "c"],
            "why": ["x", "y", "z"],
        }
    )
    assert definitions.version_on(changes, date(2024, 12, 31)) is None
    assert definitions.version_on(changes, date(2026, 3, 15)) == 2
    assert definitions.version_on(changes, date(2026, 8, 31)) == 2
    entries = [
        {"period": "2026-02", "revision": 1, "catalog_version": 1, "published_at": "2026-03-20T08:00:00Z"},
        {"period": "2026-03", "revision": 1, "published_at": "2026-04-02T08:00:00Z"},
        {"period": "2026-02", "revision": 2, "published_at": "2026-09-02T08:00:00Z", "reason": "new definitions"},
    ]
    used = definitions.versions_of(changes, entries, [])
    assert list(zip(used["period"], used["revision"], used["catalog_version"], used["source"])) == [
        ("2026-02", 1, 1, "manifest"),  # recorded, though the change log says 2 by then
        ("2026-02", 2, 3, "change log, publication date"),
        ("2026-03", 1, 2, "change log, publication date"),
    ]
    derived = definitions.versions_of(changes, None, ["2026-02", "2026-03", "2026-08", "2026-09"])
    assert list(derived["catalog_version"]) == [1, 2, 2, 3]
    assert definitions.month_ranges(["2026-03", "2026-01", "2026-02", "2026-05", "2025-12"]) == (
        "2025-12 to 2026-03, 2026-05"
    )
