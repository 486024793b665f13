"""The Models page: models, their versions, details, diffs, and new versions."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from PySide6.QtCore import QItemSelectionModel, QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QToolBar,
    QWidget,
)

from mlops_desk.core import reference, registry
from mlops_desk.core.datasets import list_datasets
from mlops_desk.core.overview import RunPoint, environments_by_version, latest_by_version
from mlops_desk.core.reference import SOURCE_TEXT, Reference
from mlops_desk.core.registry import Model, Version
from mlops_desk.core.store import Store
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.dialogs.model_forms import NewModelDialog, VersionMetaDialog
from mlops_desk.ui.dialogs.new_version import NewVersionDialog
from mlops_desk.ui.item_models.versions_table import (
    FINGERPRINT,
    NOTE,
    VersionRow,
    VersionsTableModel,
)
from mlops_desk.ui.loader import LatestLoad, StaleFlag, guarded
from mlops_desk.ui.pages.archiving import Archiver
from mlops_desk.ui.pages.base import Page, vbox
from mlops_desk.ui.report_export import ReportExporter, export_action, model_subject
from mlops_desk.ui.widgets.config_diff import ConfigDiffView
from mlops_desk.ui.widgets.item_list import FilterableList
from mlops_desk.ui.widgets.table_columns import readable_table


@dataclass(frozen=True)
class ModelDetails:
    model: Model
    rows: list[VersionRow]
    endpoints: list[str]
    reference: Reference | None = None  # the dataset the figures are on
    by_rule: Reference | None = None  # what the rule gives without a choice
    datasets: tuple[str, ...] = ()  # the choices for the reference dataset


def load_model_details(store: Store, name: str) -> ModelDetails:
    """Everything the right-hand side shows for one model (runs in a worker)."""
    model = registry.get_model(store, name)
    ref = reference.reference_dataset(store, name)
    latest = latest_by_version(store, name, ref.dataset) if ref else {}
    deployed = environments_by_version(store, name)
    rows = [VersionRow(v, latest.get(v.number), tuple(deployed.get(v.number, ())),
                       ref.dataset if ref else None)
            for v in registry.list_versions(store, name)]
    endpoints = registry.list_endpoints(store, include_archived=False)  # offered for new versions
    return ModelDetails(model, rows, [e.name for e in endpoints], ref,
                        reference.reference_dataset(store, name, chosen=False),
                        tuple(d.name for d in list_datasets(store, include_archived=False)))


def details_html(v: Version, latest: RunPoint | None, environments: tuple[str, ...] = ()) -> str:
    def row(name: str, value: str) -> str:
        return f"<tr><td><b>{name}</b></td><td>{value}</td></tr>"

    def block(title: str, text: str) -> str:
        body = html.escape(text) if text else "<i>(empty)</i>"
        return f"<p><b>{title}</b></p><pre style='white-space:pre-wrap'>{body}</pre>"

    c = v.config
    run = (f"run {latest.run_id} on {html.escape(latest.dataset)}: accuracy "
           f"{fmt.accuracy_with_interval(latest.accuracy, latest.ci_low, latest.ci_high)}, "
           f"p95 {fmt.millis(latest.latency_p95_ms)}, "
           + (f"{fmt.cost(latest.cost_per_1k)} / 1k rows" if latest.cost_per_1k is not None
              else "cost unknown (no prices)")
           if latest else "no completed run yet")
    parts = [
        f"<h3>{html.escape(v.ref)}{' (archived)' if v.archived else ''}</h3>",
        "<table cellpadding='2'>",
        row("Fingerprint", f"<code>{v.fingerprint}</code>"),
        row("Parent", f"version {v.parent_number}" if v.parent_number else "none"),
        row("Created", f"{fmt.timestamp(v.created_at)} by {html.escape(v.created_by)}"),
        row("Note", html.escape(v.note) or fmt.DASH),
        row("Tags", html.escape(", ".join(v.tags)) or fmt.DASH),
        row("Deployed to", html.escape(", ".join(environments)) or "no environment"),
        row("Endpoint", html.escape(str(c.get("endpoint")))),
        row("Model id", html.escape(str(c.get("model_id")))),
        row("Parser", f"<code>{html.escape(str(c.get('parser')))}</code>"),
        row("Latest run", run),
        "</table>",
        block("Parameters", json.dumps(c.get("params") or {}, indent=2, sort_keys=True)),
        block("System prompt", c.get("system_prompt", "")),
        block("Prompt template", c.get("template", "")),
    ]
    return "".join(parts)


def _model_tooltip(model: Model) -> str:
    labels = ", ".join(model.labels) or "none"
    return f"{model.kind}; labels: {labels}\n{model.description}".strip()


class ModelsPage(Page):
    title = "Models"
    icon_name = "models"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self._models_load = LatestLoad(ctx, self)
        self._details_load = LatestLoad(ctx, self)
        self._stale = StaleFlag(self, self.refresh)
        self.details: ModelDetails | None = None
        self._pending_model: str | None = None
        self._pending_version: int | None = None
        self.dialog = None  # the open dialog, kept so it is not garbage-collected
        self._meta_task = None

        self.item_list = FilterableList("Models", "Filter models (Ctrl+F)", "New model…",
                                        archivable="model")
        self.item_list.current_changed.connect(self._model_changed)
        self.archiver = Archiver(ctx, self, "model", self.item_list, ctx.registry_changed.emit)
        self.new_model_button = self.item_list.button
        self.new_model_button.clicked.connect(self.open_new_model_dialog)
        self.filter_edit = self.item_list.filter_edit
        self.model_list = self.item_list.list

        self.model_title = QLabel("Select a model")
        theme.section_title(self.model_title)
        self.model_info = QLabel()
        self.model_info.setObjectName("hint")
        self.model_info.setWordWrap(True)
        # Like with like: the dataset every figure of this model is read on, changeable.
        self.reference_box = QComboBox()
        self.reference_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.reference_box.setToolTip(
            "The dataset the Accuracy, p95 and Cost columns, the Overview and the Charts "
            "use for this model, so its versions are compared like with like.")
        self.reference_box.activated.connect(self._reference_chosen)
        self.reference_note = QLabel()
        self.reference_note.setObjectName("hint")
        reference_row = QHBoxLayout()
        reference_row.addWidget(QLabel("Figures on reference dataset"))
        reference_row.addWidget(self.reference_box)
        reference_row.addWidget(self.reference_note, 1)
        self._reference_task = None
        # A tool bar rather than a row of buttons: it folds into a ">>" menu when narrow.
        self.toolbar = QToolBar()
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.setIconSize(QSize(16, 16))
        self.new_version_action = self.toolbar.addAction(
            theme.icon("clone"), "New version from this one…", self.open_new_version_dialog)
        self.compare_action = self.toolbar.addAction(theme.icon("diff"), "Compare",
                                                     self._show_diff_tab)
        self.compare_action.setToolTip("Select two versions (Ctrl+click) to diff them")
        self.meta_action = self.toolbar.addAction(theme.icon("edit"), "Note and tags…",
                                                  self.open_meta_dialog)
        self.archive_action = self.toolbar.addAction(theme.icon("archive"), "Archive",
                                                     self.toggle_archived)
        self.deploy_action = self.toolbar.addAction(theme.icon("deployments"), "Deploy to…",
                                                    self.open_deploy_dialog)  # issue 5
        self.exporter = ReportExporter(ctx, self, lambda: model_subject(self.current_model))
        self.export_action = export_action(self.exporter, self, "Export model card…")
        self.toolbar.addAction(self.export_action)
        self.show_archived = QCheckBox("Show archived versions")
        self.show_archived.setChecked(True)
        self.show_archived.toggled.connect(lambda _checked: self._fill_versions())
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self.toolbar.addWidget(self.show_archived)

        self.versions = VersionsTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.versions)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(26)
        readable_table(self.table, middle=(FINGERPRINT,), stretch=NOTE)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addAction(self.deploy_action)  # right-click a version: Deploy to…

        self.details_view = QTextBrowser()
        self.details_view.setOpenLinks(False)
        self.diff_view = ConfigDiffView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.details_view, "Details")
        self.tabs.addTab(self.diff_view, theme.icon("diff"), "Diff")

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.setObjectName("versionsSplitter")
        self.right_splitter.addWidget(self.table)
        self.right_splitter.addWidget(self.tabs)
        self.right_splitter.setSizes([300, 400])
        right = vbox(self.model_title, self.model_info, reference_row, self.toolbar,
                     (self.right_splitter, 1))
        self.splitter = self.split_list_and_details(self.item_list, right, "modelsSplitter")

        ctx.registry_changed.connect(self._stale.mark)
        ctx.runs_changed.connect(self._stale.mark)
        ctx.deployments_changed.connect(self._stale.mark)  # the "Deployed" column
        self._update_buttons()

    # -- Page interface ------------------------------------------------------------
    def activated(self) -> None:
        self._stale.activated()

    def refresh(self) -> None:
        self._stale.stale = False
        self._models_load.start(registry.list_models, self.ctx.store, on_done=self._models_loaded)

    def select_model(self, name: str, version: int | None = None) -> None:
        """Show ``name`` (and select ``version``), now or once the list has loaded."""
        self._pending_model, self._pending_version = name, version
        if not self.item_list.select(name):
            return  # not listed yet: _models_loaded picks it up
        if self.details is not None and self.details.model.name == name:
            self._pending_model = None
            if version is not None:
                self._select_numbers([version])
                self._pending_version = None
        else:
            self._load_details()

    # -- loading -------------------------------------------------------------------
    @property
    def current_model(self) -> str | None:
        return self.item_list.current_key

    def _models_loaded(self, models: list[Model]) -> None:
        keep = self._pending_model or self.current_model
        self.item_list.set_items(
            [(m.name, m.name, _model_tooltip(m), None, m.archived) for m in models], keep)
        # Reload the details even when the same model stays selected: it may have changed.
        self._load_details()

    def _model_changed(self, *_args) -> None:
        self._pending_version = None
        self._load_details()

    def _load_details(self) -> None:
        name = self.current_model
        if name is None:
            self.details = None
            self.model_title.setText("No models yet: create one, or load the sample workspace")
            self.model_info.clear()
            self._fill_reference(None)
            self.versions.set_rows([])
            self._selection_changed()
            return
        self._details_load.start(load_model_details, self.ctx.store, name,
                                 on_done=self._details_loaded)

    def _details_loaded(self, details: ModelDetails) -> None:
        if details.model.name != self.current_model:
            return
        same_model = self.details is not None and self.details.model.name == details.model.name
        if self._pending_version is not None:
            keep = [self._pending_version]
        else:
            keep = [v.number for v in self.selected_versions()] if same_model else []
        self._pending_model = self._pending_version = None
        self.details = details
        m = details.model
        count = len(details.rows)
        self.model_title.setText(f"{m.name}  ·  {m.kind}  ·  {count} version"
                                 f"{'' if count == 1 else 's'}"
                                 f"{'  ·  archived' if m.archived else ''}")
        labels = f"Labels: {', '.join(m.labels)}. " if m.labels else ""
        self.model_info.setText(f"{labels}{m.description}".strip())
        self._fill_reference(details)
        self._fill_versions(keep)

    # -- reference dataset -------------------------------------------------------------
    def _fill_reference(self, details: ModelDetails | None) -> None:
        box = self.reference_box
        box.clear()
        box.setEnabled(details is not None and bool(details.datasets))
        if details is None:
            self.reference_note.clear()
            return
        rule = details.by_rule
        box.addItem(f"By rule: {rule.dataset}" if rule else "By rule: none yet", None)
        box.setItemData(0, "Its gate dataset, else the dataset most of its runs used",
                        Qt.ItemDataRole.ToolTipRole)
        for name in details.datasets:
            box.addItem(name, name)
        ref = details.reference
        chosen = ref is not None and ref.source == reference.CHOSEN
        box.setCurrentIndex(max(0, box.findData(ref.dataset)) if chosen else 0)
        self.reference_note.setText(
            f"({SOURCE_TEXT[ref.source]})" if ref and not chosen else
            "" if ref else "no gate dataset and no completed run yet")

    def _reference_chosen(self, index: int) -> None:
        if self.details is None:
            return
        dataset = self.reference_box.itemData(index)
        ref = self.details.reference
        current = ref.dataset if ref and ref.source == reference.CHOSEN else None
        if dataset == current:
            return
        self.reference_box.setEnabled(False)
        self._reference_task = self.ctx.tasks.start(
            reference.set_reference, self.ctx.store, self.details.model.name, dataset,
            on_done=guarded(self, self._reference_set),
            on_error=guarded(self, self._reference_failed))

    def _reference_set(self, ref: Reference | None) -> None:
        name = self.details.model.name if self.details else ""
        self.ctx.status_message.emit(
            f"{name}: figures now on {ref.describe()}." if ref else
            f"{name}: no reference dataset until it has a gate dataset or a run.")
        self.ctx.registry_changed.emit()  # Overview, Charts and this page read it

    def _reference_failed(self, message: str) -> None:
        self.ctx.error.emit(message)
        self._fill_reference(self.details)

    def _fill_versions(self, keep: list[int] | None = None) -> None:
        rows = self.details.rows if self.details else []
        if not self.show_archived.isChecked():
            rows = [r for r in rows if not r.version.archived]
        if keep is None:
            keep = [v.number for v in self.selected_versions()]
        self.versions.set_rows(rows)
        self._select_numbers(keep)

    def _select_numbers(self, numbers: list[int]) -> None:
        """Select these versions (the newest when none of them is listed)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        rows = [r for r in (self.versions.row_of(n) for n in numbers) if r is not None]
        if not rows and self.versions.rowCount():
            rows = [self.versions.rowCount() - 1]
        flags = (QItemSelectionModel.SelectionFlag.Select
                 | QItemSelectionModel.SelectionFlag.Rows)
        for row in rows:
            selection.select(self.versions.index(row, 0), flags)
        if rows:
            self.table.scrollTo(self.versions.index(rows[-1], 0))
        self._selection_changed()

    # -- selection -----------------------------------------------------------------
    def selected_versions(self) -> list[Version]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.versions.version(row) for row in rows]

    def _selection_changed(self, *_args) -> None:
        selected = self.selected_versions()
        if len(selected) == 1:
            v = selected[0]
            row = next((r for r in self.details.rows if r.version.number == v.number),
                       None) if self.details else None
            self.details_view.setHtml(details_html(v, row.latest if row else None,
                                                   row.environments if row else ()))
            self.diff_view.clear_diff()
            self.tabs.setCurrentIndex(0)
        elif len(selected) == 2:
            older, newer = sorted(selected, key=lambda v: v.number)
            self.diff_view.show_diff(older, newer)
            self.details_view.setHtml(f"<p>{older.ref} and {newer.ref} selected: see Diff.</p>")
            self.tabs.setCurrentIndex(1)
        else:
            self.details_view.setHtml("<p>Select a version to see its configuration.</p>"
                                      if not selected else
                                      "<p>Select one version for details, two to compare.</p>")
            self.diff_view.clear_diff()
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.selected_versions()
        has_model = self.details is not None
        self.new_version_action.setEnabled(has_model)
        self.export_action.setEnabled(has_model and not self.exporter.busy)
        self.new_version_action.setText("New version from this one…" if len(selected) == 1
                                        else "New version…")
        self.compare_action.setEnabled(len(selected) == 2)
        self.meta_action.setEnabled(len(selected) == 1)
        self.archive_action.setEnabled(len(selected) == 1)
        self.deploy_action.setEnabled(len(selected) == 1 and not selected[0].archived)
        archived = len(selected) == 1 and selected[0].archived
        self.archive_action.setText("Unarchive" if archived else "Archive")

    def _show_diff_tab(self) -> None:
        self.tabs.setCurrentIndex(1)

    # -- actions -------------------------------------------------------------------
    def _replace_dialog(self, dialog) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = dialog
        dialog.open()

    def open_new_model_dialog(self) -> None:
        dialog = NewModelDialog(self.ctx, self)
        dialog.created.connect(lambda name: self.select_model(name))
        self._replace_dialog(dialog)

    def open_new_version_dialog(self, *_args) -> NewVersionDialog | None:
        if self.details is None:
            return None
        selected = self.selected_versions()
        versions = [r.version for r in self.details.rows]
        source = selected[0] if len(selected) == 1 else (versions[-1] if versions else None)
        dialog = NewVersionDialog(self.ctx, self.details.model, source, versions,
                                  self.details.endpoints, self)
        dialog.registered.connect(self._version_registered)
        self._replace_dialog(dialog)
        return dialog

    def _version_registered(self, version: Version, created: bool) -> None:
        self._pending_version = version.number
        self._pending_model = version.model
        word = "Registered" if created else "Already registered as"
        self.ctx.status_message.emit(f"{word} {version.ref} ({version.fingerprint[:10]}).")

    def open_meta_dialog(self) -> None:
        selected = self.selected_versions()
        if len(selected) != 1:
            return
        dialog = VersionMetaDialog(self.ctx, selected[0], self)
        self._replace_dialog(dialog)

    def open_deploy_dialog(self, *_args):
        """Deploy to… for the selected version (the gated dialog of the Deployments page)."""
        from mlops_desk.ui.dialogs.deploy_dialog import DeployDialog

        selected = self.selected_versions()
        if len(selected) != 1:
            return None
        dialog = DeployDialog(self.ctx, selected[0].model, version=selected[0].number,
                              parent=self)
        self._replace_dialog(dialog)
        return dialog

    def toggle_archived(self) -> None:
        selected = self.selected_versions()
        if len(selected) != 1:
            return
        v = selected[0]
        self.archive_action.setEnabled(False)
        self._meta_task = self.ctx.tasks.start(
            registry.set_version_meta, self.ctx.store, v.model, v.number,
            archived=not v.archived, on_done=guarded(self, self._archived),
            on_error=self.ctx.error.emit)

    def _archived(self, version: Version) -> None:
        self._pending_version = version.number
        state = "archived" if version.archived else "unarchived"
        self.ctx.status_message.emit(f"{version.ref} {state}.")
        self.ctx.registry_changed.emit()
