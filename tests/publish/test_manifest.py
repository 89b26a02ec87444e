"""manifest.json and scorecard.csv as the README describes them,
checked against the database."""

from __future__ import annotations

import csv
import math
import re
from datetime import datetime

import yaml

from .conftest import LATEST, PERIODS, UNITS, Published
from .review_fixture import KB, KB_AFTER, KB_BEFORE, PROVISIONAL, RED_RULE, restated  # noqa: F401 - a fixture

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
            "config_fingerprint",
            "scorecard_csv",
            "units",
        } <= set(entry)
        published_at = datetime.fromisoformat(entry["published_at"])
        assert published_at.tzinfo is not None, entry["published_at"]
        assert re.fullmatch(r"[0-9a-f]{64}", entry["inputs_sha256"])
        assert entry["inputs_sha256"] == inputs  # both periods were published from the same inputs
        assert entry["catalog_version"] == catalog_version
        assert re.fullmatch(r"[0-9a-f]{64}", entry["config_fingerprint"])
        # the session's inputs have no initiatives: no initiatives.csv, but the page is there
        assert "initiatives_csv" not in entry
        assert not (published.site / entry["html"]).with_name("initiatives.csv").exists()
        assert (published.site / entry["initiatives_html"]).is_file()
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
    # the period and initiatives pages, a page per unit, then home, initiatives, history, definitions
    # and data quality
    assert summary.notebooks == summary.pages == 2 + len(UNITS) + 5
    assert summary.notes == []
    assert f"{LATEST} r1" in summary.line()


# --------------------------------------------------------------------------- configuration fingerprint
def test_fingerprint_is_recorded_and_follows_the_targets(published: Published, restated: Published, db, tmp_path):  # noqa: F811
    from scorecard.publish.fingerprint import configuration_fingerprint

    config = published.ws.config()
    r1 = {e["period"]: e["config_fingerprint"] for e in published.manifest()["periods"]}
    assert set(r1.values()) == {configuration_fingerprint(config, db)}, "both periods: one configuration"
    # where the files live does not change a number, nor the fingerprint
    moved = config.model_copy(update={"site": tmp_path / "elsewhere", "reports": tmp_path / "r", "workers": 1})
    assert configuration_fingerprint(moved, db) == r1[LATEST]
    # one target changed: another fingerprint
    rules = [
        r.model_copy(update={"target": (r.target or 0) + 1}) if i == 0 else r for i, r in enumerate(config.targets)
    ]
    assert rules, "the demo configuration has target rules"
    assert configuration_fingerprint(config.model_copy(update={"targets": rules}), db) != r1[LATEST]
    # the restated revision was published with one more target rule: both revisions say so
    entries = {(e["period"], e["revision"]): e for e in restated.manifest()["periods"]}
    assert entries[(LATEST, 1)]["config_fingerprint"] == r1[LATEST], "revision 1 is frozen"
    assert entries[(LATEST, 2)]["config_fingerprint"] != r1[LATEST]
    settings = yaml.safe_load(restated.ws.config_file.read_text(encoding="utf-8"))
    assert RED_RULE in settings["targets"]
    with restated.ws.db() as con:
        assert entries[(LATEST, 2)]["config_fingerprint"] == configuration_fingerprint(restated.ws.config(), con)


# --------------------------------------------------------------------------- initiatives.csv
INITIATIVE_COLUMNS = [
    "initiative_id",
    "kpi_id",
    "months_after",
    "before_treated",
    "after_treated",
    "before_control",
    "after_control",
    "n_before_treated",
    "n_after_treated",
    "n_before_control",
    "n_after_control",
    "naive_change",
    "impact",
    "ci_low",
    "ci_high",
    "verdict",
]


def _cell(con, unit_id: str, periods: tuple[str, ...]) -> tuple[float, int]:
    """FCR (a proportion, in %) pooled over a leaf unit's months, from the per-month measures."""
    n, x = con.execute(
        f"SELECT sum(n), sum(x_sum) FROM measures WHERE kpi_id = 'fcr' AND unit_id = ? "
        f"AND period IN ({', '.join('?' * len(periods))})",
        [unit_id, *periods],
    ).fetchone()
    return 100 * x / n, int(n)


def test_initiatives_csv_is_listed_and_recomputes(restated: Published):  # noqa: F811
    entry = restated.entry(LATEST, 2)
    assert entry["initiatives_csv"] == f"periods/{LATEST}/r2/initiatives.csv"
    assert "initiatives_csv" not in restated.entry(LATEST, 1), "revision 1 is frozen as it was"
    with (restated.site / entry["initiatives_csv"]).open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames[: len(INITIATIVE_COLUMNS)] == INITIATIVE_COLUMNS
        rows = {r["initiative_id"]: r for r in reader}
    assert set(rows) == {KB["initiative_id"], PROVISIONAL["initiative_id"]}
    for row in rows.values():
        for cell in row.values():
            assert cell.lower() not in ("nan", "none", "null", "<na>"), row

    # the knowledge base in Berlin against Madrid: every number again, from the monthly measures
    row = rows[KB["initiative_id"]]
    with restated.ws.db() as con:
        bt, n_bt = _cell(con, KB["unit_id"], KB_BEFORE)
        at, n_at = _cell(con, KB["unit_id"], KB_AFTER)
        bc, n_bc = _cell(con, KB["control_units"], KB_BEFORE)
        ac, n_ac = _cell(con, KB["control_units"], KB_AFTER)
        min_sample = int(con.execute("SELECT value FROM meta WHERE key = 'min_sample'").fetchone()[0])
    impact = (at - bt) - (ac - bc)
    se = math.sqrt(sum(p * (100 - p) / n for p, n in ((bt, n_bt), (at, n_at), (bc, n_bc), (ac, n_ac))))
    low, high = impact - 1.96 * se, impact + 1.96 * se
    expected = {
        "before_treated": bt,
        "after_treated": at,
        "before_control": bc,
        "after_control": ac,
        "naive_change": at - bt,
        "impact": impact,
        "ci_low": low,
        "ci_high": high,
    }
    for key, value in expected.items():
        assert math.isclose(float(row[key]), value, abs_tol=2e-4), (key, row[key], value)
    assert [int(row[k]) for k in INITIATIVE_COLUMNS[7:11]] == [n_bt, n_at, n_bc, n_ac]
    assert (row["kpi_id"], int(row["months_after"])) == ("fcr", 3)
    if min(n_bt, n_at, n_bc, n_ac) < min_sample:
        verdict = "too little data"
    else:  # FCR: higher is better
        verdict = "improved" if low > 0 else "worsened" if high < 0 else "no detectable effect"
    assert row["verdict"] == verdict

    # the callback promise started two months before LATEST: provisional, 2 of 3 months
    row = rows[PROVISIONAL["initiative_id"]]
    assert (int(row["months_after"]), row["provisional"]) == (2, "True")
    assert "provisional: 2 of 3 months" in row["note"]
