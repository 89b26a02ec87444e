"""Initiative impact (difference in differences) against an independent plain-Python computation.

The fixture knows every record it wrote, so each cell (treated/control × before/after) is pooled
again here from those records, with the KPI's formula and variance written out by hand.
"""

from __future__ import annotations

import csv
import math
import random
import statistics
from datetime import datetime, timedelta

import pytest
from scorecard_fixtures import BERLIN, EU, NA, NYC, ORG_UNITS, PARIS, Inputs, ix, survey

from scorecard.config import Config
from scorecard.initiatives import CSV_COLUMNS, write_initiatives_csv

TINY = "NA/Tiny Desk"
LEAVES = (PARIS, BERLIN, NYC, TINY)
MONTHS = ("2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03")
MIN_SAMPLE = 20
DIRECTION = {"csat": "higher", "nps": "higher", "fcr": "higher", "aht": "lower", "frt_median": "lower"}

# initiative_id: (kpi, treated units as written, start, window, control units or None)
INITIATIVES = {
    "A-effect": ("csat", [PARIS], "2026-01", 3, None),
    "B-none": ("fcr", [BERLIN], "2026-01", 3, [NYC]),
    "C-lower": ("aht", [NYC], "2026-01", 3, [PARIS, BERLIN]),
    "D-median": ("frt_median", [PARIS], "2026-01", 3, None),
    "E-small": ("csat", [TINY], "2026-01", 3, [BERLIN]),
    "F-provisional": ("nps", [EU], "2026-02", 3, [NA]),
}


def _after(month: str, start: str) -> bool:
    return month >= start


def _records() -> dict[tuple[str, str], list[dict]]:
    """Per (leaf, month): the interactions' outcomes. Paris's CSAT and first response improve from
    2026-01, New York's handle time drops; FCR rises everywhere alike; NPS stays put."""
    out = {}
    for unit in LEAVES:
        for month in MONTHS:
            rng = random.Random(f"{unit}{month}")
            late = month >= "2026-01"
            csat_p = (0.9 if late else 0.6) if unit == PARIS else 0.8
            frt_mid = (40 if late else 100) if unit == PARIS else 60
            aht_mid = (360 if late else 600) if unit == NYC else 500
            rows = []
            for _ in range(4 if unit == TINY else 30):
                rows.append(
                    {
                        "csat": rng.choice((4, 5)) if rng.random() < csat_p else rng.choice((1, 2, 3)),
                        "nps": 10 if (r := rng.random()) < 0.5 else (7 if r < 0.75 else 3),
                        "fcr": rng.random() < (0.78 if late else 0.7),
                        "frt": frt_mid + rng.randint(-30, 30),
                        "handle": aht_mid + rng.randint(-200, 200),
                    }
                )
            out[(unit, month)] = rows
    return out


RECORDS = _records()


def _inputs(inp: Inputs) -> Inputs:
    inp.set("org_units", ORG_UNITS + [{"unit_id": TINY, "unit_name": "Tiny", "parent_id": NA}])
    interactions, responses = [], []
    for (unit, month), rows in RECORDS.items():
        for i, r in enumerate(rows):
            iid = f"{unit}|{month}|{i}"
            created = datetime.fromisoformat(f"{month}-02T08:00:00") + timedelta(hours=5 * i)
            interactions.append(
                ix(
                    iid,
                    created.isoformat(),
                    unit,
                    first=(created + timedelta(minutes=r["frt"])).isoformat(),
                    resolved=(created + timedelta(hours=20)).isoformat(),
                    contacts=1 if r["fcr"] else 2,
                    reopened="false",
                    handle=r["handle"],
                )
            )
            at = (created + timedelta(days=1)).isoformat()
            responses.append(survey(f"{iid}|c", "csat", r["csat"], at, interaction_id=iid))
            responses.append(survey(f"{iid}|n", "nps", r["nps"], at, interaction_id=iid))
    # the export runs into 2026-04: 2026-03 is complete, 2026-04 is not
    interactions.append(ix("last", "2026-04-02T09:00:00", NYC))
    inp.set("interactions", interactions)
    inp.set("survey_responses", responses)
    inp.set(
        "initiatives",
        [
            {
                "initiative_id": iid,
                "name": f"Initiative {iid}",
                "kpi_id": kpi,
                "unit_id": unit,
                "start": start,
                "owner": "",
                "control_units": ";".join(control or []),
                "window_months": window,
            }
            for iid, (kpi, units, start, window, control) in INITIATIVES.items()
            for unit in units
        ],
    )
    return inp


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return _inputs(Inputs(tmp_path_factory.mktemp("initiatives"))).build(Config(min_sample=MIN_SAMPLE))


# ------------------------------------------------------------------ the reference computation


def _subtree(unit: str) -> set[str]:
    return {leaf for leaf in LEAVES if leaf == unit or leaf.startswith(unit + "/")}


def _cell(kpi: str, units: set[str], months: list[str]) -> tuple[float | None, int, float | None]:
    """Value, n and variance of the value of the KPI over the pooled records."""
    rows = [r for u in units for m in months for r in RECORDS[(u, m)]]
    n = len(rows)
    if n == 0:
        return None, 0, None
    if kpi in ("csat", "fcr"):
        p = sum((r["csat"] >= 4) if kpi == "csat" else r["fcr"] for r in rows) / n
        return 100 * p, n, 100**2 * p * (1 - p) / n
    if kpi == "nps":
        pro, det = sum(r["nps"] >= 9 for r in rows) / n, sum(r["nps"] <= 6 for r in rows) / n
        return 100 * (pro - det), n, 100**2 * (pro + det - (pro - det) ** 2) / n
    if kpi == "aht":
        values = [r["handle"] / 60 for r in rows]
        return statistics.fmean(values), n, statistics.variance(values) / n
    return statistics.median(r["frt"] for r in rows), n, None


def _month_shift(month: str, k: int) -> str:
    y, m = divmod(int(month[:4]) * 12 + int(month[5:]) - 1 + k, 12)
    return f"{y}-{m + 1:02d}"


def expected(iid: str, period: str) -> dict:
    kpi, units, start, window, control = INITIATIVES[iid]
    treated = set().union(*(_subtree(u) for u in units))
    controls = (set().union(*(_subtree(u) for u in control)) if control else set(LEAVES)) - treated
    complete = [m for m in MONTHS if m <= "2026-03"]
    before = [m for m in complete if _month_shift(start, -window) <= m < start]
    after = [m for m in complete if start <= m <= min(period, _month_shift(start, window - 1))]
    row = {"months_after": len(after), "months_before": len(before)}
    if not after:
        row["verdict"] = "no impact yet"
        return row
    cells = {}
    for name, arm, months in (
        ("before_treated", treated, before),
        ("after_treated", treated, after),
        ("before_control", controls, before),
        ("after_control", controls, after),
    ):
        value, n, var = _cell(kpi, arm, months)
        row[name], row[f"n_{name}"], cells[name] = value, n, var
    row["naive_change"] = row["after_treated"] - row["before_treated"]
    row["impact"] = row["naive_change"] - (row["after_control"] - row["before_control"])
    if None in cells.values():
        row["ci_low"] = row["ci_high"] = None
    else:
        se = math.sqrt(sum(cells.values()))
        row["ci_low"], row["ci_high"] = row["impact"] - 1.96 * se, row["impact"] + 1.96 * se
    better = 1 if DIRECTION[kpi] == "higher" else -1
    if min(row[f"n_{c}"] for c in cells) < MIN_SAMPLE:
        row["verdict"] = "too little data"
    elif row["ci_low"] is None:
        row["verdict"] = "no detectable effect"
    elif min(better * row["ci_low"], better * row["ci_high"]) > 0:
        row["verdict"] = "improved"
    elif max(better * row["ci_low"], better * row["ci_high"]) < 0:
        row["verdict"] = "worsened"
    else:
        row["verdict"] = "no detectable effect"
    return row


# ------------------------------------------------------------------------------------ tests


def _impact(built, iid: str, period: str) -> dict:
    rows = built.query("SELECT * FROM initiative_impact WHERE initiative_id = ? AND period = ?", [iid, period])
    assert len(rows) == 1
    return rows[0]


@pytest.mark.parametrize("iid", list(INITIATIVES))
@pytest.mark.parametrize("period", ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04"])
def test_impact_interval_n_and_verdict_match_plain_python(built, iid, period):
    want, got = expected(iid, period), _impact(built, iid, period)
    for key, value in want.items():
        if value is None or isinstance(value, str):
            assert got[key] == value, key
        else:
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_the_fixture_tells_each_story(built):
    """The verdicts the fixture was designed for, at the end of every window."""
    final = {iid: _impact(built, iid, "2026-03") for iid in INITIATIVES}
    assert final["A-effect"]["verdict"] == "improved" and final["A-effect"]["impact"] > 15
    assert final["B-none"]["verdict"] == "no detectable effect"
    assert final["B-none"]["naive_change"] > 3  # the naive before/after would have claimed a gain
    assert final["C-lower"]["verdict"] == "improved" and final["C-lower"]["impact"] < 0
    assert final["D-median"]["impact"] < -30
    assert final["D-median"]["ci_low"] is None and final["D-median"]["verdict"] == "no detectable effect"
    assert "no interval" in final["D-median"]["note"]
    assert final["E-small"]["verdict"] == "too little data"
    assert final["E-small"]["n_after_treated"] == 12


def test_provisional_counts_only_complete_months(built):
    """F starts in 2026-02: as of 2026-03 two after-months; 2026-04 is incomplete and adds none."""
    for period in ("2026-03", "2026-04"):
        row = _impact(built, "F-provisional", period)
        assert row["months_after"] == 2 and row["provisional"] is True
        assert "provisional: 2 of 3 months" in row["note"]
    assert _impact(built, "A-effect", "2026-03")["provisional"] is False
    assert _impact(built, "A-effect", "2026-01")["provisional"] is True


def test_no_impact_before_the_start(built):
    early = _impact(built, "A-effect", "2025-11")
    assert early["verdict"] == "no impact yet" and early["before_treated"] is None
    eve = _impact(built, "A-effect", "2025-12")  # the before window is over: the baseline shows
    assert eve["verdict"] == "no impact yet" and eve["before_treated"] == pytest.approx(
        expected("A-effect", "2026-01")["before_treated"]
    )


def test_units_treated_with_descendants_and_controls_exclude_them(built):
    rows = built.query("SELECT initiative_id, arm, unit_id FROM initiative_units")
    arms = {(r["initiative_id"], r["arm"]): {r["unit_id"]} for r in rows}
    for r in rows:
        arms[(r["initiative_id"], r["arm"])].add(r["unit_id"])
    assert arms[("F-provisional", "treated")] == {EU, PARIS, BERLIN}
    assert arms[("F-provisional", "control")] == {NA, NYC, TINY}
    assert arms[("A-effect", "control")] == {BERLIN, NYC, TINY}


def test_monthly_values_are_the_units_own_measures(built):
    """A one-unit, one-month cell is that unit's KPI value, medians included."""
    for iid, kpi, unit in (("A-effect", "csat", PARIS), ("D-median", "frt_median", PARIS), ("C-lower", "aht", NYC)):
        monthly = built.query(
            "SELECT period, value, n FROM initiative_monthly WHERE initiative_id = ? AND arm = 'treated'", [iid]
        )
        assert len(monthly) == 7  # 2w months either side of the start, clipped to the data (2025-10 .. 2026-04)
        for row in monthly:
            if row["period"] == "2026-04":
                continue
            assert row["value"] == pytest.approx(built.value(row["period"], unit, kpi)), (iid, row["period"])
            assert row["n"] == built.row(row["period"], unit, kpi)["n"]


def test_initiatives_csv(built, tmp_path):
    import duckdb

    con = duckdb.connect(str(built.database), read_only=True)
    try:
        rows = write_initiatives_csv(con, tmp_path / "initiatives.csv", "2026-03")
    finally:
        con.close()
    with (tmp_path / "initiatives.csv").open(encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert rows == len(table) == len(INITIATIVES)
    assert tuple(table[0]) == CSV_COLUMNS
    a = next(r for r in table if r["initiative_id"] == "A-effect")
    assert float(a["impact"]) == pytest.approx(expected("A-effect", "2026-03")["impact"], abs=1e-4)
    assert a["verdict"] == "improved"
    d = next(r for r in table if r["initiative_id"] == "D-median")
    assert d["ci_low"] == "" and d["ci_high"] == ""


def test_no_initiatives_gives_empty_tables(inputs):
    built = inputs.add("interactions", ix("a", "2026-01-05T10:00:00")).build()
    assert built.query("SELECT count(*) AS n FROM initiative_impact")[0]["n"] == 0
    assert built.query("SELECT count(*) AS n FROM initiative_monthly")[0]["n"] == 0


def test_bad_initiative_rows_are_set_aside_with_reasons(inputs):
    def row(iid, unit=PARIS, kpi="csat", start="2026-01", control="", window="", name="N"):
        return {
            "initiative_id": iid,
            "name": name,
            "kpi_id": kpi,
            "unit_id": unit,
            "start": start,
            "owner": "",
            "control_units": control,
            "window_months": window,
        }

    inputs.add("interactions", ix("a", "2026-01-05T10:00:00"))
    inputs.set(
        "initiatives",
        [
            row("ok", control=f"{NYC}; {BERLIN}", window="2"),
            row("ok", unit=EU, control=f"{BERLIN};{NYC}", window="2"),  # same control set, other order
            row("ok", unit=EU, control=f"{BERLIN};{NYC}", window="2"),
            row("ok", unit=NYC, control=f"{BERLIN};{NYC}", window="3"),
            row("", unit=NYC),
            row("k", kpi="happiness"),
            row("u", unit="Atlantis"),
            row("s", start="2026-1"),
            row("w", window="0"),
            row("c", control="Mars;" + NYC),
        ],
    )
    built = inputs.build()
    reasons = {r["row"]: (r["reason"], r["value"]) for r in built.quarantine("initiatives")}
    assert reasons == {
        3: ("duplicate initiative_id and unit_id", f"ok {EU}"),
        4: (
            "disagrees with the first row of its initiative_id (name, kpi_id, start, owner, control_units, "
            "window_months)",
            "ok",
        ),
        5: ("missing initiative_id", ""),
        6: ("unknown kpi_id", "happiness"),
        7: ("unknown unit_id", "Atlantis"),
        8: ("invalid start (expected YYYY-MM)", "2026-1"),
        9: ("window_months is not an integer ≥ 1", "0"),
        10: ("unknown unit in control_units", "Mars"),
    }
    kept = built.query("SELECT * FROM initiatives ORDER BY unit_id")
    assert [r["unit_id"] for r in kept] == [EU, PARIS]
    assert kept[0]["control_units"] == sorted([BERLIN, NYC]) and kept[0]["window_months"] == 2


def test_recompute_of_a_database_without_the_review_tables_asks_for_a_build(inputs):
    import duckdb

    from scorecard.errors import ScorecardError
    from scorecard.warehouse import recompute

    built = inputs.add("interactions", ix("a", "2026-01-05T10:00:00")).build()
    with duckdb.connect(str(built.database)) as con:
        con.execute("DROP TABLE initiatives")
    with pytest.raises(ScorecardError, match="no table initiatives .*run `scorecard build`"):
        recompute(Config(), database=built.database)


def test_records_filed_at_a_parent_count_once_in_its_arm(inputs):
    """Control = EU's subtree minus treated Paris: Berlin's records and those filed at EU itself."""

    def month_rows(prefix, unit, month, count, first_contact):
        return [
            ix(
                f"{prefix}{month}{i}",
                f"{month}-0{i + 1}T09:00:00",
                unit,
                first=f"{month}-0{i + 1}T09:05:00",
                resolved=f"{month}-0{i + 1}T12:00:00",
                contacts=1 if i < first_contact else 2,
            )
            for i in range(count)
        ]

    rows = []
    for month in ("2026-01", "2026-02"):
        rows += (
            month_rows("P", PARIS, month, 4, 2)
            + month_rows("B", BERLIN, month, 3, 3)
            + month_rows("E", EU, month, 5, 1)
        )
    rows.append(ix("last", "2026-03-01T10:00:00", NYC))
    inputs.set("interactions", rows)
    inputs.set(
        "initiatives",
        [
            {
                "initiative_id": "x",
                "name": "x",
                "kpi_id": "fcr",
                "unit_id": PARIS,
                "start": "2026-02",
                "owner": "",
                "control_units": EU,
                "window_months": 1,
            }
        ],
    )
    row = inputs.build(Config(min_sample=1)).query("SELECT * FROM initiative_impact WHERE period = '2026-02'")[0]
    assert (row["n_before_treated"], row["n_before_control"], row["n_after_control"]) == (4, 8, 8)
    assert row["before_control"] == pytest.approx(100 * 4 / 8) and row["before_treated"] == pytest.approx(50)
