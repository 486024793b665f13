"""A non-modal message strip: errors, offers and notices that must not block the window."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from mlops_desk.ui import theme


class Banner(QFrame):
    """Icon, a wrapped message, optional action buttons, and a close button."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None, *, closable: bool = True):
        super().__init__(parent)
        theme.dress(self, "banner")
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
        # Hides a passing notice ("Imported …") by itself; a new message restarts or stops it.
        self._hide_timer = QTimer(self)
        self._hide_timer.setSingleShot(True)
        self._hide_timer.timeout.connect(self.dismiss)
        self.hide()

    @property
    def text(self) -> str:
        return self._text.text()

    def show_message(self, text: str, kind: str = "info", *,
                     hide_after_ms: int | None = None) -> None:
        """Show ``text``; with ``hide_after_ms`` it goes away by itself after that long."""
        self.kind = kind
        self._icon.setPixmap(theme.status_icon(kind).pixmap(18, 18))
        self._text.setText(text)
        if hide_after_ms is None:
            self._hide_timer.stop()
        else:
            self._hide_timer.start(hide_after_ms)
        self.show()

    @property
    def hiding(self) -> bool:
        """True while the banner is due to hide by itself."""
        return self._hide_timer.isActive()

    def add_qaction(self, action: QAction) -> QToolButton:
        """A button mirroring ``action`` (its text and enabled state follow the action)."""
        button = QToolButton(self)
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self._actions.addWidget(button)
        return button

    def dismiss(self) -> None:
        self._hide_timer.stop()
        self.hide()
        self.closed.emit()
