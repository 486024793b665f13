"""Dataset rows in a table: a fixed preview, or a snapshot that loads page by page.

The model never reads the database itself. When the view scrolls near the end it asks for
more (``fetch_requested``); the page loads the next page in a task and hands the rows back
with ``append_rows``, so a 100,000-row dataset costs only what the user scrolls through.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QPalette

from mlops_desk.ui.item_models.base import ROOT, Index, RowsTableModel

PAGE_ROWS = 500
CELL_CHARS = 300  # a cell shows this much; the tooltip shows more


class DatasetRowsModel(RowsTableModel):
    """Rows are ``(index, {column: value})``; missing values are shown greyed."""

    fetch_requested = Signal(int)  # the offset of the next page

    def __init__(self, parent=None):
        super().__init__((), parent)
        self.total = 0
        self._loading = False

    def reset(self, columns: list[str], rows: list[tuple[int, dict[str, Any]]],
              total: int | None = None) -> None:
        self._loading = False
        self.total = len(rows) if total is None else total
        self.set_rows(rows, columns)

    def append_rows(self, rows: list[tuple[int, dict[str, Any]]]) -> None:
        self._loading = False
        if not rows:
            self.total = len(self._rows)  # the snapshot had fewer rows than announced
            return
        first = len(self._rows)
        self.beginInsertRows(ROOT, first, first + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def canFetchMore(self, parent: Index = ROOT) -> bool:
        return not parent.isValid() and not self._loading and len(self._rows) < self.total

    def fetchMore(self, parent: Index = ROOT) -> None:
        if self.canFetchMore(parent):
            self._loading = True
            self.fetch_requested.emit(len(self._rows))

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self._rows)):
            return str(self._rows[section][0])  # the row's index in the snapshot (0-based)
        return super().headerData(section, orientation, role)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        value = self._rows[index.row()][1].get(self.columns[index.column()])
        if role == Qt.ItemDataRole.DisplayRole:
            if value is None:
                return "(missing)"
            text = str(value)
            return text if len(text) <= CELL_CHARS else text[:CELL_CHARS] + "…"
        if role == Qt.ItemDataRole.ToolTipRole:
            return None if value is None else str(value)[:4000]
        if role == Qt.ItemDataRole.ForegroundRole and value is None:
            return QGuiApplication.palette().brush(QPalette.ColorGroup.Disabled,
                                                   QPalette.ColorRole.Text)
        return None
