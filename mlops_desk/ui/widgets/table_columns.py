"""Readable tables: one helper every table view uses for its columns and its cut-off text.

- Columns are sized to their content (the header text included, so a header is never cut),
  between a sensible minimum and a maximum past which text is elided instead.
- Text is elided where the end matters least: a version reference keeps its ``:3`` (the
  model name is cut: ``review-sen…:3``), long ids lose their middle, anything else its end.
- A cell whose text is elided shows the full text as its tooltip (before the model's own
  tooltip, if it has one); a cell that fits keeps just the model's tooltip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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
# tooltip; measuring costs ~85 us a cell on the GUI thread (9 columns x 50 rows: ~40 ms)


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


class ElidingDelegate(QStyledItemDelegate):
    """Draws display text elided by ``elide`` and gives an elided cell its full text as a
    tooltip. ``middle``: the columns that hold long ids (cut in the middle)."""

    def __init__(self, view: QAbstractItemView, middle: Iterable[int] = ()):
        super().__init__(view)
        self.middle = set(middle)
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

    def shown_text(self, option: QStyleOptionViewItem, index: QModelIndex) -> str:
        """The text as drawn in ``option.rect`` (elided or not)."""
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        return elide(text, option.fontMetrics, self._text_width(option),
                     middle=index.column() in self.middle)

    def tooltip(self, option: QStyleOptionViewItem, index: QModelIndex) -> str | None:
        """The full text when the cell is elided (then the model's tooltip), else the model's."""
        own = index.data(Qt.ItemDataRole.ToolTipRole)
        full = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        probe = QStyleOptionViewItem(option)
        super().initStyleOption(probe, index)
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

    def _text_width(self, option: QStyleOptionViewItem) -> int:
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

    def _rows_added(self, _parent, first: int, _last: int) -> None:
        # A page appended past the measured rows (results load page by page) changes nothing.
        if first < ROWS_MEASURED:
            self._timer.start()

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
            fixed = self.widths.get(column)
            widths[column] = (content, max(self.minimum, min(content, self.maximum) if fixed
                                           is None else fixed, self.header_width(column)))
        if self.widest and widths:  # the column with the most text takes the spare width
            self.stretch = max(widths, key=lambda c: widths[c][0])
        for column, (_, width) in widths.items():
            if column == self.stretch:
                self._stretch_floor = max(self.header_width(column), self.minimum,
                                          min(widths[column][0], STRETCH_FLOOR))
            else:
                header.resizeSection(column, width)
        self._fit_stretch()

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

    def _content_width(self, column: int) -> int:
        """The widest of the first ``ROWS_MEASURED`` cells: its text in its font, the cell's
        margins and its icon. Font metrics, not the delegate's size hint: ten times cheaper,
        and this runs on the GUI thread at every reload."""
        model, view = self.view.model(), self.view
        plain = QFontMetrics(view.font())
        style = view.style()
        margin = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1)
        icon = view.iconSize().width() if view.iconSize().isValid() else 16
        widest = 0
        for row in range(min(model.rowCount(), ROWS_MEASURED)):
            index = model.index(row, column)
            text = index.data(Qt.ItemDataRole.DisplayRole)
            font = index.data(Qt.ItemDataRole.FontRole)
            metrics = plain if font is None else QFontMetrics(font)
            width = metrics.horizontalAdvance(str(text)) if text not in (None, "") else 0
            if index.data(Qt.ItemDataRole.DecorationRole) is not None:
                width += icon + 4
            widest = max(widest, width)
        return widest + margin + 4


def readable_table(view: QTableView, *, middle: Iterable[int] = (),
                   stretch: int | str | None = None,
                   widths: dict[int, int] | None = None, minimum: int = MIN_WIDTH,
                   maximum: int = MAX_WIDTH) -> ColumnFitter:
    """Make ``view`` readable (see the module docstring). ``stretch``: the column that takes
    the remaining width (long free text), or "widest" for whichever has the most; ``widths``:
    columns of a fixed width (a sparkline), still never narrower than their header. Columns
    with their own delegate keep it."""
    view.setItemDelegate(ElidingDelegate(view, middle))
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
