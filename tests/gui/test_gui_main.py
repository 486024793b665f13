"""The main window: pages, shortcuts, settings, errors, drops, closing, the Overview page."""

from __future__ import annotations

import sys
import threading
import time
import types
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from mlops_desk.core import registry
from mlops_desk.core.store import Store
from mlops_desk.ui.item_models.overview_table import (
    ACCURACY,
    COST,
    LATENCY,
    LATEST,
    REFERENCE,
    TREND,
)
from mlops_desk.ui.main_window import PAGES, MainWindow
from mlops_desk.ui.pages.runs import RunsPage
from mlops_desk.ui.widgets.sparkline import SPARK_ROLE, WARN_ROLE
from tests.gui.conftest import wait_idle, write_csv
from tests.support.run_factory import make_test_dataset, make_test_run


def test_the_sidebar_lists_every_page_and_ctrl_digits_switch(window: MainWindow, qtbot) -> None:
    titles = [window.sidebar.item(i).text() for i in range(window.sidebar.count())]
    assert titles[:6] == ["Overview", "Models", "Datasets", "Runs", "Charts", "Endpoints"]
    assert len(PAGES) == len(titles)  # later issues append their pages
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert type(window.current_page).__name__ == "ModelsPage"
    assert window.sidebar.currentRow() == 1
    qtbot.keyClick(window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    assert window.current_page.title == "Endpoints"
    window.sidebar.setCurrentRow(2)  # a click in the sidebar
    assert window.current_page.title == "Datasets"
    assert window.page_actions.actions()[2].isChecked()
    assert window.import_action.shortcut().toString() == "Ctrl+I"
    assert window.new_run_action.shortcut().toString() == "Ctrl+R"
    assert window.quit_action.shortcut().toString() == "Ctrl+Q"


def test_ctrl_f_focuses_the_page_filter(window: MainWindow, qtbot) -> None:
    page = window.show_page("ModelsPage")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(page.filter_edit.hasFocus)


def test_pages_are_built_when_first_shown(window: MainWindow) -> None:
    built = [page is not None for page in window._pages]
    assert built[0] and not any(built[2:])  # start-up pays for the visible page only
    page = window.page("EndpointsPage")
    assert window.page("Endpoints") is page
    assert window.stack.indexOf(page) == 5


def test_geometry_splitters_and_last_page_persist(make_window, settings, qtbot) -> None:
    first = make_window()
    first.resize(780, 640)  # the offscreen screen is 800 px wide: keep inside it
    page = first.show_page("ModelsPage")
    wait_idle(qtbot, first.ctx)
    total = sum(first.splitter.sizes())
    first.splitter.setSizes([155, total - 155])
    inner = sum(page.splitter.sizes())
    page.splitter.setSizes([170, inner - 170])
    sidebar_width, list_width = first.splitter.sizes()[0], page.splitter.sizes()[0]
    assert (sidebar_width, list_width) == (155, 170)  # not the defaults
    first.close()
    assert settings.value("window/page") == "Models"

    second = make_window(resize=False)
    assert second.current_page.title == "Models"
    assert (second.width(), second.height()) == (780, 640)
    assert second.splitter.sizes()[0] == sidebar_width
    assert second.current_page.splitter.sizes()[0] == list_width


def test_a_worker_error_is_shown_as_a_banner(window: MainWindow, qtbot) -> None:
    window.ctx.error.emit("database registry.db is locked by another program")
    assert window.error_banner.isVisible()
    assert "locked" in window.error_banner.text
    window.ctx.error.emit("second problem")
    assert "second problem" in window.error_banner.text and "1 earlier" in window.error_banner.text
    window.error_banner.dismiss()
    assert not window.error_banner.isVisible()


def _slow_task(*, on_progress, cancel) -> str:
    """A worker that runs until cancelled, like a long test batch."""
    on_progress("started")
    while not cancel.cancelled:
        time.sleep(0.005)
    return "cancelled"


def test_closing_with_a_running_task_asks_then_cancels_it(
        window: MainWindow, qtbot, monkeypatch) -> None:
    started = threading.Event()
    handle = window.ctx.tasks.start(_slow_task, on_progress=lambda _: started.set())
    qtbot.waitUntil(started.is_set)
    assert window.jobs_label.text() == "1 job running"
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]
    asked: list[str] = []

    def question(parent, title, text, *args):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    window.close()
    assert window.isVisible() and handle.running  # "No": nothing happens
    window.close()
    assert not window.isVisible()
    assert len(asked) == 2 and "1 job is still running" in asked[0]
    wait_idle(qtbot, window.ctx)
    assert not handle.running


def _drop(window: MainWindow, paths: list[Path]) -> tuple[bool, bool]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(200, 200), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    return enter.isAccepted(), drop.isAccepted()


def test_dropping_a_file_on_the_window_opens_the_import_dialog(
        window: MainWindow, tmp_path: Path, qtbot) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a dataset")
    assert _drop(window, [notes]) == (False, False)
    assert window.current_page.title == "Overview"

    data = write_csv(tmp_path / "tickets.csv", [{"text": "it broke", "expected": "bug"},
                                                {"text": "how do I?", "expected": "question"}])
    assert _drop(window, [data]) == (True, True)
    page = window.current_page
    assert page.title == "Datasets"
    dialog = page.dialog
    assert dialog is not None and dialog.isVisible() and dialog.path == data
    qtbot.waitUntil(lambda: dialog.ready)
    assert dialog.expected_col == "expected" and dialog.input_cols == ["text"]
    dialog.reject()


def test_an_empty_registry_offers_the_sample_workspace(
        window: MainWindow, store: Store, qtbot, monkeypatch) -> None:
    page = window.page("OverviewPage")
    qtbot.waitUntil(lambda: page.loaded)
    assert page.empty_banner.isVisible()

    def load_sample_workspace(store: Store, on_progress=None) -> None:
        on_progress((1, 2))
        registry.create_model(store, "sentiment", labels=["pos", "neg"])
        on_progress((2, 2))

    fake = types.ModuleType("mlops_desk.core.sample")
    fake.load_sample_workspace = load_sample_workspace
    monkeypatch.setitem(sys.modules, "mlops_desk.core.sample", fake)
    button = page.sample_button
    assert button.isVisibleTo(page) and button.text() == "Load sample workspace"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert not button.isEnabled()  # the window's action is busy
    wait_idle(qtbot, window.ctx)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert not page.empty_banner.isVisible()
    assert window.sample_action.isEnabled()
    assert "Sample workspace loaded" in window.statusBar().currentMessage()


def test_new_run_asks_the_runs_page(window: MainWindow, monkeypatch) -> None:
    calls: list[RunsPage] = []
    monkeypatch.setattr(RunsPage, "open_start_dialog", lambda self: calls.append(self),
                        raising=False)
    window.new_run_action.trigger()
    assert window.current_page.title == "Runs" and calls == [window.current_page]


def test_interrupted_runs_are_recovered_at_start(
        make_window, store: Store, tmp_path: Path, triage, qtbot) -> None:
    dataset = make_test_dataset(store, tmp_path, "d", [{"text": "a", "expected": "bug"}])
    run_id = make_test_run(store, triage[0], dataset, [{"prediction": "bug", "expected": "bug"}],
                           status="running")
    window = make_window()
    wait_idle(qtbot, window.ctx)
    status = store.db.execute("SELECT status FROM runs WHERE id = ?", [run_id]).fetchone()[0]
    assert status == "interrupted"
    assert "resume" in window.statusBar().currentMessage()


def _results(n_right: int, n: int = 100) -> list[dict]:
    return [{"prediction": "bug" if i < n_right else "question", "expected": "bug",
             "latency_ms": 100 + i, "cost": 0.0005} for i in range(n)]


def test_overview_shows_each_model_with_its_latest_run_and_a_warning(
        window: MainWindow, store: Store, tmp_path: Path, triage, qtbot, qtmodeltester) -> None:
    registry.create_model(store, "unused")
    dataset = make_test_dataset(store, tmp_path, "tickets",
                                [{"text": f"t{i}", "expected": "bug"} for i in range(100)])
    make_test_run(store, triage[0], dataset, _results(92))
    make_test_run(store, triage[1], dataset, _results(70))  # far below run 1's interval
    page = window.page("OverviewPage")
    assert window.current_page is page
    window.refresh_action.trigger()  # F5
    qtbot.waitUntil(lambda: page.model.rowCount() == 2)
    qtmodeltester.check(page.model)
    model = page.model
    row = next(r for r in range(2) if model.summary(r).name == "triage")
    text = [model.index(row, c).data() for c in range(model.columnCount())]
    assert text[2] == "2" and text[REFERENCE] == "tickets" and text[LATEST].startswith("v2 · ")
    assert text[ACCURACY].startswith("70.0%")
    assert text[LATENCY] == "194 ms"  # p95 of 100..199 ms
    assert text[COST] == "$0.50"
    assert model.index(row, ACCURACY).data(Qt.ItemDataRole.DecorationRole) is not None
    tooltip = model.index(row, ACCURACY).data(Qt.ItemDataRole.ToolTipRole)
    assert "Worse than the run before" in tooltip and "interval" in tooltip
    assert model.index(row, TREND).data(WARN_ROLE) is True
    assert [p[0] for p in model.index(row, TREND).data(SPARK_ROLE)] == pytest.approx([0.92, 0.7])
    assert "1 got worse" in page.status.text()

    page.filter_edit.setText("unu")
    assert page.proxy.rowCount() == 1
    page.filter_edit.clear()
    index = page.proxy.index(next(r for r in range(2) if page.proxy.index(r, 0).data() ==
                                  "triage"), 0)
    page.table.doubleClicked.emit(index)
    models_page = window.current_page
    assert models_page.title == "Models"
    qtbot.waitUntil(lambda: models_page.details is not None
                    and models_page.details.model.name == "triage")
    assert models_page.current_model == "triage"
