"""Reading a PDF's structure without a PDF library: the alternative text of its figures, its
PDF/UA declaration and its bookmarks (through poppler's pdftohtml)."""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.DOTALL)
_PDF_ALT = re.compile(rb"/Alt\s*")


def _pdf_string(data: bytes, at: int) -> str | None:
    """The PDF string object starting at ``at``: a literal ``(...)`` (balanced parentheses,
    backslash escapes) or a hex ``<...>`` (UTF-16 with a byte order mark, else Latin-1)."""
    if data[at : at + 1] == b"<":
        end = data.index(b">", at)
        raw = bytes.fromhex(re.sub(rb"\s", b"", data[at + 1 : end]).decode())
    elif data[at : at + 1] == b"(":
        depth, i, out = 0, at, bytearray()
        while True:
            c = data[i : i + 1]
            if c == b"\\":
                out += data[i + 1 : i + 2]
                i += 2
                continue
            if c == b"(":
                depth += 1
                if depth == 1:
                    i += 1
                    continue
            elif c == b")":
                depth -= 1
                if depth == 0:
                    break
            out += c
            i += 1
        raw = bytes(out)
    else:
        return None
    return raw.decode("utf-16") if raw[:2] in (b"\xfe\xff", b"\xff\xfe") else raw.decode("latin-1")


def pdf_figures(path: Path) -> list[str | None]:
    """The alternative text of every Figure element of the PDF's structure tree (None where a
    figure has none), read from the file's objects (object streams decompressed)."""
    import zlib

    raw = path.read_bytes()
    text = raw
    for m in _PDF_STREAM.finditer(raw):
        try:
            text += b"\n" + zlib.decompress(m.group(1))
        except zlib.error:
            pass
    figures = []
    for m in re.finditer(rb"<</Type/StructElem/S/Figure", text):
        # this element's dictionary ends before the next object or structure element
        ends = [e for e in (text.find(b"endobj", m.end()), text.find(b"/Type/StructElem", m.end())) if e > 0]
        alt = _PDF_ALT.search(text, m.end(), min(ends, default=len(text)))
        figures.append(_pdf_string(text, alt.end()) if alt else None)
    return figures


def pdf_is_ua1(path: Path) -> bool:
    """The file declares PDF/UA-1 conformance in its XMP metadata."""
    return re.search(rb"pdfuaid:part(>|=\")1", path.read_bytes()) is not None


def pdf_bookmarks(path: Path) -> list[tuple[int, str]]:
    """(page, title) of the PDF's top-level bookmarks."""
    out = subprocess.run(
        ["pdftohtml", "-xml", "-i", "-stdout", "-q", str(path)], capture_output=True, text=True, check=True
    ).stdout
    outline = re.search(r"<outline>(.*?)</outline>", out, re.DOTALL)
    if not outline:
        return []
    top = re.sub(r"<outline>.*?</outline>", "", outline.group(1), flags=re.DOTALL)  # nested levels out
    return [(int(p), html.unescape(t)) for p, t in re.findall(r'<item page="(\d+)">(.*?)</item>', top, re.DOTALL)]
