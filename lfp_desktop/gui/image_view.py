"""The suspect image as analysed, the generator's reconstruction and their difference."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from lfp_desktop.gui.theme import to_qimage

DIFF_GAIN = 4  # differences of a few grey levels must be visible


def difference_image(a: np.ndarray, b: np.ndarray, gain: int = DIFF_GAIN) -> np.ndarray:
    """|a − b| · gain, clipped: uint8 (H, W, 3) from two uint8 (H, W, 3) images."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)) * gain
    return np.clip(diff, 0, 255).astype(np.uint8)


class _Canvas(QWidget):
    """Draws one image scaled to fit, pixels kept sharp (small images are enlarged)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._image: QImage | None = None
        self.setMinimumSize(96, 96)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: np.ndarray | None) -> None:
        self._image = None if image is None else to_qimage(image)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(220, 220)

    def paintEvent(self, _event) -> None:  # noqa: N802, ANN001 - Qt API
        with QPainter(self) as p:  # ended here, whatever keeps the frame alive
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        p.fillRect(self.rect(), QColor("#1e232b"))
        if self._image is None:
            p.setPen(QColor("#8b95a5"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "—")
            return
        w, h = self._image.width(), self._image.height()
        scale = min(self.width() / w, self.height() / h)
        target = QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1)
        p.drawImage(target, self._image)
        p.setPen(QPen(QColor("#3a4250"), 1))
        p.drawRect(target)


class _Tile(QWidget):
    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(f"<b>{title}</b>")
        self.caption = QLabel("")
        self.caption.setStyleSheet("color: #5f6b7a;")
        self.caption.setWordWrap(True)
        self.canvas = _Canvas(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(3)
        lay.addWidget(self.title)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.caption)

    def show_image(self, image: np.ndarray | None, caption: str) -> None:
        self.canvas.set_image(image)
        self.caption.setText(caption)


class ImageViewWidget(QWidget):
    """Three tiles side by side: evidence (fitted to the model), reconstruction, difference."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.suspect = _Tile("Evidence (as analysed)")
        self.reconstruction = _Tile("Reconstruction")
        self.difference = _Tile(f"Difference ×{DIFF_GAIN}")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(10)
        for t in (self.suspect, self.reconstruction, self.difference):
            lay.addWidget(t, 1)

    def clear(self) -> None:
        for t in (self.suspect, self.reconstruction, self.difference):
            t.show_image(None, "")

    def show_images(self, suspect: np.ndarray | None, reconstruction: np.ndarray | None,
                    suspect_caption: str = "", reconstruction_caption: str = "") -> None:
        """uint8 (H, W, 3) images (None leaves a tile empty); the difference is computed here."""
        self.suspect.show_image(suspect, suspect_caption)
        self.reconstruction.show_image(reconstruction, reconstruction_caption)
        if suspect is not None and reconstruction is not None and suspect.shape == reconstruction.shape:
            diff = difference_image(suspect, reconstruction)
            mean = float(np.abs(suspect.astype(np.int16) - reconstruction.astype(np.int16)).mean())
            self.difference.show_image(diff, f"mean |Δ| = {mean:.1f} grey levels")
        else:
            self.difference.show_image(None, "")
