"""One row per model for the Overview page."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from mlops_desk.core.overview import REGRESSION_RULE, ModelSummary
from mlops_desk.core.reference import SOURCE_TEXT
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme
from mlops_desk.ui.item_models.base import RIGHT, Index, RowsTableModel
from mlops_desk.ui.widgets.sparkline import SPARK_ROLE, WARN_ROLE

SORT_ROLE = Qt.ItemDataRole.UserRole + 10

COLUMNS = ("Model", "Production", "Versions", "Reference dataset", "Latest run",
           "Accuracy (95% CI)", "p95 latency", "Cost / 1k rows", "Accuracy trend")
(MODEL, PRODUCTION, VERSIONS, REFERENCE, LATEST, ACCURACY, LATENCY, COST,
 TREND) = range(len(COLUMNS))
_RIGHT = (PRODUCTION, VERSIONS, LATENCY, COST)


class OverviewTableModel(RowsTableModel):
    def __init__(self, parent=None):
        super().__init__(COLUMNS, parent)

    def set_summaries(self, summaries: list[ModelSummary]) -> None:
        self.set_rows(summaries)

    def summary(self, row: int) -> ModelSummary:
        return self._rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self.valid(index):
            return None
        s = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(s, column)
        if role == SORT_ROLE:
            return self._sort_key(s, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(s, column)
        if role == Qt.ItemDataRole.DecorationRole and column == ACCURACY and s.regressed:
            return theme.tinted_icon("warning", theme.warning_color())
        if role == SPARK_ROLE and column == TREND:
            return [(p.accuracy, p.ci_low, p.ci_high) for p in s.history]
        if role == WARN_ROLE and column == TREND:
            return s.regressed
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _RIGHT:
            return RIGHT
        return None

    def _display(self, s: ModelSummary, column: int) -> str | None:
        latest = s.latest
        if column == MODEL:
            return s.name
        if column == PRODUCTION:
            return fmt.DASH if s.production_version is None else f"v{s.production_version}"
        if column == VERSIONS:
            return str(s.n_versions)
        if column == REFERENCE:
            return s.reference.dataset if s.reference else fmt.DASH
        if column == LATEST:
            if latest is None:
                return "no completed runs" if s.reference is None else "none on this dataset"
            return f"v{latest.version} · {fmt.date(latest.finished_at)}"
        if latest is None:
            return fmt.DASH if column != TREND else None
        if column == ACCURACY:
            return fmt.accuracy_with_interval(latest.accuracy, latest.ci_low, latest.ci_high)
        if column == LATENCY:
            return fmt.millis(latest.latency_p95_ms)
        if column == COST:
            return fmt.cost(latest.cost_per_1k)
        return None

    def _sort_key(self, s: ModelSummary, column: int) -> Any:
        latest = s.latest
        keys: dict[int, Any] = {
            MODEL: s.name.casefold(),
            PRODUCTION: s.production_version or 0,
            VERSIONS: s.n_versions,
            REFERENCE: s.reference.dataset.casefold() if s.reference else "",
            LATEST: latest.finished_at if latest else "",
            ACCURACY: latest.accuracy if latest and latest.accuracy is not None else -1.0,
            LATENCY: latest.latency_p95_ms if latest and latest.latency_p95_ms is not None
            else -1.0,
            COST: latest.cost_per_1k if latest and latest.cost_per_1k is not None else -1.0,
            TREND: int(s.regressed),
        }
        return keys.get(column)

    def _tooltip(self, s: ModelSummary, column: int) -> str | None:
        latest, previous = s.latest, s.previous
        if column == REFERENCE:
            if s.reference is None:
                return "No reference dataset yet: no gate dataset, no completed run."
            return (f"Every figure in this row is on {s.reference.dataset} "
                    f"({SOURCE_TEXT[s.reference.source]}), so runs are compared like with "
                    "like. Change it on the Models page.")
        if column == ACCURACY and latest is not None:
            text = (f"95% Wilson interval over {latest.n_scored or 0} scored rows "
                    f"(run {latest.run_id} on {latest.dataset}).")
            if s.regressed and previous is not None:
                text = (f"Worse than the run before: {fmt.percent(latest.accuracy)} (v"
                        f"{latest.version}) is below {fmt.percent(previous.ci_low)}, the low end "
                        f"of run {previous.run_id}'s interval (v{previous.version}, "
                        f"{fmt.percent(previous.accuracy)}).\n{REGRESSION_RULE}")
            return text
        if column == TREND:
            if not s.history:
                return None
            lines = [f"{fmt.timestamp(p.finished_at)}  v{p.version}  {fmt.percent(p.accuracy)}"
                     for p in s.history[-8:]]
            head = f"Accuracy on {s.history[-1].dataset}, last {len(s.history)} run(s):"
            tail = f"\n\n{REGRESSION_RULE}" if s.regressed else ""
            return head + "\n" + "\n".join(lines) + tail
        if column == PRODUCTION:
            return "The version in the production environment (set by deploy / rollback)."
        if column == LATEST and latest is not None:
            return (f"Run {latest.run_id}: version {latest.version} on {latest.dataset}, "
                    f"finished {fmt.timestamp(latest.finished_at)}")
        return None
