"""The scorecard's arithmetic as DuckDB macros, so every interval, status and score is computed
set-based next to the data, one definition each (uncertainty, status, score).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

# z of the 95% intervals (Wilson, adjusted Wald, mean ± z·se): the conventional rounded 1.96, as
# published. The significance test of a change uses the exact critical value instead
# (analysis.Z_CRITICAL_5PCT), since there a |z| at the boundary decides a verdict.
Z_95_INTERVAL = 1.96

STATS_MACROS = f"""
-- Seconds elapsed between two local (reporting time zone) timestamps. Read back as instants
-- in the session's time zone, so a span across a daylight-saving change is its real length.
-- (install_elapsed replaces it, for the timestamps of one data set, by a faster equivalent.)
CREATE OR REPLACE TEMP MACRO elapsed_s(t0, t1) AS epoch(t1::TIMESTAMPTZ) - epoch(t0::TIMESTAMPTZ);

-- Wilson score interval for k successes in n, in percent.
CREATE OR REPLACE TEMP MACRO wilson_low(k, n) AS CASE WHEN n > 0 THEN 100 * (
    (k / n + {Z_95_INTERVAL}^2 / (2 * n)) - {Z_95_INTERVAL} * sqrt((k / n) * (1 - k / n) / n + {Z_95_INTERVAL}^2 / (4 * n^2))
) / (1 + {Z_95_INTERVAL}^2 / n) END;
CREATE OR REPLACE TEMP MACRO wilson_high(k, n) AS CASE WHEN n > 0 THEN 100 * (
    (k / n + {Z_95_INTERVAL}^2 / (2 * n)) + {Z_95_INTERVAL} * sqrt((k / n) * (1 - k / n) / n + {Z_95_INTERVAL}^2 / (4 * n^2))
) / (1 + {Z_95_INTERVAL}^2 / n) END;

-- Adjusted-Wald interval for a net score (Rocks 2016), clipped to -100..100.
CREATE OR REPLACE TEMP MACRO nps_se(pro, det, n) AS sqrt((
    (pro + 0.75) / (n + 3) + (det + 0.75) / (n + 3) - ((pro + 0.75) / (n + 3) - (det + 0.75) / (n + 3))^2
) / (n + 3));
CREATE OR REPLACE TEMP MACRO nps_low(pro, det, n) AS CASE WHEN n > 0 THEN greatest(-100, 100 * (
    (pro + 0.75) / (n + 3) - (det + 0.75) / (n + 3) - {Z_95_INTERVAL} * nps_se(pro, det, n))) END;
CREATE OR REPLACE TEMP MACRO nps_high(pro, det, n) AS CASE WHEN n > 0 THEN least(100, 100 * (
    (pro + 0.75) / (n + 3) - (det + 0.75) / (n + 3) + {Z_95_INTERVAL} * nps_se(pro, det, n))) END;

-- Mean ± z·sd/√n from additive sums (sd with divisor n − 1); no interval below n = 2.
CREATE OR REPLACE TEMP MACRO mean_half(s, ss, n) AS CASE WHEN n >= 2 THEN
    {Z_95_INTERVAL} * sqrt(greatest(0, (ss - s^2 / n) / (n - 1))) / sqrt(n) END;

-- Status: the first that applies of no-data, low-n, no-target, then the colour.
CREATE OR REPLACE TEMP MACRO kpi_status(direction, v, n, min_n, t, a) AS CASE
    WHEN direction = 'context' THEN NULL
    WHEN v IS NULL OR n = 0 THEN 'no-data'
    WHEN n < min_n THEN 'low-n'
    WHEN t IS NULL THEN 'no-target'
    WHEN direction = 'higher' THEN CASE WHEN v >= t THEN 'green' WHEN v >= a THEN 'amber' ELSE 'red' END
    ELSE CASE WHEN v <= t THEN 'green' WHEN v <= a THEN 'amber' ELSE 'red' END
END;

-- Attainment 0-100: 100 at the target, 50 at amber, 0 one band width beyond amber, linear between.
-- Written for "higher"; a lower-is-better KPI is the same on negated values.
CREATE OR REPLACE TEMP MACRO attainment(v, t, a) AS greatest(0, least(100,
    CASE WHEN v >= t THEN 100 ELSE 50 + 50 * (v - a) / (t - a) END));
CREATE OR REPLACE TEMP MACRO kpi_score(direction, v, t, a) AS CASE
    WHEN direction = 'higher' THEN attainment(v, t, a)
    WHEN direction = 'lower' THEN attainment(-v, -t, -a)
END;
"""


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the macros on a connection (temporary: they are not stored in the database file)."""
    con.execute(STATS_MACROS)


# UTC offset of a local timestamp in the session's time zone, in seconds (local − UTC).
_OFFSET = "epoch(t) - epoch(t::TIMESTAMPTZ)"


def utc_offset_changes(con: duckdb.DuckDBPyConnection, low: datetime, high: datetime) -> list[tuple[datetime, int]]:
    """The local timestamps in [low, high] from which the session time zone's UTC offset changes,
    with the change in seconds, as DuckDB itself converts local times (a local time in a
    spring-forward gap keeps the old offset, an ambiguous one takes the new). Sampled by day, then
    by hour and by second around each change."""

    def offsets(start, stop, step: str) -> list[tuple[datetime, float]]:
        return con.execute(
            f"SELECT t, {_OFFSET} FROM range(?::TIMESTAMP, ?::TIMESTAMP, INTERVAL {step}) r(t)", [start, stop]
        ).fetchall()

    def changes(samples: list[tuple[datetime, float]]) -> list[tuple[datetime, datetime, float]]:
        return [(a, b, ob - oa) for (a, oa), (b, ob) in zip(samples, samples[1:]) if oa != ob]

    start = datetime.combine(low.date(), datetime.min.time()) - timedelta(days=1)
    stop = datetime.combine(high.date(), datetime.min.time()) + timedelta(days=2)
    found = []
    for a, b, _ in changes(offsets(start, stop + timedelta(seconds=1), "1 DAY")):
        for a2, b2, _ in changes(offsets(a, b + timedelta(seconds=1), "1 HOUR")):
            found += [(t1, int(delta)) for _, t1, delta in changes(offsets(a2, b2 + timedelta(seconds=1), "1 SECOND"))]
    return found


def install_elapsed(con: duckdb.DuckDBPyConnection, low: datetime, high: datetime) -> None:
    """Replace elapsed_s by an equivalent for timestamps within [low, high] that needs no time
    zone conversion per row (which costs about 0.1 s per million values): the plain difference,
    less the change of UTC offset between the two timestamps (one CASE over the offset changes)."""
    whens, offset = [], 0
    for at, delta in utc_offset_changes(con, low, high):
        whens.append(f"WHEN t < TIMESTAMP '{at.isoformat(sep=' ')}' THEN {offset}")
        offset += delta
    shift = f"CASE {' '.join(whens)} ELSE {offset} END" if whens else "0"
    con.execute(f"CREATE OR REPLACE TEMP MACRO utc_offset_shift(t) AS {shift}")
    con.execute(
        "CREATE OR REPLACE TEMP MACRO elapsed_s(t0, t1) AS "
        "(epoch_us(t1) - epoch_us(t0)) / 1e6 - (utc_offset_shift(t1) - utc_offset_shift(t0))"
    )
