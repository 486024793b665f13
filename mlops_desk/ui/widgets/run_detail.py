"""One run: header, live progress, metrics, and tabs for rows, confusion and latency.

While the run goes, its rows fill the results table as they are stored (the table follows
the newest unless the user scrolled away) and the metric cards show the metrics so far;
selecting a row shows it in full below the table.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.row_detail import RowDetail, row_detail
from mlops_desk.core.run_live import partial_metrics
from mlops_desk.core.runs import Run
from mlops_desk.ui import format as fmt
from mlops_desk.ui import theme
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.item_models.run_confusion import ConfusionModel
from mlops_desk.ui.item_models.run_jobs import Job
from mlops_desk.ui.item_models.run_queries import ResultQuery, load_latencies
from mlops_desk.ui.item_models.run_results import RunResultsModel
from mlops_desk.ui.loader import LatestLoad
from mlops_desk.ui.report_export import ReportExporter, beside, export_button, run_subject
from mlops_desk.ui.widgets.run_metrics import RunMetricsPanel
from mlops_desk.ui.widgets.run_progress import RunProgressPanel
from mlops_desk.ui.widgets.run_row_detail import RowDetailPanel
from mlops_desk.ui.widgets.table_columns import readable_table

SEARCH_DELAY_MS = 250
LIVE_REFRESH_S = 1.0  # new rows and metrics so far, at most this often
FILTER_NAMES = (("all", "All"), ("wrong", "Wrong"), ("errors", "Errors"))


class RunDetailView(QWidget):
    cancel_requested = Signal(int)
    resume_requested = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.run: Run | None = None
        self._live = False  # the shown run is executing now
        self._latency_load = LatestLoad(ctx, self)
        self._latency_for: tuple[int, str, int] | None = None
        self._metrics_load = LatestLoad(ctx, self)
        self._row_load = LatestLoad(ctx, self)
        self._last_live = 0.0
        self._metrics_due: float | None = None  # when the next metrics so far are asked for
        self._at_bottom = True

        self.title = QLabel()
        theme.section_title(self.title)
        self.exporter = ReportExporter(ctx, self, lambda: run_subject(self.run, self._live))
        self.export_button = export_button(self.exporter)
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = RunProgressPanel()
        self.progress.cancel_requested.connect(self.cancel_requested)
        self.progress.resume_requested.connect(self.resume_requested)
        self.metrics = RunMetricsPanel()

        self.tabs = QTabWidget()
        self.tabs.addTab(self._results_tab(), "Results")
        self.tabs.addTab(self._confusion_tab(), "Confusion matrix")
        self._latency_tab = QWidget()
        QVBoxLayout(self._latency_tab).setContentsMargins(0, 4, 0, 0)
        self.histogram = None  # pyqtgraph widget, built when first needed
        self.tabs.addTab(self._latency_tab, "Latency")
        self.tabs.currentChanged.connect(lambda _: self._latency_tab_shown())

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(beside(self.title, self.export_button))
        layout.addWidget(self.subtitle)
        layout.addWidget(self.progress)
        layout.addWidget(self.metrics)
        layout.addWidget(self.tabs, 1)

    # -- building ----------------------------------------------------------------------
    def _results_tab(self) -> QWidget:
        tab = QWidget()
        self.results = RunResultsModel(self.ctx, self)
        self.filter_buttons = QButtonGroup(self)
        bar = QHBoxLayout()
        for i, (key, text) in enumerate(FILTER_NAMES):
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setProperty("filter", key)
            button.setChecked(i == 0)
            self.filter_buttons.addButton(button, i)
            bar.addWidget(button)
        self.filter_buttons.idClicked.connect(self._filter_changed)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search input, expected, prediction, error or row #")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._search_changed)
        self.search.textChanged.connect(self._search_timer.start)
        self.count_label = QLabel()
        self.count_label.setMinimumWidth(150)  # its text changes while a run goes: no relayout
        self.count_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        self.results.total_changed.connect(self._show_count)
        self.results.loading_changed.connect(lambda _: self._show_count(self.results.total))

        self.table = QTableView()
        self.table.setModel(self.results)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        readable_table(self.table, stretch=1, maximum=200)  # column 1: the input text
        # Always there: a scroll bar that came and went as rows arrived would resize the
        # table (and repaint it) each time.
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.selectionModel().currentRowChanged.connect(self._row_selected)
        self.results.rowsAboutToBeInserted.connect(self._note_scroll)
        self.results.rowsInserted.connect(self._follow_new_rows)
        self.results.modelReset.connect(self._row_cleared)

        self.row_panel = RowDetailPanel()
        self.row_panel.setVisible(False)
        self.rows_splitter = QSplitter(Qt.Orientation.Vertical)
        self.rows_splitter.setObjectName("rowsSplitter")
        self.rows_splitter.addWidget(self.table)
        self.rows_splitter.addWidget(self.row_panel)
        self.rows_splitter.setStretchFactor(0, 3)
        self.rows_splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.rows_splitter)
        return tab

    def _confusion_tab(self) -> QWidget:
        tab = QWidget()
        self.confusion = ConfusionModel(self)
        self.confusion_table = QTableView()
        self.confusion_table.setModel(self.confusion)
        self.confusion_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.confusion_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch)
        self.confusion_table.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch)
        self.confusion_note = QLabel()
        self.confusion_note.setWordWrap(True)
        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.confusion_table, 1)
        layout.addWidget(self.confusion_note)
        return tab

    def _ensure_histogram(self):
        if self.histogram is None:
            from mlops_desk.ui.widgets.chart_latency import LatencyHistogram

            self.histogram = LatencyHistogram()
            self._latency_tab.layout().addWidget(self.histogram)
        return self.histogram

    # -- showing a run -----------------------------------------------------------------
    def show_run(self, run: Run, job: Job | None) -> None:
        new_run = self.run is None or self.run.id != run.id
        changed = not new_run and (self.run.n_done, self.run.status) != (run.n_done, run.status)
        finished_now = changed and job is None
        self._live = job is not None
        self.run = run
        self.export_button.setEnabled(job is None and not self.exporter.busy)
        self.title.setText(f"Run {run.id} · {run.model}:{run.version} on {run.dataset}")
        started = fmt.timestamp(run.started_at or run.created_at)
        scorer = run.settings.get("scorer", fmt.DASH)
        # A live run's counts are in the progress line below; its reason, if it stopped,
        # in the progress panel too.
        counts = "" if job is not None else (
            f" · {run.n_done:,} of {run.n_total:,} rows · {run.elapsed_s:,.1f} s")
        self.subtitle.setText(
            f"{'Running' if job is not None else run.status.capitalize()}{counts} · started "
            f"{started} · concurrency {run.settings.get('concurrency', fmt.DASH)} · cache "
            f"{'on' if run.settings.get('use_cache', True) else 'off'} · scorer {scorer}")
        self.progress.show_run(run, job)
        if job is None or new_run:
            self.metrics.set_metrics(run.metrics)
        metrics = run.metrics or {}
        self.confusion.set_confusion(metrics.get("confusion"))
        self.confusion_note.setText(_per_class_text(metrics))
        self._show_count(self.results.total)
        if new_run or finished_now or self.results.live != self._live:
            self._at_bottom = True
            self.results.set_query(ResultQuery(run.id, run.dataset_id,
                                               filter=self._filter_key(),
                                               search=self.search.text()), live=self._live)
        if job is None:  # a live run's latencies load once it has ended
            self._latency_tab_shown()
        else:
            self._last_live = 0.0
            self.refresh_live()

    def refresh_live(self) -> None:
        """A tick of the shown live run: the progress now; new rows every second, and the
        metrics so far every second half a second later, so the two repaints (the results
        table's, the metric cards') fall in different turns of the event loop."""
        self.progress.refresh()
        now = time.monotonic()
        if self.run is None or not self._live:
            return
        if now - self._last_live >= LIVE_REFRESH_S:
            self._last_live = now
            self._metrics_due = now + LIVE_REFRESH_S / 2
            self.results.follow()
        elif self._metrics_due is not None and now >= self._metrics_due:
            self._metrics_due = None
            run_id = self.run.id
            self._metrics_load.start(partial_metrics, self.ctx.store, run_id, quiet=True,
                                     on_done=lambda m: self._partial_metrics(run_id, m))

    def _partial_metrics(self, run_id: int, metrics: dict) -> None:
        if self._live and self.run is not None and self.run.id == run_id:
            self.metrics.set_metrics(metrics)

    # -- following new rows, and one row in full ---------------------------------------
    def _note_scroll(self, *_args) -> None:
        bar = self.table.verticalScrollBar()
        self._at_bottom = bar.value() >= bar.maximum() - 1

    def _follow_new_rows(self, *_args) -> None:
        if self._live and self._at_bottom:  # the user did not scroll away: follow
            self.table.scrollToBottom()

    def _row_selected(self, current, _previous) -> None:
        if not current.isValid() or self.run is None:
            return
        row_idx = self.results.row_data(current.row())["row_idx"]
        run_id = self.run.id
        self._row_load.start(row_detail, self.ctx.store, run_id, row_idx,
                             on_done=self._row_loaded)

    def _row_loaded(self, detail: RowDetail) -> None:
        if self.run is not None and detail.run_id == self.run.id:
            self.row_panel.show_detail(detail)
            self.row_panel.setVisible(True)

    def _row_cleared(self) -> None:
        self.row_panel.clear()
        self.row_panel.setVisible(False)

    def _load_latencies(self, run: Run) -> None:
        key = (run.id, run.status, run.n_done)
        if key == self._latency_for:
            return
        self._latency_for = key
        metrics = run.metrics or {}
        p50, p95 = metrics.get("latency_p50_ms"), metrics.get("latency_p95_ms")
        self._latency_load.start(load_latencies, self.ctx.store, run.id,
                                 on_done=lambda values: self._latencies_loaded(values, p50, p95))

    def _latencies_loaded(self, values: list[float], p50, p95) -> None:
        self._ensure_histogram().set_latencies(values, p50, p95)

    def _latency_tab_shown(self) -> None:
        # The latencies load, and the histogram (pyqtgraph) is built, only when this tab is
        # shown: nothing of it competes with a run that just ended.
        if self.run is not None and self.tabs.currentWidget() is self._latency_tab \
                and self.run.status not in ("running", "queued"):
            self._load_latencies(self.run)

    # -- filters -----------------------------------------------------------------------
    def _filter_key(self) -> str:
        return FILTER_NAMES[max(0, self.filter_buttons.checkedId())][0]

    def set_filter(self, key: str) -> None:
        for i, (name, _) in enumerate(FILTER_NAMES):
            if name == key:
                self.filter_buttons.button(i).setChecked(True)
                self._filter_changed(i)

    def _filter_changed(self, _id: int) -> None:
        self.results.update_query(filter=self._filter_key())

    def _search_changed(self) -> None:
        self.results.update_query(search=self.search.text())

    def _show_count(self, total: int) -> None:
        if self._live:
            self.count_label.setText(f"{max(total, 0):,} rows so far")
        elif self.results.loading and total < 0:
            self.count_label.setText("loading…")
        elif total >= 0:
            shown = self.results.rowCount()
            self.count_label.setText(f"{total:,} rows" if shown >= total
                                     else f"{total:,} rows ({shown:,} loaded)")


def _per_class_text(metrics: dict) -> str:
    per_class = metrics.get("per_class") or {}
    if not per_class:
        return "No confusion matrix: this model has no label set."
    parts = []
    for label, stats in per_class.items():
        def pct(value):
            return fmt.DASH if value is None else f"{value:.0%}"

        parts.append(f"<b>{label}</b>: precision {pct(stats.get('precision'))}, recall "
                     f"{pct(stats.get('recall'))}, F1 {pct(stats.get('f1'))}, "
                     f"{stats.get('support', 0):,} expected")
    return ("Rows: expected label · columns: predicted label. Green diagonal = right.<br>"
            + " · ".join(parts))
