"""Independent reference implementations of the KPI definitions' arithmetic, in plain Python.

They are written from the spec's formulas, not from the engine's SQL, so a test comparing the
two catches a mistake in either.
"""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Z = 1.96


def local(ts: str, tz: str) -> datetime:
    """An ISO 8601 text as an aware datetime in the reporting zone (no offset = already in it)."""
    dt = datetime.fromisoformat(ts)
    zone = ZoneInfo(tz)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    return dt.astimezone(zone)


def period(ts: str, tz: str) -> str:
    return local(ts, tz).strftime("%Y-%m")


def elapsed_s(start: str, end: str, tz: str) -> float:
    """Real seconds between two timestamps (in UTC: same-tzinfo subtraction would be naive)."""
    return (local(end, tz).astimezone(UTC) - local(start, tz).astimezone(UTC)).total_seconds()


def wilson(k: int, n: int, z: float = Z) -> tuple[float, float]:
    """Wilson score interval in percent (Wilson 1927)."""
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    return 100 * (centre - half) / denom, 100 * (centre + half) / denom


def net_score(scores: list[int]) -> tuple[float, int, int, int]:
    """NPS: (value, promoters, detractors, n)."""
    pro = sum(1 for s in scores if s >= 9)
    det = sum(1 for s in scores if s <= 6)
    n = len(scores)
    return 100 * (pro - det) / n, pro, det, n


def adjusted_wald(pro: int, det: int, n: int, z: float = Z) -> tuple[float, float]:
    """Rocks (2016) adjusted-Wald interval for a net score, as the catalog defines it."""
    n_adj = n + 3
    p = (pro + 0.75) / n_adj
    d = (det + 0.75) / n_adj
    se = math.sqrt((p + d - (p - d) ** 2) / n_adj)
    low = 100 * ((p - d) - z * se)
    high = 100 * ((p - d) + z * se)
    return max(-100.0, low), min(100.0, high)


def mean_interval(values: list[float], z: float = Z) -> tuple[float, float | None, float | None]:
    """(mean, low, high): mean ± z·sd/√n with the sample sd; no interval below n = 2."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, None, None
    half = z * statistics.stdev(values) / math.sqrt(len(values))
    return mean, mean - half, mean + half


def attainment(direction: str, value: float, target: float, amber: float) -> float:
    """Score 0-100: 100 at/beyond target, 50 at amber, 0 one band width beyond amber."""
    band = abs(target - amber)
    # distance towards "better", in band widths, measured from amber
    better = (value - amber) if direction == "higher" else (amber - value)
    if (direction == "higher" and value >= target) or (direction == "lower" and value <= target):
        return 100.0
    return max(0.0, min(100.0, 50 + 50 * better / band))


# --- tests of a change between two periods (scorecard/analysis.py: changes) -------------------------

Z_CRITICAL = 1.959963984540054  # Φ⁻¹(0.975) to double precision (NormalDist gives it within 1e-15)


def two_proportion_z(k1: int, n1: int, k0: int, n0: int) -> float | None:
    """Pooled two-proportion z of p1 − p0; None when the pooled proportion is 0 or 1 (no spread)."""
    pooled = (k1 + k0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    return (k1 / n1 - k0 / n0) / se if se > 0 else None


def net_score_z(scores1: list[int], scores0: list[int]) -> float | None:
    """z of NPS1 − NPS0 with each period's variance p_pro + p_det − (p_pro − p_det)² over its n."""

    def parts(scores):
        n = len(scores)
        pro = sum(s >= 9 for s in scores) / n
        det = sum(s <= 6 for s in scores) / n
        return pro - det, (pro + det - (pro - det) ** 2) / n

    net1, v1 = parts(scores1)
    net0, v0 = parts(scores0)
    se = math.sqrt(v1 + v0)
    return (net1 - net0) / se if se > 0 else None


def welch_z(values1: list[float], values0: list[float]) -> float | None:
    """Welch z of mean1 − mean0 with sample variances (n − 1); None below n = 2 or without spread."""
    if len(values1) < 2 or len(values0) < 2:
        return None
    se = math.sqrt(statistics.variance(values1) / len(values1) + statistics.variance(values0) / len(values0))
    return (statistics.fmean(values1) - statistics.fmean(values0)) / se if se > 0 else None
