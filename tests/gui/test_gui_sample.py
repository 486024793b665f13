"""The sample workspace, loaded from the window, gives every page something real to show."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView

from mlops_desk.core import sample
from mlops_desk.ui.main_window import MainWindow
from tests.gui.conftest import wait_idle

SAMPLE_WAIT_MS = 20_000
PAGES = ("Overview", "Models", "Datasets", "Runs", "Charts", "Endpoints")


def filled_views(page) -> list[QAbstractItemView]:
    return [view for view in page.findChildren(QAbstractItemView)
            if view.isVisible() and view.model() is not None and view.model().rowCount() > 0]


def test_the_sample_loads_from_the_window_and_every_page_shows_data(window: MainWindow,
                                                                   qtbot) -> None:
    window.load_sample_workspace()
    qtbot.waitUntil(lambda: sample.sample_exists(window.store) and window.ctx.tasks.active == 0,
                    timeout=SAMPLE_WAIT_MS)
    for title in PAGES:
        page = window.show_page(title)
        wait_idle(qtbot, window.ctx)
        assert filled_views(page) or title == "Charts", f"the {title} page shows no data"

    runs_page = window.page("Runs")
    assert runs_page.model.rowCount() == len(sample.RUNS)
    statuses = {runs_page.model.record(i).status for i in range(runs_page.model.rowCount())}
    assert statuses == {"completed", "cancelled"}

    charts = window.page("Charts")
    assert charts.chart.point_count() == len(sample.RUNS) - 1  # the cancelled one is not plotted
    kinds = {marker.kind for marker in charts.data.markers}
    assert kinds == {"version", "deploy"}


def test_the_baseline_run_lists_its_errors(window: MainWindow, qtbot) -> None:
    sample.load_sample_workspace(window.store)
    window.ctx.runs_changed.emit()
    page = window.show_page("Runs")
    wait_idle(qtbot, window.ctx)
    first = min(page.model.record(i).id for i in range(page.model.rowCount()))
    page.select_runs([first])
    detail = page.detail
    qtbot.waitUntil(lambda: detail.run is not None and detail.run.id == first)
    detail.set_filter("errors")
    wait_idle(qtbot, window.ctx)
    errors = detail.run.metrics["n_errors"]
    assert errors > 0 and detail.results.total == errors
    assert detail.results.data(detail.results.index(0, 8)) == "python_error"
    assert "exceeds" in detail.results.row_data(0)["error_message"]
