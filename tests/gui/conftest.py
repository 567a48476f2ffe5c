"""Fixtures for the desktop application tests (pytest-qt, offscreen)."""

from __future__ import annotations

import pytest

from tests.gui.workspace import TinyWorkspace, build_tiny_workspace


@pytest.fixture(scope="session")
def tiny_ws(tmp_path_factory) -> TinyWorkspace:
    return build_tiny_workspace(tmp_path_factory.mktemp("tiny-ws"))


@pytest.fixture
def fast_settings():
    """Settings that keep an attribution to a fraction of a second on the tiny model."""
    from lfp_desktop.config import Settings

    return Settings(device="cpu", starts=2, steps=20, early_stopping=False, target_fpr=0.01, images_per_job=4)
