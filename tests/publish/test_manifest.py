"""manifest.json and scorecard.csv as the README describes them,
checked against the database."""

from __future__ import annotations

import csv
import math
import re
from datetime import datetime

from .conftest import LATEST, PERIODS, UNITS, Published

CSV_COLUMNS = [
    "period",
    "unit_id",
    "kpi_id",
    "value",
    "n",
    "ci_low",
    "ci_high",
    "target",
    "amber",
    "status",
    "weight",
    "score",
]
STATUSES = {"green", "amber", "red", "low-n", "no-data", "no-target"}


def test_manifest_lists_each_published_period_once(published: Published, db):
    from scorecard.loading import find_sources, inputs_sha256

    manifest = published.manifest()
    entries = manifest["periods"]
    assert sorted((e["period"], e["revision"]) for e in entries) == [(p, 1) for p in PERIODS]
    catalog_version = int(db.execute("SELECT value FROM meta WHERE key = 'catalog_version'").fetchone()[0])
    units = {u for (u,) in db.execute("SELECT unit_id FROM org_units").fetchall()}
    inputs = inputs_sha256(find_sources(published.ws.data))
    for entry in entries:
        assert {
            "period",
            "revision",
            "published_at",
            "inputs_sha256",
            "catalog_version",
            "scorecard_csv",
            "units",
        } <= set(entry)
        published_at = datetime.fromisoformat(entry["published_at"])
        assert published_at.tzinfo is not None, entry["published_at"]
        assert re.fullmatch(r"[0-9a-f]{64}", entry["inputs_sha256"])
        assert entry["inputs_sha256"] == inputs  # both periods were published from the same inputs
        assert entry["catalog_version"] == catalog_version
        assert not entry.get("provisional")
        assert (published.site / entry["scorecard_csv"]).is_file()
        assert {u["unit_id"] for u in entry["units"]} == units
        for unit in entry["units"]:
            for key, suffix in (("html", ".html"), ("pdf", ".pdf")):
                path = unit[key]
                assert not path.startswith("/") and ".." not in path.split("/"), path
                assert path.endswith(suffix) and path.startswith(f"periods/{entry['period']}/"), path
                assert (published.site / path).is_file(), path
            assert (published.site / unit["pdf"]).read_bytes()[:5] == b"%PDF-"
    # every unit has its own pages: no two units share a file
    for entry in entries:
        assert len({u["html"] for u in entry["units"]}) == len(entry["units"])


def test_manifest_is_stable_json(published: Published):
    text = (published.site / "manifest.json").read_text(encoding="utf-8")
    assert text.endswith("\n")
    periods = [e["period"] for e in published.manifest()["periods"]]
    assert periods == sorted(periods, reverse=True), "newest first"


def _float(text: str) -> float | None:
    return None if text == "" else float(text)


def test_scorecard_csv_has_the_spec_columns_and_the_database_numbers(published: Published, db):
    for period in PERIODS:
        path = published.site / published.entry(period)["scorecard_csv"]
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames
            rows = list(reader)
        assert set(CSV_COLUMNS) <= set(header), header
        expected = {
            (u, k): (v, s)
            for u, k, v, s in db.execute(
                "SELECT unit_id, kpi_id, value, status FROM results WHERE period = ?", [period]
            ).fetchall()
        }
        got = {(r["unit_id"], r["kpi_id"]): r for r in rows}
        assert len(got) == len(rows), "one row per (unit, KPI)"
        assert set(got) == set(expected)
        assert {r["period"] for r in rows} == {period}
        units = {u for (u,) in db.execute("SELECT unit_id FROM org_units").fetchall()}
        assert {u for (u, k) in got if k == "composite"} == units, "a composite row per unit"
        for (unit, kpi), row in got.items():
            value, status = expected[(unit, kpi)]
            for cell in row.values():
                assert cell.lower() not in ("nan", "none", "null", "<na>"), row
            if value is None or (isinstance(value, float) and math.isnan(value)):
                assert row["value"] == "", row
            else:
                assert math.isclose(_float(row["value"]), value, rel_tol=1e-4, abs_tol=1e-4), row
            if kpi in ("volume", "composite"):
                assert row["status"] == "", row
            else:
                assert row["status"] in STATUSES and row["status"] == status, row


def test_every_unit_has_composite_and_weights_from_targets(published: Published, db):
    """The weight column is the weight of targets for that unit and period."""
    path = published.site / published.entry(LATEST)["scorecard_csv"]
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kpi_id"] != "composite"]
    weights = {
        (u, k): w
        for u, k, w in db.execute("SELECT unit_id, kpi_id, weight FROM targets WHERE period = ?", [LATEST]).fetchall()
    }
    for row in rows:
        expected = weights.get((row["unit_id"], row["kpi_id"]))
        if expected is None:
            assert row["weight"] in ("", "0"), row
        else:
            assert math.isclose(_float(row["weight"]) or 0.0, expected), row


def test_publish_summary_counts_what_was_done(published: Published):
    summary = published.summaries[LATEST]
    assert [(p.period, p.revision, p.provisional) for p in summary.published] == [(LATEST, 1, False)]
    # the period page, a page per unit, then home, history, definitions and data quality
    assert summary.notebooks == summary.pages == 1 + len(UNITS) + 4
    assert summary.notes == []
    assert f"{LATEST} r1" in summary.line()
