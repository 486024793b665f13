"""pyqtgraph colours that follow the Qt palette, and the series colour cycle.

pyqtgraph draws white on black by default; charts here take the window's base and text
colours instead, so they sit in the page on light and dark themes alike. pyqtgraph is
imported inside the helpers: the QPainter-drawn charts use the colours without it.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette

from mlops_desk.ui import heap

# Colour-blind-friendly qualitative cycle (Okabe-Ito, then Tableau extras).
SERIES_COLORS = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
    "#8C564B", "#7F7F7F", "#BCBD22", "#17BECF", "#9467BD", "#F0E442",
)
VERSION_MARKER = "#8a8a8a"
DEPLOY_MARKER = "#2e9e4f"


def series_color(i: int) -> QColor:
    return QColor(SERIES_COLORS[i % len(SERIES_COLORS)])


def model_color(model_id: int) -> QColor:
    """A model's colour from its id, not its place in the current list: it keeps its colour
    when another model appears or a filter hides one (ids 1-12 never share one)."""
    return series_color(max(0, model_id - 1))


def background() -> QColor:
    return QGuiApplication.palette().color(QPalette.ColorRole.Base)


def foreground() -> QColor:
    return QGuiApplication.palette().color(QPalette.ColorRole.Text)


def faded(color: QColor, alpha: float) -> QColor:
    result = QColor(color)
    result.setAlphaF(alpha)
    return result


def style_plot(plot, *, non_negative: bool = True) -> None:
    """Axis lines and tick labels in the palette's text colour (a ``PlotItem``).

    ``non_negative``: the values are counts, rates, times or money, so the y axis never goes
    below zero (auto-range padding around an all-zero series would show -0.4 %).
    """
    drop_unusable_exporters()
    heap.collect_once("pyqtgraph")  # the first chart: pyqtgraph and its widgets are built
    text = foreground()
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(faded(text, 0.55))
        axis.setTextPen(text)
    plot.showGrid(x=True, y=True, alpha=0.15)
    if non_negative:
        plot.setLimits(yMin=0)


def drop_unusable_exporters() -> None:
    """Take "Matplotlib Window" out of the right-click Export dialog of every chart.

    pyqtgraph always offers it, and it fails: matplotlib is not a dependency. The list is
    pyqtgraph's global registry, so removing it once covers every plot.
    """
    from pyqtgraph.exporters import Exporter
    from pyqtgraph.exporters.Matplotlib import MatplotlibExporter

    if MatplotlibExporter in Exporter.Exporters:
        Exporter.Exporters.remove(MatplotlibExporter)


def set_empty(plot, empty: bool, text: str = "No data", *, x_too: bool = False) -> None:
    """An empty plot says so in its middle and hides its y numbers (and x's, with ``x_too``:
    a time axis still means something), rather than the meaningless 0.2-0.8 of an empty
    auto-range. Call it after ``plot.clear()``."""
    import pyqtgraph as pg

    note = getattr(plot, "empty_note", None)
    if note is None:
        note = pg.TextItem(anchor=(0.5, 0.5), color=faded(foreground(), 0.6))
        plot.empty_note = note
        view = plot.getViewBox()
        view.sigRangeChanged.connect(lambda *_: _center(note, view))
    note.setText(text)
    if note not in plot.items:  # plot.clear() took it out
        plot.addItem(note, ignoreBounds=True)
    note.setVisible(empty)
    for name in ("left", "bottom") if x_too else ("left",):
        axis = plot.getAxis(name)
        if axis.style["showValues"] == empty:  # restyling re-lays the axis out: only on change
            axis.setStyle(showValues=not empty)
    if empty:
        plot.setYRange(0, 1, padding=0)
    _center(note, plot.getViewBox())


def is_empty(plot) -> bool:
    note = getattr(plot, "empty_note", None)
    return note is not None and note.isVisible()


def _center(note, view) -> None:
    (x0, x1), (y0, y1) = view.viewRange()
    note.setPos((x0 + x1) / 2, (y0 + y1) / 2)
