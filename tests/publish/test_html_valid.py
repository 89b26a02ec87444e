"""The W3C Nu HTML checker finds no error on any page type. Needs Java and the checker's jar
(``npm install --no-save vnu-jar`` in the repository, or ``VNU_JAR=/path/to/vnu.jar``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT, Published
from .test_browser import PAGE_TYPES


def _vnu_jar() -> Path | None:
    for candidate in (os.environ.get("VNU_JAR"), ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.mark.skipif(_vnu_jar() is None or not shutil.which("java"), reason="vnu.jar or Java not available")
def test_every_page_type_is_valid_html(published: Published):
    pages = [str(published.site / rel(published)) for rel in PAGE_TYPES.values()]
    result = subprocess.run(
        ["java", "-jar", str(_vnu_jar()), "--errors-only", *pages], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
