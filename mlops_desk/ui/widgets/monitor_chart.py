"""Gateway traffic over time: four stacked, x-linked pyqtgraph panels, one line per version.

Requests per minute, latency (p95 solid, p50 dashed), error rate and cost per minute. x is
float epoch seconds on a ``DateAxisItem`` and always spans the whole window, so a quiet
hour reads as quiet rather than as a zoomed-in blip.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from mlops_desk.ui.item_models.monitor_data import MonitorData, VersionSeries
from mlops_desk.ui.widgets import chart_style
from mlops_desk.ui.widgets.chart_axes import CountAxis

PANELS = (
    ("per_minute", "Requests per minute"),
    ("latency", "Latency, ms (solid: p95, dashed: p50)"),
    ("error_rate", "Error rate, %"),
    ("cost", "Cost per minute, $"),
)
SYMBOL_LIMIT = 120


class TrafficChart(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.data: MonitorData | None = None
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(chart_style.background())
        self.plots: dict[str, pg.PlotItem] = {}
        text = chart_style.foreground()
        for row, (key, title) in enumerate(PANELS):
            axes = {"bottom": pg.DateAxisItem("bottom")}
            if key == "per_minute":
                axes["left"] = CountAxis("left")
            plot = self.graphics.addPlot(row=row, col=0, axisItems=axes)
            chart_style.style_plot(plot)
            plot.setTitle(title, color=text.name(), size="9pt", justify="left")
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.getAxis("left").setWidth(56)
            plot.setMouseEnabled(x=True, y=False)
            if row:
                plot.setXLink(self.plots[PANELS[0][0]])
            if row < len(PANELS) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            self.plots[key] = plot
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.legend)
        layout.addWidget(self.graphics, 1)

    def set_data(self, data: MonitorData) -> None:
        self.data = data
        for plot in self.plots.values():
            plot.clear()
        for i, series in enumerate(data.series):
            self._add_series(series, chart_style.series_color(i))
        self.legend.setText(" &nbsp; ".join(
            f"<span style='color:{chart_style.series_color(i).name()}'>&#9632;</span> "
            f"{html.escape(data.model)}:{s.version}" for i, s in enumerate(data.series))
            or "No gateway requests in this window.")
        first = self.plots[PANELS[0][0]]
        first.setXRange(data.since, data.until, padding=0.01)
        for key, plot in self.plots.items():
            plot.enableAutoRange(axis="y")
            plot.setAutoVisible(y=True)  # y fits what is in view after a pan or zoom
            chart_style.set_empty(plot, self.item_count(key) == 0,
                                  "No requests in this window")

    def _add_series(self, s: VersionSeries, color) -> None:
        x = np.asarray(s.x, dtype=float)
        symbols = len(x) <= SYMBOL_LIMIT

        def line(key: str, values, style=Qt.PenStyle.SolidLine, symbol=True) -> None:
            y = np.asarray(values, dtype=float)
            if not np.isfinite(y).any():
                return
            item = pg.PlotDataItem(
                x, y, pen=pg.mkPen(color, width=2, style=style), connect="finite",
                symbol="o" if symbols and symbol else None, symbolSize=4, symbolBrush=color,
                symbolPen=None)
            self.plots[key].addItem(item)

        line("per_minute", s.per_minute)
        line("latency", s.p95_ms)
        line("latency", s.p50_ms, Qt.PenStyle.DashLine, symbol=False)
        line("error_rate", [v * 100 for v in s.error_rate])
        line("cost", s.cost_per_minute)

    def item_count(self, key: str) -> int:
        """Data lines drawn in a panel (for tests)."""
        return sum(isinstance(item, pg.PlotDataItem) for item in self.plots[key].listDataItems())
