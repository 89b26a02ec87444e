"""Targets, status, score, composite and priority matrix, end to end."""

from __future__ import annotations

import shutil

import pytest
from reference_stats import attainment
from scorecard_fixtures import BERLIN, EU, NA, NYC, PARIS, ROOT, UNITS, Built, Inputs, build_module, ix, survey

from scorecard.config import Config, TargetRule
from scorecard.errors import ConfigError
from scorecard.warehouse import recompute

approx = pytest.approx

# (period, unit) → (csat responses scoring 4-5, csat responses, frt minutes of each interaction)
DESIGN = {
    ("2026-01", PARIS): (17, 20, [60, 60, 60]),  # csat 85 = target: green; frt 60 = target: green
    ("2026-01", BERLIN): (16, 20, [120, 120, 120]),  # csat 80 = amber: amber 50; frt 120 = amber: amber 50
    ("2026-01", NYC): (15, 20, [180, 180, 180]),  # one band beyond amber: red 0, both directions
    ("2026-02", PARIS): (33, 40, [90, 90, 90]),  # half-way: amber 75
    ("2026-02", BERLIN): (31, 40, [150, 150, 150]),  # half a band beyond amber: red 25
    ("2026-02", NYC): (14, 20, [30, 30, 30]),  # csat 70, two bands beyond: red, capped at 0; frt green
    ("2026-03", PARIS): (2, 2, [10, 10, 10]),  # csat n = 2 < min_sample 3: low-n
    ("2026-03", NYC): (0, 0, [10, 10]),  # frt n = 2: low-n; csat: no-data
}
MIN_SAMPLE = 3


def status_tables() -> dict:
    interactions, responses = [], []
    for (period, unit), (yes, n, minutes) in DESIGN.items():
        for k, m in enumerate(minutes):
            created = f"{period}-10 10:00:00"
            interactions.append(
                ix(f"{period}-{unit}-{k}", created, unit, first=f"{period}-10 {10 + m // 60:02d}:{m % 60:02d}:00")
            )
        responses += [
            survey(f"{period}-{unit}-{k}", "csat", 5 if k < yes else 2, f"{period}-12 12:00", unit_id=unit)
            for k in range(n)
        ]
    ces = [survey(f"ces-{k}", "ces", 5, "2026-01-12 12:00", unit_id=PARIS) for k in range(3)]
    pulse = [
        {"response_id": f"e{k}", "unit_id": PARIS, "responded_at": "2026-03-15 09:00", "score": s}
        for k, s in enumerate([0, 0, 10])
    ]  # eNPS −33.3: red
    return {"interactions": interactions, "survey_responses": responses + ces, "employee_pulse": pulse}


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Built:
    return build_module(tmp_path_factory, "status", status_tables(), min_sample=MIN_SAMPLE)


def recomputed(scored: Built, tmp_path, **settings) -> Built:
    """The status fixture's database, recomputed with other targets or weights."""
    database = tmp_path / "copy.duckdb"
    shutil.copyfile(scored.database, database)
    summary = recompute(Config(min_sample=MIN_SAMPLE, **settings), database=database)
    return Built(database, summary).reload()


@pytest.mark.parametrize(
    "period,unit,expected",
    [
        ("2026-01", PARIS, ("green", 100)),
        ("2026-01", BERLIN, ("amber", 50)),
        ("2026-01", NYC, ("red", 0)),
        ("2026-02", PARIS, ("amber", 75)),
        ("2026-02", BERLIN, ("red", 25)),
        ("2026-02", NYC, ("red", 0)),
        ("2026-03", PARIS, ("low-n", None)),
        ("2026-03", NYC, ("no-data", None)),
        ("2026-03", BERLIN, ("no-data", None)),
    ],
)
def test_csat_status_and_score_higher_is_better(scored, period, unit, expected):
    row = scored.row(period, unit, "csat")
    assert (row["target"], row["amber"]) == (85, 80)
    assert (row["status"], row["score"]) == (expected[0], approx(expected[1]) if expected[1] is not None else None)
    if row["score"] is not None:
        assert row["score"] == approx(attainment("higher", row["value"], 85, 80))


@pytest.mark.parametrize(
    "period,unit,expected",
    [
        ("2026-01", PARIS, ("green", 100)),
        ("2026-01", BERLIN, ("amber", 50)),
        ("2026-01", NYC, ("red", 0)),
        ("2026-02", PARIS, ("amber", 75)),
        ("2026-02", BERLIN, ("red", 25)),
        ("2026-02", NYC, ("green", 100)),
        ("2026-03", PARIS, ("green", 100)),
        ("2026-03", NYC, ("low-n", None)),
        ("2026-03", BERLIN, ("no-data", None)),
    ],
)
def test_frt_status_and_score_lower_is_better(scored, period, unit, expected):
    row = scored.row(period, unit, "frt_median")
    assert (row["target"], row["amber"]) == (60, 120)
    assert (row["status"], row["score"]) == (expected[0], approx(expected[1]) if expected[1] is not None else None)


def test_low_n_value_is_still_published(scored):
    row = scored.row("2026-03", PARIS, "csat")
    assert (row["value"], row["n"], row["status"], row["score"]) == (100, 2, "low-n", None)
    assert row["ci_low"] is not None


def test_no_target_and_volume_statuses(scored):
    ces = scored.row("2026-01", PARIS, "ces")
    assert (ces["value"], ces["n"], ces["target"], ces["status"], ces["score"]) == (5, 3, None, "no-target", None)
    for unit in UNITS:
        volume = scored.row("2026-01", unit, "volume")
        assert volume["status"] is None and volume["score"] is None and volume["weight"] == 0


def _composite_reference(built: Built, period: str, unit: str) -> tuple[float | None, float, int]:
    rows = [r for (p, u, k), r in built.results.items() if p == period and u == unit and k != "composite"]
    used = [r for r in rows if r["weight"] > 0 and r["status"] in ("green", "amber", "red")]
    total = sum(r["weight"] for r in used)
    value = sum(r["weight"] * r["score"] for r in used) / total if used else None
    return value, total, len(used)


@pytest.mark.parametrize(
    "period,unit,expected",
    [
        ("2026-01", PARIS, 100),
        ("2026-01", BERLIN, 50),
        ("2026-01", NYC, 0),
        ("2026-01", EU, 75),  # pooled csat 82.5 and frt median 90: both 75
        ("2026-02", NYC, 37.5),  # (25 × 0 + 15 × 100) ÷ 40, not ÷ 100
        ("2026-03", PARIS, 60),  # csat low-n left out: (15 × 100 + 10 × 0) ÷ 25
        ("2026-03", BERLIN, None),  # nothing scored
    ],
)
def test_composite_is_the_renormalised_weighted_mean(scored, period, unit, expected):
    row = scored.row(period, unit, "composite")
    value, weight, used = _composite_reference(scored, period, unit)
    assert row["value"] == (approx(expected) if expected is not None else None)
    assert row["value"] == (approx(value) if value is not None else None)
    assert row["score"] == row["value"]
    assert (row["weight"], row["n"]) == (approx(weight), used)
    assert row["status"] is None and row["target"] is None


def test_composite_weights_of_march_paris(scored):
    row = scored.row("2026-03", PARIS, "composite")
    assert (row["weight"], row["n"]) == (25, 2)  # frt_median 15 + enps 10


def test_every_unit_and_period_has_a_composite_row(scored):
    for period in scored.periods():
        for unit in UNITS:
            assert (period, unit, "composite") in scored.results


# --- priority matrix ------------------------------------------------------------------------------------


def quadrant(built: Built, period: str, unit: str, kpi: str) -> dict:
    rows = built.query("SELECT * FROM priority WHERE period = ? AND unit_id = ? AND kpi_id = ?", [period, unit, kpi])
    assert len(rows) == 1, (period, unit, kpi, rows)
    return rows[0]


def test_priority_with_the_default_weights(scored):
    # total weight 100 over 6 weighted KPIs: split at 16.7 % importance, 25 gap
    cases = {
        ("2026-01", PARIS, "csat"): (25, 0, "maintain"),
        ("2026-01", PARIS, "frt_median"): (15, 0, "low priority"),
        ("2026-01", NYC, "csat"): (25, 100, "fix now"),
        ("2026-01", NYC, "frt_median"): (15, 100, "monitor"),
    }
    for (period, unit, kpi), (importance, gap, label) in cases.items():
        row = quadrant(scored, period, unit, kpi)
        assert (row["importance"], row["gap"], row["quadrant"], row["tracked"]) == (
            approx(importance),
            approx(gap),
            label,
            False,
        )
    # only KPIs with a target and a score are placed
    kpis = {
        r["kpi_id"]
        for r in scored.query("SELECT kpi_id FROM priority WHERE period = '2026-03' AND unit_id = ?", [PARIS])
    }
    assert kpis == {"frt_median", "enps"}


EQUAL_FOUR = [
    TargetRule(kpi=k, weight=w)
    for k, w in (("csat", 25), ("nps", 25), ("fcr", 25), ("frt_median", 25), ("sla_frt", 0), ("enps", 0))
]
LIGHT_CSAT = [
    TargetRule(kpi=k, weight=w)
    for k, w in (("csat", 10), ("nps", 30), ("fcr", 30), ("frt_median", 30), ("sla_frt", 0), ("enps", 0))
]


def test_priority_boundaries_count_as_high(scored, tmp_path):
    """Importance exactly 100 ÷ 4 weighted KPIs and gap exactly 25 both fall on the high side."""
    built = recomputed(scored, tmp_path, targets=EQUAL_FOUR)
    row = quadrant(built, "2026-02", PARIS, "csat")  # score 75
    assert (row["importance"], row["gap"], row["quadrant"]) == (25, 25, "fix now")
    row = quadrant(built, "2026-01", PARIS, "csat")  # score 100
    assert (row["importance"], row["gap"], row["quadrant"]) == (25, 0, "maintain")
    row = quadrant(built, "2026-02", PARIS, "frt_median")
    assert (row["importance"], row["gap"], row["quadrant"]) == (25, 25, "fix now")


def test_priority_low_importance(scored, tmp_path):
    built = recomputed(scored, tmp_path, targets=LIGHT_CSAT)  # split 25; csat 10 %
    row = quadrant(built, "2026-02", PARIS, "csat")
    assert (row["importance"], row["gap"], row["quadrant"]) == (10, 25, "monitor")
    assert quadrant(built, "2026-01", PARIS, "csat")["quadrant"] == "low priority"
    assert quadrant(built, "2026-02", PARIS, "frt_median")["quadrant"] == "fix now"


def test_priority_importance_split_setting_and_tracked_kpis(scored, tmp_path):
    built = recomputed(
        scored,
        tmp_path,
        quadrants={"importance": 15, "gap": 50},
        targets=[TargetRule(kpi="ces", target=5.5, amber=5.0)],
    )
    assert quadrant(built, "2026-01", PARIS, "frt_median")["quadrant"] == "maintain"  # 15 ≥ 15
    assert quadrant(built, "2026-02", BERLIN, "frt_median")["quadrant"] == "fix now"  # gap 75 ≥ 50
    assert quadrant(built, "2026-02", PARIS, "frt_median")["quadrant"] == "maintain"  # gap 25 < 50
    ces = quadrant(built, "2026-01", PARIS, "ces")  # weight 0, ces 5.0 at amber: score 50
    assert (ces["tracked"], ces["importance"], ces["gap"], ces["quadrant"]) == (True, 0, 50, "monitor")
    assert built.row("2026-01", PARIS, "ces")["status"] == "amber"


# --- target resolution --------------------------------------------------------------------------------

RULES = [
    TargetRule(kpi="csat", effective_from="2026-03", target=88, amber=83),
    TargetRule(kpi="csat", target=90, amber=85),
    TargetRule(kpi="csat", unit=EU, target=70, amber=60),
    TargetRule(kpi="csat", unit=PARIS, effective_from="2026-02", target=95, amber=90),
    TargetRule(kpi="frt_median", effective_from="2026-02", target=30, amber=45),
    TargetRule(kpi="nps", unit=NA, weight=5),
]


@pytest.fixture(scope="module")
def resolved(scored, tmp_path_factory) -> Built:
    return recomputed(scored, tmp_path_factory.mktemp("resolved"), targets=RULES)


@pytest.mark.parametrize(
    "period,unit,target,amber",
    [
        ("2026-01", ROOT, 90, 85),  # global rule beats the catalog (85/80)
        ("2026-01", NA, 90, 85),
        ("2026-01", NYC, 90, 85),
        ("2026-01", EU, 70, 60),  # unit rule beats the global rule
        ("2026-01", PARIS, 70, 60),  # ... and applies to the unit's descendants
        ("2026-01", BERLIN, 70, 60),
        ("2026-02", PARIS, 95, 90),  # the unit's own rule from 2026-02 on
        ("2026-03", PARIS, 95, 90),
        ("2026-02", BERLIN, 70, 60),  # a sibling keeps its ancestor's rule
        ("2026-02", EU, 70, 60),  # a parent is not affected by its child's rule
        ("2026-02", NYC, 90, 85),
        ("2026-03", NYC, 88, 83),  # a later global rule replaces the earlier one from its month on
        ("2026-03", EU, 70, 60),  # the unit rule still beats the newer global one
    ],
)
def test_csat_target_resolution(resolved, period, unit, target, amber):
    row = resolved.row(period, unit, "csat")
    assert (row["target"], row["amber"]) == (target, amber)
    targets = resolved.query(
        "SELECT target, amber FROM targets WHERE period = ? AND unit_id = ? AND kpi_id = 'csat'", [period, unit]
    )
    assert targets == [{"target": target, "amber": amber}]


def test_effective_from_switches_the_target_mid_year(resolved):
    for unit in UNITS:
        assert (
            resolved.row("2026-01", unit, "frt_median")["target"],
            resolved.row("2026-01", unit, "frt_median")["amber"],
        ) == (60, 120)
        for period in ("2026-02", "2026-03"):
            row = resolved.row(period, unit, "frt_median")
            assert (row["target"], row["amber"]) == (30, 45)


def test_statuses_follow_the_resolved_targets(resolved):
    assert resolved.row("2026-01", BERLIN, "csat")["status"] == "green"  # 80 against 70 (catalog: amber)
    paris = resolved.row("2026-02", PARIS, "csat")  # 82.5 against 95/90
    assert (paris["status"], paris["score"]) == ("red", 0)
    assert resolved.row("2026-02", PARIS, "frt_median")["status"] == "red"  # 90 against 30/45
    assert resolved.row("2026-02", NYC, "frt_median")["status"] == "green"  # 30 against 30
    assert resolved.row("2026-01", PARIS, "frt_median")["status"] == "green"


def test_fields_fall_through_independently(resolved):
    for unit in (NA, NYC):
        row = resolved.row("2026-01", unit, "nps")
        assert (row["target"], row["amber"], row["weight"]) == (
            40,
            30,
            5,
        )  # weight from the rule, band from the catalog
    assert resolved.row("2026-01", ROOT, "nps")["weight"] == 20
    assert resolved.row("2026-01", EU, "csat")["weight"] == 25


def _build_with_rules(tmp_path, rules) -> None:
    inp = Inputs(tmp_path)
    inp.add("interactions", ix("a", "2026-01-05 10:00"))
    inp.build(targets=rules)


def test_unknown_unit_in_targets_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown unit 'EU/Lyon'"):
        _build_with_rules(tmp_path, [TargetRule(kpi="csat", unit="EU/Lyon", target=90, amber=85)])
    assert not (tmp_path / "db.duckdb").exists()


@pytest.mark.parametrize(
    "rule,message",
    [
        (TargetRule(kpi="csat", target=80, amber=90), r"higher is better, so amber \(90\) must be below target \(80\)"),
        (TargetRule(kpi="csat", target=80, amber=80), r"amber \(80\) must be below target \(80\)"),
        (
            TargetRule(kpi="frt_median", target=60, amber=30),
            r"lower is better, so amber \(30\) must be above target \(60\)",
        ),
        # a target alone keeps the catalog's amber (80), which is then above it
        (TargetRule(kpi="csat", unit=PARIS, target=75), r"targets for csat .*amber \(80\) must be below target \(75\)"),
        (TargetRule(kpi="ces", target=5), r"a target needs an amber threshold"),
    ],
)
def test_amber_on_the_wrong_side_is_a_config_error(tmp_path, rule, message):
    with pytest.raises(ConfigError, match=message):
        _build_with_rules(tmp_path, [rule])
    assert not (tmp_path / "db.duckdb").exists()
