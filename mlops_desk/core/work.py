"""One protocol for long work: progress, cancel, and a result or a one-line error.

A task function (a run, a dataset import, the sample workspace, a report export) takes two
keyword arguments and keeps to one convention, so every face drives it the same way (the
GUI wraps it once in ``ui/workers.py``; the CLI passes a token its Ctrl+C handler sets):

- ``on_progress``: None, or a callable given one ``Progress`` value (one argument, so a Qt
  signal can carry it); it is called from the task's thread.
- ``cancel``: None, or a ``CancelToken``; the task checks ``cancel.cancelled`` between steps.
- The task returns its result, or raises an ``MlopsError`` whose text is one line;
  ``Cancelled`` when it stopped because it was asked to. Each task's docstring says what a
  cancel keeps (a run keeps the rows it stored; an import or an export keeps nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from mlops_desk.core.errors import MlopsError


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` steps (rows, stages), and what is happening now."""

    done: int
    total: int
    message: str = ""

    def __str__(self) -> str:
        return f"{self.done}/{self.total}: {self.message}"


OnProgress = Callable[[Progress], None]


class CancelToken:
    """Set from any thread; a task notices at its next check."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Cancelled(MlopsError):
    """The task stopped because it was asked to (exit 130, as for Ctrl+C)."""

    exit_code = 130


def is_cancelled(cancel: CancelToken | None) -> bool:
    return cancel is not None and cancel.cancelled


def report(on_progress: OnProgress | None, done: int, total: int, message: str = "") -> None:
    if on_progress is not None:
        on_progress(Progress(done, total, message))
