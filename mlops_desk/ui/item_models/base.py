"""What every flat table model here shares: a list of rows and named columns."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()  # the invalid parent index of a flat table
RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
# Roles as plain ints, for the models whose ``data()`` is hot (about eight calls per painted
# cell): comparing ints is cheaper than comparing with the enum.
DISPLAY, TOOLTIP = int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ToolTipRole)
ALIGNMENT, FOREGROUND = int(Qt.ItemDataRole.TextAlignmentRole), int(Qt.ItemDataRole.ForegroundRole)


class RowsTableModel(QAbstractTableModel):
    """Rows in a list, columns by name; subclasses implement ``data``."""

    def __init__(self, columns: tuple[str, ...] | list[str] = (), parent=None):
        super().__init__(parent)
        self.columns: list[str] = list(columns)
        self._rows: list[Any] = []

    def set_rows(self, rows: list[Any], columns: list[str] | None = None) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        if columns is not None:
            self.columns = list(columns)
        self.endResetModel()

    def row_data(self, row: int) -> Any:
        return self._rows[row]

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section] if 0 <= section < len(self.columns) else None
        return str(section) if 0 <= section < len(self._rows) else None

    def valid(self, index: Index) -> bool:
        return (index.isValid() and 0 <= index.row() < len(self._rows)
                and 0 <= index.column() < len(self.columns))
