"""``python`` endpoints: a local module:function answers in a thread pool that is shut down."""

from __future__ import annotations

import threading

import pytest

from mlops_desk.core.runner import execute
from tests.runner import local_model
from tests.runner.helpers import build_workspace, classification_rows, cycle_rows


def python_workspace(store, tmp_path, function: str, rows):
    return build_workspace(store, tmp_path, endpoint="local", endpoint_kind="python",
                           target=f"tests.runner.local_model:{function}", rows=rows,
                           params={"temperature": 0})


def model_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mlops-python-model")]


def test_python_endpoint_answers_rows_and_turns_exceptions_into_row_errors(store, tmp_path):
    local_model.CALLS.clear()
    rows = classification_rows(["bug", "billing", "other", "bug", "other", "billing"],
                               wrong={2: "boom", 4: "bug"})
    ws = python_workspace(store, tmp_path, "answer", rows)
    run = execute(store, ws.create(concurrency=3))

    assert run.status == "completed" and run.n_done == 6
    results = {r["row_idx"]: r for r in ws.results(run.id)}
    assert results[2]["error_class"] == "python_error"
    assert results[2]["error_message"] == "ValueError: the local model exploded"
    assert results[2]["attempts"] == 1 and results[2]["correct"] == 0
    assert results[4]["prediction"] == "bug" and results[4]["correct"] == 0
    assert [results[i]["correct"] for i in (0, 1, 3, 5)] == [1, 1, 1, 1]
    # No usage reported: no tokens, no cost, and the metrics say "unknown", not 0.
    assert all(r["prompt_tokens"] is None and r["cost"] is None for r in results.values())
    assert run.metrics["tokens_in"] is None and run.metrics["total_cost"] is None
    assert run.metrics["accuracy"] == pytest.approx(4 / 6) and run.metrics["n_errors"] == 1
    # Called with the rendered messages and the version's parameters.
    call = local_model.CALLS[0]
    assert call["messages"][0] == {"role": "system", "content": "Classify."}
    assert call["params"] == {"temperature": 0}
    assert len(local_model.CALLS) == 6
    assert model_threads() == []  # the pool was shut down with the run


def test_python_endpoint_usage_is_optional_but_priced_when_given(store, tmp_path):
    ws = python_workspace(store, tmp_path, "answer_with_usage", cycle_rows(4))
    run = execute(store, ws.create())
    assert run.status == "completed" and run.metrics["accuracy"] == 1.0
    assert run.metrics["tokens_in"] == 28 and run.metrics["tokens_out"] == 4
    assert run.metrics["total_cost"] == pytest.approx(4 * (7 * 1000 + 1 * 2000) / 1e6)
    assert model_threads() == []


def test_no_thread_outlives_a_cancelled_python_run(store, tmp_path):
    from mlops_desk.core.runner import CancelToken

    token = CancelToken()
    token.cancel()  # cancelled before it starts: the pool must still be shut down
    ws = python_workspace(store, tmp_path, "answer", cycle_rows(50))
    run = execute(store, ws.create(), cancel=token)
    assert run.status == "cancelled"
    assert model_threads() == []
