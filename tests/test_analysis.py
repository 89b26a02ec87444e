"""The analysis tables (scorecard/analysis.py): changes, comparisons, breakdowns, mix shifts and
escalations, each checked against a plain-Python computation from the fixture's records."""

from __future__ import annotations

import math
import random
import statistics
from pathlib import Path

import duckdb
import pytest
from reference_stats import Z_CRITICAL, net_score_z, two_proportion_z, welch_z
from scorecard_fixtures import BERLIN, EU, NA, NYC, PARIS, ROOT, UNITS, Inputs, build_module, ix, survey, write_csv
from statsmodels.stats.proportion import proportions_ztest

from scorecard.analysis import Z_CRITICAL_5PCT as ENGINE_Z_CRITICAL
from scorecard.analysis import install_macros as install_analysis_macros
from scorecard.catalog import load_catalog
from scorecard.config import Config, TargetRule
from scorecard.stats import install_macros
from scorecard.warehouse import recompute

approx = pytest.approx
REPO = Path(__file__).resolve().parents[1]
CATALOG = load_catalog()
PARENT = {ROOT: None, EU: ROOT, NA: ROOT, PARIS: EU, BERLIN: EU, NYC: NA}
DESCENDANTS = {ROOT: {PARIS, BERLIN, NYC}, EU: {PARIS, BERLIN}, NA: {NYC}, PARIS: {PARIS}, BERLIN: {BERLIN}, NYC: {NYC}}
MIN_SAMPLE = 5


def months_before(period: str, k: int) -> str:
    year, month = map(int, period.split("-"))
    index = year * 12 + month - 1 - k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def pooled(records: dict[tuple[str, str], list], unit: str, period: str) -> list:
    """A parent's records are its descendants' records (spec: parents pool raw records)."""
    return [x for leaf in DESCENDANTS[unit] for x in records.get((leaf, period), [])]


# --- the macros: significance at the critical value, benchmark positions ----------------------------


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    install_macros(con)
    install_analysis_macros(con)
    yield con
    con.close()


def test_the_critical_value_is_the_two_sided_5_percent_normal_quantile():
    assert ENGINE_Z_CRITICAL == Z_CRITICAL == approx(statistics.NormalDist().inv_cdf(0.975), abs=1e-15)


@pytest.mark.parametrize(
    "d,se,expected",
    [
        (Z_CRITICAL, 1.0, True),  # exactly at the critical value: significant
        (-Z_CRITICAL, 1.0, True),
        (math.nextafter(Z_CRITICAL, 0), 1.0, False),  # the largest double below it: not
        (-math.nextafter(Z_CRITICAL, 0), 1.0, False),
        (1.96, 1.0, True),
        (1.9599, 1.0, False),
        (0.0, 1.0, False),
        (0.0, 0.0, False),  # no spread and no change
        (0.5, 0.0, True),  # no spread and a change
        (None, 1.0, None),
        (1.0, None, None),  # no sampling model: cannot be tested
    ],
)
def test_significance_boundary(con, d, se, expected):
    assert con.execute("SELECT change_significant(?::DOUBLE, ?::DOUBLE)", [d, se]).fetchone()[0] is expected


def reference_position(direction: str, v: float, p25, median, p75) -> str:
    """Written from the docstring: quartiles are percentiles; 'top' is the better end."""
    if direction == "lower":  # mirror: lower values are better, so p25 is the better quartile
        v, p25, median, p75 = -v, (None if p75 is None else -p75), -median, (None if p25 is None else -p25)
    if p75 is not None and v >= p75:
        return "top quartile"
    if p25 is not None and v <= p25:
        return "bottom quartile"
    if v == median:
        return "at median"
    return "better than median" if v > median else "worse than median"


POSITIONS = [
    ("higher", 95, 70, 80, 90, "top quartile"),
    ("higher", 90, 70, 80, 90, "top quartile"),  # at p75
    ("higher", 85, 70, 80, 90, "better than median"),
    ("higher", 80, 70, 80, 90, "at median"),
    ("higher", 75, 70, 80, 90, "worse than median"),
    ("higher", 70, 70, 80, 90, "bottom quartile"),  # at p25
    ("higher", 60, 70, 80, 90, "bottom quartile"),
    ("lower", 6, 8, 10, 12, "top quartile"),  # faster than the fastest quartile
    ("lower", 8, 8, 10, 12, "top quartile"),  # at p25, the better quartile
    ("lower", 9, 8, 10, 12, "better than median"),  # better than the median
    ("lower", 10, 8, 10, 12, "at median"),
    ("lower", 11, 8, 10, 12, "worse than median"),
    ("lower", 12, 8, 10, 12, "bottom quartile"),  # at p75, the worse quartile
    ("lower", 15, 8, 10, 12, "bottom quartile"),
    ("higher", 81, None, 80, None, "better than median"),  # a median only
    ("higher", 80, None, 80, None, "at median"),
    ("higher", 79, None, 80, None, "worse than median"),
    ("lower", 9.5, None, 9.83, None, "better than median"),
    ("lower", 10, None, 9.83, None, "worse than median"),
    ("higher", 95, None, 80, 90, "top quartile"),  # p75 without p25
    ("higher", 60, None, 80, 90, "worse than median"),
]


@pytest.mark.parametrize("direction,v,p25,median,p75,expected", POSITIONS)
def test_benchmark_position(con, direction, v, p25, median, p75, expected):
    assert reference_position(direction, v, p25, median, p75) == expected
    got = con.execute(
        "SELECT bench_position(?, ?::DOUBLE, ?::DOUBLE, ?::DOUBLE, ?::DOUBLE)", [direction, v, p25, median, p75]
    ).fetchone()[0]
    assert got == expected


@pytest.mark.parametrize("direction,v,median", [("context", 5, 4), ("higher", None, 4), ("higher", 5, None)])
def test_no_benchmark_position(con, direction, v, median):
    assert (
        con.execute("SELECT bench_position(?, ?::DOUBLE, NULL, ?::DOUBLE, NULL)", [direction, v, median]).fetchone()[0]
        is None
    )


# --- changes ---------------------------------------------------------------------------------------

MONTHS = ["2025-01", "2025-02", "2025-03"] + [f"2025-{m:02d}" for m in range(4, 13)] + ["2026-01", "2026-02", "2026-03"]


def _csat(k: int, n: int) -> list[int]:
    return [5] * k + [2] * (n - k)


# Survey scores per (unit, month). Hand-made cases first, then a seeded spread of the rest.
CSAT = {
    (PARIS, "2025-02"): _csat(30, 40),  # year-ago of 2026-02
    (BERLIN, "2025-02"): _csat(30, 40),  # a tie with Paris
    (PARIS, "2026-01"): _csat(44, 50),
    (PARIS, "2026-02"): _csat(49, 50),  # z = 1.9597: just below the critical value
    (PARIS, "2026-03"): _csat(3, 4),  # n = 4 < min_sample: not tested
    (BERLIN, "2026-01"): _csat(4, 50),
    (BERLIN, "2026-02"): _csat(11, 50),  # z = 1.9604: just above it
    (NYC, "2026-01"): [],  # nothing in 2026-01: no previous value for 2026-02
    (NYC, "2026-02"): _csat(10, 10),
    (NYC, "2026-03"): _csat(10, 10),  # 100 % twice: no spread, no change
}
NPS: dict[tuple[str, str], list[int]] = {}
CES = {
    (PARIS, "2026-01"): [5] * 6,
    (PARIS, "2026-02"): [6] * 6,  # no spread in either month, yet a change: significant
    (NYC, "2026-01"): [4],  # n = 1: below min_sample
    (NYC, "2026-02"): [7, 7, 1, 1, 4, 4],
}
# handle time seconds of Paris's interactions (aht, lower is better), one interaction each
HANDLE = {
    (PARIS, "2026-01"): [600, 660, 720, 540, 600, 630],
    (PARIS, "2026-02"): [300, 360, 420, 330, 300, 390],  # faster: improved
    (BERLIN, "2026-02"): [400] * 5,
}


def _spread() -> None:
    rng = random.Random(4)
    for unit in (PARIS, BERLIN, NYC):
        for month in MONTHS:
            NPS[(unit, month)] = [rng.choice([0, 3, 6, 7, 8, 9, 10, 10]) for _ in range(rng.randint(3, 40))]
            if unit != NYC:
                CES.setdefault((unit, month), [rng.randint(1, 7) for _ in range(rng.randint(1, 12))])
            CSAT.setdefault((unit, month), [rng.randint(1, 5) for _ in range(rng.randint(0, 25))])


_spread()


def _changes_tables() -> dict:
    surveys = []
    for kind, data in (("csat", CSAT), ("nps", NPS), ("ces", CES)):
        for (unit, month), scores in data.items():
            surveys += [
                survey(f"{kind}-{unit}-{month}-{k}", kind, s, f"{month}-10 12:00:00", unit_id=unit)
                for k, s in enumerate(scores)
            ]
    interactions = []
    for month in MONTHS:  # a month-long history, with answered interactions for the medians
        interactions += [
            ix(f"i-{month}-{u}", f"{month}-03 09:00:00", u, first=f"{month}-03 09:{10 + k:02d}:00")
            for k, u in enumerate((PARIS, BERLIN, NYC))
        ]
    for (unit, month), handles in HANDLE.items():
        interactions += [
            ix(f"h-{unit}-{month}-{k}", f"{month}-05 10:00:00", unit, handle=h) for k, h in enumerate(handles)
        ]
    interactions.append(ix("last", "2026-04-01 00:00:00", NYC))  # 2026-03 complete
    return {"interactions": interactions, "survey_responses": surveys}


@pytest.fixture(scope="module")
def changes(tmp_path_factory):
    built = build_module(tmp_path_factory, "changes", _changes_tables(), min_sample=MIN_SAMPLE)
    built.changes = {(r["period"], r["unit_id"], r["kpi_id"]): r for r in built.query("SELECT * FROM changes")}
    return built


def _stats(kpi: str, scores: list) -> tuple[float | None, int]:
    """(value, n) of a KPI from its records."""
    n = len(scores)
    if n == 0:
        return None, 0
    if kpi == "csat":
        return 100 * sum(s >= 4 for s in scores) / n, n
    if kpi == "nps":
        return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / n, n
    return statistics.fmean(scores), n


def _z(kpi: str, now: list, before: list) -> float | None:
    if kpi == "csat":
        k1, k0 = sum(s >= 4 for s in now), sum(s >= 4 for s in before)
        z = two_proportion_z(k1, len(now), k0, len(before))
        if z is not None:  # and statsmodels agrees (pooled variance is its default)
            assert z == approx(proportions_ztest([k1, k0], [len(now), len(before)])[0])
        return z
    if kpi == "nps":
        return net_score_z(now, before)
    return welch_z(now, before)


RECORDS = {"csat": CSAT, "nps": NPS, "ces": CES, "aht": {k: [h / 60 for h in v] for k, v in HANDLE.items()}}


def _expected_change(kpi: str, unit: str, period: str, other: str) -> dict:
    now, before = pooled(RECORDS[kpi], unit, period), pooled(RECORDS[kpi], unit, other)
    value, n = _stats(kpi, now)
    old, old_n = _stats(kpi, before)
    delta = None if value is None or old is None else value - old
    testable = n >= MIN_SAMPLE and old_n >= MIN_SAMPLE and delta is not None
    z = _z(kpi, now, before) if testable else None
    if not testable:
        significant = None
    elif kpi == "ces" and (len(now) < 2 or len(before) < 2):
        significant = None
    elif z is None:  # no spread on either side
        significant = delta != 0
    else:
        significant = abs(z) >= Z_CRITICAL
    direction = CATALOG.get(kpi).direction
    improved = None if delta is None else (delta > 0 if direction == "higher" else delta < 0)
    return {
        "value": value,
        "n": n,
        "old": old,
        "old_n": old_n,
        "delta": delta,
        "z": z,
        "significant": significant,
        "improved": improved,
    }


CASES = [(kpi, unit, period) for kpi in RECORDS for unit in UNITS for period in MONTHS]


@pytest.mark.parametrize("kpi,unit,period", CASES, ids=[f"{k}-{u}-{p}" for k, u, p in CASES])
def test_changes_against_previous_month_and_year(changes, kpi, unit, period):
    row = changes.changes[(period, unit, kpi)]
    for side, other in (("prev", months_before(period, 1)), ("year", months_before(period, 12))):
        exp = _expected_change(kpi, unit, period, other)
        assert row[f"{side}_period"] == other
        assert row["n"] == exp["n"]
        assert row[f"{side}_n"] == (None if other < MONTHS[0] else exp["old_n"])
        assert row[f"{side}_value"] == (None if exp["old"] is None else approx(exp["old"]))
        assert row[f"{side}_delta"] == (None if exp["delta"] is None else approx(exp["delta"], abs=1e-9))
        assert row[f"{side}_significant"] is exp["significant"], (side, exp)
        if exp["z"] is not None:
            assert row[f"{side}_z"] == approx(exp["z"])
        improved = "improved" if side == "prev" else "year_improved"
        assert row[improved] is exp["improved"]


def test_hand_made_changes(changes):
    c = changes.changes
    paris, berlin = c[("2026-02", PARIS, "csat")], c[("2026-02", BERLIN, "csat")]
    assert (paris["prev_delta"], paris["prev_significant"], paris["improved"]) == (approx(10), False, True)
    assert paris["prev_z"] == approx(1.9596545, abs=1e-6)
    assert (berlin["prev_delta"], berlin["prev_significant"], berlin["improved"]) == (approx(14), True, True)
    assert berlin["prev_z"] == approx(1.9603921, abs=1e-6)
    low_n = c[("2026-03", PARIS, "csat")]
    assert low_n["prev_delta"] == approx(75 - 98) and low_n["prev_significant"] is None
    first = c[("2026-02", NYC, "csat")]
    assert first["prev_n"] == 0 and first["prev_value"] is None
    assert first["prev_delta"] is None and first["prev_significant"] is None and first["improved"] is None
    flat = c[("2026-03", NYC, "csat")]
    assert (flat["prev_delta"], flat["prev_significant"], flat["improved"], flat["prev_z"]) == (0, False, False, None)
    ces = c[("2026-02", PARIS, "ces")]
    assert (ces["prev_delta"], ces["prev_significant"], ces["prev_z"]) == (approx(1), True, None)
    aht = c[("2026-02", PARIS, "aht")]
    assert aht["prev_delta"] < 0 and aht["improved"] is True and aht["prev_significant"] is True
    assert c[("2026-02", PARIS, "csat")]["year_period"] == "2025-02"
    assert c[("2026-02", PARIS, "csat")]["year_delta"] == approx(98 - 75)
    assert c[("2025-01", PARIS, "csat")]["prev_period"] == "2024-12"  # before the data: nothing there


def test_untestable_kpis_have_no_significance(changes):
    rows = changes.query("""SELECT kpi_id, count(*) FILTER (prev_significant IS NOT NULL OR year_significant IS NOT NULL)
                            AS tested, count(prev_delta) AS deltas FROM changes GROUP BY kpi_id""")
    by_kpi = {r["kpi_id"]: r for r in rows}
    for kpi in ("frt_median", "resolution_median", "cost_per_contact", "composite"):
        assert by_kpi[kpi]["tested"] == 0, kpi
    assert by_kpi["frt_median"]["deltas"] > 0
    assert "volume" not in by_kpi
    assert set(by_kpi) == set(CATALOG.ids) - {"volume"} | {"composite"}


def test_composite_changes_follow_results(changes):
    results = {
        (r["period"], r["unit_id"]): r["value"]
        for r in changes.query("SELECT period, unit_id, value FROM results WHERE kpi_id = 'composite'")
    }
    for (period, unit), value in results.items():
        row = changes.changes[(period, unit, "composite")]
        before = results.get((months_before(period, 1), unit))
        assert row["value"] == (None if value is None else approx(value))
        if value is None or before is None:
            assert row["prev_delta"] is None and row["improved"] is None
        else:
            assert row["prev_delta"] == approx(value - before, abs=1e-9)
            assert row["improved"] is (value - before > 0)
        assert row["rolling3"] is None and row["prev_significant"] is None


@pytest.mark.parametrize("kpi", ["csat", "nps", "ces", "aht"])
def test_rolling3_pools_the_records_of_three_months(changes, kpi):
    for unit in UNITS:
        for period in MONTHS:
            window = [p for p in (months_before(period, 2), months_before(period, 1), period) if p >= MONTHS[0]]
            records = [x for p in window for x in pooled(RECORDS[kpi], unit, p)]
            value, n = _stats(kpi, records)
            row = changes.changes[(period, unit, kpi)]
            assert row["rolling3_n"] == n
            assert row["rolling3"] == (None if value is None else approx(value)), (unit, period)


def test_rolling3_is_not_a_mean_of_monthly_values(changes):
    row = changes.changes[("2026-03", PARIS, "csat")]
    assert row["rolling3"] == approx(100 * (44 + 49 + 3) / (50 + 50 + 4))  # pooled
    assert row["rolling3"] != approx((88 + 98 + 75) / 3)


def test_medians_have_no_rolling_value(changes):
    rows = changes.query("SELECT count(*) AS n FROM changes WHERE kpi_id LIKE '%median' AND rolling3 IS NOT NULL")
    assert rows[0]["n"] == 0


def test_noisy_kpis_are_the_survey_kpis():
    noisy = {k.id for k in CATALOG.kpis if k.noisy}
    assert noisy == {"csat", "nps", "ces", "enps", "qa_score"}


def test_catalog_table_has_noisy_and_short(changes):
    rows = {r["kpi_id"]: r for r in changes.query("SELECT kpi_id, noisy, short FROM catalog")}
    assert rows["csat"]["noisy"] is True and rows["fcr"]["noisy"] is False
    assert rows["fcr"]["short"] == "FCR"


# --- comparisons -----------------------------------------------------------------------------------


def bench(kpi, source, year, median, p25="", p75="", segment=""):
    return {"kpi_id": kpi, "source": source, "year": year, "segment": segment, "p25": p25, "median": median, "p75": p75}


BENCHMARKS = [
    bench("csat", "Zeta survey", 2024, 60, 40, 70),
    bench("csat", "Alpha survey", 2024, 50, 30, 65),  # same year, first by source: chosen
    bench("csat", "Alpha survey", 2023, 10, 5, 20),  # older
    bench("csat", "Alpha survey", 2025, 90, 85, 95, "enterprise"),  # latest, but for a segment
    bench("aht", "Ops study", 2024, 7.5, 6, 9),  # lower is better
    bench("nps", "Segment only", 2025, 20, segment="smb"),  # only segmented rows: still used
    bench("nps", "Segment only", 2025, 30, segment="consumer"),
]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    tables = _changes_tables()
    tables["benchmarks"] = BENCHMARKS
    built = build_module(tmp_path_factory, "compared", tables, min_sample=MIN_SAMPLE)
    built.comparisons = {(r["period"], r["unit_id"], r["kpi_id"]): r for r in built.query("SELECT * FROM comparisons")}
    return built


def test_comparisons_rows_are_the_values(compared):
    with_value = {k for k, r in compared.results.items() if r["value"] is not None}
    assert set(compared.comparisons) == with_value


def test_company_value_and_difference(compared):
    for (period, _unit, kpi), row in compared.comparisons.items():
        company = compared.results[(period, ROOT, kpi)]["value"]
        assert row["company_value"] == (None if company is None else approx(company))
        if company is not None:
            assert row["vs_company"] == approx(row["value"] - company, abs=1e-9)


def _reference_ranks(built, period: str, kpi: str) -> dict[str, tuple[int | None, int | None]]:
    direction = "higher" if kpi == "composite" else CATALOG.get(kpi).direction
    out = {}
    for unit in UNITS:
        parent = PARENT[unit]
        row = built.results[(period, unit, kpi)]
        if row["value"] is None:
            continue
        if parent is None or direction == "context":
            out[unit] = (None, None)
            continue
        ranked = [
            u
            for u in UNITS
            if PARENT[u] == parent
            and built.results[(period, u, kpi)]["value"] is not None
            and (kpi == "composite" or built.results[(period, u, kpi)]["n"] >= MIN_SAMPLE)
        ]
        values = {u: built.results[(period, u, kpi)]["value"] for u in ranked}
        better = (lambda a, b: a > b) if direction == "higher" else (lambda a, b: a < b)
        rank = 1 + sum(better(values[u], row["value"]) for u in ranked) if unit in ranked else None
        out[unit] = (rank, len(ranked))
    return out


@pytest.mark.parametrize("kpi", ["csat", "nps", "ces", "aht", "frt_median", "volume", "composite"])
def test_sibling_rank(compared, kpi):
    for period in MONTHS:
        for unit, (rank, count) in _reference_ranks(compared, period, kpi).items():
            row = compared.comparisons[(period, unit, kpi)]
            assert (row["sibling_rank"], row["sibling_count"]) == (rank, count), (period, unit)


def test_sibling_rank_ties_and_low_n(compared):
    c = compared.comparisons
    # Paris and Berlin both at 75 % in 2025-02: both first
    assert (c[("2025-02", PARIS, "csat")]["sibling_rank"], c[("2025-02", BERLIN, "csat")]["sibling_rank"]) == (1, 1)
    # Paris's 3 of 4 in 2026-03 is below min_sample: not ranked, and Berlin is ranked alone
    assert c[("2026-03", PARIS, "csat")]["sibling_rank"] is None
    assert c[("2026-03", PARIS, "csat")]["sibling_count"] == c[("2026-03", BERLIN, "csat")]["sibling_count"]
    assert c[("2026-02", NYC, "csat")]["sibling_rank"] == 1 and c[("2026-02", NYC, "csat")]["sibling_count"] == 1
    assert (
        c[("2026-02", ROOT, "csat")]["sibling_rank"] is None and c[("2026-02", ROOT, "csat")]["sibling_count"] is None
    )
    # aht: lower is better, Paris's 5.8 minutes beat Berlin's 400 s
    assert (c[("2026-02", PARIS, "aht")]["sibling_rank"], c[("2026-02", BERLIN, "aht")]["sibling_rank"]) == (1, 2)


def test_benchmark_choice_and_position(compared):
    chosen = {
        "csat": ("Alpha survey", 2024, None, 30, 50, 65),
        "aht": ("Ops study", 2024, None, 6, 7.5, 9),
        "nps": ("Segment only", 2025, "consumer", None, 30, None),
    }
    for (_period, _unit, kpi), row in compared.comparisons.items():
        got = (
            row["bench_source"],
            row["bench_year"],
            row["bench_segment"],
            row["bench_p25"],
            row["bench_median"],
            row["bench_p75"],
        )
        if kpi not in chosen:
            assert got == (None,) * 6 and row["bench_position"] is None
            continue
        assert got == chosen[kpi]
        _, _, _, p25, median, p75 = chosen[kpi]
        assert row["bench_position"] == reference_position(CATALOG.get(kpi).direction, row["value"], p25, median, p75)
    assert compared.comparisons[("2026-02", PARIS, "csat")]["bench_position"] == "top quartile"  # 98 %
    assert compared.comparisons[("2026-01", BERLIN, "csat")]["bench_position"] == "bottom quartile"  # 8 %


# --- breakdowns ------------------------------------------------------------------------------------

# (id, unit, created, channel, segment, first (minutes after), resolved (hours after), contacts, reopened, handle)
BREAKDOWN_INTERACTIONS = [
    ("b1", PARIS, "2026-01-05 10:00:00", "email", "SMB", 30, 5, 1, "no", 300),
    ("b2", PARIS, "2026-01-06 10:00:00", "email", "smb", 50, 8, 2, "no", 420),
    ("b3", PARIS, "2026-01-07 10:00:00", "chat", "", 2, 1, 1, "yes", 240),
    ("b4", PARIS, "2026-01-08 10:00:00", "chat", "enterprise", 4, 0.5, 1, "no", None),
    ("b5", PARIS, "2026-01-09 10:00:00", "Phone", "enterprise", None, None, None, None, 100),
    ("b6", BERLIN, "2026-01-05 10:00:00", "email", "consumer", 70, 20, 1, "no", 600),
    ("b7", BERLIN, "2026-01-06 10:00:00", "chat", "consumer", 1, 2, 3, "yes", 200),
    ("b8", NYC, "2026-01-10 10:00:00", "chat", "", 3, 3, 1, "no", 150),
    ("b9", NYC, "2026-02-10 10:00:00", "email", "smb", 600, 30, 1, "false", 500),
    ("b10", PARIS, "2026-02-11 10:00:00", "email", "smb", None, None, None, None, None),
]
BREAKDOWN_SURVEYS = [
    survey("s1", "csat", 5, "2026-01-06 10:00:00", interaction_id="b1"),
    survey("s2", "csat", 2, "2026-01-07 10:00:00", interaction_id="b2"),
    survey("s3", "csat", 4, "2026-01-08 10:00:00", interaction_id="b3"),
    survey("s4", "nps", 10, "2026-01-08 10:00:00", interaction_id="b3"),
    survey("s5", "nps", 3, "2026-01-09 10:00:00", interaction_id="b4"),
    survey("s6", "ces", 6, "2026-01-09 10:00:00", interaction_id="b6"),
    survey("s7", "ces", 2, "2026-01-09 10:00:00", interaction_id="b7"),
    survey("s8", "csat", 1, "2026-01-20 10:00:00", unit_id=PARIS),  # no interaction: 'unknown'
    survey("s9", "csat", 5, "2026-02-11 10:00:00", interaction_id="b9"),
]
SLA_BREAKDOWN = [
    {"channel": "email", "priority": "", "first_response_minutes": 60},
    {"channel": "chat", "priority": "", "first_response_minutes": 3},
]


def _bd_rows() -> list[dict]:
    def later(ts, minutes):
        from datetime import datetime, timedelta

        return (datetime.fromisoformat(ts) + timedelta(minutes=minutes)).isoformat(sep=" ")

    return [
        ix(
            i,
            created,
            unit,
            channel=ch,
            customer_segment=seg,
            first=later(created, first) if first is not None else None,
            resolved=later(created, 60 * res) if res is not None else None,
            contacts=contacts,
            reopened=reopened,
            handle=handle,
        )
        for i, unit, created, ch, seg, first, res, contacts, reopened, handle in BREAKDOWN_INTERACTIONS
    ]


@pytest.fixture(scope="module")
def broken_down(tmp_path_factory):
    return build_module(
        tmp_path_factory,
        "breakdowns",
        {
            "interactions": _bd_rows(),
            "survey_responses": BREAKDOWN_SURVEYS,
            "sla_policies": SLA_BREAKDOWN,
        },
    )


def _reference_breakdowns() -> dict[tuple, tuple]:
    """(period, unit, dimension, dim_value, kpi) → (value, n), from the records above."""
    from datetime import datetime, timedelta

    def at(ts: str, minutes: float | None) -> datetime | None:
        return None if minutes is None else datetime.fromisoformat(ts) + timedelta(minutes=minutes)

    cutoff = max(
        t
        for r in BREAKDOWN_INTERACTIONS
        for t in (datetime.fromisoformat(r[2]), at(r[2], r[5]), at(r[2], None if r[6] is None else 60 * r[6]))
        if t
    )
    by_id = {r[0]: r for r in BREAKDOWN_INTERACTIONS}
    sla = {p["channel"]: p["first_response_minutes"] for p in SLA_BREAKDOWN}

    def dims(r) -> dict[str, str]:
        return {"channel": r[3].lower(), "segment": r[4].lower() or "unknown"}

    cells: dict[tuple, dict[str, list]] = {}
    for r in BREAKDOWN_INTERACTIONS:
        i, unit, created, _, _, first, res, contacts, reopened, handle = r
        for ancestor in [u for u in UNITS if unit in DESCENDANTS[u]]:
            for dim, value in dims(r).items():
                cell = cells.setdefault((created[:7], ancestor, dim, value), {})
                cell.setdefault("volume", []).append(1)
                if first is not None:
                    cell.setdefault("frt_median", []).append(first)
                if res is not None:
                    cell.setdefault("resolution_median", []).append(res)
                    cell.setdefault("fcr", []).append(contacts == 1 and reopened not in ("yes",))
                    cell.setdefault("reopen_rate", []).append(reopened in ("yes",))
                if handle is not None:
                    cell.setdefault("aht", []).append(handle / 60)
                limit = sla.get(dims(r)["channel"])
                if limit is not None and (first is not None or at(created, limit) < cutoff):
                    cell.setdefault("sla_frt", []).append(first is not None and first <= limit)
    for s in BREAKDOWN_SURVEYS:
        inter = by_id.get(s["interaction_id"])
        unit = inter[1] if inter else s["unit_id"]
        values = dims(inter) if inter else {"channel": "unknown", "segment": "unknown"}
        for ancestor in [u for u in UNITS if unit in DESCENDANTS[u]]:
            for dim, value in values.items():
                cell = cells.setdefault((s["responded_at"][:7], ancestor, dim, value), {})
                cell.setdefault(s["survey"], []).append(s["score"])
    out = {}
    for (period, unit, dim, value), cell in cells.items():
        for kpi in (
            "csat",
            "nps",
            "ces",
            "fcr",
            "frt_median",
            "resolution_median",
            "sla_frt",
            "reopen_rate",
            "aht",
            "volume",
        ):
            records = cell.get(kpi, [])
            n = len(records)
            if kpi == "volume":
                result = (n, n)
            elif n == 0:
                result = (None, 0)
            elif kpi in ("fcr", "reopen_rate", "sla_frt"):
                result = (100 * sum(records) / n, n)
            elif kpi in ("csat", "nps", "ces"):
                result = _stats(kpi, records)
            elif kpi.endswith("median"):
                result = (statistics.median(records), n)
            else:
                result = (statistics.fmean(records), n)
            out[(period, unit, dim, value, kpi)] = result
    return out


def test_breakdowns_against_the_records(broken_down):
    expected = _reference_breakdowns()
    rows = broken_down.query("SELECT * FROM breakdowns")
    got = {(r["period"], r["unit_id"], r["dimension"], r["dim_value"], r["kpi_id"]): (r["value"], r["n"]) for r in rows}
    assert set(got) == set(expected)
    for key, (value, n) in expected.items():
        assert got[key][1] == n, key
        assert got[key][0] == (None if value is None else approx(value)), key


def test_breakdowns_by_hand(broken_down):
    rows = {
        (r["period"], r["unit_id"], r["dimension"], r["dim_value"], r["kpi_id"]): r
        for r in broken_down.query("SELECT * FROM breakdowns")
    }
    # Paris's e-mail in January: b1 resolved at the first contact, b2 in two
    assert rows[("2026-01", PARIS, "channel", "email", "fcr")]["value"] == approx(50)
    # the segment is lower-cased ('SMB' and 'smb' are one) and an empty one is 'unknown'
    assert rows[("2026-01", PARIS, "segment", "smb", "volume")]["value"] == 2
    assert rows[("2026-01", PARIS, "segment", "unknown", "volume")]["value"] == 1
    # a response without an interaction has no channel and no segment
    assert rows[("2026-01", PARIS, "channel", "unknown", "csat")]["n"] == 1
    assert rows[("2026-01", PARIS, "channel", "unknown", "volume")]["value"] == 0
    # EU pools Paris and Berlin: e-mail first responses 30, 50, 70 minutes
    assert rows[("2026-01", EU, "channel", "email", "frt_median")]["value"] == approx(50)
    assert ("2026-01", PARIS, "channel", "email", "enps") not in rows


def test_breakdowns_add_up_to_the_measures(broken_down):
    for dim in ("channel", "segment"):
        totals = broken_down.query(
            """
            SELECT b.period, b.unit_id, b.kpi_id, sum(b.n) AS n, m.n AS measured
            FROM breakdowns b JOIN measures m USING (period, unit_id, kpi_id)
            WHERE b.dimension = ? AND b.kpi_id IN ('volume', 'fcr', 'csat', 'aht', 'sla_frt', 'frt_median')
            GROUP BY ALL""",
            [dim],
        )
        assert totals and all(r["n"] == r["measured"] for r in totals)


# --- mix shift -------------------------------------------------------------------------------------


def _fcr_rows(prefix: str, unit: str, month: str, channel: str, first: int, later: int, segment: str = "") -> list:
    """`first` interactions resolved at the first contact and `later` in two, in one channel."""
    return [
        ix(
            f"{prefix}{k}",
            f"{month}-10 10:00:00",
            unit,
            channel=channel,
            customer_segment=segment,
            resolved=f"{month}-10 12:00:00",
            contacts=1 if k < first else 2,
        )
        for k in range(first + later)
    ]


MIX = (
    # Paris: both channels rise, the unit falls (e-mail grows from 10 to 30 contacts)
    _fcr_rows("pc1-", PARIS, "2026-01", "chat", 18, 2, "smb")
    + _fcr_rows("pe1-", PARIS, "2026-01", "email", 2, 8, "smb")
    + _fcr_rows("pc2-", PARIS, "2026-02", "chat", 10, 0, "smb")
    + _fcr_rows("pe2-", PARIS, "2026-02", "email", 8, 22, "smb")
    + _fcr_rows("pp2-", PARIS, "2026-02", "phone", 0, 5, "smb")  # only in February: not compared
    # Berlin: chat rises, e-mail falls: no paradox
    + _fcr_rows("bc1-", BERLIN, "2026-01", "chat", 18, 2)
    + _fcr_rows("be1-", BERLIN, "2026-01", "email", 5, 5)
    + _fcr_rows("bc2-", BERLIN, "2026-02", "chat", 10, 0)
    + _fcr_rows("be2-", BERLIN, "2026-02", "email", 6, 24)
    # New York: one channel only
    + _fcr_rows("nc1-", NYC, "2026-01", "chat", 5, 5)
    + _fcr_rows("nc2-", NYC, "2026-02", "chat", 4, 6)
    # March: Paris unchanged overall (20 of 40 both months would be needed: not a paradox anyway)
    + _fcr_rows("pc3-", PARIS, "2026-03", "chat", 10, 0, "smb")
    + _fcr_rows("pe3-", PARIS, "2026-03", "email", 8, 22, "smb")
)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return build_module(tmp_path_factory, "mix", {"interactions": MIX})


def _reference_mix_shifts() -> set[tuple]:
    """(period, unit, dimension) with Simpson's paradox on FCR, from the records."""
    fcr: dict[tuple, list[bool]] = {}
    for r in MIX:
        unit, month = r["unit_id"], r["created_at"][:7]
        for ancestor in [u for u in UNITS if unit in DESCENDANTS[u]]:
            for dim, value in (("channel", r["channel"]), ("segment", r["customer_segment"] or "unknown"), ("all", "")):
                fcr.setdefault((month, ancestor, dim, value), []).append(r["contacts_to_resolve"] == 1)
    rate = {k: 100 * sum(v) / len(v) for k, v in fcr.items()}
    found = set()
    for (month, unit, dim, _), _now in rate.items():
        before_month = months_before(month, 1)
        if dim == "all" or (before_month, unit, "all", "") not in rate:
            continue
        overall = rate[(month, unit, "all", "")] - rate[(before_month, unit, "all", "")]
        moves = [
            rate[(month, unit, dim, v)] - rate[(before_month, unit, dim, v)]
            for (m, u, d, v) in rate
            if (m, u, d) == (month, unit, dim) and (before_month, unit, dim, v) in rate
        ]
        if overall != 0 and len(moves) >= 2 and all((d > 0) == (overall < 0) and d != 0 for d in moves):
            found.add((month, unit, dim))
    return found


def test_mix_shift_rows(mixed):
    rows = mixed.query("SELECT * FROM mix_shift")
    assert {
        (r["period"], r["unit_id"], r["dimension"]) for r in rows if r["kpi_id"] == "fcr"
    } == _reference_mix_shifts()
    assert {(r["period"], r["unit_id"], r["dimension"]) for r in rows} == {("2026-02", PARIS, "channel")}


def test_mix_shift_message(mixed):
    row = mixed.query("SELECT * FROM mix_shift")[0]
    overall = 100 * 18 / 45 - 100 * 20 / 30
    assert row["overall_delta"] == approx(overall)
    assert row["segments"] == 2 and row["min_n"] == 10
    assert row["message"] == (
        f"FCR fell {abs(overall):.1f} points overall although it rose in every channel (email, chat): "
        "the mix of contacts shifted toward channels with lower FCR."
    )


# --- escalations -----------------------------------------------------------------------------------

# Paris's CSAT per month (target 85, amber 80: red below 80): R R G R R R lowN R
ESCALATION_CSAT = {
    "2025-07": (5, 10),
    "2025-08": (5, 10),
    "2025-09": (9, 10),
    "2025-10": (5, 10),
    "2025-11": (6, 10),
    "2025-12": (7, 10),
    "2026-01": (1, 2),
    "2026-02": (5, 10),
}


@pytest.fixture(scope="module")
def escalated(tmp_path_factory):
    inputs = Inputs(tmp_path_factory.mktemp("escalations"))
    inputs.set(
        "interactions",
        [ix(f"e{m}", f"{m}-01 09:00:00", NYC) for m in ESCALATION_CSAT] + [ix("end", "2026-03-01 00:00:00", NYC)],
    )
    inputs.set(
        "survey_responses",
        [
            survey(f"s{m}-{k}", "csat", 5 if k < yes else 1, f"{m}-15 10:00", unit_id=PARIS)
            for m, (yes, n) in ESCALATION_CSAT.items()
            for k in range(n)
        ],
    )
    config = Config(min_sample=MIN_SAMPLE, targets=[TargetRule(kpi="csat", unit=PARIS, owner="Ana Lima")])
    built = inputs.build(config)
    built.config = config
    return built


def _reference_streaks(n: int) -> list[tuple[str, int, str]]:
    out, streak, since = [], 0, None
    months = sorted(ESCALATION_CSAT)
    for m in months:
        yes, total = ESCALATION_CSAT[m]
        red = total >= MIN_SAMPLE and 100 * yes / total < 80
        streak, since = (streak + 1, since if streak else m) if red else (0, None)
        if streak >= n:
            out.append((m, streak, since))
    return out


def test_escalations(escalated):
    rows = escalated.query("SELECT * FROM escalations WHERE unit_id = ? ORDER BY period", [PARIS])
    assert (
        [(r["period"], r["red_streak"], r["since_period"]) for r in rows]
        == _reference_streaks(2)
        == [("2025-08", 2, "2025-07"), ("2025-11", 2, "2025-10"), ("2025-12", 3, "2025-10")]
    )
    assert {r["owner"] for r in rows} == {"Ana Lima"} and {r["kpi_id"] for r in rows} == {"csat"}
    # EU pools Paris alone: the same streaks, with the catalog's owner
    eu = escalated.query("SELECT * FROM escalations WHERE unit_id = ? ORDER BY period", [EU])
    assert [(r["period"], r["red_streak"]) for r in eu] == [(m, s) for m, s, _ in _reference_streaks(2)]
    assert {r["owner"] for r in eu} == {CATALOG.get("csat").owner}


def test_escalation_periods_is_a_setting(escalated):
    recompute(escalated.config.model_copy(update={"escalation_periods": 3}), database=escalated.database)
    rows = escalated.query("SELECT period, red_streak FROM escalations WHERE unit_id = ?", [PARIS])
    assert (
        [(r["period"], r["red_streak"]) for r in rows]
        == [(m, s) for m, s, _ in _reference_streaks(3)]
        == [("2025-12", 3)]
    )
    recompute(escalated.config, database=escalated.database)


# --- comparisons with the packaged and configured benchmarks (loading: test_benchmarks.py) ----------


def _small(inputs: Inputs) -> Inputs:
    return inputs.add(
        "interactions", ix("a", "2026-01-05 10:00", resolved="2026-01-05 11:00"), ix("b", "2026-02-01 00:00")
    )


def test_comparisons_use_the_packaged_benchmarks(inputs):
    built = _small(inputs).build()
    fcr = built.query("SELECT * FROM comparisons WHERE period = '2026-01' AND unit_id = ? AND kpi_id = 'fcr'", [PARIS])
    assert fcr[0]["bench_source"].startswith("SQM Group") and fcr[0]["bench_position"] == "top quartile"  # 100 %


def test_no_benchmark_positions_without_benchmarks(inputs):
    built = _small(inputs).build(benchmarks=None)
    assert built.query("SELECT count(*) AS n FROM comparisons WHERE bench_source IS NOT NULL")[0]["n"] == 0


def test_recompute_compares_with_a_changed_benchmarks_file(inputs, tmp_path):
    path = write_csv(tmp_path / "b.csv", [bench("fcr", "Mine", 2026, 70)])
    built = _small(inputs).build(benchmarks=path)
    write_csv(path, [bench("fcr", "Mine", 2026, 99)])
    recompute(Config(benchmarks=path), database=built.database)
    assert built.query("SELECT DISTINCT bench_median FROM comparisons WHERE kpi_id = 'fcr'") == [{"bench_median": 99}]


def test_build_summary_mentions_escalations_and_mix_shifts(escalated):
    line = escalated.summary.line()
    assert "; 2026-02: 0 escalations, 0 mix shifts → " in line


# --- the demo data tells its stories ---------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_built(demo_db):
    from scorecard.demo import ROLES

    con = duckdb.connect(str(demo_db), read_only=True)
    yield con, ROLES
    con.close()


LATEST = "2026-10"


def test_demo_latest_complete_period(demo_built):
    con, _ = demo_built
    assert con.execute("SELECT max(period) FILTER (complete) FROM periods").fetchone()[0] == LATEST


def test_demo_has_significant_improvements_and_noise(demo_built):
    con, roles = demo_built
    improved = con.execute(
        """SELECT count(*) FROM changes WHERE period = ? AND prev_significant AND improved""", [LATEST]
    ).fetchone()[0]
    noise = con.execute(
        """SELECT count(*) FROM changes WHERE period = ? AND NOT prev_significant
                           AND prev_delta <> 0""",
        [LATEST],
    ).fetchone()[0]
    assert improved >= 1 and noise >= 1


def test_demo_mix_shift_in_berlin(demo_built):
    con, roles = demo_built
    rows = con.execute(
        """SELECT overall_delta, segments, message FROM mix_shift
                          WHERE period = ? AND unit_id = ? AND kpi_id = 'fcr' AND dimension = 'channel'""",
        [LATEST, roles["mix_shift"]],
    ).fetchall()
    assert len(rows) == 1
    delta, segments, message = rows[0]
    assert delta < -3 and segments == 2
    assert message.startswith("FCR fell ") and "rose in every channel (email, chat)" in message


def test_demo_escalation_of_the_sliding_team(demo_built):
    con, roles = demo_built
    rows = dict(
        con.execute(
            """SELECT kpi_id, since_period FROM escalations WHERE period = ? AND unit_id = ?""",
            [LATEST, roles["slides"]],
        ).fetchall()
    )
    assert {"csat", "fcr", "nps", "enps"} <= set(rows)
    assert all("2026-03" <= rows[kpi] <= "2026-04" for kpi in ("csat", "fcr", "enps"))  # the slide's start


def test_demo_has_a_unit_with_every_priority_quadrant(demo_built):
    con, _ = demo_built
    units = con.execute(
        """SELECT unit_id FROM priority WHERE period = ? AND NOT tracked
                           GROUP BY unit_id HAVING count(DISTINCT quadrant) = 4""",
        [LATEST],
    ).fetchall()
    assert len(units) >= 1
