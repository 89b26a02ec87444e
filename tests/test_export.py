"""`scorecard export`: the long-format scorecard.csv."""

from __future__ import annotations

import csv

import pytest
from scorecard_fixtures import BERLIN, NYC, PARIS, UNITS, Built, build_module, ix, run_cli, survey

from scorecard.export import write_scorecard_csv
from scorecard.warehouse import connect

COLUMNS = [
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


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    interactions = [
        ix(f"a{k}", "2026-01-05 10:00", PARIS, first=f"2026-01-05 10:{k:02d}", resolved="2026-01-05 12:00")
        for k in range(1, 5)
    ]
    interactions += [ix("b1", "2026-01-05 10:00", BERLIN), ix("n1", "2026-02-03 10:00", NYC)]
    responses = [survey(f"s{k}", "csat", 5 - k % 3, "2026-01-06 10:00", unit_id=PARIS) for k in range(7)]
    return build_module(
        tmp_path_factory, "export", {"interactions": interactions, "survey_responses": responses}, min_sample=3
    )


def _export(capsys, built: Built, out, *extra) -> list[dict]:
    code, stdout, err = run_cli(capsys, "export", "--db", built.database, "--out", out, *extra)
    assert code == 0, err
    assert "rows →" in stdout
    with open(out, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def exported(built, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out" / "scorecard.csv"
    return out, _export(capsys, built, out)


def test_header_is_exactly_the_published_columns(exported):
    out, _ = exported
    assert out.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)


def test_one_row_per_unit_kpi_and_period_plus_composite(built, exported):
    _, rows = exported
    kpis = [r["kpi_id"] for r in built.query("SELECT kpi_id FROM catalog ORDER BY sort_order")]
    keys = [(r["period"], r["unit_id"], r["kpi_id"]) for r in rows]
    assert len(keys) == len(set(keys)) == 2 * len(UNITS) * (len(kpis) + 1)
    for period in ("2026-01", "2026-02"):
        for unit in UNITS:
            unit_rows = [r["kpi_id"] for r in rows if r["period"] == period and r["unit_id"] == unit]
            assert unit_rows == kpis + ["composite"]  # catalog order, composite last


def test_values_and_empty_cells(built, exported):
    _, rows = exported
    by_key = {(r["period"], r["unit_id"], r["kpi_id"]): r for r in rows}
    for key, result in built.results.items():
        row = by_key[key]
        for column in ("value", "ci_low", "ci_high", "target", "amber", "score"):
            if result[column] is None:
                assert row[column] == "", (key, column)
            else:
                assert float(row[column]) == pytest.approx(result[column], abs=1e-4), (key, column)
        assert int(row["n"]) == result["n"]
        assert row["status"] == (result["status"] or "")
    csat = by_key[("2026-01", PARIS, "csat")]
    assert csat["status"] in STATUSES and csat["target"] == "85" and csat["amber"] == "80" and csat["weight"] == "25"
    nodata = by_key[("2026-02", PARIS, "csat")]
    assert (nodata["value"], nodata["n"], nodata["ci_low"], nodata["status"], nodata["score"]) == (
        "",
        "0",
        "",
        "no-data",
        "",
    )
    volume = by_key[("2026-02", PARIS, "volume")]
    assert (volume["value"], volume["status"], volume["target"]) == ("0", "", "")
    composite = by_key[("2026-01", PARIS, "composite")]
    assert composite["status"] == "" and composite["target"] == "" and composite["value"] != ""
    assert {r["status"] for r in rows} <= STATUSES | {""}
    assert {r["status"] for r in rows if r["kpi_id"] in ("volume", "composite")} == {""}


def test_a_second_export_is_byte_identical(built, exported, tmp_path, capsys):
    out, _ = exported
    again = tmp_path / "again.csv"
    _export(capsys, built, again)
    assert again.read_bytes() == out.read_bytes()


def test_export_one_period(built, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = _export(capsys, built, tmp_path / "feb.csv", "--period", "2026-02")
    assert {r["period"] for r in rows} == {"2026-02"}
    assert len(rows) == len(UNITS) * 15
    with connect(built.database) as con:
        assert write_scorecard_csv(con, tmp_path / "none.csv", period="2025-12") == 0
    assert (tmp_path / "none.csv").read_text(encoding="utf-8").strip() == ",".join(COLUMNS)
