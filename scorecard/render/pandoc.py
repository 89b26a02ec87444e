"""Markdown -> HTML / Typst with pandoc, through a few long-lived ``pandoc lua`` workers.

A page is converted as ONE Markdown document: Markdown cells as they are, every output that is
already in the target format as a raw block (```` ```{=html} ```` / ```` ```{=typst} ````,
with a fence longer than any backtick run inside, so no content can close it early).

Reader: pandoc Markdown without ``raw_html``/``raw_tex`` (HTML tags in Markdown text are shown
literally, never executed) and without YAML metadata blocks (front matter is read by us).
Quarto-style fenced divs (``::: {.callout-note}``) and pipe tables work.

Why workers: a pandoc start (20-60 ms) costs about as much as converting a page, and a page needs two
conversions. A worker is ``pandoc lua`` running a small read/write loop over its stdin/stdout
(length-prefixed messages), started on first use; a thread takes an idle one or starts another,
so there are at most as many as threads converting at once. The loop does what the command line
``pandoc --from READER --to FMT --wrap=none`` does around the reader and writer (\\r removed,
tabs expanded to 4 columns, the data file's abbreviations, a final newline), so the output is the
same bytes. ``pandoc server`` is not used: the pypandoc-binary build has GHC's non-threaded
runtime, where the server answers no request, and it would listen on every interface.

Workers belong to the process that started them (a forked child starts its own), are stopped by
:func:`stop_workers` (end of a publish, exit) and end by themselves when their stdin closes, so
none outlives its parent. If a worker cannot start, or dies mid-call, the call runs as one
``pandoc`` subprocess instead (and after a failed start every later call does).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import subprocess
import threading
from collections.abc import Iterator

from . import RenderError

READER = "markdown-raw_html-raw_tex-yaml_metadata_block"
TAB_STOP = 4  # pandoc's default --tab-stop

# Messages both ways: "<kind> <byte count>\n<bytes>". In: "abbreviations" once, then "<format>"
# with the Markdown; out: "ready" once, then "ok" with the result or "error" with pandoc's message.
_LOOP = r"""
local function receive()
  local header = io.read("l")
  if not header then return nil end
  local kind, n = header:match("^(%S+) (%d+)$")
  n = tonumber(n)
  return kind, n > 0 and io.read(n) or ""
end
local function send(kind, text)
  io.stdout:write(kind, " ", #text, "\n", text)
  io.stdout:flush()
end
local _, abbreviations = receive()
local dir = PANDOC_STATE.user_data_dir
local own = dir and io.open(dir .. "/abbreviations", "rb")
if own then abbreviations = own:read("a"); own:close() end
local set = {}
for line in abbreviations:gmatch("[^\n]+") do set[line] = true end
local options = {abbreviations = set}
send("ready", "")
while true do
  local to, text = receive()
  if not to then break end
  local ok, out = pcall(function()
    return pandoc.write(pandoc.read(text, READER, options), to, {wrap_text = "none"})
  end)
  if ok then send("ok", out) else send("error", tostring(out)) end
end
""".replace("READER", f'"{READER}"')


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
    worker = _pool.take()
    if worker is not None:
        try:
            ok, out = worker.convert(markdown, to)
        except (OSError, ValueError):  # the worker died: this call goes the slow way
            _pool.discard(worker)
        else:
            _pool.give_back(worker)
            if not ok:
                raise RenderError(f"{where}: pandoc failed ({to}): {out.strip()}")
            return out
    return convert_subprocess(markdown, to, where)


def convert_subprocess(markdown: str, to: str, where: str = "") -> str:
    """:func:`convert` with one ``pandoc`` process of its own."""
    proc = subprocess.run(
        [pandoc_path(), "--from", READER, "--to", to, "--wrap=none"],
        input=markdown.encode("utf-8"),
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RenderError(f"{where}: pandoc failed ({to}): {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout.decode("utf-8")


def command_line_input(markdown: str) -> str:
    """The text pandoc's command line hands its reader: no BOM, no \\r, tabs expanded, final newline."""
    text = markdown.removeprefix("\ufeff").replace("\r", "").expandtabs(TAB_STOP)
    return text if not text or text.endswith("\n") else text + "\n"


@functools.cache
def default_abbreviations() -> bytes:
    return subprocess.run(
        [pandoc_path(), "--print-default-data-file", "abbreviations"], capture_output=True, check=True
    ).stdout


class Worker:
    """One ``pandoc lua`` process running the conversion loop; used by one thread at a time."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [pandoc_path(), "lua", "-e", _LOOP],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            self._send("abbreviations", default_abbreviations())
            kind, _ = self._receive()
            if kind != "ready":
                raise OSError(f"pandoc lua did not start: {kind!r}")
        except BaseException:
            self.stop()
            raise

    def _send(self, kind: str, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{kind} {len(data)}\n".encode("ascii") + data)
        self.proc.stdin.flush()

    def _receive(self) -> tuple[str, bytes]:
        assert self.proc.stdout is not None
        header = self.proc.stdout.readline()
        kind, _, size = header.decode("ascii").partition(" ")  # ValueError when it is not ASCII
        data = self.proc.stdout.read(int(size))  # ValueError on b"" (the worker ended)
        if len(data) != int(size):
            raise OSError("pandoc lua worker ended mid-answer")
        return kind, data

    def convert(self, markdown: str, to: str) -> tuple[bool, str]:
        self._send(to, command_line_input(markdown).encode("utf-8"))
        kind, data = self._receive()
        out = data.decode("utf-8")
        if kind == "ok":
            return True, out if out.endswith("\n") else out + "\n"
        if kind == "error":
            return False, out
        raise OSError(f"pandoc lua worker answered {kind!r}")

    def stop(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class _Pool:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[Worker] = []
        self.live: list[Worker] = []
        self.broken = False  # a worker could not start: use subprocesses from now on

    def take(self) -> Worker | None:
        with self.lock:
            if self.broken:
                return None
            if self.idle:
                return self.idle.pop()
        try:
            worker = Worker()
        except (OSError, ValueError, subprocess.SubprocessError, RenderError):
            self.broken = True
            return None
        with self.lock:
            self.live.append(worker)
        return worker

    def give_back(self, worker: Worker) -> None:
        with self.lock:
            if worker in self.live:
                self.idle.append(worker)
                return
        worker.stop()  # stop_workers() ran while it was converting

    def discard(self, worker: Worker) -> None:
        with self.lock:
            if worker in self.live:
                self.live.remove(worker)
        worker.stop()

    def stop(self) -> None:
        with self.lock:
            workers, self.live, self.idle = self.live, [], []
        for worker in workers:
            worker.stop()

    def after_fork(self) -> None:
        """In a forked child: the parent's workers are not ours; close our copies of their pipes."""
        for worker in self.live:
            for stream in (worker.proc.stdin, worker.proc.stdout):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
        self._reset()


_pool = _Pool()
atexit.register(lambda: _pool.stop())
os.register_at_fork(after_in_child=lambda: _pool.after_fork())


def stop_workers() -> None:
    """Stop every worker this process started (they start again on the next conversion)."""
    _pool.stop()


def worker_count() -> int:
    with _pool.lock:
        return len(_pool.live)


@contextlib.contextmanager
def workers_stopped() -> Iterator[None]:
    """Stop the workers when the block ends, however it ends."""
    try:
        yield
    finally:
        stop_workers()
