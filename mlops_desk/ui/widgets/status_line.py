"""One line of feedback under a form: an icon for the kind and a wrapped message."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from mlops_desk.ui import theme

KINDS = ("ok", "info", "warning", "error")


class StatusLine(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.icon = QLabel(self)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        self.kind = ""

    @property
    def text(self) -> str:
        return self.label.text()

    def set(self, kind: str, text: str) -> None:
        assert kind in KINDS, kind
        self.kind = kind
        self.icon.setPixmap(theme.status_icon(kind).pixmap(16, 16))
        self.label.setText(text)

    def clear(self) -> None:
        self.kind = ""
        self.icon.clear()
        self.label.clear()
