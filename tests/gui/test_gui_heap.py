"""The window runs the full garbage collection a build makes due right after the build, so
it does not fall in the middle of a run the window follows (ui.heap)."""

from __future__ import annotations

import gc

from mlops_desk.ui import heap
from mlops_desk.ui.main_window import MainWindow


def full_collections() -> int:
    return gc.get_stats()[2]["collections"]


def test_building_a_page_collects_once_after_it(window: MainWindow, qtbot) -> None:
    qtbot.waitUntil(lambda: not heap._pending, timeout=2_000)  # the start-up collection
    before = full_collections()
    window.show_page("Charts")  # builds the page; its chart imports pyqtgraph
    assert heap._pending  # one collection, in the next event-loop turn
    qtbot.waitUntil(lambda: not heap._pending, timeout=2_000)
    assert full_collections() > before
    window.show_page("Overview")
    qtbot.waitUntil(lambda: not heap._pending, timeout=2_000)
    window.show_page("Charts")  # built already: nothing new to collect
    assert not heap._pending
