"""The Charts page: accuracy, p95 latency, error rate and cost over time, per model.

Filters (model, version, dataset) and the series load in tasks through the Qt-free
``core.timeseries``; the pyqtgraph chart is built on first show, so start-up does not
import pyqtgraph. A finished run (``runs_changed``) reloads the page when it is visible.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.timeseries import ChartData, ChartFilters, chart_filters, load_chart_data
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.loader import LatestLoad, StaleFlag
from mlops_desk.ui.pages.base import Page

ALL = None  # the combo item data meaning "no filter"
# The dataset filter's default: each model on its own reference dataset (like with like).
# Not a possible dataset name: names are letters, digits, '.', '_' and '-'.
REFERENCE = "<reference>"


class ChartsPage(Page):
    title = "Charts"
    icon_name = "charts"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.chart = None  # TimeSeriesChart, built on first activation
        self.data: ChartData | None = None
        self.filters: ChartFilters | None = None
        self._filters_load = LatestLoad(ctx, self)
        self._data_load = LatestLoad(ctx, self)
        self._filling = False
        self.stale = StaleFlag(self, self.reload)
        ctx.runs_changed.connect(self.stale.mark)
        ctx.registry_changed.connect(self.stale.mark)
        ctx.deployments_changed.connect(self.stale.mark)

        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(16)
        self.version_box = QComboBox()
        self.version_box.setMinimumContentsLength(10)
        self.dataset_box = QComboBox()
        self.dataset_box.setMinimumContentsLength(14)
        for box in (self.model_box, self.version_box, self.dataset_box):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            box.currentIndexChanged.connect(self._filters_changed)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the chart as PNG or SVG")
        self.export_button.clicked.connect(self.export_dialog)
        self.status = QLabel()
        bar = QHBoxLayout()
        heading = QLabel(self.title)
        theme.page_title(heading)
        bar.addWidget(heading)
        bar.addSpacing(12)
        for label, box in (("Model", self.model_box), ("Version", self.version_box),
                           ("Dataset", self.dataset_box)):
            bar.addWidget(QLabel(label))
            bar.addWidget(box)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.export_button)

        self.empty = QLabel("No completed runs yet. Start one on the Runs page, or load the "
                            "sample workspace, and its metrics appear here over time.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)

    # -- Page interface --------------------------------------------------------------------
    def activated(self) -> None:
        self._ensure_chart()
        self.stale.activated()

    def reload(self) -> None:
        self._ensure_chart()
        self._filters_load.start(chart_filters, self.ctx.store, on_done=self._filters_loaded)

    def _ensure_chart(self) -> None:
        if self.chart is None:
            from mlops_desk.ui.widgets.chart_timeseries import TimeSeriesChart

            self.chart = TimeSeriesChart()
            self.stack.addWidget(self.chart)

    # -- filters ---------------------------------------------------------------------------
    def _filters_loaded(self, filters: ChartFilters) -> None:
        self.filters = filters
        model, version, dataset = self.current_filters()
        if not self.dataset_box.count():  # the first load: the default filter
            dataset = REFERENCE
        self._filling = True
        try:
            _refill(self.model_box, "All models", [(m, m) for m in filters.models], model)
            _refill(self.dataset_box, "Reference datasets",
                    [("All datasets", ALL), *((d, d) for d in filters.datasets)],
                    dataset, first=REFERENCE)
            self.dataset_box.setItemData(0, "Each model on its reference dataset (its gate "
                                         "dataset, else the one most of its runs used; "
                                         "change it on the Models page)",
                                         Qt.ItemDataRole.ToolTipRole)
            self._fill_versions(version)
        finally:
            self._filling = False
        self.load_data()

    def _fill_versions(self, keep: int | None) -> None:
        model = self.model_box.currentData()
        numbers = self.filters.versions.get(model, []) if self.filters and model else []
        _refill(self.version_box, "All versions", [(f"v{n}", n) for n in numbers], keep)
        self.version_box.setEnabled(bool(model))

    def _filters_changed(self) -> None:
        if self._filling:
            return
        if self.sender() is self.model_box:
            self._filling = True
            try:
                self._fill_versions(None)
            finally:
                self._filling = False
        self.load_data()

    def current_filters(self) -> tuple[str | None, int | None, str | None]:
        """(model, version, dataset); dataset is REFERENCE, None for all, or a name."""
        return (self.model_box.currentData(), self.version_box.currentData(),
                self.dataset_box.currentData())

    def set_filters(self, model: str | None = None, version: int | None = None,
                    dataset: str | None = REFERENCE) -> None:
        """Select filters programmatically (e.g. "chart this model" from another page)."""
        self._filling = True
        try:
            _select(self.model_box, model)
            self._fill_versions(version)
            _select(self.dataset_box, dataset)
        finally:
            self._filling = False
        self.load_data()

    # -- data ------------------------------------------------------------------------------
    def load_data(self) -> None:
        model, version, dataset = self.current_filters()
        self.status.setText("Loading…")
        self._data_load.start(load_chart_data, self.ctx.store, model=model, version=version,
                              dataset=None if dataset == REFERENCE else dataset,
                              reference_only=dataset == REFERENCE, on_done=self._data_loaded)

    def _data_loaded(self, data: ChartData) -> None:
        self._ensure_chart()
        self.data = data
        self.chart.set_data(data)
        self.stack.setCurrentWidget(self.chart if data.series else self.empty)
        models = len({s.model for s in data.series})
        lines = len(data.series)
        text = (f"{data.n_runs:,} completed runs · {models} model{'s' * (models != 1)}"
                + (f" · {lines} lines" if lines != models else ""))
        if data.truncated:
            text += f" (the {models} most recently run of {data.models_with_runs}: pick one)"
        self.status.setText(text)
        self.export_button.setEnabled(bool(data.series))

    # -- export ----------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if self.chart is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export chart", "chart.png",
                                              "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            self.export(path)

    def export(self, path: str | Path) -> Path:
        written = self.chart.export(path)
        self.ctx.status_message.emit(f"Chart saved to {written}")
        return written


def _refill(box: QComboBox, all_text: str, items: list[tuple[str, object]], keep,
            first: object = ALL) -> None:
    box.clear()
    box.addItem(all_text, first)
    for text, data in items:
        box.addItem(text, data)
    _select(box, keep)


def _select(box: QComboBox, data) -> None:
    index = box.findData(data) if data is not None else next(
        (i for i in range(box.count()) if box.itemData(i) is None), 0)
    box.setCurrentIndex(max(0, index))
