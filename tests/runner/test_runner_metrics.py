"""Happy path: every row stored once, metrics equal to values computed by hand."""

from __future__ import annotations

import pytest

from mlops_desk.core import runs
from mlops_desk.core.runner import Progress, RunOptions, create_run, execute
from tests.runner.helpers import (
    LABELS,
    build_workspace,
    classification_rows,
    cycle_rows,
)
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

# 10 rows, 3 classes; rows 1, 5 and 9 answer wrong.
EXPECTED = ["bug", "billing", "other", "bug", "billing", "other", "bug", "billing", "other", "bug"]
WRONG = {1: "bug", 5: "billing", 9: "other"}


def test_happy_path_metrics_match_hand_computed_values(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url,
                         rows=classification_rows(EXPECTED, WRONG))
    seen: list[Progress] = []
    run_id = ws.create()
    run = execute(store, run_id, on_progress=seen.append)

    assert run.status == "completed" and run.n_done == run.n_total == 10
    assert fake_openai.request_count == 10
    m = run.metrics
    assert m["n_rows"] == 10 and m["n_scored"] == 10 and m["n_correct"] == 7
    assert m["n_errors"] == 0 and m["n_cached"] == 0 and m["error_rate"] == 0.0
    assert m["accuracy"] == pytest.approx(0.7)
    # Wilson 95% for 7/10: (0.3968, 0.8922), the textbook value.
    assert m["accuracy_ci_low"] == pytest.approx(0.3968, abs=1e-4)
    assert m["accuracy_ci_high"] == pytest.approx(0.8922, abs=1e-4)
    # Rows = expected, columns = predicted, over bug, billing, other.
    assert m["confusion"] == {"labels": LABELS, "matrix": [[3, 0, 1], [1, 2, 0], [0, 1, 2]]}
    assert m["per_class"]["bug"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75,
                                     "support": 4}
    assert m["per_class"]["billing"]["f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["other"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.75 + 2 / 3 + 2 / 3) / 3)
    assert m["micro_f1"] == pytest.approx(0.7)
    # The fake counts words: "Classify." (1) + "Ticket: row N / ANSWER: label" (5) in,
    # the one-word label out. Prices: 1000 and 2000 USD per 1M tokens.
    assert m["tokens_in"] == 60 and m["tokens_out"] == 10
    assert m["total_cost"] == pytest.approx(10 * (6 * 1000 + 1 * 2000) / 1e6)
    assert m["cost_per_1k"] == pytest.approx(0.08 / 10 * 1000)
    assert m["complete"] is True
    assert m["latency_p50_ms"] > 0 and m["latency_p95_ms"] >= m["latency_p50_ms"]
    assert m["rows_per_s"] > 0

    results = ws.results(run_id)
    assert [r["row_idx"] for r in results] == list(range(10))
    for r in results:
        i = r["row_idx"]
        assert r["expected"] == EXPECTED[i]
        assert r["prediction"] == WRONG.get(i, EXPECTED[i])
        assert r["output"] == r["prediction"]
        assert r["correct"] == (0 if i in WRONG else 1)
        assert r["attempts"] == 1 and r["cached"] == 0 and r["error_class"] is None
        assert r["latency_ms"] > 0
        assert (r["prompt_tokens"], r["completion_tokens"]) == (6, 1)
        assert r["cost"] == pytest.approx(0.008)

    # The requests were rendered from the version: system prompt, then the template.
    first = fake_openai.requests[0]
    assert first["model"] == "fake-model"
    assert first["messages"][0] == {"role": "system", "content": "Classify."}
    assert seen and seen[-1].done == 10 and seen[-1].total == 10 and seen[-1].errors == 0


def test_limit_runs_only_the_first_rows(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(10))
    run = execute(store, ws.create(limit=4))
    assert run.status == "completed" and run.n_total == 4 and run.n_done == 4
    assert sorted(ws.row_of(r) for r in fake_openai.requests) == [0, 1, 2, 3]
    assert run.metrics["n_rows"] == 4 and run.metrics["complete"] is True
    # A limit past the end is the whole dataset; zero is refused before anything is recorded.
    assert runs.get_run(store, ws.create(limit=50)).n_total == 10
    with pytest.raises(Exception, match="limit"):
        ws.create(limit=0)


def test_concurrency_one_sends_one_request_at_a_time(store, tmp_path, fake_openai):
    fake_openai.latency_s = 0.01
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(6))
    run = execute(store, ws.create(concurrency=1))
    assert run.status == "completed" and run.metrics["accuracy"] == 1.0
    # One keep-alive connection carried every request in order.
    assert [ws.row_of(r) for r in fake_openai.requests] == list(range(6))
    assert fake_openai.connection_count == 1


@pytest.mark.parametrize("bad", [0, -1, 2000])
def test_bad_concurrency_is_refused(store, tmp_path, fake_openai, bad):
    ws = build_workspace(store, tmp_path, fake_openai.base_url)
    with pytest.raises(Exception, match="concurrency"):
        ws.create(concurrency=bad)


def test_generation_dataset_without_expected_has_metrics_without_accuracy(
        store, tmp_path, fake_openai):
    rows = [{"text": f"row {i}", "answer": f"summary number {i}"} for i in range(5)]
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=rows, expected_col=None,
                         kind="generation", labels=(), parser="text")
    run_id = create_run(store, ws.version, ws.dataset, RunOptions())
    assert runs.get_run(store, run_id).settings["scorer"] == "contains"
    run = execute(store, run_id)
    m = run.metrics
    assert run.status == "completed" and m["n_rows"] == 5 and m["n_scored"] == 0
    assert m["accuracy"] is None and m["accuracy_ci_low"] is None and m["macro_f1"] is None
    assert m["confusion"] is None and m["error_rate"] == 0.0
    assert m["tokens_out"] == 15 and m["latency_p50_ms"] > 0
    outputs = [r["output"] for r in ws.results(run.id)]
    assert outputs == [f"summary number {i}" for i in range(5)]
    assert all(r["correct"] is None for r in ws.results(run.id))


def test_resuming_a_limited_run_stays_within_the_limit(store, tmp_path, fake_openai):
    from mlops_desk.core.runner import CancelToken

    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(10))
    token = CancelToken()
    token.cancel()
    run_id = ws.create(limit=5)
    assert execute(store, run_id, cancel=token).status == "cancelled"
    assert fake_openai.request_count == 0
    run = execute(store, run_id)
    assert run.status == "completed" and run.n_done == 5
    assert sorted(ws.row_of(r) for r in fake_openai.requests) == [0, 1, 2, 3, 4]
