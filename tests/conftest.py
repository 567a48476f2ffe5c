"""Shared fixtures: every test gets its own LFP_HOME, never the user's real folders."""

from __future__ import annotations

import os

# Before torch is imported: idle OpenMP threads sleep instead of spinning, which keeps a
# busy 2-core machine responsive.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_home(tmp_path, monkeypatch):
    home = tmp_path / "lfp-home"
    monkeypatch.setenv("LFP_HOME", str(home))
    return home
