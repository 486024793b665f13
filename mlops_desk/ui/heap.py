"""When the window pays for Python's full garbage collections.

CPython walks its whole heap (about 100,000 objects once the window and a chart exist: a
60-120 ms pause on a 2-core machine) whenever the heap has grown by a quarter since the last
such pass. Building the window or a page, and importing pyqtgraph for the first chart, grow
it by far more, so a full pass falls due at once, and fires at whatever moment next
allocates: typically seconds later, in the middle of a run the window is following.

``collect_after_build`` runs that pass in the next event-loop turn instead, right after a
build the user is waiting for anyway. What the window keeps while a run goes (result rows
as plain values, cell texts as tuples of strings) is mostly untracked by the collector and
grows the heap little, so no full pass falls due during the run.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QTimer

from mlops_desk.core.logs import get_logger

log = get_logger("ui.heap")
_pending = False


def collect_after_build() -> None:
    """One full collection in the next event-loop turn (several builds in a turn: one)."""
    global _pending
    if not _pending:
        _pending = True
        QTimer.singleShot(0, _collect)


def _collect() -> None:
    global _pending
    _pending = False
    started = time.perf_counter()
    freed = gc.collect()
    log.debug("full collection after a build: %d objects freed in %.0f ms", freed,
              (time.perf_counter() - started) * 1000)
