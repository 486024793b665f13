"""Two runs side by side: metric deltas, the rows that flipped, and McNemar's test."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.metric_catalogue import SIGNIFICANCE as ALPHA
from mlops_desk.core.metric_catalogue import format_value
from mlops_desk.ui import theme
from mlops_desk.ui.item_models.run_compare import (
    CompareMetricsModel,
    FlippedRowsModel,
    metric_deltas,
)
from mlops_desk.ui.item_models.run_queries import Comparison
from mlops_desk.ui.report_export import ReportExporter, beside, compare_subject, export_button
from mlops_desk.ui.widgets.table_columns import readable_table


def verdict_text(comparison: Comparison) -> str:
    """One paragraph a team lead can read: is B better than A, and is it more than luck?"""
    r = comparison.result
    delta = r["deltas"].get("accuracy")
    p = r["mcnemar_p"]
    change = format_value("share", delta, signed=True) if delta is not None else "no"
    significant = p < ALPHA
    judgement = (f"significant at the {ALPHA:.0%} level" if significant
                 else f"not significant at the {ALPHA:.0%} level (could be chance)")
    return (f"<b>B − A accuracy: {change}</b> over {r['n_paired']:,} paired rows · "
            f"both right {r['both_right']:,} · both wrong {r['both_wrong']:,} · "
            f"<span>right → wrong {r['b']:,}</span> · wrong → right {r['c']:,} · "
            f"exact McNemar p = {p:.3g}, {judgement}")


def _table(model, *, sortable: bool, stretch: int | str | None = None) -> QTableView:
    view = QTableView()
    view.setModel(model)
    if sortable:  # else the model's own order: the metrics read best in their fixed order
        view.setSortingEnabled(True)
        view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setDefaultSectionSize(22)
    readable_table(view, stretch=stretch)
    return view


class RunCompareView(QWidget):
    def __init__(self, ctx=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.title = QLabel()
        theme.section_title(self.title)
        self.exporter = self.export_button = None
        if ctx is not None:  # exporting needs the app's store and task pool
            self.exporter = ReportExporter(ctx, self, self.report_subject)
            self.export_button = export_button(self.exporter)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.metrics_model = CompareMetricsModel(self)
        self.flipped_model = FlippedRowsModel(self)
        self.metrics_table = _table(self.metrics_model, sortable=False)
        self.flipped_table = _table(self.flipped_model, sortable=True, stretch="widest")
        self.flipped_title = QLabel()
        theme.section_title(self.flipped_title)

        lower = QWidget()
        box = QVBoxLayout(lower)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.flipped_title)
        box.addWidget(self.flipped_table)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.metrics_table)
        splitter.addWidget(lower)
        splitter.setSizes([300, 300])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        if self.export_button is not None:
            layout.addLayout(beside(self.title, self.export_button))
        else:
            layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)

    def show_comparison(self, comparison: Comparison) -> None:
        self.comparison = comparison
        a, b = comparison.a, comparison.b
        self.title.setText(f"A = run {a.id} ({a.model}:{a.version})  vs  "
                           f"B = run {b.id} ({b.model}:{b.version})")
        self.summary.setText(f"Dataset {a.dataset}. " + verdict_text(comparison))
        self.metrics_model.set_records(metric_deltas(comparison))
        self.flipped_model.set_records(comparison.flipped)
        n = len(comparison.result["flipped_to_wrong"]) + len(comparison.result["flipped_to_right"])
        shown = len(comparison.flipped)
        more = f" (first {shown:,} shown)" if shown < n else ""
        self.flipped_title.setText(f"Rows that changed verdict: {n:,}{more}")

    def report_subject(self):
        if self.comparison is None:
            return None
        return compare_subject(self.comparison.a, self.comparison.b)
