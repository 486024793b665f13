"""What every page shares: the store, the task runner, and change notifications."""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal

from mlops_desk.core.store import Store
from mlops_desk.ui.workers import TaskRunner


class AppContext(QObject):
    """Pages read through ``tasks`` (off the GUI thread) and announce changes here,
    so every other page can refresh without knowing who changed what."""

    registry_changed = Signal()  # endpoints, models, versions
    datasets_changed = Signal()
    runs_changed = Signal()
    deployments_changed = Signal()
    run_requested = Signal(int)  # a recorded run to execute now (the Runs page executes it)
    status_message = Signal(str)  # a transient line for the status bar
    error = Signal(str)  # a readable error for the user (shown by the main window)

    def __init__(self, store: Store, parent: QObject | None = None, *,
                 settings: QSettings | None = None):
        super().__init__(parent)
        self.store = store
        self.tasks = TaskRunner(store, self)
        # Where forms remember their last choices (the window's settings file).
        self.settings = settings if settings is not None else QSettings()
