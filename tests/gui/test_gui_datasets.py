"""The Datasets page: import through the column-mapping dialog, reports, the rows table."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from mlops_desk.core import datasets
from mlops_desk.core.store import Store
from mlops_desk.ui.dialogs.column_mapping import ColumnMappingDialog, default_name
from mlops_desk.ui.item_models.rows_table import PAGE_ROWS
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.pages.datasets import DatasetsPage
from tests.gui.conftest import wait_idle, write_csv


@pytest.fixture
def page(window: MainWindow, qtbot) -> DatasetsPage:
    page = window.show_page("DatasetsPage")
    wait_idle(qtbot, window.ctx)
    return page


def tickets_csv(tmp_path: Path, n: int = 40) -> Path:
    rows = [{"id": str(i), "subject": f"printer {i} broke", "body": f"details {i}",
             "label": "bug" if i % 4 else "question"} for i in range(n)]
    rows[3]["body"] = ""  # one missing input cell: a warning, not an error
    rows.append(dict(rows[0]))  # a duplicate row: another warning
    return write_csv(tmp_path / "support tickets.csv", rows)


def open_dialog(page: DatasetsPage, path: Path, qtbot) -> ColumnMappingDialog:
    dialog = page.import_file(path)
    qtbot.waitUntil(lambda: dialog.ready)
    return dialog


def test_import_through_the_mapping_dialog(page: DatasetsPage, store: Store, tmp_path: Path,
                                           qtbot, qtmodeltester) -> None:
    dialog = open_dialog(page, tickets_csv(tmp_path), qtbot)
    # The preview shows the first rows; the expected column is guessed from its name.
    assert dialog.preview_model.columns == ["id", "subject", "body", "label"]
    assert dialog.preview_model.rowCount() == 20
    assert "41 rows, 4 columns" in dialog.file_label.text()
    qtmodeltester.check(dialog.preview_model)
    assert dialog.expected_col == "label"
    assert dialog.input_cols == ["subject", "body"]  # an id column tells a model nothing
    assert not dialog.checks["label"].isEnabled()
    assert dialog.name.text() == "support-tickets"
    # The user maps the columns; no input column at all is refused.
    for column in ("subject", "body"):
        dialog.checks[column].setChecked(False)
    assert dialog.status.kind == "error" and not dialog.import_button.isEnabled()
    dialog.checks["subject"].setChecked(True)
    dialog.checks["body"].setChecked(True)
    dialog.name.setText("tickets v1")
    assert "invalid dataset name" in dialog.status.text
    dialog.name.setText("tickets")
    assert dialog.status.kind == "ok" and "scored against 'label'" in dialog.status.text

    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    stored = datasets.get_dataset(store, "tickets")
    assert (stored.input_cols, stored.expected_col, stored.n_rows) == (
        ["subject", "body"], "label", 41)

    # The page lists and selects it, with its report and its rows.
    qtbot.waitUntil(lambda: page.current is not None and page.current.name == "tickets")
    assert page.banner.isVisible() and "Imported tickets: 41 rows" in page.banner.text
    assert page.banner.kind == "warning"
    report = page.report_view.toPlainText()
    assert "Usable, 2 warnings" in report
    assert "1 row missing input column 'body'" in report
    assert "duplicating an earlier row" in report
    assert "bug" in report and "question" in report  # the class table
    qtbot.waitUntil(lambda: page.rows_model.rowCount() == 41)
    qtmodeltester.check(page.rows_model)
    assert page.rows_model.columns == ["subject", "body", "label"]
    assert page.rows_model.index(3, 1).data() == "(missing)"
    assert page.rows_model.headerData(40, Qt.Orientation.Vertical) == "40"


def test_a_bad_file_shows_its_one_line_error(page: DatasetsPage, tmp_path: Path, qtbot) -> None:
    bad = tmp_path / "ragged.csv"
    bad.write_text("text,label\nfine,bug\ntoo,many,fields\n")
    dialog = open_dialog(page, bad, qtbot)
    assert dialog.status.kind == "error"
    assert dialog.status.text == ("ragged.csv: line 3 has 3 fields but the header has 2; "
                                  "quote cells that contain commas")
    assert not dialog.import_button.isEnabled() and dialog.preview_model.rowCount() == 0
    dialog.reject()

    binary = tmp_path / "sheet.csv"
    binary.write_bytes(b"PK\x03\x04rest of a zip")
    dialog = open_dialog(page, binary, qtbot)
    assert "this is a ZIP/XLSX file, not CSV text" in dialog.status.text
    dialog.reject()


def test_importing_the_same_content_again_points_to_the_snapshot(
        page: DatasetsPage, store: Store, tmp_path: Path, qtbot) -> None:
    path = tickets_csv(tmp_path)
    datasets.import_dataset(store, path, "first", input_cols=["subject", "body"],
                            expected_col="label")
    dialog = open_dialog(page, path, qtbot)
    dialog.name.setText("second")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    qtbot.waitUntil(lambda: page.current is not None and page.current.name == "first")
    assert "already imported as first" in page.banner.text

    # The same name for other content is refused inside the dialog.
    other = write_csv(tmp_path / "other.csv", [{"subject": "x", "label": "bug"}])
    dialog = open_dialog(page, other, qtbot)
    dialog.name.setText("first")
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.status.kind == "error")
    assert "dataset first already exists" in dialog.status.text
    assert dialog.isVisible() and dialog.import_button.isEnabled()
    dialog.reject()


def test_rows_load_page_by_page(page: DatasetsPage, store: Store, tmp_path: Path,
                                qtbot) -> None:
    n = PAGE_ROWS * 2 + 10
    path = write_csv(tmp_path / "big.csv", [{"text": f"row {i}", "label": "a" if i % 2 else "b"}
                                            for i in range(n)])
    datasets.import_dataset(store, path, "big", expected_col="label")
    page.ctx.datasets_changed.emit()
    qtbot.waitUntil(lambda: page.current is not None and page.rows_model.rowCount() > 0)
    wait_idle(qtbot, page.ctx)
    assert page.rows_model.rowCount() == PAGE_ROWS and page.rows_model.total == n
    page.rows_table.scrollToBottom()  # the view asks for the next page
    qtbot.waitUntil(lambda: page.rows_model.rowCount() == 2 * PAGE_ROWS)
    while page.rows_model.canFetchMore():
        page.rows_model.fetchMore()
        wait_idle(qtbot, page.ctx)
    assert page.rows_model.rowCount() == n
    assert page.rows_model.index(n - 1, 0).data() == f"row {n - 1}"


def test_the_filter_narrows_the_list(page: DatasetsPage, store: Store, tmp_path: Path,
                                     qtbot) -> None:
    for name in ("alpha", "beta"):
        path = write_csv(tmp_path / f"{name}.csv", [{"text": name, "label": "x"}])
        datasets.import_dataset(store, path, name, expected_col="label")
    page.refresh()
    qtbot.waitUntil(lambda: page.dataset_list.count() == 2)
    page.filter_edit.setText("et")
    shown = [page.dataset_list.item(i).text() for i in range(2)
             if not page.dataset_list.item(i).isHidden()]
    assert shown == ["beta"]


def test_default_names_are_valid_dataset_names() -> None:
    assert default_name(Path("My Data (final).csv")) == "My-Data-final"
    assert default_name(Path("__.csv")) == "dataset"
    assert default_name(Path("ünïcode.jsonl")) == "n-code"
