"""The arithmetic macros of scorecard/stats.py against published values and hand computations."""

from __future__ import annotations

import math
import statistics

import duckdb
import pytest
from reference_stats import adjusted_wald, attainment, mean_interval, wilson
from statsmodels.stats.proportion import proportion_confint

from scorecard.stats import install_macros

approx = pytest.approx


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    install_macros(con)
    yield con
    con.close()


def one(con, sql: str, *params):
    return con.execute(f"SELECT {sql}", list(params)).fetchone()


# --- Wilson ---------------------------------------------------------------------------------------


def test_wilson_8_of_10_matches_the_published_interval(con):
    low, high = one(con, "wilson_low(8, 10), wilson_high(8, 10)")
    assert (round(low, 1), round(high, 1)) == (49.0, 94.3)  # the published 95% Wilson interval
    sm_low, sm_high = proportion_confint(8, 10, alpha=0.05, method="wilson")
    assert (low, high) == (approx(100 * sm_low, abs=5e-3), approx(100 * sm_high, abs=5e-3))


@pytest.mark.parametrize("k,n", [(0, 10), (10, 10), (1, 1), (0, 1), (37, 40), (153, 200), (1, 3)])
def test_wilson_against_statsmodels_and_the_formula(con, k, n):
    low, high = one(con, "wilson_low(?, ?), wilson_high(?, ?)", k, n, k, n)
    sm_low, sm_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert low == approx(100 * sm_low, abs=0.01)
    assert high == approx(100 * sm_high, abs=0.01)
    ref_low, ref_high = wilson(k, n)
    assert (low, high) == (approx(ref_low, abs=1e-9), approx(ref_high, abs=1e-9))
    assert -1e-9 <= low <= 100 * k / n <= high <= 100 + 1e-9


def test_wilson_zero_records_has_no_interval(con):
    assert one(con, "wilson_low(0, 0), wilson_high(0, 0)") == (None, None)


# --- adjusted Wald (Rocks 2016) ----------------------------------------------------------------------


def test_adjusted_wald_by_hand(con):
    # 6 promoters, 2 detractors, n = 10: n′ = 13, p = 6.75/13, d = 2.75/13
    p, d = 6.75 / 13, 2.75 / 13
    se = math.sqrt((p + d - (p - d) ** 2) / 13)
    low, high = one(con, "nps_low(6, 2, 10), nps_high(6, 2, 10)")
    assert low == approx(100 * (p - d - 1.96 * se))
    assert high == approx(100 * (p - d + 1.96 * se))
    assert (round(low, 2), round(high, 2)) == (-12.59, 74.12)


@pytest.mark.parametrize("pro,det,n", [(6, 2, 10), (30, 10, 50), (0, 0, 4), (5, 5, 10), (120, 20, 200)])
def test_adjusted_wald_against_the_reference(con, pro, det, n):
    low, high = one(con, "nps_low(?, ?, ?), nps_high(?, ?, ?)", pro, det, n, pro, det, n)
    assert (low, high) == tuple(approx(v) for v in adjusted_wald(pro, det, n))


def test_adjusted_wald_is_clipped_to_plus_minus_100(con):
    # all promoters, n = 2: p = 2.75/5, d = 0.75/5, upper bound 104.4 before clipping
    assert one(con, "nps_high(2, 0, 2)")[0] == 100
    # all detractors, n = 3: lower bound −106.6 before clipping
    assert one(con, "nps_low(0, 3, 3)")[0] == -100
    assert one(con, "nps_low(0, 0, 0), nps_high(0, 0, 0)") == (None, None)


# --- means --------------------------------------------------------------------------------------------


def _sums(values):
    return sum(values), sum(v * v for v in values), len(values)


@pytest.mark.parametrize("values", [[2, 4, 4, 4, 5, 5, 7, 9], [1.5, 2.5], [60, 61, 59, 120, 0.5]])
def test_mean_interval_uses_the_sample_sd(con, values):
    s, ss, n = _sums(values)
    half = one(con, "mean_half(?, ?, ?)", s, ss, n)[0]
    mean, low, high = mean_interval(values)
    assert half == approx(1.96 * statistics.stdev(values) / math.sqrt(n))
    assert (mean - half, mean + half) == (approx(low), approx(high))


def test_mean_interval_by_hand(con):
    # 2 4 4 4 5 5 7 9: mean 5, Σ(x − 5)² = 32, sample sd = √(32/7)
    assert one(con, "mean_half(40, 232, 8)")[0] == approx(1.96 * math.sqrt(32 / 7) / math.sqrt(8))


@pytest.mark.parametrize("n", [0, 1])
def test_no_mean_interval_below_two_records(con, n):
    assert one(con, "mean_half(?, ?, ?)", 5.0 * n, 25.0 * n, n)[0] is None


def test_constant_values_have_a_zero_width_interval(con):
    assert one(con, "mean_half(15, 75, 3)")[0] == 0


# --- status and score macros ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "direction,value,n,target,amber,expected",
    [
        ("higher", 85, 50, 85, 80, "green"),  # exactly at target
        ("higher", 84.999, 50, 85, 80, "amber"),
        ("higher", 80, 50, 85, 80, "amber"),  # exactly at amber
        ("higher", 79.999, 50, 85, 80, "red"),
        ("higher", 75, 50, 85, 80, "red"),  # one band beyond amber
        ("lower", 60, 50, 60, 120, "green"),
        ("lower", 60.001, 50, 60, 120, "amber"),
        ("lower", 120, 50, 60, 120, "amber"),
        ("lower", 120.001, 50, 60, 120, "red"),
        ("lower", 180, 50, 60, 120, "red"),
        ("higher", None, 0, 85, 80, "no-data"),
        ("higher", 85, 29, 85, 80, "low-n"),  # below min_sample 30
        ("higher", 85, 30, 85, 80, "green"),  # at min_sample
        ("higher", 85, 50, None, None, "no-target"),
        ("higher", None, 0, None, None, "no-data"),  # no-data wins over no-target
        ("higher", 10, 5, None, None, "low-n"),  # low-n wins over no-target
        ("context", 12, 12, None, None, None),
    ],
)
def test_status(con, direction, value, n, target, amber, expected):
    got = one(con, "kpi_status(?, ?::DOUBLE, ?, 30, ?::DOUBLE, ?::DOUBLE)", direction, value, n, target, amber)[0]
    assert got == expected


@pytest.mark.parametrize(
    "direction,value,target,amber,expected",
    [
        ("higher", 85, 85, 80, 100),
        ("higher", 99, 85, 80, 100),
        ("higher", 82.5, 85, 80, 75),
        ("higher", 80, 85, 80, 50),
        ("higher", 77.5, 85, 80, 25),
        ("higher", 75, 85, 80, 0),  # one band width beyond amber
        ("higher", 60, 85, 80, 0),  # capped
        ("lower", 60, 60, 120, 100),
        ("lower", 10, 60, 120, 100),
        ("lower", 90, 60, 120, 75),
        ("lower", 120, 60, 120, 50),
        ("lower", 150, 60, 120, 25),
        ("lower", 180, 60, 120, 0),
        ("lower", 500, 60, 120, 0),
    ],
)
def test_score(con, direction, value, target, amber, expected):
    got = one(con, "kpi_score(?, ?::DOUBLE, ?::DOUBLE, ?::DOUBLE)", direction, value, target, amber)[0]
    assert got == approx(expected)
    assert got == approx(attainment(direction, value, target, amber))


def test_elapsed_seconds_across_a_daylight_saving_change():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Paris'")
    install_macros(con)
    got = one(con, "elapsed_s(TIMESTAMP '2026-03-29 01:50:00', TIMESTAMP '2026-03-29 03:10:00.5')")[0]
    assert got == approx(20 * 60 + 0.5)
    con.close()


# --- the fast elapsed_s of a compute (install_elapsed) ------------------------------------------------


@pytest.mark.parametrize(
    "zone", ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "UTC"]
)
def test_fast_elapsed_equals_the_time_zone_conversion(zone):
    """Every pair of a grid of local timestamps around the year's offset changes (gaps and repeated
    hours included, to the second and with fractions): the same seconds as converting each."""
    from datetime import datetime

    from scorecard.stats import install_elapsed, utc_offset_changes

    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    install_macros(con)
    low, high = datetime(2025, 1, 1), datetime(2026, 12, 31)
    changes = utc_offset_changes(con, low, high)
    expected_changes = {"UTC": 0, "Asia/Kolkata": 0}.get(zone, 4)
    assert len(changes) == expected_changes
    con.execute(
        """CREATE TABLE ts AS
        SELECT t FROM (SELECT unnest(range(TIMESTAMP '2025-01-01', TIMESTAMP '2026-12-31', INTERVAL 23 HOUR)) AS t)
        UNION ALL
        SELECT c + INTERVAL (s) SECOND + INTERVAL 250 MILLISECOND * (s % 2)
        FROM (SELECT unnest(?::TIMESTAMP[]) AS c), range(-5400, 5400, 599) r(s)""",
        [[c for c, _ in changes]],
    )
    con.execute(
        "CREATE TABLE slow AS SELECT a.t AS t0, b.t AS t1, elapsed_s(a.t, b.t) AS s FROM ts a, ts b "
        "WHERE b.t >= a.t AND b.t - a.t < INTERVAL 40 DAY"
    )
    install_elapsed(con, low, high)
    worst, pairs = con.execute("SELECT max(abs(elapsed_s(t0, t1) - s)), count(*) FROM slow").fetchone()
    assert pairs > 20_000
    assert worst < 1e-6
    con.close()
