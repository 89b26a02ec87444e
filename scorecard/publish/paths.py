"""Where everything lives in the site: safe, stable, collision-free names for units and periods.

Unit ids can hold spaces, accents and `/`; a file name is derived from the id (readable part)
plus a short hash of the id (uniqueness), so it never changes while the id does not.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata


def unit_slug(unit_id: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", unit_id).encode("ascii", "ignore").decode()
    readable = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:40].strip("-") or "unit"
    return f"{readable}-{hashlib.sha256(unit_id.encode()).hexdigest()[:8]}"


def period_dir(period: str, revision: int) -> str:
    return f"periods/{period}/r{revision}"


def period_page(period: str, revision: int) -> str:
    return f"{period_dir(period, revision)}/index.html"


def unit_page(period: str, revision: int, unit_id: str, ext: str = "html") -> str:
    return f"{period_dir(period, revision)}/{unit_slug(unit_id)}.{ext}"


def scorecard_csv(period: str, revision: int) -> str:
    return f"{period_dir(period, revision)}/scorecard.csv"


def initiatives_csv(period: str, revision: int) -> str:
    return f"{period_dir(period, revision)}/initiatives.csv"


def initiatives_page(period: str, revision: int) -> str:
    return f"{period_dir(period, revision)}/initiatives.html"


def root_from(page: str) -> str:
    """Relative path from a page to the site root ('' at the root), for links that work from file://."""
    depth = page.count("/")
    return "../" * depth
