"""Requests-per-minute and tokens-per-minute limits."""

from __future__ import annotations

import asyncio
import time

import pytest

from mlops_desk.core.flow_control import TokenBucket
from mlops_desk.core.runner import execute
from tests.runner.helpers import ArrivalClock, build_workspace, cycle_rows
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def test_rpm_limit_paces_the_requests(store, tmp_path, fake_openai):
    # 600 rpm = 10 requests/s with a burst of one second's worth (10). 15 rows: 10 at once,
    # then one every 0.1 s, so the run takes at least 0.5 s; and in no stretch of time do
    # more requests go out than the burst plus the rate allows.
    clock = ArrivalClock(fake_openai)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(15))
    started = time.monotonic()
    run = execute(store, ws.create(concurrency=8, rpm=600))
    elapsed = time.monotonic() - started

    assert run.status == "completed" and fake_openai.request_count == 15
    assert 0.45 <= elapsed < 3.0
    times = clock.times
    for i in range(len(times)):
        for j in range(i + 10, len(times)):  # j - i + 1 requests > burst of 10
            assert times[j] - times[i] >= (j - i + 1 - 10) / 10 - 0.05, (i, j)


def test_rpm_from_the_endpoint_applies_when_the_run_sets_none(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(8), rpm=300)
    run_id = ws.create()
    started = time.monotonic()
    run = execute(store, run_id)
    assert run.settings["rpm"] == 300
    assert time.monotonic() - started >= (8 - 5) / 5 - 0.05  # burst 5, then 5 per second


@pytest.mark.parametrize("bad", [0, -5])
def test_a_non_positive_rate_is_refused(store, tmp_path, fake_openai, bad):
    ws = build_workspace(store, tmp_path, fake_openai.base_url)
    with pytest.raises(Exception, match="rpm"):
        ws.create(rpm=bad)
    with pytest.raises(Exception, match="tpm"):
        ws.create(tpm=bad)


def test_token_bucket_bursts_one_second_then_holds_the_rate():
    async def scenario():
        bucket = TokenBucket(1200)  # 20/s, burst 20
        started = time.monotonic()
        for _ in range(20):
            await bucket.take()
        burst = time.monotonic() - started
        for _ in range(6):
            await bucket.take()
        return burst, time.monotonic() - started

    burst, total = asyncio.run(scenario())
    assert burst < 0.05
    assert total >= 6 / 20 - 0.01


def test_token_bucket_charges_a_request_larger_than_its_burst_in_full():
    # tpm 600 = 10 tokens/s, burst 10; a 30-token request passes once the bucket is full but
    # leaves a 20-token debt, so the next one waits ~3 s: the long-run rate holds.
    async def scenario():
        bucket = TokenBucket(600)
        await bucket.take(30)
        try:
            await asyncio.wait_for(bucket.take(1), timeout=1.0)
        except TimeoutError:
            return True
        return False

    assert asyncio.run(scenario()) is True
