"""What the window's actions do: cases, models, intake, scans, reports, settings, and the
first-launch path that opens the bundled demo workspace."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from lfp_desktop.config import SettingsError, save_settings
from lfp_desktop.errors import LFPError
from lfp_desktop.gui import reporting, window_state
from lfp_desktop.gui.devices import cuda_device_count, plan_devices
from lfp_desktop.gui.evidence import row_key
from lfp_desktop.gui.jobs import ModelSpec
from lfp_desktop.gui.tasks import BackgroundTask

if TYPE_CHECKING:  # pragma: no cover
    from lfp_desktop.gui.main_window import MainWindow

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.gif);;All files (*)"


class WindowCommands(QObject):
    """Slots of the window's actions; long work goes to the Investigation or a BackgroundTask."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.w, self.inv = window, window.inv
        self.cuda_count: int | None = None
        self.demo: Any = None  # DemoWorkspace once prepared
        self.scan_dialog: Any = None
        self.error_box: QMessageBox | None = None
        self._tasks: list[BackgroundTask] = []
        self._pending_restart = False
        self.reports = reporting.ReportActions(window, self.inv.message.emit, window.actor)
        self.reports.exported.connect(self._report_exported)
        self._connect_actions()
        self._connect_investigation()
        self._refresh_recent()
        self._update_actions()

    # -- wiring ------------------------------------------------------------------------------
    def _connect_actions(self) -> None:
        a = self.w.actions_
        a.new_case.triggered.connect(self.new_case)
        a.open_case.triggered.connect(self.open_case)
        a.open_registry.triggered.connect(lambda: self.open_model(browse="registry"))
        a.open_checkpoint.triggered.connect(lambda: self.open_model(browse="checkpoint"))
        a.add_files.triggered.connect(self.add_files)
        a.add_folder.triggered.connect(self.add_folder)
        a.scan_folder.triggered.connect(self.scan_folder)
        a.export_report.triggered.connect(self.export_report)
        a.export_summary.triggered.connect(self.export_summary)
        a.quit.triggered.connect(self.w.close)
        a.rerun.triggered.connect(lambda: self.inv.rerun(self._targets()))
        a.cancel.triggered.connect(lambda: self.inv.cancel(self._targets()))
        a.cancel_all.triggered.connect(self.inv.cancel_all)
        a.verify_report.triggered.connect(lambda: self.reports.verify(window_state.value("paths/last_dir")))
        a.settings.triggered.connect(self.edit_settings)
        a.about.triggered.connect(self.about)
        self.w.evidence.set_context_actions([a.rerun, a.cancel, a.export_report])
        self.w.evidence.selection_changed.connect(lambda _k: self._update_actions())

    def _connect_investigation(self) -> None:
        inv = self.inv
        inv.models_changed.connect(self._models_changed)
        inv.model_load_failed.connect(self._model_failed)
        inv.loading_changed.connect(self._loading_changed)
        inv.case_opened.connect(self._case_opened)
        inv.case_failed.connect(self._case_failed)
        inv.busy_changed.connect(self._busy_changed)
        inv.record_changed.connect(lambda _k: self._progress_timer.start())
        self._progress_timer = QTimer(self, singleShot=True, interval=200)
        self._progress_timer.timeout.connect(self._update_progress)

    def _targets(self) -> list[str]:
        keys = self.w.evidence.selected_keys()
        return keys or ([self.w.current_key()] if self.w.current_key() else [])

    def _update_actions(self) -> None:
        a, has_case = self.w.actions_, self.inv.case is not None
        for act in (a.add_files, a.add_folder, a.scan_folder):
            act.setEnabled(has_case)
        a.rerun.setEnabled(bool(self._targets()) and bool(self.inv.models))
        a.cancel.setEnabled(bool(self._targets()))
        can_export = reporting.export_available()
        for act in (a.export_report, a.export_summary):
            act.setEnabled(can_export and has_case)
            act.setToolTip(act.statusTip() if can_export else reporting.EXPORT_UNAVAILABLE)

    def _start_task(self, fn: Any, ok: Any, failed: Any, name: str) -> BackgroundTask:
        task = BackgroundTask(fn, self, name)
        task.succeeded.connect(ok)
        task.failed.connect(failed)
        self._tasks.append(task)
        task.finished.connect(lambda: self._tasks.remove(task) if task in self._tasks else None)
        task.start()
        return task

    # -- start-up --------------------------------------------------------------------------
    def start(self) -> None:
        """Probe devices and start workers, load the saved models (or the demo), open the last case."""
        self.w.status.set_progress(0, 0, "Starting…")
        self._start_task(cuda_device_count, self._devices_probed, self._devices_failed, "lfp-probe")
        specs = window_state.saved_models()
        if specs:
            for spec in specs:
                self.inv.load_model(spec)
            self._open_initial_case("Investigation")
        else:
            self.w.hint.show_hint("Preparing the bundled demo workspace (a registry of 1 000 users and demo "
                                  "evidence)…")
            from lfp_desktop.demo.workspace import ensure_demo_workspace

            self._start_task(ensure_demo_workspace, self._demo_ready, self._demo_failed, "lfp-demo")

    def _open_initial_case(self, title: str) -> None:
        last = window_state.value("case/last_id")
        self.inv.open_case(last or None, title)

    def _devices_probed(self, count: int) -> None:
        self.cuda_count = count
        self._start_workers()

    def _devices_failed(self, message: str) -> None:
        self.inv.message.emit("error", f"device probe failed ({message}); using the CPU")
        self.cuda_count = 0
        self._start_workers()

    def _start_workers(self) -> None:
        s = self.w.settings
        try:
            devices = plan_devices(s.device, s.workers, self.cuda_count or 0)
        except LFPError as exc:
            self.inv.message.emit("warning", f"{exc}; using one CPU worker meanwhile")
            devices = ["cpu"]
        self.inv.start_workers(devices)
        self.w.status.set_devices(devices)
        self.inv.message.emit("info", f"workers started on {', '.join(devices)}")
        self._update_progress()

    def _demo_ready(self, ws: Any) -> None:
        self.demo = ws
        self.inv.load_model(ModelSpec(ws.registry_path, ws.checkpoint_path))
        self._open_initial_case("Demo investigation")
        self.w.hint.show_hint(
            "<b>Demo workspace open.</b> No registry was configured, so LFP Desktop loaded its bundled demo: a "
            "small face generator and a registry of 1 000 users. Drop images from the demo evidence folder "
            f"(<code>{ws.evidence_dir}</code>) on the window, or scan the whole folder.", "Scan demo evidence…")
        self.w.hint.action_clicked.connect(lambda: self.scan_folder(str(ws.evidence_dir)))

    def _demo_failed(self, message: str) -> None:
        self._open_initial_case("Investigation")
        self.w.hint.show_hint(f"<b>The bundled demo could not be opened</b> ({message}). Load a registry and its "
                              "checkpoint with File → Open registry…", "Open registry…")
        self.w.hint.action_clicked.connect(lambda: self.open_model(browse="registry"))
        self.inv.message.emit("warning", f"demo workspace not available: {message}")

    # -- cases -----------------------------------------------------------------------------
    def new_case(self) -> None:
        title, ok = QInputDialog.getText(self.w, "New case", "Case title:")
        if ok and title.strip():
            self.inv.open_case(None, title.strip())

    def open_case(self) -> None:
        from lfp_desktop.casework import CaseStore
        from lfp_desktop.gui.case_dialog import OpenCaseDialog

        dlg = OpenCaseDialog(CaseStore().list_cases(), self.w)
        if dlg.exec() and dlg.chosen_case_id():
            self.inv.open_case(dlg.chosen_case_id())

    def _case_opened(self, summary: Any) -> None:
        window_state.set_value("case/last_id", summary.case_id)
        self.w.status.set_case(f"{summary.case_id} — {summary.title}")
        self.w.setWindowTitle(f"{summary.title} ({summary.case_id}) — LFP Desktop")
        self.inv.message.emit("info", f"case {summary.case_id} open: {summary.title} (folder {summary.folder})")
        self._update_actions()

    def _case_failed(self, message: str) -> None:
        self.inv.message.emit("error", f"case not opened: {message}")
        if self.inv.case is None:  # e.g. the last case was deleted: start a fresh one
            window_state.set_value("case/last_id", "")
            self.inv.open_case(None, "Investigation")

    # -- models ----------------------------------------------------------------------------
    def open_model(self, browse: str = "") -> None:
        """Ask for a registry and a checkpoint (``browse`` opens that file chooser first)."""
        from lfp_desktop.gui.model_dialog import CHECKPOINT_FILTER, REGISTRY_FILTER, LoadModelDialog

        start = window_state.value("paths/model_dir")
        dlg = LoadModelDialog(start_dir=start, parent=self.w)
        if browse:
            edit, filt = (dlg.registry, REGISTRY_FILTER) if browse == "registry" else (dlg.checkpoint, CHECKPOINT_FILTER)
            path, _ = QFileDialog.getOpenFileName(self.w, f"Choose {browse}", start, filt)
            if not path:
                return
            edit.setText(path)
            window_state.set_value("paths/model_dir", str(Path(path).parent))
        if dlg.exec():
            self.inv.load_model(dlg.spec())

    def _models_changed(self) -> None:
        models = list(self.inv.models.values())
        self.w.status.set_models(models)
        if self.demo is None or any(m.spec.registry_path != self.demo.registry_path for m in models):
            window_state.save_models([m.spec for m in models])
        self.close_model_menu_fill()
        self._update_actions()

    def close_model_menu_fill(self) -> None:
        menu = self.w.close_model_menu
        menu.clear()
        for key, m in self.inv.models.items():
            menu.addAction(f"{m.name} ({m.spec.checkpoint_path.name})", lambda k=key: self.inv.unload_model(k))
        menu.setEnabled(bool(self.inv.models))

    def _model_failed(self, spec: ModelSpec, message: str) -> None:
        self.error_box = QMessageBox(QMessageBox.Icon.Critical, "Model not loaded",
                                     f"{spec.registry_path.name} and {spec.checkpoint_path.name} were not loaded; "
                                     f"nothing was changed.\n\n{message}", parent=self.w)
        self.error_box.open()

    def _loading_changed(self, n: int) -> None:
        if n:
            self.w.status.set_progress(0, 0, f"Loading {n} model(s)…")
        else:
            self._update_progress()

    # -- intake and analysis ---------------------------------------------------------------
    def add_paths(self, paths: list[str]) -> None:
        """Take files and folders into the case (drops, Add files/folder, recent files)."""
        if self.inv.case is None:
            self.inv.message.emit("warning", "no case is open yet; try again in a moment")
            return
        self.inv.add_paths(paths)
        window_state.add_recent(self.w.settings, paths)
        window_state.set_value("paths/last_dir", str(Path(paths[0]).parent))
        self._refresh_recent()
        self.inv.message.emit("info", f"taking in {len(paths)} path(s)")

    def add_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self.w, "Add evidence files", window_state.value("paths/last_dir"),
                                                IMAGE_FILTER)
        if paths:
            self.add_paths(paths)

    def add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self.w, "Add evidence folder", window_state.value("paths/last_dir"))
        if path:
            self.add_paths([path])

    def scan_folder(self, folder: str = "") -> None:
        from lfp_desktop.gui.batch_scan_dialog import BatchScanDialog

        if self.scan_dialog is None:
            self.scan_dialog = BatchScanDialog(self.inv, folder or window_state.value("paths/last_dir"), self.w)
        elif folder:
            self.scan_dialog.folder.setText(folder)
        self.scan_dialog.show()
        self.scan_dialog.raise_()

    def _refresh_recent(self) -> None:
        menu = self.w.recent_menu
        menu.clear()
        for p in self.w.settings.recent_files:
            menu.addAction(p, lambda p=p: self.add_paths([p]))
        menu.setEnabled(bool(self.w.settings.recent_files))

    def _busy_changed(self, busy: bool) -> None:
        self.w.actions_.cancel_all.setEnabled(busy)
        if not busy and self._pending_restart:
            self._pending_restart = False
            self._start_workers()
        self._update_progress()

    def _update_progress(self) -> None:
        if self.inv.loading_count:
            return
        states = [r.overall_status() for r in self.inv.records.values()]
        pending = states.count("queued") + states.count("running")
        if not pending:
            self.w.status.set_progress(0, -1)
            return
        total = pending + states.count("done")
        self.w.status.set_progress(states.count("done"), total,
                                   f"{states.count('running')} running, {states.count('queued')} queued")

    def export_report(self) -> None:
        rec = self.inv.records.get(self.w.current_key())
        if rec is None or rec.item_id is None or not rec.outcomes:
            QMessageBox.information(self.w, "Export report", "Select an analysed evidence item first.")
            return
        self.reports.export(self.inv.case.case_id, rec.item_id, f"{Path(rec.file_name).stem}-report.pdf")

    def export_summary(self) -> None:
        if not any(r.outcomes for r in self.inv.records.values()):
            QMessageBox.information(self.w, "Export case summary", "No item of this case has been analysed yet.")
            return
        case = self.inv.case.case_id
        self.reports.export(case, None, f"{case}-summary.pdf")

    def _report_exported(self, item_id: int | None) -> None:
        if item_id is not None:
            self.inv.request_custody(row_key(self.inv.case.case_id, item_id))

    # -- settings and about ----------------------------------------------------------------
    def edit_settings(self) -> None:
        from lfp_desktop.gui.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.w.settings, self.cuda_count or 0, self.w)
        if dlg.exec():
            self.apply_settings(dlg.result_settings())

    def apply_settings(self, new: Any) -> None:
        """Use and save new settings; device and worker changes restart the pool when idle."""
        old, self.w.settings = self.w.settings, new
        self.inv.apply_settings(new)
        self.save_settings()
        if (old.device, old.workers) != (new.device, new.workers) and self.cuda_count is not None:
            if self.inv.pool.queued_count() or self.inv.pool.running_items():
                self._pending_restart = True
                self.inv.message.emit("info", "the new device settings apply when the running analyses end")
            else:
                self._start_workers()

    def shutdown(self, timeout_ms: int = 120_000) -> None:
        """Let background tasks (demo preparation, device probe, reports) finish; they cannot be
        interrupted safely half-way, and a thread must not outlive the application."""
        for task in list(self._tasks) + list(self.reports.tasks):
            task.wait(timeout_ms)

    def save_settings(self) -> None:
        try:
            save_settings(self.w.settings)
        except (SettingsError, OSError) as exc:
            self.inv.message.emit("error", f"settings not saved: {exc}")

    def about(self) -> None:
        from lfp_desktop.gui.about_dialog import AboutDialog

        AboutDialog(list(self.inv.models.values()), self.inv.pool.devices, self.w).exec()

