"""When the window pays for Python's full garbage collections.

CPython walks its whole heap (about 100,000 objects once the window and a chart exist: a
60-120 ms pause on a 2-core machine) whenever the heap has grown by a quarter since the last
such pass. Starting up, and importing pyqtgraph for the first chart, grow it by far more, so
a full pass falls due at once, and fires at whatever moment next allocates: typically
seconds later, in the middle of a run the window is following.

``collect_once`` runs that pass in the next event-loop turn instead, right after the build
the user is waiting for anyway, once per process for each of those two. What the window
keeps while a run goes (result rows as plain values, cell texts as tuples of strings) is
mostly untracked by the collector and grows the heap little, so no full pass falls due
during the run.
"""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QTimer

from mlops_desk.core.logs import get_logger

log = get_logger("ui.heap")
_done: set[str] = set()  # the reasons already collected for, in this process
_pending = False


def collect_once(reason: str) -> None:
    """One full collection in the next event-loop turn, the first time ``reason`` (start-up,
    pyqtgraph) happens in this process."""
    global _pending
    if reason in _done:
        return
    _done.add(reason)
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
