"""Readable tables: one helper every table view uses for its columns and its cut-off text.

- Columns are sized to their content (the header text included, so a header is never cut),
  between a sensible minimum and a maximum past which text is elided instead.
- Text is elided where the end matters least: a version reference keeps its ``:3`` (the
  model name is cut: ``review-sen…:3``), long ids lose their middle, anything else its end.
- A cell whose text is elided shows the full text as its tooltip (before the model's own
  tooltip, if it has one); a cell that fits keeps just the model's tooltip.

Only the columns that need that special cutting run Python code per painted cell; every other
cell is drawn by Qt alone, which keeps repaints cheap while a run appends rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
)

# "review-sentiment:3", "review-sentiment:3 on reviews": the name may be cut, never the ":3".
VERSION_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P<tail>:\d+.*)$")
MIN_WIDTH = 48
MAX_WIDTH = 420
STRETCH_FLOOR = 120  # the free-text column keeps this much (elided, with a tooltip) at least
ROWS_MEASURED = 50  # the first screenful or two: a wider cell further down is elided with a
# tooltip; measuring costs ~15 us a cell on the GUI thread (9 columns x 50 rows: ~7 ms)


def elide(text: str, metrics: QFontMetrics, width: int, *, middle: bool = False) -> str:
    """``text`` cut to fit ``width`` pixels, keeping what identifies it (see the module)."""
    if not text or metrics.horizontalAdvance(text) <= width or "\n" in text:
        return text
    match = VERSION_REF.match(text)
    if match:
        tail = match.group("tail")
        room = width - metrics.horizontalAdvance(tail)
        if room >= metrics.horizontalAdvance("x…"):
            name = metrics.elidedText(match.group("name"), Qt.TextElideMode.ElideRight, room)
            return name + tail
    mode = Qt.TextElideMode.ElideMiddle if middle else Qt.TextElideMode.ElideRight
    return metrics.elidedText(text, mode, width)


class CutTextTooltips(QStyledItemDelegate):
    """Every table's delegate: a cell whose text is cut shows it in full as its tooltip.

    It draws nothing itself: Qt draws each cell (cutting plain text at its end) without
    calling into Python, which keeps repainting a table while a run appends rows cheap.
    Python runs only when a tooltip is asked for.
    """

    middle = False  # long ids: cut in the middle (``ElidingDelegate`` draws them so)

    def shown_text(self, option: QStyleOptionViewItem, index: QModelIndex) -> str:
        """The text as drawn in ``option.rect``: cut or not, and where (a plain column,
        which Qt cuts at its end, is cut exactly when ``elide`` cuts it)."""
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        return elide(text, option.fontMetrics, _text_width(option), middle=self.middle)

    def tooltip(self, option: QStyleOptionViewItem, index: QModelIndex) -> str | None:
        """The full text when the cell is elided (then the model's tooltip), else the model's."""
        own = index.data(Qt.ItemDataRole.ToolTipRole)
        full = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        probe = QStyleOptionViewItem(option)
        QStyledItemDelegate.initStyleOption(self, probe, index)
        if full and self.shown_text(probe, index) != full:
            return f"{full}\n\n{own}" if own and own != full else full
        return own or None

    def helpEvent(self, event, view, option, index) -> bool:
        if event is None or event.type() != QEvent.Type.ToolTip or not index.isValid():
            return super().helpEvent(event, view, option, index)
        text = self.tooltip(option, index)
        if text:
            QToolTip.showText(event.globalPos(), text, view, view.visualRect(index))
        else:
            QToolTip.hideText()
            event.ignore()
        return True


class ElidingDelegate(CutTextTooltips):
    """The delegate of a column whose text must be cut where it matters least (see ``elide``):
    one of version references (found while measuring the column), or of long ids
    (``middle``). Only these columns pay for eliding in Python."""

    def __init__(self, view: QAbstractItemView, *, middle: bool = False):
        super().__init__(view)
        self.middle = middle
        self._measuring = False

    def initStyleOption(self, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        super().initStyleOption(option, index)
        if option.text and not self._measuring:
            option.text = self.shown_text(option, index)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex):
        self._measuring = True  # the size the whole text needs, not the elided one
        try:
            return super().sizeHint(option, index)
        finally:
            self._measuring = False


def _text_width(option: QStyleOptionViewItem) -> int:
    widget = option.widget
    style = widget.style() if widget is not None else None
    if style is None:
        return option.rect.width() - 8
    rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, widget)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
    return rect.width() - 2 * margin


class ColumnFitter(QObject):
    """Keeps a table's columns sized to their content whenever its model is reset or grows
    (coalesced to one pass per event-loop turn)."""

    def __init__(self, view: QTableView, *, minimum: int, maximum: int,
                 stretch: int | str | None, widths: dict[int, int]):
        super().__init__(view)
        self.view, self.minimum, self.maximum = view, minimum, maximum
        self.widest = stretch == "widest"
        self.stretch: int | None = None if self.widest else stretch  # type: ignore[assignment]
        self.widths = widths
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.fit)
        self._stretch_timer = QTimer(self)
        self._stretch_timer.setSingleShot(True)
        self._stretch_timer.setInterval(0)
        self._stretch_timer.timeout.connect(self._fit_stretch)
        self._grow_timer = QTimer(self)
        self._grow_timer.setSingleShot(True)
        self._grow_timer.setInterval(0)
        self._grow_timer.timeout.connect(self._grow)
        self._new_rows: range | None = None  # rows added since the last fit, to measure
        self._stretch_floor = 0
        self._model = None
        view.installEventFilter(self)
        view.viewport().installEventFilter(self)  # a scroll bar appearing narrows only this
        self.watch()

    def watch(self) -> None:
        model = self.view.model()
        if model is None or model is self._model:
            return
        self._model = model
        for signal in (model.modelReset, model.layoutChanged, model.headerDataChanged):
            signal.connect(self._timer.start)
        model.rowsInserted.connect(self._rows_added)
        self._timer.start()

    def _rows_added(self, _parent, first: int, last: int) -> None:
        """New rows only ever widen a column, so only they are measured (a run appends rows
        every second; the runs list gains one at the top). A page appended past the measured
        rows (results load page by page) changes nothing."""
        if first >= ROWS_MEASURED:
            return
        rows = range(first, min(last + 1, ROWS_MEASURED))
        pending = self._new_rows
        self._new_rows = rows if pending is None else range(
            min(pending.start, rows.start), max(pending.stop, rows.stop))
        self._grow_timer.start()

    def _grow(self) -> None:
        rows, self._new_rows = self._new_rows, None
        model = self.view.model()
        if rows is None or model is None or self._timer.isActive():  # a full fit is coming
            return
        header = self.view.horizontalHeader()
        for column in range(model.columnCount()):
            if header.isSectionHidden(column) or column == self.stretch or column in self.widths:
                continue
            width = self._width(column, self._content_width(column, rows))
            if width > header.sectionSize(column):
                header.resizeSection(column, width)
        self._fit_stretch()

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Show:
            self._timer.start()
        elif event.type() == QEvent.Type.Resize and (self.stretch is not None or self.widest):
            self._stretch_timer.start()  # after the view has laid out its new viewport
        return False

    def header_width(self, column: int) -> int:
        """The header's text, its margins and (in a sortable table) the sort arrow."""
        header = self.view.horizontalHeader()
        text = str(self.view.model().headerData(column, Qt.Orientation.Horizontal) or "")
        widest = max((header.fontMetrics().horizontalAdvance(line)
                      for line in text.splitlines()), default=0)
        style = header.style()
        margin = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
        arrow = (style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, header) + margin
                 if self.view.isSortingEnabled() else 0)
        return widest + 2 * margin + arrow + 6

    def fit(self) -> None:
        self.watch()
        model = self.view.model()
        if model is None:
            return
        header = self.view.horizontalHeader()
        widths = {}
        for column in range(model.columnCount()):
            if header.isSectionHidden(column):
                continue
            content = self._content_width(column)
            widths[column] = (content, self._width(column, content))
        if self.widest and widths:  # the column with the most text takes the spare width
            self.stretch = max(widths, key=lambda c: widths[c][0])
        for column, (_, width) in widths.items():
            if column == self.stretch:
                self._stretch_floor = max(self.header_width(column), self.minimum,
                                          min(widths[column][0], STRETCH_FLOOR))
            else:
                header.resizeSection(column, width)
        self._fit_stretch()

    def _width(self, column: int, content: int) -> int:
        fixed = self.widths.get(column)
        return max(self.minimum, min(content, self.maximum) if fixed is None else fixed,
                   self.header_width(column))

    def _fit_stretch(self) -> None:
        """The stretching column takes the width left over, but never less than its header or
        its content up to ``STRETCH_FLOOR``: past that the table scrolls sideways instead of
        squeezing the one column of free text to a few letters."""
        model = self.view.model()
        if self.stretch is None or model is None or self.stretch >= model.columnCount():
            return
        header = self.view.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(model.columnCount())
                     if c != self.stretch and not header.isSectionHidden(c))
        left = self.view.viewport().width() - others
        header.resizeSection(self.stretch, max(left, self._stretch_floor))

    def _content_width(self, column: int, rows: range | None = None) -> int:
        """The widest of the cells in ``rows`` (default: the first ``ROWS_MEASURED``): its
        text in its font, the cell's margins and its icon. Font metrics, not the delegate's
        size hint: ten times cheaper, and this runs on the GUI thread at every reload. The
        model is asked directly, not through ``index.data``, which would cross into C++ and
        back for each value.

        A column found to hold version references gets the delegate that keeps their ":3"."""
        model, view = self.view.model(), self.view
        plain = QFontMetrics(view.font())
        style = view.style()
        margin = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1)
        icon = view.iconSize().width() if view.iconSize().isValid() else 16
        rows = rows if rows is not None else range(min(model.rowCount(), ROWS_MEASURED))
        widest = 0
        versions = False
        for text, metrics, has_icon in _cells(model, column, rows, plain):
            width = metrics.horizontalAdvance(str(text)) if text not in (None, "") else 0
            widest = max(widest, width + (icon + 4 if has_icon else 0))
            versions = versions or (isinstance(text, str) and VERSION_REF.match(text) is not None)
        if versions and view.itemDelegateForColumn(column) is None:
            view.setItemDelegateForColumn(column, ElidingDelegate(view))
        return widest + margin + 4


def _cells(model, column: int, rows: range, plain: QFontMetrics) -> Iterator[tuple]:
    """(text, font metrics, has an icon) of each cell. A model of plain text cells (no font
    or icon of their own) may say so with ``plain_texts(column, rows)``: measuring its cells
    then needs no model index and no ``data()`` call per cell."""
    plain_texts = getattr(model, "plain_texts", None)
    if plain_texts is not None:
        for text in plain_texts(column, rows):
            yield text, plain, False
        return
    for row in rows:
        index = model.index(row, column)
        font = model.data(index, Qt.ItemDataRole.FontRole)
        yield (model.data(index, Qt.ItemDataRole.DisplayRole),
               plain if font is None else QFontMetrics(font),
               model.data(index, Qt.ItemDataRole.DecorationRole) is not None)


def readable_table(view: QTableView, *, middle: Iterable[int] = (),
                   stretch: int | str | None = None,
                   widths: dict[int, int] | None = None, minimum: int = MIN_WIDTH,
                   maximum: int = MAX_WIDTH) -> ColumnFitter:
    """Make ``view`` readable (see the module docstring). ``stretch``: the column that takes
    the remaining width (long free text), or "widest" for whichever has the most; ``widths``:
    columns of a fixed width (a sparkline), still never narrower than their header. Columns
    with their own delegate keep it."""
    view.setItemDelegate(CutTextTooltips(view))
    for column in middle:
        if view.itemDelegateForColumn(column) is None:
            view.setItemDelegateForColumn(column, ElidingDelegate(view, middle=True))
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(stretch is None)
    header.setTextElideMode(Qt.TextElideMode.ElideNone)
    return ColumnFitter(view, minimum=minimum, maximum=maximum, stretch=stretch,
                        widths=widths or {})


def column_fitter(view: QTableView) -> ColumnFitter | None:
    """The fitter ``readable_table`` attached to ``view`` (tests and pages refit through it)."""
    return view.findChild(ColumnFitter)
