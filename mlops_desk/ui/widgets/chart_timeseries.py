"""Performance over time: four stacked, x-linked pyqtgraph panels, one line per model and
dataset. A model keeps its colour (from its id); its reference dataset's line is solid, any
other dataset's dashed, and the legend names both.

Accuracy carries its 95 % Wilson interval as a band; p95 latency, error rate and cost per
1,000 rows follow. x is float epoch seconds on a ``DateAxisItem``. Each panel clips to the
view and peak-downsamples, so 10,000 runs pan and zoom smoothly. Dashed vertical lines mark
version registrations and deployments; their labels are stacked in lanes so they never
print over each other, in the colour of their model. Moving the mouse highlights the
nearest run in all four panels and reads it out; ``export`` writes the whole chart as PNG or SVG.
"""

from __future__ import annotations

import bisect
import html
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QLabel, QVBoxLayout, QWidget

from mlops_desk.core.timeseries import ChartData, Marker, Series, merge_markers, stack_lanes
from mlops_desk.ui import format as fmt
from mlops_desk.ui.widgets import chart_style

# (series key, panel title, scale applied to the stored value)
PANELS = (
    ("accuracy", "Accuracy, % (band: 95% Wilson interval)", 100.0),
    ("latency_p95_ms", "p95 latency, ms", 1.0),
    ("error_rate", "Error rate, %", 100.0),
    ("cost_per_1k", "Cost per 1,000 rows, $", 1.0),
)
SYMBOL_LIMIT = 400  # draw point symbols only while a series is small enough to read them
HOVER_PX = 14  # how close (in pixels) the mouse must be to a point to read it out
MARKER_PX = 5
MAX_DRAWN_MARKERS = 150
PANEL_PAUSE_MS = 15
# Label lanes: deploy labels rise from near the bottom of the accuracy panel, version labels
# hang from near the top, one label height apart, each kind in its own half; a marker past
# the last lane that fits has no label (its line's tooltip and the read-out name it).
DEPLOY_BASE, VERSION_BASE = 0.06, 0.95
LABEL_GAP_PX = 6
OTHER_DATASET_STYLES = (Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)

__all__ = ["TimeSeriesChart", "line_name", "merge_markers"]


def _band_known(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Where the band has both ends (a run without an interval breaks it)."""
    return np.isfinite(x) & np.isfinite(low) & np.isfinite(high)


def band_path(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> QPainterPath | None:
    """The area between ``low`` and ``high``: one polygon per stretch of points where both
    are known. None when there is no stretch."""
    known = _band_known(x, low, high)
    if not known.any():
        return None
    path = QPainterPath()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], known.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        xs = np.concatenate((x[start:stop], x[start:stop][::-1]))
        ys = np.concatenate((low[start:stop], high[start:stop][::-1]))
        outline = pg.arrayToQPath(xs, ys, connect="all")  # from the arrays, no point objects
        outline.closeSubpath()
        path.addPath(outline)
    return path


def line_name(series: Series) -> str:
    """The legend's words for a line: ``review-sentiment · reviews (reference)``."""
    tail = " (reference)" if series.reference else ""
    return f"{series.model} · {series.dataset}{tail}" if series.dataset else series.model


class TimeSeriesChart(QWidget):
    point_hovered = Signal(object)  # Series.point(i) dict, or None

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.data: ChartData | None = None
        self._arrays: list[tuple[Series, np.ndarray, dict[str, np.ndarray]]] = []
        self._markers: list[Marker] = []
        self._model_ids: dict[str, int] = {}
        self._labelled: list[tuple[pg.InfiniteLine, str, int]] = []  # accuracy panel labels
        self._marker_x: list[float] = []
        self.marker_lanes: list[int | None] = []  # per marker: its label's lane, None: unlabelled
        self.hovered: tuple[str, int] | None = None  # (line name, index) under the mouse

        # One PlotWidget (one QGraphicsView) per panel rather than one layout of four: each
        # repaints on its own, so a reload never blocks the GUI thread for all four at once.
        self.views: dict[str, pg.PlotWidget] = {}
        self.plots: dict[str, pg.PlotItem] = {}
        self._highlights: dict[str, pg.ScatterPlotItem] = {}
        # Per panel: what its items were built for, and its lines (series index, line, band
        # edges and area) to refill in place while that stays the same.
        self._shapes: dict[str, tuple] = {}
        self._lines: dict[str, list] = {}
        self._mouse_proxies = []
        self._todo: list[str] = []  # panels still to draw for the latest data
        self._x_range: tuple[float, float] | None = None
        self._draw_timer = QTimer(self)
        self._draw_timer.setSingleShot(True)
        # Not 0: a pause between panels lets the event loop serve input (and other windows'
        # repaints) between one panel's paint and the next panel's build.
        self._draw_timer.setInterval(PANEL_PAUSE_MS)
        self._draw_timer.timeout.connect(self._draw_next)
        text = chart_style.foreground()
        for row, (key, title, _) in enumerate(PANELS):
            view = pg.PlotWidget(background=chart_style.background(),
                                 axisItems={"bottom": pg.DateAxisItem("bottom")})
            plot = view.getPlotItem()
            chart_style.style_plot(plot)
            plot.setTitle(title, color=text.name(), size="9pt", justify="left")
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.getAxis("left").setWidth(56)
            if row:
                plot.setXLink(self.plots[PANELS[0][0]])
            if row < len(PANELS) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
            self.views[key], self.plots[key] = view, plot
            self._mouse_proxies.append(pg.SignalProxy(
                view.scene().sigMouseMoved, rateLimit=30,
                slot=lambda event, key=key: self._mouse_moved(key, event)))
        self.plots[PANELS[0][0]].vb.sigResized.connect(self._place_labels)
        # The legend sits above the panels, not in one: it never covers a point or a marker.
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.readout = QLabel(" ")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.legend)
        layout.addWidget(self.readout)
        for key, *_ in PANELS:
            layout.addWidget(self.views[key], 1)

    # -- data ----------------------------------------------------------------------------
    def set_data(self, data: ChartData) -> None:
        """Show ``data``: the panels are drawn one per event-loop turn, each painted before
        the next is built, so no single turn pays for all four (nor for the data's arrival)."""
        self.data = data
        self._arrays = [self._arrays_of(series) for series in data.series]
        self._model_ids = {series.model: series.model_id for series in data.series}
        self.legend.setText(" &nbsp; ".join(
            f"<span style='color:{self.color_of(series).name()}'>"
            f"{'&#9632;' if series.reference or not series.dataset else '&#9633;'}</span> "
            f"{html.escape(line_name(series))}" for series in data.series))
        self._markers = merge_markers(data.markers[-MAX_DRAWN_MARKERS:])
        self._marker_x = [m.x for m in self._markers]
        self.set_hover(None)
        self._x_range = self._time_span()
        self.marker_lanes = self._label_lanes()
        self._todo = [key for key, *_ in PANELS]
        # A panel still to draw keeps its old picture: not repainted meanwhile (a legend or
        # layout change would otherwise repaint all four in one turn, ~25 ms each).
        for key in self._todo:
            self.views[key].setUpdatesEnabled(False)
        if self._x_range is not None:  # once, for all four: their x axes stay linked
            self.plots[PANELS[0][0]].setXRange(*self._x_range, padding=0.02)
        self._draw_timer.start()

    @property
    def drawing(self) -> bool:
        """True until every panel shows the latest ``set_data``."""
        return bool(self._todo)

    def _draw_next(self) -> None:
        if not self._todo:
            return
        key = self._todo.pop(0)
        self._draw_panel(key)
        # The y range now, not at paint time (where it would make the axes paint twice); the
        # panel then paints once, in the next turn, before the next panel is built.
        self.plots[key].getViewBox().updateAutoRange()
        self.views[key].setUpdatesEnabled(True)
        if self._todo:
            self._draw_timer.start()

    def _time_span(self) -> tuple[float, float] | None:
        xs = [x for _, x, _ in self._arrays if len(x)] + (
            [np.asarray(self._marker_x)] if self._marker_x else [])
        if not xs:
            return None
        low, high = min(float(x.min()) for x in xs), max(float(x.max()) for x in xs)
        return (low - 3600, high + 3600) if high - low < 3600 else (low, high)

    def _draw_panel(self, key: str) -> None:
        """Build the panel's items, or when only the numbers changed (a reload after one more
        run) give the existing ones their new data: far cheaper than new pyqtgraph items."""
        plot = self.plots[key]
        plot.disableAutoRange()
        shape = self._shape(key)
        if self._shapes.get(key) == shape:
            self._refill_panel(key)
        else:
            self._build_panel(key)
            self._shapes[key] = shape
        plot.enableAutoRange(axis="y")
        drawn = any(isinstance(item, pg.PlotDataItem) for item in plot.listDataItems())
        chart_style.set_empty(plot, not drawn, "No runs to show" if not self._arrays
                              else "No values for these runs")

    def _shape(self, key: str) -> tuple:
        """What the panel's items depend on, apart from the numbers they plot."""
        lines = tuple((series.model_id, series.dataset, series.reference,
                       bool(np.isfinite(values[key]).any()),
                       key == "accuracy" and bool(
                           _band_known(x, values["ci_low"], values["ci_high"]).any()))
                      for series, x, values in self._arrays)
        return lines, self._symbols(), tuple(self._markers), tuple(self.marker_lanes)

    def _symbols(self) -> bool:
        return all(len(x) <= SYMBOL_LIMIT for _, x, _ in self._arrays)

    def _build_panel(self, key: str) -> None:
        plot = self.plots[key]
        plot.clear()
        highlight = pg.ScatterPlotItem(size=12, pen=pg.mkPen(chart_style.foreground(), width=2),
                                       brush=None)
        highlight.setZValue(100)
        plot.addItem(highlight)
        self._highlights[key] = highlight
        self._lines[key] = []
        symbols = self._symbols()
        for i, (series, x, values) in enumerate(self._arrays):
            color = self.color_of(series)
            if not np.isfinite(values[key]).any():
                continue  # nothing to draw (e.g. no pricing known): an empty panel, no NaN noise
            line = pg.PlotDataItem(
                x, values[key], pen=pg.mkPen(color, width=2, style=self.style_of(series)),
                connect="finite", name=line_name(series),
                symbol="o" if symbols else None, symbolSize=5, symbolBrush=color,
                symbolPen=None)
            plot.addItem(line)
            band = self._add_band(x, values["ci_low"], values["ci_high"], color) \
                if key == "accuracy" else None
            self._lines[key].append((i, line, band))
        self._add_markers(key)

    def _refill_panel(self, key: str) -> None:
        for i, line, band in self._lines[key]:
            _, x, values = self._arrays[i]
            line.setData(x, values[key])
            if band is not None:
                low, high, area = band
                low.setData(x, values["ci_low"])
                high.setData(x, values["ci_high"])
                area.setPath(band_path(x, values["ci_low"], values["ci_high"]))

    @staticmethod
    def _arrays_of(series: Series) -> tuple[Series, np.ndarray, dict[str, np.ndarray]]:
        values = {key: np.asarray(series.values[key], dtype=float) * scale
                  for key, _, scale in PANELS}
        values["ci_low"] = np.asarray(series.values["ci_low"], dtype=float) * 100
        values["ci_high"] = np.asarray(series.values["ci_high"], dtype=float) * 100
        return series, np.asarray(series.x, dtype=float), values

    def _add_band(self, x: np.ndarray, low: np.ndarray, high: np.ndarray, color):
        """The band's two edges and its area, or None without one."""
        path = band_path(x, low, high)
        if path is None:
            return None
        edge = pg.mkPen(chart_style.faded(color, 0.35), width=1)
        plot = self.plots["accuracy"]
        edges = [pg.PlotDataItem(x, values, pen=edge, connect="finite") for values in (low, high)]
        for item in edges:
            plot.addItem(item)
        # A fixed path in data coordinates, made once: pyqtgraph's FillBetweenItem rebuilds
        # its polygon in Python from both curves at every change of the view (~5 ms each).
        band = QGraphicsPathItem(path)
        band.setPen(QPen(Qt.PenStyle.NoPen))
        band.setBrush(chart_style.faded(color, 0.18))
        band.setZValue(-1)
        plot.addItem(band, ignoreBounds=True)  # the edges give the panel its bounds
        return edges[0], edges[1], band

    # -- colours and marker lanes ------------------------------------------------------------
    def color_of(self, series_or_model: Series | str):
        """The model's colour (stable: from its id), for its lines and its marker labels."""
        if isinstance(series_or_model, Series):
            return chart_style.model_color(series_or_model.model_id)
        model_id = self._model_ids.get(series_or_model)
        return chart_style.foreground() if model_id is None else chart_style.model_color(model_id)

    def style_of(self, series: Series) -> Qt.PenStyle:
        """Solid for the reference dataset; each other dataset of the model its own dash."""
        if series.reference or not series.dataset:
            return Qt.PenStyle.SolidLine
        others = sorted({s.dataset for s in self.data.series
                         if s.model == series.model and not s.reference})
        return OTHER_DATASET_STYLES[others.index(series.dataset) % len(OTHER_DATASET_STYLES)]

    def label_spans(self) -> list[tuple[float, float]]:
        """Each marker label's horizontal extent in pixels of the panel as first drawn: deploy
        labels sit left of their line, version labels right of it."""
        x0, x1 = self._x_range or (0.0, 1.0)
        width_px = max(200, self.views[PANELS[0][0]].width() - 70)  # less the y axis
        metrics = self.fontMetrics()
        spans = []
        for marker in self._markers:
            at = (marker.x - x0) / ((x1 - x0) or 1.0) * width_px
            size = metrics.horizontalAdvance(marker.label) + 8
            spans.append((at - size, at) if marker.kind == "deploy" else (at, at + size))
        return spans

    def lane_step(self) -> float:
        """One label's height (and a gap) as a fraction of the accuracy panel's height."""
        height = self.plots[PANELS[0][0]].vb.height()
        if height < 40:  # not laid out yet: the share of the widget a panel will get
            height = max(120.0, self.height() / len(PANELS) - 40)
        label_px = max((line.label.boundingRect().height() for line, _, _ in self._labelled),
                       default=self.fontMetrics().height() + 8)
        return (label_px + 4) / height

    def _place_labels(self) -> None:
        """Put each marker label in its lane for the panel's current height (on each resize:
        lanes are pixels apart, not fractions)."""
        for line, kind, lane in self._labelled:
            line.label.setPosition(self.lane_position(kind, lane))

    def lane_position(self, kind: str, lane: int) -> float:
        step = self.lane_step()
        return DEPLOY_BASE + lane * step if kind == "deploy" else VERSION_BASE - lane * step

    def _label_lanes(self) -> list[int | None]:
        spans = self.label_spans()
        lanes: list[int | None] = [None] * len(self._markers)
        most = max(1, int(0.42 / self.lane_step()) + 1)  # each kind keeps to its half
        for kind in ("deploy", "version"):
            picked = [i for i, m in enumerate(self._markers) if m.kind == kind]
            for i, lane in zip(picked, stack_lanes([spans[i] for i in picked], LABEL_GAP_PX),
                               strict=True):
                lanes[i] = lane if lane < most else None
        return lanes

    def _add_markers(self, key: str) -> None:
        labelled = key == "accuracy"
        if labelled:
            self._labelled = []
        for marker, lane in zip(self._markers, self.marker_lanes, strict=True):
            is_deploy = marker.kind == "deploy"
            color = chart_style.DEPLOY_MARKER if is_deploy else chart_style.VERSION_MARKER
            style = Qt.PenStyle.SolidLine if is_deploy else Qt.PenStyle.DashLine
            show_label = labelled and lane is not None
            line = pg.InfiniteLine(
                pos=marker.x, angle=90, movable=False, pen=pg.mkPen(color, style=style),
                label=marker.label if show_label else None,
                labelOpts={"position": self.lane_position(marker.kind, lane),
                           "color": self.color_of(marker.model),
                           "anchors": [(1, 0.5), (1, 0.5)] if is_deploy else [(0, 0.5),
                                                                             (0, 0.5)],
                           "fill": chart_style.faded(chart_style.background(), 0.85)}
                if show_label else None)
            line.setToolTip(marker.detail)
            line.setZValue(-10)
            self.plots[key].addItem(line)  # in the bounds: a deploy after the last run shows
            if show_label:
                self._labelled.append((line, marker.kind, lane))
        if labelled:
            self._place_labels()

    # -- hover ---------------------------------------------------------------------------
    def _mouse_moved(self, key: str, event) -> None:
        pos = event[0]
        plot = self.plots[key]
        if plot.vb.sceneBoundingRect().contains(pos):
            point = plot.vb.mapSceneToView(pos)
            self.hover_at(key, point.x(), point.y())
        else:
            self.set_hover(None)

    def hover_at(self, key: str, x: float, y: float) -> None:
        """Read out the run nearest to view point (x, y) of panel ``key``, if close enough."""
        found = self.nearest_point(key, x, y)
        if found is not None:
            self.set_hover(found)
            return
        marker = self.nearest_marker(key, x)
        self.set_hover(None)
        if marker is not None:
            self.readout.setText(f"{_when(marker.x)} · {marker.detail}")

    def nearest_point(self, key: str, x: float, y: float) -> tuple[Series, int] | None:
        px, py = self.plots[key].vb.viewPixelSize()
        px, py = px or 1.0, py or 1.0
        best, best_d = None, float(HOVER_PX)
        for series, xs, values in self._arrays:
            ys = values[key]
            i = int(np.searchsorted(xs, x))
            for j in range(max(0, i - 3), min(len(xs), i + 3)):
                if not math.isfinite(ys[j]):
                    continue
                d = math.hypot((xs[j] - x) / px, (ys[j] - y) / py)
                if d < best_d:
                    best, best_d = (series, j), d
        return best

    def nearest_marker(self, key: str, x: float) -> Marker | None:
        if not self._markers:
            return None
        px = self.plots[key].vb.viewPixelSize()[0] or 1.0
        i = bisect.bisect_left(self._marker_x, x)
        near = [m for m in self._markers[max(0, i - 1):i + 1] if abs(m.x - x) / px <= MARKER_PX]
        return near[0] if near else None

    def set_hover(self, found: tuple[Series, int] | None) -> None:
        if found is None:
            self.hovered = None
            for highlight in self._highlights.values():
                highlight.setData([], [])
            self.readout.setText("Point at a run to read it; drag to pan, wheel to zoom, "
                                 "right-click for more.")
            self.point_hovered.emit(None)
            return
        series, i = found
        self.hovered = (line_name(series), i)
        values = next(v for s, _, v in self._arrays if s is series)
        for key, highlight in self._highlights.items():
            y = values[key][i]
            if math.isfinite(y):
                highlight.setData([series.x[i]], [y])
            else:
                highlight.setData([], [])
        point = series.point(i)
        self.readout.setText(readout_text(point))
        self.point_hovered.emit(point)

    # -- export --------------------------------------------------------------------------
    def export(self, path: str | Path, width: int = 1600) -> Path:
        """Write the whole chart (all four panels) to ``path``: .svg, else a PNG image."""
        path = Path(path)
        if path.suffix.lower() == ".svg":
            self._export_svg(path)
            return path
        from PySide6.QtGui import QImage

        view_width, view_height = self._stack_size()
        scale = width / max(1, view_width)
        image = QImage(width, round(view_height * scale), QImage.Format.Format_ARGB32)
        image.fill(chart_style.background())
        self._paint_stack(image, scale)
        if not image.save(str(path)):
            raise OSError(f"could not write {path}")
        return path

    def _export_svg(self, path: Path) -> None:
        # Not pyqtgraph's SVGExporter: its post-processing cannot parse the "Z" (close
        # path) command that Qt 6's SVG generator writes, and fails on every chart.
        from PySide6.QtSvg import QSvgGenerator

        width, height = self._stack_size()
        generator = QSvgGenerator()
        generator.setFileName(str(path))
        generator.setSize(QSize(width, height))
        generator.setViewBox(QRectF(0, 0, width, height))
        generator.setTitle("MLOps Desk chart")
        self._paint_stack(generator, 1.0)

    def _stack_size(self) -> tuple[int, int]:
        views = list(self.views.values())
        return views[0].width(), sum(view.height() for view in views)

    def _paint_stack(self, device, scale: float) -> None:
        """Paint the four panels one under the other onto ``device``, scaled by ``scale``."""
        from PySide6.QtGui import QPainter

        painter = QPainter(device)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            top = 0.0
            for view in self.views.values():
                target = QRectF(0, top, view.width() * scale, view.height() * scale)
                painter.fillRect(target, chart_style.background())
                view.render(painter, target, view.viewport().rect())
                top += view.height() * scale
        finally:
            painter.end()

    # -- for tests and the page ------------------------------------------------------------
    def point_count(self) -> int:
        return sum(len(s) for s in (self.data.series if self.data else []))

    def view_to_scene(self, key: str, x: float, y: float) -> QPointF:
        """Where view point (x, y) of panel ``key`` sits in that panel's scene."""
        return self.plots[key].vb.mapViewToScene(QPointF(x, y))


def _when(x: float) -> str:
    return datetime.fromtimestamp(x).strftime("%Y-%m-%d %H:%M")


def readout_text(p: dict) -> str:
    def num(value: float, render) -> str:
        return fmt.DASH if value is None or not math.isfinite(value) else render(value)

    accuracy = num(p["accuracy"], lambda v: f"{v:.1%}")
    if math.isfinite(p["ci_low"]) and math.isfinite(p["ci_high"]):
        accuracy += f" ({p['ci_low']:.1%}–{p['ci_high']:.1%})"
    return (f"<b>{html.escape(p['model'])}:{p['version']}</b> · run {p['run_id']} · "
            f"{html.escape(p['dataset'])} · "
            f"{_when(p['x'])} — accuracy <b>{accuracy}</b> · p95 "
            f"{num(p['latency_p95_ms'], fmt.millis)} · errors "
            f"{num(p['error_rate'], lambda v: f'{v:.1%}')} · "
            f"{num(p['cost_per_1k'], fmt.cost)} per 1k rows · "
            f"{num(p['n_rows'], lambda v: f'{v:,.0f}')} rows")
