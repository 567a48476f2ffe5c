"""Choose a (registry, model) pair to load; the hash check happens on a worker.

The model is a StyleGAN2 checkpoint file or a latent diffusion model folder (diffusers layout)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPushButton, QVBoxLayout, QWidget)

from lfp_desktop.engine.ldm_folder import looks_like_ldm_folder
from lfp_desktop.gui.jobs import ModelSpec

REGISTRY_FILTER = "Key registries (*.lfpreg *.sqlite *.db);;All files (*)"
CHECKPOINT_FILTER = "Generator checkpoints (*.pt *.pth *.ckpt *.pkl);;All files (*)"


class LoadModelDialog(QDialog):
    """A registry file and a model (checkpoint file or LDM folder); OK is enabled when both exist."""

    def __init__(self, registry: str = "", checkpoint: str = "", start_dir: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Load registry and checkpoint")
        self.start_dir = start_dir
        self.registry = QLineEdit(registry, placeholderText="key registry (.lfpreg)")
        self.checkpoint = QLineEdit(checkpoint, placeholderText="StyleGAN2 checkpoint (.pt / .pkl) or LDM folder")
        self.kind = QLabel("", objectName="modelKindLabel")
        self.error = QLabel("", objectName="errorLabel")
        self.error.setWordWrap(True)
        intro = QLabel("A registry holds the fingerprint scheme of one generator; load it together with that "
                       "generator: a StyleGAN2 checkpoint file, or the folder of a latent diffusion model "
                       "(unet/, vqvae/ or vae/, scheduler/). Its SHA-256 is checked against the scheme.")
        intro.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Load")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Registry:", self._row(self.registry, "Choose registry", REGISTRY_FILTER))
        model_row = self._row(self.checkpoint, "Choose checkpoint", CHECKPOINT_FILTER)
        folder_button = QPushButton("Folder…")
        folder_button.setToolTip("Choose the folder of a latent diffusion model")
        folder_button.clicked.connect(self._browse_folder)
        model_row.addWidget(folder_button)
        form.addRow("Model:", model_row)
        form.addRow("", self.kind)
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

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose latent diffusion model folder",
                                                self.checkpoint.text() or self.start_dir)
        if path:
            self.checkpoint.setText(path)

    def model_kind(self) -> str:
        """'ldm' for an LDM folder, 'stylegan2' for an existing file, '' otherwise."""
        path = Path(self.checkpoint.text().strip())
        if looks_like_ldm_folder(path):
            return "ldm"
        return "stylegan2" if self.checkpoint.text().strip() and path.is_file() else ""

    def problem(self) -> str:
        """Why the pair cannot be loaded yet ('' when the registry and the model exist)."""
        reg = self.registry.text().strip()
        if not reg:
            return "Choose the registry file."
        if not Path(reg).is_file():
            return f"The registry file {reg} does not exist."
        model = self.checkpoint.text().strip()
        if not model:
            return "Choose the checkpoint file or model folder."
        if Path(model).is_dir() and not looks_like_ldm_folder(model):
            return (f"The folder {model} is not a latent diffusion model (expected the diffusers layout: "
                    "unet/, vqvae/ or vae/, scheduler/).")
        if not Path(model).exists():
            return f"The checkpoint file or model folder {model} does not exist."
        return ""

    def _revalidate(self) -> None:
        kind = self.model_kind()
        self.kind.setText({"ldm": "Latent diffusion model (folder)", "stylegan2": "StyleGAN2 checkpoint"}.get(kind, ""))
        why = self.problem()
        self.error.setText(why if (self.registry.text() or self.checkpoint.text()) else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not why)

    def spec(self) -> ModelSpec:
        return ModelSpec(Path(self.registry.text().strip()), Path(self.checkpoint.text().strip()))
