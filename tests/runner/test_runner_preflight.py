"""A run that cannot use its endpoint fails fast and says why; a run where no row got an
answer is 'failed', never 'completed' with accuracy 0."""

from __future__ import annotations

import json
import socket
import time

import pytest

from mlops_desk.core import registry, runs
from mlops_desk.core.errors import RunAborted
from mlops_desk.core.runner import execute, warm_up
from tests.runner.helpers import ArrivalClock, build_workspace, cycle_rows
from tests.support.fixtures import fake_openai_fixture  # noqa: F401


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_connection_refused_fails_the_run_at_once(store, tmp_path):
    ws = build_workspace(store, tmp_path, closed_port_url(), rows=cycle_rows(40))
    run_id = ws.create(concurrency=4, max_attempts=5)
    warm_up()  # the HTTP stack's first import is not what is timed here
    started = time.monotonic()
    with pytest.raises(RunAborted, match=r"run 1 stopped: cannot reach endpoint fake: "
                                         r"connection failed") as caught:
        execute(store, run_id)
    # One refused connection, not 40 rows x 5 attempts with back-off.
    assert time.monotonic() - started < 3.0
    assert len(str(caught.value).splitlines()) == 1
    run = runs.get_run(store, run_id)
    assert run.status == "failed" and "cannot reach endpoint fake" in run.reason
    assert run.n_done == 0 and run.metrics is None


def test_the_cli_exits_1_with_one_line_naming_the_reason(store, tmp_path, cli):
    build_workspace(store, tmp_path, closed_port_url(), rows=cycle_rows(10))
    result = cli("run", "triage:1", "--dataset", "tickets")
    assert result.code == 1
    assert len(result.err_lines) == 1
    assert result.err_lines[0].startswith("mlops-desk: error: run 1 stopped: cannot reach "
                                          "endpoint fake")
    assert json.loads(cli.ok("runs", "list", "--json").out)[0]["status"] == "failed"


def test_a_python_model_that_does_not_import_fails_the_run_at_once(store, tmp_path):
    ws = build_workspace(store, tmp_path, endpoint="local", endpoint_kind="python",
                         target="tests.runner.no_such_module:answer", rows=cycle_rows(20))
    run_id = ws.create()
    with pytest.raises(RunAborted, match=r"python model of endpoint local cannot be loaded: "
                                         r"cannot import tests.runner.no_such_module"):
        execute(store, run_id)
    run = runs.get_run(store, run_id)
    assert run.status == "failed" and run.n_done == 0


def test_a_run_where_no_row_got_an_answer_is_failed_then_resume_sends_them_again(
        store, tmp_path, fake_openai):
    # The endpoint answers, but only with 500s: no dead endpoint, yet no result either.
    fake_openai.faults.set_rate("500", 1.0)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(8))
    run_id = ws.create(concurrency=2, max_attempts=1)
    with pytest.raises(RunAborted, match=r"no row got an answer \(http_500: HTTP 500"):
        execute(store, run_id)
    run = runs.get_run(store, run_id)
    assert run.status == "failed" and run.n_done == 8
    assert run.metrics["accuracy"] == 0.0  # kept for the run page, but the run is failed

    # The endpoint recovers: resuming the failed run re-sends the unanswered rows.
    fake_openai.faults.clear()
    before = fake_openai.request_count
    run = execute(store, run_id)
    assert run.status == "completed" and run.n_done == 8 and run.metrics["accuracy"] == 1.0
    assert fake_openai.request_count - before == 8


def test_a_run_with_some_answers_is_completed_with_its_errors(store, tmp_path, fake_openai):
    fake_openai.faults.add("500", count=3)  # three rows fail, five answer
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(8))
    run = execute(store, ws.create(concurrency=1, max_attempts=1))
    assert run.status == "completed" and run.metrics["n_errors"] == 3


def test_the_first_row_is_the_preflight_and_its_answer_is_kept(store, tmp_path, fake_openai):
    fake_openai.latency_s = 0.2
    clock = ArrivalClock(fake_openai)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(6))
    run = execute(store, ws.create(concurrency=6))
    assert run.status == "completed" and run.metrics["accuracy"] == 1.0
    assert fake_openai.request_count == 6  # no extra request: the first row was the probe
    # The other five went out only after the first answer came back...
    assert min(clock.times[1:]) - clock.times[0] >= 0.18
    # ...and then together (one after the other would spread them over 0.8 s or more).
    assert max(clock.times[1:]) - min(clock.times[1:]) < 0.5


def test_a_first_row_that_needs_a_retry_does_not_hold_back_the_others(store, tmp_path,
                                                                      fake_openai):
    # A 503 on the preflight is no dead endpoint: the other rows start while it backs off.
    fake_openai.faults.add("503", count=1, retry_after=1)
    clock = ArrivalClock(fake_openai)
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(4))
    run = execute(store, ws.create(concurrency=4))
    assert run.status == "completed" and run.n_done == 4
    assert sorted(clock.times)[1] - clock.times[0] < 0.5  # not after the 1 s Retry-After


def test_401_on_the_preflight_costs_one_request(store, tmp_path, fake_openai, monkeypatch):
    fake_openai.api_key = "sk-right-key-0123456789"
    monkeypatch.setenv("FAKE_KEY", "sk-wrong-key-0123456789")
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(30))
    registry.update_endpoint(store, "fake", api_key_ref="env:FAKE_KEY")
    with pytest.raises(RunAborted, match="refused the API key"):
        execute(store, ws.create(concurrency=8))
    assert fake_openai.request_count == 1
