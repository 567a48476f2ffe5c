"""Settings: device, starts, steps, early stopping, blur and JPEG models, loss and LPIPS backbone, target FPR,
workers and images per job. Invalid values are refused inline (OK stays disabled)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from lfp_desktop.config import Settings, SettingsError

LOSSES = (("pixel", "Pixel (mean squared error)"), ("lpips-vgg", "LPIPS, VGG backbone"),
          ("lpips-alex", "LPIPS, AlexNet backbone"))
STATISTICS = (("hamming", "Differing bits (Hamming)"), ("weighted", "Differing bits weighted by confidence"))


def parse_fpr(text: str) -> float:
    """A target false-attribution probability typed as '1e-6' or '0.000001'."""
    try:
        value = float(text.strip())
    except ValueError:
        raise SettingsError(f"target FPR '{text}' is not a number; write it like 1e-6") from None
    if not math.isfinite(value) or not 0.0 < value < 1.0:
        raise SettingsError("target FPR must be between 0 and 1 (exclusive), e.g. 1e-6")
    return value


class SettingsDialog(QDialog):
    """Edit a copy of Settings; ``result_settings()`` gives the validated copy after OK."""

    def __init__(self, settings: Settings, cuda_devices: int = 0, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._base = settings
        self.device = QComboBox(editable=True)
        self.device.addItems(["auto", "cpu"] + (["cuda"] + [f"cuda:{i}" for i in range(cuda_devices)] if cuda_devices else []))
        self.device.setCurrentText(settings.device)
        self.starts = _spin(1, 256, settings.starts)
        self.steps = _spin(1, 100_000, settings.steps)
        self.early = QCheckBox("Stop an image once its key has settled, drop losing starts")
        self.early.setChecked(settings.early_stopping)
        self.blur = _spin(0, 12, settings.blur_radius)
        self.blur.setSpecialValueText("off")
        self.blur.setSuffix(" px")
        self.blur.setToolTip("For evidence that was blurred, resized or re-compressed after it was made: "
                             "fit a blur of up to this radius alongside the key. Slower; off for clean images.")
        self.jpeg = QCheckBox("Compare JPEG evidence where the file stored it")
        self.jpeg.setChecked(settings.jpeg_model)
        self.jpeg.setToolTip("A JPEG at the model's resolution is compared inside its file's quantisation "
                             "intervals instead of pixel by pixel, so the codec's block artefacts do not "
                             "mislead the search. Needs early stopping on (the reference procedure compares pixels).")
        self.loss = QComboBox()
        for value, label in LOSSES:
            self.loss.addItem(label, value)
        self.loss.setCurrentIndex(max(0, [v for v, _ in LOSSES].index(settings.loss) if settings.loss in dict(LOSSES) else 0))
        self.backbone = QLineEdit(settings.lpips_backbone, placeholderText="backbone weights file (.pth)")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._pick_backbone)
        self.statistic = QComboBox()
        for value, label in STATISTICS:
            self.statistic.addItem(label, value)
        self.statistic.setCurrentIndex(max(0, self.statistic.findData(settings.statistic)))
        self.statistic.setToolTip("How the key read from an image is compared with the registered keys. "
                                  "Weighted: a differing bit counts by how confidently it was read, which "
                                  "helps with degraded evidence; the chance probability is exact for both.")
        self.fpr = QLineEdit(f"{settings.target_fpr:g}")
        self.workers = _spin(0, 64, settings.workers)
        self.workers.setSpecialValueText("one per GPU (or one CPU worker)")
        self.per_job = _spin(1, 64, settings.images_per_job)
        self.error = QLabel("", objectName="errorLabel")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._layout()
        for w in (self.starts, self.steps, self.blur, self.workers, self.per_job):
            w.valueChanged.connect(self._revalidate)
        for e in (self.fpr, self.backbone):
            e.textChanged.connect(self._revalidate)
        self.device.currentTextChanged.connect(self._revalidate)
        self.loss.currentIndexChanged.connect(self._revalidate)
        self.statistic.currentIndexChanged.connect(self._revalidate)
        self.early.toggled.connect(self._revalidate)
        self.jpeg.toggled.connect(self._revalidate)
        self._revalidate()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Device:", self.device)
        form.addRow("Starts per image:", self.starts)
        form.addRow("Maximum steps:", self.steps)
        form.addRow("", self.early)
        form.addRow("Blur model:", self.blur)
        form.addRow("JPEG model:", self.jpeg)
        form.addRow("Loss:", self.loss)
        row = QHBoxLayout()
        row.addWidget(self.backbone, 1)
        row.addWidget(self.browse)
        form.addRow("LPIPS backbone:", row)
        form.addRow("Key comparison:", self.statistic)
        form.addRow("Target FPR:", self.fpr)
        form.addRow("Workers:", self.workers)
        form.addRow("Images per job:", self.per_job)
        note = QLabel("Device and worker changes apply when no analysis is running.")
        note.setStyleSheet("color: #5f6b7a;")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(note)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)

    def _pick_backbone(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "LPIPS backbone weights", self.backbone.text(),
                                              "PyTorch weights (*.pth *.pt);;All files (*)")
        if path:
            self.backbone.setText(path)

    def _collect(self) -> Settings:
        lpips = str(self.loss.currentData()).startswith("lpips")
        self.backbone.setEnabled(lpips)
        self.browse.setEnabled(lpips)
        self.jpeg.setEnabled(self.early.isChecked() and not lpips)
        s = dataclasses.replace(self._base, device=self.device.currentText().strip(), starts=self.starts.value(),
                                steps=self.steps.value(), early_stopping=self.early.isChecked(),
                                blur_radius=self.blur.value(), statistic=str(self.statistic.currentData()),
                                jpeg_model=self.jpeg.isChecked(),
                                loss=str(self.loss.currentData()), lpips_backbone=self.backbone.text().strip(),
                                target_fpr=parse_fpr(self.fpr.text()), workers=self.workers.value(),
                                images_per_job=self.per_job.value())
        s.validate()
        if lpips and not Path(s.lpips_backbone).is_file():
            raise SettingsError("the LPIPS loss needs its backbone weights file: choose it with Browse…, "
                                "or use the pixel loss")
        return s

    def _revalidate(self) -> None:
        try:
            self._collect()
        except SettingsError as exc:
            self.error.setText(str(exc))
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            return
        self.error.setText("")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)

    def result_settings(self) -> Settings:
        """The validated settings as edited (raises SettingsError if invalid)."""
        return self._collect()


def _spin(lo: int, hi: int, value: int) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setValue(value)
    s.setAccelerated(True)
    return s
