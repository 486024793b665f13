"""The left column of the list pages: a heading, a filter box, the list and its buttons.

A list of things that can be archived (endpoints, models, datasets) also has a "Show
archived" switch, off by default, and an Archive / Restore button for the current item;
archived items, when shown, are greyed, in italics and marked "(archived)".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.ui import theme

# (key, text, tooltip, icon or None[, archived]): the key is what current_changed and
# select() speak.
Item = tuple[Any, ...]

KEY = Qt.ItemDataRole.UserRole
ARCHIVED = Qt.ItemDataRole.UserRole + 1
ARCHIVED_MARK = "  (archived)"


class FilterableList(QWidget):
    """A titled, filterable QListWidget whose items carry a key.

    ``current_changed`` carries the key of the item the user selects (or None); refilling
    with ``set_items`` and ``select`` do not emit it, so the page decides when to reload.
    """

    current_changed = Signal(object)
    archive_requested = Signal(object, bool)  # key, True to archive / False to restore

    def __init__(self, title: str, placeholder: str, button: str | None = None,
                 icon: str = "add", footer: Iterable[QWidget] = (),
                 list_name: str = "itemList", parent: QWidget | None = None, *,
                 archivable: str = ""):
        super().__init__(parent)
        self.heading = QLabel(title)
        theme.page_title(self.heading)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText(placeholder)
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.apply_filter)
        self.list = QListWidget()
        if list_name:
            theme.dress(self.list, list_name)
        self.list.currentItemChanged.connect(self._current_item_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.filter_edit)
        # ``archivable`` names the things listed ("model"): it adds the switch and button.
        self.kind = archivable
        self.show_archived = QCheckBox("Show archived") if archivable else None
        if self.show_archived is not None:
            self.show_archived.setToolTip(f"Also list archived {archivable}s (greyed); "
                                          "archiving hides, it never deletes")
            self.show_archived.toggled.connect(self._show_archived_toggled)
            layout.addWidget(self.show_archived)
        layout.addWidget(self.list, 1)
        # The optional button under the list ("New model…"); the page connects it.
        self.button = QPushButton(theme.icon(icon), button) if button else None
        if self.button is not None:
            layout.addWidget(self.button)
        self.archive_button = QPushButton(theme.icon("archive"), "Archive") if archivable else None
        if self.archive_button is not None:
            self.archive_button.clicked.connect(self._archive_clicked)
            layout.addWidget(self.archive_button)
            self.update_archive_button()
        for widget in footer:
            layout.addWidget(widget)

    @property
    def current_key(self) -> Any:
        item = self.list.currentItem()
        return item.data(KEY) if item else None

    @property
    def current_archived(self) -> bool:
        item = self.list.currentItem()
        return bool(item and item.data(ARCHIVED))

    def _current_item_changed(self, *_args) -> None:
        self.update_archive_button()
        self.current_changed.emit(self.current_key)

    def set_items(self, items: Sequence[Item], keep: Any = None) -> None:
        """Refill the list, selecting ``keep`` (else the current key, else the first row)."""
        if keep is None:
            keep = self.current_key
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for key, text, tooltip, icon, *rest in items:
                archived = bool(rest and rest[0])
                item = QListWidgetItem(text + (ARCHIVED_MARK if archived else ""))
                item.setData(KEY, key)
                item.setToolTip(f"Archived: hidden unless 'Show archived' is on.\n{tooltip}"
                                if archived else tooltip)
                if icon is not None:
                    item.setIcon(icon)
                if archived:
                    item.setData(ARCHIVED, True)
                    item.setForeground(self.palette().color(QPalette.ColorGroup.Disabled,
                                                            QPalette.ColorRole.Text))
                    font = item.font()
                    font.setItalic(True)
                    item.setFont(font)
                self.list.addItem(item)
                if keep is not None and key == keep and self._listed(item):
                    self.list.setCurrentItem(item)
            if self.list.currentItem() is None:
                self._select_first_listed()
        finally:
            self.list.blockSignals(False)
        self.apply_filter(self.filter_edit.text())
        self.update_archive_button()

    def select(self, key: Any, notify: bool = False) -> bool:
        """Make ``key`` the current item; False when it is not listed.

        Silent unless ``notify``, which emits ``current_changed`` if the selection moved.
        An archived item asked for by name (from another page) turns "Show archived" on.
        """
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(KEY) == key:
                if not self._listed(item) and self.show_archived is not None:
                    self.show_archived.setChecked(True)
                self.list.blockSignals(not notify)
                try:
                    self.list.setCurrentItem(item)
                finally:
                    self.list.blockSignals(False)
                self.update_archive_button()
                return True
        return False

    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for row in range(self.list.count()):
            item = self.list.item(row)
            item.setHidden((bool(needle) and needle not in item.text().casefold())
                           or not self._listed(item))

    # -- archived items ----------------------------------------------------------------
    def _listed(self, item: QListWidgetItem) -> bool:
        """Whether the archive switch lets ``item`` show."""
        return not item.data(ARCHIVED) or (self.show_archived is not None
                                           and self.show_archived.isChecked())

    def _select_first_listed(self) -> None:
        for row in range(self.list.count()):
            if self._listed(self.list.item(row)):
                self.list.setCurrentRow(row)
                return
        self.list.setCurrentItem(None)

    def _show_archived_toggled(self, _checked: bool) -> None:
        before = self.current_key
        self.apply_filter(self.filter_edit.text())
        item = self.list.currentItem()
        if item is not None and not self._listed(item):  # the hidden item leaves the view
            self.list.blockSignals(True)
            try:
                self._select_first_listed()
            finally:
                self.list.blockSignals(False)
        self.update_archive_button()
        if self.current_key != before:
            self.current_changed.emit(self.current_key)

    def update_archive_button(self) -> None:
        if self.archive_button is None:
            return
        archived = self.current_archived
        self.archive_button.setEnabled(self.current_key is not None)
        self.archive_button.setText("Restore" if archived else "Archive")
        self.archive_button.setToolTip(
            f"List this {self.kind} again" if archived else
            f"Hide this {self.kind} from lists; nothing is deleted, and versions, runs and "
            "deployments that refer to it keep working")

    def _archive_clicked(self) -> None:
        if self.current_key is not None:
            self.archive_requested.emit(self.current_key, not self.current_archived)
