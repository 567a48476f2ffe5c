"""The scan's model bundle (rebuilt on workers that do not see the driver's files) and the
headless contract of the scan package: no Qt, and Ray only when a cluster is asked for."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lfp_desktop.errors import SchemeError
from lfp_desktop.scan import read_model

REPO = Path(__file__).resolve().parents[2]


def test_bundle_rebuilds_the_generator_from_its_bytes_where_the_file_is_missing(model, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the worker's temporary copy goes
    elsewhere = dataclasses.replace(model, checkpoint_path=str(tmp_path / "not-on-this-node" / "generator.pt"))
    ctx = elsewhere.context("cpu")
    assert ctx.generator.sha256 == model.checkpoint_sha256 and ctx.scheme.sha256 == model.scheme_sha256
    assert ctx.registry_digest == model.registry_digest and len(ctx.keys.names) == 1000
    assert list(tmp_path.iterdir()) == []  # the temporary copy is gone


def test_a_scheme_file_that_is_not_the_registrys_is_refused(demo, tmp_path):
    other = tmp_path / "other.npz"
    other.write_bytes(demo.scheme_path.read_bytes() + b"\0")
    with pytest.raises(SchemeError, match="is not the scheme registry .* was made for"):
        read_model(demo.registry_path, demo.checkpoint_path, other)
    assert read_model(demo.registry_path, demo.checkpoint_path, demo.scheme_path).scheme_sha256 == \
        read_model(demo.registry_path, demo.checkpoint_path).scheme_sha256


def test_scan_package_imports_neither_qt_nor_ray_nor_torch():
    code = ("import sys, lfp_desktop.scan, lfp_desktop.scan.cluster, lfp_desktop.scan.local, lfp_desktop.commands.scan; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'PySide6', 'pyqtgraph', 'ray', 'torch'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
