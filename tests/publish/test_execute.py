"""One kernel reused by a worker for many notebooks, and nothing left open between notebooks."""

from __future__ import annotations

import importlib
import threading

import nbformat

execute = importlib.import_module("scorecard.publish.execute")  # the package exports a function of that name


def _notebook(path) -> None:
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import os\nprint(os.getpid() + x)"),
    ]
    nbformat.write(nb, path)


def test_a_reused_kernel_runs_notebook_after_notebook_and_leaves_no_client_open(tmp_path):
    template = tmp_path / "t.ipynb"
    _notebook(template)
    execute._start_kernel()
    try:
        threads, pids = [], []
        for i in range(4):
            out = tmp_path / f"out{i}.ipynb"
            execute._run(execute.Job(template, out, {"x": i}, f"notebook {i}"))
            pids.append(int(nbformat.read(out, 4).cells[-1].outputs[0]["text"]) - i)
            threads.append(threading.active_count())
            assert execute._clients == []
        assert len(set(pids)) == 1  # the same kernel every time
        # papermill's client per notebook is closed: no threads (nor output subscriptions) pile up
        assert threads[-1] == threads[0], threads
    finally:
        execute._stop_kernel()


def test_the_kernel_keeps_no_input_history(tmp_path):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("ip = get_ipython()\nprint(ip.history_manager.enabled, ip.autoawait)"),
    ]
    template = tmp_path / "t.ipynb"
    nbformat.write(nb, template)
    execute._start_kernel()
    try:
        execute._run(execute.Job(template, tmp_path / "out.ipynb"))
    finally:
        execute._stop_kernel()
    assert nbformat.read(tmp_path / "out.ipynb", 4).cells[-1].outputs[0]["text"] == "False False\n"
