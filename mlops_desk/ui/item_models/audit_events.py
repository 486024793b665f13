"""The Audit page's table: one row per event, newest first; a broken event stands out."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication

from mlops_desk.core.audit_search import AuditEvent
from mlops_desk.ui import theme
from mlops_desk.ui.item_models.base import RIGHT, Index, RowsTableModel

COLUMNS = ("ID", "Time (UTC)", "User", "Action", "Subject", "Details")
DETAILS = COLUMNS.index("Details")
BROKEN = QColor("#d64545")


def utc_text(ts: str) -> str:
    """A stored UTC timestamp to the second, as the CLI and the audit report print it."""
    return ts[:19].replace("T", " ")


class AuditEventsModel(RowsTableModel):
    def __init__(self, parent=None):
        super().__init__(COLUMNS, parent)
        self.bad_id: int | None = None  # the first event audit verify found broken

    def set_events(self, events: list[AuditEvent]) -> None:
        self.set_rows(list(reversed(events)))

    def event(self, row: int) -> AuditEvent:
        return self._rows[row]

    def set_bad_id(self, event_id: int | None) -> None:
        if event_id != self.bad_id:
            self.bad_id = event_id
            if self._rows:
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(self._rows) - 1, len(COLUMNS) - 1))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        event: AuditEvent = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (event.id, utc_text(event.ts), event.user, event.action, event.subject,
                    event.details)[column]
        if role == Qt.ItemDataRole.ToolTipRole and column == DETAILS:
            return event.details
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return RIGHT
        if event.id == self.bad_id:
            if role == Qt.ItemDataRole.BackgroundRole:
                return theme.tint(QGuiApplication.palette().base().color(), BROKEN, 0.3)
            if role == Qt.ItemDataRole.DecorationRole and column == 0:
                return theme.status_icon("error")
            if role == Qt.ItemDataRole.ToolTipRole:
                return "audit verify found the chain broken at this event"
        return None
