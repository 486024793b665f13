"""Runs controlled from outside their process (issue 12): a cancel request in the database
(``run cancel``) or on stdin, a dead owner read as interrupted, every try of a row recorded,
and the metrics so far counted as the final ones are."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_desk.core import run_control, run_live, runs
from mlops_desk.core.metrics import compute_metrics
from mlops_desk.core.row_detail import row_detail
from mlops_desk.core.runner import execute
from mlops_desk.core.store import utcnow
from tests.runner.helpers import build_workspace, cycle_rows, stored_count, wait_until
from tests.support.fixtures import fake_openai_fixture  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


def start_resume(db_path: Path, run_id: int, *extra: str, **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "mlops_desk", "run", "resume", str(run_id), "--db",
               str(db_path), *extra]
    popen.setdefault("stdin", subprocess.DEVNULL)
    popen.setdefault("stdout", subprocess.DEVNULL)
    return subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True, **popen)


@pytest.fixture
def slow_run(store, tmp_path, fake_openai):
    """A 40-row run at concurrency 1 and 0.1 s a request: about 4 s, time to cancel it."""
    fake_openai.latency_s = 0.1
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(40))
    return ws.create(concurrency=1, use_cache=False)


def test_run_cancel_stops_a_run_executing_in_another_process(store, db_path, cli, slow_run):
    child = start_resume(db_path, slow_run)
    try:
        wait_until(lambda: stored_count(db_path, slow_run) >= 2, timeout=60, what="rows")
        result = cli.ok("run", "cancel", str(slow_run))
        assert result.out.splitlines() == [
            f"run {slow_run}: cancel requested; it stops after the requests in flight"]
        assert child.wait(timeout=30) == 130  # the CLI's code for a cancelled run
    finally:
        child.kill()
        child.wait()
        child.stderr.close()
    run = runs.get_run(store, slow_run)
    assert run.status == "cancelled" and 0 < run.n_done < run.n_total
    assert not run_control.cancel_requested(store, slow_run) or run.status == "cancelled"
    # resuming forgets the old request and finishes the run
    execute(store, slow_run)
    run = runs.get_run(store, slow_run)
    assert run.status == "completed" and run.n_done == run.n_total
    assert not run_control.cancel_requested(store, slow_run)


def test_a_cancel_line_on_stdin_cancels_and_progress_comes_as_json_lines(
        store, db_path, slow_run):
    child = start_resume(db_path, slow_run, "--progress", "jsonl", stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        first = json.loads(child.stdout.readline())
        assert first["progress"]["total"] == 40
        child.stdin.write("cancel\n")
        child.stdin.flush()
        rest = child.stdout.read().splitlines()
        assert child.wait(timeout=30) == 130
    finally:
        child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            stream.close()
    lines = [json.loads(line) for line in rest]  # every line is JSON; the last is the end
    assert all("progress" in line for line in lines[:-1])
    end = lines[-1]["end"]
    assert end["status"] == "cancelled" and 0 < end["n_done"] < 40


def test_the_end_of_stdin_does_not_cancel(store, db_path, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(5))
    run_id = ws.create(use_cache=False)
    child = start_resume(db_path, run_id, "--progress", "jsonl", stdin=subprocess.PIPE)
    child.stdin.close()  # the parent went away
    try:
        assert child.wait(timeout=60) == 0, child.stderr.read()
    finally:
        child.stderr.close()
    assert runs.get_run(store, run_id).status == "completed"


def test_the_engine_polls_the_cancel_request(store, slow_run):
    done = threading.Event()

    def run() -> None:
        try:
            execute(store, slow_run)
        finally:
            store.close_thread_connection()
            done.set()

    thread = threading.Thread(target=run, name="test-run")
    thread.start()
    wait_until(lambda: runs.get_run(store, slow_run).n_done >= 2, timeout=30, what="rows")
    message = run_control.request_cancel(store, slow_run)
    assert "cancel requested" in message
    assert done.wait(5), "the engine did not notice the request"
    thread.join()
    assert runs.get_run(store, slow_run).status == "cancelled"


def test_cancel_refuses_finished_and_unknown_runs_in_one_line(store, cli, tmp_path,
                                                             fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url)
    run_id = ws.create()
    execute(store, run_id)
    result = cli("run", "cancel", str(run_id))
    assert result.code != 0 and result.err_lines == [
        f"mlops-desk: error: run {run_id} is completed; only a running run can be cancelled"]
    missing = cli("run", "cancel", "999")
    assert missing.code != 0 and len(missing.err_lines) == 1
    assert "no run with id 999" in missing.err


def test_a_queued_run_cancelled_before_it_starts_sends_nothing(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url)
    run_id = ws.create()
    assert "before its first request" in run_control.request_cancel(store, run_id)
    execute(store, run_id)
    assert runs.get_run(store, run_id).status == "cancelled"
    assert fake_openai.request_count <= 1  # at most the preflight was in flight


def test_watch_marks_a_run_whose_process_died_interrupted(store, tmp_path, fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url)
    run_id = ws.create()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.db.execute("UPDATE runs SET status = 'running', pid = ? WHERE id = ?",
                     [dead.pid, run_id])
    store.conn.commit()
    [state] = run_control.watch(store, [run_id], died={run_id: "killed (signal 9)"})
    assert state.status == "interrupted" and state.reason == "killed (signal 9)"
    run = runs.get_run(store, run_id)
    assert run.status == "interrupted" and run.reason == "killed (signal 9)"
    assert run_control.running_run_ids(store) == []


def test_every_try_of_a_row_is_recorded_with_its_error_and_latency(store, tmp_path,
                                                                  fake_openai):
    ws = build_workspace(store, tmp_path, fake_openai.base_url, rows=cycle_rows(3))
    fake_openai.faults.add("500", count=1)  # the preflight's first try fails
    run_id = ws.create(concurrency=1, use_cache=False)
    execute(store, run_id)
    detail = row_detail(store, run_id, 0)
    assert [t["error_class"] for t in detail.tries] == ["http_500", None]
    assert "HTTP 500" in detail.tries[0]["error"]
    assert all(t["latency_ms"] >= 0 for t in detail.tries)
    assert detail.messages == [{"role": "system", "content": "Classify."},
                               {"role": "user", "content": "Ticket: row 0\nANSWER: bug"}]
    assert detail.output == detail.prediction == "bug"
    assert detail.input == ws.rows[0]
    assert len(row_detail(store, run_id, 1).tries) == 1


_result = st.fixed_dictionaries({
    "expected": st.sampled_from([None, "", " ", "a", "b"]),
    "prediction": st.sampled_from([None, "a", "b"]),
    "correct": st.sampled_from([None, 0, 1]),
    "error_class": st.sampled_from([None, "", "timeout", "parse_error"]),
    "cached": st.booleans(),
    "latency_ms": st.one_of(st.none(), st.floats(0, 5_000)),
    "cost": st.one_of(st.none(), st.floats(0, 1)),
})


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(results=st.lists(_result, max_size=40))
def test_metrics_so_far_count_as_the_final_metrics_do(store, tmp_path, fake_openai, results):
    if not runs.list_runs(store):
        build_workspace(store, tmp_path, fake_openai.base_url).create()
    run_id = runs.list_runs(store)[0].id
    with store.transaction() as db:
        db.execute("DELETE FROM run_results WHERE run_id = ?", [run_id])
        db.conn.executemany(
            "INSERT INTO run_results (run_id, row_idx, prediction, expected, correct, "
            "latency_ms, cost, error_class, cached, finished_at) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, i, r["prediction"], r["expected"], r["correct"], r["latency_ms"],
              r["cost"], r["error_class"], int(r["cached"]), utcnow())
             for i, r in enumerate(results)])
    final = compute_metrics(runs.results_for_metrics(store, run_id), wall_s=None)
    partial = run_live.partial_metrics(store, run_id)
    for key in ("n_rows", "n_scored", "n_correct", "n_errors", "n_cached", "error_rate",
                "accuracy", "accuracy_ci_low", "accuracy_ci_high", "latency_p50_ms",
                "latency_p95_ms", "latency_mean_ms", "total_cost", "cost_per_1k"):
        if final[key] is None:
            assert partial[key] is None, key
        else:
            assert partial[key] == pytest.approx(final[key], rel=1e-9, abs=1e-9), key
