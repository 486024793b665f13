"""The Deployments page: per model, its environments, their gates, and the history timeline.

Deploy to… opens the gated deploy dialog; Roll back… confirms the from→to it will make;
Gate policy… edits the selected environment's gate. Every read runs in a task; every
change is announced with ``ctx.deployments_changed`` so the other pages follow.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core import registry
from mlops_desk.core.registry import Model
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.dialogs.deploy_dialog import DeployDialog
from mlops_desk.ui.dialogs.deploy_forms import (
    AddEnvironmentDialog,
    GatePolicyDialog,
    RollbackDialog,
)
from mlops_desk.ui.item_models.deploy_data import DeploymentsData, load_deployments
from mlops_desk.ui.item_models.deploy_history import HistoryTableModel
from mlops_desk.ui.item_models.deploy_tables import EnvironmentRow, EnvironmentsTableModel
from mlops_desk.ui.loader import LatestLoad, StaleFlag
from mlops_desk.ui.pages.base import Page, vbox
from mlops_desk.ui.widgets.deploy_timeline import DeployTimeline
from mlops_desk.ui.widgets.item_list import FilterableList
from mlops_desk.ui.widgets.table_columns import readable_table

ALL = None


class DeploymentsPage(Page):
    title = "Deployments"
    icon_name = "deployments"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.data: DeploymentsData | None = None
        self.dialog = None  # the open dialog, kept so it is not garbage-collected
        self._pending_model: str | None = None
        self._models_load = LatestLoad(ctx, self)
        self._data_load = LatestLoad(ctx, self)
        self._stale = StaleFlag(self, self.refresh)
        for signal in (ctx.deployments_changed, ctx.registry_changed, ctx.runs_changed,
                       ctx.datasets_changed):
            signal.connect(self._stale.mark)

        # No "itemList" object name: this list keeps Qt's default item padding.
        self.item_list = FilterableList(self.title, "Filter models (Ctrl+F)", list_name="")
        self.item_list.current_changed.connect(lambda _key: self._load_data())
        self.filter_edit = self.item_list.filter_edit
        self.model_list = self.item_list.list

        self.model_title = QLabel("Select a model")
        theme.section_title(self.model_title)
        self.toolbar = QToolBar()
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.setIconSize(QSize(16, 16))
        self.deploy_action = self.toolbar.addAction(theme.icon("deployments"), "Deploy to…",
                                                    lambda: self.open_deploy_dialog())
        self.rollback_action = self.toolbar.addAction(theme.icon("refresh"), "Roll back…",
                                                      lambda: self.open_rollback_dialog())
        self.gate_action = self.toolbar.addAction(theme.icon("edit"), "Gate policy…",
                                                  lambda: self.open_gate_dialog())
        self.add_env_action = self.toolbar.addAction(theme.icon("add"), "Add environment…",
                                                     self.open_add_environment_dialog)

        self.environments = EnvironmentsTableModel(self)
        self.env_table = QTableView()
        self.env_table.setModel(self.environments)
        self.env_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.env_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.env_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.env_table.verticalHeader().hide()
        # Sized to content: the Gate column no longer takes the width the Version needs.
        readable_table(self.env_table)
        self.env_table.selectionModel().selectionChanged.connect(self._update_actions)
        self.env_table.doubleClicked.connect(
            lambda _index: self.open_deploy_dialog(environment=self.selected_environment))

        history_title = QLabel("History")
        theme.section_title(history_title)
        self.history_filter = QComboBox()
        self.history_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.history_filter.currentIndexChanged.connect(self._fill_history)
        self.history_count = QLabel()
        self.history_count.setObjectName("hint")
        history_bar = QHBoxLayout()
        history_bar.addWidget(history_title)
        history_bar.addWidget(self.history_filter)
        history_bar.addWidget(self.history_count, 1)
        self.history = HistoryTableModel(self)
        self.timeline = DeployTimeline()
        self.timeline.setModel(self.history)
        history = QWidget()
        history_layout = QVBoxLayout(history)
        history_layout.setContentsMargins(0, 6, 0, 0)
        history_layout.addLayout(history_bar)
        history_layout.addWidget(self.timeline, 1)

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.setObjectName("deploymentsSplitter")
        self.right_splitter.addWidget(self.env_table)
        self.right_splitter.addWidget(history)
        self.right_splitter.setSizes([150, 470])
        right = vbox(self.model_title, self.toolbar, (self.right_splitter, 1))
        self.splitter = self.split_list_and_details(self.item_list, right,
                                                    "deploymentsModelsSplitter", sizes=(200, 800))
        self._update_actions()

    # -- Page interface --------------------------------------------------------------------
    def activated(self) -> None:
        self._stale.activated()

    def refresh(self) -> None:
        self._stale.stale = False
        self._models_load.start(registry.list_models, self.ctx.store, include_archived=False,
                                on_done=self._models_loaded)  # an archived model serves nothing

    def select_model(self, name: str) -> None:
        self._pending_model = name
        if self.item_list.select(name):
            self._pending_model = None
            self._load_data()

    # -- loading ---------------------------------------------------------------------------
    @property
    def current_model(self) -> str | None:
        return self.item_list.current_key

    def _models_loaded(self, models: list[Model]) -> None:
        keep = self._pending_model or self.current_model
        self._pending_model = None
        self.item_list.set_items(
            [(m.name, m.name, m.description or m.kind, None) for m in models], keep)
        self._load_data()

    def _load_data(self) -> None:
        name = self.current_model
        if name is None:
            self.data = None
            self.model_title.setText("No models yet: create one on the Models page, "
                                     "or load the sample workspace")
            self.environments.set_rows([])
            self.history.set_rows([])
            self._update_actions()
            return
        self._data_load.start(load_deployments, self.ctx.store, name, on_done=self._loaded)

    def _loaded(self, data: DeploymentsData) -> None:
        if data.model.name != self.current_model:
            return
        keep = self.selected_environment or "production"
        self.data = data
        served = [f"{e.name} v{e.version}" for e in data.environments if e.version is not None]
        self.model_title.setText(f"{data.model.name}  ·  "
                                 + ("  ·  ".join(served) or "nothing deployed yet"))
        rows = []
        for env in data.environments:
            version = data.version(env.version)
            rows.append(EnvironmentRow(env, version.note if version else "",
                                       data.policies.get(env.name),
                                       data.rollback_target(env.name)))
        self.environments.set_rows(rows)
        self.select_environment(keep)
        self._refill_history_filter()
        self._fill_history()

    def _refill_history_filter(self) -> None:
        keep = self.history_filter.currentData()
        self.history_filter.blockSignals(True)
        self.history_filter.clear()
        self.history_filter.addItem("All environments", ALL)
        for env in self.data.environments if self.data else []:
            self.history_filter.addItem(env.name, env.name)
        index = self.history_filter.findData(keep) if keep is not None else 0
        self.history_filter.setCurrentIndex(max(0, index))
        self.history_filter.blockSignals(False)

    def _fill_history(self) -> None:
        moves = self.data.history if self.data else []
        self.history.set_moves(moves, self.history_filter.currentData())
        shown = self.history.rowCount()
        self.history_count.setText(
            f"{shown} move{'s' * (shown != 1)}" if shown else
            "No deploys yet: use Deploy to… (or Deploy to… on a version in Models).")

    # -- selection -------------------------------------------------------------------------
    @property
    def selected_environment(self) -> str | None:
        rows = self.env_table.selectionModel().selectedRows()
        return self.environments.environment(rows[0].row()).name if rows else None

    def select_environment(self, name: str | None) -> None:
        row = self.environments.row_of(name) if name else None
        if row is None and self.environments.rowCount():
            row = 0
        selection = self.env_table.selectionModel()
        selection.clearSelection()
        if row is not None:
            selection.select(self.environments.index(row, 0),
                             QItemSelectionModel.SelectionFlag.Select
                             | QItemSelectionModel.SelectionFlag.Rows)
        self._update_actions()

    def _update_actions(self, *_args) -> None:
        env = self.selected_environment
        has_model = self.data is not None
        self.deploy_action.setEnabled(has_model and bool(self.data.versions))
        self.add_env_action.setEnabled(has_model)
        self.gate_action.setEnabled(env is not None)
        target = self.data.rollback_target(env) if (has_model and env) else None
        self.rollback_action.setEnabled(target is not None)
        self.rollback_action.setToolTip(
            f"Return {env} to v{target}" if target is not None else
            "Select an environment that had an earlier version")

    # -- dialogs ---------------------------------------------------------------------------
    def _replace_dialog(self, dialog) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = dialog
        dialog.open()

    def open_deploy_dialog(self, version: int | None = None,
                           environment: str | None = None) -> DeployDialog | None:
        if self.data is None:
            return None
        dialog = DeployDialog(self.ctx, self.data.model.name, version=version,
                              environment=environment or self.selected_environment,
                              parent=self)
        self._replace_dialog(dialog)
        return dialog

    def open_rollback_dialog(self, environment: str | None = None) -> RollbackDialog | None:
        environment = environment or self.selected_environment
        if self.data is None or environment is None:
            return None
        env = self.data.environment(environment)
        target = self.data.rollback_target(environment)
        if env is None or env.version is None or target is None:
            self.ctx.status_message.emit(f"{environment} has no earlier version to return to.")
            return None
        dialog = RollbackDialog(self.ctx, self.data.model.name, environment, env.version,
                                target, self)
        self._replace_dialog(dialog)
        return dialog

    def open_gate_dialog(self, environment: str | None = None) -> GatePolicyDialog | None:
        environment = environment or self.selected_environment
        if self.data is None or environment is None:
            return None
        dialog = GatePolicyDialog(self.ctx, self.data.model.name, environment,
                                  self.data.datasets, self.data.policies.get(environment), self)
        self._replace_dialog(dialog)
        return dialog

    def open_add_environment_dialog(self) -> AddEnvironmentDialog | None:
        if self.data is None:
            return None
        dialog = AddEnvironmentDialog(self.ctx, self.data.model.name, self)
        self._replace_dialog(dialog)
        return dialog
