"""Choose a (registry, checkpoint) pair to load; the hash check happens on a worker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from lfp_desktop.gui.jobs import ModelSpec

REGISTRY_FILTER = "Key registries (*.lfpreg *.sqlite *.db);;All files (*)"
CHECKPOINT_FILTER = "Generator checkpoints (*.pt *.pth *.ckpt *.pkl);;All files (*)"


class LoadModelDialog(QDialog):
    """Two file fields; OK is enabled when both name existing files."""

    def __init__(self, registry: str = "", checkpoint: str = "", start_dir: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Load registry and checkpoint")
        self.start_dir = start_dir
        self.registry = QLineEdit(registry, placeholderText="key registry (.lfpreg)")
        self.checkpoint = QLineEdit(checkpoint, placeholderText="generator checkpoint (.pt / .pkl)")
        self.error = QLabel("", objectName="errorLabel")
        self.error.setWordWrap(True)
        intro = QLabel("A registry holds the fingerprint scheme of one generator; load it together with that "
                       "generator's checkpoint. The checkpoint's SHA-256 is checked against the scheme.")
        intro.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Load")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Registry:", self._row(self.registry, "Choose registry", REGISTRY_FILTER))
        form.addRow("Checkpoint:", self._row(self.checkpoint, "Choose checkpoint", CHECKPOINT_FILTER))
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self.registry.textChanged.connect(self._revalidate)
        self.checkpoint.textChanged.connect(self._revalidate)
        self.resize(620, 200)
        self._revalidate()

    def _row(self, edit: QLineEdit, title: str, filters: str) -> QHBoxLayout:
        row = QHBoxLayout()
        button = QPushButton("Browse…")
        button.clicked.connect(lambda: self._browse(edit, title, filters))
        row.addWidget(edit, 1)
        row.addWidget(button)
        return row

    def _browse(self, edit: QLineEdit, title: str, filters: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, edit.text() or self.start_dir, filters)
        if path:
            edit.setText(path)

    def problem(self) -> str:
        """Why the pair cannot be loaded yet ('' when both files exist)."""
        for name, edit in (("registry", self.registry), ("checkpoint", self.checkpoint)):
            text = edit.text().strip()
            if not text:
                return f"Choose the {name} file."
            if not Path(text).is_file():
                return f"The {name} file {text} does not exist."
        return ""

    def _revalidate(self) -> None:
        why = self.problem()
        self.error.setText(why if (self.registry.text() or self.checkpoint.text()) else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not why)

    def spec(self) -> ModelSpec:
        return ModelSpec(Path(self.registry.text().strip()), Path(self.checkpoint.text().strip()))
