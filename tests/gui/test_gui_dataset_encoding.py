"""Importing an Excel export that is not UTF-8: the dialog offers the encoding that fits,
re-reads the preview with the one chosen, and the report says which was used."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from mlops_desk.core import datasets
from mlops_desk.core.store import Store
from mlops_desk.ui.dialogs.column_mapping import ColumnMappingDialog
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.pages.datasets import NOTICE_MS, DatasetsPage
from tests.gui.conftest import wait_idle

EXCEL_CSV = "text,label\ncafé crème,positive\nnaïve – 5 €,negative\n"


@pytest.fixture
def page(window: MainWindow, qtbot) -> DatasetsPage:
    page = window.show_page("DatasetsPage")
    wait_idle(qtbot, window.ctx)
    return page


def open_dialog(page: DatasetsPage, path: Path, qtbot) -> ColumnMappingDialog:
    dialog = page.import_file(path)
    qtbot.waitUntil(lambda: dialog.ready)
    return dialog


def test_a_cp1252_file_gets_an_encoding_choice_and_imports(page: DatasetsPage, store: Store,
                                                           tmp_path: Path, qtbot) -> None:
    path = tmp_path / "excel export.csv"
    path.write_bytes(EXCEL_CSV.encode("cp1252"))
    dialog = open_dialog(page, path, qtbot)
    assert dialog.status.kind == "error"
    assert dialog.status.text.endswith("choose its encoding (cp1252 fits)")
    assert "--" not in dialog.status.text  # no command-line advice in the window
    assert "choose its encoding" in dialog.file_label.text()
    assert not dialog.import_button.isEnabled() and not dialog.name.isEnabled()
    assert dialog.encoding.isVisible() and dialog.encoding.isEnabled()
    suggested = dialog.encoding.findData("cp1252")
    assert dialog.encoding.itemText(suggested).endswith("(suggested)")
    assert not dialog.encoding.itemText(dialog.encoding.findData("latin-1")).endswith(
        "(suggested)")

    dialog.choose_encoding("cp1252")  # re-reads the preview
    qtbot.waitUntil(lambda: dialog.ready and dialog.preview is not None)
    assert dialog.preview_model.columns == ["text", "label"]
    texts = [dialog.preview_model.data(dialog.preview_model.index(r, 0)) for r in range(2)]
    assert texts == ["café crème", "naïve – 5 €"]
    assert "cp1252" in dialog.file_label.text()
    assert dialog.name.isEnabled() and dialog.expected_col == "label"
    assert list(dialog.checks) == ["text", "label"]  # the mapping was rebuilt, not doubled
    assert dialog.status.kind == "ok" and dialog.import_button.isEnabled()

    qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    stored = datasets.get_dataset(store, "excel-export")
    assert stored.validation["encoding"] == "cp1252"
    qtbot.waitUntil(lambda: page.current is not None and page.current.name == "excel-export")
    assert "Encoding\ncp1252" in page.report_view.toPlainText()  # the report says which
    # The "Imported …" notice goes away by itself.
    assert page.banner.isVisible() and page.banner.hiding
    assert page.banner._hide_timer.interval() == NOTICE_MS


def test_a_utf16_file_with_a_bom_needs_no_choice(page: DatasetsPage, tmp_path: Path,
                                                 qtbot) -> None:
    path = tmp_path / "unicode.tsv"
    path.write_bytes(EXCEL_CSV.replace(",", "\t").encode("utf-16"))
    dialog = open_dialog(page, path, qtbot)
    assert dialog.status.kind == "ok" and dialog.chosen_encoding is None
    assert "utf-16-le (BOM)" in dialog.file_label.text()
    dialog.reject()


def test_a_spreadsheet_has_no_encoding_box(page: DatasetsPage, tmp_path: Path, qtbot) -> None:
    pd.DataFrame({"text": ["café"], "label": ["positive"]}).to_excel(tmp_path / "s.xlsx",
                                                                     index=False)
    dialog = open_dialog(page, tmp_path / "s.xlsx", qtbot)
    assert dialog.status.kind == "ok" and not dialog.encoding.isVisible()
    dialog.reject()
