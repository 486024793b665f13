"""The live throughput chart of a running run, painted with QPainter.

Not pyqtgraph: while a run's worker thread keeps the GIL busy, every Python call the GUI
thread makes has to wait its turn, and a pyqtgraph repaint makes dozens of them (items,
axes, ticks). This widget repaints in one ``paintEvent``: the GUI stays responsive at
the cost of axes that are only a baseline and two labels.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from mlops_desk.ui.widgets import chart_style

HEIGHT = 70
MARGIN = 4


class ThroughputChart(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._points: list[tuple[float, float]] = []  # (seconds since start, rows/s)
        self.setMinimumHeight(HEIGHT)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Rows per second since this run started")

    def sizeHint(self) -> QSize:
        return QSize(300, HEIGHT)

    def set_points(self, points: list[tuple[float, float]]) -> None:
        self._points = list(points)
        self.update()

    @property
    def point_count(self) -> int:
        return len(self._points)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.Text)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))
        label_height = painter.fontMetrics().height()
        area = QRectF(self.rect()).adjusted(MARGIN, MARGIN + label_height, -MARGIN, -MARGIN)
        muted = QColor(text)
        muted.setAlphaF(0.45)
        painter.setPen(QPen(muted, 1))
        painter.drawLine(area.bottomLeft(), area.bottomRight())
        if len(self._points) >= 2 and area.width() > 0 and area.height() > 0:
            first, last = self._points[0][0], self._points[-1][0]
            top = max(y for _, y in self._points) or 1.0
            span = (last - first) or 1.0
            line = QPolygonF([QPointF(area.left() + (x - first) / span * area.width(),
                                      area.bottom() - y / top * area.height())
                              for x, y in self._points])
            painter.setPen(QPen(chart_style.series_color(0), 2))
            painter.drawPolyline(line)
            painter.setPen(QPen(text))
            painter.drawText(QRectF(area.left(), MARGIN, area.width(), label_height),
                             Qt.AlignmentFlag.AlignLeft,
                             f"rows/s (peak {top:,.0f}, now {self._points[-1][1]:,.0f})")
            painter.drawText(QRectF(area.left(), MARGIN, area.width(), label_height),
                             Qt.AlignmentFlag.AlignRight, f"{span:,.0f} s")
        painter.end()
