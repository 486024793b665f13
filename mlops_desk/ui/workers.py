"""Run core functions off the GUI thread and bring their results back as signals.

As in Orange3's ``concurrent.py``: a task is a plain function; the pool thread
runs it; its progress, result or error reach the GUI thread through a signal
holder created *in the GUI thread*, and slots are methods of GUI objects. Pool
threads open their own SQLite connection (one per thread) and close it after
each task, so nothing dangles when the app quits.
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

from mlops_desk.core.errors import MlopsError
from mlops_desk.core.logs import get_logger
from mlops_desk.core.secrets import redact
from mlops_desk.core.store import Store, known_error
from mlops_desk.core.work import CancelToken

log = get_logger("ui.workers")

class TaskSignals(QObject):
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)


class Task(QRunnable):
    """``fn(*args, **kwargs)`` in a pool thread. If ``with_progress``, ``fn`` also gets
    ``on_progress=`` (a thread-safe emitter) and ``cancel=`` (a ``CancelToken``)."""

    def __init__(self, store: Store, fn: Callable[..., Any], args: tuple, kwargs: dict,
                 with_progress: bool):
        super().__init__()
        self.setAutoDelete(False)  # the runner keeps it until its result has been delivered
        self.store, self.fn, self.args, self.kwargs = store, fn, args, kwargs
        self.signals = TaskSignals()
        self.cancel = CancelToken()
        self.with_progress = with_progress

    def run(self) -> None:
        try:
            kwargs = dict(self.kwargs)
            if self.with_progress:
                kwargs["on_progress"] = self.signals.progress.emit
                kwargs["cancel"] = self.cancel
            result = self.fn(*self.args, **kwargs)
        except MlopsError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # pitfall 4: an exception in run() must not vanish
            known = known_error(exc, self.store.path)
            if known is not None:
                self.signals.failed.emit(str(known))
            else:
                log.error("task %s failed:\n%s", getattr(self.fn, "__name__", self.fn),
                          traceback.format_exc())
                self.signals.failed.emit(redact(f"{type(exc).__name__}: {exc}"))
        else:
            self.signals.finished.emit(result)
        finally:
            self.store.close_thread_connection()


class TaskHandle:
    """What the caller keeps: cancel it, or ask whether it is still running."""

    def __init__(self, task: Task):
        self._task = task
        self.running = True

    def cancel(self) -> None:
        self._task.cancel.cancel()


class TaskRunner(QObject):
    """Owns the pool and every running task; the main window waits for it on close."""

    active_changed = Signal(int)

    def __init__(self, store: Store, parent: QObject | None = None, *, max_threads: int = 4):
        super().__init__(parent)
        self.store = store
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self._tasks: dict[Task, TaskHandle] = {}
        self._quiet: set[Task] = set()
        # Results are handed to their callbacks one per event-loop turn: when several tasks
        # end together (a run ends: its record, its results page, the charts' data...), the
        # repaint each causes falls in its own turn instead of all holding the window in one.
        self._arrived: deque[tuple[Task, Callable[[Any], None] | None, Any]] = deque()
        self._deliver = QTimer(self)
        self._deliver.setSingleShot(True)
        self._deliver.setInterval(0)
        self._deliver.timeout.connect(self._deliver_next)

    def start(self, fn: Callable[..., Any], *args: Any,
              on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[str], None] | None = None,
              on_progress: Callable[[Any], None] | None = None,
              with_progress: bool = False, quiet: bool = False, **kwargs: Any) -> TaskHandle:
        """``quiet`` tasks (a poll every few hundred ms) are not counted as jobs: the
        status bar would blink with each one."""
        task = Task(self.store, fn, args, kwargs, with_progress or on_progress is not None)
        handle = TaskHandle(task)
        if on_progress is not None:
            task.signals.progress.connect(on_progress)
        task.signals.finished.connect(lambda result: self._done(task, on_done, result))
        task.signals.failed.connect(lambda message: self._done(task, on_error, message))
        self._tasks[task] = handle
        if quiet:
            self._quiet.add(task)
        else:
            self.active_changed.emit(self.active)
        self.pool.start(task)
        return handle

    @Slot()
    def _done(self, task: Task, callback: Callable[[Any], None] | None, value: Any) -> None:
        self._arrived.append((task, callback, value))
        if not self._deliver.isActive():
            self._deliver.start()

    def _deliver_next(self) -> None:
        """The oldest result to its callback; the task counts as running until then."""
        if not self._arrived:
            return
        task, callback, value = self._arrived.popleft()
        if self._arrived:
            self._deliver.start()
        handle = self._tasks.pop(task, None)
        if handle is not None:
            handle.running = False
        if task in self._quiet:
            self._quiet.discard(task)
        else:
            self.active_changed.emit(self.active)
        if callback is not None:
            callback(value)

    @property
    def active(self) -> int:
        return len(self._tasks) - len(self._quiet)

    def cancel_all(self) -> None:
        for handle in self._tasks.values():
            handle.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Cancel everything and wait for the pool; True if every thread finished."""
        self.cancel_all()
        return self.pool.waitForDone(timeout_ms)
