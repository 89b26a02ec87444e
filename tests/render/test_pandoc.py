"""Markdown conversion through the long-lived pandoc workers: the same bytes as one pandoc command
line per call, errors naming the page, the fallback, and no worker left behind."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scorecard.render import RenderError, pandoc
from scorecard.render.pandoc import convert, convert_subprocess, raw_block

from .conftest import HOSTILE

TRICKY = {
    "raw blocks": "Text\n"
    + raw_block('<div class="kpi">\t<b>1\t2</b> ``` </div>', "html")
    + raw_block('#sc-image("output-0001.svg")\n\t#x', "typst"),
    "escaped html": "<script>alert(1)</script> &amp; \\<b\\> <!-- c --> a < b > c\n",
    "unicode": "# Überschrift ünïcödé\n\n漢字 😀 — “quotes” e\u0301 \u00a0nbsp\n",
    "tabs": "col\tumn\n\n\tindented code\n\n```python\nif x:\n\treturn 1\n```\n",
    "crlf and bom": "\ufeffline one\r\nline two\r\n\r\n- item\r\n",
    "abbreviations": "Mr. Smith, e.g. this, Dr. No. Fig. 3 and No. 5.\n",
    "no final newline": "para",
    "empty": "",
    "structure": "::: {.callout-note}\nnote[^1]\n:::\n\n[^1]: foot\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "![cap](x.png)\n\n$x^2$ -- --- ...\n\n- [ ] task\n\n```{=html}\n<i>raw</i>\n```\n",
    "hostile": "\n\n".join(HOSTILE),
}


@pytest.fixture
def fresh_pool(monkeypatch):
    """A pool of this test's own, stopped afterwards."""
    pool = pandoc._Pool()
    monkeypatch.setattr(pandoc, "_pool", pool)
    yield pool
    pool.stop()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_gone(pid: int) -> bool:
    for _ in range(100):
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("to", ["html5", "typst"])
@pytest.mark.parametrize("name", sorted(TRICKY))
def test_worker_output_is_the_command_line_output(fresh_pool, name, to):
    markdown = TRICKY[name]
    assert convert(markdown, to) == convert_subprocess(markdown, to)
    assert len(fresh_pool.live) == 1 and not fresh_pool.broken  # the worker did the conversion


def test_error_names_the_page_and_the_worker_goes_on(fresh_pool):
    with pytest.raises(RenderError) as worker_error:
        convert("x", "nosuchformat", "periods/2026-01/r1/u1.ipynb")
    message = str(worker_error.value)
    assert message.startswith("periods/2026-01/r1/u1.ipynb: pandoc failed (nosuchformat): ")
    assert message.endswith("Unknown output format nosuchformat")  # pandoc's own message
    with pytest.raises(RenderError) as command_line_error:
        convert_subprocess("x", "nosuchformat", "periods/2026-01/r1/u1.ipynb")
    assert message == str(command_line_error.value)
    assert convert("*ok*", "html5") == "<p><em>ok</em></p>\n"
    assert len(fresh_pool.live) == 1


def test_falls_back_to_a_subprocess_when_no_worker_starts(fresh_pool, monkeypatch):
    monkeypatch.setattr(pandoc, "_LOOP", "os.exit(3)")  # pandoc lua exits before it is ready
    assert convert(TRICKY["unicode"], "html5") == convert_subprocess(TRICKY["unicode"], "html5")
    assert fresh_pool.broken and not fresh_pool.live
    with pytest.raises(RenderError, match=r"^p\.ipynb: pandoc failed \(nope\)"):
        convert("x", "nope", "p.ipynb")


def test_a_worker_that_dies_is_replaced(fresh_pool):
    convert("warm", "html5")
    (worker,) = fresh_pool.live
    worker.proc.kill()
    worker.proc.wait()
    assert convert(TRICKY["tabs"], "typst") == convert_subprocess(TRICKY["tabs"], "typst")
    assert worker not in fresh_pool.live and not fresh_pool.broken
    convert("again", "html5")
    assert len(fresh_pool.live) == 1 and fresh_pool.live[0] is not worker


def test_threads_get_workers_of_their_own_and_all_stop(fresh_pool):
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"# page {i}\n\n" + TRICKY["structure"] for i in range(12)]
    with ThreadPoolExecutor(3) as threads:
        got = list(threads.map(lambda t: convert(t, "html5"), texts))
    assert got == [convert_subprocess(t, "html5") for t in texts]
    pids = [w.proc.pid for w in fresh_pool.live]
    assert 1 <= len(pids) <= 3
    with pandoc.workers_stopped():
        pass
    assert not fresh_pool.live and not fresh_pool.idle
    assert not any(alive(pid) for pid in pids)


def _child(queue) -> None:
    inherited = len(pandoc._pool.live)
    out = convert("*child*", "html5")
    queue.put((inherited, out, [w.proc.pid for w in pandoc._pool.live]))


def test_a_forked_child_starts_its_own_worker_and_leaves_none(fresh_pool):
    convert("parent", "html5")
    (parent_worker,) = fresh_pool.live
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child, args=(queue,))
    child.start()
    inherited, out, child_pids = queue.get(timeout=60)
    child.join(60)
    assert inherited == 0 and out == "<p><em>child</em></p>\n"
    assert child_pids and parent_worker.proc.pid not in child_pids
    assert all(wait_gone(pid) for pid in child_pids)  # its stdin closed with the child
    assert alive(parent_worker.proc.pid)
    assert convert("still *mine*", "html5") == "<p>still <em>mine</em></p>\n"


def test_no_worker_outlives_its_process():
    code = "from scorecard.render import pandoc\npandoc.convert('*x*', 'typst')\nprint(pandoc._pool.live[0].proc.pid)\n"
    env = {**os.environ, "PYTHONPATH": str(Path(pandoc.__file__).resolve().parents[2])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert wait_gone(int(proc.stdout.strip()))
