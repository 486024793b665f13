"""The Audit page: events newest first, search, time range, and Verify (intact and broken)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from PySide6.QtCore import QDate, Qt

from mlops_desk.core import audit
from mlops_desk.core.store import Store
from mlops_desk.ui.pages.audit import BETWEEN, SEARCH_DELAY_MS, AuditPage
from tests.gui.conftest import WAIT_MS, show_page, wait_idle

START = datetime(2026, 11, 1, 9, tzinfo=UTC)  # event n at START + (n - 1) days


@pytest.fixture
def dated(store: Store, monkeypatch) -> Store:
    """Six events, one a day from 1 November 2026; the clock is put back afterwards."""
    clock = count()
    with monkeypatch.context() as patch:
        patch.setattr(audit, "utcnow", lambda: (START + next(clock) * timedelta(days=1))
                      .strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        for i, (action, subject) in enumerate([
                ("model.create", "model:triage"), ("version.register", "model:triage:1"),
                ("deploy", "model:triage@production"), ("model.create", "model:reviews"),
                ("deploy", "model:reviews@staging"), ("version.register", "model:reviews:1")]):
            audit.append(store, action, subject, {"day": i + 1, "why": "<b>bold</b>"})
    return store


@pytest.fixture
def page(qtbot, ctx, dated) -> AuditPage:
    return show_page(qtbot, ctx, AuditPage(ctx), (1200, 700))


def ids(page: AuditPage) -> list[int]:
    return [page.model.event(row).id for row in range(page.model.rowCount())]


def test_all_events_newest_first_with_their_fields(page: AuditPage) -> None:
    assert ids(page) == [6, 5, 4, 3, 2, 1]
    model = page.model
    assert [model.index(5, c).data() for c in range(5)] == [
        1, "2026-11-01 09:00:00", audit.os_user(), "model.create", "model:triage"]
    assert model.index(5, 5).data() == '{"day": 1, "why": "<b>bold</b>"}'  # text, not markup
    assert page.count_label.text() == "6 events"


def test_search_narrows_the_table_after_typing_stops(qtbot, page: AuditPage) -> None:
    qtbot.keyClicks(page.search, "DEPLOY")
    assert ids(page) == [6, 5, 4, 3, 2, 1]  # not on every key press
    qtbot.wait(SEARCH_DELAY_MS + 50)
    wait_idle(qtbot, page.ctx)
    assert ids(page) == [5, 3]
    page.search.setText("4")  # a number also finds the event with that id
    qtbot.waitUntil(lambda: ids(page) == [4], timeout=WAIT_MS)
    assert page.count_label.text() == "1 event"


def test_between_dates_keeps_the_days_chosen_both_included(qtbot, page: AuditPage) -> None:
    page.range_box.setCurrentIndex(BETWEEN)
    assert page.from_date.isVisibleTo(page) and page.to_date.isVisibleTo(page)
    page.from_date.setDate(QDate(2026, 11, 2))
    page.to_date.setDate(QDate(2026, 11, 4))
    wait_idle(qtbot, page.ctx)
    assert ids(page) == [4, 3, 2]
    assert page.time_range() == ("2026-11-02", "2026-11-05")
    page.range_box.setCurrentIndex(0)  # all time again
    wait_idle(qtbot, page.ctx)
    assert ids(page) == [6, 5, 4, 3, 2, 1] and not page.from_date.isVisibleTo(page)


def test_an_empty_range_is_one_line_on_the_page(qtbot, page: AuditPage) -> None:
    page.range_box.setCurrentIndex(BETWEEN)
    page.from_date.setDate(QDate(2026, 11, 5))
    page.to_date.setDate(QDate(2026, 11, 3))
    wait_idle(qtbot, page.ctx)
    assert page.problem.isVisibleTo(page) and page.problem.kind == "error"
    assert page.problem.text == "the start 2026-11-05 is not before the end 2026-11-04"
    assert ids(page) == []
    page.to_date.setDate(QDate(2026, 11, 30))
    wait_idle(qtbot, page.ctx)
    assert not page.problem.isVisibleTo(page) and ids(page) == [6, 5]


def test_verify_shows_the_verdict_and_the_full_head(qtbot, page: AuditPage, dated) -> None:
    assert page.verdict.kind == "info"
    qtbot.mouseClick(page.verify_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page.ctx)
    head = audit.verify(dated).head
    assert page.verdict.kind == "ok"
    assert page.verdict.text.startswith("audit log intact: 6 events")
    assert f"<code>{head}</code>" in page.verdict.text
    assert page.model.bad_id is None


def test_verify_of_an_edited_log_names_and_marks_the_event(qtbot, page: AuditPage,
                                                           db_path) -> None:
    conn = sqlite3.connect(db_path)  # what someone holding the file does
    conn.execute("DROP TRIGGER audit_append_only_update")
    conn.execute("UPDATE audit SET user = 'mallory' WHERE id = 3")
    conn.commit()
    conn.close()
    qtbot.mouseClick(page.verify_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, page.ctx)
    assert page.verdict.kind == "error"
    assert page.verdict.text == "audit log broken at event 3: event 3 was edited"
    assert page.model.bad_id == 3
    row = ids(page).index(3)
    assert page.model.index(row, 1).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert page.model.index(0, 1).data(Qt.ItemDataRole.BackgroundRole) is None
    assert page.verify_button.isEnabled()
