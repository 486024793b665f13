"""A strip with the local gateway's state, its port, and Start / Stop buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from mlops_desk.ui import theme
from mlops_desk.ui.gateway_control import FAILED, RUNNING, STOPPED, GatewayControl

_KIND = {RUNNING: "ok", FAILED: "error"}


class GatewayStrip(QWidget):
    def __init__(self, control: GatewayControl, parent: QWidget | None = None):
        super().__init__(parent)
        self.control = control
        self.icon = QLabel()
        self.label = QLabel()
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setWordWrap(True)  # a long URL must not widen the whole window
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(control.port)
        self.port.setToolTip("Port to serve on (0: any free port)")
        self.start_button = QPushButton(theme.icon("plug"), "Start gateway")
        self.start_button.clicked.connect(lambda: self.control.start(self.port.value()))
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(lambda: self.control.stop())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.icon)
        layout.addWidget(self.label, 1)
        layout.addWidget(QLabel("Port"))
        layout.addWidget(self.port)
        layout.addWidget(self.start_button)
        layout.addWidget(self.stop_button)
        control.state_changed.connect(self._update)
        self._update(control.state)

    def _update(self, state: str) -> None:
        text, tooltip = self.control.status_text()
        if state == RUNNING:
            text = (f"Gateway running at <b>{self.control.url}</b>: point any OpenAI client "
                    "there, with model NAME, NAME@ENV or NAME:N")
        elif state == FAILED:
            text = f"Gateway failed: {self.control.error}"
        self.label.setText(text)
        self.label.setToolTip(tooltip)
        self.icon.setPixmap(theme.status_icon(_KIND.get(state, "info")).pixmap(16, 16))
        idle = state in (STOPPED, FAILED)
        self.start_button.setEnabled(idle)
        self.port.setEnabled(idle)
        self.stop_button.setEnabled(not idle)
