"""The gateway's request log: one background thread writes batches to ``gateway_requests``.

Request handlers only append to an in-memory queue; the writer commits whatever arrived
in the last ``flush_s`` in one transaction (never one commit per request), and does the
slower per-request work (parsing the label, pricing) off the event loop. Now and then it
also runs the drift check for the models that had traffic, so a drift warning reaches the
audit log even when nobody has the Monitor page open.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

from mlops_desk.core import monitoring
from mlops_desk.core.errors import MlopsError
from mlops_desk.core.inference import cost_usd
from mlops_desk.core.logs import get_logger
from mlops_desk.core.parsing import parse_output
from mlops_desk.core.store import Store

LABEL_MAX_CHARS = 200
MAX_BACKLOG = 100_000  # entries kept while the database is locked; older ones are dropped
_STOP = object()
log = get_logger("gateway.log")


@dataclass(frozen=True, slots=True)
class Entry:
    ts: float
    model: str
    model_id: int
    environment: str | None
    version_id: int
    latency_ms: float
    status: int
    prompt_tokens: int | None
    completion_tokens: int | None
    price: tuple[float, float] | None
    error: str | None
    input_chars: int | None
    text: str | None
    parser: str
    labels: tuple[str, ...]
    stream: bool

    def row(self) -> tuple:
        """The values of ``monitoring.REQUEST_COLUMNS``."""
        label = None
        if self.text is not None and (self.labels or self.parser not in ("text", "json")):
            try:
                prediction, _ = parse_output(self.parser, self.text, list(self.labels))
            except MlopsError:  # a parser spec this version of the app cannot read
                prediction = None
            label = prediction[:LABEL_MAX_CHARS] if prediction is not None else None
        return (self.ts, self.model_id, self.environment, self.version_id, self.latency_ms,
                self.status, self.prompt_tokens, self.completion_tokens,
                cost_usd(self.price, self.prompt_tokens, self.completion_tokens), self.error,
                self.input_chars, label, int(self.stream))


class RequestLog:
    def __init__(self, store: Store, *, flush_s: float = 0.25, drift_check_s: float = 300.0):
        self._store = store
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._flush_s = flush_s
        self._drift_check_s = drift_check_s
        self._backlog: list[tuple] = []
        self._active_models: set[str] = set()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.written = 0

    def record(self, entry: Entry) -> None:
        self._queue.put(entry)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gateway-request-log",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is not None:
            self._stopping.set()
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        next_drift = time.monotonic() + self._drift_check_s
        try:
            while True:
                batch, stopping = self._collect()
                self._write(batch)
                if stopping:
                    return
                if self._drift_check_s and time.monotonic() >= next_drift:
                    self._check_drift()
                    next_drift = time.monotonic() + self._drift_check_s
        finally:
            self._store.close_thread_connection()

    def _collect(self) -> tuple[list[Entry], bool]:
        """Wait for a first entry, let ``flush_s`` of traffic gather, then take it all.

        Sleeping rather than waking on every entry matters: each wake-up would take the GIL
        from the event loop once per request.
        """
        try:
            item = self._queue.get(timeout=self._flush_s)
        except queue.Empty:
            return [], False
        self._stopping.wait(self._flush_s)  # returns at once when stop() is called
        batch: list[Entry] = []
        stopping = False
        while True:
            if item is _STOP:
                stopping = True
            else:
                batch.append(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, stopping

    def _write(self, batch: list[Entry]) -> None:
        rows = self._backlog + [entry.row() for entry in batch]
        self._active_models.update(entry.model for entry in batch)
        if not rows:
            return
        try:
            monitoring.write_requests(self._store, rows)
        except MlopsError as exc:  # locked or full: keep the rows and try again next round
            self._backlog = rows[-MAX_BACKLOG:]
            log.warning("request log not written (%d pending): %s", len(self._backlog), exc)
            return
        self._backlog = []
        self.written += len(rows)

    def _check_drift(self) -> None:
        models, self._active_models = self._active_models, set()
        for model in sorted(models):
            try:
                monitoring.record_drift(self._store, model)
            except Exception:  # a drift check must never stop request logging
                log.exception("drift check for %s failed", model)
