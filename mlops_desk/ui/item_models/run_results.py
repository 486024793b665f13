"""A run's per-row results, loaded page by page off the GUI thread.

``fetchMore``/``canFetchMore`` let the view ask for the next page when the user scrolls
near the end; each page is a task (``run_queries.fetch_result_page``). A new filter,
search or sort bumps a generation number, so a page still in flight for the old query is
dropped when it lands.

While the run goes (``live``), rows come in the order they were stored instead: each
``follow`` appends the rows stored since the last one (``run_queries.fetch_new_rows``).
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

import shiboken6
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from mlops_desk.ui import format as fmt
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.item_models.base import (
    ALIGNMENT,
    DISPLAY,
    FOREGROUND,
    RIGHT,
    ROOT,
    TOOLTIP,
    Index,
)
from mlops_desk.ui.item_models.run_queries import (
    PAGE_ROWS,
    NewRows,
    ResultPage,
    ResultQuery,
    fetch_new_rows,
    fetch_result_page,
)

GOOD, BAD = QColor(30, 140, 60), QColor(200, 40, 40)

# (title, sort key or None, right-aligned)
COLUMNS = (
    ("Row", "row_idx", True), ("Input", None, False), ("Expected", "expected", False),
    ("Prediction", "prediction", False), ("Result", "correct", False),
    ("Latency", "latency_ms", True), ("Cost", "cost", True), ("Tries", "attempts", True),
    ("Error", "error_class", False),
)
RESULT = 4


def verdict(row: dict[str, Any]) -> str:
    if row.get("error_class"):
        return "error"
    if row.get("correct") is None:
        return fmt.DASH
    return "✓ right" if row["correct"] else "✗ wrong"


class RunResultsModel(QAbstractTableModel):
    loading_changed = Signal(bool)
    total_changed = Signal(int)  # rows matching the current query (-1: not known yet)

    def __init__(self, ctx: AppContext, parent=None, *, page_rows: int = PAGE_ROWS):
        super().__init__(parent)
        self.ctx = ctx
        self.page_rows = page_rows
        self._query: ResultQuery | None = None
        self._rows: list[dict[str, Any]] = []
        # Each row's cell texts, made once when it arrives: a repaint asks ``data()`` about
        # eight roles per visible cell, on the GUI thread, while a run appends rows.
        self._shown: list[tuple[str, ...]] = []
        self._total = -1
        self._generation = 0
        self._loading = False
        self._live = False
        self._since: str | None = None  # live: the newest finished_at shown
        self._seen: set[int] = set()  # live: row indexes shown

    # -- the query -------------------------------------------------------------------
    @property
    def query(self) -> ResultQuery | None:
        return self._query

    @property
    def total(self) -> int:
        return self._total

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def live(self) -> bool:
        return self._live

    def set_query(self, query: ResultQuery | None, *, live: bool = False) -> None:
        """Show the results that match ``query`` (None: nothing); loads the first page, or
        when ``live`` the rows stored so far (then ``follow`` adds the next ones)."""
        self.beginResetModel()
        self._query, self._rows, self._shown, self._total = query, [], [], -1
        self._live, self._since, self._seen = live, None, set()
        self._generation += 1
        self.endResetModel()
        self.total_changed.emit(-1)
        self._set_loading(False)
        if query is not None:
            if live:
                self.follow()
            else:
                self._load(0, with_total=True)

    def update_query(self, **changes: Any) -> None:
        if self._query is not None:
            new = replace(self._query, **changes)
            if new != self._query:
                self.set_query(new, live=self._live)

    def reload(self) -> None:
        self.set_query(self._query, live=self._live)

    def follow(self) -> None:
        """Live: append the rows stored since the last call (one request at a time)."""
        if not self._live or self._query is None or self._loading:
            return
        generation = self._generation
        self._set_loading(True)
        self.ctx.tasks.start(
            _with_cells(fetch_new_rows), self.ctx.store, self._query, self._since, quiet=True,
            on_done=lambda answer: self._rows_arrived(generation, *answer),
            on_error=lambda message: self._page_failed(generation, message),
        )

    def _rows_arrived(self, generation: int, new: NewRows, shown: list[tuple[str, ...]]) -> None:
        if not shiboken6.isValid(self) or generation != self._generation:
            return
        fresh = [i for i, row in enumerate(new.rows) if row["row_idx"] not in self._seen]
        if fresh:
            self._append([new.rows[i] for i in fresh], [shown[i] for i in fresh])
            self._seen.update(new.rows[i]["row_idx"] for i in fresh)
        if new.rows:
            self._since = max(self._since or "", new.rows[-1]["finished_at"])
        self._total = len(self._rows)
        self._set_loading(False)
        self.total_changed.emit(self._total)

    def _append(self, rows: list[dict[str, Any]], shown: list[tuple[str, ...]]) -> None:
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(rows)
        self._shown.extend(shown)
        self.endInsertRows()

    def plain_texts(self, column: int, rows: range) -> list[str]:
        """The cells' texts, for sizing the columns (see ``table_columns``)."""
        return [self._shown[row][column] for row in rows]

    def row_data(self, row: int) -> dict[str, Any]:
        return self._rows[row]

    # -- paging ----------------------------------------------------------------------
    def canFetchMore(self, parent: Index = ROOT) -> bool:
        if parent.isValid() or self._query is None or self._loading or self._live:
            return False
        return self._total > len(self._rows)

    def fetchMore(self, parent: Index = ROOT) -> None:
        if self.canFetchMore(parent):
            self._load(len(self._rows), with_total=False)

    def _load(self, offset: int, *, with_total: bool) -> None:
        generation = self._generation
        self._set_loading(True)
        self.ctx.tasks.start(
            _with_cells(fetch_result_page), self.ctx.store, self._query, offset,
            self.page_rows, with_total=with_total,
            on_done=lambda answer: self._page_loaded(generation, *answer),
            on_error=lambda message: self._page_failed(generation, message),
        )

    def _page_loaded(self, generation: int, page: ResultPage,
                     shown: list[tuple[str, ...]]) -> None:
        if not shiboken6.isValid(self) or generation != self._generation:
            return  # the query changed meanwhile: this page answers an old question
        if page.total >= 0:
            self._total = page.total
        if page.rows:
            self._append(page.rows, shown)
        if not page.rows or len(page.rows) < self.page_rows:
            self._total = len(self._rows)  # the data ended early (or shrank): stop paging
        self._set_loading(False)
        self.total_changed.emit(self._total)

    def _page_failed(self, generation: int, message: str) -> None:
        if shiboken6.isValid(self) and generation == self._generation:
            self._set_loading(False)
            self.ctx.error.emit(message)

    def _set_loading(self, loading: bool) -> None:
        if loading != self._loading:
            self._loading = loading
            self.loading_changed.emit(loading)

    # -- sorting (server side: a new query) ------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column][1] if 0 <= column < len(COLUMNS) else None
        self.update_query(sort_key=key or "row_idx",
                          descending=order == Qt.SortOrder.DescendingOrder)

    # -- QAbstractTableModel ---------------------------------------------------------
    def rowCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole and COLUMNS[section][1] is None:
            return "not sortable"
        return None

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        row, column = index.row(), index.column()  # an invalid index has row -1
        if not (0 <= row < len(self._shown) and 0 <= column < len(COLUMNS)):
            return None
        if role == DISPLAY:
            return self._shown[row][column]
        if role == TOOLTIP:
            return _tooltip(self._rows[row], column)
        if role == ALIGNMENT and COLUMNS[column][2]:
            return RIGHT
        if role == FOREGROUND and column == RESULT:
            text = self._shown[row][column]
            return GOOD if text.startswith("✓") else BAD if text != fmt.DASH else None
        return None


def cell_text(row: dict[str, Any], column: int) -> str:
    """What a row shows in ``column`` (made on the pool thread, with the row's query)."""
    if column == 0:
        return str(row["row_idx"])
    if column == 1:
        return _one_line(row.get("input") or "")
    if column == 2:
        return _text(row.get("expected"))
    if column == 3:
        return _text(row.get("prediction"))
    if column == RESULT:
        return verdict(row)
    if column == 5:
        return "cached" if row.get("cached") else fmt.millis(row.get("latency_ms"))
    if column == 6:
        return fmt.cost(row.get("cost"))
    if column == 7:
        return str(row.get("attempts") or 0)
    return row.get("error_class") or ""


def _tooltip(row: dict[str, Any], column: int) -> str | None:
    """The cell's full text (a narrow column cuts it off), with what lies behind it."""
    if column == 1:
        return row.get("input") or None
    if column == 3:
        output = row.get("output")
        shown = _text(row.get("prediction"))
        return f"{shown}\n\nraw reply: {output}" if output else shown
    if column == 8:
        error = row.get("error_class")
        message = row.get("error_message")
        return f"{error}: {message}" if error and message else error or None
    return cell_text(row, column) or None


def _with_cells(fetch):
    """``fetch`` followed, still on the pool thread, by the cell texts of the rows it got."""

    @functools.wraps(fetch)
    def fetch_with_cells(*args: Any, **kwargs: Any):
        answer = fetch(*args, **kwargs)
        return answer, [tuple(cell_text(row, c) for c in range(len(COLUMNS)))
                        for row in answer.rows]

    return fetch_with_cells


def _text(value: Any) -> str:
    return fmt.DASH if value is None else str(value)


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"
