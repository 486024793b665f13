"""Loads whose newest request wins, and pages that reload only when something changed.

Orange3's pattern: starting a load cancels the one still in flight and drops its result, so a
slow answer to an old question never overwrites a newer one. Callbacks are skipped once their
owner widget is gone (the window may close while a task finishes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject

from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.workers import TaskHandle


class LatestLoad:
    def __init__(self, ctx: AppContext, owner: QObject):
        self.ctx = ctx
        self.owner = owner
        self._generation = 0
        self._handle: TaskHandle | None = None

    @property
    def running(self) -> bool:
        return self._handle is not None and self._handle.running

    def start(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None],
              on_error: Callable[[str], None] | None = None, **kwargs: Any) -> TaskHandle:
        if self._handle is not None and self._handle.running:
            self._handle.cancel()
        self._generation += 1
        generation = self._generation
        error_slot = on_error or self.ctx.error.emit

        def current() -> bool:
            return generation == self._generation and shiboken6.isValid(self.owner)

        def done(result: Any) -> None:
            if current():
                on_done(result)

        def failed(message: str) -> None:
            if current():
                error_slot(message)

        self._handle = self.ctx.tasks.start(fn, *args, on_done=done, on_error=failed, **kwargs)
        return self._handle


def guarded(owner: QObject, slot: Callable[[Any], None]) -> Callable[[Any], None]:
    """``slot`` that does nothing once ``owner``'s C++ object has been deleted."""

    def call(value: Any) -> None:
        if shiboken6.isValid(owner):
            slot(value)

    return call


class StaleFlag:
    """A page reloads when shown if something changed while it was hidden.

    ``mark()`` is connected to the context's change signals; it reloads at once when the page
    is visible, or remembers to when it is next activated.
    """

    def __init__(self, page: Any, reload: Callable[[], None]):
        self.page = page
        self.reload = reload
        self.stale = True

    def mark(self) -> None:
        self.stale = True
        if self.page.isVisible():
            self.refresh()

    def activated(self) -> None:
        if self.stale:
            self.refresh()

    def refresh(self) -> None:
        self.stale = False
        self.reload()
