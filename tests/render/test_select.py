"""get_renderer: explicit name > $RENDERER > quarto on PATH > builtin."""

from __future__ import annotations

import stat

import pytest

from scorecard.render import Renderer, RenderError, get_renderer


@pytest.fixture
def path_with_quarto(tmp_path, monkeypatch):
    exe = tmp_path / "quarto"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("RENDERER", raising=False)
    return exe


@pytest.fixture
def path_without_quarto(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("RENDERER", raising=False)


def test_quarto_on_path_is_chosen(path_with_quarto):
    r = get_renderer()
    assert r.name == "quarto" and r.executable == str(path_with_quarto) and isinstance(r, Renderer)


def test_builtin_without_quarto(path_without_quarto):
    r = get_renderer()
    assert r.name == "builtin" and isinstance(r, Renderer)


def test_env_overrides_detection(path_with_quarto, monkeypatch):
    monkeypatch.setenv("RENDERER", "builtin")
    assert get_renderer().name == "builtin"
    assert get_renderer("quarto").name == "quarto"  # an explicit name wins over the environment


def test_env_quarto_without_quarto_fails(path_without_quarto, monkeypatch):
    monkeypatch.setenv("RENDERER", "quarto")
    with pytest.raises(RenderError, match="no quarto executable"):
        get_renderer()


def test_unknown_renderer(path_without_quarto, monkeypatch):
    monkeypatch.setenv("RENDERER", "latex")
    with pytest.raises(RenderError, match="unknown renderer 'latex'"):
        get_renderer()
