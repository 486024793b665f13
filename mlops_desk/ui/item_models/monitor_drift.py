"""Output labels of the reference run against production traffic, side by side."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from mlops_desk.ui.item_models.base import RIGHT, Index, RowsTableModel

COLUMNS = ("Label", "Reference", "Share", "Production", "Share", "Change")


class DriftLabelsModel(RowsTableModel):
    """Rows of (label, reference count, production count)."""

    def __init__(self, parent=None):
        super().__init__(COLUMNS, parent)
        self._totals = (0, 0)

    def set_counts(self, counts: dict[str, list[int]]) -> None:
        rows = [(label, ref, prod) for label, (ref, prod) in counts.items()]
        self._totals = (sum(r[1] for r in rows), sum(r[2] for r in rows))
        self.set_rows(sorted(rows, key=lambda r: (-r[1], r[0])))

    def share(self, count: int, side: int) -> float | None:
        total = self._totals[side]
        return count / total if total else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        label, ref, prod = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            ref_share, prod_share = self.share(ref, 0), self.share(prod, 1)
            if column == 0:
                return label
            if column == 1:
                return f"{ref:,}"
            if column == 2:
                return _pct(ref_share)
            if column == 3:
                return f"{prod:,}"
            if column == 4:
                return _pct(prod_share)
            if ref_share is None or prod_share is None:
                return ""
            return f"{(prod_share - ref_share) * 100:+.1f} pt"
        if role == Qt.ItemDataRole.TextAlignmentRole and column > 0:
            return RIGHT
        return None


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"
