"""The small interface every page implements."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from mlops_desk.ui.app_context import AppContext


class Page(QWidget):
    """A sidebar page. ``activated`` runs each time it is shown: refresh lazily there."""

    title = "Page"
    icon_name = ""  # file stem under resources/icons

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx

    def activated(self) -> None:
        """Called when the page becomes visible."""

    def focus_filter(self) -> None:
        """Ctrl+F: put the cursor in this page's filter box, if it has one."""
