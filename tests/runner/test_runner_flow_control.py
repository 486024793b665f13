"""Units behind the engine: status classification, Retry-After parsing, the AIMD limiter."""

from __future__ import annotations

import asyncio
import time

import httpx2
import openai
import pytest

from mlops_desk.core.flow_control import AdaptiveLimiter, retry_after_seconds
from mlops_desk.core.runner import _Abort, _classify_status, _Retryable, _RowError


def status_error(status: int, code: str | None = None, headers: dict | None = None):
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    body = {"message": f"status {status}", "type": "error", "code": code}
    response = httpx2.Response(status, request=request, headers=headers or {},
                               json={"error": body})
    return openai.APIStatusError(f"status {status}", response=response, body=body)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(status):
    outcome = _classify_status(status_error(status, headers={"retry-after": "2"}))
    assert isinstance(outcome, _Retryable) and outcome.error_class == f"http_{status}"
    assert outcome.retry_after == 2.0 and outcome.rate_limited == (status == 429)


@pytest.mark.parametrize("status", [400, 404, 422])
def test_request_errors_are_row_errors_without_retry(status):
    outcome = _classify_status(status_error(status))
    assert isinstance(outcome, _RowError) and outcome.error_class == f"http_{status}"


@pytest.mark.parametrize(("status", "code", "words"), [
    (401, "invalid_api_key", "refused the API key"), (403, None, "refused the API key"),
    (429, "insufficient_quota", "quota is exhausted")])
def test_key_and_quota_errors_stop_the_run(status, code, words):
    outcome = _classify_status(status_error(status, code))
    assert isinstance(outcome, _Abort) and words in str(outcome)


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after-ms": "250"}, 0.25), ({"retry-after": "3"}, 3.0),
    ({"retry-after-ms": "100", "retry-after": "9"}, 0.1),  # the precise one wins
    ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, None), ({}, None),
    ({"retry-after": "-4"}, 0.0)])
def test_retry_after_headers(headers, seconds):
    assert retry_after_seconds(httpx2.Headers(headers)) == seconds


def test_limiter_halves_to_a_floor_grows_back_and_pauses():
    async def scenario():
        limiter = AdaptiveLimiter(5)
        await limiter.on_rate_limited(None)
        assert limiter.limit == 2
        await limiter.on_rate_limited(None)
        await limiter.on_rate_limited(None)
        assert limiter.limit == 1  # never below one
        for expected in (2, 2, 3, 3, 3, 4):
            await limiter.on_success()
            assert limiter.limit == expected  # +1 after a full window of successes
        # A 429 with Retry-After holds every new request back until then.
        await limiter.on_rate_limited(0.2)
        started = time.monotonic()
        await limiter.acquire()
        return time.monotonic() - started

    assert asyncio.run(scenario()) >= 0.19


def test_limiter_bounds_requests_in_flight():
    async def scenario():
        limiter = AdaptiveLimiter(3)
        peak = current = 0

        async def one():
            nonlocal peak, current
            await limiter.acquire()
            current += 1
            peak = max(peak, current)
            await asyncio.sleep(0.01)
            current -= 1
            await limiter.release()

        await asyncio.gather(*(one() for _ in range(20)))
        return peak

    assert asyncio.run(scenario()) == 3
