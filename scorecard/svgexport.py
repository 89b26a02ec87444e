"""Static SVG of plotly figures (the PDF's charts) through one kaleido (one Chromium) per process.

plotly's ``to_image`` without a running server starts a browser for every figure, and kaleido
itself reloads its page after every figure. Here one kaleido is opened per worker process and
its page is kept loaded from figure to figure:

- a reload costs more than drawing a figure (measured on the demo's charts: 0.50 s per figure
  with a reload, 0.16–0.20 s without); the page is reloaded only after a failure and every
  :data:`RELOAD_EVERY` figures, so that nothing a page accumulates can grow without bound;
- on a page that drew other figures before, plotly.js writes some attributes of an element in
  another order (the legend's background, first drawn or redrawn). The SVG's meaning is the same;
  :func:`scorecard.report.charts.deterministic_svg` puts every element's attributes in one order,
  so a figure's bytes do not depend on what was drawn before;
- the page loads plotly.js only: kaleido's default page also loads MathJax from a CDN (a network
  request that fails offline; our charts have no LaTeX);
- plotly.js comes from a local HTTP server (:class:`_PlotlyJs`), so Chromium keeps its compiled
  code across reloads.

The kaleido runs on a background event loop; `svg` blocks until its figure is drawn.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from typing import Any

TIMEOUT_S = 120
ATTEMPTS = 5  # draws of one figure when the page was not ready (NOT_READY)
NOT_READY = "kaleido_scopes is not defined"
RELOAD_EVERY = 100  # figures drawn on one page load

_lock = threading.Lock()
_server: _Server | None = None


class _Server:
    """One kaleido (one Chromium, one tab) on an event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="svg-export", daemon=True)
        self.thread.start()
        self.reloading: asyncio.Future | None = None  # a reload under way
        self.drawn = 0  # figures drawn since the page was loaded
        self.plotly_js: _PlotlyJs | None = None
        self.kaleido = self._call(self._open())

    async def _open(self):
        import kaleido as kaleido_module

        self.plotly_js = _serve_plotly_js()
        page = kaleido_module.PageGenerator(plotly=self.plotly_js.url if self.plotly_js else None, mathjax=False)
        kaleido = kaleido_module.Kaleido(page_generator=page)  # one tab, as kaleido.start_sync_server()

        async def return_tab(tab) -> None:
            """kaleido reloads a tab before it returns the figure drawn on it: hand it out again
            at once instead (every RELOAD_EVERY figures, once reloaded in the background)."""
            self.drawn += 1
            if self.drawn < RELOAD_EVERY:
                kaleido.tabs_ready.put_nowait(tab)
            else:
                self.drawn = 0
                self.reloading = asyncio.ensure_future(self._reload(tab))

        kaleido._return_kaleido_tab = return_tab  # kaleido 1.x; without it kaleido reloads itself
        await kaleido.open()
        return kaleido

    async def _reload(self, tab) -> None:
        try:
            await tab.reload()
        finally:  # a failed reload fails the next figure (_draw), never hangs it
            self.kaleido.tabs_ready.put_nowait(tab)

    def _call(self, coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT_S)

    async def _reloaded(self) -> None:
        reloading, self.reloading = self.reloading, None
        if reloading is not None:
            await reloading  # raises if the reload failed

    async def _draw(self, fig_dict: dict, opts: dict, topojson: Any) -> bytes:
        for attempt in range(1, ATTEMPTS + 1):
            await self._reloaded()
            try:
                return await self.kaleido.calc_fig(fig_dict, opts=opts, topojson=topojson)
            except Exception as exc:
                # Under load the page's scripts can be missing when the figure arrives (kaleido took
                # the JavaScript context of a load before its scripts ran): reload the page (its
                # only tab, handed back by kaleido) and draw again.
                if attempt == ATTEMPTS or NOT_READY not in str(exc):
                    raise
                self.drawn = 0
                self.reloading = asyncio.ensure_future(self._reload(await self.kaleido.tabs_ready.get()))
        raise AssertionError("unreachable")

    def svg(self, fig_dict: dict, width: int, height: int) -> bytes:
        import plotly.io as pio

        opts = dict(format="svg", width=width, height=height, scale=pio.defaults.default_scale or 1)
        return self._call(self._draw(fig_dict, opts, pio.defaults.topojson))

    def close(self) -> None:
        try:
            try:
                self._call(self._reloaded())
            finally:
                self._call(self.kaleido.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            if self.plotly_js is not None:
                self.plotly_js.close()


class _PlotlyJs:
    """plotly.min.js served on 127.0.0.1 (one file, from memory, cached for good by the browser).

    From a ``file://`` URL Chromium compiles the 4.6 MB script afresh at every reload; over
    HTTP it keeps the compiled code, which makes a reload about a third cheaper in CPU and
    about half as long."""

    def __init__(self, body: bytes) -> None:
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path != "/plotly.min.js":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/javascript; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "public, max-age=31536000, immutable")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/plotly.min.js"
        threading.Thread(target=self.server.serve_forever, name="svg-export-js", daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _serve_plotly_js() -> _PlotlyJs | None:
    """The local server of plotly.min.js; None (kaleido's file:// URL) where none can be opened."""
    from pathlib import Path

    import plotly

    try:
        body = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
        return _PlotlyJs(body)
    except OSError:
        return None


def _size(fig_dict: dict, key: str, given: int | None) -> int:
    """As plotly's to_image sizes an image: given, else the layout's, the template's, the default."""
    import plotly.io as pio

    layout = fig_dict.get("layout", {})
    return (
        given
        or layout.get(key)
        or layout.get("template", {}).get("layout", {}).get(key)
        or getattr(pio.defaults, f"default_{key}")
    )


def svg(fig: Any, width: int | None = None, height: int | None = None, *, validate: bool = True) -> bytes:
    """The figure as SVG bytes, as ``plotly.io.to_image(fig, format="svg", width, height, validate)``
    (``validate=False``: a figure dict is drawn as it is)."""
    from plotly.io._utils import validate_coerce_fig_to_dict

    global _server
    fig_dict = validate_coerce_fig_to_dict(fig, validate)
    with _lock:
        if _server is None:
            _server = _Server()
            atexit.register(close)
        return _server.svg(fig_dict, _size(fig_dict, "width", width), _size(fig_dict, "height", height))


def close() -> None:
    """Stop the browser (at exit, or to start afresh)."""
    global _server
    with _lock:
        if _server is not None:
            server, _server = _server, None
            server.close()
