"""A run never loses a row: another program holding the database's write lock only delays
the writes; past the write budget the run ends 'interrupted' and resume finishes it."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from mlops_desk.core import runs
from mlops_desk.core.errors import RunInterrupted
from mlops_desk.core.run_writer import WritePolicy
from mlops_desk.core.runner import execute
from tests.runner.helpers import build_workspace, cycle_rows, stored_count, wait_until
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


class LockHolder:
    """Another program: takes the write lock once ``after_rows`` rows are stored, keeps it
    until ``release`` is set (or ``hold_s`` has passed), then commits."""

    def __init__(self, db_path: Path, run_id: int, *, after_rows: int, hold_s: float = 60.0):
        self.db_path, self.run_id, self.after_rows, self.hold_s = db_path, run_id, after_rows, \
            hold_s
        self.release = threading.Event()
        self.taken = threading.Event()
        self.rows_when_taken = -1
        self.held_s = 0.0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._hold, name="lock-holder")
        self.thread.start()

    def _hold(self) -> None:
        try:
            wait_until(lambda: stored_count(self.db_path, self.run_id) >= self.after_rows,
                       timeout=30, what=f"{self.after_rows} stored rows")
            conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                started = time.monotonic()
                self.rows_when_taken = conn.execute(
                    "SELECT count(*) FROM run_results WHERE run_id = ?",
                    [self.run_id]).fetchone()[0]
                self.taken.set()
                self.release.wait(self.hold_s)
                self.held_s = time.monotonic() - started
                conn.execute("COMMIT")
            finally:
                conn.close()
        except BaseException as exc:  # reported by join()
            self.error = exc
            self.taken.set()

    def join(self) -> None:
        self.release.set()
        self.thread.join(timeout=60)
        if self.error is not None:
            raise self.error


def rows_once(store, run_id: int) -> list[tuple[int, int]]:
    return store.db.execute("SELECT row_idx, count(*) FROM run_results WHERE run_id = ? "
                            "GROUP BY row_idx ORDER BY row_idx", [run_id]).fetchall()


def test_a_lock_held_longer_than_the_busy_timeout_loses_no_row(store, db_path, tmp_path,
                                                                fake_openai):
    # The busy timeout is cut to 0.1 s so a 1.5 s lock outlasts it many times over.
    fake_openai.latency_s = 0.05  # a run of a second or more: the lock lands mid-run
    n = 60
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(n))
    run_id = ws.create(concurrency=2)
    holder = LockHolder(db_path, run_id, after_rows=5, hold_s=1.5)
    try:
        run = execute(store, run_id,
                      write_policy=WritePolicy(busy_timeout_s=0.1, retry_budget_s=20))
    finally:
        holder.join()
    assert holder.held_s >= 1.4 and holder.rows_when_taken < n  # held mid-run
    assert run.status == "completed" and run.n_done == n and run.reason is None
    assert rows_once(store, run_id) == [(i, 1) for i in range(n)]
    assert run.metrics["accuracy"] == 1.0 and run.metrics["complete"] is True


@pytest.mark.slow
def test_a_15_s_lock_with_the_default_busy_timeout_loses_no_row(store, db_path, tmp_path,
                                                                 fake_openai):
    # The case: another program holds BEGIN IMMEDIATE for 15 s, past SQLite's 10 s
    # busy timeout. The old engine dropped the rows it was flushing and still said
    # 'completed'; now the writes wait and every row is stored.
    fake_openai.latency_s = 0.05  # a run of a second or more: the lock lands mid-run
    n = 40
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(n))
    run_id = ws.create(concurrency=2)
    holder = LockHolder(db_path, run_id, after_rows=5, hold_s=15.0)
    try:
        run = execute(store, run_id)
    finally:
        holder.join()
    assert holder.held_s >= 15.0 and holder.rows_when_taken < n
    assert run.status == "completed" and run.n_done == n
    assert rows_once(store, run_id) == [(i, 1) for i in range(n)]


class WriterGaveUp(logging.Handler):
    """Notices the run's writer giving up (its retry budget spent)."""

    def __init__(self, event: threading.Event):
        super().__init__()
        self.event = event

    def emit(self, record: logging.LogRecord) -> None:
        if "run writer gave up" in record.getMessage():
            self.event.set()


def test_a_lock_held_past_the_write_budget_interrupts_the_run_and_resume_finishes_it(
        store, db_path, tmp_path, fake_openai):
    fake_openai.latency_s = 0.05  # a run of a second or more: the lock lands mid-run
    n = 60
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(n))
    run_id = ws.create(concurrency=2)
    holder = LockHolder(db_path, run_id, after_rows=5)
    # The lock goes once the writer gives up: recording the run's end then waits for it.
    handler = WriterGaveUp(holder.release)
    logger = logging.getLogger("mlops_desk.runner.writer")
    logger.addHandler(handler)
    try:
        with pytest.raises(RunInterrupted, match=r"interrupted: results could not be "
                                                 r"written .*locked") as caught:
            execute(store, run_id,
                    write_policy=WritePolicy(busy_timeout_s=0.05, retry_budget_s=0.5))
    finally:
        logger.removeHandler(handler)
        holder.join()
    assert len(str(caught.value).splitlines()) == 1
    run = runs.get_run(store, run_id)
    assert run.status == "interrupted" and "could not be written" in run.reason
    assert holder.rows_when_taken <= run.n_done < n  # rows after the lock were not stored

    resumed = execute(store, run_id)
    assert resumed.status == "completed" and resumed.n_done == n
    assert rows_once(store, run_id) == [(i, 1) for i in range(n)]


def test_a_run_with_fewer_stored_rows_than_selected_is_not_completed(store, tmp_path,
                                                                     fake_openai):
    # Whatever the cause, 'completed' is counted at the end, not assumed: a run whose
    # writer reported success but whose rows are not all there ends interrupted.
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(6))
    run_id = ws.create()
    store.db.execute("CREATE TRIGGER lose_row_3 BEFORE INSERT ON run_results "
                     "WHEN NEW.row_idx = 3 BEGIN SELECT RAISE(IGNORE); END")
    with pytest.raises(RunInterrupted, match="only 5 of 6 rows were stored"):
        execute(store, run_id)
    store.db.execute("DROP TRIGGER lose_row_3")
    assert runs.get_run(store, run_id).status == "interrupted"
    run = execute(store, run_id)  # resume fills in only row 3
    assert run.status == "completed" and run.n_done == 6
    assert rows_once(store, run_id) == [(i, 1) for i in range(6)]
