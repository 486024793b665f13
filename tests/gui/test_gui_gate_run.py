"""Deploy to… with no usable gate run: the dialog offers "Run the gate check now" instead of
command-line advice, runs the version over the whole gate dataset against the loopback
server, and checks the gate again when the run ends."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from mlops_desk.core import gates, runs
from mlops_desk.core.store import Store
from mlops_desk.ui.main_window import MainWindow
from tests.deploy.world import N_ROWS, World, build_world
from tests.gui.conftest import wait_idle
from tests.support.fake_openai import FakeOpenAIServer
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

RUN_MS = 20_000


@pytest.fixture
def world(store: Store, tmp_path: Path, fake_openai: FakeOpenAIServer) -> World:
    world = build_world(store, tmp_path, fake_openai.base_url)
    # Rows read "Ticket: ticket 3 ANSWER: bug": answer with the last word, right every time.
    fake_openai.responder = lambda request: request["messages"][-1]["content"].split()[-1]
    gates.set_policy(store, "triage", "production", "gate-set", ["accuracy>=0.9"])
    return world


def open_dialog(window: MainWindow, qtbot, version: int):
    page = window.show_page("DeploymentsPage")
    qtbot.waitUntil(lambda: page.data is not None)
    dialog = page.open_deploy_dialog(version=version, environment="production")
    qtbot.waitUntil(lambda: dialog.gate is not None)
    return dialog


def test_gate_run_button_runs_the_version_and_the_check_then_passes(
        window: MainWindow, world: World, qtbot, fake_openai: FakeOpenAIServer) -> None:
    dialog = open_dialog(window, qtbot, 2)
    assert dialog.gate_status.kind == "error"
    text = dialog.gate_status.text
    assert "no completed run on gate dataset gate-set" in text
    assert "--" not in text and "mlops-desk" not in text  # words, not a command line
    assert dialog.gate_run_button.isVisible() and dialog.gate_run_button.isEnabled()
    assert dialog.gate_run_button.text() == "Run the gate check now"
    assert not dialog.ok_button.isEnabled()

    qtbot.mouseClick(dialog.gate_run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.gate_run_id is not None, timeout=RUN_MS)
    run_id = dialog.gate_run_id
    run = runs.get_run(world.store, run_id)
    assert (run.version, run.dataset, run.n_total) == (2, "gate-set", N_ROWS)  # whole dataset
    # The window executes it where every run executes: the Runs page lists it.
    assert window.page("RunsPage").jobs.is_active(run_id) or run.status != "queued"

    qtbot.waitUntil(lambda: dialog.gate is not None and dialog.gate.report is not None
                    and dialog.gate.report.passed, timeout=RUN_MS)
    assert dialog.gate.report.run_id == run_id
    assert runs.get_run(world.store, run_id).status == "completed"
    assert dialog.gate_status.kind == "ok" and f"run {run_id}" in dialog.gate_status.text
    assert not dialog.gate_run_button.isVisible() and dialog.gate_run_id is None
    assert dialog.ok_button.isEnabled()
    assert fake_openai.request_count >= N_ROWS
    dialog.reject()
    wait_idle(qtbot, window.ctx)


def test_no_button_when_the_gate_has_its_run(window: MainWindow, world: World, qtbot) -> None:
    world.run(1, wrong=range(10))  # a complete run that fails the rule
    dialog = open_dialog(window, qtbot, 1)
    assert dialog.gate_status.kind == "error" and "accuracy" in dialog.gate_status.text
    assert not dialog.gate_run_button.isVisible()
    dialog.reject()
