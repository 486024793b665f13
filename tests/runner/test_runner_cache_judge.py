"""The response cache, and judge scoring by another registered version."""

from __future__ import annotations

import json
import re

import pytest

from mlops_desk.core import registry, runs
from mlops_desk.core.runner import execute
from tests.runner.helpers import LABELS, build_workspace, cycle_rows, script_faults
from tests.support.fake_openai import default_responder
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def test_second_identical_run_is_served_from_the_cache_but_errors_are_not(
        store, tmp_path, fake_openai):
    rows = cycle_rows(10)
    rows[7]["answer"] = ""  # an empty reply: a parse error, which is an error too
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=rows)
    script_faults(fake_openai, {3: "500"})  # row 3 fails its only attempt (concurrency 1)
    first = execute(store, ws.create(concurrency=1, max_attempts=1))
    assert first.metrics["n_errors"] == 2 and first.metrics["n_cached"] == 0
    by_row = {r["row_idx"]: r for r in ws.results(first.id)}
    assert by_row[3]["error_class"] == "http_500" and by_row[7]["error_class"] == "parse_error"
    assert fake_openai.request_count == 10

    fake_openai.reset()
    second = execute(store, ws.create(concurrency=1))
    # Only the two rows that errored go out again.
    assert sorted(ws.row_of(r) for r in fake_openai.requests) == [3, 7]
    results = {r["row_idx"]: r for r in ws.results(second.id)}
    cached = [i for i, r in results.items() if r["cached"]]
    assert cached == [0, 1, 2, 4, 5, 6, 8, 9]
    for i in cached:
        r = results[i]
        assert r["cost"] == 0 and r["attempts"] == 0 and r["prompt_tokens"] is None
        assert r["output"] == r["prediction"] == LABELS[i % 3] and r["correct"] == 1
    m = second.metrics
    assert m["n_cached"] == 8 and m["accuracy"] == pytest.approx(0.9)
    # Only the two rows sent again cost anything: row 3 (6 + 1 tokens) and row 7, whose
    # empty answer has 5 prompt tokens and none out.
    assert m["tokens_in"] == 6 + 5 and m["tokens_out"] == 1
    assert m["total_cost"] == pytest.approx((11 * 1000 + 1 * 2000) / 1e6)

    # Without the cache every row is sent again.
    fake_openai.reset()
    third = execute(store, ws.create(use_cache=False))
    assert fake_openai.request_count == 10 and third.metrics["n_cached"] == 0


def test_cache_key_is_the_version_and_the_rendered_request(store, tmp_path, fake_openai):
    from tests.runner.helpers import add_version

    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(4))
    execute(store, ws.create())
    other = add_version(ws, template="Ticket: {text}\n\nANSWER: {answer}")
    fake_openai.reset()
    run_id = registry_run(ws, other)
    assert fake_openai.request_count == 4 and runs.get_run(store, run_id).metrics["n_cached"] == 0


def registry_run(ws, version) -> int:
    from mlops_desk.core.runner import RunOptions, create_run

    run_id = create_run(ws.store, version, ws.dataset, RunOptions())
    execute(ws.store, run_id)
    return run_id


_RESPONSE = re.compile(r"<<<RESPONSE\n(.*?)\nRESPONSE>>>", re.DOTALL)


def grading_responder(request: dict) -> str:
    """The grader passes replies that name a known label, with score 0.8."""
    system = request["messages"][0]["content"]
    if not system.startswith("You grade another model's response"):
        return default_responder(request)
    response = _RESPONSE.search(request["messages"][-1]["content"]).group(1)
    verdict = {"pass": True, "score": 0.8} if response in LABELS else {"pass": False,
                                                                        "score": 0.1}
    return json.dumps(verdict)


def add_grader(store, *, system_prompt="Pass when the reply is a ticket class."):
    registry.create_model(store, "grader", kind="generation")
    config = registry.make_config(endpoint="fake", model_id="fake-model",
                                  system_prompt=system_prompt, template="{input}")
    registry.register_version(store, "grader", config)


def test_judge_scorer_grades_rows_with_another_version(store, tmp_path, fake_openai):
    fake_openai.responder = grading_responder
    rows = cycle_rows(6)
    rows[4]["answer"] = "no idea"
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=rows)
    add_grader(store)
    run = execute(store, ws.create(scorer="judge:grader:1", concurrency=2))

    assert run.status == "completed" and run.settings["scorer"] == "judge:grader:1"
    assert fake_openai.request_count == 12  # one answer and one grading per row
    results = {r["row_idx"]: r for r in ws.results(run.id)}
    assert [results[i]["correct"] for i in range(6)] == [1, 1, 1, 1, 0, 1]
    assert [results[i]["score"] for i in range(6)] == [0.8, 0.8, 0.8, 0.8, 0.1, 0.8]
    assert run.metrics["accuracy"] == pytest.approx(5 / 6)
    assert run.metrics["mean_score"] == pytest.approx((5 * 0.8 + 0.1) / 6)
    gradings = [r for r in fake_openai.requests
                if r["messages"][0]["content"].startswith("You grade")]
    assert len(gradings) == 6
    # The grader version's system prompt is the rubric; the expected answer is the reference.
    assert "## Rubric\nPass when the reply is a ticket class." in gradings[0]["messages"][1][
        "content"]
    assert "<<<REFERENCE" in gradings[0]["messages"][1]["content"]


def test_a_judge_that_cannot_grade_leaves_an_error_not_a_silent_gap(store, tmp_path,
                                                                     fake_openai):
    def responder(request):
        if request["messages"][0]["content"].startswith("You grade"):
            return "I would rather not say."
        return default_responder(request)

    fake_openai.responder = responder
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(3))
    add_grader(store)
    run = execute(store, ws.create(scorer="judge:grader:1"))
    results = ws.results(run.id)
    assert all(r["error_class"] == "judge_error" for r in results)
    assert all("verdict" in r["error_message"] for r in results)
    assert all(r["output"] for r in results)  # the model's own answer is kept
    assert run.metrics["n_errors"] == 3


def test_a_judge_refused_on_cached_rows_stops_the_run_cleanly(store, tmp_path, fake_openai):
    from mlops_desk.core.errors import RunAborted

    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(5))
    add_grader(store)
    execute(store, ws.create())  # fills the cache: the next run sends only gradings
    fake_openai.faults.set_rate("401", 1.0)
    run_id = ws.create(scorer="judge:grader:1")
    with pytest.raises(RunAborted, match="refused the API key"):
        execute(store, run_id)
    assert runs.get_run(store, run_id).status == "failed"
