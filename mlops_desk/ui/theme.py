"""Icons and the style sheet from resources/, coloured by the current palette.

Page icons are drawn with ``currentColor``; we substitute the palette's text colour before
rendering, so they read well on light and dark themes alike. ``refresh()`` clears the caches
when the OS switches between light and dark.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QGuiApplication,
    QIcon,
    QPainter,
    QPalette,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QLabel, QWidget

_SIZES = (16, 20, 24, 32, 48, 64)


def resource_text(*parts: str) -> str:
    return resources.files("mlops_desk.resources").joinpath(*parts).read_text(encoding="utf-8")


@cache
def _svg(name: str) -> str:
    return resource_text("icons", f"{name}.svg")


def icon(name: str, role: QPalette.ColorRole = QPalette.ColorRole.WindowText) -> QIcon:
    """The icon ``resources/icons/<name>.svg`` drawn in a palette colour."""
    color = QGuiApplication.palette().color(role)
    return _icon(name, color.name(QColor.NameFormat.HexArgb))


def tinted_icon(name: str, color: QColor) -> QIcon:
    return _icon(name, color.name(QColor.NameFormat.HexArgb))


@cache
def _icon(name: str, color: str) -> QIcon:
    # #AARRGGBB is not valid SVG: pass the alpha separately.
    rgb, alpha = "#" + color[3:], int(color[1:3], 16) / 255
    svg = _svg(name).replace('stroke="currentColor"',
                             f'stroke="{rgb}" stroke-opacity="{alpha:.3f}"')
    svg = svg.replace('fill="currentColor"', f'fill="{rgb}" fill-opacity="{alpha:.3f}"')
    renderer = QSvgRenderer(QByteArray(svg.encode()))
    result = QIcon()
    for size in _SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        result.addPixmap(pixmap)
    return result


def app_icon() -> QIcon:
    return _icon("app", "#ff000000")  # the app icon has its own colours


@cache
def style_sheet() -> str:
    """resources/style.qss: only palette(...) colours, so it follows light and dark."""
    return resource_text("style.qss")


# The style sheet is set on the few widgets it dresses (the sidebar, item lists and banners),
# not on the window: it would reach every widget below, and a table drawn through Qt's
# style-sheet style repaints about 30 % slower; a live run repaints its results every second.


def dress(widget: QWidget, name: str | None = None) -> None:
    """Give ``widget`` (and what it holds) the style sheet, after naming it ``name``."""
    if name:
        widget.setObjectName(name)
    widget.setStyleSheet(style_sheet())


def redress(root: QWidget) -> None:
    """Set the sheet again on every dressed widget under ``root``: its palette(...) colours
    are resolved when it is set, so a light/dark switch needs this."""
    sheet = style_sheet()
    for widget in [root, *root.findChildren(QWidget)]:
        if widget.styleSheet():
            widget.setStyleSheet(sheet)


def page_title(label: QLabel) -> None:
    label.setObjectName("pageTitle")
    font = label.font()
    font.setPointSizeF(14)
    font.setWeight(QFont.Weight.DemiBold)
    label.setFont(font)


def section_title(label: QLabel) -> None:
    label.setObjectName("sectionTitle")
    font = label.font()
    font.setWeight(QFont.Weight.DemiBold)
    label.setFont(font)


def code_font(widget: QWidget) -> None:
    """Monospace text (prompts, templates, config diffs)."""
    widget.setObjectName("code")
    widget.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))


def warning_color() -> QColor:
    """An amber that stays legible on the current base colour (for warning marks)."""
    return _blend(QColor(214, 140, 0), QGuiApplication.palette().color(QPalette.ColorRole.Text),
                  0.15)


def error_color() -> QColor:
    """A red for error marks, nudged towards the text colour so it reads on any base."""
    return _blend(QColor(205, 45, 40), QGuiApplication.palette().color(QPalette.ColorRole.Text),
                  0.1)


def ok_color() -> QColor:
    return _blend(QColor(30, 150, 70), QGuiApplication.palette().color(QPalette.ColorRole.Text),
                  0.1)


def status_icon(kind: str) -> QIcon:
    """info / ok / warning / error, coloured by meaning."""
    colours = {"warning": warning_color, "error": error_color, "ok": ok_color}
    if kind in colours:
        return tinted_icon(kind, colours[kind]())
    return icon("info")


def page_icon(name: str) -> QIcon:
    """A page's icon; an unknown name falls back to a neutral one instead of failing."""
    try:
        return icon(name)
    except (FileNotFoundError, OSError):
        return icon("overview")


def tint(base: QColor, hue: QColor, amount: float) -> QColor:
    """``base`` moved ``amount`` of the way towards ``hue``: diff and status backgrounds."""
    return _blend(base, hue, amount)


def _blend(a: QColor, b: QColor, t: float) -> QColor:
    return QColor(round(a.red() + (b.red() - a.red()) * t),
                  round(a.green() + (b.green() - a.green()) * t),
                  round(a.blue() + (b.blue() - a.blue()) * t))


def refresh() -> None:
    """Forget rendered icons (after a palette change)."""
    _icon.cache_clear()
