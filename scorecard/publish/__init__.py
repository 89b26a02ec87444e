"""Publishing: the warehouse's results → executed notebooks → the versioned site and its PDFs.

One publish, under the run lock (runlock.py) from start to end: finish what a killed run left
(site.prepare), (re)build the database when the inputs or settings changed, choose the periods
to publish (manifest.select), execute the notebooks for every new (period, unit) into
`reports/`, render them into a staging copy of the site, add scorecard.csv files, the manifest
and the navigation, then put the staging copy in place (site.commit). Any failure leaves the
published site as it was. Published periods are never re-executed nor re-rendered.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from .. import faults
from ..config import Config
from ..db import scalar
from ..errors import PublishError
from ..export import write_scorecard_csv
from ..initiatives import write_initiatives_csv
from ..loading import find_sources, inputs_sha256, table_files
from ..report.review import commentary_csv_beside, write_commentary_csv
from ..runlock import run_lock, state_dir_for
from ..warehouse import build, compute_code, connect, is_readable
from . import manifest as manifests
from .execute import Job, execute
from .fingerprint import configuration_fingerprint
from .nav import nav_js
from .overlap import Overlap
from .pack import pack_path, write_packs
from .paths import initiatives_csv, initiatives_page, period_dir, period_page, root_from, scorecard_csv, unit_page
from .site import check_site_path, commit, prepare, remember, staging, unfreeze

Progress = Callable[[str], None]

GLOBAL_PAGES = ("index", "initiatives", "history", "definitions", "data-quality")


@dataclass
class PublishSummary:
    site: Path
    published: list[manifests.Publication] = field(default_factory=list)
    notebooks: int = 0
    pages: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        if not self.published and not self.pages:
            return f"nothing to publish: {self.site} is up to date"
        items = [f"{p.period} r{p.revision}" + (" (provisional)" if p.provisional else "") for p in self.published]
        if len(items) > 4:  # a first publish: the span, not 25 months one by one
            items = [f"{len(items)} periods, {items[0]} … {items[-1]}"]
        what = ", ".join(items) or "site pages only"
        return f"published {what}: {self.notebooks} notebooks, {self.pages} pages → {self.site}"


def _database_is_current(config: Config, sources: dict, say: Progress) -> bool:
    """Built from these inputs and settings by this code (else the publish builds it)."""
    if not Path(config.database).exists():
        return False
    if not is_readable(config.database):
        say(f"{config.database} is damaged: rebuilding it from the inputs")
        return False
    with connect(config.database) as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        try:
            files = {t: (f, n) for t, f, n in con.execute("SELECT table_name, file, size FROM load_state").fetchall()}
        except duckdb.Error:  # built before the load record existed
            files = {}
    if any(files.get(t) != (s.path.name, s.path.stat().st_size) for t, s in sources.items()):
        return False  # an export of another name or size: the build reads it, no need to hash it first
    return (
        meta.get("config_sha256") == config.fingerprint()
        and meta.get("compute_sha256") == compute_code()
        and meta.get("inputs_sha256") == inputs_sha256(sources)
    )


def publish(
    config: Config,
    *,
    period: str | None = None,
    restate: str | None = None,
    reason: str | None = None,
    renderer: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> PublishSummary:
    """Publish what is due (see manifest.select) into config.site."""
    from ..render import Page, get_renderer
    from ..render.pandoc import workers_stopped

    say = progress or (lambda _msg: None)
    check_arguments(period=period, restate=restate, reason=reason)
    site = check_site_path(Path(config.site))
    project_file = Path(config.project)
    if not project_file.exists():
        raise PublishError(f"{project_file}: project file not found (the site's title and navbar live there)")
    summary = PublishSummary(site)
    state_dir = state_dir_for(config)
    with run_lock(state_dir, "publish"), workers_stopped():  # no pandoc worker outlives a publish
        prepare(site, state_dir, say)
        sources = find_sources(config.input_folder(), files=table_files(config))
        if _database_is_current(config, sources, say):
            say(f"database {config.database} is current")
        else:
            built = build(config, progress=say)
            for warning in built.warnings:
                say(f"warning: {warning}")
            say(built.line())

        manifest = manifests.load(site)
        with connect(config.database) as con:
            periods = dict(con.execute("SELECT period, complete FROM periods").fetchall())
            units = con.execute("SELECT unit_id, unit_name FROM org_units ORDER BY sort_path").fetchall()
            catalog_version = int(scalar(con, "SELECT value FROM meta WHERE key = 'catalog_version'"))
            inputs = scalar(con, "SELECT value FROM meta WHERE key = 'inputs_sha256'")  # as the build hashed them
            recorded = {
                "catalog_version": catalog_version,
                "config_fingerprint": configuration_fingerprint(config, con),
                "initiatives": scalar(con, "SELECT count(*) FROM initiatives") > 0,
            }
        _same_organisation(site, manifest, {u for u, _name in units}, config.input_folder())
        chosen, notes = manifests.select(manifest, periods, period=period, restate=restate, reason=reason)
        summary.notes += notes
        state = {"inputs_sha256": inputs, "config_sha256": config.fingerprint(), "catalog_version": catalog_version}
        if not chosen and manifest.get("state") == state:
            return summary
        if not chosen and manifest["periods"]:
            summary.notes += _restatement_candidates(config, site, manifest)

        reports = Path(config.reports)
        _clear(reports)
        with staging(site, state_dir) as stage, _naming(stage.path):
            for pub in chosen:
                unfreeze(stage, period_dir(pub.period, pub.revision))
            published_at = datetime.now(UTC).replace(microsecond=0).isoformat()
            for pub in chosen:
                manifest["periods"].append(_entry(pub, units, published_at, inputs, recorded))
            manifest["state"] = state
            if not manifest["periods"]:
                raise PublishError("no complete period in the data yet: publish one with PERIOD=YYYY-MM (provisional)")
            (stage / manifests.MANIFEST).write_text(manifests.dump(manifest), encoding="utf-8")

            jobs, pages, keys = _jobs(config, chosen, units, manifest, stage.path, site, reports, Page)
            backend = get_renderer(renderer)
            chosen_by_key = {(pub.period, pub.revision): pub for pub in chosen}

            def render(key) -> None:
                """One batch: a period's pages and its pack, or (key None) the site pages."""
                batch = [page for page, k in zip(pages, keys) if k == key]
                say(f"rendering {len(batch)} pages with the {backend.name} renderer")
                backend.render(project_file, reports, batch, stage.path, progress=say)
                if key is not None:
                    write_packs(project_file, reports, stage.path, [chosen_by_key[key]], units, progress=say)

            say(f"executing {len(jobs)} notebooks")
            if backend.name == "builtin":  # each period renders while the next ones execute (overlap.py)
                with Overlap(keys, render) as renders:
                    execute(jobs, workers=workers or config.workers, progress=say, on_done=renders.done)
                    faults.point("execute")
                    renders.finish()
            else:  # quarto: one project render of every page, after the execution
                execute(jobs, workers=workers or config.workers, progress=say)
                faults.point("execute")
                say(f"rendering {len(pages)} pages with the {backend.name} renderer")
                backend.render(project_file, reports, pages, stage.path, progress=say)
                write_packs(project_file, reports, stage.path, chosen, units, progress=say)
            summary.notebooks = len(jobs)
            summary.pages = len(pages)
            faults.point("render")

            with connect(config.database) as con:
                for pub in chosen:
                    write_scorecard_csv(con, stage / scorecard_csv(pub.period, pub.revision), period=pub.period)
                    # the comments this revision shows: a restatement lists what changed in them
                    write_commentary_csv(
                        con, commentary_csv_beside(stage / scorecard_csv(pub.period, pub.revision)), pub.period
                    )
                    if recorded["initiatives"]:
                        write_initiatives_csv(con, stage / initiatives_csv(pub.period, pub.revision), pub.period)
            (stage / "assets").mkdir(exist_ok=True)
            (stage / "assets" / "nav.js").write_text(nav_js(manifest), encoding="utf-8")
            how = commit(stage, site, state_dir)
            remember(site, state_dir, manifest)
            say(f"site {how} into place: {site}")
        summary.published = chosen
    return summary


def _same_organisation(site: Path, manifest: dict, units: set[str], data: Path) -> None:
    """A site is one organisation's history (see manifest.other_organisation)."""
    other = manifests.other_organisation(manifest, units)
    if other:
        shown = ", ".join(repr(u) for u in other[:3]) + (", ..." if len(other) > 3 else "")
        raise PublishError(
            f"{site} holds the scorecard of other units ({shown}), none of which is in "
            f"{data}: publish into another folder (SITE=... or --site) or remove {site} first"
        )


@contextmanager
def _naming(where: Path):
    """A failed write (disk full, ...) names no file: name the folder being written."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(where)) from None
        raise


def _entry(pub: manifests.Publication, units: list, published_at: str, inputs: str, recorded: dict) -> dict:
    """A revision's manifest entry: its files, and what its numbers were computed from (inputs,
    catalog version, configuration fingerprint: settings, target rules and catalog)."""
    entry = {
        "period": pub.period,
        "revision": pub.revision,
        "provisional": pub.provisional,
        "reason": pub.reason,
        "published_at": published_at,
        "inputs_sha256": inputs,
        "catalog_version": recorded["catalog_version"],
        "config_fingerprint": recorded["config_fingerprint"],
        "html": period_page(pub.period, pub.revision),
        "initiatives_html": initiatives_page(pub.period, pub.revision),
        "scorecard_csv": scorecard_csv(pub.period, pub.revision),
        "pack": pack_path(pub.period, pub.revision),
        "units": [
            {
                "unit_id": unit_id,
                "unit_name": name,
                "html": unit_page(pub.period, pub.revision, unit_id),
                "pdf": unit_page(pub.period, pub.revision, unit_id, "pdf"),
            }
            for unit_id, name in units
        ],
    }
    if recorded["initiatives"]:  # the file exists when the input has initiatives
        entry["initiatives_csv"] = initiatives_csv(pub.period, pub.revision)
    return entry


PERIOD_FORMAT = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def check_arguments(period: str | None = None, restate: str | None = None, reason: str | None = None) -> None:
    """Arguments are checked before the lock is taken and the database built."""
    for name, value in (("PERIOD", period), ("RESTATE", restate)):
        if value is not None and not PERIOD_FORMAT.fullmatch(value):
            raise PublishError(f"{name}={value}: expected a month as YYYY-MM (month 01 to 12)")
    if restate and not (reason or "").strip():
        raise PublishError(f'RESTATE={restate} needs REASON="...": the reason is shown on the new revision')


def _jobs(config: Config, chosen, units, manifest: dict, stage: Path, site: Path, reports: Path, Page):
    """Notebook jobs and the pages they become: every new (period, unit), then the site pages."""
    notebooks = Path(config.notebooks)
    database = str(Path(config.database).resolve())
    jobs: list[Job] = []
    pages = []
    keys: list[tuple[str, int] | None] = []  # the (period, revision) of a job's page; None: site pages

    def add(
        template: str, page: str, parameters: dict, label: str, pdf: bool = False, key: tuple[str, int] | None = None
    ) -> None:
        source = reports / (page.removesuffix(".html") + ".ipynb")
        jobs.append(
            Job(notebooks / template, source, {"database": database, "root": root_from(page), **parameters}, label)
        )
        pages.append(Page(source=source, html=True, pdf=pdf))
        keys.append(key)

    for pub in chosen:
        previous_csv = ""
        if pub.previous_revision:
            previous = scorecard_csv(pub.period, pub.previous_revision)
            # staging holds it unless published months were left out of it (site.Stage.whole)
            previous_csv = str(((stage / previous) if (stage / previous).exists() else (site / previous)).resolve())
        common = {
            "period": pub.period,
            "revision": pub.revision,
            "provisional": pub.provisional,
            "reason": pub.reason or "",
            "previous_csv": previous_csv,
        }
        add(
            "period.ipynb",
            period_page(pub.period, pub.revision),
            common,
            f"period {pub.period} overview",
            key=(pub.period, pub.revision),
        )
        add(
            "initiatives.ipynb",
            initiatives_page(pub.period, pub.revision),
            common,
            f"period {pub.period} initiatives",
            key=(pub.period, pub.revision),
        )
        for unit_id, _name in units:
            add(
                "unit.ipynb",
                unit_page(pub.period, pub.revision, unit_id),
                {**common, "unit_id": unit_id},
                f"unit {unit_id!r}, period {pub.period}",
                pdf=True,
                key=(pub.period, pub.revision),
            )

    latest = max(manifest["periods"], key=lambda e: (e["period"], e["revision"]))
    # The home page shows the latest period's published numbers: executed when that revision is
    # published, then frozen with it (data changed without a restatement must not reach it).
    latest_is_new = any((p.period, p.revision) == (latest["period"], latest["revision"]) for p in chosen)
    as_latest = {
        "period": latest["period"],
        "revision": latest["revision"],
        "provisional": latest["provisional"],
        "reason": latest.get("reason") or "",
        "previous_csv": "",
        "period_root": period_dir(latest["period"], latest["revision"]) + "/",
    }
    if latest_is_new or not (stage / "index.html").exists():
        add("period.ipynb", "index.html", as_latest, "home page")
    if latest_is_new or not (stage / "initiatives.html").exists():  # the latest period's, like the home page
        add("initiatives.ipynb", "initiatives.html", as_latest, "initiatives page")
    manifest_path = str((stage / manifests.MANIFEST).resolve())
    add("history.ipynb", "history.html", {"manifest": manifest_path}, "history page")
    add("definitions.ipynb", "definitions.html", {"manifest": manifest_path}, "definitions page")
    add("data_quality.ipynb", "data-quality.html", {}, "data-quality page")
    return jobs, pages, keys


def _restatement_candidates(config: Config, site: Path, manifest: dict) -> list[str]:
    """Published periods whose numbers the current data would change: frozen, but worth a word."""
    import tempfile

    changed = []
    with connect(config.database) as con, tempfile.TemporaryDirectory() as tmp:
        for entry in manifest["periods"]:
            latest = manifests.latest(manifest, entry["period"])
            if latest is None or latest is not entry:
                continue
            published = site / latest["scorecard_csv"]
            fresh = Path(tmp) / "fresh.csv"
            write_scorecard_csv(con, fresh, period=latest["period"])
            if published.exists() and published.read_bytes() != fresh.read_bytes():
                changed.append(latest["period"])
    if not changed:
        return []
    return [
        f"the data now gives different numbers for published period(s) {', '.join(sorted(changed))}; they "
        f'stay frozen. To publish corrected numbers: make publish RESTATE={sorted(changed)[-1]} REASON="..."'
    ]


def _clear(reports: Path) -> None:
    """reports/ holds this run's executed notebooks only (and the failed one, if a run fails)."""
    reports.mkdir(parents=True, exist_ok=True)
    for child in reports.iterdir():
        if child.name == ".gitkeep":
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
