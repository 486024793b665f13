"""Cancel keeps what is done, stops within a second, and a resume sends only what is missing."""

from __future__ import annotations

import threading
import time

import pytest

from mlops_desk.core import flow_control, runner, runs
from mlops_desk.core.runner import CancelToken, execute
from tests.runner.helpers import (
    build_workspace,
    cycle_rows,
    script_faults,
    stored_count,
    wait_until,
)
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


class Background:
    """``execute`` on a worker thread, as the GUI runs it."""

    def __init__(self, store, run_id: int, **kwargs):
        self.cancel = CancelToken()
        self.result: runs.Run | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(store, run_id), kwargs=kwargs,
                                       name="test-run")
        self.thread.start()

    def _run(self, store, run_id, **kwargs):
        try:
            self.result = execute(store, run_id, cancel=self.cancel, **kwargs)
        except BaseException as exc:  # reported by stop()
            self.error = exc
        finally:
            store.close_thread_connection()

    def stop(self) -> float:
        """Cancel; return how long execute took to give up."""
        started = time.monotonic()
        self.cancel.cancel()
        self.thread.join(timeout=30)
        elapsed = time.monotonic() - started
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
        return elapsed


def test_cancel_mid_run_keeps_finished_rows_and_resume_sends_only_the_rest(
        store, db_path, tmp_path, fake_openai):
    # The first 10 requests are answered; every later one hangs for 30 s, so both slots end
    # up stuck in a request when the cancel comes.
    script_faults(fake_openai, lambda n: "slow" if n >= 10 else None, delay_s=30)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(30))
    run_id = ws.create(concurrency=2)
    job = Background(store, run_id)
    wait_until(lambda: fake_openai.request_count >= 12, what="two hung requests")
    wait_until(lambda: stored_count(db_path, run_id) == 10, what="10 committed rows")

    assert job.stop() < 1.0
    run = job.result
    assert run.status == "cancelled" and run.reason == "cancelled by the user"
    kept = {r["row_idx"] for r in ws.results(run_id)}
    assert len(kept) == 10 and run.n_done == 10
    assert all(r["error_class"] is None and r["correct"] == 1 for r in ws.results(run_id))
    assert run.metrics["n_rows"] == len(kept) and run.metrics["complete"] is False

    # Resume: only the rows without a stored result are sent, and each exactly once.
    script_faults(fake_openai, {})
    before = fake_openai.request_count
    run = execute(store, run_id)
    assert run.status == "completed" and run.n_done == 30
    resent = [ws.row_of(r) for r in fake_openai.requests[before:]]
    assert sorted(resent) == sorted(set(range(30)) - kept)
    assert [r["row_idx"] for r in ws.results(run_id)] == list(range(30))
    assert run.metrics["n_rows"] == 30 and run.metrics["complete"] is True
    assert run.metrics["accuracy"] == 1.0


def test_cancel_during_a_retry_after_pause_is_still_prompt(store, tmp_path, fake_openai,
                                                           monkeypatch):
    limited = threading.Event()

    class Spy(flow_control.AdaptiveLimiter):
        async def on_rate_limited(self, *args, **kwargs):
            await super().on_rate_limited(*args, **kwargs)
            limited.set()

    monkeypatch.setattr(runner, "AdaptiveLimiter", Spy)
    fake_openai.faults.add("429", retry_after=5)  # the server asks the whole run to wait 5 s
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(20))
    run_id = ws.create(concurrency=2)
    job = Background(store, run_id)
    assert limited.wait(10), "the 429 was never handled"

    assert job.stop() < 1.0
    assert job.result.status == "cancelled"
    assert fake_openai.request_count <= 3


def test_progress_reports_done_total_errors_rate_and_eta(store, tmp_path, fake_openai,
                                                         monkeypatch):
    monkeypatch.setattr(runner, "PROGRESS_EVERY_S", 0.0)
    fake_openai.faults.add("500", count=2)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(8))
    seen = []
    run = execute(store, ws.create(concurrency=1, max_attempts=2), on_progress=seen.append)
    assert run.status == "completed"
    assert [p.done for p in seen[:8]] == list(range(1, 9))
    assert all(p.total == 8 and p.concurrency == 1 for p in seen)
    assert seen[-1].errors == 1 and seen[-1].done == 8 and seen[-1].eta_s == 0
    assert all(p.rows_per_s > 0 for p in seen)
    assert seen[0].eta_s == pytest.approx(7 / seen[0].rows_per_s)
