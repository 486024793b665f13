"""The run engine's writer: row results go to SQLite from one thread, and none is dropped.

The event loop only appends to a pending list; a thread with its own connection commits
what is pending every ``flush_every_s`` (or as soon as ``flush_rows`` are waiting), so a
slow or locked database never stalls the requests in flight. A commit that fails because
another program holds the write lock (or the disk is full, or an I/O error) keeps its rows
and is tried again with back-off, as the gateway's request log does. Only when writing has
failed for ``WritePolicy.retry_budget_s`` in a row does the writer give up: ``failure``
then says why, and the engine ends the run ``interrupted`` (resume sends the unsaved rows
again).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from mlops_desk.core import runs
from mlops_desk.core.errors import StoreError
from mlops_desk.core.logs import get_logger
from mlops_desk.core.store import BUSY_TIMEOUT_S, Store

log = get_logger("runner.writer")
T = TypeVar("T")

_INSERT_RESULT = (
    f"INSERT INTO run_results ({', '.join(('run_id', *runs.RESULT_COLUMNS))}) "
    f"VALUES ({', '.join('?' * (len(runs.RESULT_COLUMNS) + 1))})"
)
_INSERT_CACHE = (
    "INSERT OR IGNORE INTO response_cache (key, output, prompt_tokens, completion_tokens, "
    "created_at) VALUES (?, ?, ?, ?, ?)"
)
# Errors worth waiting out: another program's write lock, a full disk, an I/O hiccup.
TRANSIENT = (StoreError, sqlite3.OperationalError)


@dataclass(frozen=True)
class WritePolicy:
    busy_timeout_s: float = BUSY_TIMEOUT_S  # SQLite's own wait for the lock, per attempt
    retry_budget_s: float = 60.0  # how long writes may keep failing before the run stops
    max_pause_s: float = 2.0  # longest pause between two attempts


def retry_writes(write: Callable[[], T], policy: WritePolicy, what: str) -> T:
    """``write()``, tried again on transient errors until ``retry_budget_s`` is spent."""
    started, attempt = time.monotonic(), 0
    while True:
        try:
            return write()
        except TRANSIENT as exc:
            attempt += 1
            if time.monotonic() - started >= policy.retry_budget_s:
                raise StoreError(f"{what} failed for {policy.retry_budget_s:g} s: "
                                 f"{_one_line(exc)}") from exc
            log.warning("%s failed (attempt %d), retrying: %s", what, attempt, _one_line(exc))
            time.sleep(_pause(attempt, policy))


class RowWriter:
    def __init__(self, store: Store, policy: WritePolicy, *, flush_every_s: float,
                 flush_rows: int):
        self._store, self.policy = store, policy
        self._flush_every_s, self._flush_rows = flush_every_s, flush_rows
        self._lock = threading.Lock()
        self._rows: list[tuple] = []
        self._cache: list[tuple] = []
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._failing_since: float | None = None
        self.failure: str | None = None  # set once the retry budget is spent
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="mlops-run-writer")
        self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._rows)

    def add(self, row: tuple, cache: tuple | None = None) -> None:
        """Queue one row result (and its cache entry); called from the event loop."""
        with self._lock:
            self._rows.append(row)
            if cache is not None:
                self._cache.append(cache)
            full = len(self._rows) >= self._flush_rows
        if full:
            self._wake.set()

    def close(self) -> None:
        """Write what is pending (retrying within the budget), then end the thread."""
        self._closing.set()
        self._wake.set()
        self._thread.join()

    # -- writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._store.conn.execute(
                f"PRAGMA busy_timeout = {int(self.policy.busy_timeout_s * 1000)}")
            attempt = 0
            while True:
                closing = self._closing.is_set()
                if self._write_pending():
                    attempt = 0
                    if closing:
                        return
                    self._wake.wait(self._flush_every_s)
                    self._wake.clear()
                elif self.failure is not None:
                    return  # the rows stay unsaved; the run ends interrupted
                else:
                    attempt += 1
                    time.sleep(_pause(attempt, self.policy))
        except BaseException as exc:  # a bug: the run must not end 'completed' without rows
            self.failure = f"results could not be written: {type(exc).__name__}: {exc}"
            log.exception("run writer stopped")
        finally:
            self._store.close_thread_connection()

    def _write_pending(self) -> bool:
        """True when everything pending at the call is committed (or nothing was pending)."""
        with self._lock:
            rows, cache = list(self._rows), list(self._cache)
        if not rows and not cache:
            return True
        try:
            with self._store.transaction() as db:
                db.conn.executemany(_INSERT_RESULT, rows)
                if cache:
                    db.conn.executemany(_INSERT_CACHE, cache)
        except TRANSIENT as exc:
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            failing_for = now - self._failing_since
            log.warning("run results not written (%d pending, failing for %.1f s): %s",
                        len(rows), failing_for, _one_line(exc))
            if failing_for >= self.policy.retry_budget_s:
                self.failure = (f"results could not be written for {failing_for:.0f} s "
                                f"({len(rows)} rows unsaved): {_one_line(exc)}")
                log.error("run writer gave up: %s", self.failure)
            return False
        with self._lock:  # rows added meanwhile stay pending for the next round
            del self._rows[:len(rows)]
            del self._cache[:len(cache)]
        self._failing_since = None
        self.written += len(rows)
        return True


def _pause(attempt: int, policy: WritePolicy) -> float:
    return min(0.05 * 2 ** attempt, policy.max_pause_s)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
