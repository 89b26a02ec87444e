"""Static SVG of plotly figures (the PDF's charts) through one kaleido (one Chromium) per process.

plotly's ``to_image`` without a running server starts a browser for every figure. Here one kaleido
is opened per worker process and kept for every figure. Every figure is drawn on a freshly
loaded page, as kaleido does: reusing a page without the reload was measured faster, but the
SVG's attribute order then depends on the figure drawn before, and under load a figure could
reach the page before its scripts were defined. Two things make the page cheaper than
kaleido's own, with the same SVG bytes:

- the page loads plotly.js only: kaleido's default page also loads MathJax from a CDN at every
  reload (a network request per figure that fails offline and about half of each figure's
  time; our charts have no LaTeX);
- plotly.js comes from a local HTTP server (:class:`_PlotlyJs`), so Chromium keeps its compiled
  code across reloads;
- the page is reloaded right after a figure is returned, while the notebook goes on, instead
  of before returning it; the next figure waits until the reload is over.

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

_lock = threading.Lock()
_server: _Server | None = None


class _Server:
    """One kaleido (one Chromium, one tab) on an event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="svg-export", daemon=True)
        self.thread.start()
        self.reloading: asyncio.Future | None = None  # the reload after the last figure
        self.plotly_js: _PlotlyJs | None = None
        self.kaleido = self._call(self._open())

    async def _open(self):
        import kaleido as kaleido_module

        self.plotly_js = _serve_plotly_js()
        page = kaleido_module.PageGenerator(plotly=self.plotly_js.url if self.plotly_js else None, mathjax=False)
        kaleido = kaleido_module.Kaleido(page_generator=page)  # one tab, as kaleido.start_sync_server()

        async def return_tab(tab) -> None:
            """kaleido reloads a tab before it returns the figure drawn on it: reload in the
            background instead; the tab is handed out again once reloaded."""

            async def reload_then_return() -> None:
                try:
                    await tab.reload()
                finally:  # a failed reload fails the next figure (_draw), never hangs it
                    kaleido.tabs_ready.put_nowait(tab)

            self.reloading = asyncio.ensure_future(reload_then_return())

        kaleido._return_kaleido_tab = return_tab  # kaleido 1.x; without it kaleido reloads itself
        await kaleido.open()
        return kaleido

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
                # the JavaScript context of the reload before its scripts ran). The failed tab is
                # reloaded when kaleido returns it: draw again on the fresh page.
                if attempt == ATTEMPTS or NOT_READY not in str(exc):
                    raise
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


def svg(fig: Any, width: int | None = None, height: int | None = None) -> bytes:
    """The figure as SVG bytes, as ``plotly.io.to_image(fig, format="svg", width, height)``."""
    from plotly.io._utils import validate_coerce_fig_to_dict

    global _server
    fig_dict = validate_coerce_fig_to_dict(fig, True)
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
