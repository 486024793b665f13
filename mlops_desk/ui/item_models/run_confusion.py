"""The confusion matrix as a table of counts, shaded like a heatmap.

Rows are expected labels, columns predicted ones (as ``core.metrics`` builds it). A
painted table keeps the counts readable and selectable, which an image would not.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

from mlops_desk.ui import theme

Index = QModelIndex | QPersistentModelIndex
ROOT = QModelIndex()  # the invalid index: a table's only parent
CENTER = int(Qt.AlignmentFlag.AlignCenter)
RIGHT_HUE, WRONG_HUE = QColor(40, 150, 70), QColor(210, 60, 50)


class ConfusionModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._labels: list[str] = []
        self._matrix: list[list[int]] = []
        self._max = 0

    def set_confusion(self, confusion: dict[str, Any] | None) -> None:
        """``metrics["confusion"]``: {"labels": [...], "matrix": [[...], ...]} or None."""
        self.beginResetModel()
        confusion = confusion or {}
        self._labels = list(confusion.get("labels") or [])
        self._matrix = [list(row) for row in confusion.get("matrix") or []]
        if len(self._matrix) != len(self._labels):
            self._labels, self._matrix = [], []
        self._max = max((max(row) for row in self._matrix if row), default=0)
        self.endResetModel()

    @property
    def labels(self) -> list[str]:
        return list(self._labels)

    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._labels)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._labels)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not 0 <= section < len(self._labels):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            prefix = "predicted " if orientation == Qt.Orientation.Horizontal else "expected "
            return prefix + self._labels[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < len(self._labels) and 0 <= column < len(self._labels)):
            return None
        count = self._matrix[row][column]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{count:,}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return CENTER
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._shade(count, row == column)
        if role == Qt.ItemDataRole.ToolTipRole:
            share = count / max(1, sum(self._matrix[row]))
            return (f"expected {self._labels[row]}, predicted {self._labels[column]}: "
                    f"{count:,} rows ({share:.0%} of expected {self._labels[row]})")
        return None

    def _shade(self, count: int, diagonal: bool) -> QColor | None:
        if not count or not self._max:
            return None
        base = QGuiApplication.palette().color(QPalette.ColorRole.Base)
        # Keep the strongest shade light enough that the count stays readable on it.
        amount = 0.12 + 0.5 * count / self._max
        return theme.tint(base, RIGHT_HUE if diagonal else WRONG_HUE, amount)
