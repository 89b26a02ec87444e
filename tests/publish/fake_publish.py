"""A publish with notebook execution and rendering replaced by fakes that write one small file
per page: everything else (lock, build, manifest, staging, swap) is the real code. Used by the
crash tests (as a process they can kill) and the large-history test.

    python tests/publish/fake_publish.py CONFIG [--no-swap] [publish arguments...]

`--no-swap` makes the one-step swap fail as it does for a site that is a mount point, so the
file-by-file install runs.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path


def fake_execute(jobs, **kwargs):
    for job in jobs:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        job.output.write_text("{}", encoding="utf-8")
    return [job.output for job in jobs]


class FakeRenderer:
    name = "fake"

    def render(self, project_file, source_dir, pages, output_dir, progress=None):
        written = []
        for page in pages:
            rel = Path(page.source).relative_to(source_dir)
            for ext, wanted in ((".html", page.html), (".pdf", page.pdf)):
                if wanted:
                    out = Path(output_dir) / rel.with_suffix(ext)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(f"fake {rel.with_suffix(ext).as_posix()}\n", encoding="utf-8")
                    written.append(out)
        return written


def refuse_swap(a, b):
    raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(b))


def install_fakes(no_swap: bool = False, setattr=setattr) -> None:
    """Replace execution and rendering (in a test, pass monkeypatch.setattr so they come back)."""
    import scorecard.publish as publishing
    import scorecard.publish.site as site
    import scorecard.render as render

    setattr(publishing, "execute", fake_execute)
    setattr(render, "get_renderer", lambda name=None: FakeRenderer())
    setattr(publishing, "write_packs", lambda *args, **kwargs: [])  # the pack renders real notebooks
    if no_swap:
        setattr(site, "_exchange", refuse_swap)


if __name__ == "__main__":
    args = sys.argv[1:]
    config, rest = args[0], [a for a in args[1:] if a != "--no-swap"]
    install_fakes(no_swap="--no-swap" in args)
    from scorecard.cli import main

    sys.exit(main(["-q", "publish", "--config", config, *rest]))
