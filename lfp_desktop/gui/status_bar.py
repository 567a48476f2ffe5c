"""The status bar: devices, loaded models, the open case and a progress indicator."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget

from lfp_desktop.engine.ldm_folder import model_kind_of
from lfp_desktop.gui.jobs import ModelInfo

KIND_NAMES = {"stylegan2": "StyleGAN2", "ldm": "latent diffusion"}


def model_kind_text(info: ModelInfo) -> str:
    """Human name of the kind of a loaded model (a folder is loaded as an LDM, a file as StyleGAN2)."""
    return KIND_NAMES[model_kind_of(info.spec.checkpoint_path)]


class _ElidedLabel(QLabel):
    """A one-line label that shrinks with an ellipsis instead of widening the window."""

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(60, super().minimumSizeHint().height())

    def paintEvent(self, _event) -> None:  # noqa: N802, ANN001 - Qt API
        p = QPainter(self)
        rect = self.contentsRect().adjusted(self.margin(), 0, -self.margin(), 0)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, rect.width())
        p.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)


class StatusBarWidget(QStatusBar):
    """Permanent fields on the right; ``set_progress`` shows a bar while work is pending."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.device_label = _ElidedLabel("Devices: starting…")
        self.registry_label = _ElidedLabel("Registry: none")
        self.checkpoint_label = _ElidedLabel("Model: none")
        self.case_label = _ElidedLabel("Case: none")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.set_progress(0, -1)
        self.addWidget(self.progress)
        for lab in (self.case_label, self.registry_label, self.checkpoint_label, self.device_label):
            self.addPermanentWidget(lab)

    def set_devices(self, devices: list[str]) -> None:
        self.device_label.setText("Workers: " + (", ".join(devices) if devices else "none"))

    def set_models(self, models: list[ModelInfo]) -> None:
        if not models:
            self.registry_label.setText("Registry: none")
            self.checkpoint_label.setText("Model: none")
            self.registry_label.setToolTip("")
            self.checkpoint_label.setToolTip("")
            return
        regs = ", ".join(f"{m.spec.registry_path.name} · {m.n_users} users" for m in models)
        ckpts = ", ".join(f"{m.spec.checkpoint_path.name} ({model_kind_text(m)}) · {m.checkpoint_sha256[:8]}"
                          for m in models)
        self.registry_label.setText(f"Registry: {regs}")
        self.checkpoint_label.setText(f"Model: {ckpts}")
        self.registry_label.setToolTip("\n".join(f"{m.name}: {m.spec.registry_path}\ndigest {m.registry_digest}"
                                                 for m in models))
        self.checkpoint_label.setToolTip("\n".join(f"{m.name}: {model_kind_text(m)} model {m.spec.checkpoint_path}"
                                                   f"\nSHA-256 {m.checkpoint_sha256}" for m in models))

    def set_case(self, text: str) -> None:
        self.case_label.setText(f"Case: {text}")

    def set_progress(self, done: int, total: int, text: str = "") -> None:
        """Show ``done`` of ``total`` (total 0: busy indicator; total < 0: idle). The bar stays
        in place when idle, so starting and ending work never re-lays out the window."""
        if total < 0:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("Idle")
            return
        self.progress.setRange(0, max(0, total))
        self.progress.setValue(done)
        self.progress.setFormat(text or "%v / %m")
