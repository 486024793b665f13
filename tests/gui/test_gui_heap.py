"""The window runs the full garbage collection that start-up, and the first chart (importing
pyqtgraph), make due right after them, so it does not fall in the middle of a run the window
follows (ui.heap)."""

from __future__ import annotations

import gc

from mlops_desk.ui import heap
from mlops_desk.ui.main_window import MainWindow


def full_collections() -> int:
    return gc.get_stats()[2]["collections"]


def test_the_first_chart_collects_once_after_it(window: MainWindow, qtbot, monkeypatch) -> None:
    qtbot.waitUntil(lambda: not heap._pending, timeout=2_000)
    monkeypatch.setattr(heap, "_done", {"start-up"})  # as in a process with no chart yet
    before = full_collections()
    window.show_page("Charts")  # its first chart is styled: pyqtgraph is in
    qtbot.waitUntil(lambda: "pyqtgraph" in heap._done, timeout=2_000)
    qtbot.waitUntil(lambda: not heap._pending, timeout=2_000)
    assert full_collections() > before
    window.show_page("Monitor")  # more charts: the debt was paid once
    assert not heap._pending
