"""A non-modal message strip: errors, offers and notices that must not block the window."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from mlops_desk.ui import theme


class Banner(QFrame):
    """Icon, a wrapped message, optional action buttons, and a close button."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None, *, closable: bool = True):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        self._icon = QLabel(self)
        self._text = QLabel(self)
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._text, 1)
        self._actions = QHBoxLayout()
        layout.addLayout(self._actions)
        self._close = QToolButton(self)
        self._close.setIcon(theme.icon("close"))
        self._close.setAutoRaise(True)
        self._close.setToolTip("Dismiss")
        self._close.clicked.connect(self.dismiss)
        self._close.setVisible(closable)
        layout.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self.kind = "info"
        self.hide()

    @property
    def text(self) -> str:
        return self._text.text()

    def show_message(self, text: str, kind: str = "info") -> None:
        self.kind = kind
        self._icon.setPixmap(theme.status_icon(kind).pixmap(18, 18))
        self._text.setText(text)
        self.show()

    def add_qaction(self, action: QAction) -> QToolButton:
        """A button mirroring ``action`` (its text and enabled state follow the action)."""
        button = QToolButton(self)
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._actions.addWidget(button)
        return button

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()
