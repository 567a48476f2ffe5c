"""The investigation window: evidence list (left), images and live curves (centre), verdict
(right), log and custody (bottom). It wires widgets to the Investigation and holds no logic
of its own beyond choosing what to show."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QSplitter, QVBoxLayout, QWidget

from lfp_desktop import __version__
from lfp_desktop.config import Settings
from lfp_desktop.gui import window_state
from lfp_desktop.gui.actions import build_menus, make_actions
from lfp_desktop.gui.evidence_list import EvidenceListWidget
from lfp_desktop.gui.hint_bar import HintBarWidget
from lfp_desktop.gui.image_view import ImageViewWidget
from lfp_desktop.gui.investigation import Investigation
from lfp_desktop.gui.log_panel import LogPanelWidget
from lfp_desktop.gui.plot_panel import PlotPanelWidget
from lfp_desktop.gui.result_panel import ResultPanelWidget
from lfp_desktop.gui.status_bar import StatusBarWidget
from lfp_desktop.gui.window_commands import WindowCommands

LIVE_MS = 150


def dropped_paths(mime) -> list[str]:  # noqa: ANN001 - QMimeData
    """Local file and folder paths of a drag (empty when it carries anything else)."""
    if not mime.hasUrls():
        return []
    urls = mime.urls()
    paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
    return paths if len(paths) == len(urls) else []


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings, actor: str):
        super().__init__()
        self.setWindowTitle(f"LFP Desktop {__version__}")
        self.setObjectName("lfpMainWindow")
        self.settings = settings
        self.actor = actor
        self.inv = Investigation(actor, settings, self)
        self.evidence = EvidenceListWidget(self.inv)
        self.images = ImageViewWidget()
        self.plots = PlotPanelWidget()
        self.result = ResultPanelWidget()
        self.log = LogPanelWidget()
        self.hint = HintBarWidget()
        self.status = StatusBarWidget()
        self.setStatusBar(self.status)
        self.actions_ = make_actions(self)
        self.recent_menu, self.close_model_menu, self.view_menu = build_menus(self, self.actions_)
        self._current = ""
        self._build_layout()
        self.commands = WindowCommands(self)
        self._wire()
        self.setAcceptDrops(True)
        self.live_timer = QTimer(self, interval=LIVE_MS)
        self.live_timer.timeout.connect(self._live_tick)
        self.live_timer.start()
        if not window_state.restore_window(self):
            self.resize(1380, 860)

    # -- layout ------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        centre = QWidget()
        lay = QVBoxLayout(centre)
        lay.setContentsMargins(6, 6, 6, 0)
        lay.addWidget(self.hint)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.images)
        split.addWidget(self.plots)
        split.setSizes([280, 410])
        lay.addWidget(split, 1)
        self.setCentralWidget(centre)
        self._dock("Evidence", "evidenceDock", self.evidence, Qt.DockWidgetArea.LeftDockWidgetArea, 480)
        self._dock("Result", "resultDock", self.result, Qt.DockWidgetArea.RightDockWidgetArea, 400)
        self._dock("Log and custody", "logDock", self.log, Qt.DockWidgetArea.BottomDockWidgetArea, 0)
        for w in (self.log.log_view, self.evidence.filter_edit):
            w.setAcceptDrops(False)  # a dropped file anywhere goes to intake, not into a text field

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea, width: int) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        if width:
            self.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        else:
            self.resizeDocks([dock], [170], Qt.Orientation.Vertical)
        self.view_menu.addAction(dock.toggleViewAction())
        return dock

    def _wire(self) -> None:
        inv = self.inv
        inv.message.connect(self.log.append)
        inv.record_changed.connect(self._record_changed)
        inv.step_reported.connect(self._step_reported)
        inv.custody_loaded.connect(self._custody_loaded)
        inv.records_reset.connect(lambda: self._show(""))
        self.evidence.current_changed.connect(self._show)
        self.result.model_chosen.connect(lambda _m: self._show(self._current, keep_model=True))

    # -- showing the current item ----------------------------------------------------------
    def current_key(self) -> str:
        return self._current

    def _show(self, key: str, keep_model: bool = False) -> None:
        changed = key != self._current
        self._current = key
        rec = self.inv.records.get(key)
        model = self.result.current_model() if keep_model else ""
        self.result.show_record(rec, model, {k: m.name for k, m in self.inv.models.items()})
        model = self.result.current_model() or self._running_model(key)
        out = rec.outcomes.get(model) if rec else None
        if out is not None:
            fit = rec.fit_notes.get(int(out.image.shape[0]), "")
            self.images.show_images(out.image, out.reconstruction, _caption(rec, out.image, fit),
                                    f"winning start {out.winning_start}, {out.record.get('steps_run')} steps")
        elif rec is not None:
            fitted = next(iter(rec.fitted.values()), rec.thumbnail)
            self.images.show_images(fitted, None, _caption(rec, fitted, ""), "")
        else:
            self.images.clear()
        self.plots.show_buffer(self.inv.curves.get((key, model)))
        if changed:
            self.log.clear_custody()
            self.inv.request_custody(key)

    def _running_model(self, key: str) -> str:
        rec = self.inv.records.get(key)
        if rec is None:
            return ""
        return next((m for m, s in rec.status.items() if s == "running"), next(iter(rec.status), ""))

    def _record_changed(self, key: str) -> None:
        if key == self._current:
            self._show(key, keep_model=True)
            self.inv.request_custody(key)

    def _step_reported(self, key: str, model_key: str) -> None:
        if key == self._current and not self.inv.records[key].outcomes.get(model_key):
            self.plots.show_buffer(self.inv.curves.get((key, model_key)))

    def _live_tick(self) -> None:
        rec = self.inv.records.get(self._current)
        if rec is None or rec.outcomes or rec.overall_status() != "running":
            return
        buf = self.inv.curves.get((self._current, self._running_model(self._current)))
        if buf is not None:
            self.result.show_live(buf)

    def _custody_loaded(self, key: str, entries: list) -> None:
        if key == self._current:
            self.log.show_custody(entries)

    # -- drag and drop ---------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.commands.add_paths(paths)

    # -- closing ---------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        window_state.save_window(self)
        self.commands.save_settings()
        self.plots.timer.stop()
        self.live_timer.stop()
        self.inv.shutdown()
        self.commands.shutdown()
        super().closeEvent(event)


def _caption(rec, image, fit: str) -> str:  # noqa: ANN001 - EvidenceRecord, ndarray
    if image is None:
        return ""
    size = f"{image.shape[1]}×{image.shape[0]} px"
    original = f"from {rec.width}×{rec.height} {rec.format}" if rec.width else ""
    return " ".join(x for x in (size, original) if x) + (f"\n{fit}" if fit and not fit.startswith("none") else "")
