"""The evidence list of the open case: one row per file, filterable and sortable."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPainter
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLineEdit, QMenu, QStyledItemDelegate, QTableView,
                               QVBoxLayout, QWidget)

from lfp_desktop.gui.evidence_model import KEY_ROLE, SORT_ROLE, EvidenceTableModel
from lfp_desktop.gui.investigation import Investigation


class _NameDelegate(QStyledItemDelegate):
    """File names lose their middle, not their end (the number and the extension stay)."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802, ANN001 - Qt API
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class _EvidenceTable(QTableView):
    """A table that says what to do while it is empty."""

    PLACEHOLDER = "Drop image files or folders here\n(or File → Add files…)"

    def paintEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() == 0:
            with QPainter(self.viewport()) as p:  # ended here, whatever keeps the frame alive
                p.setPen(QColor("#8b95a5"))
                p.drawText(self.viewport().rect(), int(Qt.AlignmentFlag.AlignCenter), self.PLACEHOLDER)


class EvidenceListWidget(QWidget):
    """Emits ``current_changed(key)`` for the row shown in detail and ``selection_changed``."""

    current_changed = Signal(str)
    selection_changed = Signal(list)

    def __init__(self, investigation: Investigation, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = EvidenceTableModel(investigation, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit = QLineEdit(placeholderText="Filter by name, hash, status or user…", clearButtonEnabled=True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = self._make_table()
        self._menu_actions: list[QAction] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.table)
        self.model.rowsInserted.connect(self._select_first_row)

    def _make_table(self) -> QTableView:
        t = _EvidenceTable(self)
        t.setModel(self.proxy)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        t.setAlternatingRowColors(True)
        t.setSortingEnabled(True)
        t.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # arrival order until a header is clicked
        t.setShowGrid(False)
        t.setWordWrap(False)
        t.verticalHeader().hide()
        t.verticalHeader().setDefaultSectionSize(46)
        t.setIconSize(QSize(40, 40))
        h = t.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        h.setStretchLastSection(True)
        t.setColumnWidth(0, 152)
        t.setColumnWidth(1, 72)
        t.setColumnWidth(2, 58)
        t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        t.setTextElideMode(Qt.TextElideMode.ElideRight)
        t.setItemDelegateForColumn(0, _NameDelegate(t))
        t.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        t.customContextMenuRequested.connect(self._context_menu)
        t.selectionModel().currentRowChanged.connect(self._current_row_changed)
        t.selectionModel().selectionChanged.connect(lambda *_: self.selection_changed.emit(self.selected_keys()))
        return t

    def set_context_actions(self, actions: list[QAction]) -> None:
        self._menu_actions = actions

    def _context_menu(self, pos) -> None:  # noqa: ANN001 - QPoint
        if self._menu_actions:
            QMenu.exec(self._menu_actions, self.table.viewport().mapToGlobal(pos), None, self)

    def _current_row_changed(self, current, _previous) -> None:  # noqa: ANN001 - QModelIndex
        key = current.data(KEY_ROLE) if current.isValid() else ""
        self.current_changed.emit(key or "")

    def _select_first_row(self) -> None:
        if not self.table.selectionModel().currentIndex().isValid() and self.proxy.rowCount():
            self.select_key(self.proxy.index(0, 0).data(KEY_ROLE))

    def selected_keys(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows()
        return [r.data(KEY_ROLE) for r in rows]

    def current_key(self) -> str:
        idx = self.table.selectionModel().currentIndex()
        return idx.data(KEY_ROLE) if idx.isValid() else ""

    def select_key(self, key: str) -> None:
        """Make ``key`` the current, only selected row (no-op when it is filtered out)."""
        row = self.model.row_of(key)
        if row < 0:
            return
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if idx.isValid():
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            self.table.selectionModel().setCurrentIndex(idx, flags)
            self.table.scrollTo(idx)
