"""Batch folder scan: choose a folder and file types, follow progress with counts and ETA,
sort and filter the results, export CSV, cancel and resume, read the summary."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QTableView, QVBoxLayout,
                               QWidget)

from lfp_desktop.gui.case_worker import IMAGE_SUFFIXES
from lfp_desktop.gui.evidence_model import short_error
from lfp_desktop.gui.investigation import Investigation
from lfp_desktop.gui.result_panel import format_p
from lfp_desktop.gui.scan import ScanSession, scan_user
from lfp_desktop.gui.theme import VERDICT_COLOURS

TABLE_COLUMNS = ("File", "State", "Verdict", "User", "Model", "Distance", "p-value", "SHA-256")


def parse_types(text: str) -> tuple[str, ...]:
    """'*.png, jpg .tif' → ('.png', '.jpg', '.tif'); empty text means every image type."""
    parts = [p.strip().lstrip("*").lower() for p in text.replace(",", " ").replace(";", " ").split()]
    out = tuple(p if p.startswith(".") else f".{p}" for p in parts if p.strip("."))
    return out or IMAGE_SUFFIXES


def _eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(int(round(seconds)), 60)
    return f", about {m} min {s:02d} s left" if m else f", about {s} s left"


class BatchScanDialog(QDialog):
    """Non-modal; one scan at a time. Rows are the case's evidence rows of this scan."""

    def __init__(self, investigation: Investigation, start_dir: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Batch folder scan")
        self.inv = investigation
        self.session: ScanSession | None = None
        self._rows: dict[str, int] = {}
        self.folder = QLineEdit(start_dir, placeholderText="folder to scan")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        self.recursive = QCheckBox("Include subfolders")
        self.recursive.setChecked(True)
        self.types = QLineEdit(" ".join(f"*{s}" for s in IMAGE_SUFFIXES))
        self.types.setToolTip("File types to take in, e.g. *.png *.jpg")
        self.start_button = QPushButton("Start scan")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start_scan)
        self.cancel_button = QPushButton("Cancel scan")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_scan)
        self.progress = QProgressBar()
        self.progress_label = QLabel("Choose a folder and start the scan. Files already analysed (same SHA-256 "
                                     "and model) are skipped, so a cancelled scan resumes where it stopped.")
        self.progress_label.setWordWrap(True)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table_model = QStandardItemModel(0, len(TABLE_COLUMNS), self)
        self.table_model.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.table_model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.filter_edit = QLineEdit(placeholderText="Filter results…", clearButtonEnabled=True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = self._make_table()
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._export_csv)
        self._progress_timer = QTimer(self, singleShot=True, interval=100)  # at most ten updates a second
        self._progress_timer.timeout.connect(self._update_progress)
        self._layout()
        self.resize(980, 640)

    def _make_table(self) -> QTableView:
        t = QTableView()
        t.setModel(self.proxy)
        t.setSortingEnabled(True)
        t.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # scan order until a header is clicked
        t.setWordWrap(False)
        t.setAlternatingRowColors(True)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.verticalHeader().hide()
        t.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in enumerate((0, 80, 150, 120, 140, 70, 80, 130)):
            if width:
                t.setColumnWidth(col, width)
        return t

    def _layout(self) -> None:
        src = QGroupBox("Source")
        sl = QVBoxLayout(src)
        row = QHBoxLayout()
        row.addWidget(QLabel("Folder:"))
        row.addWidget(self.folder, 1)
        row.addWidget(self.browse)
        sl.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.recursive)
        row.addSpacing(16)
        row.addWidget(QLabel("File types:"))
        row.addWidget(self.types, 1)
        sl.addLayout(row)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        lay = QVBoxLayout(self)
        lay.addWidget(src)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.progress_label)
        lay.addWidget(self.filter_edit)
        lay.addWidget(self.table, 1)
        box = QGroupBox("Summary")
        bl = QVBoxLayout(box)
        bl.addWidget(self.summary_label)
        lay.addWidget(box)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder to scan", self.folder.text())
        if path:
            self.folder.setText(path)

    # -- scanning ----------------------------------------------------------------------------
    def start_scan(self) -> None:
        """Start (or resume) scanning the chosen folder."""
        folder = self.folder.text().strip()
        if not folder or not Path(folder).is_dir():
            self.progress_label.setText(f"<span style='color:#c0392b'>'{folder}' is not a folder; choose one.</span>")
            return
        if not self.inv.models:
            self.progress_label.setText("<span style='color:#c0392b'>No model is loaded: load a registry and "
                                        "a checkpoint first (File → Open registry…).</span>")
            return
        if self.session is not None:
            self.session.deleteLater()
        self.table_model.removeRows(0, self.table_model.rowCount())
        self._rows.clear()
        self.session = ScanSession(self.inv, folder, recursive=self.recursive.isChecked(),
                                   suffixes=parse_types(self.types.text()), parent=self)
        self.session.changed.connect(self._update_row)
        self.session.progressed.connect(self._progress_timer.start)
        self.session.finished.connect(self._scan_finished)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.export_button.setEnabled(False)
        self.summary_label.setText("")
        self._update_progress()

    def cancel_scan(self) -> None:
        if self.session is not None:
            self.session.cancel()
            self.progress_label.setText("Cancelling…")

    def _scan_finished(self) -> None:
        self._update_progress()
        s = self.session
        self.start_button.setEnabled(True)
        self.start_button.setText("Resume scan" if s.cancelled else "Scan again")
        self.cancel_button.setEnabled(False)
        self.export_button.setEnabled(True)
        self.summary_label.setText(s.summary().html())

    def _update_progress(self) -> None:
        s = self.session
        if s is None:
            return
        c = s.counts()
        total = len(s.keys)
        finished = total - c["queued"] - c["running"]
        self.progress.setRange(0, total if s.intake_finished else 0)
        self.progress.setValue(finished)
        self.progress.setFormat("%v of %m files")
        found = f"{total} file(s)" + ("" if s.intake_finished else " found so far")
        parts = [f"{c[k]} {k}" for k in ("analysed", "skipped", "running", "queued", "error", "cancelled",
                                         "not analysed") if c[k]]
        self.progress_label.setText(f"{found}: {', '.join(parts) or 'starting'}{_eta_text(s.eta_seconds())}")

    def _update_row(self, key: str) -> None:
        rec, s = self.inv.records.get(key), self.session
        if rec is None or s is None:
            return
        best = rec.headline()
        r = best.record if best else {}
        verdict = best.verdict if best else short_error(rec)
        values = (rec.file_name, s.state(key), verdict, scan_user(best), best.model_name if best else "",
                  r.get("hamming_distance"), r.get("p_value"), rec.sha256[:16])
        if key not in self._rows:
            self._rows[key] = self.table_model.rowCount()
            self.table_model.appendRow([QStandardItem() for _ in TABLE_COLUMNS])
        row = self._rows[key]
        for col, value in enumerate(values):
            item = self.table_model.item(row, col)
            item.setText("" if value is None else (format_p(value) if isinstance(value, float) else str(value)))
            item.setData(value if value is not None else "", Qt.ItemDataRole.UserRole)
            if col == 0:
                item.setToolTip(rec.display_path + (f"\n{rec.error_text()}" if rec.error_text() else ""))
        colour = VERDICT_COLOURS.get(values[2]) if best else ("#c0392b" if values[1] == "error" else None)
        if colour:
            self.table_model.item(row, 2).setForeground(QColor(colour))
        if rec.error_text():
            self.table_model.item(row, 1).setToolTip(rec.error_text())

    def _export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export scan results", "scan-results.csv", "CSV files (*.csv)")
        if path and self.session is not None:
            try:
                self.session.write_csv(Path(path))
            except OSError as exc:
                QMessageBox.warning(self, "Export failed", f"The CSV could not be written ({exc}).")
