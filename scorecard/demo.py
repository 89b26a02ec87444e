"""Seeded demo data: the contract's input tables, generated inside DuckDB.

``generate(out_dir)`` writes ``org_units, interactions, survey_responses, employee_pulse,
qa_reviews, costs, customers, sla_policies`` as CSV files, and the demo's configuration
(``scorecard.yml``, from the packaged ``demo_config.yml``) beside them. Rows come from set-based SQL
(``range`` joined to a small per team-and-month plan). Every random draw is a hash of the
row key, a salt and the seed, turned into other distributions by inverse transform, so the
same seed and sizes give byte-identical files whatever the number of threads (with the same
DuckDB version), and 10 million interactions take about half a minute.

The story the reports should tell (default: 60,000 interactions, seed 7, 25 months
2024-10 .. 2026-10; "month 13" counts from 1). Team ids are in ``ROLES``.

* ``Americas/Austin Tech Support`` improves from month 13 (2025-10, a new knowledge base
  and staffing): CSAT from about 70 % to about 90 %, NPS from about 25 to about 60, FCR from
  about 69 % (red) to about 80 % (green), median first response from about 110 minutes
  (amber/red) to about 30 (green), eNPS from about 0 to about 30.
* ``EMEA/Madrid Retención`` slides over the last 8 months (2026-03 .. 2026-10): CSAT, NPS,
  FCR, SLA attainment and eNPS worsen, fast at first; CSAT is below 80 % and NPS below 30
  from 2026-04 on, in 2026-08 .. 2026-10 about 60 % and -20..5; FCR ends near 53 %.
  (At the default size this holds for 19 of seeds 1..20; sampling noise breaks the others.)
* ``APAC & Remote/Accessibility Desk`` is small (at most about 70 contacts a month at any
  size) and stays low-n: fewer than 30 responses of each survey in every month.
* ``EMEA/Berlin Tier 1`` shows a mix shift (Simpson's paradox) in 2026-10 vs 2026-09: a
  chat outage moves its contacts from 85 % chat to 80 % email (and 30 % more of them).
  FCR improves within chat (about 82 -> 91 %) and within email (about 35 -> 62 %), yet the
  team's FCR falls (about 75 -> 68 %) because its e-mail resolves far fewer contacts at the
  first attempt; its median first response jumps from minutes to about an hour as well.
* The other teams sit at different levels against the default targets: Dublin Key Accounts
  and Toronto mostly green, Paris, Ciudad de México and Manila mostly amber (Paris slow on
  first response and SLA), São Paulo red on CSAT, NPS, FCR and eNPS.
* Volume has seasonality (November/December peak, July/August dip) and about 7 % growth a
  year. The export reaches 5 days into the month after ``end_month`` (cut-off about
  2026-11-05T23:50Z), so ``end_month`` is complete and 2026-11 partial; recent contacts are
  more often still unresolved. About 5 % are never answered, 10 % unresolved, 7 % of the
  resolved reopened.

With ``teams`` above 10, plain teams are added in extra regions of five.

With ``review=True`` (``scorecard demo`` sets it) the owners' side is written too
(``generate_review``): ``commentary`` -- comments with markup and personal data, actions carried
open, one overdue for months, others closed -- and ``initiatives``: Austin's knowledge base
(FCR, from month 13: improved), Toronto's chat macros (FCR, from 2026-05 against Dublin and
Paris: no detectable effect) and the Accessibility Desk's live captions (CSAT, a one-month
window: too little data).

A real export's formats are mixed in: timestamps with ``Z``, ``+01:00``/``+02:00``,
``-05:00`` or ``+05:30`` offsets, without offset (read as the reporting time zone), some with
milliseconds; booleans as true/false, TRUE/FALSE, True/False, 1/0, yes/no, Yes/No, YES/NO;
unit ids with spaces, accents, ``&`` and ``/``; survey comments with e-mail addresses, phone
numbers, quotes, a line break, and HTML/Typst/Markdown/LaTeX-hostile text.

After the valid rows, each file gets one invalid row of each kind in ``INVALID``:
interactions -- unparseable created_at, unknown unit_id, duplicate interaction_id,
resolved_at before created_at, first_response_at before created_at, negative handle_time_s,
contacts_to_resolve 0, non-integer contacts_to_resolve, invalid boolean reopened;
survey_responses -- csat 6, nps 11, non-integer score, unknown survey type, response before
its interaction was created, response more than 7 days after resolved_at, a later duplicate
of an (interaction_id, survey) pair, duplicate response_id, unknown interaction_id,
unparseable responded_at; employee_pulse -- score 11, unknown unit_id; qa_reviews -- score
120, unknown interaction_id; costs -- negative support_cost (in the partial month), bad
period (``2024/10``); customers -- churned_at before active_from, unknown unit_id, duplicate
customer_id.
"""

from __future__ import annotations

import calendar
import csv
import random
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .db import scalar
from .progress import ProgressCallback

__all__ = [
    "generate",
    "generate_review",
    "write_config",
    "ROLES",
    "INVALID",
    "DEMO_TABLES",
    "REVIEW_TABLES",
    "CONFIG_TEMPLATE",
]

CONFIG_TEMPLATE = Path(__file__).with_name("demo_config.yml")

# the input tables the demo writes, in the order it writes them
DEMO_TABLES = (
    "org_units",
    "interactions",
    "survey_responses",
    "employee_pulse",
    "qa_reviews",
    "costs",
    "customers",
    "sla_policies",
)

ROOT = ("Northwind Service", "Northwind Service – Company")
REGIONS = [
    ("EMEA", "Europe, Middle East & Africa"),
    ("Americas", "Americas / Amériques"),
    ("APAC & Remote", "Asia-Pacific & Remote"),
]
EXTRA_REGIONS = [
    ("Nordics & Baltics", "Nordics & Baltics"),
    ("Middle East/Africa", "Middle East / Africa"),
    ("LatAm Sur", "América Latina – Sur"),
    ("Japan & Korea", "Japan & Korea"),
    ("Océanie", "Océanie / Oceania"),
]

REVIEW_TABLES = ("commentary", "initiatives")

CHANNELS = ["email", "chat", "phone", "social"]  # codes 0..3 in the SQL
PRIORITIES = ["low", "normal", "high", "urgent"]  # 20 %, 56 %, 17 %, 6 %; 1 % empty
PRIORITY_FRT = [1.3, 1.0, 0.6, 0.3]  # first-response time multiplier

SLA_POLICIES = [  # channel, priority ('' = any), first_response_minutes
    ("email", "", 480),
    ("chat", "", 5),
    ("phone", "", 3),
    ("social", "", 120),
    ("chat", "urgent", 2),
    ("email", "urgent", 60),
    ("email", "high", 240),
    ("phone", "urgent", 1),
]

SMALL_TEAM_CAP = 70  # contacts a month of the low-n team, whatever the size
EXPORT_DAYS = 5  # days of the month after end_month in the export
SEASON = {1: 1.04, 2: 0.96, 3: 1.0, 4: 0.97, 5: 0.95, 6: 0.9, 7: 0.82, 8: 0.8, 9: 0.97, 10: 1.02, 11: 1.22, 12: 1.3}


@dataclass(frozen=True)
class Team:
    """A leaf unit and its behaviour (latent shifts: 0 is about on target)."""

    unit_id: str
    name: str
    region: str
    weight: float  # share of the contact volume
    mix: tuple[float, float, float, float]  # email, chat, phone, social
    sat: float = 0.0  # customer satisfaction shift (0 ~ CSAT 85 %, NPS 45)
    fcr: float = 0.0  # logit shift of resolving at the first contact
    email_fcr: float = 0.0  # extra logit shift for e-mail (escalations handled elsewhere)
    frt: float = 1.0  # first-response time multiplier
    enps: float = 0.0  # employee engagement shift (0 ~ eNPS 15)
    agents: int = 45
    enterprise: float = 0.08
    smb: float = 0.27
    churn: float = 0.02  # monthly churn hazard of the team's customers
    cpc: float = 7.0  # cost per contact
    role: str = ""


TEAMS = [
    Team(
        "EMEA/Paris Équipe",
        "Paris – Équipe Billing & Returns",
        "EMEA",
        0.10,
        (0.6, 0.15, 0.2, 0.05),
        sat=-0.05,
        fcr=0.55,
        frt=1.9,
        enps=0.1,
        cpc=8.5,
    ),
    Team(
        "EMEA/Berlin Tier 1",
        "Berlin Tier 1 – Chat & E-Mail",
        "EMEA",
        0.2,
        (0.15, 0.85, 0.0, 0.0),
        sat=0.05,
        fcr=0.1,
        email_fcr=-0.7,
        frt=0.9,
        enps=0.2,
        agents=55,
        cpc=5.5,
        role="mix_shift",
    ),
    Team(
        "EMEA/Madrid Retención",
        "Madrid – Retención & Bajas",
        "EMEA",
        0.11,
        (0.25, 0.2, 0.5, 0.05),
        sat=0.25,
        fcr=0.3,
        frt=0.9,
        enps=0.35,
        cpc=7.5,
        role="slides",
    ),
    Team(
        "EMEA/Dublin Key Accounts",
        "Dublin Key Accounts (Enterprise)",
        "EMEA",
        0.09,
        (0.5, 0.1, 0.4, 0.0),
        sat=0.35,
        fcr=0.9,
        frt=0.7,
        enps=0.5,
        agents=40,
        enterprise=0.7,
        smb=0.3,
        churn=0.008,
        cpc=14.0,
    ),
    Team(
        "Americas/Toronto Tier 1",
        "Toronto Tier 1 – Chat & Phone",
        "Americas",
        0.12,
        (0.15, 0.5, 0.3, 0.05),
        sat=0.2,
        fcr=0.2,
        frt=0.8,
        enps=0.3,
        agents=50,
        cpc=6.0,
    ),
    Team(
        "Americas/Austin Tech Support",
        "Austin Tech Support (Tier 2)",
        "Americas",
        0.11,
        (0.6, 0.15, 0.25, 0.0),
        sat=-0.3,
        fcr=0.15,
        frt=2.8,
        enps=-0.2,
        cpc=9.0,
        role="improves",
    ),
    Team(
        "Americas/São Paulo Social",
        "São Paulo – Social & Messaging",
        "Americas",
        0.09,
        (0.15, 0.3, 0.0, 0.55),
        sat=-0.35,
        fcr=-0.1,
        frt=1.4,
        enps=-0.35,
        agents=40,
        enterprise=0.02,
        smb=0.13,
        churn=0.03,
        cpc=5.0,
    ),
    Team(
        "APAC & Remote/Accessibility Desk",
        "Accessibility Desk (remote)",
        "APAC & Remote",
        0.025,
        (0.3, 0.2, 0.5, 0.0),
        sat=0.3,
        fcr=0.6,
        frt=0.8,
        enps=0.4,
        agents=7,
        cpc=12.0,
        role="low_n",
    ),
    Team(
        "Americas/Ciudad de México Nights",
        "Ciudad de México – Nights & Weekends",
        "Americas",
        0.08,
        (0.2, 0.4, 0.4, 0.0),
        sat=-0.12,
        fcr=-0.05,
        frt=1.3,
        enps=0.0,
        agents=40,
    ),
    Team(
        "APAC & Remote/Manila 24/7",
        "Manila 24/7 – Follow the Sun",
        "APAC & Remote",
        0.12,
        (0.35, 0.45, 0.15, 0.05),
        sat=0.0,
        fcr=0.1,
        frt=1.1,
        enps=0.25,
        agents=55,
        cpc=4.5,
    ),
]

ROLES = {t.role: t.unit_id for t in TEAMS if t.role}

# per channel (order of CHANNELS): first-response median minutes and log-sigma, share
# never answered, logit of resolving at the first contact, resolution median hours and
# log-sigma, handle time median seconds and log-sigma
CHANNEL_PARAMS = [
    (90.0, 0.9, 0.035, 0.5, 16.0, 1.0, 330.0, 0.7),
    (1.5, 0.9, 0.045, 1.8, 0.25, 0.8, 600.0, 0.6),
    (0.6, 0.8, 0.05, 1.9, 0.15, 0.7, 420.0, 0.5),
    (25.0, 1.0, 0.08, 0.1, 5.0, 1.1, 210.0, 0.7),
]

COMMENTS = {
    0: [  # satisfied
        "Quick and friendly, thanks!",
        "Problem solved on the first call.",
        "Très bon service, merci beaucoup.",
        "Great help from the agent, 10/10.",
        "Answer was clear & complete.",
        "Muito obrigado, resolvido rápido.",
    ],
    1: [  # dissatisfied
        "Had to explain my issue three times.",
        "Still waiting for a refund...",
        "Nobody answered my e-mail for two days.",
        "The chat closed before my problem was fixed.",
        "Esperé mucho tiempo, muy lento.",
        "Transferred 4 times, then cut off.",
    ],
    2: [  # personal data and markup the publisher must escape
        "Call me back on +33 6 12 34 56 78 please",
        "My email is jane.doe@example.com, nobody wrote back",
        "<script>alert(1)</script>",
        "#set page(width: 1cm) lol",
        "This was *bold* and _great_ service",
        "Price went from $x$ to $y$ -- why?",
        'see @ref and #import "evil.typ": *',
        'He said "we\'ll see", then hung up; not OK',
        "Line one\nline two, with a comma",
        "50% off? {{ template }} & <b>HTML</b> \\textbf{x}",
        "Contact: +1 (415) 555-0134 / john.smith@mail.example.org",
    ],
}

INVALID = {
    "interactions": [
        "unparseable created_at",
        "unknown unit_id",
        "duplicate interaction_id",
        "resolved_at before created_at",
        "first_response_at before created_at",
        "negative handle_time_s",
        "contacts_to_resolve 0",
        "non-integer contacts_to_resolve",
        "invalid boolean reopened",
    ],
    "survey_responses": [
        "csat score out of range",
        "nps score out of range",
        "non-integer score",
        "unknown survey type",
        "response before interaction created",
        "response more than 7 days after resolved_at",
        "duplicate (interaction_id, survey)",
        "duplicate response_id",
        "unknown interaction_id",
        "unparseable responded_at",
    ],
    "employee_pulse": ["score out of range", "unknown unit_id"],
    "qa_reviews": ["score out of range", "unknown interaction_id"],
    "costs": ["negative support_cost", "bad period"],
    "customers": ["churned_at before active_from", "unknown unit_id", "duplicate customer_id"],
}

# ------------------------------------------------------------------------------- SQL
# Uniforms are hashes of (row key, salt, seed); other distributions by inverse transform.

_MACROS = r"""
CREATE MACRO u(k, s) AS
    ((hash(CAST(k AS BIGINT), CAST(s AS INTEGER), {seed}) % 1000000007) + 0.5) / 1000000007.0;
CREATE MACRO gauss(k, s) AS sqrt(-2 * ln(u(k, s))) * cos(2 * pi() * u(k, s + 1000));
CREATE MACRO ts(ms) AS make_timestamp(CAST(ms AS BIGINT) * 1000);
CREATE MACRO iso(ms, v) AS CASE
    WHEN v < 0.30 THEN strftime(ts(ms), '%Y-%m-%dT%H:%M:%SZ')
    WHEN v < 0.62 THEN CASE WHEN month(ts(ms)) BETWEEN 4 AND 10
        THEN strftime(ts(ms + 7200000), '%Y-%m-%dT%H:%M:%S+02:00')
        ELSE strftime(ts(ms + 3600000), '%Y-%m-%dT%H:%M:%S+01:00') END
    WHEN v < 0.70 THEN strftime(ts(ms - 18000000), '%Y-%m-%dT%H:%M:%S-05:00')
    WHEN v < 0.84 THEN strftime(ts(ms), '%Y-%m-%dT%H:%M:%S')
    WHEN v < 0.93 THEN strftime(ts(ms), '%Y-%m-%dT%H:%M:%S.%gZ')
    ELSE strftime(ts(ms + 19800000), '%Y-%m-%dT%H:%M:%S.%g+05:30') END;
CREATE MACRO boolstr(b, v) AS CASE WHEN b
    THEN ['true', 'TRUE', 'True', '1', 'yes', 'Yes', 'YES'][1 + CAST(floor(v * 7) AS INTEGER)]
    ELSE ['false', 'FALSE', 'False', '0', 'no', 'No', 'NO'][1 + CAST(floor(v * 7) AS INTEGER)]
    END;
CREATE MACRO tck(n) AS 'TCK-' || lpad(CAST(n AS VARCHAR), 9, '0');
CREATE MACRO cid(n) AS 'CU-' || lpad(CAST(n AS VARCHAR), 8, '0');
CREATE MACRO segment(c, ent, smb) AS CASE WHEN u(c, 60) < ent THEN 'enterprise'
    WHEN u(c, 60) < ent + smb THEN 'smb' ELSE 'consumer' END;
CREATE MACRO csat(z) AS CASE WHEN z > -0.2 THEN 5 WHEN z > -1.04 THEN 4
    WHEN z > -1.5 THEN 3 WHEN z > -1.9 THEN 2 ELSE 1 END;
CREATE MACRO nps(z) AS CASE WHEN z > 0.6 THEN 10 WHEN z > -0.25 THEN 9 WHEN z > -0.6 THEN 8
    WHEN z > -1.15 THEN 7 WHEN z > -1.4 THEN 6 WHEN z > -1.7 THEN 5 WHEN z > -1.9 THEN 4
    WHEN z > -2.1 THEN 3 WHEN z > -2.3 THEN 2 WHEN z > -2.6 THEN 1 ELSE 0 END;
CREATE MACRO ces(z) AS CASE WHEN z > 0.5 THEN 7 WHEN z > -0.3 THEN 6 WHEN z > -0.9 THEN 5
    WHEN z > -1.4 THEN 4 WHEN z > -1.9 THEN 3 WHEN z > -2.4 THEN 2 ELSE 1 END;
CREATE MACRO pulse(z) AS CASE WHEN z > 1.0 THEN 10 WHEN z > 0.25 THEN 9 WHEN z > -0.2 THEN 8
    WHEN z > -0.67 THEN 7 WHEN z > -1.0 THEN 6 WHEN z > -1.3 THEN 5 WHEN z > -1.6 THEN 4
    WHEN z > -1.9 THEN 3 WHEN z > -2.2 THEN 2 WHEN z > -2.5 THEN 1 ELSE 0 END;
"""

# One row per interaction, numbers only (formatted when written). The plan gives each
# (team, month) its key range [lo, lo + n) and the team's behaviour in that month.
_CORE = """
CREATE TABLE core AS
WITH base AS (  -- ASOF: a parallel scan of range(n), unlike a lateral join on the plan
    SELECT p.*, g.range AS seq FROM range({n}) g ASOF JOIN (FROM plan WHERE n > 0) p
    ON g.range >= p.lo
), drawn AS (
    SELECT seq, t, m, sat, fcr_shift, fcr_email, reopen_p, frt_mult, agents,
        CASE WHEN u(seq, 1) < c_email THEN 0 WHEN u(seq, 1) < c_chat THEN 1
             WHEN u(seq, 1) < c_phone THEN 2 ELSE 3 END AS ch,
        CASE WHEN u(seq, 2) < 0.20 THEN 0 WHEN u(seq, 2) < 0.76 THEN 1
             WHEN u(seq, 2) < 0.93 THEN 2 WHEN u(seq, 2) < 0.99 THEN 3 END AS pr,
        start_ms + floor(u(seq, 3) * span_days) * 86400000 + CASE WHEN u(seq, 4) < 0.8
            THEN 25200000 + floor(u(seq, 5) * 43200000) ELSE floor(u(seq, 5) * 86400000) END
            AS c_ms,
        CASE WHEN u(seq, 6) >= 0.05 THEN cust_lo + floor(u(seq, 7) * cust_n) END AS cust
    FROM base
), timed AS (
    SELECT d.*, c.frt_med,
        u(seq, 8) >= least(0.15, c.unanswered * (0.6 + 0.4 * frt_mult)) AS answered,
        c.frt_med * frt_mult * {priority_frt}[coalesce(pr, 1) + 1]
            * exp(c.frt_sigma * gauss(seq, 9)) AS frt_min,
        CASE WHEN u(seq, 10) < 1 / (1 + exp(-(c.fcr_logit + fcr_shift
                                              + CASE WHEN ch = 0 THEN fcr_email ELSE 0 END)))
             THEN 1
             ELSE 2 + floor(-ln(u(seq, 11)) * 0.6) END AS contacts,
        c.res_med * exp(c.res_sigma * gauss(seq, 12)) AS res_h,
        u(seq, 13) < 0.05 + 0.30 * exp(-({export_ms} - c_ms) / 86400000 / 6) AS stuck,
        u(seq, 14) < reopen_p AS reopen_draw,
        c.aht_med * exp(c.aht_sigma * gauss(seq, 15)) AS handle
    FROM drawn d JOIN channels c USING (ch)
), answered AS (
    SELECT *, CASE WHEN answered AND c_ms + greatest(5000, round(frt_min * 60000)) < {export_ms}
        THEN c_ms + greatest(5000, round(frt_min * 60000)) END AS f_ms
    FROM timed
), resolved AS (
    SELECT *, CASE WHEN f_ms IS NOT NULL AND NOT stuck
        AND f_ms + round(res_h * (1 + 0.6 * (contacts - 1)) * 3600000) < {export_ms}
        THEN f_ms + round(res_h * (1 + 0.6 * (contacts - 1)) * 3600000) END AS r_ms
    FROM answered
)
SELECT seq, CAST(t AS SMALLINT) AS t, CAST(m AS SMALLINT) AS m,
    CAST(ch AS TINYINT) AS ch, CAST(pr AS TINYINT) AS pr,
    CAST(c_ms AS BIGINT) AS c_ms, CAST(f_ms AS BIGINT) AS f_ms, CAST(r_ms AS BIGINT) AS r_ms,
    CAST(CASE WHEN r_ms IS NOT NULL THEN contacts END AS TINYINT) AS contacts,
    CASE WHEN r_ms IS NOT NULL THEN reopen_draw END AS reopened,
    r_ms IS NOT NULL AND contacts = 1 AND NOT reopen_draw AS fcr,
    frt_min > 3 * frt_med AS slow,
    CAST(CASE WHEN f_ms IS NOT NULL AND u(seq, 16) >= 0.015
         THEN round(handle * pow(contacts, 0.7)) END AS INTEGER) AS handle_s,
    CAST(cust AS INTEGER) AS cust,
    CAST(CASE WHEN f_ms IS NOT NULL THEN 1 + floor(u(seq, 17) * agents) END AS SMALLINT)
        AS agent,
    CAST(sat AS FLOAT) AS sat, u(seq, 18) AS v
FROM resolved
"""

# One row per survey answer (key = 3 * interaction + question). A surveyed interaction
# answers csat, often nps, sometimes ces, hours to a couple of days after its resolution;
# the score follows the team's month and the contact's outcome. A web form adds a few
# responses with a unit and no interaction.
_RESPONSES = """
CREATE TABLE resp AS
WITH asked AS (
    SELECT c.*, q.k, c.seq * 3 + q.k AS key
    FROM core c, (VALUES (0, 0.8), (1, 0.8), (2, 0.25)) q(k, p)
    WHERE c.f_ms IS NOT NULL
      AND u(c.seq, 40) < CASE WHEN c.r_ms IS NULL THEN 0.08 ELSE 0.25 END
      AND u(c.seq * 3 + q.k, 41) < q.p
), linked AS (
    SELECT key, seq, k, t, cust,
        coalesce(r_ms, f_ms) + 15000 * k
            + round(3600000 * least(150, 3.5 * exp(1.1 * gauss(seq, 42)))) AS resp_ms,
        sat + CASE WHEN r_ms IS NULL THEN -0.9 WHEN fcr THEN 0.15 ELSE -0.45 END
            - CASE WHEN slow THEN 0.3 ELSE 0 END
            - CASE WHEN k = 2 THEN 0.25 * (coalesce(contacts, 2) - 1) ELSE 0 END
            + 0.8 * gauss(seq, 43) + 0.6 * gauss(key, 44) AS z
    FROM asked
), web AS (
    SELECT 3 * {n} + p.web_lo + g.range AS key, p.* FROM plan p, range(p.web_n) g
), unit_only AS (
    SELECT key, NULL AS seq, CASE WHEN u(key, 45) < 0.6 THEN 0 ELSE 1 END AS k, t,
        cust_lo + floor(u(key, 46) * cust_n) AS cust,
        start_ms + floor(u(key, 47) * span_days * 86400000) AS resp_ms,
        sat - 0.1 + gauss(key, 48) AS z
    FROM web
)
SELECT key, CAST(seq AS BIGINT) AS seq, CAST(k AS TINYINT) AS k, CAST(t AS SMALLINT) AS t,
    CAST(cust AS INTEGER) AS cust, CAST(resp_ms AS BIGINT) AS resp_ms,
    CAST(CASE k WHEN 0 THEN csat(z) WHEN 1 THEN nps(z) ELSE ces(z) END AS TINYINT) AS score,
    u(key, 53) AS v
FROM (SELECT * FROM linked UNION ALL BY NAME SELECT * FROM unit_only)
WHERE resp_ms < {export_ms}
"""

# Every written table: valid rows and, after them, the broken ones. Broken rows are cloned
# from the first valid rows ("donors") and changed as their kind says; `bad_*` columns
# carry text that no valid row could hold.

_INTERACTIONS_CSV = """
WITH donors AS (
    SELECT *, row_number() OVER (ORDER BY seq) AS j FROM (
        SELECT * FROM core WHERE seq < {donor_seq} AND r_ms IS NOT NULL AND handle_s > 0
        ORDER BY seq LIMIT 20)
), rows AS (
    SELECT seq AS key, seq AS id, * FROM core
    UNION ALL BY NAME
    SELECT {n} + j AS key,
        CASE WHEN kind = 'duplicate interaction_id' THEN seq ELSE {n} + j END AS id,
        d.* EXCLUDE (j) REPLACE (
            CASE WHEN kind = 'first_response_at before created_at'
                 THEN c_ms - 600000 ELSE f_ms END AS f_ms,
            CASE WHEN kind = 'resolved_at before created_at'
                 THEN c_ms - 7200000 ELSE r_ms END AS r_ms,
            CASE WHEN kind = 'negative handle_time_s' THEN -42 ELSE handle_s END AS handle_s),
        CASE WHEN kind = 'unparseable created_at' THEN '2026-02-30T25:61:00' END AS bad_created,
        CASE WHEN kind = 'unknown unit_id' THEN 'EMEA/Atlantis (closed)' END AS bad_unit,
        CASE kind WHEN 'contacts_to_resolve 0' THEN '0'
                  WHEN 'non-integer contacts_to_resolve' THEN '1.5' END AS bad_contacts,
        CASE WHEN kind = 'invalid boolean reopened' THEN 'maybe' END AS bad_reopened
    FROM donors d JOIN invalid_kinds USING (j) WHERE tbl = 'interactions'
)
SELECT key, tck(id) AS interaction_id,
    coalesce(bad_created, iso(c_ms, v)) AS created_at,
    coalesce(bad_unit, tm.unit_id) AS unit_id,
    {channels}[ch + 1] AS channel,
    {priorities}[pr + 1] AS priority,
    cid(cust) AS customer_id,
    CASE WHEN cust IS NOT NULL THEN segment(cust, tm.enterprise, tm.smb) END AS customer_segment,
    'AG-' || lpad(CAST(t + 1 AS VARCHAR), 2, '0') || '-' || lpad(CAST(agent AS VARCHAR), 3, '0')
        AS agent_id,
    iso(f_ms, v) AS first_response_at,
    iso(r_ms, v) AS resolved_at,
    coalesce(bad_contacts, CAST(contacts AS VARCHAR)) AS contacts_to_resolve,
    coalesce(bad_reopened, boolstr(reopened, u(id, 19))) AS reopened,
    handle_s AS handle_time_s
FROM rows JOIN teams tm USING (t)
"""

_RESPONSES_CSV = """
WITH donors AS (
    SELECT *, row_number() OVER (ORDER BY key) AS j FROM (
        SELECT r.*, c.c_ms, c.r_ms FROM resp r JOIN core c USING (seq)
        WHERE r.seq < {donor_seq} AND c.seq < {donor_seq} AND r.k = 0 AND c.r_ms IS NOT NULL
        ORDER BY r.key LIMIT 20)
), rows AS (
    SELECT key, key AS id, * EXCLUDE (key) FROM resp
    UNION ALL BY NAME
    SELECT {broken_lo} + j AS key,
        CASE WHEN kind = 'duplicate response_id' THEN d.key ELSE {broken_lo} + j END AS id,
        d.* EXCLUDE (key, j, c_ms, r_ms) REPLACE (
            CASE kind WHEN 'nps score out of range' THEN 1 ELSE k END AS k,
            CASE kind WHEN 'unknown interaction_id' THEN {n} + 777
                      WHEN 'duplicate response_id' THEN NULL ELSE seq END AS seq,
            CASE kind WHEN 'response before interaction created' THEN c_ms - 3600000
                      WHEN 'response more than 7 days after resolved_at' THEN r_ms + 9 * 86400000
                      WHEN 'duplicate (interaction_id, survey)' THEN resp_ms + 3 * 3600000
                      ELSE resp_ms + 60000 END AS resp_ms),
        CASE WHEN kind = 'unknown survey type' THEN 'cses' END AS bad_survey,
        CASE kind WHEN 'csat score out of range' THEN '6' WHEN 'nps score out of range' THEN '11'
                  WHEN 'non-integer score' THEN '4.5' END AS bad_score,
        CASE WHEN kind = 'unparseable responded_at' THEN 'yesterday 14h' END AS bad_time
    FROM donors d JOIN invalid_kinds USING (j) WHERE tbl = 'survey_responses'
)
SELECT r.key, 'SR-' || lpad(CAST(id AS VARCHAR), 10, '0') AS response_id,
    coalesce(bad_survey, ['csat', 'nps', 'ces'][r.k + 1]) AS survey,
    coalesce(bad_score, CAST(r.score AS VARCHAR)) AS score,
    coalesce(bad_time, iso(resp_ms, v)) AS responded_at,
    CASE WHEN seq IS NOT NULL THEN tck(seq) END AS interaction_id,
    CASE WHEN seq IS NULL OR u(r.key, 49) < 0.3 THEN tm.unit_id END AS unit_id,
    cid(cust) AS customer_id,
    cm.text AS comment
FROM (
    SELECT *, CASE WHEN u(key, 50) >= 0.12 THEN NULL WHEN u(key, 51) < 0.25 THEN 2
                   WHEN score >= [4, 9, 6][k + 1] THEN 0 ELSE 1 END AS pool
    FROM rows
) r JOIN teams tm USING (t)
LEFT JOIN comments cm ON cm.pool = r.pool
    AND cm.i = CAST(floor(u(r.key, 52) * {pool_sizes}[r.pool + 1]) AS INTEGER)
"""

# Pulse: about the team's size of answers a month, in the first ten days of the month.
_PULSE_CSV = """
WITH rows AS (
    SELECT p.pulse_lo + g.range AS key, p.* FROM plan p, range(p.pulse_n) g
), valid AS (
    SELECT key, 'EP-' || lpad(CAST(key AS VARCHAR), 8, '0') AS response_id, tm.unit_id,
        iso(start_ms + floor(u(key, 91) * 10 * 86400000), u(key, 92)) AS responded_at,
        CAST(pulse(enps + gauss(key, 93)) AS VARCHAR) AS score
    FROM rows JOIN teams tm USING (t)
), donors AS (
    SELECT *, row_number() OVER (ORDER BY key) AS j FROM (FROM valid ORDER BY key LIMIT 20)
)
FROM valid
UNION ALL
SELECT {broken_lo} + j, 'EP-' || lpad(CAST({broken_lo} + j AS VARCHAR), 8, '0'),
    CASE WHEN kind = 'unknown unit_id' THEN 'EMEA/Lisboa (planned)' ELSE unit_id END,
    responded_at, CASE WHEN kind = 'score out of range' THEN '11' ELSE score END
FROM donors JOIN invalid_kinds USING (j) WHERE tbl = 'employee_pulse'
"""

# QA: about 4 % of the answered contacts, reviewed one to six days later.
_QA_CSV = """
WITH reviewed AS (
    SELECT *, coalesce(r_ms, f_ms) + round((1 + 5 * u(seq, 101)) * 86400000) AS rev_ms,
        u(seq, 102) < 0.03 AS critical
    FROM core WHERE f_ms IS NOT NULL AND u(seq, 100) < 0.04
), valid AS (
    SELECT seq AS key, 'QA-' || lpad(CAST(seq AS VARCHAR), 9, '0') AS review_id,
        tck(seq) AS interaction_id,
        'QA-R' || tm.region_no || '-' || CAST(1 + floor(u(seq, 103) * 3) AS INTEGER)
            AS reviewer_id,
        iso(rev_ms, u(seq, 104)) AS reviewed_at,
        CAST(CASE WHEN critical THEN 0 ELSE greatest(0, least(100, round(80 + 7 * sat
            + CASE WHEN fcr THEN 3 ELSE -4 END + 9 * gauss(seq, 105)))) END AS INTEGER)
            ::VARCHAR AS score,
        boolstr(critical, u(seq, 106)) AS critical_fail
    FROM reviewed JOIN teams tm USING (t) WHERE rev_ms < {export_ms}
), donors AS (
    SELECT *, row_number() OVER (ORDER BY key) AS j FROM (
        FROM valid WHERE key < {donor_seq} ORDER BY key LIMIT 20)
)
FROM valid
UNION ALL
SELECT {n} + j, 'QA-' || lpad(CAST({n} + j AS VARCHAR), 9, '0'),
    CASE WHEN kind = 'unknown interaction_id' THEN tck({n} + 778) ELSE interaction_id END,
    reviewer_id, reviewed_at,
    CASE WHEN kind = 'score out of range' THEN '120' ELSE score END, critical_fail
FROM donors JOIN invalid_kinds USING (j) WHERE tbl = 'qa_reviews'
"""

# Costs: booked per team and complete month, roughly volume x the team's cost per contact.
_COSTS_CSV = """
WITH valid AS (
    SELECT m * 1000 + t AS key, tm.unit_id, p.period,
        CAST(CAST(round(p.n * tm.cpc * (0.94 + 0.12 * u(m * 1000 + t, 70)), 2)
             AS DECIMAL(18, 2)) AS VARCHAR) AS support_cost
    FROM plan p JOIN teams tm USING (t) WHERE p.m < {months}
), donors AS (
    SELECT *, row_number() OVER (ORDER BY key) AS j FROM (FROM valid ORDER BY key LIMIT 20)
)
FROM valid
UNION ALL
SELECT {months} * 1000 + 900 + j, unit_id,
    CASE kind WHEN 'bad period' THEN replace(period, '-', '/')
              WHEN 'negative support_cost' THEN '{next_period}' ELSE period END,
    CASE WHEN kind = 'negative support_cost' THEN '-' || support_cost ELSE support_cost END
FROM donors JOIN invalid_kinds USING (j) WHERE tbl = 'costs'
"""

# Customers: joined up to three years before the first month, monthly churn hazard of the
# team; some churns are booked on the first day of a month.
_CUSTOMERS_CSV = """
WITH rows AS (
    SELECT tm.cust_lo + g.range AS key, tm.* FROM teams tm, range(tm.cust_n) g
), dated AS (
    SELECT *, DATE '{first_day}' - 1096
            + CAST(floor(u(key, 61) * (1096 + {history_days})) AS INTEGER) AS active,
        CAST(ceil(-ln(u(key, 62)) / churn * 30.44) AS INTEGER) AS life
    FROM rows
), churned AS (
    SELECT *, CASE WHEN u(key, 63) < 0.12
        THEN CAST(date_trunc('month', active + life) + INTERVAL 1 MONTH AS DATE)
        ELSE active + life END AS churn_day
    FROM dated
), valid AS (
    SELECT key, cid(key) AS customer_id, unit_id, segment(key, enterprise, smb) AS segment,
        strftime(active, '%Y-%m-%d') AS active_from,
        CASE WHEN churn_day < DATE '{export_day}' THEN strftime(churn_day, '%Y-%m-%d') END
            AS churned_at
    FROM churned
), donors AS (
    SELECT *, row_number() OVER (ORDER BY key) AS j FROM (FROM valid ORDER BY key LIMIT 20)
)
FROM valid
UNION ALL
SELECT {n_cust} + j,
    CASE WHEN kind = 'duplicate customer_id' THEN customer_id ELSE cid({n_cust} + j) END,
    CASE WHEN kind = 'unknown unit_id' THEN 'Americas/Atlantis' ELSE unit_id END,
    CASE WHEN kind = 'duplicate customer_id' AND segment = 'consumer' THEN 'smb'
         WHEN kind = 'duplicate customer_id' THEN 'consumer' ELSE segment END,
    active_from,
    CASE WHEN kind = 'churned_at before active_from'
         THEN strftime(CAST(active_from AS DATE) - 30, '%Y-%m-%d') ELSE churned_at END
FROM donors JOIN invalid_kinds USING (j) WHERE tbl = 'customers'
"""


# ------------------------------------------------------------------------------ plan


def _leaf_teams(teams: int | None) -> list[Team]:
    """The narrative teams first, then plain teams in extra regions of five."""
    count = len(TEAMS) if teams is None else int(teams)
    if count < 8:
        raise ValueError(f"teams must be at least 8, got {count}")
    leaves = TEAMS[:count]
    levels = [  # sat, fcr, frt, enps, mix
        (0.25, 0.4, 0.8, 0.3, (0.3, 0.4, 0.25, 0.05)),
        (-0.1, 0.0, 1.6, -0.1, (0.5, 0.2, 0.25, 0.05)),
        (0.05, 0.2, 1.0, 0.1, (0.2, 0.5, 0.3, 0.0)),
        (-0.3, -0.2, 2.2, -0.4, (0.4, 0.2, 0.1, 0.3)),
        (0.15, 0.3, 1.2, 0.2, (0.35, 0.35, 0.3, 0.0)),
    ]
    for i in range(count - len(TEAMS)):
        region, region_name = _extra_region(i // 5)
        sat, fcr, frt, enps, mix = levels[i % len(levels)]
        label = f"Équipe {i + 1:02d}"
        leaves.append(
            Team(
                f"{region}/{label}", f"{region_name} – {label}", region, 0.1, mix, sat=sat, fcr=fcr, frt=frt, enps=enps
            )
        )
    return leaves


def _extra_region(i: int) -> tuple[str, str]:
    if i < len(EXTRA_REGIONS):
        return EXTRA_REGIONS[i]
    return f"Région {i + 4:02d}", f"Région {i + 4:02d} / Region {i + 4}"


def _regions(leaves: list[Team]) -> list[tuple[str, str]]:
    """(unit_id, name) of the regions that hold the leaves, in order of appearance."""
    names = dict(REGIONS + [_extra_region(i) for i in range(len(leaves) // 5 + 1)])
    order = list(dict.fromkeys(t.region for t in leaves))
    return [(r, names[r]) for r in order]


def _month_starts(end_month: str, months: int) -> list[tuple[int, int]]:
    """(year, month) of the reporting months plus the partial month after end_month."""
    year, month = (int(x) for x in end_month.split("-"))
    first = year * 12 + month - 1 - (months - 1)
    return [divmod(first + i, 12) for i in range(months + 1)]


def _behaviour(team: Team, m: int, months: int, rng: random.Random) -> dict:
    """The team's parameters in month index m (0-based; m == months is the partial month)."""
    sat, fcr, frt, enps, reopen, mix = team.sat, team.fcr, team.frt, team.enps, 0.07, team.mix
    surge = 1.0
    if team.role == "improves" and m >= months // 2:
        ramp = min(1.0, (m - months // 2 + 1) / 2)
        sat += 0.6 * ramp
        fcr += 0.8 * ramp
        frt *= 1 - 0.65 * ramp
        enps += 0.5 * ramp
    if team.role == "slides" and m > months - 9:
        d = min(1.0, (m - (months - 9)) / 8) ** 0.5  # fast at first, then still worse
        sat -= 0.85 * d
        fcr -= 0.9 * d
        frt *= 1 + 1.5 * d
        enps -= 1.0 * d
        reopen += 0.06 * d
    if team.role == "mix_shift" and m >= months - 1:
        mix = (0.8, 0.2, 0.0, 0.0)
        fcr += 0.6
        reopen = 0.02
        surge = 1.3
    sat += rng.gauss(0, 0.04)
    enps += rng.gauss(0, 0.08)
    return {
        "sat": sat,
        "fcr_shift": fcr,
        "fcr_email": team.email_fcr,
        "frt_mult": frt,
        "enps": enps,
        "reopen_p": reopen,
        "c_email": mix[0],
        "c_chat": mix[0] + mix[1],
        "c_phone": mix[0] + mix[1] + mix[2],
        "surge": surge,
    }


def _allocate(expected: list[float], total: int) -> list[int]:
    """Integer counts summing to total, by largest remainder."""
    floors = [int(e) for e in expected]
    order = sorted(range(len(expected)), key=lambda i: (floors[i] - expected[i], i))
    for i in order[: max(0, total - sum(floors))]:
        floors[i] += 1
    return floors


def _plan(leaves: list[Team], n: int, seed: int, end_month: str, months: int) -> tuple[list[dict], list[dict], int]:
    """Per-team rows and per-(team, month) rows that drive the SQL."""
    starts = _month_starts(end_month, months)
    rng = random.Random(seed * 1_000_003 + 17)
    cells = []
    for t, team in enumerate(leaves):
        for m, (year, month) in enumerate(starts):
            days = calendar.monthrange(year, month + 1)[1]
            span = EXPORT_DAYS if m == months else days
            b = _behaviour(team, m, months, rng)
            b.update(
                t=t,
                m=m,
                period=f"{year}-{month + 1:02d}",
                span_days=span,
                start_ms=calendar.timegm((year, month + 1, 1, 0, 0, 0)) * 1000,
                season=SEASON[month + 1] * 1.07 ** (m / 12) * span / days,
            )
            cells.append(b)
    # expected volume: weight x season x trend; the low-n team capped, the rest rescaled
    raw = [leaves[c["t"]].weight * c["season"] * c.pop("surge") for c in cells]
    scale = n / sum(raw)
    capped = [leaves[c["t"]].role == "low_n" for c in cells]
    expected = [
        min(r * scale, SMALL_TEAM_CAP * c["season"]) if cap else r * scale for r, c, cap in zip(raw, cells, capped)
    ]
    small = sum(e for e, cap in zip(expected, capped) if cap)
    rest = sum(e for e, cap in zip(expected, capped) if not cap)
    expected = [e if cap else e * (n - small) / rest for e, cap in zip(expected, capped)]
    counts = _allocate(expected, n)

    n_cust = max(200, n // 6)
    weights = [t.weight for t in leaves]
    cust_n = [max(20, round(n_cust * w / sum(weights))) for w in weights]
    team_rows = []
    for t, team in enumerate(leaves):
        team_rows.append(
            {
                "t": t,
                "unit_id": team.unit_id,
                "agents": team.agents,
                "enterprise": team.enterprise,
                "smb": team.smb,
                "churn": team.churn,
                "cpc": team.cpc,
                "region_no": [r for r, _ in _regions(leaves)].index(team.region) + 1,
                "cust_lo": sum(cust_n[:t]),
                "cust_n": cust_n[t],
            }
        )
    # month-major keys: interactions of month m, team t get [lo, lo + n)
    cells.sort(key=lambda c: (c["m"], c["t"]))
    lo = web_lo = pulse_lo = 0
    for c in cells:
        team = team_rows[c["t"]]
        c["n"] = counts[c["m"] + c["t"] * (months + 1)]
        c.update(
            lo=lo,
            web_lo=web_lo,
            pulse_lo=pulse_lo,
            agents=team["agents"],
            cust_lo=team["cust_lo"],
            cust_n=team["cust_n"],
            web_n=round(0.012 * c["n"]),
            pulse_n=0 if c["m"] == months else round(team["agents"] * (0.72 + 0.25 * rng.random())),
        )
        lo, web_lo, pulse_lo = lo + c["n"], web_lo + c["web_n"], pulse_lo + c["pulse_n"]
    return team_rows, cells, sum(cust_n)


# -------------------------------------------------------------------------- generate


def generate(
    out_dir: str | Path,
    interactions: int = 60_000,
    seed: int = 7,
    end_month: str = "2026-10",
    months: int = 25,
    progress: ProgressCallback | None = None,
    teams: int | None = None,
    review: bool = False,
) -> dict[str, int]:
    """Write the demo input tables as CSV files into out_dir; return rows written per table.

    interactions: valid interactions to generate (a handful of invalid rows come on top);
    seed: the same seed and sizes give byte-identical files; end_month: the last complete
    month (YYYY-MM), the export reaching a few days into the next one; months: complete
    months of history; progress: called with one short message per table written;
    teams: leaf teams (default 10, at least 8); review: also write the owners' commentary and
    the initiatives (``generate_review``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = int(interactions)
    if n < 1000:
        raise ValueError(f"interactions must be at least 1000, got {n}")
    if months < 2:
        raise ValueError(f"months must be at least 2, got {months}")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", end_month):
        raise ValueError(f"end_month must be YYYY-MM, got {end_month!r}")
    leaves = _leaf_teams(teams)
    team_rows, cells, n_cust = _plan(leaves, n, int(seed), end_month, months)
    partial = cells[-1]
    export_ms = partial["start_ms"] + EXPORT_DAYS * 86_400_000
    first_rows = sum(c["n"] for c in cells if c["m"] < min(3, months))
    params = {
        "n": n,
        "seed": int(seed),
        "months": months,
        "export_ms": export_ms,
        "donor_seq": first_rows,
        "n_cust": n_cust,
        "first_day": cells[0]["period"] + "-01",
        "history_days": (export_ms - cells[0]["start_ms"]) // 86_400_000 - 1,
        "export_day": _day(export_ms),
        "pulse_broken_lo": sum(c["pulse_n"] for c in cells),
        "next_period": partial["period"],
        "pool_sizes": [len(COMMENTS[pool]) for pool in sorted(COMMENTS)],
        "channels": CHANNELS,
        "priorities": PRIORITIES,
        "priority_frt": PRIORITY_FRT,
        "resp_broken_lo": 3 * n + sum(c["web_n"] for c in cells),
    }

    tmp = tempfile.mkdtemp(prefix="scorecard-demo-")
    # the 10M-row sorts spill to tmp rather than hold more than about 2.5 GB
    con = duckdb.connect(config={"temp_directory": tmp, "memory_limit": "2500MB"})
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(_MACROS.format(seed=params["seed"]))
        _load_tables(con, leaves, team_rows, cells)
        con.execute(_CORE.format(**params))
        con.execute(_RESPONSES.format(**params))
        jobs = {
            "org_units": "SELECT * FROM org",
            "interactions": _INTERACTIONS_CSV.format(**params),
            "survey_responses": _RESPONSES_CSV.format(**params, broken_lo=params["resp_broken_lo"]),
            "employee_pulse": _PULSE_CSV.format(**params, broken_lo=params["pulse_broken_lo"]),
            "qa_reviews": _QA_CSV.format(**params),
            "costs": _COSTS_CSV.format(**params),
            "customers": _CUSTOMERS_CSV.format(**params),
            "sla_policies": "SELECT * FROM sla",
        }
        written = {}
        for name, query in jobs.items():
            written[name] = _copy(con, query, out / f"{name}.csv")
            if progress is not None:
                progress(f"{name}: {written[name]:,} rows")
        write_config(out / "scorecard.yml", {u for (u,) in con.execute("SELECT unit_id FROM org").fetchall()})
        if review:
            for name, rows in generate_review(out, end_month, months, teams).items():
                written[name] = rows
                if progress is not None:
                    progress(f"{name}: {rows:,} rows")
        return written
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


_RULE_UNIT = re.compile(r"^\s*- \{.*\bunit: (?P<unit>[^,}]+)[,}]")


def write_config(path: Path, units: set[str]) -> Path:
    """The demo's configuration, without the target rules of units this demo does not have
    (fewer teams): a rule naming an unknown unit is a configuration error."""
    lines = [
        line
        for line in CONFIG_TEMPLATE.read_text(encoding="utf-8").splitlines(keepends=True)
        if not (m := _RULE_UNIT.match(line)) or m["unit"].strip() in units
    ]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _day(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ms // 1000))


def _load_tables(con: duckdb.DuckDBPyConnection, leaves: list[Team], team_rows: list[dict], cells: list[dict]) -> None:
    """The small tables the SQL joins: teams, plan, channels, comments, org, sla, kinds."""

    def table(name: str, rows: list[dict]) -> None:
        con.execute(f"CREATE TABLE {name} AS SELECT unnest($rows, recursive := true)", {"rows": rows})

    table("teams", team_rows)
    table("plan", cells)
    table(
        "channels",
        [
            dict(
                zip(
                    (
                        "ch",
                        "frt_med",
                        "frt_sigma",
                        "unanswered",
                        "fcr_logit",
                        "res_med",
                        "res_sigma",
                        "aht_med",
                        "aht_sigma",
                    ),
                    (i, *p),
                )
            )
            for i, p in enumerate(CHANNEL_PARAMS)
        ],
    )
    table(
        "comments",
        [{"pool": pool, "i": i, "text": text} for pool, texts in COMMENTS.items() for i, text in enumerate(texts)],
    )
    org = [(ROOT[0], ROOT[1], None)] + [(r, name, ROOT[0]) for r, name in _regions(leaves)]
    org += [(t.unit_id, t.name, t.region) for t in leaves]
    table("org", [{"key": k, "unit_id": u, "unit_name": name, "parent_id": p} for k, (u, name, p) in enumerate(org)])
    table(
        "sla",
        [
            {"key": k, "channel": c, "priority": p or None, "first_response_minutes": mins}
            for k, (c, p, mins) in enumerate(SLA_POLICIES)
        ],
    )
    table(
        "invalid_kinds",
        [{"tbl": tbl, "j": j + 1, "kind": kind} for tbl, kinds in INVALID.items() for j, kind in enumerate(kinds)],
    )


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> int:
    """Write the query's rows ordered by its unique `key` column (not written) as CSV."""
    target = str(path).replace("'", "''")
    sql = f"COPY (SELECT * EXCLUDE (key) FROM ({query}) ORDER BY key) TO '{target}' (HEADER, DELIMITER ',')"
    return int(scalar(con, sql))


# ------------------------------------------------------------------------- the review


def _period(end_month: str, months: int, m: int) -> str:
    """The period of month index m (0 = the first of `months` months ending with end_month)."""
    year, month0 = _month_starts(end_month, months)[0]
    year, month0 = divmod(year * 12 + month0 + m, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def _last_day(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{period}-{calendar.monthrange(year, month)[1]:02d}"


def review_rows(end_month: str = "2026-10", months: int = 25, teams: int | None = None) -> dict[str, list[dict]]:
    """The owners' commentary and the initiatives of the demo story, as rows of the contract."""
    leaves = [t.unit_id for t in _leaf_teams(teams)]
    austin, madrid, berlin = ROLES["improves"], ROLES["slides"], ROLES["mix_shift"]
    access = ROLES["low_n"]
    paulo, toronto = "Americas/São Paulo Social", "Americas/Toronto Tier 1"
    dublin, paris = "EMEA/Dublin Key Accounts", "EMEA/Paris Équipe"
    end, half = months - 1, months // 2

    def p(m: int) -> str:
        return _period(end_month, months, m)

    def note(m, unit, kpi, author, analysis, action="", due="", status=""):
        return {
            "period": p(m),
            "unit_id": unit,
            "kpi_id": kpi,
            "author": author,
            "analysis": analysis,
            "action": action,
            "due": due,
            "action_status": status,
            "_m": m,
        }

    commentary = [
        note(
            half,
            austin,
            "fcr",
            "Austin team lead",
            "The new knowledge base went live on the 1st; two more agents start mid-month.",
            "Roll out the knowledge base to every agent",
            f"{p(half + 2)}-15",
            "in progress",
        ),
        note(
            half + 2,
            austin,
            "fcr",
            "Austin team lead",
            "FCR is back above target.",
            "Roll out the knowledge base to every agent",
            f"{p(half + 2)}-15",
            "done",
        ),
        note(
            end - 6,
            madrid,
            "csat",
            "María López (team lead)",
            "CSAT fell below 80 % for the first time: a backlog of *cancellations* after three senior agents left.",
            "Clear the cancellations backlog",
            _last_day(p(end - 5)),
            "planned",
        ),
        note(
            end - 4,
            madrid,
            "fcr",
            "María López (team lead)",
            "# FCR keeps falling: new agents transfer retention calls they could close.",
            "Retention playbook training",
            _last_day(p(end - 3)),
            "in progress",
        ),
        note(
            end - 2,
            madrid,
            "fcr",
            "María López (team lead)",
            "Training finished; FCR has not recovered yet.",
            "Retention playbook training",
            _last_day(p(end - 3)),
            "done",
        ),
        note(
            end,
            madrid,
            "",
            "María López (team lead)",
            "Hiring is the fix: <b>four</b> offers out. Questions to maria.lopez@example.com or +34 612 345 678.",
            "Hire and onboard four agents",
            f"{p(end + 2)}-15",
            "in progress",
        ),
        note(
            end,
            berlin,
            "fcr",
            "Berlin team lead",
            "A chat outage moved most contacts to e-mail, where FCR is lower; within each channel FCR rose.",
            "Restore chat and hold a post-mortem with the vendor",
            f"{p(end + 1)}-15",
            "planned",
        ),
        note(
            end - 1,
            paulo,
            "csat",
            "São Paulo team lead",
            "Weekend social queue piles up: <script>alert(1)</script> was one reply's text (now removed).",
            "Weekend social shift",
            f"{p(end)}-15",
            "planned",
        ),
        note(
            end,
            ROOT[0],
            "",
            "COO",
            "Madrid is our priority this quarter; the knowledge base proved itself in Austin (see the initiatives).",
            "Decide on the knowledge base for every team",
            f"{p(end + 1)}-30",
            "planned",
        ),
    ]
    initiatives = [
        {
            "initiative_id": "kb-austin",
            "name": "New knowledge base and staffing",
            "kpi_id": "fcr",
            "unit_id": austin,
            "start": p(half),
            "owner": "Austin team lead",
            "control_units": "",
            "window_months": 3,
            "_m": half,
        },
        {
            "initiative_id": "macros-toronto",
            "name": "Chat macros refresh",
            "kpi_id": "fcr",
            "unit_id": toronto,
            "start": p(end - 5),
            "owner": "Toronto team lead",
            "control_units": f"{dublin};{paris}",
            "window_months": 3,
            "_m": end - 5,
        },
        {
            "initiative_id": "captions-access",
            "name": "Live captions on calls",
            "kpi_id": "csat",
            "unit_id": access,
            "start": p(end - 2),
            "owner": "Accessibility Desk lead",
            "control_units": "",
            "window_months": 1,
            "_m": end - 2,
        },
    ]
    known = set(leaves) | {ROOT[0]}

    def keep(r: dict) -> bool:
        return 0 <= r.pop("_m") <= end and r["unit_id"] in known

    return {"commentary": [r for r in commentary if keep(r)], "initiatives": [r for r in initiatives if keep(r)]}


def generate_review(
    out_dir: str | Path, end_month: str = "2026-10", months: int = 25, teams: int | None = None
) -> dict[str, int]:
    """Write commentary.csv and initiatives.csv of the demo story; return rows written per table."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, rows in review_rows(end_month, months, teams).items():
        columns = {
            "commentary": ["period", "unit_id", "kpi_id", "author", "analysis", "action", "due", "action_status"],
            "initiatives": [
                "initiative_id",
                "name",
                "kpi_id",
                "unit_id",
                "start",
                "owner",
                "control_units",
                "window_months",
            ],
        }[name]
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        written[name] = len(rows)
    return written
