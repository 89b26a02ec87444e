"""Static SVG of plotly figures (the PDF's charts) through one Chromium page kept loaded.

plotly's ``to_image`` goes through kaleido, whose browser tab reloads its page (plotly.js, a few
MB of JavaScript to parse) after every figure: that reload costs more than drawing a report's
chart, and a unit report draws two. Here one kaleido tab per process is reused as it is; each
render replaces the previous figure, so the SVG bytes are the same as with a reload (tested), and
the page is still reloaded every RELOAD_EVERY figures so nothing can build up over a long run.
The tab lives on a background event loop; `svg` blocks until its figure is drawn.

The reuse relies on one private method of kaleido 1.x (``Kaleido._return_kaleido_tab``): should
a kaleido release rename it, the override is simply never called and every figure reloads the
page as before (slower, same output).
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from typing import Any

RELOAD_EVERY = 200
TIMEOUT_S = 120

_lock = threading.Lock()
_server: "_Server | None" = None


def _kaleido_class():
    import kaleido

    class ReusingKaleido(kaleido.Kaleido):
        """kaleido.Kaleido whose tab is reloaded only every RELOAD_EVERY figures."""

        renders = 0

        async def _return_kaleido_tab(self, tab) -> None:  # kaleido 1.x: reloads the tab, then queues it
            self.renders += 1
            if self.renders % RELOAD_EVERY == 0:
                await super()._return_kaleido_tab(tab)
            else:
                await self.tabs_ready.put(tab)

    return ReusingKaleido


class _Server:
    """One kaleido (one Chromium, one tab) on an event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="svg-export", daemon=True)
        self.thread.start()
        self.kaleido = self._call(self._open())

    @staticmethod
    async def _open():
        kaleido = _kaleido_class()()  # as kaleido.start_sync_server() makes it: one tab
        await kaleido.open()
        return kaleido

    def _call(self, coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(TIMEOUT_S)

    def svg(self, fig_dict: dict, width: int, height: int) -> bytes:
        import plotly.io as pio

        opts = dict(format="svg", width=width, height=height, scale=pio.defaults.default_scale or 1)
        return self._call(self.kaleido.calc_fig(fig_dict, opts=opts, topojson=pio.defaults.topojson))

    def close(self) -> None:
        try:
            self._call(self.kaleido.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)


def _size(fig_dict: dict, key: str, given: int | None) -> int:
    """As plotly's to_image sizes an image: given, else the layout's, the template's, the default."""
    import plotly.io as pio

    layout = fig_dict.get("layout", {})
    return (given or layout.get(key) or layout.get("template", {}).get("layout", {}).get(key)
            or getattr(pio.defaults, f"default_{key}"))


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
