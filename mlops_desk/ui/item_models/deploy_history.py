"""The deployment history as a table model, newest move first.

The timeline view draws each row as a card (``widgets/deploy_timeline.py``) from
``MOVE_ROLE``; the plain columns keep the model usable in any table and testable.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from mlops_desk.core.deploy import Move
from mlops_desk.ui import format as fmt
from mlops_desk.ui.item_models.base import Index, RowsTableModel

MOVE_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Time", "User", "Environment", "Action", "Change", "Reason", "Gate run", "Forced")


def change_text(move: Move) -> str:
    before = f"v{move.from_version}" if move.from_version is not None else "(empty)"
    return f"{before} → v{move.to_version}"


def summary_text(move: Move) -> str:
    """One line for a move: ``production: v1 → v2 (rollback, forced)``."""
    extras = [word for word, on in (("rollback", move.action == "rollback"),
                                    ("forced", move.forced)) if on]
    tail = f" ({', '.join(extras)})" if extras else ""
    return f"{move.environment}: {change_text(move)}{tail}"


class HistoryTableModel(RowsTableModel):
    def __init__(self, parent=None):
        super().__init__(COLUMNS, parent)

    def set_moves(self, moves: list[Move], environment: str | None = None) -> None:
        """Show ``moves`` (oldest first, as core returns them) newest first."""
        shown = [m for m in moves if environment is None or m.environment == environment]
        self.set_rows(list(reversed(shown)))

    def move(self, row: int) -> Move:
        return self._rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        move: Move = self._rows[index.row()]
        column = index.column()
        if role == MOVE_ROLE:
            return move
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(move, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if move.forced:
                return f"Forced past a failing gate: {move.reason}"
            return move.reason or None
        return None

    @staticmethod
    def _display(move: Move, column: int) -> str:
        if column == 0:
            return fmt.timestamp(move.ts)
        if column == 1:
            return move.user
        if column == 2:
            return move.environment
        if column == 3:
            return move.action
        if column == 4:
            return change_text(move)
        if column == 5:
            return move.reason
        if column == 6:
            return str(move.gate_run_id) if move.gate_run_id is not None else fmt.DASH
        return "forced" if move.forced else ""
