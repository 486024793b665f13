"""Where the main window opens: a first start sized to the screen, later starts as saved.

Without a saved geometry Qt opens a main window at its size hint (about 650 × 300 px here),
which cuts off the sidebar and the tables. The first start therefore takes ``SCREEN_SHARE``
of the screen's available area, centred, but never less than ``LAYOUT_MINIMUM`` (or the
window's own minimum size hint, if larger) and never more than the available area. A saved
geometry is used only while at least half of the window still lies on one screen: a
monitor that has been unplugged must not leave the window out of reach.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QByteArray, QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

SCREEN_SHARE = 0.8
# The smallest size at which every page shows its list, its detail pane and a table's
# columns without scrolling the sidebar (checked by eye on the sample workspace).
LAYOUT_MINIMUM = QSize(960, 620)
MIN_VISIBLE_SHARE = 0.5


def first_start_rect(available: QRect, minimum: QSize = LAYOUT_MINIMUM,
                     share: float = SCREEN_SHARE) -> QRect:
    """``share`` of ``available``, at least ``minimum`` and at most ``available``, centred."""
    width = min(max(round(available.width() * share), minimum.width()), available.width())
    height = min(max(round(available.height() * share), minimum.height()), available.height())
    left = available.x() + (available.width() - width) // 2
    top = available.y() + (available.height() - height) // 2
    return QRect(left, top, width, height)


def on_some_screen(rect: QRect, screens: Iterable[QRect],
                   share: float = MIN_VISIBLE_SHARE) -> bool:
    """True if at least ``share`` of ``rect``'s area lies on one of ``screens``."""
    area = rect.width() * rect.height()
    if area <= 0:
        return False
    for screen in screens:
        common = rect.intersected(screen)
        if common.width() * common.height() >= share * area:
            return True
    return False


def place_window(window: QWidget, saved: QByteArray | bytes | None) -> bool:
    """Restore ``saved`` if it still fits a screen, else the first-start placement.

    Returns True if the saved geometry was used.
    """
    screens = [screen.availableGeometry() for screen in QGuiApplication.screens()]
    if (saved is not None and window.restoreGeometry(QByteArray(saved))
            and on_some_screen(window.geometry(), screens)):
        return True
    screen = window.screen() or QGuiApplication.primaryScreen()
    minimum = LAYOUT_MINIMUM.expandedTo(window.minimumSizeHint())
    window.setGeometry(first_start_rect(screen.availableGeometry(), minimum))
    return False
