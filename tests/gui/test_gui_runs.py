"""The Runs page as a user drives it: start a run from the dialog, watch it, read its rows,
cancel and resume it, compare two runs. Runs go to the loopback fake OpenAI server."""

from __future__ import annotations

from PySide6.QtCore import Qt

from mlops_desk.core import runs
from mlops_desk.core.runner import RunOptions
from mlops_desk.ui.item_models.run_queries import create_run
from mlops_desk.ui.pages.runs import COMPARE, DETAIL
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.gui.run_fixtures import (  # noqa: F401
    N_ROWS,
    RUN_WAIT_MS,
    WRONG_EVERY,
    charts_page_fixture,
    fake_workspace_fixture,
    runs_page_fixture,
    wait_finished,
)
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

N_WRONG = len(range(0, N_ROWS, WRONG_EVERY))


def open_dialog(page, qtbot):
    dialog = page.open_start_dialog()
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT_MS)
    return dialog


def test_a_run_started_from_the_dialog_fills_the_results_and_the_chart(
        runs_page, charts_page, fake_workspace, qtbot, qtmodeltester) -> None:
    assert charts_page.chart.point_count() == 0
    qtmodeltester.check(runs_page.model)
    qtmodeltester.check(runs_page.detail.results)
    dialog = open_dialog(runs_page, qtbot)
    assert dialog.model_box.currentText() == "reviews"
    dialog.version_box.setCurrentIndex(dialog.version_box.findData(1))
    assert "default (4)" in dialog.concurrency.specialValueText()
    dialog.concurrency.setValue(3)
    dialog.use_cache.setChecked(False)
    with qtbot.waitSignal(dialog.run_created, timeout=WAIT_MS) as created:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    run_id = created.args[0]
    wait_finished(qtbot, runs_page, run_id, "completed")

    run = runs.get_run(fake_workspace.store, run_id)
    assert run.settings["concurrency"] == 3 and run.settings["use_cache"] is False
    assert runs_page.selected_run_ids() == [run_id]
    assert runs_page.stack.currentIndex() == DETAIL
    results = runs_page.detail.results
    qtbot.waitUntil(lambda: results.rowCount() == N_ROWS, timeout=WAIT_MS)
    assert runs_page.detail.count_label.text() == f"{N_ROWS} rows"
    accuracy = runs_page.detail.metrics.value("Accuracy (95% CI)")
    assert accuracy.startswith(f"{(N_ROWS - N_WRONG) / N_ROWS:.1%}")
    # the chart page heard runs_changed: it reloads when shown and has the new point
    charts_page.activated()
    qtbot.waitUntil(lambda: charts_page.chart.point_count() == 1, timeout=WAIT_MS)
    assert charts_page.chart.plots["accuracy"].listDataItems()


def test_the_dialog_reports_a_bad_scorer_and_stays_open(runs_page, fake_workspace,
                                                       qtbot) -> None:
    dialog = open_dialog(runs_page, qtbot)
    dialog.scorer.setCurrentText("bogus")
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "bogus" in dialog.message.text(), timeout=WAIT_MS)
    assert dialog.isVisible() and dialog.start_button.isEnabled()
    assert runs.list_runs(fake_workspace.store) == []
    dialog.reject()


def test_cancel_keeps_partial_results_and_resume_finishes(runs_page, fake_workspace,
                                                          fake_openai, qtbot) -> None:
    fake_openai.latency_s = 0.2  # 30 rows at concurrency 2: about 3 s, time to cancel
    run_id = create_run(fake_workspace.store, "reviews", 1, "reviews",
                        RunOptions(concurrency=2, use_cache=False))
    runs_page.start_run(run_id)
    progress = runs_page.detail.progress
    qtbot.waitUntil(lambda: runs_page.detail.run is not None
                    and runs_page.detail.run.id == run_id, timeout=WAIT_MS)
    job = runs_page.jobs.job(run_id)
    qtbot.waitUntil(lambda: job.progress is not None and job.progress.done >= 4,
                    timeout=RUN_WAIT_MS)  # the run's process starts first
    qtbot.waitUntil(lambda: "rows/s" in progress.stats.text(), timeout=WAIT_MS)
    assert progress.cancel_button.isVisible()
    qtbot.waitUntil(lambda: progress.chart_points > 0, timeout=WAIT_MS)
    qtbot.mouseClick(progress.cancel_button, Qt.MouseButton.LeftButton)
    wait_finished(qtbot, runs_page, run_id, "cancelled")

    run = runs.get_run(fake_workspace.store, run_id)
    assert 0 < run.n_done < run.n_total
    qtbot.waitUntil(lambda: runs_page.detail.run.status == "cancelled", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: runs_page.detail.results.rowCount() == run.n_done, timeout=WAIT_MS)
    assert progress.resume_button.isVisible()
    fake_openai.latency_s = 0.0
    qtbot.mouseClick(progress.resume_button, Qt.MouseButton.LeftButton)
    wait_finished(qtbot, runs_page, run_id, "completed")
    run = runs.get_run(fake_workspace.store, run_id)
    assert run.n_done == run.n_total == N_ROWS
    qtbot.waitUntil(lambda: runs_page.detail.results.rowCount() == N_ROWS, timeout=WAIT_MS)
    assert not progress.resume_button.isVisible()


def test_results_filter_search_sort_and_load_page_by_page(runs_page, fake_workspace, qtbot,
                                                           qtmodeltester) -> None:
    run_id = fake_workspace.run(fake_workspace.v1, use_cache=False)
    detail = runs_page.detail
    results = detail.results
    results.page_rows = 10
    qtmodeltester.check(results)
    runs_page.reload()
    wait_idle(qtbot, runs_page.ctx)
    pages: list[int] = []
    results.rowsInserted.connect(lambda _parent, first, last: pages.append(last - first + 1))
    runs_page.select_runs([run_id])
    qtbot.waitUntil(lambda: results.total == N_ROWS, timeout=WAIT_MS)
    # the view asks for more pages while its viewport has room; ask for the rest as a
    # scroll to the bottom would
    while results.canFetchMore() or results.loading:
        results.fetchMore()
        wait_idle(qtbot, runs_page.ctx)
    assert results.rowCount() == N_ROWS and sum(pages) == N_ROWS
    assert len(pages) == N_ROWS // 10 and max(pages) == 10  # page by page, 10 rows each
    assert detail.count_label.text() == f"{N_ROWS} rows"
    assert [results.row_data(i)["row_idx"] for i in range(N_ROWS)] == list(range(N_ROWS))

    detail.set_filter("wrong")
    qtbot.waitUntil(lambda: results.total == N_WRONG and results.rowCount() == N_WRONG,
                    timeout=WAIT_MS)
    assert {results.data(results.index(i, 4)) for i in range(N_WRONG)} == {"✗ wrong"}
    detail.set_filter("errors")
    qtbot.waitUntil(lambda: results.total == 0, timeout=WAIT_MS)
    detail.set_filter("all")
    qtbot.keyClicks(detail.search, "item number 17 ")
    qtbot.waitUntil(lambda: results.total == 1 and results.rowCount() == 1, timeout=WAIT_MS)
    assert results.row_data(0)["row_idx"] == 17
    assert "item number 17" in results.data(results.index(0, 1))
    detail.search.clear()
    qtbot.waitUntil(lambda: results.total == N_ROWS, timeout=WAIT_MS)
    detail.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: results.rowCount() >= 10
                    and results.row_data(0)["row_idx"] == N_ROWS - 1, timeout=WAIT_MS)
    assert results.row_data(1)["row_idx"] == N_ROWS - 2


def test_confusion_matrix_and_latency_histogram_show_the_run(runs_page, fake_workspace, qtbot,
                                                             qtmodeltester) -> None:
    run_id = fake_workspace.run(fake_workspace.v1)
    runs_page.reload()
    wait_idle(qtbot, runs_page.ctx)
    runs_page.select_runs([run_id])
    detail = runs_page.detail
    detail.tabs.setCurrentIndex(2)  # the histogram is drawn when its tab is shown
    qtbot.waitUntil(lambda: detail.histogram is not None
                    and detail.histogram.n_values == N_ROWS, timeout=WAIT_MS)
    confusion = detail.confusion
    qtmodeltester.check(confusion)
    assert confusion.labels == ["positive", "negative", "neutral"]
    diagonal = sum(int(confusion.data(confusion.index(i, i))) for i in range(3))
    assert diagonal == N_ROWS - N_WRONG
    assert confusion.data(confusion.index(0, 0), Qt.ItemDataRole.BackgroundRole) is not None
    assert "precision" in detail.confusion_note.text()


def test_select_two_runs_to_compare_them(runs_page, fake_workspace, qtbot,
                                        qtmodeltester) -> None:
    a = fake_workspace.run(fake_workspace.v1)
    b = fake_workspace.run(fake_workspace.v2)
    runs_page.reload()
    wait_idle(qtbot, runs_page.ctx)
    runs_page.select_runs([a, b])
    qtbot.waitUntil(lambda: runs_page.stack.currentIndex() == COMPARE, timeout=WAIT_MS)
    assert runs_page.compare_button.isEnabled()
    view = runs_page.compare_view
    qtmodeltester.check(view.metrics_model)
    qtmodeltester.check(view.flipped_model)
    result = view.comparison.result
    assert (view.comparison.a.id, view.comparison.b.id) == (a, b)
    assert result["c"] == N_WRONG and result["b"] == 0  # every wrong row turned right
    assert view.flipped_model.rowCount() == N_WRONG
    assert "McNemar p =" in view.summary.text()
    assert "significant" in view.summary.text()
    labels = [view.metrics_model.record(i).label for i in range(view.metrics_model.rowCount())]
    assert "Accuracy" in labels and "Latency p95" in labels
    accuracy = next(d for d in view.metrics_model.records() if d.key == "accuracy")
    assert abs(accuracy.delta - N_WRONG / N_ROWS) < 1e-9


def test_the_runs_list_sorts_and_filters_and_keeps_the_selection(runs_page, fake_workspace,
                                                                qtbot, qtmodeltester) -> None:
    a = fake_workspace.run(fake_workspace.v1)
    b = fake_workspace.run(fake_workspace.v2)
    runs_page.reload()
    wait_idle(qtbot, runs_page.ctx)
    model = runs_page.model
    qtmodeltester.check(model)
    assert [model.record(i).id for i in range(2)] == [b, a]  # newest first
    runs_page.select_runs([a])
    accuracy = [c.title for c in model.columns].index("Accuracy (95% CI)")
    runs_page.table.sortByColumn(accuracy, Qt.SortOrder.AscendingOrder)
    assert [model.record(i).id for i in range(2)] == [a, b]  # v1 is wrong on some rows
    assert runs_page.selected_run_ids() == [a]  # the selection followed its run
    runs_page.filter_box.setText("reviews:2")
    assert model.rowCount() == 1 and model.record(0).id == b
    runs_page.filter_box.clear()
    assert model.rowCount() == 2
