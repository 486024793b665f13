"""The request log writes in batches, survives a locked database, and runs drift checks."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from mlops_desk.core import audit, deploy, gates
from mlops_desk.core.errors import StoreError
from mlops_desk.core.store import Store
from mlops_desk.gateway.request_log import Entry, RequestLog
from tests.deploy.world import World, build_world


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    return build_world(store, tmp_path)


def entry(world: World, *, text: str = "bug", chars: int = 30, ts: float | None = None) -> Entry:
    return Entry(ts=time.time() if ts is None else ts, model="triage", model_id=1,
                 environment="production", version_id=world.version(1).id, latency_ms=12.5,
                 status=200, prompt_tokens=10, completion_tokens=2, price=(1.0, 2.0),
                 error=None, input_chars=chars, text=text, parser="label",
                 labels=("bug", "billing", "other"), stream=False)


def count_transactions(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = store.transaction

    @contextlib.contextmanager
    def counted():
        calls.append(1)
        with original() as db:
            yield db

    monkeypatch.setattr(store, "transaction", counted)
    return calls


def test_entries_are_written_in_batches(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    transactions = count_transactions(world.store, monkeypatch)
    log = RequestLog(world.store, flush_s=0.2, drift_check_s=0)
    log.start()
    for _ in range(300):
        log.record(entry(world, text="  Bug. "))
    log.stop()
    assert log.written == 300 and len(transactions) <= 2
    rows = world.store.db.execute("SELECT label, cost, latency_ms FROM gateway_requests").fetchall()
    assert len(rows) == 300
    assert rows[0] == ("bug", pytest.approx((10 * 1.0 + 2 * 2.0) / 1e6), 12.5)


def test_a_locked_database_keeps_the_entries_for_the_next_round(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    log = RequestLog(world.store, drift_check_s=0)
    original = world.store.transaction
    failures = iter([StoreError("database is locked")])

    @contextlib.contextmanager
    def flaky():
        for err in failures:
            raise err
        with original() as db:
            yield db

    monkeypatch.setattr(world.store, "transaction", flaky)
    log._write([entry(world), entry(world)])
    assert log.written == 0
    log._write([entry(world)])
    assert log.written == 3


def test_the_writer_runs_the_drift_check_for_models_with_traffic(world: World) -> None:
    gates.set_policy(world.store, "triage", "production", "gate-set", ["accuracy>=0.5"])
    world.run(1)
    deploy.deploy(world.store, "triage", 1, "production")
    log = RequestLog(world.store, flush_s=0.05, drift_check_s=0.01)
    log.start()
    try:
        for _ in range(50):  # every answer "bug" and ten times longer than the test inputs
            log.record(entry(world, text="bug", chars=400))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(e["action"] == "drift.warning" for e in audit.list_events(world.store)):
                break
            time.sleep(0.02)
    finally:
        log.stop()
    warning = next(e for e in audit.list_events(world.store) if e["action"] == "drift.warning")
    assert warning["subject"] == "model:triage" and warning["details"]["status"] == "drift"
