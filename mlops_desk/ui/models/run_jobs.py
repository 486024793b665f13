"""Runs executing now: start, cancel, resume, and their progress for the widgets.

Each run is ``runner.execute`` in a pool task. Progress arrives as a signal (the engine
reports at most every 100 ms) and is only stored; one ``tick`` every ``TICK_MS`` tells the
widgets which runs moved, so bars, labels and the live chart repaint at a steady rate
however fast rows finish. The tick timer runs only while a run does.
"""

from __future__ import annotations

import gc
import time
from collections import deque
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from mlops_desk.core import batch, runner
from mlops_desk.core.runs import Run
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.workers import TaskHandle

TICK_MS = 200
BATCH_POLL_MS = 30_000  # how often submitted Batch API runs are looked at
HISTORY_POINTS = 600  # live chart: the last two minutes at one point per tick


@dataclass
class Job:
    run_id: int
    handle: TaskHandle | None = None
    progress: runner.Progress | None = None
    started: float = field(default_factory=time.monotonic)
    cancelling: bool = False
    dirty: bool = False
    # (seconds since start, rows/s, done) sampled once per tick, for the live chart
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))


class _ProgressSlot(QObject):
    """Receives one job's progress in the GUI thread (a QObject slot, so the signal from
    the worker is queued to this object's thread instead of running in the worker)."""

    def __init__(self, jobs: RunJobs, run_id: int):
        super().__init__(jobs)
        self.jobs, self.run_id = jobs, run_id

    @Slot(object)
    def on_progress(self, progress: runner.Progress) -> None:
        self.jobs._progress(self.run_id, progress)


class RunJobs(QObject):
    started = Signal(int)  # run id
    ticked = Signal(list)  # run ids whose progress changed since the last tick
    finished = Signal(int, str)  # run id, final status ("failed" when the task raised)

    def __init__(self, ctx: AppContext, parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._jobs: dict[int, Job] = {}
        self._slots: dict[int, _ProgressSlot] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        # Batch API runs wait remotely for hours: a pool task looks at them on this timer,
        # which runs only while a run is submitted (``watch_batches``).
        self._batch_timer = QTimer(self)
        self._batch_timer.setInterval(BATCH_POLL_MS)
        self._batch_timer.timeout.connect(self._poll_batches)
        self._batch_poll: TaskHandle | None = None

    # -- queries ---------------------------------------------------------------------
    def is_active(self, run_id: int) -> bool:
        return run_id in self._jobs

    def job(self, run_id: int) -> Job | None:
        return self._jobs.get(run_id)

    @property
    def active_ids(self) -> list[int]:
        return list(self._jobs)

    # -- actions ---------------------------------------------------------------------
    def start(self, run_id: int) -> None:
        """Execute (or resume) a run in a worker; a run already going is left alone."""
        if run_id in self._jobs:
            return
        if not self._jobs:
            # While runs go, everything alive now is out of the garbage collector's reach: a
            # run allocates fast in its worker, and each full collection would otherwise scan
            # the whole application (Qt wrappers, pyqtgraph, numpy...) holding the GIL, a
            # 100 ms freeze of the window every few seconds. Undone when the last run ends.
            gc.freeze()
        job = self._jobs[run_id] = Job(run_id)
        slot = self._slots[run_id] = _ProgressSlot(self, run_id)
        job.handle = self.ctx.tasks.start(
            batch.execute_or_submit, self.ctx.store, run_id, on_progress=slot.on_progress,
            on_done=lambda run: self._done(run_id, run),
            on_error=lambda message: self._failed(run_id, message),
        )
        if not self._timer.isActive():
            self._timer.start()
        self.started.emit(run_id)

    def cancel(self, run_id: int) -> None:
        job = self._jobs.get(run_id)
        if job is None:  # a submitted Batch API run: cancel its remote batches
            self.ctx.status_message.emit(f"Cancelling the batches of run {run_id}…")
            self.ctx.tasks.start(batch.cancel_remote, self.ctx.store, run_id,
                                 on_done=lambda run: self._done(run_id, run),
                                 on_error=lambda message: self._failed(run_id, message))
            return
        if job.handle is not None:
            job.cancelling = True
            job.handle.cancel()
            self.ctx.status_message.emit(f"Cancelling run {run_id}…")

    def cancel_all(self) -> None:
        for run_id in list(self._jobs):
            self.cancel(run_id)

    def watch_batches(self, submitted: bool) -> None:
        """Poll submitted Batch API runs on a timer while there are any."""
        if submitted and not self._batch_timer.isActive():
            self._batch_timer.start()
        elif not submitted:
            self._batch_timer.stop()

    def _poll_batches(self) -> None:
        if self._batch_poll is not None and self._batch_poll.running:
            return
        self._batch_poll = self.ctx.tasks.start(
            batch.poll_submitted, self.ctx.store, on_done=self._batches_polled,
            on_error=lambda message: self.ctx.status_message.emit(
                f"Batch runs could not be checked: {message}"))

    def _batches_polled(self, ended: list[int]) -> None:
        if ended:  # every page reloads (the Runs page then stops the timer if none is left)
            self.ctx.status_message.emit(
                f"Batch run(s) {', '.join(map(str, ended))} ended")
            self.ctx.runs_changed.emit()

    # -- worker callbacks (GUI thread) -------------------------------------------------
    def _progress(self, run_id: int, progress: runner.Progress) -> None:
        job = self._jobs.get(run_id)
        if job is not None:
            job.progress, job.dirty = progress, True

    def _tick(self) -> None:
        now = time.monotonic()
        moved = []
        for job in self._jobs.values():
            if job.progress is not None:
                job.history.append((now - job.started, job.progress.rows_per_s,
                                    job.progress.done))
            if job.dirty:
                job.dirty = False
                moved.append(job.run_id)
        if moved:
            self.ticked.emit(moved)

    def _done(self, run_id: int, run: Run) -> None:
        self._forget(run_id)
        verb = {"completed": "finished", "cancelled": "cancelled"}.get(run.status, run.status)
        accuracy = (run.metrics or {}).get("accuracy")
        extra = f", accuracy {accuracy:.1%}" if accuracy is not None else ""
        self.ctx.status_message.emit(f"Run {run_id} {verb}: {run.n_done:,}/{run.n_total:,} "
                                     f"rows{extra}")
        self.finished.emit(run_id, run.status)
        self.ctx.runs_changed.emit()
        if run.status == "submitted":
            self.watch_batches(True)

    def _failed(self, run_id: int, message: str) -> None:
        self._forget(run_id)
        self.ctx.error.emit(f"Run {run_id} stopped: {message}")
        self.finished.emit(run_id, "failed")
        self.ctx.runs_changed.emit()

    def _forget(self, run_id: int) -> None:
        self._jobs.pop(run_id, None)
        slot = self._slots.pop(run_id, None)
        if slot is not None:
            slot.deleteLater()
        if not self._jobs:
            self._timer.stop()
            gc.unfreeze()
