"""The Overview page: every model at a glance, with its trend and a warning when it got worse."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.overview import ModelSummary, load_overview
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.item_models.overview_table import SORT_ROLE, TREND, OverviewTableModel
from mlops_desk.ui.loader import LatestLoad, StaleFlag
from mlops_desk.ui.pages.base import Page
from mlops_desk.ui.widgets.banner import Banner
from mlops_desk.ui.widgets.sparkline import SparklineDelegate
from mlops_desk.ui.widgets.table_columns import readable_table


class OverviewPage(Page):
    title = "Overview"
    icon_name = "overview"

    open_model_requested = Signal(str)  # a model name: show it on the Models page

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self._load = LatestLoad(ctx, self)
        self._stale = StaleFlag(self, self.refresh)
        self.loaded = False  # True once the first load arrived (tests and screenshots wait)

        heading = QLabel("Overview")
        theme.page_title(heading)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter models (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(260)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addStretch(1)
        top.addWidget(self.filter_edit)

        self.empty_banner = Banner(self, closable=False)
        self.sample_button = None  # set_sample_action() adds it

        self.model = OverviewTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(0)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setItemDelegateForColumn(TREND, SparklineDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(34)
        readable_table(self.table, widths={TREND: 140})
        self.table.doubleClicked.connect(self._open_model)

        self.status = QLabel("Loading…")
        self.status.setObjectName("hint")

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.empty_banner)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

        for signal in (ctx.registry_changed, ctx.runs_changed, ctx.deployments_changed):
            signal.connect(self._stale.mark)

    # -- Page interface ------------------------------------------------------------
    def activated(self) -> None:
        self._stale.activated()

    def refresh(self) -> None:
        self._stale.stale = False
        self._load.start(load_overview, self.ctx.store, on_done=self._loaded)

    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def set_sample_action(self, action: QAction) -> None:
        """The window's "Load sample workspace" action, offered while the registry is empty."""
        self.sample_button = self.empty_banner.add_qaction(action)

    # -- data ----------------------------------------------------------------------
    def _loaded(self, summaries: list[ModelSummary]) -> None:
        self.model.set_summaries(summaries)
        self.loaded = True
        if summaries:
            self.empty_banner.hide()
            worse = sum(s.regressed for s in summaries)
            text = f"{len(summaries)} model(s)"
            if worse:
                text += f"; {worse} got worse in their latest run (hover the ⚠ for why)"
            self.status.setText(text + ". Double-click a model to open it.")
        else:
            self.empty_banner.show_message(
                "The registry is empty. Load the sample workspace to try every page with "
                "real data (offline, no API key), or create a model on the Models page.",
                "info")
            self.status.setText("No models yet.")

    def _open_model(self, index) -> None:
        row = self.proxy.mapToSource(index).row()
        self.open_model_requested.emit(self.model.summary(row).name)
