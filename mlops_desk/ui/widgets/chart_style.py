"""pyqtgraph colours that follow the Qt palette, and the series colour cycle.

pyqtgraph draws white on black by default; charts here take the window's base and text
colours instead, so they sit in the page on light and dark themes alike.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette

# Colour-blind-friendly qualitative cycle (Okabe-Ito, then Tableau extras).
SERIES_COLORS = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
    "#8C564B", "#7F7F7F", "#BCBD22", "#17BECF", "#9467BD", "#F0E442",
)
VERSION_MARKER = "#8a8a8a"
DEPLOY_MARKER = "#2e9e4f"


def series_color(i: int) -> QColor:
    return QColor(SERIES_COLORS[i % len(SERIES_COLORS)])


def background() -> QColor:
    return QGuiApplication.palette().color(QPalette.ColorRole.Base)


def foreground() -> QColor:
    return QGuiApplication.palette().color(QPalette.ColorRole.Text)


def faded(color: QColor, alpha: float) -> QColor:
    result = QColor(color)
    result.setAlphaF(alpha)
    return result


def style_plot(plot) -> None:
    """Axis lines and tick labels in the palette's text colour (a ``PlotItem``)."""
    text = foreground()
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(faded(text, 0.55))
        axis.setTextPen(text)
    plot.showGrid(x=True, y=True, alpha=0.15)
