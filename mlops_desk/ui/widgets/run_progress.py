"""Live progress of one run: bar, rows/s, ETA, errors, concurrency, a throughput chart,
and the Cancel / Resume buttons. It only draws; ``RunJobs`` owns the running tasks."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from mlops_desk.core.runs import RESUMABLE, Run
from mlops_desk.ui.item_models.run_jobs import Job
from mlops_desk.ui.widgets.run_throughput import ThroughputChart


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "ETA –"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"ETA {seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"ETA {seconds // 60} min {seconds % 60:02d} s"
    return f"ETA {seconds} s"


class RunProgressPanel(QWidget):
    cancel_requested = Signal(int)
    resume_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._run_id: int | None = None
        self._job: Job | None = None
        self.chart = ThroughputChart()
        self.chart.setVisible(False)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.stats = QLabel()
        self.stats.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # Its text changes at every tick: a width from the layout, not from the text, so a
        # new number never lays the whole page out again.
        self.stats.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setToolTip("Stop after the requests in flight; results so far are kept")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Run the rows this run has not done yet")
        self.cancel_button.clicked.connect(self._cancel_clicked)
        self.resume_button.clicked.connect(self._resume_clicked)

        top = QHBoxLayout()
        top.addWidget(self.bar, 1)
        top.addWidget(self.cancel_button)
        top.addWidget(self.resume_button)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addLayout(top)
        self._layout.addWidget(self.stats)
        self._layout.addWidget(self.chart)

    # -- state -----------------------------------------------------------------------
    def show_run(self, run: Run, job: Job | None) -> None:
        """Show ``run``: live when ``job`` is set, else its final state."""
        ended_here = run.id == self._run_id and self.isVisibleTo(self.parentWidget())
        if run.id != self._run_id:
            self.chart.set_points([])
        self._run_id, self._job = run.id, job
        live = job is not None
        waiting = run.status == "submitted"  # a Batch API run: its batches run remotely
        # A run that ends while shown keeps its panel (with how it ended): hiding it would
        # re-lay out the whole view at the moment the results and charts reload.
        self.setVisible(live or waiting or ended_here or run.status in RESUMABLE
                        or run.status in ("queued", "running"))
        self.cancel_button.setVisible(live or waiting)
        self.cancel_button.setEnabled(waiting or (live and not job.cancelling))
        self.resume_button.setVisible(not live and run.status in RESUMABLE)
        if live:
            self.refresh()
        else:
            self.bar.setRange(0, max(1, run.n_total))
            self.bar.setValue(run.n_done)
            why = f" — {run.reason}" if run.reason else ""
            self.stats.setText(f"{run.status.capitalize()} at {run.n_done:,} of "
                               f"{run.n_total:,} rows{why}")
            if not ended_here:  # a run that just ended keeps its throughput chart
                self.chart.setVisible(False)

    def refresh(self) -> None:
        """Redraw from the job's latest progress (called once per tick, not per signal)."""
        job = self._job
        if job is None:
            return
        p = job.progress
        if p is None:
            self.bar.setRange(0, 0)  # busy indicator until the first report
            self.stats.setText("Starting…")
        else:
            self.bar.setRange(0, max(1, p.total))
            self.bar.setValue(p.done)
            state = "Cancelling — " if job.cancelling else ""
            self.stats.setText(
                f"{state}{p.done:,} / {p.total:,} rows · {p.rows_per_s:,.1f} rows/s · "
                f"{eta_text(p.eta_s)} · {p.errors:,} errors · {p.cached:,} cached · "
                f"concurrency {p.concurrency}")
        self.cancel_button.setEnabled(not job.cancelling)
        if job.history:
            self.chart.set_points([(h[0], h[1]) for h in job.history])
            self.chart.setVisible(True)

    @property
    def run_id(self) -> int | None:
        return self._run_id

    @property
    def chart_points(self) -> int:
        """How many points the live chart shows (for tests)."""
        return self.chart.point_count

    # -- buttons ---------------------------------------------------------------------
    def _cancel_clicked(self) -> None:
        if self._run_id is not None:
            self.cancel_button.setEnabled(False)
            self.cancel_requested.emit(self._run_id)

    def _resume_clicked(self) -> None:
        if self._run_id is not None:
            self.resume_button.setVisible(False)
            self.resume_requested.emit(self._run_id)
