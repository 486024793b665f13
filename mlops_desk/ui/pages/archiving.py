"""Archive / Restore for a list page: the list asks, a task changes the flag, the page hears.

A refusal (something deployed would be hidden) reaches the user as a readable error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from mlops_desk.core import archive
from mlops_desk.ui.app_context import AppContext
from mlops_desk.ui.loader import guarded
from mlops_desk.ui.widgets.item_list import FilterableList


class Archiver(QObject):
    def __init__(self, ctx: AppContext, owner: QObject, kind: str, item_list: FilterableList,
                 announce: Callable[[], None]):
        super().__init__(owner)
        self.ctx, self.kind, self.item_list, self.announce = ctx, kind, item_list, announce
        self._task = None
        item_list.archive_requested.connect(self.set_archived)

    def set_archived(self, name: Any, archived: bool) -> None:
        button = self.item_list.archive_button
        if button is not None:
            button.setEnabled(False)
        self._task = self.ctx.tasks.start(
            archive.set_archived, self.ctx.store, self.kind, name, archived,
            on_done=guarded(self, lambda changed: self._done(name, archived)),
            on_error=guarded(self, self._failed))

    def _done(self, name: str, archived: bool) -> None:
        switch = self.item_list.show_archived
        shown = switch is not None and switch.isChecked()
        where = "" if shown or not archived else " (hidden: see 'Show archived')"
        self.ctx.status_message.emit(
            f"{self.kind.capitalize()} {name} {'archived' if archived else 'restored'}{where}.")
        self.announce()

    def _failed(self, message: str) -> None:
        self.item_list.update_archive_button()
        self.ctx.error.emit(message)
