"""Static SVG through one kaleido kept per process, its page kept loaded: the same bytes as
plotly's own export, which draws every figure on a fresh page (~10 s: two Chromium starts)."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from scorecard import svgexport
from scorecard.report.charts import deterministic_svg


def _figures() -> list[go.Figure]:
    bars = go.Figure(go.Bar(x=["a", "b"], y=[3, 1], uid="bars0"))
    bars.update_layout(width=400, height=300, title="Bars <b>bold</b>")
    lines = go.Figure(go.Scatter(x=[1, 2, 3], y=[2, 5, 4], mode="lines+markers", uid="line0"))
    lines.add_hrect(y0=2, y1=3, fillcolor="green", opacity=0.2, line_width=0)
    # a legend: on a page that drew a legend before, plotly.js writes its background's attributes
    # in another order (what deterministic_svg evens out)
    legend = go.Figure([go.Scatter(x=[1, 2], y=[1, 2], name="a", uid="leg0"), go.Bar(x=[1, 2], y=[2, 1], name="b")])
    legend.update_layout(showlegend=True, legend=dict(orientation="h"))
    return [bars, lines, go.Figure(), legend]


WIDTHS = (None, 500, None, 600)


@pytest.fixture(scope="module")
def reference() -> list[bytes]:
    """plotly's to_image, which reloads kaleido's page for every figure."""
    return [deterministic_svg(pio.to_image(f, format="svg", width=w), "x") for f, w in zip(_figures(), WIDTHS)]


def test_one_kept_kaleido_gives_the_bytes_plotly_gives(reference):
    svgexport.close()  # a page loaded for this test alone (other tests may have drawn on this process's)
    try:
        figures = _figures()
        # twice over, in turn, on one page load: a figure drawn after others comes out as if drawn alone
        got = [deterministic_svg(svgexport.svg(f, width=w), "x") for _ in range(2) for f, w in zip(figures, WIDTHS)]
        assert got == reference * 2
        assert svgexport._server is not None and svgexport._server.drawn == 2 * len(figures)  # no reload
    finally:
        svgexport.close()
    assert svgexport._server is None


def test_plotly_js_is_served_locally_and_nothing_else():
    import urllib.error
    import urllib.request
    from pathlib import Path

    import plotly

    served = svgexport._serve_plotly_js()
    assert served is not None and served.url.startswith("http://127.0.0.1:")
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
        with opener.open(served.url, timeout=10) as response:
            assert response.read() == (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
            assert "immutable" in response.headers["Cache-Control"]
        with pytest.raises(urllib.error.HTTPError, match="404"):
            opener.open(served.url.replace("plotly.min.js", "secret.txt"), timeout=10)
    finally:
        served.close()


def test_a_page_not_ready_for_a_figure_is_reloaded_and_the_figure_drawn_again(reference, monkeypatch):
    """Under load kaleido can reach a reloaded page before its scripts ran ("kaleido_scopes is
    not defined"): the figure is drawn again on the freshly reloaded page, with the same bytes."""
    svgexport.close()
    try:
        svgexport.svg(_figures()[0])  # the kaleido of this process
        server = svgexport._server
        assert server is not None
        real = server.kaleido.calc_fig
        calls = []

        async def flaky(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                await real(*args, **kwargs)  # the tab is used, then reloaded, as in a real failure
                raise RuntimeError("ReferenceError: kaleido_scopes is not defined")
            return await real(*args, **kwargs)

        monkeypatch.setattr(server.kaleido, "calc_fig", flaky)
        assert deterministic_svg(svgexport.svg(_figures()[1], width=500), "x") == reference[1]
        assert len(calls) == 2
        # any other failure is not retried
        monkeypatch.setattr(server.kaleido, "calc_fig", _fail)
        with pytest.raises(RuntimeError, match="something else"):
            svgexport.svg(_figures()[1], width=500)
    finally:
        svgexport.close()


async def _fail(*args, **kwargs):
    raise RuntimeError("something else")


def test_attributes_are_put_in_one_order_and_nothing_else_changes():
    a = b'<svg xmlns="http://www.w3.org/2000/svg" width="10"><defs id="defs-0a1b2c"/><rect style="fill: red;" x="0" width="2"/><text y="1" x="2">a &lt; "b"</text></svg>'
    b = b'<svg width="10" xmlns="http://www.w3.org/2000/svg"><defs id="defs-3d4e5f"/><rect width="2" x="0" style="fill: red;"/><text x="2" y="1">a &lt; "b"</text></svg>'
    assert deterministic_svg(a, "n") == deterministic_svg(b, "n")
    out = deterministic_svg(a, "n")
    assert out.startswith(b'<svg width="10" xmlns="http://www.w3.org/2000/svg"><defs id="defs-')
    assert b'<rect style="fill: red;" width="2" x="0"/><text x="2" y="1">a &lt; "b"</text></svg>' in out
    assert len(out) == len(a)
    assert deterministic_svg(a, "other") != out  # the uid follows the chart's name
