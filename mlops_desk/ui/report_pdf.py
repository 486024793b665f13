"""PDF reports: the report's HTML laid out by QTextDocument and printed by QPdfWriter.

Text stays text (selectable, searchable); charts are the same SVGs as in the HTML, drawn
to images with QtSvg and handed to the document as resources; ``QTextDocument.print_``
paginates and numbers the pages. Works without a display: the CLI calls ``render_pdf``
with no QApplication, and one offscreen QGuiApplication is made for it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF, QUrl
from PySide6.QtGui import (
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QTextDocument,
)
from PySide6.QtSvg import QSvgRenderer

from mlops_desk.core.reports.render_html import charts, render_html

DPI = 300
CHART_SCALE = 3  # chart pixels per SVG unit: sharp at print resolution, still small
_app: QGuiApplication | None = None


def _ensure_app() -> None:
    """Qt needs an application object to lay text out; a CLI has none, so make one."""
    global _app
    if QGuiApplication.instance() is not None:
        return
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") \
            and sys.platform.startswith("linux"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication(["mlops-desk"])


def svg_image(svg_text: str) -> QImage:
    renderer = QSvgRenderer(QByteArray(svg_text.encode("utf-8")))
    size = renderer.defaultSize()
    image = QImage(size.width() * CHART_SCALE, size.height() * CHART_SCALE,
                   QImage.Format.Format_ARGB32)
    image.fill(0xFFFFFFFF)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    image.setDevicePixelRatio(CHART_SCALE)  # laid out at the SVG's own size
    return image


def render_pdf(report: dict[str, Any]) -> bytes:
    """The report as PDF bytes (A4, 15 mm margins, numbered pages)."""
    _ensure_app()
    drawn = charts(report)
    names = {name: f"chart:{name}" for name in drawn}
    document = QTextDocument()
    document.setDefaultStyleSheet("table { border-collapse: collapse; } "
                                  "th, td { border: 1px solid #d5d9e0; padding: 2px; }")
    for name, svg_text in drawn.items():
        document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(names[name]),
                             svg_image(svg_text))
    document.setHtml(render_html(report, images=names))
    document.setMetaInformation(QTextDocument.MetaInformation.DocumentTitle, report["title"])

    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(DPI)
    writer.setTitle(report["title"])
    writer.setCreator(report["generator"])
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                     QPageLayout.Orientation.Portrait,
                                     QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
    # No page size on the document: print_ then lays it out on the writer's pages and
    # draws each page's number at its foot.
    document.setPageSize(QSizeF())
    document.print_(writer)
    del writer  # ends the PDF (flushes into the buffer)
    data = bytes(buffer.data())
    buffer.close()
    return data
