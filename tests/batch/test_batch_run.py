"""Batch API runs against the loopback server's /v1/files and /v1/batches (real openai SDK)."""

from __future__ import annotations

import json

import pytest

from mlops_desk.core import batch, runs
from mlops_desk.core.errors import RunAborted
from mlops_desk.core.runner import RunOptions, execute
from tests.runner.helpers import (
    PRICE_IN,
    PRICE_OUT,
    build_workspace,
    classification_rows,
    cycle_rows,
)
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def batch_run(ws, **options) -> int:
    batch_size = options.pop("batch_size", 50_000)
    return batch.create_batch_run(ws.store, ws.version, ws.dataset, RunOptions(**options),
                                  batch_size=batch_size)


def run_to_end(ws, run_id: int):
    batch.submit(ws.store, run_id)
    return batch.wait(ws.store, run_id, poll_interval=0.01)


def test_a_batch_run_scores_like_the_online_run_at_half_the_cost(store, tmp_path, fake_openai):
    rows = classification_rows(["bug", "billing", "other"] * 40, wrong={3: "other", 7: "bug"})
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=rows)
    online = execute(store, ws.create(use_cache=False))
    assert fake_openai.request_count == 120

    run = run_to_end(ws, batch_run(ws))
    assert run.status == "completed" and run.n_done == 120
    assert fake_openai.request_count == 120  # nothing went through chat completions
    assert run.metrics["accuracy"] == online.metrics["accuracy"] == pytest.approx(118 / 120)
    assert run.metrics["tokens_in"] == online.metrics["tokens_in"]
    assert run.metrics["total_cost"] == pytest.approx(online.metrics["total_cost"] / 2)
    assert run.metrics["total_cost"] > 0
    online_rows = {r["row_idx"]: r for r in ws.results(online.id)}
    for row in ws.results(run.id):
        assert row["prediction"] == online_rows[row["row_idx"]]["prediction"]
        assert row["cost"] == pytest.approx(online_rows[row["row_idx"]]["cost"] / 2)


def test_the_batch_file_holds_the_exact_online_requests(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(5),
                         params={"temperature": 0, "max_tokens": 3})
    execute(store, ws.create(use_cache=False))
    run_id = batch_run(ws)
    batch.submit(store, run_id)
    (_, content), = [f for f in fake_openai.batch_api.files.values()
                     if f[0]["purpose"] == "batch"]
    lines = [json.loads(line) for line in content.splitlines()]
    assert [line["custom_id"] for line in lines] == [f"row-{i}" for i in range(5)]
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    assert [line["body"] for line in lines] == fake_openai.requests
    batch.wait(store, run_id, poll_interval=0.01)


def test_rows_are_split_by_batch_size(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(25))
    run_id = batch_run(ws, batch_size=10)
    batch.submit(store, run_id)
    sizes = [b["n_rows"] for b in batch.batch_ids(store, run_id)]
    assert sizes == [10, 10, 5]
    assert all(b["remote_id"] for b in batch.batch_ids(store, run_id))
    run = batch.wait(store, run_id, poll_interval=0.01)
    assert run.status == "completed" and run.metrics["accuracy"] == 1.0
    assert sorted(fake_openai.batch_api.submitted) == sorted(f"row-{i}" for i in range(25))


def test_failed_lines_are_retried_up_to_max_attempts(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(6))
    plan = fake_openai.batch_api.plan
    plan.fail_line("row-1", times=1)  # answers on the second attempt
    plan.fail_line("row-4", times=10)  # never answers
    run = run_to_end(ws, batch_run(ws, max_attempts=3))
    results = {r["row_idx"]: r for r in ws.results(run.id)}
    assert run.status == "completed" and len(results) == 6
    assert results[1]["attempts"] == 2 and results[1]["error_class"] is None
    assert results[4]["attempts"] == 3 and results[4]["error_class"] == "http_500"
    assert results[4]["correct"] == 0
    sent = fake_openai.batch_api.submitted
    assert sent.count("row-4") == 3 and sent.count("row-1") == 2 and sent.count("row-0") == 1
    assert run.metrics["n_errors"] == 1


def test_expired_lines_are_sent_again_without_counting_an_attempt(store, tmp_path,
                                                                   fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(6))
    fake_openai.batch_api.plan.expire_line("row-2", times=3)
    run = run_to_end(ws, batch_run(ws, max_attempts=2))
    results = {r["row_idx"]: r for r in ws.results(run.id)}
    assert run.status == "completed" and run.metrics["accuracy"] == 1.0
    assert results[2]["attempts"] == 1 and results[2]["error_class"] is None
    assert fake_openai.batch_api.submitted.count("row-2") == 4
    statuses = [b.obj["status"] for b in fake_openai.batch_api.batches.values()]
    assert statuses == ["expired"] * 3 + ["completed"]


def test_a_batch_that_fails_validation_fails_the_run_quoting_its_errors(store, tmp_path,
                                                                        fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(4))
    fake_openai.batch_api.plan.fail_validation("Invalid 'model': gpt-9 does not exist.")
    run_id = batch_run(ws)
    batch.submit(store, run_id)
    with pytest.raises(RunAborted, match=r"failed validation: line 1: Invalid 'model': gpt-9"):
        batch.wait(store, run_id, poll_interval=0.01)
    run = runs.get_run(store, run_id)
    assert run.status == "failed" and "gpt-9 does not exist" in run.reason


def test_cancel_keeps_the_finished_rows(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(10))
    api = fake_openai.batch_api
    api.lines_per_step = 4
    run_id = batch_run(ws)
    batch.submit(store, run_id)
    batch.poll(store, run_id)  # validating -> in_progress
    batch.poll(store, run_id)  # 4 lines answered
    run = batch.cancel_remote(store, run_id, poll_interval=0.01)
    assert run.status == "cancelled" and run.n_done == 4
    assert api.cancel_requests == 1
    assert [r["row_idx"] for r in ws.results(run_id)] == [0, 1, 2, 3]
    assert run.metrics["n_rows"] == 4
    # Resuming sends only the rows that never ran.
    run = run_to_end(ws, run_id)
    assert run.status == "completed" and run.n_done == 10
    assert sorted(api.submitted) == sorted([f"row-{i}" for i in range(10)]
                                           + [f"row-{i}" for i in range(4, 10)])


def test_batch_discount_is_the_endpoints(store, tmp_path, fake_openai):
    from mlops_desk.core import registry

    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(3))
    registry.update_endpoint(store, "fake", batch_discount=0.25)
    run = run_to_end(ws, batch_run(ws))
    for row in ws.results(run.id):
        online = (row["prompt_tokens"] * PRICE_IN + row["completion_tokens"] * PRICE_OUT) / 1e6
        assert row["cost"] == pytest.approx(online * 0.75)
    assert run.settings["batch_discount"] == 0.25
