"""The Models page: versions table, details, diff, new version / new model dialogs, metadata."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QDialog

from mlops_desk.core import deploy, registry
from mlops_desk.core.registry import Version
from mlops_desk.core.store import Store
from mlops_desk.ui.item_models.versions_table import NOTE
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.pages.models import ModelsPage
from mlops_desk.ui.widgets.config_diff import diff_rows
from tests.gui.conftest import config, wait_idle
from tests.support.run_factory import make_test_dataset, make_test_run


@pytest.fixture
def page(window: MainWindow, triage: list[Version], qtbot) -> ModelsPage:
    page = window.show_page("ModelsPage")
    qtbot.waitUntil(lambda: page.details is not None and page.versions.rowCount() == 2)
    return page


def select_rows(page: ModelsPage, *rows: int) -> None:
    selection = page.table.selectionModel()
    selection.clearSelection()
    for row in rows:
        selection.select(page.versions.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)


def test_versions_table_shows_each_version_with_its_latest_run(
        window: MainWindow, store: Store, triage: list[Version], tmp_path: Path, qtbot,
        qtmodeltester) -> None:
    dataset = make_test_dataset(store, tmp_path, "d", [{"text": f"t{i}", "expected": "bug"}
                                                       for i in range(10)])
    make_test_run(store, triage[1], dataset,
                  [{"prediction": "bug", "expected": "bug", "latency_ms": 250, "cost": 0.001}
                   for _ in range(10)])
    deploy.deploy(store, "triage", 1, "production", reason="first", force=True)
    page = window.show_page("ModelsPage")
    qtbot.waitUntil(lambda: page.versions.rowCount() == 2)
    qtmodeltester.check(page.versions)
    rows = [[page.versions.index(r, c).data() for c in range(page.versions.columnCount())]
            for r in range(2)]
    assert rows[0][:4] == ["1", "production", triage[0].fingerprint[:10], "m1"]
    assert rows[0][5:8] == ["baseline", "", "–"]
    assert rows[1][1] == ""
    assert rows[1][5:] == ["stricter prompt", "candidate", "100.0%", "250 ms", "$1.00"]
    assert page.versions.index(0, 2).data(Qt.ItemDataRole.ToolTipRole) == triage[0].fingerprint
    # The newest version is selected and its full config shown, read-only.
    assert [v.number for v in page.selected_versions()] == [2]
    details = page.details_view.toPlainText()
    assert "Answer with one label only." in details and '"max_tokens": 5' in details
    assert "no environment" in details
    assert page.details_view.isReadOnly()


def test_selecting_two_versions_diffs_them_side_by_side(page: ModelsPage) -> None:
    select_rows(page, 0, 1)
    assert page.tabs.currentWidget() is page.diff_view
    assert page.compare_action.isEnabled()
    assert page.diff_view.changed_fields == ["system_prompt", "params.max_tokens",
                                             "params.temperature"]
    changed = [(r.field, r.kind, r.left, r.right) for r in page.diff_view.rows
               if r.kind != "equal"]
    assert ("system_prompt", "insert", None, "Answer with one label only.") in changed
    assert any(f == "params" and left and '"temperature": 0' in left for f, _, left, _ in changed)
    text = page.diff_view.toPlainText()
    assert "triage:1" in text and "triage:2" in text and "System prompt (changed)" in text
    select_rows(page, 1)
    assert page.tabs.currentWidget() is page.details_view and not page.diff_view.rows


def test_diff_rows_align_changed_lines() -> None:
    a = config(template="Ticket: {text}\nPriority: {priority}")
    b = config(template="Ticket: {text}\nUrgency: {priority}\nAnswer:")
    rows = [r for r in diff_rows(a, b) if r.field == "template"]
    assert [(r.kind, r.left, r.right) for r in rows] == [
        ("equal", "Ticket: {text}", "Ticket: {text}"),
        ("replace", "Priority: {priority}", "Urgency: {priority}"),
        ("replace", None, "Answer:"),
    ]


def test_new_version_dialog_registers_a_clone(page: ModelsPage, store: Store, qtbot) -> None:
    select_rows(page, 0)
    page.new_version_action.trigger()
    dialog = page.dialog
    assert dialog.isVisible() and dialog.source.number == 1
    # An unchanged clone is version 1 itself.
    assert dialog.status.kind == "info" and "Identical to version 1" in dialog.status.text
    assert not dialog.register_button.isEnabled()
    # Editing it into version 2's config says so too.
    dialog.system_prompt.setPlainText("Classify the ticket.\nAnswer with one label only.")
    dialog.params.setPlainText('{"max_tokens": 5, "temperature": 0.20}')
    assert "Identical to version 2" in dialog.status.text
    # Invalid input is explained, live.
    dialog.params.setPlainText('{"temperature": ')
    assert dialog.status.kind == "error" and "not valid JSON" in dialog.status.text
    dialog.params.setPlainText("[1, 2]")
    assert "must be a JSON object" in dialog.status.text
    dialog.params.setPlainText('{"temperature": 0.7}')
    dialog.template.setPlainText("Ticket: {text!r}")
    assert dialog.status.kind == "error" and "placeholder" in dialog.status.text
    dialog.template.setPlainText("Ticket: {text}\nCustomer: {customer}")
    assert "{text}, {customer}" in dialog.columns_hint.text()
    dialog.parser.setCurrentText("regex:(")
    assert dialog.status.kind == "error" and "does not compile" in dialog.status.text
    dialog.parser.setCurrentText("label")
    assert dialog.status.kind == "ok" and dialog.register_button.isEnabled()
    dialog.note.setText("warmer, with the customer")
    dialog.tags.setText("candidate, warm, candidate")

    qtbot.mouseClick(dialog.register_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    version = registry.get_version(store, "triage", 3)
    assert version.parent_number == 1 and version.note == "warmer, with the customer"
    assert version.tags == ["candidate", "warm"]
    assert version.config["params"] == {"temperature": 0.7}
    qtbot.waitUntil(lambda: page.versions.rowCount() == 3)
    wait_idle(qtbot, page.ctx)
    assert [v.number for v in page.selected_versions()] == [3]
    assert "Registered triage:3" in page.window().statusBar().currentMessage()


def test_a_refused_registration_stays_in_the_dialog(page: ModelsPage, store: Store,
                                                     qtbot) -> None:
    dialog = page.open_new_version_dialog()
    dialog.model_id.setText("m2")
    # Someone renames the endpoint behind the dialog's back: the store refuses.
    store.db.execute("UPDATE endpoints SET name = 'renamed' WHERE name = 'local'")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.status.kind == "error")
    assert "no endpoint named 'local'" in dialog.status.text
    assert dialog.isVisible() and dialog.register_button.isEnabled()
    dialog.reject()


def test_new_model_dialog_creates_and_selects_the_model(page: ModelsPage, store: Store,
                                                        qtbot) -> None:
    qtbot.mouseClick(page.new_model_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert not dialog.ok_button.isEnabled()
    dialog.name.setText("bad name!")
    assert dialog.status.kind == "error" and "invalid model name" in dialog.status.text
    dialog.name.setText("triage")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.status.kind == "error")
    assert "already exists" in dialog.status.text  # a Conflict from the store, in the dialog
    dialog.name.setText("sentiment")
    dialog.labels.setText("pos, neg, pos")
    assert "duplicate labels" in dialog.status.text
    dialog.labels.setText("pos, neg")
    dialog.description.setText("Review sentiment")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert registry.get_model(store, "sentiment").labels == ["pos", "neg"]
    qtbot.waitUntil(lambda: page.details is not None and page.details.model.name == "sentiment")
    assert page.current_model == "sentiment" and page.versions.rowCount() == 0
    assert page.new_version_action.text() == "New version…"
    # A model without versions starts a blank one.
    blank = page.open_new_version_dialog()
    assert blank.source is None and blank.endpoint.currentText() == "local"
    assert blank.status.kind == "error" and "Model id is required" in blank.status.text
    assert "--" not in blank.status.text  # the GUI names the field, not a flag
    assert blank.model_id_error.isVisibleTo(blank)  # shown at the field itself
    assert blank.model_id_error.text.startswith("Model id is required")
    blank.model_id.setText("m9")
    assert not blank.model_id_error.isVisibleTo(blank) and blank.status.kind == "ok"
    blank.reject()


def test_notes_tags_and_archiving(page: ModelsPage, store: Store, qtbot) -> None:
    select_rows(page, 0)
    page.meta_action.trigger()
    dialog = page.dialog
    dialog.note.setText("the first try")
    dialog.tags.setText("old, baseline")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    version = registry.get_version(store, "triage", 1)
    assert (version.note, version.tags) == ("the first try", ["old", "baseline"])
    qtbot.waitUntil(lambda: page.versions.index(0, NOTE).data() == "the first try")
    wait_idle(qtbot, page.ctx)

    select_rows(page, 0)
    assert page.archive_action.text() == "Archive"
    page.archive_action.trigger()
    qtbot.waitUntil(lambda: page.versions.version(0).archived)
    wait_idle(qtbot, page.ctx)
    assert registry.get_version(store, "triage", 1).archived
    assert page.versions.index(0, NOTE).data().endswith("(archived)")
    assert [v.number for v in page.selected_versions()] == [1]
    assert page.archive_action.text() == "Unarchive"
    page.show_archived.setChecked(False)
    assert page.versions.rowCount() == 1
    page.show_archived.setChecked(True)
    select_rows(page, 0)
    page.archive_action.trigger()
    qtbot.waitUntil(lambda: not page.versions.version(0).archived)
    wait_idle(qtbot, page.ctx)


def test_the_filter_box_narrows_the_models_list(page: ModelsPage, store: Store, qtbot) -> None:
    registry.create_model(store, "summariser", kind="generation")
    page.ctx.registry_changed.emit()
    qtbot.waitUntil(lambda: page.model_list.count() == 2)
    page.focus_filter()
    page.filter_edit.setText("SUM")
    visible = [page.model_list.item(i).text() for i in range(page.model_list.count())
               if not page.model_list.item(i).isHidden()]
    assert visible == ["summariser"]
    page.select_model("summariser")
    qtbot.waitUntil(lambda: page.details is not None and page.details.model.name == "summariser")
