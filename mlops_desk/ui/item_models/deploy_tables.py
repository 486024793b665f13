"""Table models of the Deployments page and dialog: environments, and a gate's checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from mlops_desk.core.deploy import Environment
from mlops_desk.core.gates import Check, GateReport, Policy, SkippedRun
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme
from mlops_desk.ui.item_models.base import RIGHT, Index, RowsTableModel
from mlops_desk.ui.item_models.deploy_data import describe_policy


@dataclass(frozen=True)
class EnvironmentRow:
    environment: Environment
    note: str  # the deployed version's note
    policy: Policy | None
    rollback_to: int | None


ENV_COLUMNS = ("Environment", "Version", "Since", "Gate", "Roll back to")


class EnvironmentsTableModel(RowsTableModel):
    def __init__(self, parent=None):
        super().__init__(ENV_COLUMNS, parent)

    def environment(self, row: int) -> Environment:
        return self._rows[row].environment

    def row_of(self, name: str) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.environment.name == name), None)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        row, column = self._rows[index.row()], index.column()
        env = row.environment
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return env.name
            if column == 1:
                if env.version is None:
                    return "not deployed"
                return f"v{env.version}" + (f" — {row.note}" if row.note else "")
            if column == 2:
                return fmt.timestamp(env.updated_at) if env.version is not None else fmt.DASH
            if column == 3:
                return describe_policy(row.policy)
            return f"v{row.rollback_to}" if row.rollback_to is not None else fmt.DASH
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 3:
                return (f"Deploys here must pass: {describe_policy(row.policy)}"
                        if row.policy else "No gate: any version can be deployed here")
            if column == 4:
                return ("Roll back returns to the version served before the current one"
                        if row.rollback_to is not None else "Nothing earlier to return to")
            return None
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return theme.icon("deployments")
        if role == Qt.ItemDataRole.FontRole and column == 0:
            font = QFont()
            font.setBold(True)
            return font
        return None


CHECK_COLUMNS = ("Result", "Check", "Value", "Threshold", "Run", "Explanation")
EXPLANATION = CHECK_COLUMNS.index("Explanation")


class GateChecksModel(RowsTableModel):
    """One row per check: which metric, its value, the threshold and the run it came from;
    then one row per run the gate skipped (newer runs that are not complete evidence)."""

    def __init__(self, parent=None):
        super().__init__(CHECK_COLUMNS, parent)

    def set_report(self, report: GateReport) -> None:
        self.set_rows([*report.checks, *report.skipped])

    def check(self, row: int) -> Check | SkippedRun:
        return self._rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        row: Check | SkippedRun = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(row, SkippedRun):
                return self._display_skipped(row, column)
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.message
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            if isinstance(row, SkippedRun):
                return theme.status_icon("info")
            return theme.status_icon("ok" if row.passed else "error")
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (2, 3, 4):
            return RIGHT
        return None

    @staticmethod
    def _display(check: Check, column: int) -> str:
        if column == 0:
            return "pass" if check.passed else "FAIL"
        if column == 1:
            return {"run": "gate run", "non_inferior": "not worse than deployed"}.get(
                check.name, check.name)
        if column == 2:
            return fmt.DASH if check.value is None else f"{check.value:.4g}"
        if column == 3:
            return fmt.DASH if check.threshold is None else f"{check.threshold:g}"
        if column == 4:
            return fmt.DASH if check.run_id is None else str(check.run_id)
        return check.message

    @staticmethod
    def _display_skipped(skipped: SkippedRun, column: int) -> str:
        if column == 0:
            return "skipped"
        if column == 1:
            return f"run of {skipped.version}"
        if column == 4:
            return str(skipped.run_id)
        if column == EXPLANATION:
            return f"not counted: {skipped.reason}"
        return fmt.DASH
