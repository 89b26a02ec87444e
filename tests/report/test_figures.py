"""scorecard/report/figures.py and figures_review.py: the figures, built as dicts, are the ones
plotly's validated API builds (tests/report/plotly_reference.py), byte for byte in the chart
bundle and in the dict the SVG export draws; they still work as go.Figure objects."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots

from scorecard import svgexport
from scorecard.report import chart_bundle, figures, figures_review
from scorecard.report.figure_dicts import subplot_domains

from . import plotly_reference as reference

PERIODS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
KPIS = [
    dict(kpi_id="csat", name="Customer <satisfaction> & co", kpi_unit="%", direction="higher"),
    dict(kpi_id="aht", name="Handling time", kpi_unit="min", direction="lower"),
    dict(kpi_id="nps", name="NPS", kpi_unit="points", direction="higher"),
    dict(kpi_id="fcr", name="First contact resolution", kpi_unit="%", direction="higher"),
    dict(kpi_id="bare", name="No target, no interval", kpi_unit="", direction="lower"),
]


def _trends(rolling: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for k, kpi in enumerate(KPIS):
        for i, p in enumerate(PERIODS):
            value = 60 + 10 * rng.random() if not (kpi["kpi_id"] == "nps" and i == 2) else np.nan
            bare = kpi["kpi_id"] == "bare"
            rows.append(
                dict(
                    period=p,
                    kpi_id=kpi["kpi_id"],
                    value=value,
                    ci_low=np.nan if bare else value - 3,
                    ci_high=np.nan if bare else value + 3,
                    target=np.nan if bare else 65.0 + k,
                    amber=np.nan if bare else (60.0 if kpi["direction"] == "higher" else 70.0),
                    n=float(10 + 20 * i),
                    rolling3=np.nan if i < 2 else value - 1,
                )
            )
    df = pd.DataFrame(rows)
    return df if rolling else df.drop(columns="rolling3")


def _priority(n: int) -> pd.DataFrame:
    quadrants = ["fix now", "monitor", "fix now", "low priority", "maintain"][:n]
    return pd.DataFrame(
        dict(
            name=[f"KPI <{i}> & co" for i in range(n)],
            importance=[10.0, 25.0, 40.0, 5.0, 20.0][:n],
            gap=[30.0, 12.5, 30.0, 50.0, 2.0][:n],
            quadrant=quadrants,
        )
    )


def _months(with_gap: bool) -> pd.DataFrame:
    rows = [
        (p, arm, 60.0 + i + (5 if arm == "control" else 0), 10 + i)
        for i, p in enumerate(PERIODS)
        for arm in ("treated", "control")
    ]
    months = pd.DataFrame(rows, columns=["period", "arm", "value", "n"])
    return months[~((months["period"] == "2026-02") & (months["arm"] == "control"))] if with_gap else months


def _initiative(start: str) -> SimpleNamespace:
    return SimpleNamespace(
        name="<i>KB</i> & co", kpi_name="First contact resolution", kpi_unit="%", start=start, window_months=2
    )


CASES = {
    **{f"trends-{n}": ("trends_figure", (_trends(), KPIS[:n])) for n in range(len(KPIS) + 1)},
    "trends-no-rolling": ("trends_figure", (_trends(rolling=False), KPIS[:3], 40)),
    **{f"priority-{n}": ("priority_figure", (_priority(n), 20.0, 25.0)) for n in (0, 1, 5)},
    "priority-numpy": ("priority_figure", (_priority(3), np.float64(30.0), np.float64(25.0), "Priority <b>")),
    "composite": (
        "composite_bar_figure",
        (pd.DataFrame(dict(unit_name=["A & B", "C", "D", "A & B"], composite=[71.5, np.nan, 99.9, 12.0])),),
    ),
    "composite-empty": ("composite_bar_figure", (pd.DataFrame(dict(unit_name=[], composite=[])),)),
    "initiative": ("initiative_figure", (_months(True), _initiative("2026-03"))),
    "initiative-first-month": ("initiative_figure", (_months(False), _initiative("2026-01"))),
    "initiative-start-outside": ("initiative_figure", (_months(False), _initiative("2027-01"))),
}


def _build(module, case: str):
    name, args = CASES[case]
    source = figures_review if name == "initiative_figure" else figures
    return getattr(module if module is reference else source, name)(*args)


def _types(value):
    """The value's structure with every leaf's type (numpy dtypes included)."""
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, *(_types(v) for v in value)]
    if isinstance(value, np.ndarray):
        return f"ndarray:{value.dtype}:{value.shape}"
    return type(value).__name__


@pytest.fixture
def drawn(monkeypatch):
    """The figure dicts the SVG export is given (no browser)."""
    dicts = []

    def fake_svg(fig, width=None, height=None, *, validate=True):
        from plotly.io._utils import validate_coerce_fig_to_dict

        dicts.append(validate_coerce_fig_to_dict(fig, validate))
        return b'<svg><defs id="defs-abcdef"></defs></svg>'

    monkeypatch.setattr(svgexport, "svg", fake_svg)
    return dicts


@pytest.mark.parametrize("case", sorted(CASES))
def test_figure_is_the_validated_apis_byte_for_byte(case, drawn):
    new, ref = _build(None, case), _build(reference, case)
    assert pio.to_json(new, validate=False) == pio.to_json(ref)  # key order included
    assert json.dumps(_types(new.to_dict())) == json.dumps(_types(ref.to_dict()))
    new_bundle, ref_bundle = chart_bundle(new, case), chart_bundle(ref, case)
    assert new_bundle == ref_bundle
    assert '"uid":"' in new_bundle["text/html"] or not new.data
    new_drawn, ref_drawn = drawn
    assert pio.to_json(new_drawn, validate=False) == pio.to_json(ref_drawn, validate=False)
    assert json.dumps(_types(new_drawn)) == json.dumps(_types(ref_drawn))


def test_figures_still_work_as_plotly_figures():
    fig, ref = _build(None, "trends-5"), _build(reference, "trends-5")
    assert [t.name for t in fig.data] == [t.name for t in ref.data] and fig.data[-1].xaxis == "x5"
    assert fig.layout.xaxis2.domain == ref.layout.xaxis2.domain and fig.layout.shapes[0].type == "rect"
    assert fig.layout.annotations[0].text == "Customer &lt;satisfaction&gt; &amp; co (%)"
    for f in (fig, ref):  # edits by a caller land in the figure's JSON as in plotly's own
        f.update_layout(title="Edited", height=500)
        f.update_traces(marker_size=4, selector=dict(mode="lines+markers"))
        f.data[0].name = "renamed"
    assert pio.to_json(fig, validate=False) == pio.to_json(ref)


@pytest.mark.parametrize("rows", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("cols", [1, 2, 3])
def test_subplot_domains_are_make_subplots_floats(rows, cols):
    layout = make_subplots(rows=rows, cols=cols, vertical_spacing=0.42 / rows, horizontal_spacing=0.09).layout
    expected = [
        (list(layout[f"xaxis{i or ''}"].domain), list(layout[f"yaxis{i or ''}"].domain))
        for i in [0, *range(2, rows * cols + 1)]
    ]
    assert subplot_domains(rows, cols, 0.42 / rows, 0.09) == expected


def test_a_plotly_whose_internals_differ_gets_the_validated_figure(monkeypatch):
    from scorecard.report import figure_dicts

    trends = _trends()
    fast = figures.trends_figure(trends, KPIS, 3)

    def internals_moved(obj):
        raise AttributeError("_compound_props")

    monkeypatch.setattr(figure_dicts, "_validating", internals_moved)
    slow = figures.trends_figure(trends, KPIS, 3)
    assert json.loads(slow.to_json()) == json.loads(fast.to_json())  # the same figure, however built
