"""The deployment history drawn as a vertical timeline: a dot per move, newest on top.

A delegate paints each row of ``HistoryTableModel`` as a two-line card: where it moved and
from which version to which, with ROLLBACK / FORCED badges and the time on the first line;
who, the gating run and the reason on the second. Painting per visible row keeps a long
history cheap.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from mlops_desk.core.deploy import Move
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme
from mlops_desk.ui.item_models.deploy_history import MOVE_ROLE, change_text

GUTTER = 34
DOT = 6
PAD = 7


def dot_color(move: Move) -> QColor:
    if move.forced:
        return theme.error_color()
    return theme.warning_color() if move.action == "rollback" else theme.ok_color()


def details_text(move: Move) -> str:
    parts = [f"by {move.user}"]
    parts.append(f"gate run {move.gate_run_id}" if move.gate_run_id is not None
                 else ("not gated (rollback)" if move.action == "rollback" else "no gate run"))
    parts.append(f"“{move.reason}”" if move.reason else "no reason given")
    return "  ·  ".join(parts)


class TimelineDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        height = QFontMetrics(option.font).height()
        return QSize(320, 2 * height + 3 * PAD)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        move: Move | None = index.data(MOVE_ROLE)
        if move is None:
            return
        painter.save()
        palette: QPalette = option.palette
        rect: QRect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, palette.color(QPalette.ColorRole.Highlight))
        text_role = (QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        text = palette.color(text_role)
        muted = QColor(text)
        muted.setAlphaF(0.7)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)

        # The rail: from the row above to the row below (not past the first or last move).
        x = rect.left() + GUTTER / 2
        rows = index.model().rowCount()
        top = rect.top() if index.row() > 0 else rect.center().y()
        bottom = rect.bottom() if index.row() < rows - 1 else rect.center().y()
        rail = QColor(palette.color(QPalette.ColorRole.Mid))
        painter.setPen(QPen(rail, 2))
        painter.drawLine(QPointF(x, top), QPointF(x, bottom))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Base), 2))
        painter.setBrush(dot_color(move))
        painter.drawEllipse(QPointF(x, rect.center().y()), DOT, DOT)

        font = QFont(option.font)
        metrics = QFontMetrics(font)
        line_h = metrics.height()
        left = rect.left() + GUTTER
        right = rect.right() - PAD
        first = QRect(left, rect.top() + PAD, right - left, line_h)
        second = QRect(left, first.bottom() + PAD, right - left, line_h)

        when = fmt.timestamp(move.ts)
        painter.setFont(font)
        painter.setPen(muted)
        painter.drawText(first, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                         when)
        bold = QFont(font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text)
        head = f"{move.environment}   {change_text(move)}"
        head_w = QFontMetrics(bold).horizontalAdvance(head)
        painter.drawText(first, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         head)
        badge_x = left + head_w + 10
        if move.action == "rollback":
            badge_x = self._badge(painter, font, badge_x, first, "ROLLBACK",
                                  theme.warning_color(), filled=False)
        if move.forced:
            self._badge(painter, font, badge_x, first, "FORCED", theme.error_color(), filled=True)

        painter.setFont(font)
        painter.setPen(muted)
        painter.drawText(second, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         metrics.elidedText(details_text(move), Qt.TextElideMode.ElideRight,
                                            second.width()))
        painter.restore()

    @staticmethod
    def _badge(painter: QPainter, font: QFont, x: int, line: QRect, label: str, color: QColor,
               *, filled: bool) -> int:
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.8))
        small.setBold(True)
        metrics = QFontMetrics(small)
        box = QRectF(x, line.center().y() - metrics.height() / 2 - 1,
                     metrics.horizontalAdvance(label) + 10, metrics.height() + 2)
        painter.setFont(small)
        painter.setPen(QPen(color, 1.2))
        painter.setBrush(color if filled else Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor("white") if filled else color)
        painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), label)
        return int(box.right()) + 6


class DeployTimeline(QListView):
    """A read-only list view over ``HistoryTableModel`` (column 0) with the timeline look."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setItemDelegate(TimelineDelegate(self))
        self.setUniformItemSizes(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setMouseTracking(True)  # tooltips carry the full reason
