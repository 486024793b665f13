"""A form whose OK button runs one task; on success it announces a deployment change.

The registry forms (model_forms) reuse it and announce a registry change instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QVBoxLayout, QWidget

from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.loader import guarded
from mlops_desk.ui.widgets.status_line import StatusLine


class DeployTaskDialog(QDialog):
    def __init__(self, ctx: AppContext, title: str, ok_text: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._task = None
        self.setWindowTitle(title)
        self.form = QFormLayout()
        self.status = StatusLine()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        self.body = QVBoxLayout(self)
        self.body.addLayout(self.form)
        self.body.addWidget(self.status)
        self.body.addWidget(self.buttons)

    @property
    def busy(self) -> bool:
        return self._task is not None and self._task.running

    def run(self, fn: Callable[..., Any], *args: Any, message: str = "Saving…",
            on_done: Callable[[Any], None] | None = None, **kwargs: Any) -> None:
        self.ok_button.setEnabled(False)
        self.status.set("info", message)
        self._task = self.ctx.tasks.start(
            fn, *args, on_done=guarded(self, on_done or self.succeeded),
            on_error=guarded(self, self.failed), **kwargs)

    def submit(self) -> None:
        raise NotImplementedError

    def succeeded(self, result: Any) -> None:
        self.announce()
        self.done_with(result)
        self.accept()

    def announce(self) -> None:
        """Tell the other pages what changed (the registry forms override this)."""
        self.ctx.deployments_changed.emit()

    def done_with(self, result: Any) -> None:
        """Subclasses announce the result."""

    def failed(self, message: str) -> None:
        self.status.set("error", message)
        self.ok_button.setEnabled(True)
