"""A read-only table model over a list of records, described by its columns.

The runs list, the comparison tables and the flipped-rows table are all "a list of plain
objects shown as columns"; each declares ``Column``s instead of re-implementing
``data()``. The model sorts and filters itself in Python (one key per record) rather than
behind a ``QSortFilterProxyModel``, whose C++ sort calls back into Python ``data()``
twice per comparison: about 0.1 s of GUI-thread time for a thousand runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, Qt

from mlops_desk.ui.item_models.base import (
    ALIGNMENT,
    DISPLAY,
    FOREGROUND,
    RIGHT,
    ROOT,
    TOOLTIP,
    Index,
)

T = TypeVar("T")
RECORD_ROLE = Qt.ItemDataRole.UserRole + 21


@dataclass(frozen=True)
class Column(Generic[T]):
    title: str
    text: Callable[[T], str]
    sort: Callable[[T], Any] | None = None  # default: the text
    align_right: bool = False
    tooltip: Callable[[T], str | None] | None = None
    foreground: Callable[[T], Any] | None = None  # a QColor/QBrush or None


class RecordTableModel(QAbstractTableModel, Generic[T]):
    columns: Sequence[Column[T]] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._all: list[T] = []
        self._records: list[T] = []  # the rows shown: filtered, then sorted
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._filter = ""

    # -- content -------------------------------------------------------------------
    def set_records(self, records: Sequence[T]) -> None:
        self.beginResetModel()
        self._all = list(records)
        self._records = self._arranged()
        self.endResetModel()

    def records(self) -> list[T]:
        return list(self._records)

    def plain_texts(self, column: int, rows: range) -> list[str]:
        """The cells' texts, for sizing the columns (see ``table_columns``)."""
        text = self.columns[column].text
        return [text(self._records[row]) for row in rows]

    def record(self, row: int) -> T:
        return self._records[row]

    def replace_record(self, row: int, record: T) -> None:
        """Swap one shown record in place (a live update) and repaint just its row."""
        old = self._records[row]
        self._all = [record if r is old else r for r in self._all]
        self._records[row] = record
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def insert_first(self, record: T) -> None:
        """Add a record at the top (a new run: newest first in the default order)."""
        self._all.insert(0, record)
        if self._matches(record):
            self.beginInsertRows(ROOT, 0, 0)
            self._records.insert(0, record)
            self.endInsertRows()

    # -- filtering and sorting -----------------------------------------------------
    def set_filter_text(self, text: str) -> None:
        """Show only records with ``text`` (any case) in one of their cells."""
        self._filter = text.strip().casefold()
        self.beginResetModel()
        self._records = self._arranged()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        self._sort = (column, order)
        # Plain emits: PySide6 crashes on emit([], VerticalSortHint) with an empty parent list.
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        followed = [(index, self._records[index.row()]) for index in before
                    if 0 <= index.row() < len(self._records)]
        self._records = self._sorted(self._records)
        row_of = {id(record): row for row, record in enumerate(self._records)}
        self.changePersistentIndexList(
            [index for index, _ in followed],
            [self.index(row_of[id(record)], index.column()) for index, record in followed])
        self.layoutChanged.emit()

    def _arranged(self) -> list[T]:
        return self._sorted([r for r in self._all if self._matches(r)])

    def _matches(self, record: T) -> bool:
        return not self._filter or any(
            self._filter in column.text(record).casefold() for column in self.columns)

    def _sorted(self, records: list[T]) -> list[T]:
        if self._sort is None:
            return records
        column, order = self._sort
        key = self.columns[column].sort or self.columns[column].text
        descending = order == Qt.SortOrder.DescendingOrder
        present = [r for r in records if key(r) is not None]
        missing = [r for r in records if key(r) is None]  # always last, either way
        return sorted(present, key=key, reverse=descending) + missing

    # -- QAbstractTableModel -------------------------------------------------------
    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return RIGHT
        return None

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        row, column = index.row(), index.column()  # an invalid index has row -1
        if not (0 <= row < len(self._records) and 0 <= column < len(self.columns)):
            return None
        record = self._records[row]
        spec = self.columns[column]
        if role == DISPLAY:
            return spec.text(record)
        if role == RECORD_ROLE:
            return record
        if role == ALIGNMENT and spec.align_right:
            return RIGHT
        if role == TOOLTIP and spec.tooltip:
            return spec.tooltip(record)
        if role == FOREGROUND and spec.foreground:
            return spec.foreground(record)
        return None
