"""The Runs page: start runs, watch them, read one, or compare two.

Left, the runs list (select one to open it, two to compare them); right, the selected
run or the comparison. Runs execute in their own processes through ``RunJobs``, which
also follows runs still going from an earlier window or the CLI; every read is a task.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.runs import RESUMABLE, Run, get_run
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.item_models.run_jobs import RunJobs
from mlops_desk.ui.item_models.run_list import RunListModel
from mlops_desk.ui.item_models.run_queries import (
    Comparison,
    load_comparison,
    load_run_list,
)
from mlops_desk.ui.loader import LatestLoad, StaleFlag, guarded
from mlops_desk.ui.pages.base import Page
from mlops_desk.ui.widgets.run_compare import RunCompareView
from mlops_desk.ui.widgets.run_detail import RunDetailView
from mlops_desk.ui.widgets.table_columns import readable_table

EMPTY, DETAIL, COMPARE = range(3)
OPEN_DELAY_MS = 30


class RunsPage(Page):
    title = "Runs"
    icon_name = "runs"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(ctx, parent)
        self.jobs = RunJobs(ctx, self)
        self.jobs.ticked.connect(self._on_tick)
        self.jobs.finished.connect(self._on_job_finished)
        self._list_load = LatestLoad(ctx, self)
        self._detail_load = LatestLoad(ctx, self)
        self._compare_load = LatestLoad(ctx, self)
        self.dialog = None
        self.stale = StaleFlag(self, self.reload)
        self._own_finish = False
        ctx.runs_changed.connect(self._runs_changed)
        self._build()

    # -- layout ------------------------------------------------------------------------
    def _build(self) -> None:
        self.new_button = QPushButton(theme.icon("add"), "New run…")
        self.new_button.setToolTip("Run a dataset through a version (Ctrl+R)")
        self.new_button.clicked.connect(lambda: self.open_start_dialog())
        self.compare_button = QPushButton(theme.icon("diff"), "Compare")
        self.compare_button.setToolTip("Select two runs on the same dataset to compare them")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.compare_selected)
        self.filter_box = QLineEdit()
        self.filter_box.setPlaceholderText("Filter runs (model, dataset, status)")
        self.filter_box.setClearButtonEnabled(True)

        self.model = RunListModel(self)
        self.filter_box.textChanged.connect(self.model.set_filter_text)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        # Sized to content; a narrow Version column keeps the ":N" (elides the model name).
        readable_table(self.table, minimum=32, maximum=240)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

        self.detail = RunDetailView(self.ctx)
        self.detail.cancel_requested.connect(self.jobs.cancel)
        self.detail.resume_requested.connect(self.resume_run)
        self.compare_view = RunCompareView(self.ctx)
        self.empty = QLabel("Select a run to see its results, or two runs to compare them.\n"
                            "Start one with “New run…” (Ctrl+R).")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.stack = QStackedWidget()
        for widget in (self.empty, self.detail, self.compare_view):
            self.stack.addWidget(widget)

        left = QWidget()
        left_box = QVBoxLayout(left)
        left_box.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        heading = QLabel(self.title)
        theme.page_title(heading)
        buttons.addWidget(heading)
        buttons.addSpacing(12)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.compare_button)
        buttons.addStretch(1)
        left_box.addLayout(buttons)
        left_box.addWidget(self.filter_box)
        left_box.addWidget(self.table)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("runsSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([400, 700])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(self.splitter)

    # -- Page interface ----------------------------------------------------------------
    def activated(self) -> None:
        self.stale.activated()

    def focus_filter(self) -> None:
        self.filter_box.setFocus()
        self.filter_box.selectAll()

    def reload(self) -> None:
        self._list_load.start(load_run_list, self.ctx.store, on_done=self._runs_loaded)

    # -- the runs list -----------------------------------------------------------------
    def _runs_loaded(self, runs: list[Run]) -> None:
        selected = self.selected_run_ids()
        self.model.set_records(runs)
        for run in runs:  # still going from an earlier window or the CLI: follow it
            if run.status == "running":
                self.jobs.watch(run.id)
        self.jobs.watch_batches(any(r.status == "submitted" for r in runs))
        for run_id in self.jobs.active_ids:  # a live run shows its live count
            job = self.jobs.job(run_id)
            if job is not None and job.progress is not None:
                self.model.show_progress(run_id, job.progress)
        self.select_runs(selected)
        if not selected:
            self._selection_changed()

    def selected_run_ids(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows()
        return [self.model.record(index.row()).id for index in rows]

    def select_runs(self, run_ids: list[int]) -> None:
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = (QItemSelectionModel.SelectionFlag.Select
                 | QItemSelectionModel.SelectionFlag.Rows)
        first = True
        for run_id in run_ids:
            row = self.model.row_of(run_id)
            if row < 0:
                continue
            index = self.model.index(row, 0)
            if first:
                self.table.scrollTo(index)
                selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
                first = False
            selection.select(index, flags)

    def _selection_changed(self, *_args) -> None:
        ids = self.selected_run_ids()
        self.compare_button.setEnabled(len(ids) == 2)
        if len(ids) == 1:
            self.show_run(ids[0])
        elif len(ids) == 2:
            self.compare_selected()
        else:
            self.stack.setCurrentIndex(EMPTY)

    # -- one run -------------------------------------------------------------------------
    def show_run(self, run_id: int) -> None:
        row = self.model.row_of(run_id)
        if row >= 0:  # show what we have at once, then the fresh record from the store
            self._show_record(self.model.record(row))
        self._detail_load.start(get_run, self.ctx.store, run_id, on_done=self._show_record)

    def _show_record(self, run: Run) -> None:
        if self.selected_run_ids() not in ([run.id], []):
            return  # the selection moved on meanwhile
        self.detail.show_run(run, self.jobs.job(run.id))
        self.stack.setCurrentIndex(DETAIL)

    def _on_tick(self, run_ids: list[int]) -> None:
        for run_id in run_ids:
            job = self.jobs.job(run_id)
            if job is not None and job.progress is not None:
                self.model.show_progress(run_id, job.progress)
        current = self.detail.run
        if current is not None and current.id in run_ids and self.stack.currentIndex() == DETAIL:
            self.detail.refresh_live()

    def _on_job_finished(self, run_id: int, _status: str) -> None:
        # RunJobs emits ``finished`` and then ``runs_changed``: refresh this one run, and
        # skip the full list reload that ``runs_changed`` would start (a thousand runs'
        # metrics parsed again, just as the other pages reload too).
        self._own_finish = True
        self._detail_load.start(get_run, self.ctx.store, run_id, on_done=self._run_finished)

    def _run_finished(self, run: Run) -> None:
        self.model.upsert(run)
        if self.selected_run_ids() == [run.id]:
            self._show_record(run)

    def _runs_changed(self) -> None:
        if self._own_finish:
            self._own_finish = False
            return
        self.stale.mark()

    # -- starting, cancelling, resuming ----------------------------------------------
    def open_start_dialog(self, version: str | None = None, dataset: str | None = None):
        """Open the start-run dialog (non-modal); ``version`` as ``MODEL:N`` pre-selects."""
        from mlops_desk.ui.dialogs.run_start import StartRunDialog

        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        self.dialog = StartRunDialog(self.ctx, self.window(), version=version, dataset=dataset)
        self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog.run_created.connect(self.start_run)
        self.dialog.destroyed.connect(self._dialog_gone)
        self.dialog.open()
        return self.dialog

    def _dialog_gone(self, *_args) -> None:
        self.dialog = None

    def start_run(self, run_id: int) -> None:
        """Execute a recorded run (new or resumed) and select it.

        Only this list learns of the run now; the other pages hear ``runs_changed`` when it
        ends (a running run changes no chart), which keeps the start of a run light.
        """
        self.jobs.start(run_id)
        self._detail_load.start(get_run, self.ctx.store, run_id, on_done=self._run_started)
        self.ctx.status_message.emit(f"Run {run_id} started")

    def _run_started(self, run: Run) -> None:
        self.model.upsert(run)
        job = self.jobs.job(run.id)
        if job is not None and job.progress is not None:
            self.model.show_progress(run.id, job.progress)
        # The list shows the new run now; the run's view opens a moment later, after the list
        # has repainted, so their two repaints (the whole list shifts, the view appears) do
        # not hold the window together (a zero timer would fire before that repaint).
        QTimer.singleShot(OPEN_DELAY_MS, self, lambda: self.select_runs([run.id]))

    def resume_run(self, run_id: int) -> None:
        row = self.model.row_of(run_id)
        if row >= 0 and self.model.record(row).status not in RESUMABLE:
            return
        self.start_run(run_id)

    def cancel_run(self, run_id: int) -> None:
        self.jobs.cancel(run_id)

    # -- comparing ---------------------------------------------------------------------
    def compare_selected(self) -> None:
        ids = self.selected_run_ids()
        if len(ids) == 2:
            self.compare(*sorted(ids))

    def compare(self, id_a: int, id_b: int) -> None:
        self._compare_load.start(load_comparison, self.ctx.store, id_a, id_b,
                                 on_done=self._show_comparison,
                                 on_error=guarded(self, self._compare_failed))

    def _show_comparison(self, comparison: Comparison) -> None:
        self.compare_view.show_comparison(comparison)
        self.stack.setCurrentIndex(COMPARE)

    def _compare_failed(self, message: str) -> None:
        self.empty.setText(f"Cannot compare these runs: {message}")
        self.stack.setCurrentIndex(EMPTY)
