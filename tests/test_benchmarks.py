"""External benchmarks: the packaged default file, the `benchmarks` setting, an input file, and
what decides that the database must be rebuilt (analysis.py compares with them)."""

from __future__ import annotations

import csv

import pytest
from scorecard_fixtures import Inputs, ix, write_csv

from scorecard.catalog import load_catalog
from scorecard.config import PACKAGED_BENCHMARKS, Config, load_config
from scorecard.errors import ConfigError
from scorecard.warehouse import recompute

approx = pytest.approx
CATALOG = load_catalog()


def bench(kpi, source, year, median, p25="", p75="", segment=""):
    return {"kpi_id": kpi, "source": source, "year": year, "segment": segment, "p25": p25, "median": median, "p75": p75}


def _small(inputs: Inputs) -> Inputs:
    return inputs.add(
        "interactions", ix("a", "2026-01-05 10:00", resolved="2026-01-05 11:00"), ix("b", "2026-02-01 00:00")
    )


def test_packaged_benchmarks_are_used_without_a_benchmarks_file(inputs):
    built = _small(inputs).build()
    rows = built.query("SELECT kpi_id, source, year, median FROM benchmarks ORDER BY kpi_id")
    assert {r["kpi_id"] for r in rows} == {"aht", "csat", "fcr", "qa_score"}  # no NPS: see the file's notes
    assert built.summary.loaded["benchmarks"] == 0  # not rows of the input folder
    meta = dict((r["key"], r["value"]) for r in built.query("SELECT key, value FROM meta"))
    assert (meta["benchmarks_from"], meta["benchmarks"]) == ("config", str(PACKAGED_BENCHMARKS))
    assert built.quarantine("benchmarks") == []


def test_packaged_benchmarks_are_valid_and_sourced():
    with PACKAGED_BENCHMARKS.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len({r["kpi_id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["kpi_id"] in CATALOG.ids and r["kpi_id"] not in ("nps", "enps")  # relationship NPS: not ours
        assert r["source"] and r["url"].startswith("https://") and r["note"] and 2015 <= int(r["year"]) <= 2030
        assert float(r["median"]) > 0
    aht = next(r for r in rows if r["kpi_id"] == "aht")
    assert float(aht["median"]) == approx(590 / 60, abs=0.005)  # minutes, as the catalog, not seconds


def test_no_benchmarks_when_set_to_null(inputs):
    built = _small(inputs).build(benchmarks=None)
    assert built.query("SELECT count(*) AS n FROM benchmarks")[0]["n"] == 0
    assert built.query("SELECT value FROM meta WHERE key = 'benchmarks_from'") == [{"value": "none"}]


def test_a_configured_benchmarks_file_and_an_input_file(inputs, tmp_path):
    path = write_csv(tmp_path / "mine.csv", [bench("fcr", "Mine", 2026, 99)])
    built = _small(inputs).build(benchmarks=path)
    assert built.query("SELECT source FROM benchmarks") == [{"source": "Mine"}]
    inputs.add("benchmarks", bench("fcr", "From the input folder", 2026, 50))
    built = inputs.build(benchmarks=path)  # the input folder's file wins
    assert built.query("SELECT source FROM benchmarks") == [{"source": "From the input folder"}]
    assert built.summary.loaded["benchmarks"] == 1


def test_a_missing_benchmarks_file_is_a_config_error(inputs, tmp_path):
    with pytest.raises(ConfigError, match="benchmarks: .*missing.csv: file not found"):
        _small(inputs).build(benchmarks=tmp_path / "missing.csv")


def test_benchmarks_file_content_is_part_of_the_fingerprint(tmp_path):
    path = write_csv(tmp_path / "b.csv", [bench("fcr", "Mine", 2026, 70)])
    config = Config(benchmarks=path)
    before = config.fingerprint()
    assert Config(benchmarks=path).fingerprint() == before
    write_csv(path, [bench("fcr", "Mine", 2026, 71)])
    assert config.fingerprint() != before  # same setting, other content: rebuild
    assert Config(benchmarks=None).fingerprint() != Config().fingerprint()


def test_benchmarks_path_is_relative_to_the_config_file(tmp_path):
    (tmp_path / "scorecard.yml").write_text("benchmarks: refs/b.csv\n", encoding="utf-8")
    assert load_config(tmp_path / "scorecard.yml").benchmarks == tmp_path / "refs" / "b.csv"
    (tmp_path / "scorecard.yml").write_text("benchmarks: null\n", encoding="utf-8")
    assert load_config(tmp_path / "scorecard.yml").benchmarks is None
    assert load_config(None).benchmarks == PACKAGED_BENCHMARKS


def test_recompute_follows_a_changed_benchmarks_file(inputs, tmp_path):
    path = write_csv(tmp_path / "b.csv", [bench("fcr", "Mine", 2026, 70)])
    built = _small(inputs).build(benchmarks=path)
    write_csv(path, [bench("fcr", "Mine", 2026, 99), bench("nope", "Mine", 2026, 1)])
    recompute(Config(benchmarks=path), database=built.database)
    assert built.query("SELECT median FROM benchmarks") == [{"median": 99}]
    assert [q["reason"] for q in built.quarantine("benchmarks")] == ["unknown kpi_id"]
    recompute(Config(benchmarks=None), database=built.database)
    assert built.query("SELECT count(*) AS n FROM benchmarks") == [{"n": 0}]
    assert built.quarantine("benchmarks") == []


def test_recompute_keeps_benchmarks_from_the_input_folder(inputs, tmp_path):
    inputs.add("benchmarks", bench("fcr", "From the input folder", 2026, 50))
    built = _small(inputs).build()
    recompute(Config(benchmarks=None), database=built.database)
    assert built.query("SELECT source FROM benchmarks") == [{"source": "From the input folder"}]
