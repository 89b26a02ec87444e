"""Escaping for the three output languages: every string that comes from data goes through
``html.escape`` (HTML), :func:`typst_str` / :func:`typst_escape` (Typst: data can never become
Typst code) or :func:`md_escape` (Markdown). Shared by the notebooks' bundles and ``render/``."""

from __future__ import annotations

import re
from typing import Any

_TYPST_STR_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


_TYPST_STR_SPECIAL = re.compile('[\\\\"\x00-\x1f\x7f\ud800-\udfff]')


def _typst_str_escape(match: re.Match) -> str:
    ch = match.group(0)
    esc = _TYPST_STR_ESCAPES.get(ch)
    if esc is not None:
        return esc
    # control characters by code point; lone surrogates cannot be encoded: U+FFFD
    return "\\u{fffd}" if 0xD800 <= ord(ch) <= 0xDFFF else f"\\u{{{ord(ch):x}}}"


def typst_str(value: Any) -> str:
    """A Typst string literal (code mode) whose value is exactly ``str(value)``.

    Inside a string literal only ``\\`` and ``"`` are special, so escaping those two (and
    writing control characters as ``\\u{..}``) means no input can end the literal or be read
    as Typst code: ``#``, ``$``, ``[``, ``]``, ``//``, ``/*``, ``@``, ``<`` are all inert.
    """
    return '"' + _TYPST_STR_SPECIAL.sub(_typst_str_escape, str(value)) + '"'


def typst_escape(value: Any) -> str:
    """Markup-safe Typst for any text: ``#"...";`` (an embedded string expression).

    The string is displayed literally (no markup, no smart quotes, no math); the trailing
    ``;`` ends the embedded expression so following text such as ``.x`` or ``(1)`` cannot
    continue it.
    """
    return "#" + typst_str(value) + ";"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~^$@:;\"'&=%/])")


def md_escape(value: Any) -> str:
    """Pandoc-Markdown-safe inline text: every ASCII punctuation character backslash-escaped,
    line breaks turned into spaces (so it is safe inside a pipe-table cell too)."""
    text = re.sub(r"[\r\n]+", " ", str(value))
    return _MD_SPECIAL.sub(r"\\\1", text)
