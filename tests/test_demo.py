"""The demo generator: deterministic, contract-shaped, and telling the documented story.

The narrative is checked independently of the package's KPI code, with plain pandas on the
generated CSV files.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from scorecard import demo

SMALL = 20_000

CONTRACT_COLUMNS = {
    "org_units": ["unit_id", "unit_name", "parent_id"],
    "interactions": [
        "interaction_id",
        "created_at",
        "unit_id",
        "channel",
        "priority",
        "customer_id",
        "customer_segment",
        "agent_id",
        "first_response_at",
        "resolved_at",
        "contacts_to_resolve",
        "reopened",
        "handle_time_s",
    ],
    "survey_responses": [
        "response_id",
        "survey",
        "score",
        "responded_at",
        "interaction_id",
        "unit_id",
        "customer_id",
        "comment",
    ],
    "employee_pulse": ["response_id", "unit_id", "responded_at", "score"],
    "qa_reviews": ["review_id", "interaction_id", "reviewer_id", "reviewed_at", "score", "critical_fail"],
    "costs": ["unit_id", "period", "support_cost"],
    "customers": ["customer_id", "unit_id", "segment", "active_from", "churned_at"],
    "sla_policies": ["channel", "priority", "first_response_minutes"],
}


def read(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def ts(values: pd.Series) -> pd.Series:
    """ISO 8601 to UTC; a value without offset is read as UTC (the default time zone)."""
    return pd.to_datetime(values.replace("", None), utc=True, format="ISO8601", errors="coerce")


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict[str, int], list[str]]:
    out = tmp_path_factory.mktemp("demo_small")
    messages: list[str] = []
    counts = demo.generate(out, interactions=SMALL, progress=messages.append)
    return out, counts, messages


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_default")
    demo.generate(out)
    return out


@pytest.fixture(scope="module")
def default_tables(default) -> dict[str, pd.DataFrame]:
    return {t: read(default, t) for t in demo.DEMO_TABLES}


# ------------------------------------------------------------------ shape and determinism


def test_writes_every_table_with_contract_columns(small):
    out, counts, messages = small
    assert set(counts) == set(CONTRACT_COLUMNS)
    for table, columns in CONTRACT_COLUMNS.items():
        df = read(out, table)
        assert list(df.columns) == columns, table
        assert len(df) == counts[table], table
    assert len(messages) == len(CONTRACT_COLUMNS)
    assert messages[1] == f"interactions: {counts['interactions']:,} rows"


def test_same_seed_gives_identical_files(small, tmp_path):
    out, counts, _ = small
    again = demo.generate(tmp_path / "again", interactions=SMALL)
    assert again == counts
    assert digests(tmp_path / "again") == digests(out)


def test_files_do_not_depend_on_thread_count(small, tmp_path, monkeypatch):
    connect = duckdb.connect

    def one_thread(*args, **kwargs):
        con = connect(*args, **kwargs)
        con.execute("SET threads = 1")
        return con

    monkeypatch.setattr(demo.duckdb, "connect", one_thread)
    demo.generate(tmp_path, interactions=SMALL)
    assert digests(tmp_path) == digests(small[0])


def test_existing_files_are_overwritten(tmp_path):
    (tmp_path / "interactions.csv").write_text("stale\n")
    demo.generate(tmp_path, interactions=5_000)
    assert read(tmp_path, "interactions").columns[0] == "interaction_id"


def test_other_seed_gives_other_data(small, tmp_path):
    demo.generate(tmp_path, interactions=SMALL, seed=8)
    theirs, ours = digests(tmp_path), digests(small[0])
    for table in ("interactions", "survey_responses", "employee_pulse", "customers"):
        assert theirs[f"{table}.csv"] != ours[f"{table}.csv"], table
    assert theirs["org_units.csv"] == ours["org_units.csv"]


def test_row_counts_scale_with_interactions(small, tmp_path):
    _, counts, _ = small
    half = demo.generate(tmp_path, interactions=SMALL // 2)
    assert counts["interactions"] == SMALL + len(demo.INVALID["interactions"])
    assert half["interactions"] == SMALL // 2 + len(demo.INVALID["interactions"])
    for table in ("survey_responses", "qa_reviews", "customers"):
        assert 0.45 < half[table] / counts[table] < 0.55, table
    # roughly 0.3-0.5 survey answers per interaction
    assert 0.3 * SMALL < counts["survey_responses"] < 0.5 * SMALL


def test_more_teams_add_regions(tmp_path):
    counts = demo.generate(tmp_path, interactions=5_000, teams=30)
    org = read(tmp_path, "org_units")
    leaves = set(org.unit_id) - set(org.parent_id)
    assert len(leaves) == 30
    assert counts["org_units"] == len(org)
    assert len(org[org.parent_id == org.loc[org.parent_id == "", "unit_id"].item()]) >= 7
    with pytest.raises(ValueError):
        demo.generate(tmp_path, interactions=5_000, teams=5)


def test_org_tree_is_one_tree_with_awkward_ids(small):
    org = read(small[0], "org_units")
    assert org.unit_id.is_unique
    roots = org[org.parent_id == ""]
    assert len(roots) == 1
    parents = dict(zip(org.unit_id, org.parent_id))
    for unit in org.unit_id:  # every unit reaches the root without a cycle
        seen = set()
        while parents[unit]:
            assert unit not in seen and parents[unit] in parents
            seen.add(unit)
            unit = parents[unit]
        assert unit == roots.unit_id.item()
    regions = org[org.parent_id == roots.unit_id.item()]
    leaves = set(org.unit_id) - set(org.parent_id)
    assert len(regions) >= 3 and len(leaves) >= 8
    assert not all(re.fullmatch(r"[a-z0-9_-]+", u) for u in org.unit_id)
    awkward = " ".join(org.unit_id)
    for char in (" ", "/", "&", "É"):
        assert char in awkward, char
    for table in ("interactions", "customers", "costs", "employee_pulse"):
        units = set(read(small[0], table).unit_id)
        assert len(units - leaves) == (table != "costs"), table  # the injected unknown unit


def test_formats_are_mixed(small):
    inter = read(small[0], "interactions")
    created = inter.created_at
    assert created.str.endswith("Z").mean() > 0.2
    assert created.str.contains(r"[+-]\d\d:\d\d$").mean() > 0.3
    assert created.str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d").mean() > 0.05
    assert created.str.contains(r"\.\d{3}").mean() > 0.05
    assert ts(created).isna().sum() == 1  # the injected unparseable one
    assert {"true", "false", "TRUE", "1", "0", "yes", "No"} <= set(inter.reopened)
    customers = read(small[0], "customers")
    assert customers.active_from.str.fullmatch(r"\d{4}-\d\d-\d\d").all()
    sla = read(small[0], "sla_policies")
    assert set(sla.channel) == {"email", "chat", "phone", "social"}
    assert (sla.priority == "").sum() == 4
    assert ((sla.channel == "chat") & (sla.priority == "urgent")).any()


def test_cut_off_falls_early_in_the_month_after_end_month(small):
    inter = read(small[0], "interactions")
    latest = max(ts(inter[c]).max() for c in ("created_at", "first_response_at", "resolved_at"))
    assert pd.Timestamp("2026-11-02", tz="UTC") < latest < pd.Timestamp("2026-11-08", tz="UTC")
    months = ts(inter.created_at).dt.strftime("%Y-%m").value_counts()
    assert months.index.min() == "2024-10" and months.index.max() == "2026-11"
    assert months["2026-11"] < months["2026-10"] / 3


def test_outcome_rates_are_realistic(small):
    inter = read(small[0], "interactions")
    never_answered = (inter.first_response_at == "").mean()
    unresolved = (inter.resolved_at == "").mean()
    assert 0.03 <= never_answered <= 0.06
    assert 0.08 <= unresolved <= 0.12
    resolved = inter[inter.resolved_at != ""]
    reopened = resolved.reopened.str.lower().isin(["true", "1", "yes"]).mean()
    assert 0.05 <= reopened <= 0.10
    assert (resolved.contacts_to_resolve == "1").mean() > 0.6
    assert (inter.loc[inter.resolved_at == "", "contacts_to_resolve"] == "").all()


# ------------------------------------------------------------------------ invalid rows


def test_every_invalid_kind_is_present(small):
    out = small[0]
    org = read(out, "org_units")
    units = set(org.unit_id)

    inter = read(out, "interactions")
    created, first, resolved = (ts(inter[c]) for c in ("created_at", "first_response_at", "resolved_at"))
    assert (created.isna() & (inter.created_at != "")).sum() >= 1
    assert (~inter.unit_id.isin(units)).sum() >= 1
    assert inter.interaction_id.duplicated().sum() >= 1
    assert (resolved < created).sum() >= 1
    assert (first < created).sum() >= 1
    assert (pd.to_numeric(inter.handle_time_s) < 0).sum() >= 1
    assert (inter.contacts_to_resolve == "0").sum() >= 1
    assert inter.contacts_to_resolve.str.contains(r"\.").sum() >= 1
    booleans = {"true", "false", "1", "0", "yes", "no", ""}
    assert (~inter.reopened.str.lower().isin(booleans)).sum() >= 1

    resp = read(out, "survey_responses")
    score = pd.to_numeric(resp.score, errors="coerce")
    assert ((resp.survey == "csat") & (score > 5)).sum() >= 1
    assert ((resp.survey == "nps") & (score > 10)).sum() >= 1
    assert (score != score.round()).sum() >= 1
    assert (~resp.survey.isin(["csat", "nps", "ces"])).sum() >= 1
    responded = ts(resp.responded_at)
    assert responded.isna().sum() >= 1
    assert resp.response_id.duplicated().sum() >= 1
    linked = resp[resp.interaction_id != ""]
    assert (~linked.interaction_id.isin(inter.interaction_id)).sum() >= 1
    assert (resp.interaction_id == "").sum() >= 10  # unit-only responses
    first_inter = inter.drop_duplicates("interaction_id").set_index("interaction_id")
    joined = linked.join(first_inter[["created_at", "resolved_at"]], on="interaction_id")
    r_at, c_at, res_at = ts(joined.responded_at), ts(joined.created_at), ts(joined.resolved_at)
    assert (r_at < c_at).sum() >= 1
    assert (r_at - res_at > pd.Timedelta(days=7)).sum() >= 1
    valid = joined[r_at.notna() & (r_at >= c_at) & ~(r_at - res_at > pd.Timedelta(days=7))]
    assert valid.duplicated(["interaction_id", "survey"]).sum() >= 1

    pulse = read(out, "employee_pulse")
    assert (pd.to_numeric(pulse.score) > 10).sum() >= 1
    assert (~pulse.unit_id.isin(units)).sum() >= 1

    qa = read(out, "qa_reviews")
    assert (pd.to_numeric(qa.score) > 100).sum() >= 1
    assert (~qa.interaction_id.isin(inter.interaction_id)).sum() >= 1

    costs = read(out, "costs")
    assert (pd.to_numeric(costs.support_cost) < 0).sum() >= 1
    assert (~costs.period.str.fullmatch(r"\d{4}-\d\d")).sum() >= 1

    customers = read(out, "customers")
    assert (pd.to_datetime(customers.churned_at.replace("", None)) < pd.to_datetime(customers.active_from)).sum() >= 1
    assert (~customers.unit_id.isin(units)).sum() >= 1
    assert customers.customer_id.duplicated().sum() >= 1


def test_invalid_rows_are_few(small):
    out, counts, _ = small
    inter = read(out, "interactions")
    assert inter.interaction_id.duplicated().sum() == 1
    for table, kinds in demo.INVALID.items():
        assert len(kinds) <= 10, table


def test_valid_rows_respect_the_contract(small):
    out = small[0]
    inter = read(out, "interactions").iloc[:SMALL]  # the valid rows come first
    created, first, resolved = (ts(inter[c]) for c in ("created_at", "first_response_at", "resolved_at"))
    assert created.notna().all()
    assert ((first >= created) | first.isna()).all()
    assert ((resolved >= first) | resolved.isna()).all()
    assert (resolved.notna() <= first.notna()).all()
    contacts = pd.to_numeric(inter.contacts_to_resolve)
    assert ((contacts >= 1) == resolved.notna()).all()
    customers = read(out, "customers").drop_duplicates("customer_id").set_index("customer_id")
    known = inter[inter.customer_id != ""]
    assert (known.customer_segment == customers.segment.reindex(known.customer_id).values).all()
    qa = read(out, "qa_reviews")
    crit = qa.critical_fail.str.lower().isin(["true", "1", "yes"])
    assert 0.01 < crit.mean() < 0.06
    assert (pd.to_numeric(qa.score)[crit] == 0).all()


# --------------------------------------------------------------------------- narrative


def _survey_by_team_month(tables: dict[str, pd.DataFrame], survey: str) -> pd.DataFrame:
    """Valid responses of one survey with their team (from the interaction) and month."""
    resp = tables["survey_responses"]
    inter = tables["interactions"].drop_duplicates("interaction_id")
    resp = resp[resp.survey == survey].copy()
    resp["score"] = pd.to_numeric(resp.score, errors="coerce")
    resp["month"] = ts(resp.responded_at).dt.strftime("%Y-%m")
    unit = resp.interaction_id.map(inter.set_index("interaction_id").unit_id)
    resp["team"] = unit.fillna(resp.unit_id.where(resp.interaction_id == ""))
    high = {"csat": 5, "nps": 10, "ces": 7}[survey]
    return resp[resp.score.between(0, high) & resp.month.notna() & resp.team.notna()]


def _csat(df: pd.DataFrame) -> float:
    return 100 * (df.score >= 4).mean()


def _nps(df: pd.DataFrame) -> float:
    return 100 * ((df.score >= 9).mean() - (df.score <= 6).mean())


def test_sliding_team_ends_red(default_tables):
    team = demo.ROLES["slides"]
    csat = _survey_by_team_month(default_tables, "csat")
    nps = _survey_by_team_month(default_tables, "nps")
    for month in ("2026-08", "2026-09", "2026-10"):
        assert _csat(csat[(csat.team == team) & (csat.month == month)]) < 80, month
        assert _nps(nps[(nps.team == team) & (nps.month == month)]) < 30, month
    early = csat[(csat.team == team) & (csat.month < "2026-03")]
    assert _csat(early) > 85


def test_improving_team_improves(default_tables):
    team = demo.ROLES["improves"]
    csat = _survey_by_team_month(default_tables, "csat")
    mine = csat[csat.team == team]
    months = sorted(m for m in mine.month.unique() if m <= "2026-10")
    first, last = mine[mine.month.isin(months[:6])], mine[mine.month.isin(months[-6:])]
    assert _csat(last) >= _csat(first) + 5


def test_small_team_stays_low_n(default_tables):
    team = demo.ROLES["low_n"]
    for survey in ("csat", "nps", "ces"):
        rows = _survey_by_team_month(default_tables, survey)
        per_month = rows[rows.team == team].groupby("month").size()
        assert per_month.max() < 30, survey
    assert (default_tables["interactions"].unit_id == team).sum() > 25 * 30
    others = _survey_by_team_month(default_tables, "csat")
    others = others[(others.team != team) & (others.month == "2026-10")]
    assert others.groupby("team").size().min() >= 30


def test_mix_shift_hides_a_within_channel_improvement(default_tables):
    inter = default_tables["interactions"]
    inter = inter[inter.unit_id == demo.ROLES["mix_shift"]].copy()
    inter["month"] = ts(inter.created_at).dt.strftime("%Y-%m")
    inter = inter[(inter.resolved_at != "") & inter.month.isin(["2026-09", "2026-10"])]
    inter["fcr"] = (inter.contacts_to_resolve == "1") & ~inter.reopened.str.lower().isin(["true", "1", "yes"])
    by_channel = inter.groupby(["channel", "month"]).fcr.mean().unstack()
    assert (by_channel["2026-10"] >= by_channel["2026-09"]).all()
    overall = inter.groupby("month").fcr.mean()
    assert overall["2026-10"] < overall["2026-09"] - 0.03


def test_other_teams_spread_over_green_amber_red(default_tables):
    csat = _survey_by_team_month(default_tables, "csat")
    csat = csat[(csat.month <= "2026-10") & (csat.team != demo.ROLES["low_n"])]
    by_cell = csat.groupby(["team", "month"]).score
    values = (100 * by_cell.apply(lambda s: (s >= 4).mean()))[by_cell.size() >= 30]
    assert (values >= 85).mean() > 0.3
    assert values.between(80, 85, inclusive="left").mean() > 0.1
    assert (values < 80).mean() > 0.1
    teams = values.groupby(level="team").median()
    assert (teams >= 85).any() and (teams < 85).sum() >= 3
