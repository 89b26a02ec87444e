"""How a cell value becomes text: missing values, numbers, booleans, and trends in words."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any


def is_missing(value: Any) -> bool:
    """None, NaN, pd.NA or NaT: the values tables and charts show as a dash or a gap."""
    if value is None:
        return True
    try:
        import pandas as pd  # optional; only for pd.NA / NaT

        if value is pd.NA or value is pd.NaT:
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(value, float) and math.isnan(value)


def format_cell(value: Any, fmt: str | Callable[[Any], str] | None, na: str) -> str:
    if is_missing(value):
        return na
    if callable(fmt):
        return str(fmt(value))
    if fmt:
        return fmt.format(value)
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        return "yes" if value else "no"
    if isinstance(value, int) or type(value).__name__.startswith(("int", "uint")):
        return f"{int(value):,}"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return f"{float(value):,.1f}"
    return str(value)


def numbers(values: Sequence[Any]) -> list[float | None]:
    return [None if is_missing(v) else float(v) for v in values]


def spark_label(values: Sequence[Any], fmt: Callable[[Any], str] = lambda v: f"{v:,.1f}") -> str:
    """What a sparkline shows, in words (its accessible name)."""
    points = numbers(values)
    known = [v for v in points if v is not None]
    if len(known) < 2:
        return "no trend"
    return (
        f"trend over the last {len(points)} periods: from {fmt(known[0])} to {fmt(known[-1])}, "
        f"lowest {fmt(min(known))}, highest {fmt(max(known))}"
    )


_BLOCKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


def spark_text(values: Sequence[Any]) -> str:
    """The same trend as block characters, for text and Markdown outputs."""
    points = numbers(values)
    known = [v for v in points if v is not None]
    if len(known) < 2:
        return ""
    lo, span = min(known), (max(known) - min(known)) or 1.0
    return "".join(" " if v is None else _BLOCKS[round((v - lo) / span * 7)] for v in points)


def records(frame: Any) -> Iterable[Any]:
    """A DataFrame's rows as named tuples (``itertuples``), typed loosely: a field holds its
    column's values, which pandas' stubs can only type as the union of every value type."""
    return frame.itertuples()
