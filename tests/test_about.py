import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from lfp_desktop import __version__
from lfp_desktop.about import about_info, about_text, library_version, user_guide_url

REPO = Path(__file__).resolve().parent.parent


def _run(code: str, **env: str) -> str:
    """Run Python code in a fresh interpreter (so sys.modules starts empty); its stdout."""
    import os

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                         env={**os.environ, **env}, timeout=120)
    return out.stdout


def test_info_names_this_version_and_the_installed_libraries():
    info = about_info()
    assert info["name"] == "LFP Desktop" and info["version"] == __version__
    libs = info["libraries"]
    assert list(libs) == ["torch", "numpy", "PySide6", "pyqtgraph", "reportlab", "pyHanko", "cryptography"]
    assert libs["torch"] == torch.__version__
    assert libs["numpy"] == np.__version__
    assert libs["PySide6"] == importlib.metadata.version("PySide6-Essentials")
    assert libs["pyHanko"] == importlib.metadata.version("pyHanko")
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    assert info["bundled"] is False  # tests run from the source tree, not the bundle


def test_text_lists_device_libraries_and_user_guide():
    info = about_info()
    text = about_text(info)
    lines = text.splitlines()
    assert lines[0] == f"LFP Desktop {__version__} (Python install)"
    assert f"Engine device: {info['device']}" in lines
    for label, version in info["libraries"].items():
        assert any(line.split()[:2] == [label, version] for line in lines), label
    assert f"(Qt {info['qt']})" in text
    assert lines[-1] == f"User guide: {info['user_guide_url']}"


def test_missing_library_is_reported_not_raised():
    assert library_version(("lfp-no-such-distribution",), None) is None
    assert library_version(("lfp-no-such-distribution",), "lfp_no_such_module") is None
    # The module fallback is used when the metadata is missing (as in a trimmed bundle).
    assert library_version(("lfp-no-such-distribution",), "numpy") == np.__version__
    info = about_info()
    info["libraries"]["pyqtgraph"] = None
    assert "  pyqtgraph     not installed" in about_text(info).splitlines()


def test_asking_loads_no_qt_and_hidden_cuda_means_cpu():
    code = ("import sys, json; from lfp_desktop.about import about_info, qt_version; info = about_info(); "
            "qt = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')); "
            "print(json.dumps({'device': info['device'], 'qt_modules': qt, "
            "'qt_from_wheel': [qt_version('6.7.1.1'), qt_version(None)]}))")
    out = json.loads(_run(code, CUDA_VISIBLE_DEVICES=""))
    # Without QtCore loaded, the Qt release is the PySide6 wheel's major.minor.patch.
    assert out == {"device": "CPU", "qt_modules": [], "qt_from_wheel": ["6.7.1", None]}


def test_qt_version_is_read_from_a_loaded_qtcore():
    code = ("from PySide6.QtCore import qVersion; from lfp_desktop.about import qt_version; "
            "print(qt_version('0.0.0'), qVersion())")
    reported, actual = _run(code).split()
    assert reported == actual and reported != "0.0.0"


def test_user_guide_url_points_at_the_installed_readme(tmp_path, monkeypatch):
    resources = tmp_path / "app" / "resources"
    resources.mkdir(parents=True)
    monkeypatch.setenv("LFP_RESOURCES", str(resources))
    assert user_guide_url() == "README.md#user-guide"  # no README installed beside resources/
    readme = tmp_path / "app" / "README.md"
    readme.write_text("# LFP Desktop\n\n## User guide\n", encoding="utf-8")
    assert user_guide_url() == readme.resolve().as_uri() + "#user-guide"
