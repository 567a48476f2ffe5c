"""The decoded key against the registered key, bit by bit, shaded by confidence."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from lfp_desktop.gui.theme import BIT_ONE, BIT_WRONG, BIT_ZERO

LABEL_W = 74
CELL = 13
GAP = 2
ROW_GAP = 8
SHADE_LEVELS = 16  # confidence steps with their own shade; finer differences are not visible
BORDER = "#c3cad4"


def shade(bit: int, confidence: float) -> QColor:
    """Colour of a decoded bit: 1 dark, 0 light, blended toward grey as confidence (0–½) falls."""
    base, grey = QColor(BIT_ONE if bit else BIT_ZERO), QColor("#9aa5b4")
    t = max(0.0, min(1.0, confidence / 0.5)) ** 0.5
    return QColor(*(round(g + (b - g) * t) for b, g in zip(base.getRgb()[:3], grey.getRgb()[:3])))


def shade_levels(confidence: np.ndarray) -> np.ndarray:
    """Confidences in [0, ½] (K,) → int (K,) shade levels 0 … SHADE_LEVELS."""
    conf = np.clip(np.nan_to_num(np.asarray(confidence, np.float64)), 0.0, 0.5)
    return np.rint(conf / 0.5 * SHADE_LEVELS).astype(np.int64)


class BitGridWidget(QWidget):
    """Two rows per block of up to ``columns`` bits: 'decoded' (shaded by confidence) and
    'registered' (the matched or nearest key); disagreeing bits are outlined in red."""

    def __init__(self, parent: QWidget | None = None, max_columns: int = 32):
        super().__init__(parent)
        self.max_columns = max_columns
        self.columns = 8
        self.decoded = np.zeros(0, np.uint8)
        self.probs = np.zeros(0)
        self.registered: np.ndarray | None = None
        self.registered_label = "registered"
        self._levels = np.zeros(0, np.int64)
        self._shown: tuple = ()  # what is on screen, to skip repaints that would change nothing
        self._shades: dict[tuple[int, int], QColor] = {}
        self._rects: tuple[tuple, list[list[QRectF]]] = ((), [])
        self.setMouseTracking(True)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_bits(self, decoded: np.ndarray, probs: np.ndarray, registered: np.ndarray | None,
                 registered_label: str = "registered") -> None:
        """decoded uint8 (K,), probs float (K,) in [0, 1], registered uint8 (K,) or None."""
        shape = (self.decoded.size, self.registered is None)
        self.decoded = np.asarray(decoded, np.uint8).reshape(-1)
        self.probs = np.asarray(probs, np.float64).reshape(-1)
        self.registered = None if registered is None else np.asarray(registered, np.uint8).reshape(-1)
        self.registered_label = registered_label
        conf = np.abs(self.probs - 0.5) if self.probs.size == self.decoded.size else np.full(self.decoded.size, 0.5)
        self._levels = shade_levels(conf)
        if (self.decoded.size, self.registered is None) != shape:  # live updates only repaint
            self.columns = self._columns_for(self.width())
            self.updateGeometry()
        shown = (self.decoded.tobytes(), None if self.registered is None else self.registered.tobytes(),
                 self._levels.tobytes(), registered_label)
        if shown != self._shown:  # live updates late in a run often change nothing visible
            self._shown = shown
            self.update()

    def _columns_for(self, width: int) -> int:
        """Whole bytes of bits per block that fit ``width`` (at least 8, at most max_columns)."""
        fit = max(8, (width - LABEL_W - 4) // (CELL + GAP) // 8 * 8)
        k = max(8, -(-self.decoded.size // 8) * 8)
        return min(fit, self.max_columns, k)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt API
        cols = self._columns_for(width)
        blocks = max(1, math.ceil(self.decoded.size / cols)) if self.decoded.size else 0
        return max(24, blocks * self._block_height())

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        cols = self._columns_for(self.width())
        if cols != self.columns:
            self.columns = cols
            self.updateGeometry()
        super().resizeEvent(event)

    def clear(self) -> None:
        self.set_bits(np.zeros(0, np.uint8), np.zeros(0), None)

    def _blocks(self) -> int:
        return max(1, math.ceil(self.decoded.size / self.columns)) if self.decoded.size else 0

    def _rows_per_block(self) -> int:
        return 2 if self.registered is not None else 1

    def _block_height(self) -> int:
        return self._rows_per_block() * (CELL + GAP) + 12 + ROW_GAP

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        width = LABEL_W + self.columns * (CELL + GAP) + 8
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        width = LABEL_W + 8 * (CELL + GAP) + 8
        return QSize(width, self.heightForWidth(width))

    def _cell(self, j: int, row: int) -> QRectF:
        block, col = divmod(j, self.columns)
        y = block * self._block_height() + 12 + row * (CELL + GAP)
        return QRectF(LABEL_W + col * (CELL + GAP), y, CELL, CELL)

    def paintEvent(self, _event) -> None:  # noqa: N802, ANN001 - Qt API
        with QPainter(self) as p:  # ended here, whatever keeps the frame alive
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if not self.decoded.size:
            p.setPen(QColor("#8b95a5"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "no key decoded yet")
            return
        small = p.font()
        small.setPointSizeF(max(6.5, small.pointSizeF() * 0.8))
        p.setFont(small)
        for b in range(self._blocks()):
            self._labels(p, b)
        # One fill per cell, then every outline in two calls: a live update repaints in about
        # a millisecond however many bits the key has.
        rows = self._cell_rects()
        wrong = (self.registered != self.decoded) if self.registered is not None else np.zeros(self.decoded.size, bool)
        for j, rect in enumerate(rows[0]):
            p.fillRect(rect, self._shade(int(self.decoded[j]), int(self._levels[j])))
        if self.registered is not None:
            one, zero = QColor(BIT_ONE), QColor(BIT_ZERO)
            for j, rect in enumerate(rows[1]):
                p.fillRect(rect, one if self.registered[j] else zero)
        p.setPen(QPen(QColor(BORDER), 1))
        p.drawRects([r for row in rows for j, r in enumerate(row) if not wrong[j]])
        if wrong.any():
            p.setPen(QPen(QColor(BIT_WRONG), 2))
            p.drawRects([r.adjusted(1, 1, -1, -1) for row in rows for j, r in enumerate(row) if wrong[j]])

    def _shade(self, bit: int, level: int) -> QColor:
        colour = self._shades.get((bit, level))
        if colour is None:
            colour = self._shades[(bit, level)] = shade(bit, level / SHADE_LEVELS * 0.5)
        return colour

    def _cell_rects(self) -> list[list[QRectF]]:
        """Cell rectangles per row ('decoded', then 'registered' when shown), kept while the
        layout stays the same."""
        key = (self.columns, self.decoded.size, self._rows_per_block())
        if self._rects[0] != key:
            self._rects = (key, [[self._cell(j, row) for j in range(self.decoded.size)]
                                 for row in range(self._rows_per_block())])
        return self._rects[1]

    def _labels(self, p: QPainter, block: int) -> None:
        p.setPen(QColor("#5f6b7a"))
        top = block * self._block_height()
        first = block * self.columns
        for col in range(0, min(self.columns, self.decoded.size - first), 8):
            x = LABEL_W + col * (CELL + GAP)
            p.drawText(QRectF(x, top, 40, 11), Qt.AlignmentFlag.AlignLeft, str(first + col))
        names = ["decoded"] + ([self.registered_label] if self.registered is not None else [])
        for row, name in enumerate(names):
            y = top + 12 + row * (CELL + GAP)
            p.drawText(QRectF(0, y, LABEL_W - 6, CELL), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)

    def bit_at(self, pos: QPoint) -> int:
        """Index of the bit under a point, or −1."""
        for j in range(self.decoded.size):
            for row in range(self._rows_per_block()):
                if self._cell(j, row).contains(pos):
                    return j
        return -1

    def event(self, e) -> bool:  # noqa: ANN001 - QEvent
        if isinstance(e, QHelpEvent):
            j = self.bit_at(e.pos())
            if j >= 0:
                QToolTip.showText(e.globalPos(), self.bit_tooltip(j), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)

    def bit_tooltip(self, j: int) -> str:
        prob = f"{self.probs[j]:.3f}" if self.probs.size > j else "?"
        text = f"bit {j}: decoded {int(self.decoded[j])} (probability of 1: {prob})"
        if self.registered is not None:
            same = "agrees" if self.registered[j] == self.decoded[j] else "DIFFERS"
            text += f"\n{self.registered_label} key: {int(self.registered[j])} ({same})"
        return text
