"""The runs list: one row per run, with live progress for runs going on now."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtGui import QColor

from mlops_desk.core.runner import Progress
from mlops_desk.core.runs import Run
from mlops_desk.ui import format as fmt
from mlops_desk.ui.item_models.run_table import Column, RecordTableModel

STATUS_COLORS = {"failed": QColor(200, 40, 40), "cancelled": QColor(190, 120, 0),
                 "interrupted": QColor(190, 120, 0), "running": QColor(30, 110, 200)}


def _metric(run: Run, key: str):
    return (run.metrics or {}).get(key)


def _status(run: Run) -> str:
    if run.status == "running" and run.n_total:
        return f"running {run.n_done / run.n_total:.0%}"
    return run.status


def _accuracy(run: Run) -> str:
    return fmt.accuracy_with_interval(_metric(run, "accuracy"), _metric(run, "accuracy_ci_low"),
                                      _metric(run, "accuracy_ci_high"))


COLUMNS: tuple[Column[Run], ...] = (
    Column("ID", lambda r: str(r.id), sort=lambda r: r.id, align_right=True),
    Column("Version", lambda r: f"{r.model}:{r.version}"),
    Column("Status", _status, tooltip=lambda r: r.reason,
           foreground=lambda r: STATUS_COLORS.get(r.status)),
    Column("Accuracy (95% CI)", _accuracy, sort=lambda r: _metric(r, "accuracy"),
           align_right=True),
    Column("Rows", lambda r: f"{r.n_done:,}/{r.n_total:,}", sort=lambda r: r.n_done,
           align_right=True),
    Column("p95 latency", lambda r: fmt.millis(_metric(r, "latency_p95_ms")),
           sort=lambda r: _metric(r, "latency_p95_ms"), align_right=True),
    Column("Cost / 1k rows", lambda r: fmt.cost(_metric(r, "cost_per_1k")),
           sort=lambda r: _metric(r, "cost_per_1k"), align_right=True),
    Column("Dataset", lambda r: r.dataset),
    Column("Started", lambda r: fmt.timestamp(r.started_at or r.created_at),
           sort=lambda r: r.started_at or r.created_at),
)


class RunListModel(RecordTableModel[Run]):
    columns = COLUMNS

    def row_of(self, run_id: int) -> int:
        for row, run in enumerate(self._records):
            if run.id == run_id:
                return row
        return -1

    def show_progress(self, run_id: int, progress: Progress) -> None:
        """Reflect a live run's progress without reloading the list."""
        row = self.row_of(run_id)
        if row >= 0:
            self.replace_record(row, replace(self._records[row], status="running",
                                             n_done=progress.done, n_total=progress.total))

    def upsert(self, run: Run) -> None:
        row = self.row_of(run.id)
        if row >= 0:
            self.replace_record(row, run)
        elif all(r.id != run.id for r in self._all):  # not merely filtered out
            self.insert_first(run)
