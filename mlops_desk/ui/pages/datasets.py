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
from mlops_desk.ui.item_models.rows_table import PAGE_ROWS, DatasetRowsModel
from mlops_desk.ui.loader import LatestLoad, StaleFlag
from mlops_desk.ui.pages.archiving import Archiver
from mlops_desk.ui.pages.base import Page, vbox
from mlops_desk.ui.widgets.banner import Banner
from mlops_desk.ui.widgets.item_list import FilterableList
from mlops_desk.ui.widgets.table_columns import readable_table
from mlops_desk.ui.widgets.validation_report import report_html

FILE_FILTER = (f"Datasets ({' '.join('*' + s for s in SUPPORTED)});;All files (*)")
NOTICE_MS = 8_000  # how long the "Imported …" notice stays; the report keeps the details


def load_rows(store: Store, dataset_id: int, start: int,
              limit: int = PAGE_ROWS) -> tuple[int, list]:
    return dataset_id, list(datasets.iter_rows(store, dataset_id, start=start, limit=limit))


def _warnings(d: Dataset) -> int:
    return len(d.validation.get("warnings") or [])


def _tooltip(d: Dataset) -> str:
    problems = _warnings(d)
    return (f"{d.n_rows:,} rows from {d.source_name}"
            + (f"; {problems} warning(s)" if problems else ""))


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

        hint = QLabel("Tip: drop a file on the window to import it.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        self.item_list = FilterableList("Datasets", "Filter datasets (Ctrl+F)", "Import…",
                                        icon="import", footer=[hint], archivable="dataset")
        self.item_list.current_changed.connect(self._dataset_changed)
        self.archiver = Archiver(ctx, self, "dataset", self.item_list,
                                 ctx.datasets_changed.emit)
        self.import_button = self.item_list.button
        self.import_button.setToolTip("Import a CSV, TSV, JSONL, XLSX or Parquet file "
                                      "(or drop one on the window)")
        self.import_button.clicked.connect(self.open_import_dialog)
        self.filter_edit = self.item_list.filter_edit
        self.dataset_list = self.item_list.list

        self.banner = Banner()
        self.report_view = QTextBrowser()
        self.report_view.setOpenLinks(False)
        self.rows_model = DatasetRowsModel(self)
        self.rows_model.fetch_requested.connect(self._fetch_rows)
        self.rows_table = QTableView()
        self.rows_table.setModel(self.rows_model)
        self.rows_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rows_table.setAlternatingRowColors(True)
        # Sized to content (text columns up to 360 px, then elided with a tooltip), so a
        # short label column no longer takes half the width beside a cut text column.
        self.fitter = readable_table(self.rows_table, maximum=360, stretch="widest")
        self.rows_table.verticalHeader().setDefaultSectionSize(24)
        self.rows_label = QLabel()
        theme.section_title(self.rows_label)
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
        right = vbox(self.banner, (self.right_splitter, 1))
        self.splitter = self.split_list_and_details(self.item_list, right, "datasetsSplitter")

        ctx.datasets_changed.connect(self._stale.mark)
        self._show_dataset(None)

    # -- Page interface ------------------------------------------------------------
    def activated(self) -> None:
        self._stale.activated()

    def refresh(self) -> None:
        self._stale.stale = False
        self._list_load.start(datasets.list_datasets, self.ctx.store, on_done=self._listed)

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
                "warning" if warnings else "ok", hide_after_ms=NOTICE_MS)
        else:
            self.banner.show_message(
                f"This content is already imported as {dataset.name} (same SHA-256); "
                "snapshots are stored once.", "info", hide_after_ms=NOTICE_MS)
        self.ctx.status_message.emit(f"Dataset {dataset.name} ready.")
        self._select_after_load = dataset.name
        self._stale.mark()

    # -- listing -------------------------------------------------------------------
    @property
    def current(self) -> Dataset | None:
        return self.datasets.get(self.item_list.current_key)

    def _listed(self, found: list[Dataset]) -> None:
        keep, self._select_after_load = self._select_after_load, None
        self.datasets = {d.name: d for d in found}
        self.item_list.set_items(  # keep, else the current dataset, else the first
[(d.name, d.name, _tooltip(d), theme.status_icon(
            "warning" if _warnings(d) else "ok"), d.archived) for d in found], keep)
        self._show_dataset(self.current)

    def select_dataset(self, name: str) -> None:
        self._select_after_load = name
        self.item_list.select(name, notify=True)

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
            self.fitter.fit()
