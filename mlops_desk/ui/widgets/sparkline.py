"""A tiny accuracy trend drawn with QPainter: cheap enough for a thousand table rows.

A delegate paints it inside a table cell, so only visible rows cost anything, and the
Overview page does not pull pyqtgraph into start-up.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from mlops_desk.ui import theme

SPARK_ROLE = Qt.ItemDataRole.UserRole + 1  # list[(accuracy, low, high)], oldest first
WARN_ROLE = Qt.ItemDataRole.UserRole + 2  # bool: draw the last point as a warning


def paint_sparkline(painter: QPainter, rect: QRectF, points: list[tuple[float, float, float]],
                    palette: QPalette, *, warn: bool = False, selected: bool = False) -> None:
    points = [p for p in points if p[0] is not None]
    if not points:
        return
    lows = [p[1] if p[1] is not None else p[0] for p in points]
    highs = [p[2] if p[2] is not None else p[0] for p in points]
    bottom, top = min(lows), max(highs)
    if top - bottom < 0.02:  # a flat series: give it some room instead of a wild zoom
        middle = (top + bottom) / 2
        bottom, top = middle - 0.01, middle + 0.01
    area = rect.adjusted(4, 4, -4, -4)

    def xy(i: int, value: float) -> QPointF:
        x = area.left() + (area.width() * i / (len(points) - 1) if len(points) > 1
                           else area.width() / 2)
        return QPointF(x, area.bottom() - (value - bottom) / (top - bottom) * area.height())

    role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Highlight
    line = palette.color(role)
    band = QColor(line)
    band.setAlphaF(0.22)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if len(points) > 1:
        upper = [xy(i, h) for i, h in enumerate(highs)]
        lower = [xy(i, lo) for i, lo in reversed(list(enumerate(lows)))]
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(band)
        painter.drawPolygon(QPolygonF(upper + lower))
        painter.setPen(QPen(line, 1.6))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolyline(QPolygonF([xy(i, p[0]) for i, p in enumerate(points)]))
    last = xy(len(points) - 1, points[-1][0])
    dot = theme.warning_color() if warn else line
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(dot)
    painter.drawEllipse(last, 3.2 if warn else 2.6, 3.2 if warn else 2.6)
    painter.restore()


class SparklineDelegate(QStyledItemDelegate):
    """Draws ``SPARK_ROLE`` data of a cell as a sparkline."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        # The default panel first, so selection and hover look like every other cell.
        self.initStyleOption(option, index)
        option.text = ""
        style = option.widget.style() if option.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, option, painter,
                              option.widget)
        points = index.data(SPARK_ROLE) or []
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        paint_sparkline(painter, QRectF(option.rect), points, option.palette,
                        warn=bool(index.data(WARN_ROLE)), selected=selected)

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:
        return QSize(140, 30)
