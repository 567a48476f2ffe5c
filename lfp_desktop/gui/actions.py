"""The window's actions (menus, shortcuts, toolbar) in one place."""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QStyle, QToolBar


@dataclass
class WindowActions:
    new_case: QAction
    open_case: QAction
    open_registry: QAction
    open_checkpoint: QAction
    add_files: QAction
    add_folder: QAction
    scan_folder: QAction
    export_report: QAction
    export_summary: QAction
    quit: QAction
    rerun: QAction
    cancel: QAction
    cancel_all: QAction
    verify_report: QAction
    settings: QAction
    about: QAction


_SPEC = {  # name: (text, shortcut, status tip)
    "new_case": ("&New case…", QKeySequence.StandardKey.New, "Start a new case"),
    "open_case": ("&Open case…", QKeySequence.StandardKey.Open, "Open an existing case"),
    "open_registry": ("Open &registry…", "Ctrl+R", "Load a key registry with its generator checkpoint"),
    "open_checkpoint": ("Open chec&kpoint…", "Ctrl+Shift+K", "Load a generator checkpoint with its registry"),
    "add_files": ("&Add files…", "Ctrl+I", "Take image files into the case and analyse them"),
    "add_folder": ("Add &folder…", "Ctrl+Shift+I", "Take every image of a folder into the case"),
    "scan_folder": ("&Scan folder…", "Ctrl+B", "Batch scan a folder with progress, summary and CSV export"),
    "export_report": ("&Export report…", "Ctrl+E", "Write the signed PDF report of the selected item"),
    "export_summary": ("Export case &summary…", "Ctrl+Shift+E", "Write the signed summary report of the whole case"),
    "quit": ("&Quit", QKeySequence.StandardKey.Quit, "Quit LFP Desktop"),
    "rerun": ("&Re-run selected", "F5", "Analyse the selected items again with the current settings"),
    "cancel": ("&Cancel selected", "Ctrl+Backspace", "Cancel the analysis of the selected items"),
    "cancel_all": ("Cancel &all", "Ctrl+Shift+Backspace", "Cancel every queued and running analysis"),
    "verify_report": ("&Verify report…", "Ctrl+Shift+V", "Check the signature and contents of a report PDF"),
    "settings": ("&Settings…", QKeySequence.StandardKey.Preferences, "Device, starts, steps, loss, FPR, workers"),
    "about": ("&About LFP Desktop", "", "Version, method and folders"),
}
_ICONS = {"add_files": QStyle.StandardPixmap.SP_FileIcon, "add_folder": QStyle.StandardPixmap.SP_DirIcon,
          "open_registry": QStyle.StandardPixmap.SP_DialogOpenButton,
          "scan_folder": QStyle.StandardPixmap.SP_FileDialogContentsView,
          "rerun": QStyle.StandardPixmap.SP_BrowserReload, "cancel": QStyle.StandardPixmap.SP_BrowserStop,
          "export_report": QStyle.StandardPixmap.SP_DialogSaveButton}


def make_actions(window: QMainWindow) -> WindowActions:
    made = {}
    for f in fields(WindowActions):
        text, shortcut, tip = _SPEC[f.name]
        a = QAction(text, window)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setStatusTip(tip)
        a.setToolTip(tip)
        if f.name in _ICONS:
            a.setIcon(window.style().standardIcon(_ICONS[f.name]))
        made[f.name] = a
    return WindowActions(**made)


def build_menus(window: QMainWindow, a: WindowActions) -> tuple[QMenu, QMenu, QMenu]:
    """Create the menu bar and toolbar; returns (recent files, close model, view) menus to fill later."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addActions([a.new_case, a.open_case])
    file_menu.addSeparator()
    file_menu.addActions([a.open_registry, a.open_checkpoint])
    close_model = file_menu.addMenu("C&lose model")
    file_menu.addSeparator()
    file_menu.addActions([a.add_files, a.add_folder])
    recent = file_menu.addMenu("Recent &files")
    file_menu.addSeparator()
    file_menu.addActions([a.export_report, a.export_summary])
    file_menu.addSeparator()
    file_menu.addAction(a.quit)
    analysis = bar.addMenu("&Analysis")
    analysis.addActions([a.scan_folder])
    analysis.addSeparator()
    analysis.addActions([a.rerun, a.cancel, a.cancel_all])
    tools = bar.addMenu("&Tools")
    tools.addActions([a.verify_report])
    tools.addSeparator()
    tools.addAction(a.settings)
    view = bar.addMenu("&View")
    bar.addMenu("&Help").addAction(a.about)
    tb = QToolBar("Main toolbar", window)
    tb.setObjectName("mainToolbar")
    tb.setMovable(False)
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    tb.addActions([a.open_registry, a.add_files, a.add_folder, a.scan_folder])
    tb.addSeparator()
    tb.addActions([a.rerun, a.cancel])
    tb.addSeparator()
    tb.addAction(a.export_report)
    window.addToolBar(tb)
    return recent, close_model, view
