"""A run's latency histogram, with its p50 and p95 marked."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from mlops_desk.ui.widgets import chart_style
from mlops_desk.ui.widgets.chart_axes import CountAxis

BINS = 40


def histogram(latencies: list[float], bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts); the top 0.5 % is folded into the last bin so a few timeouts do
    not squash everything else into one bar."""
    values = np.asarray(latencies, dtype=float)
    if values.size == 0:
        return np.array([0.0, 1.0]), np.array([0])
    top = float(np.quantile(values, 0.995))
    low = float(values.min())
    if top <= low:
        top = low + 1.0
    counts, edges = np.histogram(np.clip(values, low, top), bins=bins, range=(low, top))
    return edges, counts


class LatencyHistogram(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget(background=chart_style.background(),
                                         axisItems={"left": CountAxis("left")})
        plot = self.plot_widget.getPlotItem()
        chart_style.style_plot(plot)
        plot.setLabel("bottom", "latency (ms)")
        plot.setLabel("left", "rows")
        plot.setMouseEnabled(x=True, y=False)
        color = chart_style.series_color(0)
        self._bars = pg.PlotDataItem([0, 1], [0], stepMode="center", fillLevel=0,
                                     brush=chart_style.faded(color, 0.45),
                                     pen=pg.mkPen(color, width=1.5))
        plot.addItem(self._bars)
        text = chart_style.foreground()
        self._lines = {}
        for name, style in (("p50", Qt.PenStyle.DashLine), ("p95", Qt.PenStyle.DotLine)):
            line = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen(text, width=1, style=style),
                                   label=name, labelOpts={"position": 0.92, "color": text})
            line.setVisible(False)
            plot.addItem(line)
            self._lines[name] = line
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)
        self.n_values = 0

    def set_latencies(self, latencies: list[float], p50: float | None = None,
                      p95: float | None = None) -> None:
        edges, counts = histogram(latencies)
        self._bars.setData(edges, counts)
        self.n_values = len(latencies)
        for name, value in (("p50", p50), ("p95", p95)):
            line = self._lines[name]
            line.setVisible(value is not None and bool(latencies))
            if value is not None:
                line.setValue(value)
                line.label.setFormat(f"{name} {value:,.0f} ms" if value >= 10
                                     else f"{name} {value:.1f} ms")
        plot = self.plot_widget.getPlotItem()
        plot.enableAutoRange()
        chart_style.set_empty(plot, not latencies, "No answered rows to time", x_too=True)
