"""Shared fixtures: every test gets its own LFP_HOME, never the user's real folders."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _fresh_home(tmp_path, monkeypatch):
    home = tmp_path / "lfp-home"
    monkeypatch.setenv("LFP_HOME", str(home))
    return home
