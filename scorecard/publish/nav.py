"""Navigation that keeps working as periods are added, although published pages are frozen.

A frozen page cannot be edited to gain a "next period" link. So each page carries only its own
identity (period, revision, unit, relative root) and static links that never go stale (its
period, the history); `assets/nav.js`, rewritten at every publish, holds the list of published
periods and fills in previous / next period and newer-revision notes. It is loaded with a plain
<script src>, which (unlike fetch) works from file:// as well as from any static host.
"""

from __future__ import annotations

import html
import json

from .paths import period_page, unit_slug

NAV_SCRIPT = r"""
(function () {
  if (window.__scorecardNav) return;
  window.__scorecardNav = true;
  function ready(fn) {
    if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn);
  }
  ready(function () {
    var nav = window.SCORECARD_NAV, meta = document.getElementById("page-meta");
    if (!nav || !meta) return;
    var root = meta.getAttribute("data-root") || "", period = meta.getAttribute("data-period"),
        revision = parseInt(meta.getAttribute("data-revision") || "0", 10), unit = meta.getAttribute("data-unit"),
        kind = meta.getAttribute("data-page");
    var periods = nav.periods, i = -1;
    for (var k = 0; k < periods.length; k++) if (periods[k].period === period) i = k;
    function target(p) {
      if (!p) return null;
      if (unit) return p.units[unit] || null;
      if (kind) return p[kind] || null;
      return p.html;
    }
    function link(p, label, kind) {
      var href = target(p);
      if (!href) return null;
      var a = document.createElement("a");
      a.href = root + href; a.textContent = label; a.className = "nav-" + kind;
      if (kind === "prev" || kind === "next") a.rel = kind;
      return a;
    }
    var box = document.getElementById("period-links") || meta;
    var prev = i > 0 ? link(periods[i - 1], "← " + periods[i - 1].period, "prev") : null;
    var next = i >= 0 && i < periods.length - 1 ? link(periods[i + 1], periods[i + 1].period + " →", "next") : null;
    if (prev) { box.appendChild(document.createTextNode(" · ")); box.appendChild(prev); }
    if (next) { box.appendChild(document.createTextNode(" · ")); box.appendChild(next); }
    if (i >= 0 && periods[i].revision > revision) {
      var note = document.createElement("p");
      note.className = "newer-revision";
      note.appendChild(document.createTextNode("A newer revision of " + period + " exists: "));
      var a = link(periods[i], "revision " + periods[i].revision, "newer");
      if (a) note.appendChild(a);
      meta.appendChild(note);
    }
  });
})();
"""


def nav_js(manifest: dict) -> str:
    """The script written to assets/nav.js: the latest revision of every period, oldest first."""
    latest: dict[str, dict] = {}
    for entry in manifest["periods"]:
        if entry["period"] not in latest or entry["revision"] > latest[entry["period"]]["revision"]:
            latest[entry["period"]] = entry
    periods = [
        {
            "period": e["period"],
            "revision": e["revision"],
            "html": e["html"],
            "units": {unit_slug(u["unit_id"]): u["html"] for u in e["units"]},
            # other pages of a period, by their kind (a page's data-page)
            **({"initiatives": e["initiatives_html"]} if e.get("initiatives_html") else {}),
        }
        for _, e in sorted(latest.items())
    ]
    data = json.dumps({"periods": periods}, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return f"window.SCORECARD_NAV = {data};\n{NAV_SCRIPT.lstrip()}"


def page_meta_html(
    root: str,
    period: str | None = None,
    revision: int | None = None,
    unit_id: str | None = None,
    page: str | None = None,
) -> str:
    """The page's identity and its static links; nav.js adds the rest. Shown on the site only.
    `page` names a period page other than the overview (e.g. "initiatives"): nav.js then links
    the same page of the previous and next periods."""
    attrs = {
        "data-root": root,
        "data-period": period or "",
        "data-revision": str(revision or ""),
        "data-unit": unit_slug(unit_id) if unit_id else "",
    }
    if page:
        attrs["data-page"] = page
    attr_text = " ".join(f'{k}="{html.escape(v, quote=True)}"' for k, v in attrs.items())
    links = [f'<a href="{html.escape(root)}history.html">History</a>']
    if period and revision:
        links.insert(
            0, f'<a href="{html.escape(root + period_page(period, revision))}">Period {html.escape(period)}</a>'
        )
    # assets/nav.js itself is loaded by every page the renderers write (both back ends)
    return f'<nav id="page-meta" class="page-meta" {attr_text}><span id="period-links">{" · ".join(links)}</span></nav>'


def show_page_meta(
    root: str,
    period: str | None = None,
    revision: int | None = None,
    unit_id: str | None = None,
    page: str | None = None,
) -> None:
    """Notebook helper: emit the page identity (HTML only; nothing in the PDF)."""
    from IPython.display import display

    display({"text/html": page_meta_html(root, period, revision, unit_id, page), "text/plain": ""}, raw=True)
