"""The filterable list the Models, Datasets, Endpoints and Deployments pages share."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel

from mlops_desk.ui.widgets.item_list import FilterableList

ITEMS = [("a", "alpha", "first", None), ("b", "beta", "second", None),
         ("c", "gamma", "third", None)]


@pytest.fixture
def widget(qtbot) -> FilterableList:
    w = FilterableList("Things", "Filter things (Ctrl+F)", "New thing…",
                       footer=[QLabel("hint")])
    qtbot.addWidget(w)
    return w


def visible(w: FilterableList) -> list[str]:
    return [w.list.item(i).text() for i in range(w.list.count()) if not w.list.item(i).isHidden()]


def test_the_parts_keep_their_names(widget: FilterableList) -> None:
    assert widget.heading.objectName() == "pageTitle" and widget.heading.text() == "Things"
    assert widget.list.objectName() == "itemList"
    assert widget.filter_edit.placeholderText() == "Filter things (Ctrl+F)"
    assert widget.filter_edit.isClearButtonEnabled()
    assert widget.button is not None and widget.button.text() == "New thing…"
    order = [widget.layout().itemAt(i).widget() for i in range(widget.layout().count())]
    assert order[:4] == [widget.heading, widget.filter_edit, widget.list, widget.button]
    bare = FilterableList("T", "F", list_name="", parent=widget)
    assert bare.list.objectName() == "" and bare.button is None


def test_set_items_selects_the_first_row_and_carries_tooltips(widget: FilterableList) -> None:
    assert widget.current_key is None
    widget.set_items(ITEMS)
    assert widget.current_key == "a"
    assert widget.list.item(1).toolTip() == "second"


def test_the_filter_hides_items_case_insensitively(widget: FilterableList) -> None:
    widget.set_items(ITEMS)
    widget.filter_edit.setText("  ALP ")
    assert visible(widget) == ["alpha"]
    widget.set_items([*ITEMS, ("d", "alpine", "", None)])  # the filter applies to new items
    assert visible(widget) == ["alpha", "alpine"]
    widget.filter_edit.clear()
    assert visible(widget) == ["alpha", "beta", "gamma", "alpine"]


def test_the_selection_survives_a_refill_silently(widget: FilterableList, qtbot) -> None:
    widget.set_items(ITEMS)
    seen: list = []
    widget.current_changed.connect(seen.append)
    widget.list.setCurrentRow(2)
    assert seen == ["c"]
    widget.set_items(list(reversed(ITEMS)))
    assert widget.current_key == "c" and widget.list.currentRow() == 0
    widget.set_items(ITEMS[:2])  # "c" is gone: back to the first row
    assert widget.current_key == "a"
    widget.set_items(ITEMS, keep="b")
    assert widget.current_key == "b"
    widget.set_items([])
    assert widget.current_key is None
    assert seen == ["c"]  # no refill emitted current_changed


def test_select_is_silent_unless_asked(widget: FilterableList) -> None:
    widget.set_items(ITEMS)
    seen: list = []
    widget.current_changed.connect(seen.append)
    assert widget.select("b") and widget.current_key == "b" and seen == []
    assert not widget.select("zzz") and widget.current_key == "b"
    assert widget.select("c", notify=True) and seen == ["c"]
    assert widget.select("c", notify=True) and seen == ["c"]  # no move, no signal


def test_focus_filter_selects_the_filter_text(widget: FilterableList, qtbot) -> None:
    widget.show()
    qtbot.waitExposed(widget)
    widget.filter_edit.setText("bet")
    widget.focus_filter()
    qtbot.waitUntil(widget.filter_edit.hasFocus)
    assert widget.filter_edit.selectedText() == "bet"
