"""The desktop: a Batch API run from the New run dialog is submitted, shown as such, and
followed up in the background until it completes; a submitted run can be cancelled."""

from __future__ import annotations

from PySide6.QtCore import Qt

from mlops_desk.core import batch, runs
from mlops_desk.core.runner import RunOptions
from mlops_desk.ui.dialogs.run_start import SEND_BATCH
from tests.gui.conftest import WAIT_MS, wait_idle
from tests.gui.run_fixtures import (  # noqa: F401
    N_ROWS,
    fake_workspace_fixture,
    runs_page_fixture,
)
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def status_of(page, run_id: int) -> str | None:
    row = page.model.row_of(run_id)
    return page.model.record(row).status if row >= 0 else None


def test_a_batch_run_from_the_dialog_is_submitted_then_completes_in_the_background(
        runs_page, fake_workspace, fake_openai, qtbot) -> None:
    api = fake_openai.batch_api
    api.hold = True
    runs_page.jobs._batch_timer.setInterval(50)
    dialog = runs_page.open_start_dialog()
    qtbot.waitUntil(lambda: dialog.choices is not None, timeout=WAIT_MS)
    dialog.version_box.setCurrentIndex(dialog.version_box.findData(2))
    dialog.send_mode.setCurrentText(SEND_BATCH)
    with qtbot.waitSignal(dialog.run_created, timeout=WAIT_MS) as created:
        qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    run_id = created.args[0]
    qtbot.waitUntil(lambda: status_of(runs_page, run_id) == "submitted", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not runs_page.jobs.is_active(run_id), timeout=WAIT_MS)
    assert len(api.batches) == 1
    qtbot.waitUntil(runs_page.detail.progress.cancel_button.isVisible, timeout=WAIT_MS)

    api.hold = False  # the remote engine gets to it; the background poll notices
    qtbot.waitUntil(lambda: status_of(runs_page, run_id) == "completed", timeout=WAIT_MS)
    runs_page.jobs.watch_batches(False)
    wait_idle(qtbot, runs_page.ctx)
    run = runs.get_run(fake_workspace.store, run_id)
    assert run.n_done == N_ROWS and run.metrics["accuracy"] == 1.0
    assert run.settings["mode"] == "batch"


def test_cancel_in_the_app_cancels_the_remote_batches(runs_page, fake_workspace, fake_openai,
                                                      qtbot) -> None:
    fake_openai.batch_api.hold = True
    store = fake_workspace.store
    run_id = batch.create_batch_run(store, fake_workspace.v2, fake_workspace.dataset,
                                    RunOptions())
    batch.submit(store, run_id)
    runs_page.reload()
    qtbot.waitUntil(lambda: status_of(runs_page, run_id) == "submitted", timeout=WAIT_MS)
    runs_page.jobs.watch_batches(False)
    runs_page.cancel_run(run_id)
    qtbot.waitUntil(lambda: status_of(runs_page, run_id) == "cancelled", timeout=WAIT_MS)
    wait_idle(qtbot, runs_page.ctx)
    assert fake_openai.batch_api.cancel_requests == 1
