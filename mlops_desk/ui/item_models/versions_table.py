"""The versions of one model, with each version's latest run figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication, QPalette

from mlops_desk.core.overview import RunPoint
from mlops_desk.core.registry import Version
from mlops_desk.ui import format as fmt
from mlops_desk.ui.item_models.base import RIGHT, Index, RowsTableModel

COLUMNS = ("#", "Deployed", "Fingerprint", "Model id", "Created", "Note", "Tags", "Accuracy",
           "p95", "Cost / 1k")
NOTE = COLUMNS.index("Note")
FINGERPRINT = COLUMNS.index("Fingerprint")
_NUMERIC = {0, 7, 8, 9}


@dataclass(frozen=True)
class VersionRow:
    version: Version
    latest: RunPoint | None
    environments: tuple[str, ...] = ()  # where deploys put it: production, staging, ...
    dataset: str | None = None  # the reference dataset ``latest`` is on


class VersionsTableModel(RowsTableModel):
    def __init__(self, parent=None):
        super().__init__(COLUMNS, parent)

    def version(self, row: int) -> Version:
        return self._rows[row].version

    def row_of(self, number: int) -> int | None:
        for i, r in enumerate(self._rows):
            if r.version.number == number:
                return i
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        row = self._rows[index.row()]
        v, column = row.version, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 2:
                return v.fingerprint
            if column == NOTE and v.note:
                return v.note
            if column in (7, 8, 9) and row.latest is not None:
                return (f"Latest completed run {row.latest.run_id} on {row.latest.dataset} "
                        f"(the reference dataset), {fmt.timestamp(row.latest.finished_at)}")
            if column in (7, 8, 9):
                return (f"No completed run on the reference dataset {row.dataset}"
                        if row.dataset else "No completed run yet")
            if v.archived:
                return "Archived: kept for history; deploys refuse it until it is unarchived."
            return None
        if role == Qt.ItemDataRole.ForegroundRole and v.archived:
            return QGuiApplication.palette().brush(QPalette.ColorGroup.Disabled,
                                                   QPalette.ColorRole.Text)
        if role == Qt.ItemDataRole.FontRole and v.archived:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return RIGHT
        return None

    def _display(self, row: VersionRow, column: int) -> str:
        v, latest = row.version, row.latest
        if column == 0:
            return str(v.number)
        if column == 1:
            return ", ".join(row.environments)
        if column == 2:
            return v.fingerprint[:10]
        if column == 3:
            return str(v.config.get("model_id", ""))
        if column == 4:
            return fmt.timestamp(v.created_at)
        if column == NOTE:
            return v.note + ("  (archived)" if v.archived else "")
        if column == 6:
            return ", ".join(v.tags)
        if latest is None:
            return fmt.DASH
        if column == 7:
            return fmt.percent(latest.accuracy)
        if column == 8:
            return fmt.millis(latest.latency_p95_ms)
        return fmt.cost(latest.cost_per_1k)
