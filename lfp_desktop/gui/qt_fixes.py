"""Guard against reference-count defects of PySide6 on CPython 3.11.

Some PySide6 builds (seen with 6.12.0) drop references they do not own to ``None``, ``True``
and ``False``: every ``Signal.emit()`` takes one from ``True``, every Python ``data()``
override that returns ``None`` takes one from ``None``. On CPython 3.12 and later these
objects are immortal and nothing happens; on 3.11 a busy window aborts within minutes with
"deallocating None". The guard gives the three singletons so many extra references
(2**40) that they can never reach zero, which is what 3.12 does for them anyway.
"""

from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 40
_installed = False


def needed() -> bool:
    """True on interpreters whose singletons are mortal (release builds before 3.12)."""
    return sys.version_info < (3, 12) and not hasattr(sys, "gettotalrefcount")


def install() -> bool:
    """Add the headroom once; returns True when the guard is (now) in place."""
    global _installed
    if _installed or not needed():
        return _installed
    for obj in (None, True, False):
        # ob_refcnt is the first field of every object in a release build of CPython 3.11.
        ctypes.c_ssize_t.from_address(id(obj)).value += HEADROOM
    _installed = True
    return True
