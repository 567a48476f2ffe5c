"""A dismissable hint above the central view (e.g. 'the demo workspace is open')."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class HintBarWidget(QFrame):
    """Rich text with an optional action button; ``action_clicked`` when it is pressed."""

    action_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="hintBar")
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action = QPushButton("")
        self.action.clicked.connect(self.action_clicked)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setFixedWidth(28)
        close.setToolTip("Hide this hint")
        close.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.action)
        lay.addWidget(close)
        self.hide()

    def show_hint(self, html: str, action_text: str = "") -> None:
        self.label.setText(html)
        self.action.setText(action_text)
        self.action.setVisible(bool(action_text))
        self.show()
