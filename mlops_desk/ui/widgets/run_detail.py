"""One run: header, live progress, metrics, and tabs for rows, confusion and latency."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.runs import Run
from mlops_desk.ui import format as fmt
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.loader import LatestLoad
from mlops_desk.ui.models.run_confusion import ConfusionModel
from mlops_desk.ui.models.run_jobs import Job
from mlops_desk.ui.models.run_queries import ResultQuery, load_latencies
from mlops_desk.ui.models.run_results import RunResultsModel
from mlops_desk.ui.report_export import ReportExporter, beside, export_button, run_subject
from mlops_desk.ui.widgets.run_metrics import RunMetricsPanel
from mlops_desk.ui.widgets.run_progress import RunProgressPanel

SEARCH_DELAY_MS = 250
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

        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
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
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        self.results.total_changed.connect(self._show_count)
        self.results.loading_changed.connect(lambda _: self._show_count(self.results.total))

        self.table = QTableView()
        self.table.setModel(self.results)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # the input text
        header.setStretchLastSection(False)
        for column, width in enumerate((40, 0, 72, 72, 62, 54, 58, 36, 80)):
            if width:
                self.table.setColumnWidth(column, width)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)

        layout = QVBoxLayout(tab)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table)
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
        self.metrics.set_metrics(run.metrics)
        metrics = run.metrics or {}
        self.confusion.set_confusion(metrics.get("confusion"))
        self.confusion_note.setText(_per_class_text(metrics))
        self._show_count(self.results.total)
        if new_run or finished_now:
            self.results.set_query(ResultQuery(run.id, run.dataset_id,
                                               filter=self._filter_key(),
                                               search=self.search.text()))
        if job is None:  # a live run's latencies load once it has ended
            self._latency_tab_shown()

    def refresh_live(self) -> None:
        self.progress.refresh()

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
            self.count_label.setText("rows appear when the run ends")
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
