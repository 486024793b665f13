"""Runs in their own process (issue 12): they outlive the window, a killed one reads as
interrupted and resumes, the CLI cancels a run the window started, rows and metrics show
while the run goes, and a row opens in full. Runs go to the loopback fake OpenAI server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication

from mlops_desk.core import processes, runs
from mlops_desk.core.runner import RunOptions
from mlops_desk.ui import format as fmt
from mlops_desk.ui.item_models.run_queries import create_run
from mlops_desk.ui.main_window import MainWindow
from tests.gui.conftest import WAIT_MS
from tests.gui.run_fixtures import (  # noqa: F401
    N_ROWS,
    RUN_WAIT_MS,
    fake_workspace_fixture,
    runs_page_fixture,
    wait_finished,
)
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def start_slow_run(page, workspace, fake_openai, latency_s: float = 0.1,
                   concurrency: int = 2) -> int:
    """A run the window starts in a child, slow enough to act on while it goes."""
    fake_openai.latency_s = latency_s
    run_id = create_run(workspace.store, "reviews", 1, "reviews",
                        RunOptions(concurrency=concurrency, use_cache=False))
    page.start_run(run_id)
    return run_id


def wait_running(qtbot, store, run_id: int, rows: int = 2) -> runs.Run:
    def going() -> bool:
        run = runs.get_run(store, run_id)
        return run.status == "running" and run.n_done >= rows

    qtbot.waitUntil(going, timeout=RUN_WAIT_MS)
    return runs.get_run(store, run_id)


def run_pid(store, run_id: int) -> int:
    return store.db.execute("SELECT pid FROM runs WHERE id = ?", [run_id]).fetchone()[0]


def test_a_run_outlives_its_window_and_a_new_window_shows_it_finish(
        make_window, fake_workspace, fake_openai, qtbot, monkeypatch) -> None:
    store = fake_workspace.store
    first = make_window()
    page = first.show_page("Runs")
    run_id = start_slow_run(page, fake_workspace, fake_openai, latency_s=0.15)
    wait_running(qtbot, store, run_id)
    asked: list[int] = []
    monkeypatch.setattr(MainWindow, "ask_about_runs",
                        lambda self, count: asked.append(count) or "keep")
    first.close()
    assert asked == [1]  # the question was asked, and "keep running" answered
    pid = run_pid(store, run_id)
    assert pid != os.getpid() and processes.is_alive(pid, None)  # the child goes on alone
    assert runs.get_run(store, run_id).status == "running"

    second = make_window()
    page = second.show_page("Runs")
    qtbot.waitUntil(lambda: page.jobs.is_active(run_id), timeout=WAIT_MS)  # followed again
    assert page.jobs.pid(run_id) is None  # not a child of this window
    page.select_runs([run_id])
    progress = page.detail.progress
    qtbot.waitUntil(lambda: "rows/s" in progress.stats.text(), timeout=RUN_WAIT_MS)
    assert progress.cancel_button.isVisible()
    qtbot.waitUntil(lambda: not page.jobs.is_active(run_id), timeout=RUN_WAIT_MS)
    qtbot.waitUntil(lambda: page.model.record(page.model.row_of(run_id)).status
                    == "completed", timeout=WAIT_MS)
    run = runs.get_run(store, run_id)
    assert run.status == "completed" and run.n_done == N_ROWS


def test_a_killed_run_process_is_interrupted_and_resume_finishes_it(
        runs_page, fake_workspace, fake_openai, qtbot) -> None:
    store = fake_workspace.store
    run_id = start_slow_run(runs_page, fake_workspace, fake_openai, latency_s=0.2)
    wait_running(qtbot, store, run_id)
    pid = runs_page.jobs.pid(run_id)
    assert pid is not None and pid == run_pid(store, run_id)
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not runs_page.jobs.is_active(run_id), timeout=WAIT_MS)
    run = runs.get_run(store, run_id)
    assert run.status == "interrupted"
    assert run.reason == "the process running it was killed (signal 9)"
    assert 0 < run.n_done < N_ROWS
    progress = runs_page.detail.progress
    qtbot.waitUntil(lambda: runs_page.detail.run.status == "interrupted", timeout=WAIT_MS)
    assert progress.resume_button.isVisible()
    assert "killed" in progress.stats.text()
    fake_openai.latency_s = 0.0
    qtbot.mouseClick(progress.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not runs_page.jobs.is_active(run_id), timeout=RUN_WAIT_MS)
    run = runs.get_run(store, run_id)
    assert run.status == "completed" and run.n_done == N_ROWS


def test_cancel_from_the_cli_stops_a_run_the_window_started(
        runs_page, fake_workspace, fake_openai, qtbot) -> None:
    store = fake_workspace.store
    # 30 rows one at a time at 0.5 s: 15 s, time for the CLI to start and cancel
    run_id = start_slow_run(runs_page, fake_workspace, fake_openai, latency_s=0.5,
                            concurrency=1)
    wait_running(qtbot, store, run_id)
    done = subprocess.run(
        [sys.executable, "-m", "mlops_desk", "run", "cancel", str(run_id), "--db",
         str(store.path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"run {run_id}: cancel requested; it stops after the requests in flight"]
    qtbot.waitUntil(lambda: not runs_page.jobs.is_active(run_id), timeout=RUN_WAIT_MS)
    run = runs.get_run(store, run_id)
    assert run.status == "cancelled" and 0 < run.n_done < N_ROWS


def test_rows_and_metrics_so_far_show_while_the_run_goes(
        runs_page, fake_workspace, fake_openai, qtbot) -> None:
    store = fake_workspace.store
    run_id = start_slow_run(runs_page, fake_workspace, fake_openai, latency_s=0.2)
    detail = runs_page.detail
    results = detail.results
    qtbot.waitUntil(lambda: detail.run is not None and detail.run.id == run_id,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: results.rowCount() >= 4, timeout=RUN_WAIT_MS)
    assert runs_page.jobs.is_active(run_id) and results.live  # rows came before the end
    assert runs.get_run(store, run_id).status == "running"
    qtbot.waitUntil(lambda: detail.metrics.value("Accuracy (95% CI)") != fmt.DASH,
                    timeout=WAIT_MS)
    assert "rows so far" in detail.count_label.text()
    # the table follows the newest row while the user has not scrolled away
    shown = results.rowCount()
    qtbot.waitUntil(lambda: results.rowCount() > shown, timeout=RUN_WAIT_MS)
    wait_finished(qtbot, runs_page, run_id, "completed")
    qtbot.waitUntil(lambda: not results.live and results.rowCount() == N_ROWS, timeout=WAIT_MS)


def test_a_selected_row_shows_in_full_with_copy_buttons(
        runs_page, fake_workspace, fake_openai, qtbot) -> None:
    fake_openai.faults.add("500", count=1)  # the first request fails once, then answers
    run_id = fake_workspace.run(fake_workspace.v1, use_cache=False, concurrency=1)
    runs_page.reload()
    qtbot.waitUntil(lambda: runs_page.model.row_of(run_id) >= 0, timeout=WAIT_MS)
    runs_page.select_runs([run_id])
    detail = runs_page.detail
    qtbot.waitUntil(lambda: detail.results.rowCount() == N_ROWS, timeout=WAIT_MS)
    first = detail.results.index(0, 0)
    detail.table.selectionModel().setCurrentIndex(
        first, QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows)
    panel = detail.row_panel
    qtbot.waitUntil(lambda: panel.detail is not None and panel.isVisible(), timeout=WAIT_MS)
    row = detail.results.row_data(0)
    assert panel.detail.row_idx == row["row_idx"] == 0
    text = "review 0: the item number 0 was positive\nANSWER: negative"
    assert panel.text("input") == f"text: {text}\nlabel: positive"  # every column of the row
    assert panel.text("messages") == f"[user]\n{text}"  # the template is "{text}"
    assert panel.text("output") == row["output"]
    assert f"prediction: {row['prediction']}" in panel.text("prediction")
    tries = panel.text("tries").splitlines()
    assert len(tries) == 2 and "http_500" in tries[0] and tries[1].endswith("answered")
    qtbot.mouseClick(panel.copy_buttons["messages"], Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == panel.text("messages")
    # a narrow column cuts text off: the tooltip has all of it
    expected_cell = detail.results.index(0, 2)
    assert detail.results.data(expected_cell, Qt.ItemDataRole.ToolTipRole) == row["expected"]
