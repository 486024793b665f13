"""The left column of the list pages: a heading, a filter box, the list and its buttons."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.ui import theme

# (key, text, tooltip, icon or None): the key is what current_changed and select() speak.
Item = tuple[Any, str, str, QIcon | None]

KEY = Qt.ItemDataRole.UserRole


class FilterableList(QWidget):
    """A titled, filterable QListWidget whose items carry a key.

    ``current_changed`` carries the key of the item the user selects (or None); refilling
    with ``set_items`` and ``select`` do not emit it, so the page decides when to reload.
    """

    current_changed = Signal(object)

    def __init__(self, title: str, placeholder: str, button: str | None = None,
                 icon: str = "add", footer: Iterable[QWidget] = (),
                 list_name: str = "itemList", parent: QWidget | None = None):
        super().__init__(parent)
        self.heading = QLabel(title)
        self.heading.setObjectName("pageTitle")
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(placeholder)
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.apply_filter)
        self.list = QListWidget()
        if list_name:
            self.list.setObjectName(list_name)
        self.list.currentItemChanged.connect(lambda *_: self.current_changed.emit(self.current_key))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.list, 1)
        # The optional button under the list ("New model…"); the page connects it.
        self.button = QPushButton(theme.icon(icon), button) if button else None
        if self.button is not None:
            layout.addWidget(self.button)
        for widget in footer:
            layout.addWidget(widget)

    @property
    def current_key(self) -> Any:
        item = self.list.currentItem()
        return item.data(KEY) if item else None

    def set_items(self, items: Sequence[Item], keep: Any = None) -> None:
        """Refill the list, selecting ``keep`` (else the current key, else the first row)."""
        if keep is None:
            keep = self.current_key
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for key, text, tooltip, icon in items:
                item = QListWidgetItem(text)
                item.setData(KEY, key)
                item.setToolTip(tooltip)
                if icon is not None:
                    item.setIcon(icon)
                self.list.addItem(item)
                if keep is not None and key == keep:
                    self.list.setCurrentItem(item)
            if self.list.currentItem() is None and self.list.count():
                self.list.setCurrentRow(0)
        finally:
            self.list.blockSignals(False)
        self.apply_filter(self.filter_edit.text())

    def select(self, key: Any, notify: bool = False) -> bool:
        """Make ``key`` the current item; False when it is not listed.

        Silent unless ``notify``, which emits ``current_changed`` if the selection moved.
        """
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(KEY) == key:
                self.list.blockSignals(not notify)
                try:
                    self.list.setCurrentItem(item)
                finally:
                    self.list.blockSignals(False)
                return True
        return False

    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden(bool(needle) and needle not in item.text().casefold())
