"""The application log and the custody log of the selected evidence item."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from PySide6.QtGui import QColor, QTextCharFormat
from PySide6.QtWidgets import QHeaderView, QPlainTextEdit, QTableWidget, QTableWidgetItem, QTabWidget, QWidget

from lfp_desktop.gui.theme import mono_font

LEVEL_COLOURS = {"info": "#334155", "warning": "#b26a00", "error": "#c0392b"}
MAX_LOG_LINES = 5000


class LogPanelWidget(QTabWidget):
    """Tab 'Log': time-stamped messages; tab 'Custody': the chain entries of one item."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.log_view = QPlainTextEdit(readOnly=True)
        self.log_view.setMaximumBlockCount(MAX_LOG_LINES)
        self.log_view.setFont(mono_font())
        self.custody_view = QTableWidget(0, 5)
        self.custody_view.setHorizontalHeaderLabels(["#", "Time (UTC)", "Actor", "Action", "Details"])
        self.custody_view.verticalHeader().hide()
        self.custody_view.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.custody_view.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.custody_view.setAlternatingRowColors(True)
        self.addTab(self.log_view, "Log")
        self.addTab(self.custody_view, "Custody")

    def append(self, level: str, text: str) -> None:
        """Add one line (level: info, warning, error)."""
        fmt = QTextCharFormat()
        fmt.setForeground(QColor(LEVEL_COLOURS.get(level, "#334155")))
        stamp = _dt.datetime.now().strftime("%H:%M:%S")
        cursor = self.log_view.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        if not self.log_view.document().isEmpty():
            cursor.insertBlock()
        cursor.insertText(f"{stamp}  {level.upper():7s} {text}", fmt)
        self.log_view.verticalScrollBar().setValue(self.log_view.verticalScrollBar().maximum())

    def lines(self) -> list[str]:
        return self.log_view.toPlainText().splitlines()

    def show_custody(self, entries: list[Any]) -> None:
        """Fill the custody tab from audit entries (seq, utc, actor, action, details)."""
        t = self.custody_view
        t.setRowCount(len(entries))
        for row, e in enumerate(entries):
            details = json.dumps(e.details, ensure_ascii=False, sort_keys=True)
            for col, value in enumerate((str(e.seq), e.utc, e.actor, e.action, details)):
                item = QTableWidgetItem(value)
                item.setToolTip(f"entry hash {e.entry_hash}" if col == 0 else value)
                t.setItem(row, col, item)
        t.resizeColumnsToContents()
        t.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)

    def clear_custody(self) -> None:
        self.custody_view.setRowCount(0)
