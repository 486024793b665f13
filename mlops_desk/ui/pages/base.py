"""The small interface every page implements."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLayout, QSplitter, QVBoxLayout, QWidget

from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.widgets.item_list import FilterableList


def vbox(*parts: QWidget | QLayout | tuple[QWidget, int]) -> QWidget:
    """A margin-less vertical stack of widgets, layouts and (widget, stretch) pairs."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for part in parts:
        if isinstance(part, QLayout):
            layout.addLayout(part)
        elif isinstance(part, tuple):
            layout.addWidget(*part)
        else:
            layout.addWidget(part)
    return box


class Page(QWidget):
    """A sidebar page. ``activated`` runs each time it is shown: refresh lazily there."""

    title = "Page"
    icon_name = ""  # file stem under resources/icons
    item_list: FilterableList | None = None  # the list pages' left column

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx

    def activated(self) -> None:
        """Called when the page becomes visible."""

    def focus_filter(self) -> None:
        """Ctrl+F: put the cursor in this page's filter box, if it has one."""
        if self.item_list is not None:
            self.item_list.focus_filter()

    def split_list_and_details(self, left: QWidget, right: QWidget, name: str,
                               sizes: tuple[int, int] = (220, 780)) -> QSplitter:
        """Fill the page with a list on the left and the growing details on the right."""
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setObjectName(name)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes(list(sizes))
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        return splitter
