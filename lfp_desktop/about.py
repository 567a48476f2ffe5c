"""What ``lfp --version`` and Help → About show: the version, the engine device, the versions
of the main libraries and where the user guide is.

Qt-free: library versions come from the installed package metadata, so asking for them
imports neither PySide6 nor pyqtgraph. Only torch is imported, to name the engine device.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from pathlib import Path
from typing import Any

from lfp_desktop import __version__

APP_NAME = "LFP Desktop"
USER_GUIDE_ANCHOR = "user-guide"

# (label, distribution names to try, module whose __version__ is the fallback or None).
# pyqtgraph and PySide6 have no module fallback: importing them would load Qt.
_LIBRARIES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("torch", ("torch",), "torch"),
    ("numpy", ("numpy",), "numpy"),
    ("PySide6", ("PySide6-Essentials", "PySide6"), None),
    ("pyqtgraph", ("pyqtgraph",), None),
    ("reportlab", ("reportlab",), "reportlab"),
    ("pyHanko", ("pyHanko",), "pyhanko.version"),
    ("cryptography", ("cryptography",), "cryptography"),
)


def library_version(distributions: tuple[str, ...], module: str | None = None) -> str | None:
    """Installed version of the first distribution found, else ``module.__version__``, else None."""
    for name in distributions:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    if module is None:
        return None
    try:
        mod = __import__(module, fromlist=["__version__"])
    except ImportError:
        return None
    version = getattr(mod, "__version__", None)
    return str(version) if version is not None else None


def qt_version(pyside6_version: str | None) -> str | None:
    """The Qt release in use: asked of QtCore when the GUI has loaded it, otherwise the
    release the PySide6 wheel ships (each wheel bundles the Qt of its own major.minor.patch)."""
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is not None and hasattr(qtcore, "qVersion"):
        return str(qtcore.qVersion())
    if pyside6_version is None:
        return None
    return ".".join(pyside6_version.split(".")[:3])


def engine_device() -> str:
    """The device attribution runs on with the default setting 'auto': the CUDA device's
    name (and how many there are) or "CPU"."""
    try:
        import torch
    except ImportError:
        return "unavailable (PyTorch is not installed)"
    try:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except RuntimeError:  # a CUDA build without a working driver
        count = 0
    if count == 0:
        return "CPU"
    name = torch.cuda.get_device_name(0)
    extra = f" (+{count - 1} more)" if count > 1 else ""
    return f"{name}, CUDA {torch.version.cuda}{extra}"


def user_guide_path() -> Path | None:
    """README.md beside the resources folder (source checkout or bundle), or None."""
    from lfp_desktop.resources import resources_dir

    try:
        readme = resources_dir().parent / "README.md"
    except FileNotFoundError:
        return None
    return readme if readme.is_file() else None


def user_guide_url() -> str:
    """A URL of the README's user-guide section: a file:// URI when the README is installed,
    else the relative reference ``README.md#user-guide``."""
    path = user_guide_path()
    base = path.resolve().as_uri() if path else "README.md"
    return f"{base}#{USER_GUIDE_ANCHOR}"


def about_info() -> dict[str, Any]:
    """Everything the About box shows, as plain data (str values, None where unknown).

    Keys: name, version, device, python, platform, bundled (True inside the PyInstaller
    bundle), libraries (label → version or None, in display order), qt, user_guide_url.
    """
    libraries = {label: library_version(dists, module) for label, dists, module in _LIBRARIES}
    return {
        "name": APP_NAME,
        "version": __version__,
        "device": engine_device(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "bundled": bool(getattr(sys, "frozen", False)),
        "libraries": libraries,
        "qt": qt_version(libraries["PySide6"]),
        "user_guide_url": user_guide_url(),
    }


def about_text(info: dict[str, Any] | None = None) -> str:
    """The about information as plain text lines (``about_info()`` when ``info`` is None)."""
    info = about_info() if info is None else info
    build = "desktop bundle" if info["bundled"] else "Python install"
    lines = [
        f"{info['name']} {info['version']} ({build})",
        f"Engine device: {info['device']}",
        f"Python {info['python']} on {info['platform']}",
        "Libraries:",
    ]
    for label, version in info["libraries"].items():
        text = version if version is not None else "not installed"
        if label == "PySide6" and version is not None and info.get("qt"):
            text += f" (Qt {info['qt']})"
        lines.append(f"  {label:<13} {text}")
    lines.append(f"User guide: {info['user_guide_url']}")
    return "\n".join(lines)
