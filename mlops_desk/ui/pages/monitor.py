"""The Monitor page: gateway traffic over time per model and version, and drift.

Data loads in a task (``models/monitor_data.load_monitor``) and refreshes on a timer that
runs only while the page is visible. The gateway itself starts and stops here and from the
Gateway menu (``ui/gateway_control``). pyqtgraph is imported when the page is first built,
which happens on first show, so start-up does not pay for it.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core import registry
from mlops_desk.core.registry import Model
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.gateway_control import RUNNING, gateway_for
from mlops_desk.ui.item_models.monitor_data import WINDOWS, MonitorData, load_monitor
from mlops_desk.ui.item_models.monitor_versions import VersionTotalsModel
from mlops_desk.ui.loader import LatestLoad, StaleFlag
from mlops_desk.ui.pages.base import Page
from mlops_desk.ui.widgets.banner import Banner
from mlops_desk.ui.widgets.monitor_drift import DriftPanel, fit_rows
from mlops_desk.ui.widgets.monitor_gateway import GatewayStrip
from mlops_desk.ui.widgets.table_columns import readable_table

REFRESH_MS = 5_000


def summary_text(data: MonitorData) -> str:
    s = data.summary
    label = next((text for text, seconds in WINDOWS if seconds == data.window_s),
                 f"{data.window_s:g} s")
    rate = f" ({s['error_rate']:.1%})" if s["error_rate"] is not None else ""
    return (f"Last {label}: <b>{s['requests']:,}</b> request{'s' * (s['requests'] != 1)} · "
            f"{s['errors']:,} error{'s' * (s['errors'] != 1)}{rate} · "
            f"p50 {fmt.millis(s['latency_p50_ms'])} · p95 {fmt.millis(s['latency_p95_ms'])} · "
            f"cost {fmt.cost(s['cost'])}")


class MonitorPage(Page):
    title = "Monitor"
    icon_name = "monitor"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.gateway = gateway_for(ctx)
        self.data: MonitorData | None = None
        self._models_load = LatestLoad(ctx, self)
        self._data_load = LatestLoad(ctx, self)
        self._stale = StaleFlag(self, self.refresh)
        ctx.registry_changed.connect(self._stale.mark)
        ctx.deployments_changed.connect(self._stale.mark)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)

        heading = QLabel(self.title)
        theme.page_title(heading)
        self.model_box = QComboBox()
        self.model_box.setMinimumContentsLength(16)
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.window_box = QComboBox()
        for text, seconds in WINDOWS:
            self.window_box.addItem(text, seconds)
        self.window_box.setCurrentIndex(1)
        for box in (self.model_box, self.window_box):
            box.currentIndexChanged.connect(self.load_data)
        self.updated = QLabel()
        self.updated.setObjectName("hint")
        self.refresh_button = QPushButton(theme.icon("refresh"), "Refresh")
        self.refresh_button.clicked.connect(self.load_data)
        bar = QHBoxLayout()
        bar.addWidget(heading)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Model"))
        bar.addWidget(self.model_box)
        bar.addWidget(QLabel("Window"))
        bar.addWidget(self.window_box)
        bar.addWidget(self.updated, 1, Qt.AlignmentFlag.AlignRight)
        bar.addWidget(self.refresh_button)

        self.gateway_strip = GatewayStrip(self.gateway)
        self.drift_banner = Banner(closable=False)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)

        from mlops_desk.ui.widgets.monitor_chart import TrafficChart  # pyqtgraph: on first show

        self.chart = TrafficChart()
        self.empty = QLabel("No models yet. Deploy a version, start the gateway and point an "
                            "OpenAI client at it: its traffic shows here.")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.chart)
        self.totals = VersionTotalsModel(self)
        self.totals_view = QTableView()
        self.totals_view.setModel(self.totals)
        self.totals_view.verticalHeader().hide()
        self.totals_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.totals_view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        # Sized to content with whole headers ("Environment", not "nvironme"); a narrow side
        # panel scrolls sideways rather than cutting a column.
        readable_table(self.totals_view, minimum=40)
        self.totals_view.verticalHeader().setDefaultSectionSize(
            self.totals_view.fontMetrics().height() + 8)
        totals_title = QLabel("By version")
        theme.section_title(totals_title)
        self.drift = DriftPanel()
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(totals_title)
        side_layout.addWidget(self.totals_view)
        side_layout.addSpacing(8)
        side_layout.addWidget(self.drift, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("monitorSplitter")
        self.splitter.addWidget(self.stack)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setSizes([680, 400])
        self._side_fitted_for: str | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addLayout(bar)
        layout.addWidget(self.gateway_strip)
        layout.addWidget(self.drift_banner)
        layout.addWidget(self.summary)
        layout.addWidget(self.splitter, 1)
        self.gateway.state_changed.connect(self._gateway_state)

    # -- Page interface --------------------------------------------------------------------
    def activated(self) -> None:
        self._stale.activated()

    def refresh(self) -> None:
        self._stale.stale = False
        self._models_load.start(registry.list_models, self.ctx.store, on_done=self._models_loaded)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.timer.start()  # traffic changes by itself: poll, but only while shown

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()
        super().hideEvent(event)

    def _tick(self) -> None:
        if self._data_load.running or self._models_load.running:
            return
        if self.model is None:  # a model may have been created elsewhere (e.g. the CLI)
            self.refresh()
        else:
            self.load_data()

    def _gateway_state(self, state: str) -> None:
        if state == RUNNING and self.isVisible():
            self.load_data()

    # -- loading ---------------------------------------------------------------------------
    @property
    def model(self) -> str | None:
        return self.model_box.currentData()

    @property
    def window_s(self) -> float:
        return float(self.window_box.currentData())

    def select(self, model: str | None = None, window_s: float | None = None) -> None:
        for box, data in ((self.model_box, model), (self.window_box, window_s)):
            index = box.findData(data) if data is not None else -1
            if index >= 0:
                box.setCurrentIndex(index)

    def _models_loaded(self, models: list[Model]) -> None:
        keep = self.model
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for model in models:
            self.model_box.addItem(model.name, model.name)
        index = self.model_box.findData(keep) if keep is not None else -1
        self.model_box.setCurrentIndex(max(0, index) if models else -1)
        self.model_box.blockSignals(False)
        self.load_data()

    def load_data(self) -> None:
        if self.model is None:
            self.data = None
            self.stack.setCurrentWidget(self.empty)
            self.summary.clear()
            self.totals.set_totals("", [])
            self.drift_banner.hide()
            return
        self._data_load.start(load_monitor, self.ctx.store, self.model, window_s=self.window_s,
                              on_done=self._loaded)

    def _loaded(self, data: MonitorData) -> None:
        if data.model != self.model:
            return
        self.data = data
        self.chart.set_data(data)
        self.stack.setCurrentWidget(self.chart)
        self.summary.setText(summary_text(data))
        self.totals.set_totals(data.model, data.summary["by_version"])
        fit_rows(self.totals_view, self.totals.rowCount())
        self.drift.set_report(data.drift, data.thresholds)
        if data.drift.drifting:
            self.drift_banner.show_message(
                f"Drift detected in {data.model}@{data.drift.environment}: "
                + "; ".join(data.drift.reasons), "warning")
        else:
            self.drift_banner.hide()
        self._widen_side()
        self.updated.setText(f"Updated {datetime.now():%H:%M:%S}")

    def _widen_side(self) -> None:
        """Give the side panel the width its tables need (once per model), taken from the
        chart, so no column hides behind a scroll bar; the chart keeps at least half."""
        if self._side_fitted_for == self.model:
            return
        self._side_fitted_for = self.model
        needed = max(view.horizontalHeader().length() + 2 * view.frameWidth()
                     + view.verticalScrollBar().sizeHint().width()
                     for view in (self.totals_view, self.drift.table))
        chart, side = self.splitter.sizes()
        total = chart + side
        if side < needed and total > 0:
            side = min(needed, total // 2)
            self.splitter.setSizes([total - side, side])
            # Once laid out at the new width, the tables may no longer need a scroll bar.
            QTimer.singleShot(0, self, self._refit_rows)

    def _refit_rows(self) -> None:
        fit_rows(self.totals_view, self.totals.rowCount())
        fit_rows(self.drift.table, self.drift.counts.rowCount(), most=10)
