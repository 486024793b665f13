"""Gateway totals per version and environment over the monitored window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from mlops_desk.ui import format as fmt
from mlops_desk.ui.item_models.base import RIGHT, Index, RowsTableModel

COLUMNS = ("Version", "Environment", "Requests", "Errors", "p95", "Cost")


class VersionTotalsModel(RowsTableModel):
    """Rows are ``monitoring.summary(...)["by_version"]`` dicts."""

    def __init__(self, parent=None):
        super().__init__(COLUMNS, parent)
        self.model_name = ""

    def set_totals(self, model_name: str, rows: list[dict[str, Any]]) -> None:
        self.model_name = model_name
        self.set_rows(rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return f"{self.model_name}:{row['version']}"
            if column == 1:
                return row["environment"] or "pinned"
            if column == 2:
                return f"{row['requests']:,}"
            if column == 3:
                rate = row["error_rate"]
                return f"{row['errors']:,}" + (f" ({rate:.1%})" if row["errors"] else "")
            if column == 4:
                return fmt.millis(row["latency_p95_ms"])
            return fmt.cost(row["cost"])
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"p50 {fmt.millis(row['latency_p50_ms'])}, p95 "
                    f"{fmt.millis(row['latency_p95_ms'])}; pinned: requested as NAME:N")
        if role == Qt.ItemDataRole.TextAlignmentRole and column >= 2:
            return RIGHT
        return None
