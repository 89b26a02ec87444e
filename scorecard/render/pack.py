"""The period pack: one A4 PDF with the period overview followed by every unit's scorecard,
a table of contents and one PDF bookmark per part (overview, then each unit in tree order).

Built with Typst from the same executed notebooks as the single PDFs (same template, same
tables and charts), so the pack shows exactly the numbers of the pages it gathers. Only the
level-1 heading of each part (its title) goes into the contents and the bookmarks; section
headings inside a part stay out, so an executive jumps from unit to unit. Exported as PDF/UA-1
like every other PDF, and deterministic (no timestamp): re-rendering gives identical bytes.
"""

from __future__ import annotations

from pathlib import Path

from . import RenderError
from .document import read_document
from .pdf import compile_pdf, page_body, template_args
from .project import read_site

PACK_PREAMBLE = """
// only the parts' titles (level 1) are in the contents and the bookmarks
#show heading.where(level: 2): set heading(outlined: false, bookmarked: false)
#show heading.where(level: 3): set heading(outlined: false, bookmarked: false)
#show heading.where(level: 4): set heading(outlined: false, bookmarked: false)
#outline(title: [Contents], depth: 1, indent: auto)
"""


def pack_typst(project_file: Path, sources: list[Path], title: str) -> tuple[str, dict[str, bytes]]:
    """The Typst source of the pack and the images it needs; ``sources`` are executed notebooks
    in the order of the pack (the overview first)."""
    site = read_site(Path(project_file))
    files: dict[str, bytes] = {}
    parts = []
    for k, notebook in enumerate(sources):
        doc = read_document(Path(notebook))
        body, images = page_body(doc, f"pack part {notebook.name}", prefix=f"part{k:03d}-")
        files.update(images)
        if doc.title and "\n= " not in "\n" + body:
            # a part without a level-1 heading of its own still gets its title (and bookmark)
            body = f"#heading(level: 1, {_string(doc.title)})\n\n{body}"
        parts.append(f"#pagebreak(weak: true)\n\n{body}")
    typst_source = (
        '#import "scorecard.typ": *\n'
        f"#show: scorecard.with({template_args(site, title, True)})\n"
        f"{PACK_PREAMBLE}\n" + "\n\n".join(parts)
    )
    return typst_source, files


def _string(text: str) -> str:
    from ..report.escape import typst_str

    return typst_str(text)


def write_pack(project_file: Path, sources: list[Path], title: str, out: Path) -> Path:
    """Render the pack to ``out`` (written atomically)."""
    if not sources:
        raise RenderError(f"{out}: a pack needs at least one page")
    source, files = pack_typst(project_file, sources, title)
    pdf = compile_pdf(source, files, str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(pdf)
    tmp.replace(out)
    return out
