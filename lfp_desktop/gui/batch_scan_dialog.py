"""Batch folder scan: choose a folder and file types, run it on this computer or on a Ray
cluster, follow progress with counts, throughput and ETA, sort and filter the results,
export CSV, cancel and resume, read the summary."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QMessageBox, QProgressBar, QPushButton, QRadioButton, QTableView,
                               QVBoxLayout, QWidget)

from lfp_desktop.gui import window_state
from lfp_desktop.gui.investigation import Investigation
from lfp_desktop.gui.result_panel import format_p
from lfp_desktop.gui.scan import ClusterScanSession, ScanSession
from lfp_desktop.gui.theme import VERDICT_COLOURS
from lfp_desktop.scan.cluster import INSTALL_HINT, ray_installed
from lfp_desktop.scan.files import IMAGE_SUFFIXES, parse_types

__all__ = ["BatchScanDialog", "parse_types"]
TABLE_COLUMNS = ("File", "State", "Verdict", "User", "Model", "Distance", "p-value", "SHA-256")
RAY_ADDRESS_KEY = "scan/ray_address"


def _eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(int(round(seconds)), 60)
    return f", about {m} min {s:02d} s left" if m else f", about {s} s left"


def _short_error(text: str, path: str) -> str:
    """The error without the file's path in front (the row already names the file)."""
    if text.startswith(path):
        text = text[len(path):].lstrip(" :")
    return text[:1].upper() + text[1:]


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
        self._make_target_widgets()
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

    def _make_target_widgets(self) -> None:
        """Where the scan runs: the app's own workers, or a Ray cluster at a remembered address."""
        self.run_here = QRadioButton("This computer (the app's workers)")
        self.run_here.setChecked(True)
        self.run_ray = QRadioButton("Ray cluster at")
        address = window_state.value(RAY_ADDRESS_KEY) or os.environ.get("RAY_ADDRESS", "")
        self.ray_address = QLineEdit(address, placeholderText="local, HOST:6379 or ray://HOST:10001")
        self.ray_address.setToolTip("'local' starts Ray on this computer; HOST:6379 (from a cluster node) or "
                                    "ray://HOST:10001 joins a cluster started with 'ray start --head'")
        self.ray_note = QLabel()
        self.ray_note.setWordWrap(True)
        self.ray_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if ray_installed():
            self.ray_note.setText("The cluster's workers load the model themselves; results go into this case "
                                  "as they finish.")
        else:
            self.run_ray.setEnabled(False)
            self.ray_address.setEnabled(False)
            self.ray_note.setText(f"Ray is not installed, so scans run on this computer only. To scan on a Ray "
                                  f"cluster, install it with: <code>{INSTALL_HINT}</code>")

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
        target = QGroupBox("Run on")
        tl = QVBoxLayout(target)
        row = QHBoxLayout()
        row.addWidget(self.run_here)
        row.addSpacing(16)
        row.addWidget(self.run_ray)
        row.addWidget(self.ray_address, 1)
        tl.addLayout(row)
        tl.addWidget(self.ray_note)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        lay = QVBoxLayout(self)
        lay.addWidget(src)
        lay.addWidget(target)
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
        """Start (or resume) scanning the chosen folder, where "Run on" says."""
        folder = self.folder.text().strip()
        if not folder or not Path(folder).is_dir():
            self._complain(f"'{folder}' is not a folder; choose one.")
            return
        if not self.inv.models:
            self._complain("No model is loaded: load a registry and a checkpoint first (File → Open registry…).")
            return
        session = self._new_session(folder)
        if session is None:
            return
        if self.session is not None:
            self.session.deleteLater()
        self.table_model.removeRows(0, self.table_model.rowCount())
        self._rows.clear()
        self.session = session
        session.changed.connect(self._update_row)
        session.progressed.connect(self._progress_timer.start)
        session.finished.connect(self._scan_finished)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.export_button.setEnabled(False)
        self.summary_label.setText("")
        self._update_progress()

    def _new_session(self, folder: str) -> ScanSession | ClusterScanSession | None:
        suffixes, recursive = parse_types(self.types.text()), self.recursive.isChecked()
        if not self.run_ray.isChecked():
            return ScanSession(self.inv, folder, recursive=recursive, suffixes=suffixes, parent=self)
        address = self.ray_address.text().strip()
        if not address:
            self._complain("Enter the Ray cluster's address ('local' starts Ray on this computer).")
            return None
        if self.inv.case is None:
            self._complain("No case is open yet; try again in a moment.")
            return None
        window_state.set_value(RAY_ADDRESS_KEY, address)
        from lfp_desktop.audit import default_actor

        actor = getattr(self.parent(), "actor", "") or default_actor()
        return ClusterScanSession(self.inv, folder, address=address, recursive=recursive, suffixes=suffixes,
                                  actor=actor, parent=self)

    def _complain(self, text: str) -> None:
        self.progress_label.setText(f"<span style='color:#c0392b'>{escape(text)}</span>")

    def cancel_scan(self) -> None:
        if self.session is not None:
            self.session.cancel()
            self.progress_label.setText("Cancelling…")

    def _scan_finished(self) -> None:
        self._update_progress()
        s = self.session
        self.start_button.setEnabled(True)
        self.start_button.setText("Resume scan" if s.cancelled or s.error else "Scan again")
        self.cancel_button.setEnabled(False)
        self.export_button.setEnabled(True)
        problem = f"<br><span style='color:#c0392b'>The scan stopped: {escape(s.error)}</span>" if s.error else ""
        self.summary_label.setText(s.summary().html() + problem)
        if isinstance(s, ClusterScanSession):
            self._show_cluster_results()

    def _show_cluster_results(self) -> None:
        """Reload the case so the main window lists what the cluster stored (only when the app's
        own workers are idle: reopening a case stops their work)."""
        pool = self.inv.pool
        if self.inv.case is not None and not pool.queued_count() and not pool.running_items():
            self.inv.open_case(self.inv.case.case_id)

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
        rate = s.images_per_second()
        speed = f", {rate:.3g} images/s" if rate else ""
        self.progress_label.setText(f"{found} on {s.target}: {', '.join(parts) or 'starting'}{speed}"
                                    f"{_eta_text(s.eta_seconds())}")

    def _update_row(self, key: str) -> None:
        s = self.session
        row = s.row(key) if s is not None else None
        if row is None:
            return
        path, error = str(row["file"]), str(row["error"])
        verdict = str(row["verdict"]) or _short_error(error, path)
        values = (path.replace("\\", "/").rsplit("/", 1)[-1], row["state"], verdict, row["user"], row["model"],
                  row["hamming_distance"], row["p_value"], str(row["sha256"])[:16])
        if key not in self._rows:
            self._rows[key] = self.table_model.rowCount()
            self.table_model.appendRow([QStandardItem() for _ in TABLE_COLUMNS])
        i = self._rows[key]
        for col, value in enumerate(values):
            item = self.table_model.item(i, col)
            item.setText("" if value is None else (format_p(value) if isinstance(value, float) else str(value)))
            item.setData(value if value is not None else "", Qt.ItemDataRole.UserRole)
        self.table_model.item(i, 0).setToolTip(path + (f"\n{error}" if error else ""))
        colour = VERDICT_COLOURS.get(verdict) if row["verdict"] else ("#c0392b" if row["state"] == "error" else None)
        if colour:
            self.table_model.item(i, 2).setForeground(QColor(colour))
        if error:
            self.table_model.item(i, 1).setToolTip(error)

    def _export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export scan results", "scan-results.csv", "CSV files (*.csv)")
        if path and self.session is not None:
            try:
                self.session.write_csv(Path(path))
            except OSError as exc:
                QMessageBox.warning(self, "Export failed", f"The CSV could not be written ({exc}).")
