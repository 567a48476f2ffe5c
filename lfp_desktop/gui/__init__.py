"""The desktop interface: the only package that imports PySide6 or pyqtgraph."""

from lfp_desktop.gui import qt_fixes

qt_fixes.install()  # before any of our signals is emitted
