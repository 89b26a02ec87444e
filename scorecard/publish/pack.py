"""The period pack step of a publish: ``periods/YYYY-MM/rN/pack.pdf`` for each period published
in this run, from the run's executed notebooks (the overview, then every unit in tree order).
Written into the staging copy like every other file, so a published pack is frozen with its
period."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..progress import ProgressCallback
from .paths import period_dir, period_page, unit_page


def pack_path(period: str, revision: int) -> str:
    return f"{period_dir(period, revision)}/pack.pdf"


def write_packs(
    project_file: Path,
    reports: Path,
    stage: Path,
    chosen: Iterable,
    units: list[tuple[str, str]],
    progress: ProgressCallback = lambda _m: None,
) -> list[Path]:
    """One pack per (period, revision) in ``chosen``; ``units`` in tree order."""
    from ..render.pack import write_pack

    written = []
    for pub in chosen:
        sources = [reports / period_page(pub.period, pub.revision).replace(".html", ".ipynb")]
        sources += [reports / unit_page(pub.period, pub.revision, unit_id, "ipynb") for unit_id, _name in units]
        out = stage / pack_path(pub.period, pub.revision)
        written.append(write_pack(project_file, sources, f"Scorecard pack · {pub.period}", out))
        progress(f"wrote {pack_path(pub.period, pub.revision)} ({len(sources)} parts)")
    return written
