"""Table model of the evidence rows (thumbnail and name, SHA-256, status, verdict)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPixmap

from lfp_desktop.gui.evidence import EvidenceRecord
from lfp_desktop.gui.investigation import Investigation
from lfp_desktop.gui.theme import STATUS_COLOURS, VERDICT_COLOURS, to_pixmap

COLUMNS = ("File", "SHA-256", "Status", "Verdict")
KEY_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
THUMB_PX = 40


class EvidenceTableModel(QAbstractTableModel):
    """Rows follow ``Investigation.records`` (arrival order), updated through its signals."""

    def __init__(self, investigation: Investigation, parent: QObject | None = None):
        super().__init__(parent)
        self.inv = investigation
        self._keys: list[str] = []
        self._rows: dict[str, int] = {}
        self._thumbs: dict[str, QPixmap] = {}
        investigation.records_reset.connect(self._reset)
        investigation.record_added.connect(self._added)
        investigation.record_changed.connect(self._changed)

    # -- updates -------------------------------------------------------------------------
    def _reset(self) -> None:
        self.beginResetModel()
        self._keys, self._rows, self._thumbs = list(self.inv.records), {}, {}
        self._rows = {k: i for i, k in enumerate(self._keys)}
        self.endResetModel()

    def _added(self, key: str) -> None:
        if key in self._rows:
            self._changed(key)
            return
        n = len(self._keys)
        self.beginInsertRows(QModelIndex(), n, n)
        self._keys.append(key)
        self._rows[key] = n
        self.endInsertRows()

    def _changed(self, key: str) -> None:
        row = self._rows.get(key)
        if row is not None:
            self._thumbs.pop(key, None)
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def key_at(self, row: int) -> str:
        return self._keys[row]

    def row_of(self, key: str) -> int:
        return self._rows.get(key, -1)

    # -- Qt model ------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self._keys)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        key = self._keys[index.row()]
        rec = self.inv.records.get(key)
        if rec is None:
            return None
        if role == KEY_ROLE:
            return key
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return _text(rec, col)
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            return self._thumbnail(key, rec)
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tooltip(rec, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            return _colour(rec, col)
        if role == Qt.ItemDataRole.FontRole and col in (1,):
            font = QFont("monospace")
            font.setStyleHint(QFont.StyleHint.Monospace)
            return font
        if role == Qt.ItemDataRole.FontRole and col == 3 and rec.headline() is not None:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.SizeHintRole and col == 0:
            return QSize(220, 44)
        return None

    def _thumbnail(self, key: str, rec: EvidenceRecord) -> QPixmap | None:
        if rec.thumbnail is None:
            return None
        if key not in self._thumbs:
            pix = to_pixmap(rec.thumbnail)
            # small images are enlarged with sharp pixels so the thumbnail is legible
            self._thumbs[key] = pix.scaled(THUMB_PX, THUMB_PX, Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.FastTransformation) if max(pix.width(), pix.height()) < THUMB_PX else pix
        return self._thumbs[key]


def _text(rec: EvidenceRecord, col: int) -> str:
    if col == 0:
        return rec.file_name
    if col == 1:
        return rec.sha256[:8] + "…" if rec.sha256 else ""
    if col == 2:
        return rec.overall_status()
    if rec.overall_status() == "error" and not rec.outcomes:
        return short_error(rec)  # the reason, inline on the row
    return rec.verdict_text(with_model=False)


def short_error(rec: EvidenceRecord) -> str:
    """The error without the file's path in front (the row already names the file)."""
    text = rec.error_text()
    if text.startswith(rec.display_path):
        text = text[len(rec.display_path):].lstrip(" :")
    return text[:1].upper() + text[1:]


def _tooltip(rec: EvidenceRecord, col: int) -> str:
    if col == 0:
        size = f"{rec.width}×{rec.height} {rec.format}, {rec.size_bytes:,} bytes" if rec.sha256 else ""
        return f"{rec.display_path}\n{size}".strip()
    if col == 1:
        return rec.sha256
    if col == 2:
        return rec.error_text() or rec.note or rec.overall_status()
    return rec.verdict_text()


def _colour(rec: EvidenceRecord, col: int) -> QColor | None:
    if col == 2:
        return QColor(STATUS_COLOURS.get(rec.overall_status(), "#334155"))
    if col == 3 and rec.headline() is not None:
        return QColor(VERDICT_COLOURS.get(rec.headline().verdict, "#334155"))
    if col == 3 and rec.overall_status() == "error":
        return QColor(STATUS_COLOURS["error"])
    return None
