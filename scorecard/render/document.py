"""Reading a page source (an executed notebook or a Markdown page) into a flat list of blocks
the HTML and PDF writers share.

Follows Quarto's reading of notebooks where it matters to us:

- front matter: the first cell, if it is a raw cell holding YAML between ``---`` lines;
- title: ``title`` from the front matter, else the first level-1 ``# heading`` (in Markdown
  cells or Markdown outputs, in order);
- code is never shown; a code cell's outputs are hidden by the cell options ``#| include:
  false`` / ``#| output: false`` or the tags ``remove-cell``/``remove-output`` (also with
  ``_``); ``#| output: asis`` makes its stdout Markdown;
- stdout streams are shown as text, stderr is dropped, errors show ``name: value``;
- raw cells other than the front matter pass through to the matching format only
  (``raw_mimetype``/``format`` metadata ``text/html``, ``text/markdown``, ``typst``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import RenderError

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(---|\.\.\.)[ \t]*(\r?\n|\Z)", re.DOTALL)
_H1 = re.compile(r"^#[ \t]+(.+?)[ \t]*#*[ \t]*(\{[^}]*\})?[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
# Quarto's `date: today | now | last-modified` would put a timestamp in the output
_DYNAMIC_DATES = {"today", "now", "last-modified"}


@dataclass(frozen=True)
class Markdown:
    text: str


@dataclass(frozen=True)
class Output:
    data: dict[str, Any]  # mime type -> content (str; images base64 for binary types)
    kind: str = "display"  # display | stream | error | raw


@dataclass
class Document:
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    title_from_meta: bool = False
    blocks: list[Markdown | Output] = field(default_factory=list)

    @property
    def subtitle(self) -> str | None:
        return _text(self.meta.get("subtitle"))

    @property
    def date(self) -> str | None:
        date = _text(self.meta.get("date"))
        return None if date is None or date.strip().lower() in _DYNAMIC_DATES else date

    @property
    def description(self) -> str | None:
        return _text(self.meta.get("description"))


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _join(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else (source or "")


def _front_matter(text: str, where: Path) -> tuple[dict[str, Any], str] | None:
    m = _FRONT.match(text)
    if not m:
        return None
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError as exc:
        raise RenderError(f"{where}: invalid YAML front matter: {exc}") from exc
    if not isinstance(meta, dict):
        raise RenderError(f"{where}: front matter must be a YAML mapping")
    return meta, text[m.end() :]


def first_h1(markdown: str) -> str | None:
    """The first ATX level-1 heading outside code fences (attributes and closing #s removed)."""
    fence: str | None = None
    for line in markdown.splitlines():
        f = _FENCE.match(line)
        if f:
            mark = f.group(1)
            if fence is None:
                fence = mark
            elif mark[0] == fence[0] and len(mark) >= len(fence):
                fence = None
            continue
        if fence is None:
            m = _H1.match(line)
            if m:
                return m.group(1)
    return None


def _cell_options(source: str) -> dict[str, Any]:
    lines = []
    for line in source.splitlines():
        if not line.startswith("#|"):
            break
        lines.append(line[2:].removeprefix(" "))
    if not lines:
        return {}
    try:
        opts = yaml.safe_load("\n".join(lines))
    except yaml.YAMLError:
        return {}
    return opts if isinstance(opts, dict) else {}


_RAW_FORMATS = {
    "text/html": "text/html",
    "html": "text/html",
    "text/markdown": "text/markdown",
    "markdown": "text/markdown",
    "typst": "text/x-typst",
    "text/x-typst": "text/x-typst",
    "text/typst": "text/x-typst",
}


def _outputs(cell: dict[str, Any]) -> list[Output]:
    source = _join(cell.get("source"))
    opts = _cell_options(source)
    tags = {str(t).replace("_", "-") for t in (cell.get("metadata") or {}).get("tags", [])}
    if (
        opts.get("include") is False
        or opts.get("output") is False
        or tags & {"remove-cell", "remove-output", "hide-output"}
    ):
        return []
    asis = opts.get("output") == "asis"
    out: list[Output] = []
    for o in cell.get("outputs") or []:
        otype = o.get("output_type")
        if otype == "stream":
            if o.get("name") != "stdout":
                continue
            text = _join(o.get("text"))
            mime = "text/markdown" if asis else "text/plain"
            if out and out[-1].kind == "stream" and mime in out[-1].data:  # merge split streams
                out[-1] = Output({mime: out[-1].data[mime] + text}, "stream")
            else:
                out.append(Output({mime: text}, "stream"))
        elif otype in ("display_data", "execute_result"):
            data = {
                k: _join(v) if isinstance(v, list) and k.startswith(("text/", "image/")) else v
                for k, v in (o.get("data") or {}).items()
            }
            if data:
                out.append(Output(data, "display"))
        elif otype == "error":
            out.append(Output({"text/plain": f"{o.get('ename', 'Error')}: {o.get('evalue', '')}"}, "error"))
    return out


def read_notebook(path: Path) -> Document:
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RenderError(f"{path}: cannot read the notebook: {exc}") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise RenderError(f"{path}: not a Jupyter notebook (no cells)")
    doc = Document(Path(path))
    cells = nb["cells"]
    if cells and cells[0].get("cell_type") == "raw":
        fm = _front_matter(_join(cells[0].get("source")), path)
        if fm is not None:
            doc.meta = fm[0]
            cells = cells[1:]
    for cell in cells:
        ctype = cell.get("cell_type")
        if ctype == "markdown":
            text = _join(cell.get("source"))
            if text.strip():
                doc.blocks.append(Markdown(text))
        elif ctype == "code":
            doc.blocks.extend(_outputs(cell))
        elif ctype == "raw":
            md = cell.get("metadata") or {}
            fmt = _RAW_FORMATS.get(str(md.get("raw_mimetype") or md.get("format") or "").lower())
            if fmt:
                doc.blocks.append(Output({fmt: _join(cell.get("source"))}, "raw"))
    _set_title(doc)
    return doc


def read_markdown(path: Path) -> Document:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RenderError(f"{path}: cannot read the page: {exc}") from exc
    doc = Document(Path(path))
    fm = _front_matter(text, path)
    if fm is not None:
        doc.meta, text = fm
    if text.strip():
        doc.blocks.append(Markdown(text))
    _set_title(doc)
    return doc


def read_document(path: Path) -> Document:
    if Path(path).suffix.lower() == ".ipynb":
        return read_notebook(path)
    return read_markdown(path)


def _set_title(doc: Document) -> None:
    title = _text(doc.meta.get("title"))
    if title:
        doc.title, doc.title_from_meta = title, True
        return
    for block in doc.blocks:
        text = block.text if isinstance(block, Markdown) else block.data.get("text/markdown")
        if isinstance(text, str):
            h1 = first_h1(text)
            if h1:
                # the page title is plain text: undo Markdown's backslash escapes
                doc.title = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", h1)
                return
    doc.title = doc.path.stem
