"""Concurrency and rate control for the runner: AIMD limiter, token buckets, back-off."""

from __future__ import annotations

import asyncio
import random
import time


class AdaptiveLimiter:
    """Bounded concurrency that halves on 429 and grows back one step per window (AIMD).

    A 429 with Retry-After also pauses *all* new requests until that moment, so the
    whole run honours the server's wish, not just the row that was told.
    """

    def __init__(self, limit: int, *, minimum: int = 1):
        self.maximum = max(1, limit)
        self.minimum = max(1, min(minimum, self.maximum))
        self.limit = self.maximum
        self.in_flight = 0
        self._successes = 0
        self._paused_until = 0.0
        self._last_cut = float("-inf")
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            while True:
                wait = self._paused_until - time.monotonic()
                if wait > 0:
                    try:
                        await asyncio.wait_for(self._changed.wait(), timeout=wait)
                    except TimeoutError:
                        pass
                    continue
                if self.in_flight < self.limit:
                    self.in_flight += 1
                    return
                await self._changed.wait()

    async def release(self) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    async def on_success(self) -> None:
        # Additive increase: one more slot after a full window of successes.
        if self.limit >= self.maximum:
            return
        self._successes += 1
        if self._successes >= self.limit:
            async with self._changed:
                self.limit = min(self.maximum, self.limit + 1)
                self._successes = 0
                self._changed.notify_all()

    async def on_rate_limited(self, retry_after_s: float | None, *,
                              sent_at: float | None = None) -> None:
        """Halve once per overload: a 429 to a request sent (``time.monotonic()``) before the
        last cut reports the overload already acted on, so it only extends the pause. Without
        this, N requests in flight during one overload would cut the limit N times."""
        async with self._changed:
            if sent_at is None or sent_at >= self._last_cut:
                self.limit = max(self.minimum, self.limit // 2)
                self._successes = 0
                self._last_cut = time.monotonic()
            if retry_after_s:
                self._paused_until = max(self._paused_until, time.monotonic() + retry_after_s)
            self._changed.notify_all()


class TokenBucket:
    """``per_minute`` units per minute, refilled continuously, bursting up to ``burst_s``
    seconds' worth (at least one unit).

    The burst is one second, not one minute: a bucket holding a minute's worth that starts
    full lets 2x the limit through in the first minute, and providers enforce their per-minute
    limits over much shorter windows (60,000 TPM as ~1,000 tokens per second), so that burst
    would be answered with 429s. A request larger than the burst waits for a full bucket and
    leaves it in debt, so the long-run rate still holds.
    """

    def __init__(self, per_minute: float, *, burst_s: float = 1.0):
        if per_minute <= 0:
            raise ValueError(f"rate must be positive, got {per_minute}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_s)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, amount: float = 1.0) -> None:
        need = min(amount, self.capacity)  # a huge request must still pass eventually
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= need:
                    self.tokens -= amount  # in full: may go negative (debt)
                    return
                await asyncio.sleep((need - self.tokens) / self.rate)


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 20.0,
                  rng: random.Random | None = None) -> float:
    """Exponential back-off with full jitter: uniform(0, min(cap, base * 2**(attempt - 1)))."""
    return (rng or random).uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))


def retry_after_seconds(headers) -> float | None:
    """``retry-after-ms`` (OpenAI, Azure) or ``Retry-After`` seconds; None if absent/bad."""
    if headers is None:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            return None  # an HTTP date; rare from model servers, so fall back to back-off
    return None
