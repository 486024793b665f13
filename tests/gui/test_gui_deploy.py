"""The Deployments page and its dialogs: gated one-click deploy, refusal with the reason,
force with a reason, roll back, the history timeline, the gate editor, new environments,
and "Deploy to…" from the Models page."""

from __future__ import annotations

import json
from pathlib import Path

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt

from mlops_desk.core import audit, deploy, gates
from mlops_desk.core.store import Store
from mlops_desk.ui.dialogs.deploy_dialog import DeployDialog
from mlops_desk.ui.format import DASH
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.pages.deployments import DeploymentsPage
from tests.deploy.world import World, build_world
from tests.gui.conftest import wait_idle


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    """Model triage (v1..v3), gate dataset gate-set; production gated on accuracy>=0.9."""
    world = build_world(store, tmp_path)
    gates.set_policy(store, "triage", "production", "gate-set",
                     ["accuracy>=0.9", "latency_p95_ms<=2000"])
    return world


def open_page(window: MainWindow, qtbot) -> DeploymentsPage:
    page = window.show_page("DeploymentsPage")
    qtbot.waitUntil(lambda: page.data is not None)
    wait_idle(qtbot, window.ctx)
    return page


def open_dialog(page: DeploymentsPage, qtbot, version: int, environment: str) -> DeployDialog:
    dialog = page.open_deploy_dialog(version=version, environment=environment)
    qtbot.waitUntil(lambda: dialog.gate is not None)
    return dialog


def finish(dialog, qtbot) -> None:
    """Until the dialog's task is done and it closed (accepted)."""
    qtbot.waitUntil(lambda: not dialog.isVisible())
    wait_idle(qtbot, dialog.ctx)


def env_cells(page: DeploymentsPage, name: str) -> list[str]:
    row = page.environments.row_of(name)
    return [page.environments.index(row, c).data() for c in range(page.environments.columnCount())]


def test_deploy_with_one_click_when_the_gate_passes(window: MainWindow, world: World, qtbot,
                                                    tmp_path: Path, qtmodeltester) -> None:
    run_id = world.run(1)  # every row right
    page = open_page(window, qtbot)
    assert env_cells(page, "production")[:2] == ["production", "not deployed"]
    qtmodeltester.check(page.environments)
    dialog = open_dialog(page, qtbot, 1, "production")
    assert (dialog.version, dialog.environment) == (1, "production")
    assert dialog.gate_status.kind == "ok" and f"run {run_id}" in dialog.gate_status.text
    qtmodeltester.check(dialog.checks)
    assert [dialog.checks.index(r, 0).data() for r in range(2)] == ["pass", "pass"]
    assert dialog.ok_button.isEnabled() and not dialog.force_button.isVisible()

    dialog.reason.setText("first release")
    dialog.manifest_edit.setText(str(tmp_path / "manifests"))
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    finish(dialog, qtbot)
    move = deploy.history(world.store, "triage")[-1]
    assert (move.environment, move.from_version, move.to_version, move.reason, move.forced,
            move.gate_run_id) == ("production", None, 1, "first release", False, run_id)
    manifest = json.loads((tmp_path / "manifests" / "triage.production.json").read_text())
    assert (manifest["version"], manifest["deployment_id"]) == (1, move.id)
    qtbot.waitUntil(lambda: env_cells(page, "production")[1] == "v1")
    assert "deployed to production" in window.statusBar().currentMessage()


def test_a_refused_deploy_says_why_and_force_needs_a_reason(window: MainWindow, world: World,
                                                            qtbot) -> None:
    run_id = world.run(2, wrong=range(10))  # accuracy 0.75
    page = open_page(window, qtbot)
    dialog = open_dialog(page, qtbot, 2, "production")
    assert dialog.gate_status.kind == "error"
    assert f"accuracy = 0.75 in run {run_id} fails >= 0.9" in dialog.gate_status.text
    failing = [[dialog.checks.index(r, c).data() for c in range(6)]
               for r in range(dialog.checks.rowCount())
               if dialog.checks.index(r, 0).data() == "FAIL"]
    assert [row[:5] for row in failing] == [["FAIL", "accuracy>=0.9", "0.75", "0.9",
                                             str(run_id)]]
    assert not dialog.ok_button.isEnabled()
    assert dialog.force_button.isVisible() and not dialog.force_button.isEnabled()
    dialog.submit()  # Enter on a refused gate does nothing
    assert deploy.history(world.store, "triage") == []

    qtbot.keyClicks(dialog.reason, "customer escalation, accepted by the owner")
    assert dialog.force_button.isEnabled()
    qtbot.mouseClick(dialog.force_button, Qt.MouseButton.LeftButton)
    finish(dialog, qtbot)
    move = deploy.history(world.store, "triage")[-1]
    assert move.forced and move.reason == "customer escalation, accepted by the owner"
    assert move.gate_report["passed"] is False
    qtbot.waitUntil(lambda: page.history.rowCount() == 1)
    assert page.history.index(0, 7).data() == "forced"
    assert "forced" in window.statusBar().currentMessage()


def test_no_run_on_the_gate_dataset_blocks_the_deploy(window: MainWindow, world: World,
                                                      qtbot) -> None:
    page = open_page(window, qtbot)
    dialog = open_dialog(page, qtbot, 3, "production")
    assert "has no completed run on gate dataset gate-set" in dialog.gate_status.text
    # Staging has no gate: the same version deploys there, with a visible warning.
    dialog.select(environment="staging")
    qtbot.waitUntil(lambda: dialog.gate is not None and dialog.gate.environment == "staging")
    assert dialog.gate_status.kind == "warning" and dialog.ok_button.isEnabled()
    dialog.submit()
    finish(dialog, qtbot)
    assert deploy.get_environment(world.store, "triage", "staging").version == 3


def test_the_dialog_lists_the_runs_the_gate_skipped(window: MainWindow, world: World,
                                                     qtbot, qtmodeltester) -> None:
    full = world.run(1)
    limited = world.run(1, limit=10)
    failed = world.run(1, status="failed", stored=3)
    page = open_page(window, qtbot)
    dialog = open_dialog(page, qtbot, 1, "production")
    assert dialog.gate_status.kind == "ok" and f"passes on run {full}" in dialog.gate_status.text
    assert "2 newer run(s) skipped" in dialog.gate_status.text
    qtmodeltester.check(dialog.checks)
    rows = [[dialog.checks.index(r, c).data() for c in range(6)]
            for r in range(dialog.checks.rowCount())]
    assert [row[0] for row in rows] == ["pass", "pass", "skipped", "skipped"]
    assert rows[2:] == [
        ["skipped", "run of triage:1", DASH, DASH, str(failed), "not counted: failed"],
        ["skipped", "run of triage:1", DASH, DASH, str(limited),
         "not counted: covers 10 of 40 rows"]]
    assert dialog.ok_button.isEnabled()


def test_roll_back_shows_from_and_to(window: MainWindow, world: World, qtbot) -> None:
    deploy.deploy(world.store, "triage", 1, "staging")
    deploy.deploy(world.store, "triage", 2, "staging")
    page = open_page(window, qtbot)
    page.select_environment("production")
    assert not page.rollback_action.isEnabled()  # nothing earlier there
    page.select_environment("staging")
    assert page.rollback_action.isEnabled() and env_cells(page, "staging")[4] == "v1"
    page.rollback_action.trigger()
    dialog = page.dialog
    assert "from <b>v2</b> to <b>v1</b>" in dialog.question.text()
    dialog.reason.setText("v2 mislabels refunds")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    finish(dialog, qtbot)
    qtbot.waitUntil(lambda: env_cells(page, "staging")[1] == "v1")
    newest = page.history.move(0)
    assert (newest.action, newest.from_version, newest.to_version, newest.reason) == (
        "rollback", 2, 1, "v2 mislabels refunds")
    assert page.history.index(0, 4).data() == "v2 → v1"


def test_the_history_timeline_shows_every_move(window: MainWindow, world: World, qtbot,
                                               qtmodeltester) -> None:
    world.run(1)
    deploy.deploy(world.store, "triage", 1, "staging", reason="try it")
    deploy.deploy(world.store, "triage", 1, "production", reason="release")
    deploy.deploy(world.store, "triage", 2, "production", reason="urgent", force=True)
    deploy.rollback(world.store, "triage", "production", reason="bad")
    page = open_page(window, qtbot)
    history = page.history
    qtmodeltester.check(history)
    rows = [[history.index(r, c).data() for c in (1, 2, 3, 4, 5, 6, 7)]
            for r in range(history.rowCount())]
    user = audit.os_user()
    assert rows == [  # newest first
        [user, "production", "rollback", "v2 → v1", "bad", "–", ""],
        [user, "production", "deploy", "v1 → v2", "urgent", "–", "forced"],
        [user, "production", "deploy", "(empty) → v1", "release", "1", ""],
        [user, "staging", "deploy", "(empty) → v1", "try it", "–", ""],
    ]
    assert all(history.index(r, 0).data() for r in range(4))  # the time
    assert page.history_count.text() == "4 moves"
    assert not page.timeline.grab().isNull()  # the delegate paints every card
    page.history_filter.setCurrentIndex(page.history_filter.findData("staging"))
    assert history.rowCount() == 1 and history.move(0).reason == "try it"


def test_gate_policy_editor(window: MainWindow, world: World, qtbot, qtmodeltester) -> None:
    page = open_page(window, qtbot)
    assert env_cells(page, "staging")[3] == "no gate"
    dialog = page.open_gate_dialog("staging")
    assert not dialog.ok_button.isEnabled()  # a gate needs a rule
    dialog.rules.setPlainText("acuracy>=0.9")
    assert dialog.status.kind == "error" and "unknown metric 'acuracy'" in dialog.status.text
    assert not dialog.ok_button.isEnabled()
    dialog.rules.setPlainText("accuracy >= 0.85\nerror_rate<=0.01, cost_per_1k<=0.5")
    dialog.non_inferior.setChecked(True)
    dialog.alpha.setValue(0.01)
    assert dialog.ok_button.isEnabled()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    finish(dialog, qtbot)
    policy = gates.get_policy(world.store, "triage", "staging")
    assert [str(r) for r in policy.rules] == ["accuracy>=0.85", "error_rate<=0.01",
                                              "cost_per_1k<=0.5"]
    assert (policy.dataset, policy.non_inferior, policy.alpha) == ("gate-set", True, 0.01)
    qtbot.waitUntil(lambda: env_cells(page, "staging")[3].startswith("gate-set: accuracy>=0.85"))
    qtmodeltester.check(page.environments)
    # Re-opening shows the saved policy.
    again = page.open_gate_dialog("staging")
    assert again.rule_texts() == ["accuracy>=0.85", "error_rate<=0.01", "cost_per_1k<=0.5"]
    assert again.non_inferior.isChecked() and again.alpha.value() == pytest.approx(0.01)
    again.reject()


def test_add_an_environment(window: MainWindow, world: World, qtbot) -> None:
    page = open_page(window, qtbot)
    dialog = page.open_add_environment_dialog()
    dialog.name.setText("eu@prod")
    assert not dialog.ok_button.isEnabled()
    dialog.name.setText("canary")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    finish(dialog, qtbot)
    qtbot.waitUntil(lambda: page.environments.row_of("canary") is not None)
    assert env_cells(page, "canary")[1] == "not deployed"


def test_deploy_to_from_the_models_page(window: MainWindow, world: World, qtbot) -> None:
    world.run(2)
    page = window.show_page("ModelsPage")
    qtbot.waitUntil(lambda: page.versions.rowCount() == 3)
    page.select_model("triage", 2)
    assert page.deploy_action.isEnabled()
    assert page.deploy_action in page.table.actions()  # in the version's context menu
    page.deploy_action.trigger()
    dialog = page.dialog
    assert isinstance(dialog, DeployDialog)
    qtbot.waitUntil(lambda: dialog.gate is not None)
    assert (dialog.version, dialog.environment) == (2, "production")
    assert dialog.gate_status.kind == "ok"
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    finish(dialog, qtbot)
    # The versions table follows the deploy (its "Deployed" column).
    qtbot.waitUntil(lambda: page.versions.index(page.versions.row_of(2), 1).data()
                    == "production")


def test_the_charts_page_marks_a_deploy_made_here(window: MainWindow, world: World,
                                                  qtbot) -> None:
    world.run(1)
    charts = window.show_page("ChartsPage")
    qtbot.waitUntil(lambda: charts.data is not None and bool(charts.data.series))
    assert not [m for m in charts.data.markers if m.kind == "deploy"]
    page = open_page(window, qtbot)
    dialog = open_dialog(page, qtbot, 1, "production")
    dialog.submit()
    finish(dialog, qtbot)
    window.show_page("ChartsPage")  # stale since deployments_changed: reloads when shown
    qtbot.waitUntil(lambda: any(m.kind == "deploy" for m in charts.data.markers))
    qtbot.waitUntil(lambda: not charts.chart.drawing)  # panels are drawn one per turn
    labels = [line.label.format for line in charts.chart.plots["accuracy"].items
              if isinstance(line, pg.InfiniteLine) and line.label is not None]
    assert any("v1 → production" in label for label in labels)
