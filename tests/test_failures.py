"""Every failure a clear exit: one line naming the path and the cause, a documented exit code,
no traceback (unless --debug); arguments checked before the lock and the build; a damaged
database rebuilt from the inputs."""

from __future__ import annotations

import errno

import pytest
from scorecard_fixtures import Inputs, assert_one_error_line, ix

from scorecard.failures import SYSTEM_ERROR, explain


def _ready(inputs: Inputs) -> Inputs:
    inputs.add("interactions", ix("a", "2026-01-05 10:00", first="2026-01-05 10:20"), ix("b", "2026-02-05 10:00"))
    inputs.write()
    return inputs


def _config(tmp_path, **settings) -> str:
    path = tmp_path / "sc.yml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in settings.items()), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "argument", [["--period", "2026-13"], ["--period", "26-01"], ["--restate", "2026-00"], ["--restate", "2026-09"]]
)
def test_bad_arguments_are_refused_before_the_lock_and_the_build(tmp_path, cli, argument):
    config = _config(tmp_path, data="in", database="db.duckdb", site="site")
    code, out, err = cli("publish", "--config", config, *argument)
    assert code == 4 and out == ""
    line = assert_one_error_line(err, argument[1])
    assert "YYYY-MM" in line or "REASON" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sc.yml"], "nothing built, no lock taken"


def test_a_site_path_that_is_a_file(tmp_path, cli):
    (tmp_path / "site").write_text("not a folder", encoding="utf-8")
    config = _config(tmp_path, data="in", database="db.duckdb", site="site")
    code, _out, err = cli("publish", "--config", config)
    assert code == 4
    assert_one_error_line(err, str(tmp_path / "site"), "is a file, not a folder")
    assert (tmp_path / "site").read_text(encoding="utf-8") == "not a folder"


def test_a_configuration_that_is_not_utf8(tmp_path, cli):
    path = tmp_path / "latin1.yml"
    path.write_bytes("timezone: UTC\n# équipe\n".encode("latin-1"))
    code, _out, err = cli("build", "--config", str(path), "--data", "in", "--db", "db.duckdb")
    assert code == 3
    assert_one_error_line(err, str(path), "not UTF-8", "0xe9")


def test_a_truncated_database_is_rebuilt_by_compute_and_named_by_readers(inputs, cli):
    _ready(inputs)
    code, out, _ = cli("build", "--data", inputs.dir, "--db", inputs.database)
    assert code == 0
    good = out
    data = inputs.database.read_bytes()
    inputs.database.write_bytes(data[: len(data) // 3])
    code, _out, err = cli("export", "--db", inputs.database, "--out", inputs.base / "x.csv")
    assert code == 2
    assert_one_error_line(err, str(inputs.database), "damaged", "scorecard build")
    config = _config(inputs.base, data=str(inputs.dir), database=str(inputs.database))
    from scorecard.cli import main

    assert main(["compute", "--config", config]) == 0
    code, out, _ = cli("compute", "--config", config)
    assert code == 0 and out.split(" → ")[0] == good.split(" → ")[0]


def test_a_busy_state_folder_exits_4_naming_the_holder(inputs, cli, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    _ready(inputs)
    repo = Path(__file__).resolve().parents[1]
    state = inputs.base / ".scorecard-state"
    go, release = tmp_path / "go", tmp_path / "release"
    go.touch()
    holder = subprocess.Popen(
        [sys.executable, str(repo / "tests" / "lock_contender.py"), str(state), str(go), str(release)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert holder.stdout.readline().startswith("held ")
        for command in (["build", "--data", inputs.dir], ["compute"]):
            code, _out, err = cli(*command, "--db", inputs.database)
            assert code == 4, err
            assert_one_error_line(err, str(state / "scorecard.lock"), f"pid {holder.pid}", "contender")
    finally:
        release.touch()
        holder.wait(timeout=30)
    assert not inputs.database.exists()


@pytest.mark.parametrize(
    "code,words",
    [
        (errno.ENOSPC, "disk is full"),
        (errno.EROFS, "read-only"),
        (errno.EACCES, "permission denied"),
        (errno.EBUSY, "busy"),
        (errno.ENOTDIR, "a file stands where a folder"),
    ],
)
def test_operating_system_refusals_name_the_path_and_the_cause(code, words):
    import os

    message, exit_code = explain(OSError(code, os.strerror(code), "/srv/site/x.html"))
    assert exit_code == SYSTEM_ERROR == 6
    assert message.startswith("/srv/site/x.html: " + os.strerror(code)) and words in message
    assert "\n" not in message


def test_a_bug_keeps_its_traceback_and_debug_shows_it_for_expected_errors(tmp_path, cli, capsys):
    assert explain(ValueError("bug")) is None
    from scorecard.cli import main

    (tmp_path / "site").write_text("x", encoding="utf-8")
    config = _config(tmp_path, site="site")
    capsys.readouterr()
    assert main(["--debug", "publish", "--config", config]) == 4
    assert "Traceback" in capsys.readouterr().err
