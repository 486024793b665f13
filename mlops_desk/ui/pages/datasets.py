"""The Datasets page: imported snapshots, their validation reports and their rows.

Files arrive through File > Import dataset (Ctrl+I), the Import button, or a drop on the
main window (which calls ``import_file``); each opens the column-mapping dialog.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core import datasets
from mlops_desk.core.dataset_io import SUPPORTED
from mlops_desk.core.datasets import Dataset
from mlops_desk.core.store import Store
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.dialogs.column_mapping import ColumnMappingDialog
from mlops_desk.ui.loader import LatestLoad, StaleFlag
from mlops_desk.ui.models.rows_table import PAGE_ROWS, DatasetRowsModel
from mlops_desk.ui.pages.base import Page
from mlops_desk.ui.widgets.banner import Banner
from mlops_desk.ui.widgets.validation_report import report_html

FILE_FILTER = (f"Datasets ({' '.join('*' + s for s in SUPPORTED)});;All files (*)")


def load_rows(store: Store, dataset_id: int, start: int,
              limit: int = PAGE_ROWS) -> tuple[int, list]:
    return dataset_id, list(datasets.iter_rows(store, dataset_id, start=start, limit=limit))


class DatasetsPage(Page):
    title = "Datasets"
    icon_name = "datasets"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self._list_load = LatestLoad(ctx, self)
        self._rows_load = LatestLoad(ctx, self)
        self._stale = StaleFlag(self, self.refresh)
        self.datasets: dict[str, Dataset] = {}
        self.dialog: ColumnMappingDialog | None = None
        self._select_after_load: str | None = None
        self._last_dir = str(Path.home())

        heading = QLabel("Datasets")
        heading.setObjectName("pageTitle")
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter datasets (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.dataset_list = QListWidget()
        self.dataset_list.setObjectName("itemList")
        self.dataset_list.currentItemChanged.connect(self._dataset_changed)
        self.import_button = QPushButton(theme.icon("import"), "Import…")
        self.import_button.setToolTip("Import a CSV, TSV, JSONL, XLSX or Parquet file "
                                      "(or drop one on the window)")
        self.import_button.clicked.connect(self.open_import_dialog)
        hint = QLabel("Tip: drop a file on the window to import it.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(heading)
        left_layout.addWidget(self.filter_edit)
        left_layout.addWidget(self.dataset_list, 1)
        left_layout.addWidget(self.import_button)
        left_layout.addWidget(hint)

        self.banner = Banner()
        self.report_view = QTextBrowser()
        self.report_view.setOpenLinks(False)
        self.rows_model = DatasetRowsModel(self)
        self.rows_model.fetch_requested.connect(self._fetch_rows)
        self.rows_table = QTableView()
        self.rows_table.setModel(self.rows_model)
        self.rows_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rows_table.setAlternatingRowColors(True)
        self.rows_table.setWordWrap(False)
        self.rows_table.horizontalHeader().setStretchLastSection(True)
        self.rows_table.verticalHeader().setDefaultSectionSize(24)
        self.rows_label = QLabel()
        self.rows_label.setObjectName("sectionTitle")
        rows_box = QWidget()
        rows_layout = QVBoxLayout(rows_box)
        rows_layout.setContentsMargins(0, 0, 0, 0)
        rows_layout.addWidget(self.rows_label)
        rows_layout.addWidget(self.rows_table, 1)

        self.right_splitter = QSplitter(Qt.Orientation.Vertical)
        self.right_splitter.setObjectName("datasetSplitter")
        self.right_splitter.addWidget(self.report_view)
        self.right_splitter.addWidget(rows_box)
        self.right_splitter.setSizes([320, 380])
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.right_splitter, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("datasetsSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([220, 780])
        layout = QVBoxLayout(self)
        layout.addWidget(self.splitter)

        ctx.datasets_changed.connect(self._stale.mark)
        self._show_dataset(None)

    # -- Page interface ------------------------------------------------------------
    def activated(self) -> None:
        self._stale.activated()

    def refresh(self) -> None:
        self._stale.stale = False
        self._list_load.start(datasets.list_datasets, self.ctx.store, on_done=self._listed)

    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    # -- importing -----------------------------------------------------------------
    def open_import_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import dataset", self._last_dir,
                                              FILE_FILTER)
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> ColumnMappingDialog:
        """Open the column-mapping dialog for ``path`` (from the file dialog or a drop)."""
        path = Path(path)
        self._last_dir = str(path.parent)
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = ColumnMappingDialog(self.ctx, path, self)
        self.dialog.imported.connect(self._imported)
        self.dialog.open()
        return self.dialog

    def _imported(self, dataset: Dataset, created: bool) -> None:
        warnings = len(dataset.validation.get("warnings") or [])
        if created:
            note = f"; {warnings} warning(s), see the report" if warnings else ""
            self.banner.show_message(
                f"Imported {dataset.name}: {dataset.n_rows:,} rows{note}.",
                "warning" if warnings else "ok")
        else:
            self.banner.show_message(
                f"This content is already imported as {dataset.name} (same SHA-256); "
                "snapshots are stored once.", "info")
        self.ctx.status_message.emit(f"Dataset {dataset.name} ready.")
        self._select_after_load = dataset.name
        self._stale.mark()

    # -- listing -------------------------------------------------------------------
    @property
    def current(self) -> Dataset | None:
        item = self.dataset_list.currentItem()
        return self.datasets.get(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def _listed(self, found: list[Dataset]) -> None:
        keep = self._select_after_load or (self.current.name if self.current else None)
        self._select_after_load = None
        self.datasets = {d.name: d for d in found}
        self.dataset_list.blockSignals(True)
        self.dataset_list.clear()
        for d in found:
            item = QListWidgetItem(d.name)
            item.setData(Qt.ItemDataRole.UserRole, d.name)
            problems = len(d.validation.get("warnings") or [])
            item.setIcon(theme.status_icon("warning" if problems else "ok"))
            item.setToolTip(f"{d.n_rows:,} rows from {d.source_name}"
                            + (f"; {problems} warning(s)" if problems else ""))
            self.dataset_list.addItem(item)
            if d.name == keep:
                self.dataset_list.setCurrentItem(item)
        if self.dataset_list.currentItem() is None and found:
            self.dataset_list.setCurrentRow(0)
        self.dataset_list.blockSignals(False)
        self._apply_filter(self.filter_edit.text())
        self._show_dataset(self.current)

    def select_dataset(self, name: str) -> None:
        self._select_after_load = name
        for row in range(self.dataset_list.count()):
            if self.dataset_list.item(row).data(Qt.ItemDataRole.UserRole) == name:
                self.dataset_list.setCurrentRow(row)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for row in range(self.dataset_list.count()):
            item = self.dataset_list.item(row)
            item.setHidden(bool(needle) and needle not in item.text().casefold())

    def _dataset_changed(self, *_args) -> None:
        self._show_dataset(self.current)

    # -- the selected dataset ------------------------------------------------------
    def _show_dataset(self, dataset: Dataset | None) -> None:
        if dataset is None:
            self.report_view.setHtml(
                "<h3>No dataset selected</h3><p>Import a CSV, TSV, JSONL, XLSX or Parquet file "
                "with <b>Import…</b> (Ctrl+I), or drop it on the window. You choose which "
                "columns the model sees and which one holds the expected answer.</p>")
            self.rows_label.setText("Rows")
            self.rows_model.reset([], [])
            return
        self.report_view.setHtml(report_html(dataset))
        self.rows_label.setText(f"Rows of {dataset.name} ({dataset.n_rows:,})")
        self.rows_model.reset(dataset.columns, [], total=dataset.n_rows)
        self.rows_model.fetchMore()  # the first page; the view asks for more as it scrolls

    def _fetch_rows(self, start: int) -> None:
        dataset = self.current
        if dataset is None:
            return
        self._rows_load.start(load_rows, self.ctx.store, dataset.id, start,
                              on_done=self._rows_loaded)

    def _rows_loaded(self, result: tuple[int, list]) -> None:
        dataset_id, rows = result
        if self.current is None or self.current.id != dataset_id:
            return
        first_page = self.rows_model.rowCount() == 0
        self.rows_model.append_rows(rows)
        if first_page:
            self.rows_table.resizeColumnsToContents()
            for column in range(self.rows_model.columnCount()):
                self.rows_table.setColumnWidth(
                    column, min(self.rows_table.columnWidth(column), 360))
