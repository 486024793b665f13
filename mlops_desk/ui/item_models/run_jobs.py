"""Runs executing now, each in its own process, and their progress for the widgets.

A run the window starts (or resumes) is a child process running the CLI's engine
(``mlops-desk run resume ID``), so the run never competes with the window for the GIL and
goes on after the window closes. Its progress is read from the database it writes (rows
stored so far), which is also how a window follows runs it did not start: those the CLI
runs, or those an earlier window left running. Cancel is a request in the database
(``run_control.request_cancel``), which the engine polls: it needs no signal, so it works
on Windows too, and for runs of any origin.

One ``tick`` every ``TICK_MS`` polls the children and, through one pool task, the database;
it then tells the widgets which runs moved. The timer runs only while a run does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from mlops_desk.core import batch, run_control, runner
from mlops_desk.core.logs import get_logger
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.workers import TaskHandle

log = get_logger("ui.run_jobs")

TICK_MS = 250
BATCH_POLL_MS = 30_000  # how often submitted Batch API runs no process watches are looked at
HISTORY_POINTS = 600  # live chart: the last two and a half minutes at one point per tick
RATE_WINDOW_S = 5.0  # rows/s is measured over this much recent history
# Every child this process started: a window that closes with "keep running" lets go of its
# children, which stay referenced here (so Python never warns about a running child being
# collected) until ``reap_children`` waits for them.
_CHILDREN: list[subprocess.Popen] = []


def run_command(db_path: Path | str, run_id: int) -> list[str]:
    """The command line that executes (or resumes) ``run_id`` with this interpreter.

    A Batch API run is submitted and the child ends (``--no-wait``): the window follows
    submitted runs on its own timer (``watch_batches``); online runs ignore the flag.
    """
    args = ["run", "resume", str(run_id), "--no-wait", "--db", str(db_path)]
    if getattr(sys, "frozen", False):  # a PyInstaller build: the executable is the CLI
        return [sys.executable, *args]
    return [sys.executable, "-m", "mlops_desk", *args]


def exit_reason(code: int) -> str:
    if code < 0:
        return f"the process running it was killed (signal {-code})"
    return f"the process running it exited with code {code} before recording the end"


@dataclass
class Job:
    run_id: int
    process: subprocess.Popen | None = None  # None: another process runs it
    log_path: Path | None = None  # the child's stderr
    progress: runner.Progress | None = None
    started: float = field(default_factory=time.monotonic)
    cancelling: bool = False
    dirty: bool = False
    died: str | None = None  # how our child ended ("" normally), once it has
    # Our child has claimed the run (seen 'running'): until then a resumed run still reads
    # as cancelled or interrupted, which is its state before the child starts, not its end.
    claimed: bool = False
    # (seconds since start, rows/s, done) sampled once per tick, for the live chart
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    # (monotonic time, rows done) of recent polls, for rows/s
    samples: deque = field(default_factory=lambda: deque(maxlen=64))


class RunJobs(QObject):
    started = Signal(int)  # run id
    ticked = Signal(list)  # run ids whose progress changed since the last tick
    finished = Signal(int, str)  # run id, final status

    def __init__(self, ctx: AppContext, parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._jobs: dict[int, Job] = {}
        self._ending: list[subprocess.Popen] = []  # children whose run ended, still exiting
        self._polling = False
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        # A submitted Batch API run nobody waits for (``--no-wait``, or its process ended)
        # waits remotely for hours: a pool task looks at those on this timer, which runs
        # only while such a run exists (``watch_batches``).
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

    def pid(self, run_id: int) -> int | None:
        job = self._jobs.get(run_id)
        return job.process.pid if job is not None and job.process is not None else None

    # -- actions ---------------------------------------------------------------------
    def start(self, run_id: int) -> None:
        """Execute (or resume) a recorded run in a child process; one going is left alone."""
        if run_id in self._jobs:
            return
        handle, name = tempfile.mkstemp(prefix=f"mlops-desk-run-{run_id}-", suffix=".log")
        try:
            process = subprocess.Popen(
                run_command(self.ctx.store.path, run_id), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=handle, **_detached_session())
        except OSError as exc:
            os.close(handle)
            Path(name).unlink(missing_ok=True)
            self.ctx.error.emit(f"Run {run_id} could not start: {exc}")
            return
        os.close(handle)  # the child has its own copy
        _CHILDREN[:] = [p for p in _CHILDREN if p.poll() is None]  # reaps ended ones
        _CHILDREN.append(process)
        log.info("run %s: started process %s", run_id, process.pid)
        self._add(Job(run_id, process=process, log_path=Path(name)))

    def watch(self, run_id: int) -> None:
        """Follow a run another process executes (started by the CLI or an earlier window)."""
        if run_id not in self._jobs:
            self._add(Job(run_id))

    def cancel(self, run_id: int) -> None:
        job = self._jobs.get(run_id)
        if job is None:  # a submitted Batch API run: cancel its remote batches
            self.ctx.status_message.emit(f"Cancelling the batches of run {run_id}…")
            self.ctx.tasks.start(batch.cancel_remote, self.ctx.store, run_id,
                                 on_done=lambda _run: self.ctx.runs_changed.emit(),
                                 on_error=self._cancel_failed)
            return
        if job.cancelling:
            return
        job.cancelling = job.dirty = True
        self.ctx.tasks.start(run_control.request_cancel, self.ctx.store, run_id,
                             on_error=self._cancel_failed)
        self.ctx.status_message.emit(f"Cancelling run {run_id}…")

    def cancel_all(self) -> None:
        for run_id in list(self._jobs):
            self.cancel(run_id)

    def let_go(self, *, cancel: bool) -> None:
        """The window closes: the runs go on by themselves (or are asked to stop)."""
        self._timer.stop()
        for job in self._jobs.values():
            if cancel and not job.cancelling:
                try:  # at close, on this thread: the window will not be there for a task
                    run_control.request_cancel(self.ctx.store, job.run_id)
                except Exception as exc:  # a run that just ended, a locked database
                    log.warning("run %s: cancel at close failed: %s", job.run_id, exc)
        self._jobs.clear()
        self._ending.clear()

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
            self.ctx.status_message.emit(f"Batch run(s) {', '.join(map(str, ended))} ended")
            self.ctx.runs_changed.emit()

    def _add(self, job: Job) -> None:
        self._jobs[job.run_id] = job
        if not self._timer.isActive():
            self._timer.start()
        self.started.emit(job.run_id)

    def _cancel_failed(self, message: str) -> None:
        self.ctx.error.emit(f"Could not cancel: {message}")

    # -- the tick (GUI thread) ---------------------------------------------------------
    def _tick(self) -> None:
        self._ending = [p for p in self._ending if p.poll() is None]
        for job in self._jobs.values():  # reap our children, so a dead one reads as dead
            if job.process is not None and job.died is None:
                code = job.process.poll()
                if code is not None and code != 0:
                    job.died = exit_reason(code)
                elif code == 0:
                    job.died = ""  # ended normally; the database says how the run did
        if self._polling or not self._jobs:
            return
        self._polling = True
        ids = list(self._jobs)
        died = {j.run_id: j.died for j in self._jobs.values() if j.died}
        self.ctx.tasks.start(run_control.watch, self.ctx.store, ids, died=died, quiet=True,
                             on_done=self._polled, on_error=self._poll_failed)

    def _poll_failed(self, message: str) -> None:
        if not shiboken6.isValid(self):
            return
        self._polling = False
        log.warning("polling runs failed: %s", message)

    def _polled(self, states: list[run_control.LiveState]) -> None:
        if not shiboken6.isValid(self):  # the page went away while the poll ran
            return
        self._polling = False
        now = time.monotonic()
        moved = []
        for state in states:
            job = self._jobs.get(state.run_id)
            if job is None:
                continue
            if job.process is not None and not job.claimed:
                if state.status == "running":
                    job.claimed = True
                elif job.died is None:
                    continue  # the child is starting
                elif state.status == "queued":
                    self._failed_to_start(job)
                    continue
                elif job.died:  # ended before we saw it run: say what it said
                    message = _last_line(job.log_path)
                    if message:
                        self.ctx.error.emit(f"Run {job.run_id}: {message}")
            if state.status not in ("queued", "running"):
                self._done(job, state)
                continue
            job.cancelling = job.cancelling or state.cancelling
            self._update_progress(job, state, now)
            moved.append(job.run_id)
        if moved:
            self.ticked.emit(moved)

    def _update_progress(self, job: Job, state: run_control.LiveState, now: float) -> None:
        job.samples.append((now, state.n_done))
        while len(job.samples) > 2 and now - job.samples[0][0] > RATE_WINDOW_S:
            job.samples.popleft()
        (t0, d0), (t1, d1) = job.samples[0], job.samples[-1]
        rate = (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0
        remaining = max(0, state.n_total - state.n_done)
        job.progress = runner.Progress(
            done=state.n_done, total=state.n_total, errors=state.n_errors,
            cached=state.n_cached, rows_per_s=rate,
            eta_s=remaining / rate if rate > 0 else None, concurrency=state.concurrency)
        job.history.append((now - job.started, rate, state.n_done))
        job.dirty = False

    def _done(self, job: Job, state: run_control.LiveState) -> None:
        self._forget(job)
        verb = {"completed": "finished", "cancelled": "cancelled"}.get(state.status,
                                                                      state.status)
        why = f" ({state.reason})" if state.reason and state.status != "completed" else ""
        self.ctx.status_message.emit(f"Run {job.run_id} {verb}: {state.n_done:,}/"
                                     f"{state.n_total:,} rows{why}")
        self.finished.emit(job.run_id, state.status)
        if state.status == "submitted":  # handed to a Batch API: followed on its own timer
            self.watch_batches(True)
        self.ctx.runs_changed.emit()

    def _failed_to_start(self, job: Job) -> None:
        message = _last_line(job.log_path) or job.died or "the run's process stopped"
        self._forget(job)
        self.ctx.error.emit(f"Run {job.run_id} did not start: {message}")
        self.finished.emit(job.run_id, "queued")
        self.ctx.runs_changed.emit()

    def _forget(self, job: Job) -> None:
        self._jobs.pop(job.run_id, None)
        if job.process is not None and job.process.poll() is None:
            self._ending.append(job.process)  # it is recording the end: reap it later
        if job.log_path is not None:
            try:  # a child still exiting keeps its handle (POSIX); Windows may refuse
                job.log_path.unlink(missing_ok=True)
            except OSError:
                pass
        if not self._jobs and not self._ending:
            self._timer.stop()


def _detached_session() -> dict:
    """Popen options that let the child outlive the window (and its Ctrl+C)."""
    if os.name == "nt":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
        return {"creationflags": flags}
    return {"start_new_session": True}


def _last_line(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    finally:
        path.unlink(missing_ok=True)
    line = lines[-1] if lines else ""
    return line.removeprefix("mlops-desk: error: ")


def reap_children(*, kill: bool = False, timeout_s: float = 10.0) -> int:
    """Wait for (or kill) every run child this process started; returns how many were
    still running. For tests, which must not leave processes behind."""
    running = 0
    while _CHILDREN:
        process = _CHILDREN.pop()
        if process.poll() is None:
            running += 1
            if kill:
                process.kill()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return running
