"""Shared pieces of the scan tests: a local Ray instance (2 CPUs), the demo workspace, a small
evidence folder made from it, and attribution settings cheap enough for a test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# Images whose outcome at the cheap settings below is known: a clean fingerprinted image
# (its decoded key lies a few bits from the true one) and images without a fingerprint.
FILES = ("kofi.silva-2_1.png", "picture_1.png", "picture_2.png", "unfingerprinted_1.png", "unfingerprinted_2.png")
DAMAGED = "damaged.png"
COPY = "zz_copies/picture_1_again.png"  # the same bytes as picture_1.png, found last


@pytest.fixture(scope="session")
def ray_instance():
    ray = pytest.importorskip("ray")
    # address="local": this test's own instance, even where a cluster already runs here
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    from lfp_desktop.demo.workspace import build_demo_workspace

    return build_demo_workspace(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def evidence(demo, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("evidence")
    for name in FILES:
        shutil.copy(demo.evidence_dir / name, folder / name)
    (folder / DAMAGED).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3)  # header, then garbage
    (folder / COPY).parent.mkdir()
    shutil.copy(demo.evidence_dir / FILES[1], folder / COPY)
    return folder


@pytest.fixture(scope="session")
def model(demo):
    from lfp_desktop.scan import read_model

    return read_model(demo.registry_path, demo.checkpoint_path)


def cheap_options(batch_size: int):
    """Two starts of 150 steps, no early stopping: enough for a clean fingerprinted image."""
    from lfp_desktop.config import Settings
    from lfp_desktop.scan import scan_options

    return scan_options(Settings(starts=2, steps=150, early_stopping=False), batch_size=batch_size)


@pytest.fixture(scope="session")
def local_report(model, evidence, tmp_path_factory):
    """The same folder scanned in this process, one batch (the reference for cluster scans)."""
    from lfp_desktop.scan import open_scan_case, run_scan
    from lfp_desktop.scan.local import LocalExecutor

    root = tmp_path_factory.mktemp("local")
    with LocalExecutor(model, "cpu") as ex, open_scan_case(str(root / "local-scan"), analyst="ana") as case:
        report = run_scan([evidence], case=case, model=model, executor=ex, options=cheap_options(len(FILES)),
                          actor="ana")
    return report
