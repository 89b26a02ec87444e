"""Markdown -> HTML / Typst with pandoc (one short subprocess per page and format, ~30 ms).

A page is converted as ONE Markdown document: Markdown cells as they are, every output that is
already in the target format as a raw block (```` ```{=html} ```` / ```` ```{=typst} ````,
with a fence longer than any backtick run inside, so no content can close it early).

Reader: pandoc Markdown without ``raw_html``/``raw_tex`` (HTML tags in Markdown text are shown
literally, never executed) and without YAML metadata blocks (front matter is read by us).
Quarto-style fenced divs (``::: {.callout-note}``) and pipe tables work.
"""

from __future__ import annotations

import functools
import re
import subprocess

from . import RenderError

READER = "markdown-raw_html-raw_tex-yaml_metadata_block"


@functools.cache
def pandoc_path() -> str:
    try:
        import pypandoc

        return pypandoc.get_pandoc_path()
    except (ImportError, OSError) as exc:  # pragma: no cover - depends on the install
        import shutil

        path = shutil.which("pandoc")
        if path:
            return path
        raise RenderError(f"pandoc is not available (install pypandoc-binary): {exc}") from exc


def raw_block(content: str, fmt: str) -> str:
    """A fenced raw block for pandoc Markdown that passes ``content`` through verbatim."""
    longest = max((len(m) for m in re.findall(r"`+", content)), default=0)
    fence = "`" * max(3, longest + 1)
    if not content.endswith("\n"):
        content += "\n"
    return f"\n\n{fence}{{={fmt}}}\n{content}{fence}\n\n"


def convert(markdown: str, to: str, where: str = "") -> str:
    """Convert pandoc Markdown to ``to`` (``html5`` or ``typst``); a body fragment."""
    proc = subprocess.run(
        [pandoc_path(), "--from", READER, "--to", to, "--wrap=none"],
        input=markdown.encode("utf-8"),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RenderError(f"{where}: pandoc failed ({to}): {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout.decode("utf-8")
