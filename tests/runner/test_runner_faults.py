"""Faults: 429 and back-off, 5xx, timeouts, malformed answers, dropped connections, 401, quota."""

from __future__ import annotations

import functools
import itertools
import time

import pytest

from mlops_desk.core import flow_control, runner, runs
from mlops_desk.core.errors import RunAborted
from mlops_desk.core.runner import execute
from tests.runner.helpers import ArrivalClock, build_workspace, cycle_rows, script_faults
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


class RecordingLimiter(flow_control.AdaptiveLimiter):
    """The engine's limiter, noting every limit it takes."""

    instances: list[RecordingLimiter] = []

    def __init__(self, limit: int, **kwargs):
        super().__init__(limit, **kwargs)
        self.history = [self.limit]
        RecordingLimiter.instances.append(self)

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name == "limit" and hasattr(self, "history") and self.history[-1] != value:
            self.history.append(value)


@pytest.fixture
def limiters(monkeypatch) -> list[RecordingLimiter]:
    RecordingLimiter.instances = []
    monkeypatch.setattr(runner, "AdaptiveLimiter", RecordingLimiter)
    return RecordingLimiter.instances


@pytest.fixture
def backoffs(monkeypatch) -> list[tuple[int, float]]:
    """The real jittered back-off, 25x shorter so tests stay fast; records (attempt, delay)."""
    calls: list[tuple[int, float]] = []
    quick = functools.partial(flow_control.backoff_delay, base=0.02)

    def recording(attempt: int) -> float:
        delay = quick(attempt)
        calls.append((attempt, delay))
        return delay

    monkeypatch.setattr(runner, "backoff_delay", recording)
    return calls


def by_row(ws, run_id: int) -> dict[int, dict]:
    return {r["row_idx"]: r for r in ws.results(run_id)}


@pytest.mark.parametrize(("header", "wait_s"), [({"retry_after_ms": 300}, 0.3),
                                                ({"retry_after": 1}, 1.0)])
def test_429_halves_concurrency_and_honours_retry_after(store, tmp_path, fake_openai, limiters,
                                                        header, wait_s):
    fake_openai.latency_s = 0.02
    clock = ArrivalClock(fake_openai)
    fake_openai.faults.add("429", count=1, **header)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(16))
    run = execute(store, ws.create(concurrency=4))

    assert run.status == "completed" and run.metrics["accuracy"] == 1.0
    assert fake_openai.request_count == 17
    limited = ws.row_of(fake_openai.requests[0])
    results = by_row(ws, run.id)
    assert results[limited]["attempts"] == 2 and results[limited]["error_class"] is None
    assert all(r["attempts"] == 1 for i, r in results.items() if i != limited)
    # The row's retry went out only after the server's wait.
    retry = next(i for i, r in enumerate(fake_openai.requests)
                 if i > 0 and ws.row_of(r) == limited)
    assert clock.times[retry] - clock.times[0] >= wait_s - 0.01
    # AIMD: halved once (4 -> 2), then grew back one step at a time to the maximum.
    history = limiters[0].history
    assert history[:2] == [4, 2]
    assert all(b == a + 1 for a, b in itertools.pairwise(history[1:]))
    assert history[-1] == 4


def test_a_burst_of_429s_from_one_overload_halves_once(store, tmp_path, fake_openai, limiters):
    # Eight requests in flight all get 429 for the same overload: that is one signal, so the
    # limit halves once (8 -> 4) instead of collapsing to 1 (8 -> 4 -> 2 -> 1). Request 0 is
    # the preflight, answered alone before the others fan out.
    fake_openai.latency_s = 0.1
    script_faults(fake_openai, dict.fromkeys(range(1, 9), "429"), retry_after_ms=50)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(9))
    run = execute(store, ws.create(concurrency=8))
    assert run.status == "completed" and fake_openai.request_count == 17
    assert min(limiters[0].history) == 4


def test_5xx_retried_with_backoff_then_kept_as_row_error(store, tmp_path, fake_openai, backoffs):
    # Row 0: 500, 503, then an answer; row 1: 500 on all three attempts.
    script_faults(fake_openai, {0: "500", 1: "503", 3: "500", 4: "500", 5: "500"})
    clock = ArrivalClock(fake_openai)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(6))
    run = execute(store, ws.create(concurrency=1, max_attempts=3))

    assert run.status == "completed" and run.n_done == 6
    assert fake_openai.request_count == 3 + 3 + 4  # max_attempts bounds the tries
    results = by_row(ws, run.id)
    assert results[0]["attempts"] == 3 and results[0]["error_class"] is None
    assert results[0]["correct"] == 1
    assert results[1]["attempts"] == 3 and results[1]["error_class"] == "http_500"
    assert "HTTP 500" in results[1]["error_message"] and results[1]["correct"] == 0
    assert results[1]["output"] is None and results[1]["prediction"] is None
    assert all(results[i]["attempts"] == 1 for i in range(2, 6))
    m = run.metrics
    assert m["n_errors"] == 1 and m["error_rate"] == pytest.approx(1 / 6)
    assert m["accuracy"] == pytest.approx(5 / 6)
    # Back-off before every retry (not after the last try), each waited out.
    assert [attempt for attempt, _ in backoffs] == [1, 2, 1, 2]
    gaps = [clock.times[i + 1] - clock.times[i] for i in (0, 1, 3, 4)]
    assert all(gap >= delay - 0.005 for gap, (_, delay) in zip(gaps, backoffs, strict=True))


def test_backoff_is_exponential_with_full_jitter():
    import random

    rng = random.Random(7)
    for attempt, cap in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 20.0)):
        delays = [flow_control.backoff_delay(attempt, rng=rng) for _ in range(300)]
        assert min(delays) >= 0 and max(delays) <= cap
        assert max(delays) > 0.8 * cap and min(delays) < 0.2 * cap  # jitter spans the range


def test_slow_answers_time_out_explicitly(store, tmp_path, fake_openai, backoffs):
    # Row 0: two timeouts, kept as its error; row 1: one timeout, then an answer.
    script_faults(fake_openai, {0: "slow", 1: "slow", 2: "slow"}, delay_s=30)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(4),
                         timeout_s=0.3)
    started = time.monotonic()
    run = execute(store, ws.create(concurrency=1, max_attempts=2))
    elapsed = time.monotonic() - started

    assert run.status == "completed"
    assert elapsed < 3.0  # three 0.3 s timeouts, not 30 s answers (nor the SDK's 600 s)
    results = by_row(ws, run.id)
    assert results[0]["error_class"] == "timeout" and results[0]["attempts"] == 2
    assert "0.3 s" in results[0]["error_message"]
    assert results[1]["error_class"] is None and results[1]["attempts"] == 2
    assert fake_openai.request_count == 2 + 2 + 1 + 1


def test_malformed_and_dropped_answers_are_retried_then_recorded(store, tmp_path, fake_openai,
                                                                 backoffs):
    # Rows 0 and 1 recover on the second try; rows 2 and 3 fail all three.
    script_faults(fake_openai, {0: "malformed", 2: "drop", 4: "malformed", 5: "malformed",
                                6: "malformed", 7: "drop", 8: "drop", 9: "drop"})
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(5))
    run = execute(store, ws.create(concurrency=1, max_attempts=3))

    assert run.status == "completed" and run.n_done == 5
    results = by_row(ws, run.id)
    assert [results[i]["attempts"] for i in range(5)] == [2, 2, 3, 3, 1]
    assert [results[i]["error_class"] for i in range(5)] == [
        None, None, "bad_response", "connection", None]
    assert results[0]["correct"] == results[1]["correct"] == 1
    assert fake_openai.request_count == 2 + 2 + 3 + 3 + 1
    assert run.metrics["n_errors"] == 2


def test_401_stops_the_run_at_once(store, tmp_path, fake_openai, monkeypatch):
    fake_openai.api_key = "sk-right-key-0123456789"
    monkeypatch.setenv("FAKE_KEY", "sk-wrong-key-0123456789")
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(60))
    from mlops_desk.core import registry

    registry.update_endpoint(store, "fake", api_key_ref="env:FAKE_KEY")
    run_id = ws.create(concurrency=4)
    with pytest.raises(RunAborted, match="refused the API key") as caught:
        execute(store, run_id)
    run = runs.get_run(store, run_id)
    assert run.status == "failed" and "API key" in run.reason and "HTTP 401" in run.reason
    assert "sk-wrong" not in run.reason and "sk-wrong" not in str(caught.value)
    assert fake_openai.request_count <= 8  # the in-flight few, not 60
    assert run.n_done == 0

    # Fix the key and resume the failed run: it completes, every row once.
    monkeypatch.setenv("FAKE_KEY", "sk-right-key-0123456789")
    run = execute(store, run_id)
    assert run.status == "completed" and run.n_done == 60 and run.reason is None


def test_insufficient_quota_stops_the_run_at_once(store, tmp_path, fake_openai):
    fake_openai.faults.set_rate("insufficient_quota", 1.0)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(60))
    run_id = ws.create(concurrency=4)
    with pytest.raises(RunAborted, match="quota"):
        execute(store, run_id)
    run = runs.get_run(store, run_id)
    assert run.status == "failed" and "quota is exhausted" in run.reason
    assert fake_openai.request_count <= 8
