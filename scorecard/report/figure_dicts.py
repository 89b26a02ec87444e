"""Report figures built as plain dicts, in exactly the form (values, types, key order) that
plotly's validated API (``make_subplots``, ``update_layout``, ...) gives them.

That API validates every property on every call and costs far more CPU than drawing the data:
a unit page's small multiples took ~0.3 s to build. The figures here are fixed in shape, so
their dicts are written out directly; a test compares them with the validated API's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from _plotly_utils.basevalidators import copy_to_readonly_numpy_array, is_homogeneous_array, to_scalar_or_list


def values(v: Any) -> Any:
    """A data array as plotly stores it: numpy arrays and Series as a read-only numpy array
    (base64 in the JSON), lists as lists of plain Python scalars."""
    if isinstance(v, pd.Series) and isinstance(v.dtype, np.dtype) and v.dtype.kind in "uif":
        # plotly's own conversion (through narwhals) costs ~0.3 ms a Series and gives this
        array = np.ascontiguousarray(v.to_numpy(copy=True))
        array.flags.writeable = False
        return array
    return copy_to_readonly_numpy_array(v) if is_homogeneous_array(v) else to_scalar_or_list(v)


def strings(v: Any) -> Any:
    """A string array (``text``) as plotly stores it."""
    return copy_to_readonly_numpy_array(v, kind="U") if is_homogeneous_array(v) else to_scalar_or_list(v)


def figure(data: list[dict], layout: dict) -> go.Figure:
    """A go.Figure holding ``data`` and ``layout`` as they are, after the default template (as
    a new figure has it).

    The figure is made from a skeleton (each trace's type; the layout's objects, empty) without
    validation, then given the dicts themselves: its trace and layout objects read their
    properties from them, and the key order (which the JSON keeps) is theirs, not the
    constructors'. Building it from the full dicts, even unvalidated, costs ~50 ms a figure."""
    try:
        skeleton: dict[str, Any] = {
            k: {} if isinstance(v, dict) else [{} for _ in v] for k, v in layout.items() if isinstance(v, (dict, list))
        }
        fig = go.Figure(data=[{"type": trace["type"]} for trace in data], layout=skeleton, _validate=False)
        template = fig._layout.get("template")
        fig._data = data
        fig._layout = layout if template is None else {"template": template, **layout}
        fig._validate = True  # a caller's edits are validated, as on any figure
        for obj in (fig._layout_obj, *fig._data_objs):
            _validating(obj)
        return fig
    except (AttributeError, KeyError, TypeError):  # a plotly whose internals differ: the validated way
        return go.Figure(data=data, layout=layout)


def _validating(obj: Any) -> None:
    obj._validate = True
    for child in obj._compound_props.values():
        _validating(child)
    for children in obj._compound_array_props.values():
        for child in children:
            _validating(child)


def subplot_domains(rows: int, cols: int, vertical_spacing: float, horizontal_spacing: float) -> list[tuple]:
    """(x domain, y domain) of each cell of a ``make_subplots`` grid (top-left first, row by
    row), computed as plotly computes them so that the floats are the same."""
    widths = [(1.0 - horizontal_spacing * (cols - 1)) / cols] * cols
    heights = [(1.0 - vertical_spacing * (rows - 1)) / rows] * rows
    domains = []
    for r in range(rows):
        for c in range(cols):
            x_s = sum(widths[:c]) + c * horizontal_spacing
            x_e = x_s + widths[c]
            up = rows - 1 - r  # rows are counted from the bottom
            y_s = sum(heights[:up]) + up * vertical_spacing
            y_e = y_s + heights[-1 - r]
            y_s, y_e = (_snap(y) for y in (y_s, y_e))
            domains.append(([max(0.0, x_s), min(1.0, x_e)], [max(0.0, y_s), min(1.0, y_e)]))
    return domains


def _snap(y: float) -> float:
    """plotly's rounding of a y domain end just outside [0, 1]."""
    if -0.01 < y < 0.0:
        return 0.0
    if 1.0 < y < 1.01:
        return 1.0
    return y
