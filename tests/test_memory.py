"""A build within a small DuckDB memory_limit: exact medians computed a few months at a time give
the same database as one pass; a limit too small to build in is one error line naming the setting."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest
from scorecard_fixtures import assert_one_error_line

from scorecard import kpis
from scorecard.config import Config
from scorecard.demo import generate
from scorecard.warehouse import build

# Every table the build writes, but meta (it records the configuration's fingerprint).
COMPARED = (
    "org_units",
    "unit_tree",
    "interactions",
    "survey_responses",
    "quarantine",
    "periods",
    "measures",
    "targets",
    "results",
    "priority",
    "changes",
    "comparisons",
    "breakdowns",
    "mix_shift",
    "escalations",
)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("memory") / "data"
    generate(data)
    return data


def _config(**settings) -> Config:
    return Config(timezone="Europe/Paris", **settings)


def _rows(database: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def _same(a: list[tuple], b: list[tuple]) -> bool:
    """Equal, floats up to summation order (parallel sums may add in another order)."""
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        for x, y in zip(ra, rb):
            if isinstance(x, float) and isinstance(y, float):
                if not (x == y or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)):
                    return False
            elif x != y:
                return False
    return True


def test_a_small_memory_limit_gives_the_same_database_month_by_month(demo_data, tmp_path, monkeypatch):
    whole = build(_config(), data_dir=demo_data, database=tmp_path / "whole.duckdb")

    pieces = []
    real = kpis.median_pieces

    def spy(con, rows_per_piece, *source):
        found = real(con, rows_per_piece, *source)
        pieces.append(len(found))
        return found

    # a budget so small that every month of medians is a piece of its own
    monkeypatch.setattr(kpis, "MEDIAN_BYTES_PER_VALUE", 10**9)
    monkeypatch.setattr(kpis, "median_pieces", spy)
    small = build(_config(memory_limit="100MB"), data_dir=demo_data, database=tmp_path / "small.duckdb")

    periods = whole.periods
    assert pieces == [periods, periods]  # measures, then breakdowns: one piece per month
    assert small.line().replace("small.duckdb", "whole.duckdb") == whole.line()
    for table in COMPARED:
        assert _same(_rows(tmp_path / "whole.duckdb", table), _rows(tmp_path / "small.duckdb", table)), table
    # medians are exact, not merely close
    medians = "SELECT period, unit_id, kpi_id, value FROM measures WHERE kpi_id LIKE '%median' ORDER BY ALL"
    with (
        duckdb.connect(str(tmp_path / "whole.duckdb"), read_only=True) as a,
        duckdb.connect(str(tmp_path / "small.duckdb"), read_only=True) as b,
    ):
        assert a.execute(medians).fetchall() == b.execute(medians).fetchall()


def test_median_pieces_are_whole_months_within_the_budget():
    con = duckdb.connect()
    con.execute("""CREATE TABLE interactions AS SELECT TIMESTAMP '2026-01-01' + i * INTERVAL 1 DAY AS created_at
                   FROM range(90) t(i)""")  # 31 + 28 + 31 days
    pieces = kpis.median_pieces(con, 60)
    assert len(pieces) == 2  # Jan + Feb (59), then March
    assert pieces[0][1] == pieces[1][0] and str(pieces[1][0]) == "2026-03-01 00:00:00"
    covered = [
        con.execute("SELECT count(*) FROM interactions WHERE created_at >= ? AND created_at < ?", list(p)).fetchone()[0]
        for p in pieces
    ]
    assert covered == [59, 31]
    assert len(kpis.median_pieces(con, 10)) == 3  # a month above the budget stays whole
    assert len(kpis.median_pieces(con, 10**6)) == 1


def test_memory_limit_reads_back_in_bytes():
    con = duckdb.connect()
    con.execute("SET memory_limit = '600MB'")
    assert kpis.memory_limit_bytes(con) == pytest.approx(600e6, rel=0.01)


def test_too_small_a_memory_limit_is_one_line_naming_the_setting(demo_data, tmp_path, cli):
    (tmp_path / "tiny.yml").write_text(
        f"data: {demo_data}\ndatabase: {tmp_path / 'db.duckdb'}\ntimezone: Europe/Paris\nmemory_limit: 16MB\n",
        encoding="utf-8",
    )
    code, out, err = cli("build", "--config", tmp_path / "tiny.yml")
    assert code == 3
    assert_one_error_line(err, "memory_limit", "16MB", "raise memory_limit")
    assert not (tmp_path / "db.duckdb").exists()
