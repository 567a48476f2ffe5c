"""Colours, fonts and the application style shared by every widget."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QFont, QImage, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

VERDICT_COLOURS = {"ATTRIBUTED": "#1b7f3b", "INCONCLUSIVE": "#b26a00", "NO MATCH": "#5f6b7a",
                   "NOT MATCHED": "#5f6b7a"}
STATUS_COLOURS = {"running": "#1f5fbf", "queued": "#6b7785", "error": "#c0392b", "cancelled": "#8a6d3b",
                  "done": "#1b7f3b"}
ACCENT = "#1f5fbf"
BIT_ONE, BIT_ZERO, BIT_WRONG = "#24364f", "#e4e9f0", "#d0342c"
CURVE_START, CURVE_BEST = (110, 130, 160, 90), "#1f5fbf"
BITS_ONE, BITS_ZERO = (31, 95, 191, 170), (178, 106, 0, 170)

_STYLE = """
QMainWindow, QDialog { background: #f4f6f9; }
QDockWidget::title { background: #e3e8ef; padding: 4px 8px; font-weight: 600; }
QTableView { background: white; alternate-background-color: #f7f9fc; gridline-color: #e6e9ef;
             selection-background-color: #cfe0f7; selection-color: #10233d; }
QHeaderView::section { background: #eef1f5; border: none; border-bottom: 1px solid #d5dbe3;
                       padding: 4px 6px; font-weight: 600; color: #334155; }
QGroupBox { border: 1px solid #d5dbe3; border-radius: 4px; margin-top: 14px; background: white; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #334155; font-weight: 600; }
QStatusBar { background: #e3e8ef; }
QStatusBar QLabel { padding: 0 6px; color: #334155; }
#hintBar { background: #e8f1fd; border: 1px solid #b9d3f5; border-radius: 4px; }
#verdictBanner { border-radius: 4px; padding: 8px 12px; color: white; font-size: 15pt; font-weight: 700; }
#fieldValue { font-family: monospace; }
#errorLabel { color: #c0392b; }
"""


def apply_theme(app: QApplication) -> None:
    """Fusion style with a light, neutral palette and the stylesheet above."""
    app.setStyle("Fusion")
    pal = app.palette()
    pal.setColor(QPalette.ColorRole.Window, QColor("#f4f6f9"))
    pal.setColor(QPalette.ColorRole.Base, QColor("white"))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor("#f7f9fc"))
    pal.setColor(QPalette.ColorRole.Highlight, QColor("#cfe0f7"))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#10233d"))
    pal.setColor(QPalette.ColorRole.Link, QColor(ACCENT))
    app.setPalette(pal)
    app.setStyleSheet(_STYLE)


def mono_font(point_size: int = 0) -> QFont:
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.Monospace)
    if point_size:
        font.setPointSize(point_size)
    return font


def to_qimage(image: np.ndarray) -> QImage:
    """A QImage holding a copy of uint8 (H, W, 3) RGB pixels."""
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def to_pixmap(image: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(image))
