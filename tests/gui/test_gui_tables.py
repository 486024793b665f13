"""Readable tables: columns sized to content, headers never cut, version numbers kept in a
narrow column, and the full text as the tooltip of an elided cell (ui.widgets.table_columns)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFontMetrics, QHelpEvent
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QTableView, QToolTip

from mlops_desk.core.registry import Version
from mlops_desk.ui.item_models.base import Index, RowsTableModel
from mlops_desk.ui.main_window import MainWindow
from mlops_desk.ui.widgets.table_columns import column_fitter, elide, readable_table
from tests.gui.conftest import WAIT_MS, wait_idle

# A real tooltip is shown; the offscreen platform says it cannot raise its window.
OFFSCREEN_TOOLTIP = pytest.mark.qt_log_ignore("This plugin does not support raise.*")
FINGERPRINT = "d92e5386931dd61751440a501ef641e64e2465975b14775cc0abb73e0af7fb63"


class Cells(RowsTableModel):
    """Rows of (version ref, fingerprint, free text), the last with a tooltip of its own."""

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 2:
            return "why this note"
        return None


@pytest.fixture
def table(qtbot) -> QTableView:
    model = Cells(("Version", "Fingerprint", "Cost / 1k rows", "#"))
    model.set_rows([("review-sentiment:3", FINGERPRINT, "short", "1"),
                    ("ticket-triage:12", FINGERPRINT[:12], "a long note " * 8, "2")])
    view = QTableView()
    model.setParent(view)
    view.setModel(model)
    readable_table(view, middle=(1,), maximum=200)
    qtbot.addWidget(view)
    view.resize(700, 200)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.columnWidth(0) > 100)
    return view


def shown(view: QTableView, row: int, column: int) -> str:
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.rect = view.visualRect(view.model().index(row, column))
    index = view.model().index(row, column)
    delegate = view.itemDelegateForIndex(index)
    delegate.initStyleOption(option, index)
    return delegate.shown_text(option, index)  # as drawn: Qt cuts plain text when it paints


def tooltip_at(view: QTableView, row: int, column: int) -> str:
    rect = view.visualRect(view.model().index(row, column))
    center = rect.center()
    event = QHelpEvent(QEvent.Type.ToolTip, center, view.viewport().mapToGlobal(center))
    QApplication.sendEvent(view.viewport(), event)
    text = QToolTip.text() if QToolTip.isVisible() else ""
    QToolTip.hideText()
    return text


@OFFSCREEN_TOOLTIP
def test_columns_fit_their_content_and_headers(table: QTableView) -> None:
    fm = table.fontMetrics()
    assert table.columnWidth(0) >= fm.horizontalAdvance("review-sentiment:3")
    # Long free text stops at the maximum and is elided, with its full text as the tooltip.
    assert table.columnWidth(2) == 200
    assert shown(table, 1, 2).endswith("…")
    assert tooltip_at(table, 1, 2) == ("a long note " * 8) + "\n\nwhy this note"
    assert tooltip_at(table, 0, 2) == "why this note"  # fits: the model's tooltip only
    header = table.horizontalHeader()
    for column in range(4):
        title = table.model().headerData(column, Qt.Orientation.Horizontal)
        assert header.sectionSize(column) > header.fontMetrics().horizontalAdvance(title)


@OFFSCREEN_TOOLTIP
def test_a_narrow_column_keeps_the_version_number(table: QTableView) -> None:
    table.setColumnWidth(0, 90)
    text = shown(table, 0, 0)
    assert text.endswith(":3") and "…" in text and text.startswith("review")
    assert tooltip_at(table, 0, 0) == "review-sentiment:3"
    table.setColumnWidth(1, 120)
    middle = shown(table, 0, 1)  # a long id loses its middle: both ends identify it
    assert middle.startswith("d92e") and middle.endswith("fb63") and "…" in middle
    assert tooltip_at(table, 0, 1) == FINGERPRINT


@settings(max_examples=60, deadline=None)
@given(name=st.from_regex(r"[a-z][a-z0-9-]{0,40}", fullmatch=True),
       number=st.integers(1, 9999), extra=st.integers(0, 200))
def test_elide_never_drops_the_version_suffix(qapp, name: str, number: int, extra: int) -> None:
    fm = QFontMetrics(qapp.font())
    text, tail = f"{name}:{number}", f":{number}"
    width = fm.horizontalAdvance("x…" + tail) + extra
    result = elide(text, fm, width)
    assert result.endswith(tail)
    assert result == text or (fm.horizontalAdvance(result) <= width and "…" in result)


def test_page_headers_are_never_cut(window: MainWindow, triage: list[Version], qtbot) -> None:
    window.resize(1280, 800)
    for name, attr in (("OverviewPage", "table"), ("ModelsPage", "table"),
                       ("RunsPage", "table"), ("DeploymentsPage", "env_table"),
                       ("MonitorPage", "totals_view")):
        page = window.show_page(name)
        wait_idle(qtbot, window.ctx)
        view = getattr(page, attr)
        fitter = column_fitter(view)
        assert fitter is not None, name
        qtbot.waitUntil(lambda view=view: view.isVisible(), timeout=WAIT_MS)
        fitter.fit()
        header = view.horizontalHeader()
        for column in range(view.model().columnCount()):
            if header.isSectionHidden(column) or header.sectionResizeMode(column) == (
                    header.ResizeMode.Stretch):
                continue
            title = str(view.model().headerData(column, Qt.Orientation.Horizontal))
            needed = header.fontMetrics().horizontalAdvance(title)
            assert header.sectionSize(column) > needed, (name, title)
