"""Open an existing case from the case store."""

from __future__ import annotations

from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHeaderView, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)


class OpenCaseDialog(QDialog):
    """Lists cases (id, title, analyst, items, results); unreadable ones show their problem."""

    def __init__(self, cases: list, parent: QWidget | None = None):  # list[casework.CaseInfo]
        super().__init__(parent)
        self.setWindowTitle("Open case")
        self.cases = [c for c in cases]
        self.table = QTableWidget(len(self.cases), 5)
        self.table.setHorizontalHeaderLabels(["Case", "Title", "Analyst", "Items", "Results"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        for row, c in enumerate(self.cases):
            values = (c.case_id, c.problem or c.title, c.analyst, str(c.items), str(c.results))
            for col, v in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(v))
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(self.accept)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(buttons)
        self.resize(640, 360)
        if self.cases:
            self.table.selectRow(len(self.cases) - 1)

    def chosen_case_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        c = self.cases[rows[0].row()]
        return None if c.problem else c.case_id
